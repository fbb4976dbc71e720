"""Scores from one confusion matrix (pipeline/metrics.py), checked against scikit-learn's (an independent
implementation), and what evaluate, predict and inspect report of a model that errs: the same counts,
which agree with a count over predictions.csv."""
import csv
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as sk

from pipeline import evaluate, metrics, predict
from tests.conftest import report_without_tf
from tests.properties import FAST


@FAST
@given(st.integers(2, 6).flatmap(lambda c: st.tuples(
    st.just(c), st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1, max_size=60))))
def test_scores_are_scikit_learns(case):
    n_classes, pairs = case
    true, predicted = np.array(pairs).T
    counts = metrics.confusion(true, predicted, n_classes)
    assert np.array_equal(counts, sk.confusion_matrix(true, predicted, labels=range(n_classes)))
    names = [f"c{i}" for i in range(n_classes)]
    got = metrics.scores(counts, names)
    present = sorted(set(true.tolist()))  # macro averages over the classes the rows hold
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(true, predicted))
    assert got["balanced_accuracy"] == pytest.approx(np.mean(sk.recall_score(
        true, predicted, labels=present, average=None, zero_division=0)))
    assert got["macro_f1"] == pytest.approx(sk.f1_score(true, predicted, labels=present, average="macro",
                                                        zero_division=0))
    p, r, f, n = sk.precision_recall_fscore_support(true, predicted, labels=range(n_classes), zero_division=0)
    for i, name in enumerate(names):
        assert got["per_class"][name] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i],
                                                         "support": n[i]})
    assert got["confusion"] == {"classes": names, "counts": counts.tolist()}


def test_a_class_never_predicted_and_one_never_present():
    counts = np.array([[3, 1, 0], [2, 0, 0], [0, 0, 0]])  # class b never right, class c absent
    got = metrics.scores(counts, ["a", "b", "c"])
    assert got["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert got["per_class"]["c"]["support"] == 0
    assert got["accuracy"] == 0.5 and got["balanced_accuracy"] == pytest.approx((0.75 + 0.0) / 2)
    f1_a = 2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4)
    assert got["macro_f1"] == pytest.approx(f1_a / 2)


def _count_predictions(path, classes) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    counts = np.zeros((len(classes), len(classes)), np.int64)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            counts[index[row["expected"]], index[row["predicted"]]] += 1
    return counts


def test_every_stage_reports_the_counts_of_predictions_csv(weak, tmp_path):
    """The weak model errs in most classes: evaluate's confusion matrix (counted inside model.evaluate),
    predict's and inspect's all equal a count over predictions.csv, and the PNG is written beside."""
    scores = evaluate.evaluate(weak["data_path"], weak["model_path"], tmp_path / "metrics.json")
    summary = predict.predict(weak["data_path"], weak["model_path"], tmp_path / "predictions.csv")
    classes = scores["confusion"]["classes"]
    counted = _count_predictions(tmp_path / "predictions.csv", classes)
    assert np.diag(counted).sum() < 0.6 * counted.sum()  # it errs: a wrong cell would show
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["confusion"]["counts"] == counted.tolist() == summary["confusion"]["counts"]
    assert saved["per_class"] == metrics.scores(counted, classes)["per_class"]
    assert saved["accuracy"] == pytest.approx(np.trace(counted) / counted.sum())
    assert (tmp_path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = report_without_tf(tmp_path / "predictions.csv")
    assert f"macro-F1 {saved['macro_f1']:.4f}" in report and f"accuracy {saved['accuracy']:.4f}" in report
    row = " ".join(f"{v:>5,}" for v in counted[3])
    assert f"{'3':>8}  {row}" in report  # the matrix, row by row
    assert f"macro-F1 {saved['macro_f1']:.4f}" in report_without_tf(tmp_path / "metrics.json")


def test_a_score_named_in_scores_is_shown_by_inspect(monkeypatch):
    """The seam for a new score: a value scores() adds, named in metrics.SCORES, reaches inspect's line."""
    result = {**metrics.scores([[3, 1], [0, 4]], ["a", "b"]), "kappa": 0.5}
    monkeypatch.setitem(metrics.SCORES, "kappa", "Cohen's kappa")
    line = metrics.table(result)[0]
    assert line == "  accuracy 0.8750, macro-F1 0.8730, balanced accuracy 0.8750, Cohen's kappa 0.5000"
