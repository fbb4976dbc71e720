"""Sweeps: training runs per value of a parameter (and per seed), each in its own folder, and their summary.

`make sweep PARAM=BATCH_SIZE VALUES="16 64 256"` trains and evaluates into
artifacts/sweeps/<PARAM>/<value>/; with SEEDS="0 1 2", into <value>/seed-<s>/ (model.keras,
train.json, metrics.json, plots/history.png). This stage reads those folders (no TensorFlow) and
writes summary.csv, summary.md and summary.png beside them: one row per value, with the number of
seeds and, per measure, the median and the range over them. A run that did not reach the target
counts as "not reached" (above any number) in the sequences and seconds it took: it is never dropped.

    python -m pipeline sweep-summary artifacts/sweeps/BATCH_SIZE 16 64 256 --seeds 0,1,2
"""
import csv
import io
import math
import statistics
from pathlib import Path

import click

from pipeline.files import BadFile, published_together, read_json
from pipeline.options import int_list

NOT_REACHED = math.inf  # sequences or seconds of a run that never reached the target
# measure -> its heading; each gets a median, a min and a max per value
MEASURES = {"test_accuracy": "test accuracy", "sequences_to_target": "sequences to target",
            "epochs": "epochs", "seconds_to_target": "seconds to target"}
FIELDS = ("value", "seeds", "reached", *(f"{m}_{s}" for m in MEASURES for s in ("median", "min", "max")),
          "final_val_accuracy_median")


def run_row(folder: Path) -> dict:
    """One run's figures, from its train.json and metrics.json."""
    trained, metrics = read_json(folder / "train.json", "run record"), read_json(folder / "metrics.json", "run record")
    try:
        reached = bool(trained["target_reached"])
        return {"test_accuracy": metrics["accuracy"], "epochs": trained["epochs_run"], "reached": reached,
                "sequences_to_target": trained["sequences_to_target"] if reached else NOT_REACHED,
                "seconds_to_target": trained["seconds_to_target"] if reached else NOT_REACHED,
                "final_val_accuracy": trained["final"]["val_accuracy"]}
    except (KeyError, TypeError) as e:
        raise BadFile(f"run {folder}: train.json or metrics.json lacks {e}") from None


def aggregate(value: str, runs: list) -> dict:
    """A value's row: how many runs (seeds), how many reached the target, and per measure the median
    and range over the runs."""
    row = {"value": value, "seeds": len(runs), "reached": sum(r["reached"] for r in runs),
           "final_val_accuracy_median": statistics.median(r["final_val_accuracy"] for r in runs)}
    for measure in MEASURES:
        values = [r[measure] for r in runs]
        row.update({f"{measure}_median": statistics.median(values), f"{measure}_min": min(values),
                    f"{measure}_max": max(values)})
    return row


def _sort_key(value: str):
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def value_folders(folder, values=()) -> list:
    """The value folders of a sweep: those named by `values`, in that order, or all of them in numeric order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadFile(f"sweep {folder}: no such folder")
    if values:
        return [folder / str(v) for v in values]
    found = {p.parent for p in folder.glob("*/metrics.json")} | {p.parent.parent for p in
                                                                 folder.glob("*/seed-*/metrics.json")}
    if not found:
        raise BadFile(f"sweep {folder}: no runs (no <value>/metrics.json or <value>/seed-<s>/metrics.json inside)")
    return sorted(found, key=lambda p: _sort_key(p.name))


def run_folders(value_folder: Path, seeds=None) -> list:
    """The runs of one value: its seed-<s> folders for the seeds given; without seeds, the value folder
    itself when it holds a run, else every seed folder in it."""
    if seeds:
        return [value_folder / f"seed-{s}" for s in seeds]
    if (value_folder / "metrics.json").exists():
        return [value_folder]
    runs = sorted(value_folder.glob("seed-*/"), key=lambda p: _sort_key(p.name[5:]))
    return runs or [value_folder]  # reading it then names what is missing


def table(folder, values=(), seeds=None) -> list:
    return [aggregate(v.name, [run_row(r) for r in run_folders(v, seeds)]) for v in value_folders(folder, values)]


def _cell(x) -> str:
    if x is None:
        return ""
    if x == NOT_REACHED:
        return "not reached"
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def summary_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows({k: _cell(r[k]) for k in FIELDS} for r in rows)
    return buf.getvalue()


def _spread(row, measure, fmt) -> str:
    """'median (min-max)', or the median alone for one seed."""
    show = [_cell(x) if x == NOT_REACHED else fmt(x) for x in
            (row[f"{measure}_median"], row[f"{measure}_min"], row[f"{measure}_max"])]
    return show[0] if row["seeds"] == 1 else f"{show[0]} ({show[1]} – {show[2]})"


def summary_markdown(param: str, rows) -> str:
    formats = {"test_accuracy": "{:.4f}".format, "sequences_to_target": "{:,.0f}".format,
               "epochs": "{:.0f}".format, "seconds_to_target": "{:.2f}".format}
    lines = [f"| {param} | seeds | reached target | " + " | ".join(MEASURES.values()) + " |",
             "|---" + "|---:" * (2 + len(MEASURES)) + "|"]
    for r in rows:
        cells = [_spread(r, m, formats[m]) for m in MEASURES]
        lines.append(f"| {r['value']} | {r['seeds']} | {r['reached']}/{r['seeds']} | " + " | ".join(cells) + " |")
    note = "Median (min – max) over the seeds; a run that did not reach the target counts as not reached."
    return "\n".join(lines) + "\n\n" + note + "\n"


def summarize(folder, values=(), seeds=None) -> list:
    """Write summary.csv, summary.md and summary.png into the sweep folder; returns the rows."""
    from pipeline import plots

    folder = Path(folder)
    rows = table(folder, values, seeds)
    with published_together() as outputs:  # all three replace the previous summary together
        with outputs.output(folder / "summary.csv") as tmp:
            tmp.write_text(summary_csv(rows))
        with outputs.output(folder / "summary.md") as tmp:
            tmp.write_text(summary_markdown(folder.name, rows))
        with outputs.output(folder / "summary.png") as tmp:
            plots.write_png(plots.sweep_figure(rows, folder.name), tmp)
    return rows


def report(folder) -> str:
    """What `inspect` prints for a sweep folder: its runs as a table."""
    folder = Path(folder)
    return f"sweep {folder} ({folder.name})\n" + summary_markdown(folder.name, table(folder)).rstrip("\n")


def _seeds(ctx, param, text):
    return None if text is None else int_list(",".join(text.replace(",", " ").split()), "0,1,2")


@click.command("sweep-summary")
@click.argument("folder", type=click.Path())
@click.argument("values", nargs=-1)
@click.option("--seeds", callback=_seeds, help="The seeds of each value's runs (<value>/seed-<s>), e.g. 0,1,2. "
              "[default: the value folder's own run, else all its seed folders]")
def cli(folder, values, seeds):
    """Summarise the runs of a sweep FOLDER (artifacts/sweeps/<PARAM>): summary.csv, summary.md and
    summary.png. VALUES picks the runs and their order; default: every run folder, in numeric order."""
    rows = summarize(folder, values, seeds)
    click.echo(f"wrote {Path(folder) / 'summary.csv'}, summary.md, summary.png "
               f"({len(rows)} values, {sum(r['seeds'] for r in rows)} runs)")
    click.echo(summary_markdown(Path(folder).name, rows), nl=False)
