"""report: one Markdown page per run, readable on GitHub as it is (no TensorFlow).

Reads --data (its problem, the classes' balance in the train split, lengths, split sizes) and the run
folder --run: train.json, metrics.json, predictions.csv, plots/history.png, confusion.png and, when
there is one, baseline.json ({"classifiers": {name: {"accuracy": ..., "seconds": ...}}}, written by
`make baseline`). Writes --out, its image links relative to it.

    python -m pipeline report --data data/echo.h5 --run artifacts --out artifacts/report.md
"""
import csv
import dataclasses
import datetime
import os
import urllib.parse
from pathlib import Path

import click

from pipeline import config, data, metrics, tables
from pipeline.files import TEXT_ENCODING, BadFile, named_errors, read_json, writable_target, write_text_atomic
from pipeline.options import data_option

MOST_CLASSES = 20  # with more, the balance and the confusion matrix are summarised
WRONG_SHOWN = 5  # wrong predictions listed
ALWAYS = ("units", "optimizer", "learning_rate", "batch_size", "epochs", "target_accuracy", "seed")
WHEN_SET = ("momentum", "clipnorm", "curriculum", "lr_at_length", "chrono", "dropout", "label_smoothing", "ema",
            "backwards", "steps_per_epoch", "deterministic")
SCORES = metrics.SCORES
BASELINE_SHAPE = '{"classifiers": {name: {"accuracy": number, "seconds": number}}}'


@dataclasses.dataclass(frozen=True)
class Dataset:
    """What the report says of the data: its description, label counts of the train split and, when
    lengths vary, each split's min, median and max length."""
    info: data.DatasetInfo
    counts: list
    lengths: dict


@dataclasses.dataclass(frozen=True)
class Run:
    """What the report reads of a run folder; baseline and predictions are None when absent."""
    folder: Path
    trained: dict  # train.json
    metrics: dict  # metrics.json
    baseline: dict | None  # baseline.json's classifiers
    predictions: dict | None  # predictions.csv, summarised


def read_dataset(path) -> Dataset:
    info = data.describe(path)
    with data.open_h5(path) as f:
        counts = data.label_counts(f["train"]["y"]).tolist()
        lengths = {s: data.length_range(f[s]["lengths"][:]) for s in data.SPLITS} if info.variable else {}
    return Dataset(info, counts, lengths)


def read_baseline(path: Path) -> dict | None:
    """baseline.json's classifiers, None without the file, BadFile when it is not of BASELINE_SHAPE."""
    if not path.exists():
        return None
    classifiers = read_json(path, "baseline").get("classifiers")
    if not isinstance(classifiers, dict) or not all(
            isinstance(c, dict) and tables.is_number(c.get("accuracy")) for c in classifiers.values()):
        raise BadFile(f"baseline {path}: expected {BASELINE_SHAPE}")
    return classifiers


def read_predictions(path: Path) -> dict | None:
    """predictions.csv in one pass: rows, wrong ones, mean confidence and the first WRONG_SHOWN wrong rows."""
    if not path.exists():
        return None
    summary = {"rows": 0, "wrong": 0, "confidence": 0.0, "first_wrong": []}
    with open(path, newline="", encoding=TEXT_ENCODING) as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("expected", "predicted", "confidence") if c not in (reader.fieldnames or [])]
        if missing:
            raise BadFile(f"predictions {path}: no column {', '.join(missing)}")
        for line, row in enumerate(reader, 2):
            try:
                summary["confidence"] += float(row["confidence"])
            except (TypeError, ValueError):
                raise BadFile(f"predictions {path}: line {line}: confidence {row['confidence']!r} is not a "
                              "number") from None
            summary["rows"] += 1
            if row["expected"] != row["predicted"]:
                summary["wrong"] += 1
                if len(summary["first_wrong"]) < WRONG_SHOWN:
                    summary["first_wrong"].append(row)
    return summary


def read_run(folder) -> Run:
    folder = Path(folder)
    if not folder.is_dir():
        raise BadFile(f"run {folder}: no such folder")
    trained, scores = read_json(folder / "train.json", "run record"), read_json(folder / "metrics.json", "run record")
    for key in ("settings", "dataset"):
        if not isinstance(trained.get(key), dict):
            raise BadFile(f"run record {folder / 'train.json'}: no {key} (not written by 'train'?)")
    for key in ("accuracy", "per_class", "confusion"):
        if key not in scores:
            raise BadFile(f"run record {folder / 'metrics.json'}: no {key} (not written by 'evaluate'?)")
    return Run(folder, trained, scores, read_baseline(folder / "baseline.json"),
               read_predictions(folder / "predictions.csv"))


