"""Tests that run `make`: a temporary copy of the project (`project`, one per test module) and make()."""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.project_copy import copy_project  # the copy `make bench` times `make all` in

TINY_VARS = ["N_TRAIN=4000", "N_VAL=500", "N_TEST=500", "EPOCHS=2"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    return copy_project(tmp_path_factory.mktemp("project") / "p")


def make(project, *args, check=True):
    venv = Path(sys.prefix)
    (venv / ".installed").touch(exist_ok=True)  # this interpreter already has the package's dependencies
    if importlib.util.find_spec("aeon"):  # and the ts extra: never installed again, from the copy, over it
        (venv / ".installed-ts").touch(exist_ok=True)
    r = subprocess.run(["make", f"VENV={venv}", *TINY_VARS, *args], cwd=project, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r
