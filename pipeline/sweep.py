"""Sweeps: one training run per value of a parameter, each in its own folder, and their summary.

`make sweep PARAM=BATCH_SIZE VALUES="16 64 256"` trains and evaluates into
artifacts/sweeps/<PARAM>/<value>/ (model.keras, train.json, metrics.json, plots/history.png); this
stage reads those folders (no TensorFlow) and writes summary.csv, summary.md and summary.png beside them.

    python -m pipeline sweep-summary artifacts/sweeps/BATCH_SIZE 16 64 256
"""
import csv
import io
import json
from pathlib import Path

import click

from pipeline.files import BadFile, existing_file, write_text_atomic

FIELDS = ("value", "test_accuracy", "epochs", "seconds_to_target", "samples_per_s", "final_val_loss")
HEADINGS = ("test accuracy", "epochs", "seconds to target", "samples/s", "final val loss")
# samples/s: sequences trained per second of fit, first-epoch tracing included (a run that stops after
# one epoch has no traced-out figure in train.json)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(existing_file(path, "run record").read_text())
    except ValueError as e:
        raise BadFile(f"run record {path}: not valid JSON ({e})") from None


def run_row(folder: Path) -> dict:
    """One run's line of the summary, from its train.json and metrics.json."""
    trained, metrics = _read_json(folder / "train.json"), _read_json(folder / "metrics.json")
    try:
        return {"value": folder.name, "test_accuracy": metrics["accuracy"], "epochs": trained["epochs_run"],
                "seconds_to_target": trained.get("seconds_to_target"),
                "samples_per_s": round(trained["train_samples"] / trained["fit_seconds"]),
                "final_val_loss": trained["final"]["val_loss"]}
    except (KeyError, TypeError) as e:
        raise BadFile(f"run {folder}: train.json or metrics.json lacks {e}") from None


def _sort_key(value: str):
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def run_folders(folder, values=()) -> list:
    """The run folders of a sweep: those named by `values`, in that order, or every folder holding a
    metrics.json, in numeric order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadFile(f"sweep {folder}: no such folder")
    if values:
        return [folder / str(v) for v in values]
    runs = sorted((p.parent for p in folder.glob("*/metrics.json")), key=lambda p: _sort_key(p.name))
    if not runs:
        raise BadFile(f"sweep {folder}: no runs (no <value>/metrics.json inside)")
    return runs


def table(folder, values=()) -> list:
    return [run_row(run) for run in run_folders(folder, values)]


def summary_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows({k: "" if r[k] is None else r[k] for k in FIELDS} for r in rows)
    return buf.getvalue()


def summary_markdown(param: str, rows) -> str:
    lines = [f"| {param} | " + " | ".join(HEADINGS) + " |", "|---" + "|---:" * len(HEADINGS) + "|"]
    for r in rows:
        seconds = "not reached" if r["seconds_to_target"] is None else f"{r['seconds_to_target']:.2f}"
        lines.append(f"| {r['value']} | {r['test_accuracy']:.6f} | {r['epochs']} | {seconds} | {r['samples_per_s']:,} "
                     f"| {r['final_val_loss']:.3g} |")
    return "\n".join(lines) + "\n"


def summarize(folder, values=()) -> list:
    """Write summary.csv, summary.md and summary.png into the sweep folder; returns the rows."""
    from pipeline import plots

    folder = Path(folder)
    rows = table(folder, values)
    write_text_atomic(folder / "summary.csv", summary_csv(rows))
    write_text_atomic(folder / "summary.md", summary_markdown(folder.name, rows))
    plots.sweep_png(rows, folder.name, folder / "summary.png")
    return rows


def report(folder) -> str:
    """What `inspect` prints for a sweep folder: its runs as a table."""
    folder = Path(folder)
    return f"sweep {folder} ({folder.name})\n" + summary_markdown(folder.name, table(folder)).rstrip("\n")


@click.command("sweep-summary")
@click.argument("folder", type=click.Path())
@click.argument("values", nargs=-1)
def cli(folder, values):
    """Summarise the runs of a sweep FOLDER (artifacts/sweeps/<PARAM>): summary.csv, summary.md and
    summary.png. VALUES picks the runs and their order; default: every run folder, in numeric order."""
    rows = summarize(folder, values)
    click.echo(f"wrote {Path(folder) / 'summary.csv'}, summary.md, summary.png ({len(rows)} runs)")
    click.echo(summary_markdown(Path(folder).name, rows), nl=False)