def check_same_data(dataset: Dataset, run: Run) -> None:
    """Refuse a dataset other than the one the run was evaluated on."""
    tested = (run.metrics.get("dataset") or {}).get("content_hash")
    if tested not in (None, dataset.info.content_hash):
        raise BadFile(f"dataset {dataset.info.path} (content hash {dataset.info.content_hash[:12]}) is not the one "
                      f"run {run.folder} was evaluated on ({str(tested)[:12]})")


def image(out: Path, png: Path, alt: str) -> str:
    """A Markdown image of `png`, linked relative to the report `out`; a note where the file is missing."""
    if not png.is_file():
        return f"*({png.name} is missing)*"
    return f"![{alt}]({urllib.parse.quote(Path(os.path.relpath(png, out.parent)).as_posix())})"


def _figure(v) -> str:
    """A number as tables.number() writes it (3,000; 0.2335), anything else as a cell value."""
    return tables.number(v) if tables.is_number(v) else tables.value(v)


def data_section(dataset: Dataset) -> str:
    info = dataset.info
    kind = (f"tokens: one-hot over {info.n_features} values" if info.kind == "tokens"
            else f"features: {info.n_features} real values per step")
    rows = [["problem", info.attrs.get("problem") or "custom"], ["inputs", kind],
            ["length", f"{info.length}" + (" (longest; shorter ones padded and masked)" if info.variable else "")],
            ["classes", f"{info.n_classes}" + (f": {', '.join(map(str, info.classes))}"
                                               if info.n_classes <= MOST_CLASSES else "")],
            ["sequences", ", ".join(f"{split} {info.rows[split]:,}" for split in data.SPLITS)],
            ["content hash", f"`{info.content_hash[:12]}`"]]
    if info.out_index is not None:
        rows.insert(3, ["label", f"the value at step {info.out_index}"])
    rows += [[f"lengths ({split})", "{min} / {median} / {max} (min / median / max)".format(**r)]
             for split, r in dataset.lengths.items()]
    return "## Data\n\n" + tables.markdown(["", ""], rows) + "\n" + balance(info.classes, dataset.counts)


def balance(classes: list, counts: list) -> str:
    """The train split's sequences per class and their share, or the smallest and largest share."""
    total = sum(counts) or 1
    if len(classes) > MOST_CLASSES:
        return (f"Balance of the train split: shares from {min(counts) / total:.4f} to {max(counts) / total:.4f} "
                f"(uniform {1 / len(classes):.4f}).\n")
    rows = [[name, f"{n:,}", f"{n / total:.4f}"] for name, n in zip(classes, counts)]
    return ("Balance of the train split:\n\n"
            + tables.markdown(["class", "sequences", "share"], rows, right=(1, 2)))


def _matters(key: str, value) -> bool:
    return key in ALWAYS or (key in WHEN_SET and value not in (None, False, 0, [])) or (key == "workers" and value != 1)


def training_section(run: Run, out: Path) -> str:
    trained, settings = run.trained, run.trained["settings"]
    rows = [[k, tables.value(v)] for k, v in settings.items() if _matters(k, v)]
    reached = trained.get("target_reached")
    results = [["epochs run", f"{_figure(trained.get('epochs_run'))} of {_figure(settings.get('epochs'))}"],
               ["target reached", ("yes" if reached else "no") + (
                   f", after {_figure(trained.get('sequences_to_target'))} sequences and "
                   f"{_figure(trained.get('seconds_to_target'))} s" if reached else "")],
               ["final validation accuracy", _figure((trained.get("final") or {}).get("val_accuracy"))],
               ["seconds (model.fit)", _figure(trained.get("fit_seconds"))],
               ["training samples/s", _figure(trained.get("train_samples_per_s"))],
               ["parameters", _figure((trained.get("model") or {}).get("parameters"))]]
    return ("## Training\n\n" + tables.markdown(["setting", "value"], rows) + "\n"
            + tables.markdown(["result", ""], results) + "\n"
            + image(out, run.folder / "plots" / "history.png", "loss and accuracy per epoch") + "\n")


