"""Shared fixtures (a tiny dataset and models trained on it, made once per test session) and helpers.

Tests that start a subprocess (the CLI, `make`, a cluster) are marked `slow` explicitly: the modules in
tests/cli/, tests/make/ and tests/benchmarks/ as a whole (`pytestmark`), any other such test with
`@pytest.mark.slow`. `make mutation` leaves them out: its mutants live in the test process
(docs/testing.md). A test that holds more memory than tests/memory_limit.py allows fails."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if ROOT.name == "mutants":  # make mutation: mutmut forks each mutant's run from the process that collected
    import pipeline.backend  # noqa: F401  # the tests, so TensorFlow is imported once, not once per mutant
TINY = {"length": 5, "n_features": 10, "out_index": 2, "seed": 7, "n_train": 20_000, "n_val": 2_000,
        "n_test": 3_000, "problem": "reference"}


def pytest_configure(config):
    from tests import memory_limit  # a test that holds too much memory fails, the session goes on

    memory_limit.install()
    config.pluginmanager.register(memory_limit, "memory_limit")


def run_cli(*args, cwd=None, timeout=300, **kw):
    """Run `python -m pipeline ARGS` in a fresh process; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def invoke(*args):
    """Run `echo-pipeline ARGS` in this process: pipeline.cli.main, the installed command's entry point (which
    makes an error one "echo-pipeline: error: ..." line), under click's CliRunner isolation of stdin, stdout and
    stderr. Returns what run_cli does, a CompletedProcess with the exit code and what was written: for tests
    of the command line that need no separate process (no check that TensorFlow stays unloaded, no process
    killed); they run faster and `make mutation` sees them."""
    from click.testing import CliRunner

    from pipeline.cli import main

    code = None
    with CliRunner().isolation() as streams:
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
    return subprocess.CompletedProcess(args, code, streams[0].getvalue().decode(), streams[1].getvalue().decode())


NO_TF = ("import sys; from pipeline import inspection; print(inspection.report(sys.argv[1])); "
         "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")


def report_without_tf(path) -> str:
    """`inspect`'s report of `path`, made in a fresh process that must not import TensorFlow."""
    r = subprocess.run([sys.executable, "-c", NO_TF, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


CLI_NO_TF = ("import sys; from pipeline.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
             "    assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n    raise")


def cli_without_tf(*args):
    """Run the command line with ARGS in a fresh process that must not import TensorFlow; returns what
    run_cli does."""
    r = subprocess.run([sys.executable, "-c", CLI_NO_TF, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    assert "TensorFlow was imported" not in r.stderr, r.stderr
    return r


def run_folder(record: dict, folder: Path, predictions: bool = False) -> Path:
    """A run folder like artifacts/ made from a trained fixture (`trained`, `weak`): its model, train.json,
    history and plots copied into `folder`, evaluated there (metrics.json, confusion.png) and, with
    predictions=True, predicted (predictions.csv)."""
    import shutil

    from pipeline import evaluate, predict

    shutil.copytree(Path(record["model_path"]).parent, folder)
    evaluate.evaluate(record["data_path"], folder / "model.keras", folder / "metrics.json")
    if predictions:
        predict.predict(record["data_path"], folder / "model.keras", folder / "predictions.csv", show=0)
    return folder


def markdown_tables(text: str) -> list:
    """Every Markdown table in `text` as lists of cells per row (header first, the separator row left out),
    after checking it is one GitHub renders: a header, a separator row of --- cells, as many cells in each row."""
    import re

    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
        elif block:
            cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in block]
            assert len(block) >= 2 and all(re.fullmatch(r":?-{3,}:?", c) for c in cells[1]), block[:2]
            assert all(row.endswith("|") for row in block), block
            assert {len(row) for row in cells} == {len(cells[0])}, block
            tables.append([cells[0], *cells[2:]])
            block = []
    return tables


def sweep_summary(folder) -> list:
    """The rows of a sweep's summary.csv."""
    import csv

    with open(folder / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def _session_fixture(name, tmp_path_factory, *args):
    """Build fixture `name` in a fresh temporary folder, or under `make mutation` copy the one built once
    for the whole run when the mutant under test cannot change it (tests/fixture_cache.py)."""
    from tests import fixture_cache

    found = fixture_cache.cached(name, tmp_path_factory)
    if found is not None:
        value, folder = found
        return folder / value if isinstance(value, str) else value, folder
    folder = tmp_path_factory.mktemp(name)
    return fixture_cache.BUILDERS[name](folder, *args), folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return _session_fixture("tiny_data", tmp_path_factory)[0]


@pytest.fixture(scope="session")
def trained(tiny_data, tmp_path_factory) -> dict:
    """A model trained on the tiny dataset to the default target; returns train.json plus paths."""
    record, folder = _session_fixture("trained", tmp_path_factory, tiny_data)
    return {**record, "model_path": folder / "model.keras", "data_path": tiny_data}


def deny_access(monkeypatch, path, mode):
    """Make os.access refuse `mode` (os.R_OK, os.W_OK) on `path`: as root, permissions alone would not."""
    monkeypatch.setattr(os, "access", lambda p, m: not (str(p) == str(path) and m & mode))


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its IHDR chunk; fails unless it is a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture(scope="session")
def weak(tiny_data, tmp_path_factory) -> dict:
    """A model trained for two batches only: its predictions are far from perfect (about chance), so
    a wrong row, column or batch of evaluate or predict shows in their output."""
    record, folder = _session_fixture("weak", tmp_path_factory, tiny_data)
    return {**record, "model_path": folder / "model.keras", "data_path": tiny_data}


@pytest.fixture(scope="session")
def long_test_data(tmp_path_factory) -> Path:
    """The tiny problem with a test split longer than one evaluation batch and one prediction batch."""
    return _session_fixture("long_test_data", tmp_path_factory)[0]


RAGGED = ["spam,3,1,4,1,5", "ham,9,2", "spam,6,5,3", "eggs,5,8,9,7", "ham,9,3,2,3,8,4,6", "eggs,2,6"]


@pytest.fixture(scope="session")
def ragged(tmp_path_factory) -> Path:
    """A folder with own.h5, imported from token lines of different lengths with string labels (RAGGED;
    the longest has 7 tokens), and model.keras, a model of it after one step."""
    from pipeline import importer, train
    from tests.test_importer import OPTIONS, write_lines

    folder = tmp_path_factory.mktemp("ragged")
    chosen = {**OPTIONS, "train_file": write_lines(folder / "train.csv", RAGGED * 4),
              "test_file": write_lines(folder / "test.csv", RAGGED), "n_val": 4}
    importer.import_files(folder / "own.h5", chosen)
    options = train.Options(epochs=1, steps_per_epoch=1, units=4, dropout=0.5)  # dropout: only while training
    train.train(folder / "own.h5", folder / "model.keras", options, verbose=0)
    return folder


@pytest.fixture
def forward_xla(monkeypatch):
    """forward_xla(True) makes evaluate and predict compile any pass with XLA, forward_xla(False) none.
    TensorFlow's op determinism, which an in-process `train --deterministic` leaves on for the process,
    makes Keras 3 refuse XLA, so it is off for the test (TensorFlow has no public way to turn it off)."""
    from tensorflow.python.framework import config as tf_config

    from pipeline import config

    was = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield lambda on: monkeypatch.setattr(config, "FORWARD_XLA_STEPS", 0 if on else 1 << 62)
    if was:
        tf_config.enable_op_determinism()
