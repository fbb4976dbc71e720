"""Sweeps: the summary's aggregation over seeds (median and range, runs that never reached the target
kept), and `make sweep` on a tiny configuration in a temporary copy of the project: one run per value
(and seed) in its own folder, data made once per seed for a training parameter and per run for a
problem parameter, reruns only when stale, and a summary that `inspect` prints without TensorFlow."""
import csv
import json
import math

import h5py
import pytest

from pipeline import sweep
from tests.conftest import png_size
from tests.test_inspect import _report_without_tf
from tests.test_make import make, project  # noqa: F401  (the fixture: a temporary copy of the project)


def summary(folder) -> list:
    with open(folder / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def fake_run(folder, accuracy, epochs, sequences=None, seconds=None):
    """The two records a run leaves that the summary reads; sequences None: the target was not reached."""
    folder.mkdir(parents=True)
    reached = sequences is not None
    (folder / "train.json").write_text(json.dumps({
        "target_reached": reached, "epochs_run": epochs, "sequences_to_target": sequences,
        "seconds_to_target": seconds, "final": {"val_accuracy": accuracy - 0.001}}))
    (folder / "metrics.json").write_text(json.dumps({"accuracy": accuracy}))


def test_aggregation_over_seeds_keeps_runs_that_did_not_reach_the_target(tmp_path):
    folder = tmp_path / "OUT_INDEX"
    fake_run(folder / "0" / "seed-0", 1.0, 3, 49152, 2.5)
    fake_run(folder / "0" / "seed-1", 0.999, 2, 32768, 1.5)
    fake_run(folder / "0" / "seed-2", 0.4, 9)  # never reached
    fake_run(folder / "4" / "seed-0", 0.3, 9)
    fake_run(folder / "4" / "seed-1", 0.35, 9)
    fake_run(folder / "4" / "seed-2", 1.0, 5, 81920, 4.0)
    fake_run(folder / "4" / "seed-7", 1.0, 1, 16384, 0.5)  # not among the seeds asked for
    rows = sweep.summarize(folder, ["4", "0"], seeds=[0, 1, 2])
    assert [r["value"] for r in rows] == ["4", "0"]
    four, zero = rows
    assert (zero["seeds"], zero["reached"]) == (3, 2)
    assert (zero["test_accuracy_median"], zero["test_accuracy_min"], zero["test_accuracy_max"]) == (0.999, 0.4, 1.0)
    assert (zero["epochs_median"], zero["epochs_min"], zero["epochs_max"]) == (3, 2, 9)
    assert (zero["sequences_to_target_median"], zero["sequences_to_target_min"]) == (49152, 32768)
    assert zero["sequences_to_target_max"] == math.inf  # the run that never reached it, kept as such
    assert four["reached"] == 1 and four["sequences_to_target_median"] == math.inf
    assert four["sequences_to_target_min"] == 81920 and four["seconds_to_target_min"] == 4.0

    table = summary(folder)
    assert [r["seeds"] for r in table] == ["3", "3"] and table[1]["reached"] == "2"
    assert table[1]["sequences_to_target_max"] == "not reached" and table[1]["sequences_to_target_median"] == "49152"
    assert table[0]["sequences_to_target_median"] == "not reached" and table[0]["test_accuracy_max"] == "1"
    markdown = (folder / "summary.md").read_text()
    assert "| 0 | 3 | 2/3 | 0.9990 (0.4000 – 1.0000) | 49,152 (32,768 – not reached) | 3 (2 – 9) |" in markdown
    assert "| 4 | 3 | 1/3 | 0.3500 (0.3000 – 1.0000) | not reached (81,920 – not reached) |" in markdown
    assert png_size(folder / "summary.png") == (1000, 400)

    every = sweep.table(folder)  # without seeds: every seed folder of every value, in numeric order
    assert [(r["value"], r["seeds"]) for r in every] == [("0", 3), ("4", 4)]


def test_missing_run_is_named(tmp_path):
    fake_run(tmp_path / "S" / "1" / "seed-0", 1.0, 1, 100, 1.0)
    with pytest.raises(sweep.BadFile, match="seed-1/train.json: no such file"):
        sweep.table(tmp_path / "S", ["1"], seeds=[0, 1])


def test_sweep_over_seeds(project):  # noqa: F811
    r = make(project, "sweep", "PARAM=OUT_INDEX", "VALUES=0 4", "LENGTH=5", "SEEDS=0 1")
    folder = project / "artifacts" / "sweeps" / "OUT_INDEX"
    for value in ("0", "4"):
        for seed in (0, 1):
            run = folder / value / f"seed-{seed}"
            with h5py.File(run / "echo.h5") as f:  # a problem parameter: each run its own data, its seed
                assert (f.attrs["out_index"], f.attrs["seed"]) == (int(value), seed)
            assert json.loads((run / "train.json").read_text())["params"]["seed"] == seed
    assert r.stdout.count("-m pipeline train") == 4
    rows = summary(folder)
    assert [(row["value"], row["seeds"]) for row in rows] == [("0", "2"), ("4", "2")]
    assert "| OUT_INDEX | seeds | reached target |" in (folder / "summary.md").read_text()
    again = make(project, "sweep", "PARAM=OUT_INDEX", "VALUES=0 4", "LENGTH=5", "SEEDS=0 1").stdout
    assert "-m pipeline train" not in again and "sweep-summary" in again

    r = make(project, "sweep", "PARAM=UNITS", "VALUES=8", "SEEDS=3")  # a training parameter: data per seed
    with h5py.File(project / "artifacts" / "sweeps" / "UNITS" / "data" / "seed-3.h5") as f:
        assert f.attrs["seed"] == 3
    assert not (project / "artifacts" / "sweeps" / "UNITS" / "8" / "seed-3" / "echo.h5").exists()


def test_training_sweep(project):  # noqa: F811
    r = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64")
    folder = project / "artifacts" / "sweeps" / "BATCH_SIZE"
    for value in ("256", "64"):
        run = folder / value
        assert all((run / f).is_file() for f in ("model.keras", "train.json", "metrics.json")), value
        assert json.loads((run / "train.json").read_text())["params"]["batch_size"] == int(value)
        assert not (run / "echo.h5").exists()  # a training parameter shares the one dataset
    assert r.stdout.count("-m pipeline generate") == 1 and r.stdout.count("-m pipeline train") == 2
    rows = summary(folder)
    assert [(row["value"], row["seeds"]) for row in rows] == [("256", "1"), ("64", "1")]  # in the order given
    for row in rows:
        metrics = json.loads((folder / row["value"] / "metrics.json").read_text())
        assert float(row["test_accuracy_median"]) == pytest.approx(metrics["accuracy"], abs=1e-6)

    again = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64").stdout
    assert "-m pipeline train" not in again and "-m pipeline generate" not in again and "sweep-summary" in again

    table = _report_without_tf(folder)
    assert f"| 64 | 1 | {rows[1]['reached']}/1 | {float(rows[1]['test_accuracy_median']):.4f} |" in table


def test_problem_sweep(project):  # noqa: F811
    make(project, "data")
    make(project, "sweep", "PARAM=LENGTH", "VALUES=4")
    folder = project / "artifacts" / "sweeps" / "LENGTH"
    with h5py.File(folder / "4" / "echo.h5") as f:  # a problem parameter: the run's own data
        assert f.attrs["length"] == 4
    with h5py.File(project / "data" / "echo.h5") as f:  # the shared data is left as it was
        assert f.attrs["length"] == 5
    assert [row["value"] for row in summary(folder)] == ["4"]


@pytest.mark.parametrize("args, message", [(["PARAM=NOPE", "VALUES=1"], "must be one of"),
                                           (["PARAM=UNITS"], "VALUES is empty"),
                                           (["PARAM=SEED", "VALUES=1", "SEEDS=2"], "leave SEEDS empty")])
def test_bad_sweep(project, args, message):  # noqa: F811
    r = make(project, "sweep", *args, check=False)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
