"""The Make rules on a tiny configuration, in a temporary copy of the project: each stage is a file
target that reruns only when its inputs, parameters or source change."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

TINY = ["N_TRAIN=4000", "N_VAL=500", "N_TEST=500", "EPOCHS=2"]
STAGES = {"generate": "data/echo.h5", "train": "artifacts/model.keras",
          "evaluate": "artifacts/metrics.json", "predict": "artifacts/predictions.csv"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    dst = tmp_path_factory.mktemp("project")
    for name in ("Makefile", "pyproject.toml", "pipeline"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst / name,
                                                          **({"ignore": shutil.ignore_patterns("__pycache__")}
                                                             if src.is_dir() else {}))
    for d in ("data", "artifacts"):
        (dst / d).mkdir()
    return dst


def make(project, *args, check=True):
    venv = Path(sys.prefix)
    (venv / ".installed").touch(exist_ok=True)  # this interpreter already has the package's dependencies
    r = subprocess.run(["make", f"VENV={venv}", *TINY, *args], cwd=project, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def planned(project, *args):
    """The stages `make -n all` would run now."""
    out = make(project, "-n", "all", *args).stdout
    return {s for s in STAGES if f"-m pipeline {s}" in out}


def test_rerun_rules(project):
    make(project, "all")
    assert all((project / p).exists() for p in STAGES.values())
    assert planned(project) == set()
    assert "-m pipeline" not in make(project, "all").stdout  # a second run starts no stage

    assert planned(project, "BATCH_SIZE=64") == {"train", "evaluate", "predict"}
    assert planned(project, "SEED=1") == set(STAGES)
    assert planned(project) == set(STAGES)  # the stamps now hold SEED=1: back to defaults reruns all
    make(project, "all")

    for module, expected in (("train.py", {"train", "evaluate", "predict"}), ("evaluate.py", {"evaluate"}),
                             ("generate.py", set(STAGES))):
        src = project / "pipeline" / module
        src.write_text(src.read_text() + "\n# edited\n")
        assert planned(project) == expected, module
        make(project, "all")


def test_failed_stage_leaves_nothing_done(project):
    make(project, "all")
    r = make(project, "train", "LR=-1", check=False)
    assert r.returncode != 0 and "--learning-rate" in r.stderr
    assert "train" in planned(project, "LR=-1")  # the old model is still stale for these parameters
    shutil.rmtree(project / "data")
    (project / "data").mkdir()
    r = make(project, "data", "N_TRAIN=0", check=False)
    assert r.returncode != 0 and not (project / "data" / "echo.h5").exists()
    assert not list((project / "data").iterdir())
