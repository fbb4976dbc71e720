"""`make ensemble` on a tiny configuration in a temporary copy of the project: its members are the runs of
`make sweep PARAM=SEED` (one dataset, a training seed each), so neither trains what the other has; the
ensemble is evaluated on the same test split and reported beside its members."""
import json

import pytest

from tests.make.conftest import make

pytestmark = pytest.mark.slow


def test_a_seed_sweep_then_an_ensemble_trains_nothing_twice(project):
    r = make(project, "sweep", "PARAM=SEED", "VALUES=0 1")
    assert r.stdout.count("-m pipeline generate") == 1 and r.stdout.count("-m pipeline train") == 2
    runs = project / "artifacts" / "sweeps" / "SEED"
    assert not list(runs.glob("*/echo.h5"))  # the seeds share the one dataset

    r = make(project, "ensemble", "SEEDS=0 1 2")
    assert r.stdout.count("-m pipeline train") == 1 and "--seed 2" in r.stdout  # only the seed the sweep lacks
    metrics = json.loads((project / "artifacts" / "ensemble" / "metrics.json").read_text())
    members = [json.loads((runs / str(s) / "metrics.json").read_text()) for s in (0, 1, 2)]
    assert metrics["model"]["train_settings"]["seeds"] == [0, 1, 2]
    assert {m["dataset"]["content_hash"] for m in members} == {metrics["dataset"]["content_hash"]}
    assert [m["model"]["train_settings"]["seed"] for m in members] == [0, 1, 2]
    accuracies = sorted(m["accuracy"] for m in members)
    assert f"ensemble of 3: test accuracy {metrics['accuracy']:.4f}" in r.stdout
    assert (f"single models (3): test accuracy median {accuracies[1]:.4f} (range {accuracies[0]:.4f} – "
            f"{accuracies[2]:.4f})") in r.stdout
    assert "**ensemble of 3**" in (project / "artifacts" / "ensemble" / "summary.md").read_text()

    again = make(project, "ensemble", "SEEDS=0 1 2").stdout
    assert "-m pipeline train" not in again and "-m pipeline ensemble --model" not in again
    assert "ensemble-summary" in again
    fewer = make(project, "ensemble", "SEEDS=0 2").stdout  # other members: a new ensemble, nothing trained
    assert "-m pipeline train" not in fewer and "-m pipeline ensemble --model" in fewer
    assert "ensemble of 2: test accuracy" in fewer


def test_an_ensemble_of_one_seed_is_refused(project):
    r = make(project, "ensemble", "SEEDS=3", check=False)
    assert r.returncode != 0 and "SEEDS needs two seeds or more" in r.stderr and "pipeline train" not in r.stdout
