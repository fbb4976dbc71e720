"""The scores of a classifier, all from one confusion matrix (NumPy only): what evaluate writes to
metrics.json, predict to predictions.json, inspect prints for a predictions file and report shows as
Markdown.

A confusion matrix counts test rows by (true class, predicted class): counts[i, j] rows of class i
were predicted as class j. Everything else follows from it: accuracy, each class's precision, recall
and F1, macro-F1 and balanced accuracy. A new score is a line in scores() and, for the summaries that show
the headline scores (inspect, report, compare, resamples, ensembles), its name in SCORES.
"""
import json
from pathlib import Path

import numpy as np

from pipeline import tables

SCORES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy"}  # headline scores


def confusion(true, predicted, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts of (true, predicted) class indices."""
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return counts


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (a class never predicted has precision 0, as scikit-learn's default)."""
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def scores(counts, classes: list) -> dict:
    """Accuracy, macro-F1, balanced accuracy and per class (by name) precision, recall, F1 and support,
    from a confusion matrix; and the matrix itself, by class name. Macro averages are over the classes
    the test rows hold (support > 0)."""
    counts = np.asarray(counts, np.int64)
    right, support, predicted = np.diag(counts), counts.sum(axis=1), counts.sum(axis=0)
    precision, recall = _ratio(right, predicted), _ratio(right, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    present = support > 0
    total = int(support.sum())
    return {
        "accuracy": float(right.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                      for name, p, r, f, n in zip(classes, precision, recall, f1, support)},
        "confusion": {"classes": list(classes), "counts": counts.tolist()},
    }


def table(result: dict, most: int = 20) -> list:
    """Per-class lines and the confusion matrix as text (inspect), for up to `most` classes."""
    per_class, matrix = result["per_class"], result["confusion"]
    names = matrix["classes"]
    lines = ["  " + ", ".join(f"{name} {result[key]:.4f}" for key, name in SCORES.items() if key in result)]
    if len(names) > most:
        return lines + [f"  ({len(names)} classes: per-class figures in the JSON file)"]
    width = max(8, *(len(str(n)) for n in names))
    lines.append(f"  {'class':>{width}}  precision  recall     f1  support")
    lines += [f"  {name:>{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:.4f}  {c['support']:7,}"
              for name, c in per_class.items()]
    lines.append(f"  confusion (rows: true, columns: predicted): {', '.join(map(str, names))}")
    cell = max(5, *(len(f"{v:,}") for row in matrix["counts"] for v in row))
    lines += [f"  {name:>{width}}  " + " ".join(f"{v:>{cell},}" for v in row)
              for name, row in zip(names, matrix["counts"])]
    return lines


def markdown(result: dict, most: int = 20) -> str:
    """The per-class table and, for up to `most` classes, the confusion matrix, as Markdown tables
    (report): the counterpart of table()."""
    per_class, matrix = result["per_class"], result["confusion"]
    rows = [[name, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}"]
            for name, c in per_class.items()]
    text = tables.markdown(["class", "precision", "recall", "F1", "support"], rows, right=(1, 2, 3, 4))
    names = matrix["classes"]
    if len(names) > most:
        return text + f"\n{len(names)} classes: the confusion matrix is in metrics.json.\n"
    counts = [[name, *(f"{v:,}" for v in row)] for name, row in zip(names, matrix["counts"])]
    return (text + "\nConfusion matrix (rows: true class, columns: predicted class):\n\n"
            + tables.markdown(["true \\ predicted", *names], counts, right=range(1, len(names) + 1)))


NEAR = 0.02  # a model within this of a nearest-neighbour search is said to be near it


def beside_baselines(accuracy: float, baseline: dict) -> list:
    """Lines that put a model's test accuracy beside the baselines of the same split (baseline.json),
    and say so when a nearest-neighbour search beats it or comes within NEAR of it."""
    found = baseline.get("classifiers") or {}
    if not found:
        return []
    lines = ["  baselines (same split): " + ", ".join(f"{name} {r['accuracy']:.4f}" for name, r in found.items())
             + f"; the model {accuracy:.4f}"]
    neighbours = {name: r["accuracy"] for name, r in found.items() if name.startswith("1-NN")}
    if neighbours:
        name = max(neighbours, key=neighbours.get)
        if accuracy < neighbours[name]:
            lines.append(f"  note: {name} beats the model ({neighbours[name]:.4f} against {accuracy:.4f})")
        elif accuracy < neighbours[name] + NEAR:
            lines.append(f"  note: the model is within {NEAR} of {name} ({accuracy:.4f} against "
                         f"{neighbours[name]:.4f})")
    return lines


def baseline_beside(path, content_hash: str) -> dict:
    """baseline.json in the folder of `path` (a run's file), when it was fitted on the dataset of that
    content hash; else {}."""
    try:
        record = json.loads(Path(path).with_name("baseline.json").read_text())
    except (OSError, ValueError):
        return {}
    same = isinstance(record, dict) and record.get("dataset", {}).get("content_hash") == content_hash
    return record if same else {}
