"""report: the Markdown page of a real run (the weak model's: its per-class figures differ from class to
class), read as a reader of it on GitHub would: its tables, its images, the baselines beside our
accuracy; and the refusals, one line each, writing nothing."""
import json
import re
import urllib.parse

import pytest

from pipeline import generate, report
from tests.conftest import TINY, cli_without_tf, invoke, markdown_tables, run_folder


@pytest.fixture(scope="module")
def run(weak, tmp_path_factory):
    return run_folder(weak, tmp_path_factory.mktemp("report") / "run", predictions=True)


def write(run, out, data) -> str:
    r = invoke("report", "--data", data, "--run", run, "--out", out)
    assert r.returncode == 0, r.stderr
    return out.read_text()


def table(text: str, *header: str) -> list:
    """The rows (header first) of the one Markdown table whose header begins with these cells."""
    (found,) = [t for t in markdown_tables(text) if tuple(t[0][:len(header)]) == header]
    return found


def test_per_class_table_and_confusion_matrix_match_metrics(run, weak, tmp_path):
    text = write(run, tmp_path / "report.md", weak["data_path"])
    scores = json.loads((run / "metrics.json").read_text())
    assert len({c["f1"] for c in scores["per_class"].values()}) > 1  # the rows differ: a swap would show
    rows = table(text, "class", "precision")
    assert rows[0] == ["class", "precision", "recall", "F1", "support"]
    assert rows[1:] == [[name, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}"]
                        for name, c in scores["per_class"].items()]
    matrix = table(text, "true \\ predicted")
    assert matrix[0][1:] == scores["confusion"]["classes"]
    assert [[int(v.replace(",", "")) for v in row[1:]] for row in matrix[1:]] == scores["confusion"]["counts"]
    assert f"| accuracy | {scores['accuracy']:.4f} |" in text


def test_images_link_to_the_run_s_plots_from_wherever_the_report_is(run, weak, tmp_path):
    for out in (run / "report.md", tmp_path / "docs" / "report.md"):
        out.parent.mkdir(exist_ok=True)
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", write(run, out, weak["data_path"]))
        targets = [(out.parent / urllib.parse.unquote(link)).resolve() for link in links]
        assert targets == [(run / "plots" / "history.png").resolve(), (run / "confusion.png").resolve()], links
        assert all(t.is_file() for t in targets)


def test_baselines_are_shown_beside_our_accuracy(run, weak, tmp_path):
    out = tmp_path / "report.md"
    assert "`make baseline` adds them" in write(run, out, weak["data_path"])
    baseline = {"classifiers": {"1-NN DTW": {"accuracy": 0.95, "seconds": 3.1}, "ROCKET": {"accuracy": 0.875}}}
    (run / "baseline.json").write_text(json.dumps(baseline))
    try:
        rows = table(write(run, out, weak["data_path"]), "classifier")
    finally:
        (run / "baseline.json").unlink()
    ours = json.loads((run / "metrics.json").read_text())["accuracy"]
    assert [row[:3] for row in rows[1:]] == [["**this LSTM**", f"**{ours:.4f}**", ""],
                                             ["1-NN DTW", "0.9500", f"{ours - 0.95:+.4f}"],
                                             ["ROCKET", "0.8750", f"{ours - 0.875:+.4f}"]]
    assert rows[2][3] == "3.1000" and rows[3][3] == "–"


def test_the_data_section_gives_the_train_split_s_balance(run, weak, tmp_path):
    text = write(run, tmp_path / "report.md", weak["data_path"])
    balance = table(text, "class", "sequences", "share")
    assert sum(int(row[1].replace(",", "")) for row in balance[1:]) == TINY["n_train"]
    assert f"train {TINY['n_train']:,}, val {TINY['n_val']:,}, test {TINY['n_test']:,}" in text


def refused(tmp_path, *args) -> str:
    """report's one line on stderr, after checking the exit code and that nothing was written."""
    before = sorted(tmp_path.rglob("*"))
    r = invoke("report", *args, "--out", tmp_path / "report.md")
    assert r.returncode == 1, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert sorted(tmp_path.rglob("*")) == before
    return r.stderr.strip()


def test_a_dataset_other_than_the_run_s_is_refused(run, tmp_path):
    other = tmp_path / "other.h5"
    generate.generate(other, {**TINY, "n_train": 200, "n_val": 50, "n_test": 50, "seed": 3})
    line = refused(tmp_path, "--data", other, "--run", run)
    assert line.endswith(f"is not the one run {run} was evaluated on "
                         f"({json.loads((run / 'metrics.json').read_text())['dataset']['content_hash'][:12]})")


def test_a_baseline_json_of_another_shape_is_refused(run, weak, tmp_path):
    (run / "baseline.json").write_text(json.dumps({"1-NN DTW": 0.95}))
    try:
        line = refused(tmp_path, "--data", weak["data_path"], "--run", run)
    finally:
        (run / "baseline.json").unlink()
    assert f"report: baseline {run / 'baseline.json'}: expected " in line


def test_a_folder_without_metrics_is_refused(weak, tmp_path):
    (tmp_path / "run").mkdir()
    line = refused(tmp_path, "--data", weak["data_path"], "--run", tmp_path / "run")
    assert line.endswith(f"run record {tmp_path / 'run' / 'train.json'}: no such file")


def test_report_text_is_a_pure_function_of_what_it_reads(run, weak, tmp_path):
    """The same run, data and date give the same page; the date is the only thing that changes it."""
    dataset, read = report.read_dataset(weak["data_path"]), report.read_run(run)
    page = report.report_text(dataset, read, tmp_path / "report.md", "2026-01-01 00:00 UTC")
    assert page == report.report_text(dataset, read, tmp_path / "report.md", "2026-01-01 00:00 UTC")
    assert "| report written | 2026-01-01 00:00 UTC |" in page


@pytest.mark.slow  # a fresh process, to see that report never imports TensorFlow
def test_report_runs_without_tensorflow(run, weak, tmp_path):
    r = cli_without_tf("report", "--data", weak["data_path"], "--run", run, "--out", tmp_path / "report.md")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.md").read_text().startswith(f"# Run `{run}`")
