"""Shared fixtures: a tiny dataset and a model trained on it, made once per test session."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import generate

ROOT = Path(__file__).resolve().parents[1]
TINY = {"length": 5, "n_features": 10, "out_index": 2, "seed": 7, "n_train": 20_000, "n_val": 2_000,
        "n_test": 3_000, "problem": "reference"}


def run_cli(*args, cwd=None, timeout=300, **kw):
    """Run `python -m pipeline ARGS` in a fresh process; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    generate.generate(path, TINY)
    return path


@pytest.fixture(scope="session")
def trained(tiny_data, tmp_path_factory) -> dict:
    """A model trained on the tiny dataset to the default target; returns train.json plus paths."""
    from pipeline import train

    out = tmp_path_factory.mktemp("model") / "model.keras"
    record = train.train(tiny_data, out, train.Options(seed=1), verbose=0)
    return {**record, "model_path": out, "data_path": tiny_data}


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its IHDR chunk; fails unless it is a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