def metrics_section(run: Run, out: Path) -> str:
    m = run.metrics
    rows = [[SCORES[k], f"{m[k]:.4f}"] for k in SCORES if tables.is_number(m.get(k))]
    rows += [["loss", tables.number(m["loss"])]] if tables.is_number(m.get("loss")) else []
    rows += [["test sequences", _figure(m.get("n_test"))]]
    return ("## Test metrics\n\n" + tables.markdown(["score", "value"], rows, right=(1,)) + "\n"
            + metrics.markdown(m, MOST_CLASSES) + "\n" + image(out, run.folder / "confusion.png", "confusion matrix")
            + "\n")


def predictions_section(summary: dict | None) -> str:
    if summary is None:
        return "## Predictions\n\nNo predictions.csv yet: `make predict` writes it.\n"
    n = summary["rows"]
    text = (f"## Predictions\n\n{n:,} rows in predictions.csv, {summary['wrong']:,} wrong; mean confidence "
            f"{summary['confidence'] / max(n, 1):.4f}.\n")
    wrong = summary["first_wrong"]
    if not wrong:
        return text
    return text + f"\nThe first {len(wrong)} wrong:\n\n" + tables.markdown(list(wrong[0]), [list(r.values())
                                                                                          for r in wrong])


def baseline_section(run: Run) -> str:
    """Our test accuracy beside the baselines' (baseline.json), or how to add them."""
    if run.baseline is None:
        return "## Baselines\n\nNone yet: `make baseline` adds them (baseline.json in the run folder).\n"
    ours = run.metrics["accuracy"]
    rows = [["**this LSTM**", f"**{ours:.4f}**", "", _figure(run.trained.get("fit_seconds"))]]
    rows += [[name, f"{c['accuracy']:.4f}", f"{ours - c['accuracy']:+.4f}", _figure(c.get("seconds"))]
             for name, c in run.baseline.items()]
    return ("## Baselines\n\nTest accuracy on the same test split; seconds: training (the LSTM) or as "
            "baseline.json gives them.\n\n"
            + tables.markdown(["classifier", "test accuracy", "LSTM minus it", "seconds"], rows, right=(1, 2, 3)))


def provenance_section(dataset: Dataset, run: Run, date: str) -> str:
    trained_on = run.trained["dataset"]
    rows = [["dataset", f"{dataset.info.path}, content hash `{dataset.info.content_hash}`"],
            ["trained on", f"{trained_on.get('path')}, content hash `{trained_on.get('content_hash')}`"],
            ["model", str((run.trained.get("model") or {}).get("path"))],
            ["run folder", str(run.folder)], ["report written", date]]
    versions = [[k, tables.value(v)] for k, v in tables.flat(run.trained.get("versions") or {}).items()]
    return ("## Provenance\n\n" + tables.markdown(["", ""], rows) + "\n"
            + tables.markdown(["software", "version"], versions))


def report_text(dataset: Dataset, run: Run, out: Path, date: str) -> str:
    info, m = dataset.info, run.metrics
    head = (f"# Run `{run.folder}`\n\nTest accuracy **{m['accuracy']:.4f}** on {info.rows['test']:,} sequences of "
            f"the {info.attrs.get('problem') or 'custom'} problem ({info.n_classes} classes).\n")
    return "\n".join([head, data_section(dataset), training_section(run, out), metrics_section(run, out),
                      predictions_section(run.predictions), baseline_section(run),
                      provenance_section(dataset, run, date)])


def write_report(data_path, run_folder, out, date: str | None = None) -> str:
    """Write the report of the run in `run_folder` on the dataset `data_path` to `out`; returns its text.
    date: when it was written (default: now, UTC)."""
    out = writable_target(out)
    dataset, run = read_dataset(data_path), read_run(run_folder)
    check_same_data(dataset, run)
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = report_text(dataset, run, out, date)
    write_text_atomic(out, text)
    return text


@click.command("report")
@data_option
@click.option("--run", "run_folder", type=click.Path(), default=config.RUN_FOLDER, show_default=True,
              help="Run folder (train.json, metrics.json, predictions.csv, plots; baseline.json if any).")
@click.option("--out", type=click.Path(), default=config.REPORT_PATH, show_default=True, help="Report to write.")
def cli(data_path, run_folder, out):
    """Write a Markdown report of a run: data, training, test metrics, baselines, provenance."""
    with named_errors("report"):
        write_report(data_path, run_folder, out)
    click.echo(f"wrote {out}")
