"""`make sweep` on a tiny configuration, in a temporary copy of the project: one run per value in its
own folder, data made once for a training parameter and per value for a problem parameter, reruns
only when stale, and a summary (CSV, Markdown, PNG) that `inspect` prints without TensorFlow."""
import csv

import h5py
import pytest

from tests.conftest import png_size
from tests.test_inspect import _report_without_tf
from tests.test_make import make, project  # noqa: F401  (the fixture: a temporary copy of the project)


def summary(folder) -> list:
    with open(folder / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_training_sweep(project):  # noqa: F811
    r = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64")
    sweep = project / "artifacts" / "sweeps" / "BATCH_SIZE"
    for value in ("256", "64"):
        run = sweep / value
        assert all((run / f).is_file() for f in ("model.keras", "train.json", "metrics.json")), value
        assert png_size(run / "plots" / "history.png")[0] > 0
        assert not (run / "echo.h5").exists()  # a training parameter shares the one dataset
    assert r.stdout.count("-m pipeline generate") == 1 and r.stdout.count("-m pipeline train") == 2
    rows = summary(sweep)
    assert [row["value"] for row in rows] == ["256", "64"]  # in the order given
    assert all(0 <= float(row["test_accuracy"]) <= 1 and int(row["epochs"]) >= 1 for row in rows)
    assert list(rows[0]) == ["value", "test_accuracy", "epochs", "seconds_to_target", "samples_per_s", "final_val_loss"]
    assert "| BATCH_SIZE | test accuracy |" in (sweep / "summary.md").read_text()
    assert png_size(sweep / "summary.png") == (1000, 400)

    again = make(project, "sweep", "PARAM=BATCH_SIZE", "VALUES=256 64").stdout
    assert "-m pipeline train" not in again and "-m pipeline generate" not in again and "sweep-summary" in again

    table = _report_without_tf(sweep)
    assert "| 64 |" in table and "| 256 |" in table and "seconds to target" in table


def test_problem_sweep(project):  # noqa: F811
    make(project, "data")
    make(project, "sweep", "PARAM=LENGTH", "VALUES=4")
    sweep = project / "artifacts" / "sweeps" / "LENGTH"
    with h5py.File(sweep / "4" / "echo.h5") as f:  # a problem parameter: the run's own data
        assert f.attrs["length"] == 4
    with h5py.File(project / "data" / "echo.h5") as f:  # the shared data is left as it was
        assert f.attrs["length"] == 5
    assert [row["value"] for row in summary(sweep)] == ["4"]


@pytest.mark.parametrize("args, message", [(["PARAM=NOPE", "VALUES=1"], "must be one of"),
                                           (["PARAM=UNITS"], "VALUES is empty")])
def test_bad_sweep(project, args, message):  # noqa: F811
    r = make(project, "sweep", *args, check=False)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
