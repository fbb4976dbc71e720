"""A stage killed at any moment (SIGKILL) leaves the previous output or none, never a partial file; the
next run cleans up; killed training resumes from its last completed epoch. Real processes, bounded."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline import data, generate
from tests.conftest import ROOT, TINY, run_cli

pytestmark = pytest.mark.slow

SMALL = {**TINY, "n_train": 1000, "n_val": 100, "n_test": 100}
TRAIN = ["--seed", 1, "--steps-per-epoch", 4]  # about 20 short epochs to the target: time to kill it midway


def start(*args, cwd, log):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd, env=env, stdout=f,
                                stderr=subprocess.STDOUT)


def kill_when(proc, ready, log, timeout=120):
    """SIGKILL `proc` as soon as ready() is true; fail if it ends or times out first."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, f"ended before it could be killed:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"not ready after {timeout} s:\n{log.read_text()[-2000:]}"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def temps(target):
    return list(target.parent.glob(f".{target.stem}.*.tmp{target.suffix}"))


def test_killed_generate_leaves_no_partial_file(tmp_path):
    target = tmp_path / "echo.h5"
    big = ["generate", "--out", target, "--n-train", 20_000_000, "--n-val", 10, "--n-test", 10]

    def mid_write():  # a few units (4 MiB each) written of 1.2 GB
        return any(t.stat().st_size > 8 << 20 for t in temps(target))

    kill_when(start(*big, cwd=tmp_path, log=tmp_path / "1.log"), mid_write, tmp_path / "1.log")
    assert not target.exists() and len(temps(target)) == 1

    generate.generate(target, SMALL)  # the next run removes the partial file...
    assert temps(target) == []
    before = target.read_bytes()  # ...and its output is the previous one for a run killed while replacing it
    kill_when(start(*big, "--seed", 1, cwd=tmp_path, log=tmp_path / "2.log"), mid_write, tmp_path / "2.log")
    assert target.read_bytes() == before and data.describe(target).rows["train"] == 1000
    assert len(temps(target)) == 1

    r = run_cli("generate", "--out", target, "--n-train", 500, "--n-val", 10, "--n-test", 10, "--seed", 2)
    assert r.returncode == 0, r.stderr
    assert temps(target) == [] and data.describe(target).rows["train"] == 500


def _history(out):
    return list(csv.DictReader(open(out.with_name("history.csv"))))


def _epochs_done(backup, n, epochs):
    """Ready once the run with --epochs `epochs` has written history rows for n epochs."""
    def ready():
        try:
            run = json.loads((backup / "run.json").read_text())
            return run["settings"]["epochs"] == epochs and len(json.loads((backup / "history.json").read_text())) >= n
        except (OSError, ValueError, KeyError):
            return False
    return ready


def test_killed_training_resumes_unless_parameters_changed(tiny_data, tmp_path):
    out = tmp_path / "model.keras"
    out.write_bytes(b"the previous model\n")
    backup = tmp_path / ".model.backup"
    args = ["train", "--data", tiny_data, "--out", out, *TRAIN]
    # history.json gets epoch 2's row after epoch 1's checkpoint is complete
    kill_when(start(*args, cwd=tmp_path, log=tmp_path / "1.log"), _epochs_done(backup, 2, 100), tmp_path / "1.log")
    assert out.read_bytes() == b"the previous model\n"
    assert not out.with_name("train.json").exists() and not out.with_name("history.csv").exists()
    first_rows = json.loads((backup / "history.json").read_text())

    # other parameters: a fresh start from the same initial weights, not a resume; killed too
    args += ["--epochs", 99]
    kill_when(start(*args, cwd=tmp_path, log=tmp_path / "2.log"), _epochs_done(backup, 2, 99), tmp_path / "2.log")
    assert "Epoch 1/99" in (tmp_path / "2.log").read_text()
    assert abs(json.loads((backup / "history.json").read_text())[0]["loss"] - first_rows[0]["loss"]) < 1e-3

    r = run_cli(*args, cwd=tmp_path)  # the same parameters again: resumes
    assert r.returncode == 0, r.stderr
    record = json.loads(out.with_name("train.json").read_text())
    history = _history(out)
    resumed = record["resumed_after_epoch"]
    assert resumed and resumed >= 1 and f"Epoch {resumed + 1}/99" in r.stdout and "Epoch 1/" not in r.stdout
    assert f"resuming from epoch {resumed + 1} (epochs 1-{resumed} restored from {backup})" in r.stderr
    assert "resuming" not in (tmp_path / "2.log").read_text()  # the run with other parameters started afresh
    assert [int(h["epoch"]) for h in history] == list(range(1, record["epochs_run"] + 1))
    # the weights were restored too: the first resumed epoch does better than epoch 1 from scratch
    assert float(history[resumed]["loss"]) < float(history[0]["loss"]) - 0.05
    assert record["target_reached"] and float(history[-1]["val_accuracy"]) == 1.0
    seconds = [float(h["seconds"]) for h in history]
    assert seconds == sorted(seconds)
    assert not backup.exists() and temps(out) == []
