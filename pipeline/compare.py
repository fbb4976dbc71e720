"""compare: what differs between training runs, the first being the baseline (no TensorFlow).

Reads each run's train.json and metrics.json (a run folder such as artifacts/ or
artifacts/sweeps/<PARAM>/<value>/, or the path of either file) and prints the test metrics with each
later run's change against the first, the training settings that differ, the data (content hash and
problem) and the software versions that differ; --md FILE writes the same as Markdown tables. Runs of
different problems are refused; runs on other data of the same problem are compared as "different data".

    python -m pipeline compare artifacts artifacts/sweeps/BATCH_SIZE/64 --md compare.md
"""
import dataclasses
import os
from pathlib import Path

import click

from pipeline import metrics, modelfile, tables
from pipeline.files import BadFile, named_errors, read_json, writable_target, write_text_atomic

RECORDS = ("train.json", "metrics.json")  # what makes a folder a run
SCORES = (*metrics.SCORES, "loss")  # shown first, then metrics.json's other numbers
HASH_DIGITS = 12
ABSENT = "(absent)"


@dataclasses.dataclass(frozen=True)
class Run:
    folder: Path
    trained: dict  # train.json
    metrics: dict  # metrics.json

    @property
    def dataset(self) -> dict:
        return self.trained["dataset"]


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of a comparison: a title, a line saying what it found, a table (header, rows of as many
    cells) and its columns of numbers."""
    title: str
    summary: str
    header: list
    rows: list
    right: tuple = ()


def run_folder(path) -> Path:
    """The run folder a path names: the folder itself, or the one holding the train.json or metrics.json named."""
    p = Path(path)
    if p.name in RECORDS and p.is_file():
        p = p.parent
    if not p.exists():
        raise BadFile(f"{p}: no such run folder")
    if not p.is_dir():
        raise BadFile(f"{p} is not a run folder, train.json or metrics.json")
    missing = [name for name in RECORDS if not (p / name).is_file()]
    if missing:
        raise BadFile(f"{p} is not a run folder (no {' and '.join(missing)})")
    return p


def read_run(path) -> Run:
    folder = run_folder(path)
    trained, metrics = (read_json(folder / name, "run record") for name in RECORDS)
    for key in ("settings", "dataset", "versions"):
        if not isinstance(trained.get(key), dict):
            raise BadFile(f"run record {folder / 'train.json'}: no {key} (not written by 'train'?)")
    if not isinstance(trained["dataset"].get("problem"), dict):
        raise BadFile(f"run record {folder / 'train.json'}: no dataset problem (not written by 'train'?)")
    return Run(folder, trained, metrics)


def check_problems(runs: list) -> None:
    """Refuse runs whose datasets are of different problems, naming the keys that differ."""
    first = runs[0].dataset["problem"]
    for run in runs[1:]:
        problem = run.dataset["problem"]
        differ = modelfile.problem_differences(first, problem)
        if differ:
            raise BadFile(f"runs of different problems: {runs[0].folder} has {modelfile.problem_text(first, differ)}, "
                          f"{run.folder} has {modelfile.problem_text(problem, differ)}")


def labels(runs: list) -> list:
    """Column names: the runs' folders less the folders they all share (a folder's own name where that
    leaves nothing), numbered when two are alike."""
    parts = [Path(os.path.abspath(r.folder)).parts for r in runs]
    shared = len(os.path.commonprefix(parts))
    names = [str(Path(*p[shared:])) if p[shared:] else p[-1] for p in parts]
    return names if len(set(names)) == len(names) else [f"{i}: {n}" for i, n in enumerate(names, 1)]


def _against(value, first) -> str:
    """A later run's figure and its change against the first run's: '0.9634 (+0.0122)'."""
    if not tables.is_number(value):
        return "–"
    if not tables.is_number(first):
        return tables.number(value)
    return f"{tables.number(value)} ({tables.number(value - first, sign=True)})"


def metrics_section(runs: list, names: list) -> Section:
    """SCORES, then every other number at the top of a metrics.json, in the order first met."""
    keys = dict.fromkeys(k for k in SCORES if any(k in r.metrics for r in runs))
    for run in runs:
        keys.update(dict.fromkeys(k for k, v in run.metrics.items() if tables.is_number(v)))
    first = runs[0].metrics
    rows = [[k, tables.number(first[k]) if tables.is_number(first.get(k)) else "–",
             *(_against(r.metrics.get(k), first.get(k)) for r in runs[1:])] for k in keys]
    return Section("Test metrics", f"changes against {names[0]}, the baseline", ["metric", *names], rows,
                   tuple(range(1, len(runs) + 1)))


def differing(records: list) -> list:
    """Rows [key, each record's value] of the keys whose values are not all the same, in order."""
    keys = dict.fromkeys(k for r in records for k in r)
    return [[k, *(tables.value(r[k]) if k in r else ABSENT for r in records)] for k in keys
            if any(r.get(k, ABSENT) != records[0].get(k, ABSENT) for r in records)]


def _differ_section(title: str, column: str, records: list, names: list) -> Section:
    rows = differing(records)
    same = len(dict.fromkeys(k for r in records for k in r)) - len(rows)
    summary = f"{len(rows)} differ{'s' if len(rows) == 1 else ''}, {same} the same" if rows else f"all {same} the same"
    return Section(title, summary, [column, *names], rows)


def problem_summary(problem: dict) -> str:
    """'tokens, length 5, 10 features, 10 classes, echo of step 2'."""
    text = (f"{problem.get('kind')}, length {problem.get('length')}{' (longest)' if problem.get('variable') else ''}, "
            f"{problem.get('n_features')} features, {problem.get('n_classes')} classes")
    return text + (f", echo of step {problem['out_index']}" if problem.get("out_index") is not None else "")


def _same_as_first(row: list) -> list:
    """A data row with each later run's value that equals the first run's shown as 'same'."""
    return [row[0], row[1], *("same" if v == row[1] else v for v in row[2:])]


def data_section(runs: list, names: list) -> Section:
    """The datasets' content hashes, paths and problem; the data each run was evaluated on where it is other."""
    hashes = [str(r.dataset.get("content_hash")) for r in runs]
    tested = [str((r.metrics.get("dataset") or {}).get("content_hash", h)) for r, h in zip(runs, hashes)]
    rows = [["content_hash", *(h[:HASH_DIGITS] for h in hashes)],
            *([["evaluated on", *(t[:HASH_DIGITS] for t in tested)]] if tested != hashes else []),
            ["problem", *(problem_summary(r.dataset["problem"]) for r in runs)],
            ["path", *(str(r.dataset.get("path")) for r in runs)]]
    same = len(set(hashes + tested)) == 1
    return Section("Data", "the same data" if same else "different data (content hashes differ), the same problem",
                   ["dataset", *names], [_same_as_first(row) for row in rows])


def comparison(runs: list) -> list:
    """The sections comparing `runs` (Run), the first the baseline; BadFile for runs of different problems."""
    check_problems(runs)
    names = labels(runs)
    return [metrics_section(runs, names),
            _differ_section("Settings", "setting", [r.trained["settings"] for r in runs], names),
            data_section(runs, names),
            _differ_section("Versions", "version", [tables.flat(r.trained["versions"]) for r in runs], names)]


def text(runs: list, sections: list) -> str:
    lines = [f"baseline: {runs[0].folder}", *(f"compared: {r.folder}" for r in runs[1:])]
    for s in sections:
        lines += ["", f"{s.title}: {s.summary}"]
        if s.rows:
            lines += tables.text(s.header, s.rows, s.right)
    return "\n".join(lines) + "\n"


def markdown(runs: list, sections: list) -> str:
    parts = ["# Comparison of runs\n", f"Baseline: `{runs[0].folder}`; compared: "
             + ", ".join(f"`{r.folder}`" for r in runs[1:]) + ".\n"]
    for s in sections:
        parts.append(f"## {s.title}\n\n{s.summary[:1].upper()}{s.summary[1:]}.\n")
        if s.rows:
            parts.append(tables.markdown(s.header, s.rows, s.right))
    return "\n".join(parts)


@click.command("compare")
@click.argument("runs", nargs=-1, type=click.Path())
@click.option("--md", "md_path", type=click.Path(), default=None,
              help="Also write the comparison as Markdown tables to this file.")
def cli(runs, md_path):
    """Compare training RUNS (run folders, or their train.json or metrics.json), the first being the
    baseline: test metrics, and the settings, data and versions that differ."""
    if len(runs) < 2:
        raise click.UsageError("compare takes two runs or more (run folders, or their train.json or metrics.json)")
    with named_errors("compare"):
        if md_path:
            writable_target(md_path)
        read = [read_run(p) for p in runs]
        sections = comparison(read)
        if md_path:
            write_text_atomic(md_path, markdown(read, sections))
    click.echo(text(read, sections), nl=False)
    if md_path:
        click.echo(f"wrote {md_path}")
