"""The table: each goal's row (ours, its baseline, the ratio), as Markdown under a line naming the
machine, the libraries and the commit measured."""
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from benchmarks.baselines import BASELINES, NO_BASELINE, PEER_GOAL_FROM, PEERS, THROUGHPUT_BATCHES
from benchmarks.runs import ROOT, median


def goals(m: dict) -> list:
    """The table's rows. A missing baseline figure needs a reason: its baseline was skipped
    (m["skipped"][name]) or the goal has none; anything else is an error, never a blank."""
    skipped = m.get("skipped", {})
    reference, peers, speeds = m.get("reference", {}), m.get("peers", {}), m["throughput"]
    rows = [  # figure, ours, baseline figure, baseline name (None: an absolute goal), goal
        ("1a. fit time to >= 0.999 val accuracy (s)", m["time_to_target"]["fit_to_0.999_s"],
         reference.get("fits_10000_s"), "reference", "<= 1.5 s, >= 400x"),
        ("1b. train stage, process start to model written (s)", m["time_to_target"]["stage_wall_s"],
         reference.get("script_s"), "reference", ">= 60x"),
    ]
    paired = {}  # figure -> median of the per-run ratios
    for bs in THROUGHPUT_BATCHES:
        for peer, against in (("torch", "PyTorch"), ("jax", "Keras 3/JAX")):
            name = f"2. training samples/s from HDF5, batch {bs} (vs {against})"
            goal = PEERS[peer].goal if bs >= PEER_GOAL_FROM else f"shown (goal from batch {PEER_GOAL_FROM})"
            rows.append((name, speeds[f"hdf5_{bs}"], peers.get(f"{peer}_{bs}"), peer, goal))
            paired[name] = speeds.get("ratios", {}).get(f"{peer}_{bs}")
    inputs = m["input"]
    for bs in THROUGHPUT_BATCHES:
        name = f"3. HDF5 input vs in-memory tensors, batch {bs} (samples/s, turns in one process)"
        rows.append((name, inputs[f"hdf5_{bs}"], inputs.get(f"memory_{bs}"), "memory", ">= 0.97x"))
        paired[name] = inputs.get("ratios", {}).get(f"memory_{bs}")
    gen = m["generation"]
    rows.append(("4a. generate samples/s, 30M samples, whole process", gen["samples_per_s_30M"],
                 m.get("reference_generator", {}).get("samples_per_s"), "reference", ">= 10M/s"))
    name = "4a. generate vs writing its bytes with nothing else (the disk's durable rate), samples/s"
    rows.append((name, gen["samples_per_s_30M"], gen.get("disk_samples_per_s_30M"), "disk", "ceiling"))
    paired[name] = median(gen.get("disk_ratios", []))
    for n, rss in gen["peak_rss_mb"].items():
        rows.append((f"4b. generate peak RSS (MB), {int(n):,} samples", rss, None, None, "<= 300 MB, flat"))
    rows.append(("5a. evaluate samples/s (vs reference per-sample predict)", m["eval"]["evaluate_samples_per_s"],
                 reference.get("predict_samples_per_s"), "reference", ">= 1M/s"))
    rows.append(("5b. predict samples/s, CSV written (vs reference per-sample predict)",
                 m["eval"]["predict_samples_per_s"], reference.get("predict_samples_per_s"), "reference", ">= 1M/s"))
    long = m.get("long", {})
    name = "5c. long preset, 1,000 steps: evaluate vs training, sequences/s"
    rows.append((name, long.get("evaluate_samples_per_s"), long.get("train_samples_per_s"), "long", ">= 3x"))
    paired[name] = median(long.get("ratios", []))
    rows.append(("6a. make all from scratch, after install (s)", m["make"]["make_all_s"], None, None, "<= 30 s"))
    rows.append(("6b. make all with nothing to do (s)", m["make"]["make_all_noop_s"], None, None, "<= 1 s"))
    lstm = m.get("lstm", {})  # the real-data rows (lstm_rows.py)
    for key, figure, goal in (() if not lstm else (
            ("step_equal", "7a. training step, batch 32 x 251 steps, 1 feature, LSTM(128) (ms)", ">= 1.0x (goal 1.5x)"),
            ("step_varied", "7b. training step, batch 32, lengths 29-361, LSTM(128) (ms)", ">= 1.0x (goal 1.5x)"),
            ("vowels", "7c. JapaneseVowels preset, 80 epochs, fit (s)", ">= 1.0x"))):
        for how, wanted in (("padded", goal), ("packed", "shown")):
            name = f"{figure}, vs PyTorch {how}"
            rows.append((name, lstm[key].get("ours"), lstm[key].get(how), "torch", wanted))
            paired[name] = lstm[key].get(f"ratio_{how}")
    out = []
    for name, ours, base, baseline, goal in rows:
        lower_is_better = "(s)" in name or "(ms)" in name or "RSS" in name
        missing = None
        if base is None:
            if baseline is None:
                missing = NO_BASELINE
            elif baseline in skipped:
                missing = skipped[baseline]
            else:
                raise ValueError(f"{name}: the {BASELINES[baseline]} has no figure and was not skipped")
        ratio = None
        if ours and base:
            ratio = paired.get(name)
            if ratio is None:
                ratio = base / ours if lower_is_better else ours / base
        out.append({"figure": name, "ours": ours, "baseline": base, "ratio": ratio, "goal": goal,
                    **({"baseline_missing": missing} if missing else {})})
    return out


def format_value(value):
    if value is None:
        return "not measured"
    if isinstance(value, str):
        return value
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Benchmark, {result['date']}, commit {result.get('commit') or 'not recorded'}: {m['cores']} cores, "
             f"{m.get('cpu', 'CPU not recorded')}, Python {m['python']}, TensorFlow "
             f"{m['tensorflow']}, tf-keras {m['tf_keras']}, torch {m.get('torch', 'not recorded')}, "
             f"Keras 3/JAX peer: {m.get('jax', 'not recorded')}, "
             f"h5py {m['h5py']}, numpy {m['numpy']}. Medians of {result['runs']} runs; ratios are ours vs the "
             f"baseline measured in the same run (higher is better); for 2, 3 and 4a against the disk, the "
             f"median of each run's (for 3, each pair of turns') own ratio. Throughput flags: "
             f"`{' '.join(result['flags'])}`.",
             "", "| figure | ours | baseline | ratio | goal |", "|---|---|---|---|---|"]
    for g in result["goals"]:
        baseline = g.get("baseline_missing") or format_value(g["baseline"])
        if g["ratio"] is not None:
            ratio = f"{g['ratio']:.2f}x"
        else:
            ratio = "n/a: no baseline" if g.get("baseline_missing") else "n/a: no figure of ours"
        lines.append(f"| {g['figure']} | {format_value(g['ours'])} | {baseline} | {ratio} | {g['goal']} |")
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    """The processor's model name (Linux), or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU not recorded"


def commit() -> str | None:
    """The project's commit (with "+changes" when the working tree differs from it), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


def machine(versions: dict) -> dict:
    """This machine and the libraries measured; versions: the peers' ({"torch": ..., "jax": ...})."""
    import h5py

    from pipeline.backend import keras, tf

    return {"cores": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "tf_keras": keras.__version__, **versions, "h5py": h5py.__version__, "numpy": np.__version__,
            "platform": platform.platform()}
