"""The measurements of ours, each beside its baseline: the pipeline's stages and `make all`, run in
fresh processes on the bench's own data."""
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from benchmarks.baselines import (
    THROUGHPUT_BATCHES,
    THROUGHPUT_LEARNING_RATE,
    THROUGHPUT_MAX_STEPS,
    THROUGHPUT_SAMPLES,
    baseline_failed,
)
from benchmarks.peers import peer_speeds
from benchmarks.runs import CommandFailed, helper, median, pipeline, run
from tools.project_copy import copy_project

LONG_SPLITS = ("--n-train", 4096, "--n-val", 1024)  # the long preset's own test split: 10,000 sequences


class Generated(NamedTuple):
    """One run of `pipeline generate`."""
    samples_per_s: float
    peak_rss_mb: float
    nbytes: int


def time_to_target(data, work: Path, runs: int) -> dict:
    walls, fits, rows = [], [], []
    for i in range(runs):
        out = work / f"time_to_target-{i}" / "model.keras"
        out.parent.mkdir(parents=True)
        wall, _, _ = pipeline("train", "--data", data, "--out", out)
        record = json.loads(out.with_name("train.json").read_text())
        walls.append(wall)
        fits.append(record["seconds_to_0.999"] or float("inf"))
        rows.append({k: record[k] for k in ("seconds_to_0.999", "seconds_to_target", "epochs_run",
                                            "fit_seconds", "wall_seconds")})
    return {"stage_wall_s": median(walls), "fit_to_0.999_s": median(fits), "runs": rows, "model": str(out)}


