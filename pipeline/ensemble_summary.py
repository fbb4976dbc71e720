"""An ensemble beside its members: its test scores and the single models' median and range (no TensorFlow).

`make ensemble SEEDS="0 1 2 3 4"` trains and evaluates one model per seed (artifacts/sweeps/SEED/<s>/,
the runs `make sweep PARAM=SEED` makes), their ensemble (pipeline/ensemble.py) and evaluates it. This
stage reads the ensemble's metrics.json and its members' and writes summary.md beside the ensemble's:
each member's test scores, their median and range over the seeds, and the ensemble's, named
"ensemble of N".

    python -m pipeline ensemble-summary artifacts/ensemble/metrics.json artifacts/sweeps/SEED/*/metrics.json
"""
import statistics
from pathlib import Path

import click

from pipeline import metrics, tables
from pipeline.files import BadFile, read_json, write_text_atomic

SCORES = {**metrics.SCORES, "accuracy": "test accuracy"}


def _scores(record: dict, path) -> dict:
    try:
        return {k: float(record[k]) for k in SCORES}
    except (KeyError, TypeError, ValueError) as e:
        raise BadFile(f"metrics {path}: lacks {e}") from None


def summary(ensemble_path, member_paths) -> dict:
    """The ensemble's scores and its members' (each a model the ensemble holds, evaluated on its data),
    with the members' median, min and max of each score."""
    ensemble = read_json(ensemble_path, "ensemble metrics")
    settings = (ensemble.get("model") or {}).get("train_settings") or {}
    if "ensemble_of" not in settings:
        raise BadFile(f"ensemble metrics {ensemble_path}: not an ensemble's (its model has no members)")
    members = []
    for path in member_paths:
        record = read_json(path, "member metrics")
        model = (record.get("model") or {}).get("path")
        if model not in settings["members"]:
            raise BadFile(f"member metrics {path}: model {model} is not a member of the ensemble "
                          f"({', '.join(settings['members'])})")
        if record.get("dataset", {}).get("content_hash") != ensemble.get("dataset", {}).get("content_hash"):
            raise BadFile(f"member metrics {path}: evaluated on other data than the ensemble ({ensemble_path})")
        seed = (record["model"].get("train_settings") or {}).get("seed")
        members.append({"path": str(path), "seed": seed, **_scores(record, path)})
    single = {k: {"median": statistics.median(m[k] for m in members), "min": min(m[k] for m in members),
                  "max": max(m[k] for m in members)} for k in SCORES} if members else {}
    return {"name": f"ensemble of {settings['ensemble_of']}", "ensemble": _scores(ensemble, ensemble_path),
            "members": members, "single": single}


def lines(record: dict) -> list:
    """The ensemble's test accuracy beside the single models' median and range."""
    out = [f"{record['name']}: test accuracy {record['ensemble']['accuracy']:.4f}"]
    if record["single"]:
        s = record["single"]["accuracy"]
        out.append(f"single models ({len(record['members'])}): test accuracy median {s['median']:.4f} "
                   f"(range {s['min']:.4f} – {s['max']:.4f})")
    return out


def markdown(record: dict) -> str:
    f = "{:.4f}".format
    rows = [[f"seed {m['seed']}", *(f(m[k]) for k in SCORES)] for m in record["members"]]
    if record["single"]:
        rows.append(["single models: median (range)", *(f"{f(s['median'])} ({f(s['min'])} – {f(s['max'])})"
                                                        for s in (record["single"][k] for k in SCORES))])
    rows.append([f"**{record['name']}**", *(f"**{f(record['ensemble'][k])}**" for k in SCORES)])
    note = (f"\nThe {record['name']} averages its members' class probabilities (a soft vote); every row is "
            "scored on the same test split.\n")
    return tables.markdown(["model", *SCORES.values()], rows, right=range(1, 4)) + note


@click.command("ensemble-summary")
@click.argument("ensemble_metrics", type=click.Path())
@click.argument("member_metrics", type=click.Path(), nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Markdown file to write.  [default: summary.md beside ENSEMBLE_METRICS]")
def cli(ensemble_metrics, member_metrics, out):
    """Put an ensemble's test scores (ENSEMBLE_METRICS, its metrics.json) beside its members' (theirs, in
    MEMBER_METRICS) and write them as Markdown."""
    record = summary(ensemble_metrics, member_metrics)
    out = out or Path(ensemble_metrics).with_name("summary.md")
    write_text_atomic(out, markdown(record))
    click.echo(f"wrote {out}")
    for line in lines(record):
        click.echo(line)
