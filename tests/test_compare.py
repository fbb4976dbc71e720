"""compare: two real runs that differ in one training setting (the weak fixture's, and the same with
another batch size), compared as text and as Markdown; the refusals (not a run, bad JSON, runs of
different problems, fewer than two runs) are one line on stderr and write nothing."""
import json
import re
import shutil

import pytest

from pipeline import train
from tests import fixture_cache
from tests.conftest import cli_without_tf, invoke, markdown_tables, run_folder

NUMBER = r"[-+]?[\d,]*\.?\d+(?:e[-+]\d+)?"  # 0.9512, +0.0122, 3,000, 0.000621, -9e-05


@pytest.fixture(scope="module")
def runs(weak, tmp_path_factory) -> list:
    """Two evaluated run folders: the weak model's, and one trained the same way but for its batch size."""
    folder = tmp_path_factory.mktemp("compare")
    first = run_folder(weak, folder / "first")
    (folder / "trained").mkdir()
    record = train.train(weak["data_path"], folder / "trained" / "model.keras",
                         train.Options(**fixture_cache.WEAK, batch_size=64), verbose=0)
    second = run_folder({**record, "model_path": folder / "trained" / "model.keras", "data_path": weak["data_path"]},
                        folder / "second")
    return [first, second]


def section(text: str, title: str) -> list:
    """The lines of one section of compare's text: its title line, then its table up to the blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{title}:"))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def record(folder, name) -> dict:
    return json.loads((folder / name).read_text())


def test_two_runs_differing_in_one_setting_name_it_and_each_metric_change(runs, tmp_path):
    first, second = runs
    r = invoke("compare", first, second / "metrics.json", "--md", tmp_path / "compare.md")
    assert r.returncode == 0, r.stderr
    settings = section(r.stdout, "Settings")
    n = len(record(first, "train.json")["settings"])
    assert settings[0] == f"Settings: 1 differs, {n - 1} the same"
    assert [line.split() for line in settings[2:]] == [["batch_size", "256", "64"]]

    before, after = record(first, "metrics.json"), record(second, "metrics.json")
    assert before["accuracy"] != after["accuracy"]
    rows = {line.split()[0]: line for line in section(r.stdout, "Test metrics")[2:]}
    for name in ("accuracy", "macro_f1", "balanced_accuracy", "loss", "n_test"):
        shown = [float(x.replace(",", "")) for x in re.findall(NUMBER, rows[name].split(maxsplit=1)[1])]
        assert shown == pytest.approx([before[name], after[name], after[name] - before[name]], abs=6e-5), rows[name]

    data = section(r.stdout, "Data")
    assert data[0] == "Data: the same data"
    assert data[2].split() == ["content_hash", before["dataset"]["content_hash"][:12], "same"]
    assert section(r.stdout, "Versions")[0].startswith("Versions: all ")


def test_markdown_holds_the_same_comparison_as_valid_tables(runs, tmp_path):
    first, second = runs
    md = tmp_path / "compare.md"
    assert invoke("compare", first / "train.json", second, "--md", md).returncode == 0
    tables = {t[0][0]: t for t in markdown_tables(md.read_text())}
    assert set(tables) == {"metric", "setting", "dataset"}  # no version differs: no table
    assert tables["setting"] == [["setting", "first", "second"], ["batch_size", "256", "64"]]
    accuracy = dict((row[0], row) for row in tables["metric"][1:])["accuracy"]
    assert accuracy[1] == f"{record(first, 'metrics.json')['accuracy']:.4f}"
    assert accuracy[2].startswith(f"{record(second, 'metrics.json')['accuracy']:.4f} (")


def copy_run(folder, to, edit) -> object:
    """A copy of a run folder with its train.json changed by edit(record)."""
    shutil.copytree(folder, to)
    trained = record(to, "train.json")
    edit(trained)
    (to / "train.json").write_text(json.dumps(trained))
    return to


def test_runs_on_other_data_of_the_same_problem_are_compared_as_different_data(runs, tmp_path):
    other = copy_run(runs[1], tmp_path / "other", lambda r: r["dataset"].update(content_hash="0123456789abcdef" * 4))
    r = invoke("compare", runs[0], other)
    assert r.returncode == 0, r.stderr
    data = section(r.stdout, "Data")
    assert data[0].startswith("Data: different data")
    assert data[2].split()[1:] == [record(runs[0], "train.json")["dataset"]["content_hash"][:12], "0123456789ab"]


def refused(tmp_path, *runs, code=1) -> str:
    """compare's one line on stderr for `runs`, after checking the exit code and that nothing was written."""
    before = sorted(tmp_path.rglob("*"))
    r = invoke("compare", *runs, "--md", tmp_path / "compare.md")
    assert r.returncode == code, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert not r.stdout and sorted(tmp_path.rglob("*")) == before
    return r.stderr.strip()


def test_a_folder_that_is_not_a_run_is_refused(runs, tmp_path):
    (tmp_path / "empty").mkdir()
    line = refused(tmp_path, runs[0], tmp_path / "empty")
    assert line.endswith(f"compare: {tmp_path / 'empty'} is not a run folder (no train.json and metrics.json)")


def test_a_run_record_that_is_not_json_is_refused(runs, tmp_path):
    broken = copy_run(runs[1], tmp_path / "broken", lambda r: None)
    (broken / "metrics.json").write_text('{"accuracy": 0.5,')
    line = refused(tmp_path, runs[0], broken)
    assert f"{broken / 'metrics.json'}: not valid JSON" in line


def test_runs_of_different_problems_are_refused_naming_what_differs(runs, tmp_path):
    def other_classes(r):
        r["dataset"]["problem"].update(n_classes=2, classes=["ham", "spam"])

    other = copy_run(runs[1], tmp_path / "spam", other_classes)
    line = refused(tmp_path, runs[0], other)
    assert "runs of different problems" in line and "classes=['ham', 'spam']" in line and "n_classes=2" in line


def test_fewer_than_two_runs_is_a_usage_error(runs, tmp_path):
    assert "two runs or more" in refused(tmp_path, runs[0], code=2)


@pytest.mark.slow  # a fresh process, to see that compare never imports TensorFlow
def test_compare_runs_without_tensorflow(runs):
    r = cli_without_tf("compare", *runs)
    assert r.returncode == 0, r.stderr
    assert "batch_size" in r.stdout