def train_speed(data, out: Path, batch_size: int, steps_per_epoch: int, flags: list) -> float:
    """Training samples/s of `pipeline train` over 3 epochs, not stopping at the target (train.json's
    train_samples_per_s: the first epoch, which traces, is not counted)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pipeline("train", "--data", data, "--out", out, "--batch-size", batch_size, "--epochs", 3,
             "--steps-per-epoch", steps_per_epoch, "--learning-rate", THROUGHPUT_LEARNING_RATE,
             "--no-stop-at-target", *flags)
    return json.loads(out.with_name("train.json").read_text())["train_samples_per_s"]


def throughput_steps(batch_size: int) -> int:
    """Batches per epoch of the throughput runs, ours and the peers'."""
    return max(1, min(THROUGHPUT_SAMPLES // batch_size, THROUGHPUT_MAX_STEPS))


def throughput(data, work: Path, runs: int, flags: list, peers: dict) -> tuple[dict, dict]:
    """Training samples/s from HDF5 (pipeline train in a fresh process) and each peer's ({name: its
    Python}), at each batch size. Each run measures ours and then the peers at one batch size before
    the next (the peers' order alternating), so drifting load affects them alike; each ratio is the
    median of the runs' own ratios (`ratios`), each value the median of the runs (`runs` keeps all)."""
    ours = {f"hdf5_{bs}": [] for bs in THROUGHPUT_BATCHES}
    theirs = {f"{name}_{bs}": [] for name in peers for bs in THROUGHPUT_BATCHES}
    for i in range(runs):
        for bs in THROUGHPUT_BATCHES:
            out = work / f"throughput-{bs}-{i}" / "model.keras"
            ours[f"hdf5_{bs}"].append(train_speed(data, out, bs, throughput_steps(bs), flags))
            for name in (list(peers) if i % 2 == 0 else list(peers)[::-1]):
                theirs[f"{name}_{bs}"].append(peer_speeds(name, peers[name], (bs,))[bs])
    result = {**{k: median(v) for k, v in ours.items()}, "ratios": {}, "runs": ours}
    for name in peers:
        for bs in THROUGHPUT_BATCHES:
            pairs = zip(ours[f"hdf5_{bs}"], theirs[f"{name}_{bs}"])
            result["ratios"][f"{name}_{bs}"] = median([h / t for h, t in pairs])
    return result, {**{k: median(v) for k, v in theirs.items()}, "runs": theirs}


def input_pipeline(data, pairs: int, flags: list, skip_memory: bool) -> dict:
    """Goal 3: HDF5 input against in-memory tensors, both in one process per batch size (train-pair),
    taking turns of a second or two, so both see the same machine load: separate processes, seconds
    apart, differed here by 20-40% from run to run whatever they were fed from."""
    sources = "hdf5" if skip_memory else "hdf5,memory"
    result = {"ratios": {}, "runs": {}}
    for bs in THROUGHPUT_BATCHES:
        try:
            r = helper("train-pair", "--data", data, "--batch-size", bs, "--pairs", pairs, "--sources", sources,
                       *flags)
        except CommandFailed as e:
            raise baseline_failed("memory", e) from None
        result[f"hdf5_{bs}"] = median(r["hdf5"])
        if not skip_memory:
            result[f"memory_{bs}"] = median(r["memory"])
            result["ratios"][f"memory_{bs}"] = median([h / m for h, m in zip(r["hdf5"], r["memory"])])
        result["runs"][bs] = r
    return result


def disk_write(path: Path, nbytes: int, block: int = 4 << 20) -> float:
    """Seconds to write `nbytes` of one-hot-like bytes to a new file and fsync it: the disk's durable
    write rate, which bounds generate, measured beside it (it varies here from hour to hour)."""
    rng = np.random.default_rng(0)
    buf = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, block // 10)].tobytes()
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes // len(buf)):
            f.write(buf)
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - start
    path.unlink()
    os.sync()
    return seconds


def generation(work: Path, runs: int, big: int, skip_disk: bool, n: int = 30_000_000) -> dict:
    def generate(rows):
        out = work / "generate.h5"
        wall, rss, _ = pipeline("generate", "--out", out, "--n-train", rows - 2, "--n-val", 1, "--n-test", 1)
        nbytes = out.stat().st_size
        out.unlink()
        os.sync()  # the next run starts with the disk done freeing this file's blocks
        return Generated(rows / wall, rss, nbytes)

    speeds, disk = [], []
    for _ in range(runs):  # each generate run paired with writing as many bytes, nothing else
        speed, _, nbytes = generate(n)
        speeds.append(speed)
        if not skip_disk:
            try:
                disk.append(n / disk_write(work / "disk.bin", nbytes))
            except OSError as e:
                raise baseline_failed("disk", e) from None
    result = {"samples_per_s_30M": median(speeds), "runs": {"generate": speeds},
              "peak_rss_mb": {rows: generate(rows)[1] for rows in (1_000_000, big)}}
    if not skip_disk:
        result.update({"disk_samples_per_s_30M": median(disk), "disk_ratios": [g / d for g, d in zip(speeds, disk)]})
        result["runs"]["disk"] = disk
    return result


def eval_predict(data, model, work: Path, runs: int) -> dict:
    evaluate, predict = [], []
    for _ in range(runs):
        pipeline("evaluate", "--data", data, "--model", model, "--out", work / "metrics.json")
        evaluate.append(json.loads((work / "metrics.json").read_text())["samples_per_s"])
        pipeline("predict", "--data", data, "--model", model, "--out", work / "predictions.csv")
        predict.append(json.loads((work / "predictions.json").read_text())["samples_per_s"])
    return {"evaluate_samples_per_s": median(evaluate), "predict_samples_per_s": median(predict)}


def long_forward(work: Path, runs: int) -> dict:
    """The long preset at its full length (1,000 steps): evaluate's sequences/s against training's
    (forward and backward, no curriculum, the first epoch not counted), alternating by run."""
    data, model = work / "long.h5", work / "long" / "model.keras"
    model.parent.mkdir()
    pipeline("generate", "--problem", "long", *LONG_SPLITS, "--out", data)
    evaluate, training = [], []
    for _ in range(runs):
        pipeline("train", "--data", data, "--out", model, "--curriculum", 0, "--epochs", 3, "--steps-per-epoch", 4,
                 "--no-stop-at-target")
        training.append(json.loads(model.with_name("train.json").read_text())["train_samples_per_s"])
        pipeline("evaluate", "--data", data, "--model", model, "--out", work / "long-metrics.json")
        evaluate.append(json.loads((work / "long-metrics.json").read_text())["samples_per_s"])
    return {"evaluate_samples_per_s": median(evaluate), "train_samples_per_s": median(training),
            "ratios": [e / t for e, t in zip(evaluate, training)]}


def make_all(work: Path, runs: int) -> dict:
    """`make all` from scratch in a copy of the project (reusing this virtual environment), then no-op."""
    full, noop = [], []
    for i in range(runs):
        dst = copy_project(work / f"make{i}")
        cmd = ["make", "-C", str(dst), f"VENV={sys.prefix}", "all"]
        full.append(run(cmd)[0])
        noop.append(run(cmd)[0])
        shutil.rmtree(dst)
    return {"make_all_s": median(full), "make_all_noop_s": median(noop)}
