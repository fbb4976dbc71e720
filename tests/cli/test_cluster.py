"""Multi-worker training: train-cluster runs 2 workers on loopback (tf.distribute), on the tiny data.

One cluster is killed after its first epoch (a worker dies: the launcher must stop the other and
fail with one clear line), then rerun with the same options: it resumes from the backup, trains to
the target, and reports which rows each worker read. Bounded in time: the launcher's --timeout, and
the test kills the launcher (whose workers die with it) if even that is exceeded.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline import data
from tests.conftest import ROOT, TINY, run_cli

pytestmark = pytest.mark.slow

TIMEOUT_S = 150  # for the launcher; the test waits a little longer before killing it


def _launch(out, log_dir, name):
    """Start `train-cluster` with the options of the single-worker `trained` fixture (seed 1)."""
    args = [sys.executable, "-m", "pipeline", "train-cluster", "--workers", 2, "--timeout", TIMEOUT_S,
            "--data", out["data"], "--out", out["model"], "--seed", 1]
    logs = [open(log_dir / f"{name}.{s}", "w+") for s in ("out", "err")]
    proc = subprocess.Popen(list(map(str, args)), stdout=logs[0], stderr=logs[1], text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc, logs


def _finish(proc, logs, timeout=TIMEOUT_S + 30):
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("train-cluster ran past its own --timeout")
    for f in logs:
        f.seek(0)
    return proc.returncode, logs[0].read(), logs[1].read()


def _worker_pids(err_log, deadline):
    while time.monotonic() < deadline:
        err_log.seek(0)
        pids = [int(line.split()[3].rstrip(",")) for line in err_log if line.startswith("worker ")]
        if len(pids) == 2:
            return pids
        time.sleep(0.1)
    pytest.fail("the launcher did not report its workers")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory):
    """A cluster killed after epoch 1, then the same cluster rerun to the end."""
    folder = tmp_path_factory.mktemp("cluster")
    out = {"data": tiny_data, "model": folder / "model.keras"}
    checkpoint = folder / ".model.backup" / "checkpoint" / "chief" / "checkpoint"

    proc, logs = _launch(out, folder, "killed")
    deadline = time.monotonic() + TIMEOUT_S
    pids = _worker_pids(logs[1], deadline)
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the cluster ended before the test could kill a worker"
    os.kill(pids[1], signal.SIGKILL)
    t_kill = time.monotonic()
    killed = _finish(proc, logs)
    stopped_in = time.monotonic() - t_kill
    files_after_kill = sorted(p.name for p in folder.iterdir() if not p.name.startswith("killed."))

    proc, logs = _launch(out, folder, "resumed")
    resumed = _finish(proc, logs)
    return {"folder": folder, "killed": killed, "pids": pids, "stopped_in": stopped_in,
            "files_after_kill": files_after_kill, "resumed": resumed}


def test_a_dead_worker_stops_the_cluster(runs):
    code, _, err = runs["killed"]
    lines = [line for line in err.splitlines() if line.startswith("echo-pipeline: error:")]
    assert code == 1 and len(lines) == 1, err[-2000:]
    assert "worker 1 was killed by SIGKILL; stopped all workers" in lines[0]
    assert runs["stopped_in"] < 20
    assert not any(_alive(pid) for pid in runs["pids"])
    assert "model.keras" not in runs["files_after_kill"] and ".model.backup" in runs["files_after_kill"]


def test_rerun_resumes_and_trains_like_one_worker(runs, trained):
    code, out, err = runs["resumed"]
    assert code == 0, err[-3000:]
    assert "Epoch 1/" not in out and "Epoch 2/" in out  # restored after epoch 1
    record = json.loads((runs["folder"] / "train.json").read_text())
    assert record["resumed_after_epoch"] == 1 and record["settings"]["workers"] == 2
    assert record["target_reached"] and trained["target_reached"]
    assert record["epochs_run"] <= 3 * trained["epochs_run"]
    # only the chief wrote, and nothing is left behind: no backup, no worker temp folders
    left = {p.name for p in runs["folder"].iterdir() if not p.name.startswith(("killed.", "resumed."))}
    assert {"cluster.json", "history.csv", "model.keras", "train.json"} <= left
    assert not [name for name in left if name.startswith(".")]  # no backup, no temporary files
    assert not list(runs["folder"].rglob("workertemp*"))


def test_workers_end_identical_and_agree_on_validation(runs, tiny_data):
    from pipeline.model import load_model

    cluster = json.loads((runs["folder"] / "cluster.json").read_text())
    chief, other = cluster["reports"]
    net, _ = load_model(runs["folder"] / "model.keras")
    saved = hashlib.sha256(b"".join(w.tobytes() for w in net.get_weights())).hexdigest()
    assert cluster["identical_weights"] and chief["weights_sha256"] == other["weights_sha256"] == saved
    metrics = [{k: v for k, v in r["final"].items() if k != "seconds"} for r in (chief, other)]
    assert metrics[0] == metrics[1]  # all-reduced: the same metrics, and the same last epoch
    X, y = (a.astype(np.float32) for a in data.read_padded(tiny_data, "val"))
    p = np.clip(net.predict(X, batch_size=1000, verbose=0), 1e-7, 1)
    val_loss = float(-(y * np.log(p)).sum(axis=1).mean())
    assert abs(chief["final"]["val_loss"] - val_loss) < 1e-4  # metrics over the whole val split
    assert chief["final"]["val_accuracy"] == (p.argmax(1) == y.argmax(1)).mean()


def test_each_worker_read_only_its_share(runs):
    reports = json.loads((runs["folder"] / "cluster.json").read_text())["reports"]
    shares = [[tuple(b) for b in r["blocks_read"]["train"]] for r in reports]
    assert not set(shares[0]) & set(shares[1])
    tiles = sorted(shares[0] + shares[1])
    assert tiles[0][0] == 0 and tiles[-1][1] == TINY["n_train"]
    assert all(a[1] == b[0] for a, b in zip(tiles, tiles[1:]))  # together: the split, once
    rows = [sum(b - a for a, b in share) for share in shares]
    assert all(0.4 < r / TINY["n_train"] < 0.6 for r in rows), rows
    assert all(r["blocks_read"]["val"] == [[0, TINY["n_val"]]] for r in reports)  # all of val, each


def test_bad_cluster_options_fail_before_starting(tiny_data, tmp_path):
    r = run_cli("train-cluster", "--workers", 3, "--batch-size", 256, "--data", tiny_data,
                "--out", tmp_path / "m.keras")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "divide evenly among 3 workers" in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    r = subprocess.run([sys.executable, "-m", "pipeline", "train", "--data", str(tiny_data), "--out",
                        str(tmp_path / "m.keras"), "--strategy", "multi-worker"], capture_output=True, text=True,
                       env={**env, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "needs TF_CONFIG" in r.stderr
    assert not list(tmp_path.iterdir())


def test_make_target_forwards_workers_and_train_options(tmp_path):
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "pipeline", "tools"):
        src = ROOT / name
        (shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")) if src.is_dir()
         else shutil.copy2(src, tmp_path / name))
    (Path(sys.prefix) / ".installed").touch(exist_ok=True)  # this interpreter has the dependencies
    r = subprocess.run(["make", "-n", f"VENV={sys.prefix}", "train-cluster", "WORKERS=3", "BATCH_SIZE=300"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if "-m pipeline train-cluster" in line)
    assert "train-cluster --workers 3 --data data/echo.h5 --out artifacts/model.keras" in line
    assert "--batch-size 300" in line
