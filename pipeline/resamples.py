"""Resampled splits' summary: how a test score spreads over resamples of the data (no TensorFlow).

`make resamples N=10` writes resample i of the dataset (pipeline/resample.py), imports it, trains and
evaluates in artifacts/resamples/<i>/, with the settings `make all` uses. This stage reads their
metrics.json and writes resamples.json and resamples.md into that folder: per score (accuracy, macro-F1,
balanced accuracy) the mean ± standard deviation over the N resampled splits, their range, and where the
standard split (resample 0) sits among them: its rank and its z-score.

    python -m pipeline resamples-summary artifacts/resamples --n 10 --data data/japanese-vowels.h5
"""
import statistics
from pathlib import Path

import click

from pipeline import data, metrics, tables
from pipeline.files import BadFile, json_text, published_together, read_json
from pipeline.options import data_option

SCORES = metrics.SCORES


def spread(values: list) -> dict:
    """The mean, sample standard deviation (n - 1) and range of a score over the resamples, and where
    the first, the standard split's, sits: its rank (1: the best of them) and z-score."""
    mean, std = statistics.fmean(values), statistics.stdev(values)
    standard = values[0]
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "standard": standard,
            "rank": 1 + sum(v > standard for v in values), "z": (standard - mean) / std if std else 0.0}


def run_scores(folder: Path, n: int) -> list:
    """Each resample's test scores and the data they came from, from <i>/metrics.json."""
    rows = []
    for i in range(n):
        path = folder / str(i) / "metrics.json"
        record = read_json(path, "resample metrics")
        try:
            rows.append({"resample": i, **{k: record[k] for k in SCORES}, "n_test": record["n_test"],
                         "content_hash": record["dataset"]["content_hash"]})
        except (KeyError, TypeError) as e:
            raise BadFile(f"resample metrics {path}: lacks {e}") from None
    return rows


def summary(folder, n: int, data_path) -> dict:
    """The spread of each score over resamples 0 to n - 1 in `folder`; resample 0 must be the standard
    split, the dataset at data_path."""
    folder, info = Path(folder), data.describe(data_path)
    rows = run_scores(folder, n)
    if rows[0]["content_hash"] != info.content_hash:
        raise BadFile(f"resample 0 in {folder} was evaluated on data {rows[0]['content_hash'][:12]}, not the "
                      f"standard split {info.path} ({info.content_hash[:12]}); run its resamples again")
    return {"what": f"mean ± standard deviation over {n} resampled splits", "resamples": n,
            "standard": {"path": str(info.path), "content_hash": info.content_hash, "rows": info.rows},
            "scores": {k: spread([r[k] for r in rows]) for k in SCORES}, "runs": rows}


def markdown(record: dict) -> str:
    n, f = record["resamples"], "{:.4f}".format
    rows = [[name, f"{f(s['mean'])} ± {f(s['std'])}", f"{f(s['min'])} – {f(s['max'])}", f(s["standard"]),
             f"{s['rank']} of {n}", f"{s['z']:+.2f}"] for name, s in
            ((SCORES[k], record["scores"][k]) for k in SCORES)]
    text = tables.markdown(["test score", "mean ± std", "range", "standard split", "its rank", "its z-score"],
                           rows, right=range(1, 6))
    note = (f"\nMean ± standard deviation (n − 1) over {n} resampled splits of {record['standard']['path']}: "
            "resample 0 is the standard split; resample i > 0 draws the train, validation and test rows again "
            "from all of them pooled, by seed i, each class keeping its count in each split. Rank 1 is the best "
            "of them; z-score: (standard split − mean) / std.\n\n")
    runs = [[r["resample"], *(f(r[k]) for k in SCORES)] for r in record["runs"]]
    return text + note + tables.markdown(["resample", *SCORES.values()], runs, right=range(4))


def summarize(folder, n: int, data_path) -> dict:
    """Write resamples.json and resamples.md into the folder; returns the record."""
    folder = Path(folder)
    record = summary(folder, n, data_path)
    with published_together() as outputs:
        with outputs.output(folder / "resamples.json") as tmp:
            tmp.write_text(json_text(record))
        with outputs.output(folder / "resamples.md") as tmp:
            tmp.write_text(markdown(record))
    return record


@click.command("resamples-summary")
@click.argument("folder", type=click.Path())
@click.option("--n", "n", type=click.IntRange(min=2), required=True, help="Resamples 0 to N - 1, in FOLDER/<i>.")
@data_option
def cli(folder, n, data_path):
    """Summarise the runs on resampled splits in FOLDER (artifacts/resamples): resamples.json and resamples.md,
    with --data the standard split they were drawn from."""
    record = summarize(folder, n, data_path)
    click.echo(f"wrote {Path(folder) / 'resamples.json'} and resamples.md: {record['what']}")
    click.echo(markdown(record), nl=False)
