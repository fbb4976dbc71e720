"""`make sweep` on a tiny configuration in a temporary copy of the project: one run per value (and seed)
in its own folder, data made once per seed for a training parameter and per run for a problem parameter,
reruns only when stale, and a summary that `inspect` prints without TensorFlow."""
import json

import h5py
import pytest

from tests.conftest import report_without_tf, sweep_summary
from tests.make.conftest import make

pytestmark = pytest.mark.slow


def test_sweep_over_seeds(project):
    r = make(project, "sweep", "PARAM=OUT_INDEX", "VALUES=4", "LENGTH=5", "SEEDS=0 1")
    folder = project / "artifacts" / "sweeps" / "OUT_INDEX"
    for value in ("4",):
        for seed in (0, 1):
            run = folder / value / f"seed-{seed}"
            with h5py.File(run / "echo.h5") as f:  # a problem parameter: each run its own data, its seed
                assert (f.attrs["out_index"], f.attrs["seed"]) == (int(value), seed)
            assert json.loads((run / "train.json").read_text())["settings"]["seed"] == seed
    assert r.stdout.count("-m pipeline train") == 2
    rows = sweep_summary(folder)
    assert [(row["value"], row["seeds"]) for row in rows] == [("4", "2")]
    assert "| OUT_INDEX | seeds | reached target |" in (folder / "summary.md").read_text()
    again = make(project, "sweep", "PARAM=OUT_INDEX", "VALUES=4", "LENGTH=5", "SEEDS=0 1").stdout
    assert "-m pipeline train" not in again and "sweep-summary" in again

    r = make(project, "sweep", "PARAM=UNITS", "VALUES=8", "SEEDS=3")  # a training parameter: data per seed
    with h5py.File(project / "artifacts" / "sweeps" / "UNITS" / "data" / "seed-3.h5") as f:
        assert f.attrs["seed"] == 3
    assert not (project / "artifacts" / "sweeps" / "UNITS" / "8" / "seed-3" / "echo.h5").exists()


def test_training_sweep(project):
    r = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64")
    folder = project / "artifacts" / "sweeps" / "BATCH_SIZE"
    for value in ("256", "64"):
        run = folder / value
        assert all((run / f).is_file() for f in ("model.keras", "train.json", "metrics.json")), value
        assert json.loads((run / "train.json").read_text())["settings"]["batch_size"] == int(value)
        assert not (run / "echo.h5").exists()  # a training parameter shares the one dataset
    assert r.stdout.count("-m pipeline generate") == 1 and r.stdout.count("-m pipeline train") == 2
    rows = sweep_summary(folder)
    assert [(row["value"], row["seeds"]) for row in rows] == [("256", "1"), ("64", "1")]  # in the order given
    for row in rows:
        metrics = json.loads((folder / row["value"] / "metrics.json").read_text())
        assert float(row["test_accuracy_median"]) == pytest.approx(metrics["accuracy"], abs=1e-6)

    again = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64").stdout
    assert "-m pipeline train" not in again and "-m pipeline generate" not in again and "sweep-summary" in again

    table = report_without_tf(folder)
    assert f"| 64 | 1 | {rows[1]['reached']}/1 | {float(rows[1]['test_accuracy_median']):.4f} |" in table


def test_problem_sweep(project):
    make(project, "data")
    make(project, "sweep", "PARAM=LENGTH", "VALUES=4")
    folder = project / "artifacts" / "sweeps" / "LENGTH"
    with h5py.File(folder / "4" / "echo.h5") as f:  # a problem parameter: the run's own data
        assert f.attrs["length"] == 4
    with h5py.File(project / "data" / "echo.h5") as f:  # the shared data is left as it was
        assert f.attrs["length"] == 5
    assert [row["value"] for row in sweep_summary(folder)] == ["4"]


@pytest.mark.parametrize("args, message", [(["PARAM=NOPE", "VALUES=1"], "must be one of"),
                                           (["PARAM=UNITS"], "VALUES is empty"),
                                           (["PARAM=SEED", "VALUES=1", "SEEDS=2"], "leave SEEDS empty")])
def test_bad_sweep(project, args, message):
    r = make(project, "sweep", *args, check=False)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
