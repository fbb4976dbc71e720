"""`make resamples` on a tiny configuration in a temporary copy of the project: each resample is imported,
trained with the settings `make all` uses and evaluated in its own folder; resample 0 is the standard
split; the summary gives the spread over the resamples; the same command again trains nothing."""
import json

import h5py
import numpy as np
import pytest

from tests.make.conftest import make

pytestmark = pytest.mark.slow


def test_resamples_import_train_and_evaluate_each_resampled_split(project):
    r = make(project, "resamples", "N=2")
    assert r.stdout.count("-m pipeline import") == 2 and r.stdout.count("-m pipeline train") == 2
    folder = project / "artifacts" / "resamples"
    record = json.loads((folder / "resamples.json").read_text())
    with h5py.File(project / "data" / "echo.h5") as f:
        standard = f.attrs["content_hash"]
    runs = [json.loads((folder / str(i) / "metrics.json").read_text()) for i in range(2)]
    hashes = [m["dataset"]["content_hash"] for m in runs]
    assert hashes[0] == standard and len(set(hashes)) == 2  # resample 0 is the standard split
    accuracies = [m["accuracy"] for m in runs]
    assert record["scores"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert record["scores"]["accuracy"]["standard"] == accuracies[0]
    assert "over 2 resampled splits" in (folder / "resamples.md").read_text()

    make(project, "train")  # what `make all` trains on the standard split: the same settings
    settings = json.loads((project / "artifacts" / "train.json").read_text())["settings"]
    for i in range(2):
        resampled = json.loads((folder / str(i) / "train.json").read_text())["settings"]
        assert {k: v for k, v in resampled.items() if k != "chosen_by"} == \
            {k: v for k, v in settings.items() if k != "chosen_by"}

    again = make(project, "resamples", "N=2").stdout
    assert "-m pipeline train" not in again and "-m pipeline import" not in again and "resamples-summary" in again


def test_resamples_need_two_or_more(project):
    r = make(project, "resamples", "N=1", check=False)
    assert r.returncode != 0 and "N='1' must be a whole number, 2 or more" in r.stderr
