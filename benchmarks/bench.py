"""make bench: the speed goals, each measured against its baseline in the same run.

Writes artifacts/bench.json, artifacts/bench.md and the same table into docs/performance.md (between
its markers). Every figure is the median of --runs runs of a fresh process; ratios compare figures
measured side by side, so machine-wide slowdowns cancel.

Baselines: the reference recipe (one model.fit per freshly generated sample, and its per-sample
generator and model.predict), the training peers (benchmarks/torch_peer.py: PyTorch;
benchmarks/jax_peer.py: Keras 3 on JAX; each run from its own virtual environment), the same
training fed from in-memory tensors (benchmarks/memory_feed.py, in turns with
the HDF5 reader in one process: train_pair), and the disk's durable write rate (the same bytes as
generate writes, written and fsynced with nothing else: the ceiling for generate on this disk).

A baseline that cannot run stops the bench with a one-line reason; --skip NAME (--no-torch for the
PyTorch peer) leaves it out on purpose, and the table says so in that row.

    python -m benchmarks.bench --out artifacts/bench.json --torch-python .venv-torch/bin/python \
        --jax-python .venv-jax/bin/python
"""
import dataclasses
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import numpy as np

from tools.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[1]
DOC = "docs/performance.md"  # relative to ROOT
DOC_BEGIN, DOC_END = "<!-- bench:begin -->", "<!-- bench:end -->"
REFERENCE_FITS = 10_000
THROUGHPUT_BATCHES = (1, 8, 32, 128, 512)
THROUGHPUT_SAMPLES = 131_072  # per epoch, at most; the first epoch (tracing) is not counted
THROUGHPUT_MAX_STEPS = 4096  # batches per epoch, at most: small batches take fewer samples
THROUGHPUT_LEARNING_RATE = 1e-3  # ours and the peers'
PEER_GOAL_FROM = 8  # the peers' goals hold from this batch size; batch 1 is shown
MAX_CALLS_PER_TURN = 48  # of train_pair: about 1.5 s at batch 32


@dataclasses.dataclass(frozen=True)
class Peer:
    """A training peer: the same model in another framework, run from its own virtual environment."""
    title: str  # as the table names it
    script: str  # relative to ROOT
    requirement: str  # what make bench installs
    version: str  # Python code that prints the framework's version
    goal: str  # ours against it, from PEER_GOAL_FROM up

    def leave_out(self, name: str) -> str:
        return "--no-torch leaves the peer out" if name == "torch" else f"--skip {name} leaves the peer out"


PEERS = {
    "torch": Peer("PyTorch peer", "benchmarks/torch_peer.py", "torch==2.13.0",
                  "import torch; print(torch.__version__)", ">= 1.5x"),
    "jax": Peer("Keras 3/JAX peer", "benchmarks/jax_peer.py", "jax==0.10.2 keras",
                "import os; os.environ['KERAS_BACKEND'] = 'jax'; import jax, keras; "
                "print(f'jax {jax.__version__}, keras {keras.__version__}')", ">= 1.0x"),
}
BASELINES = {  # name -> what it is, as the table names it
    "reference": "reference recipe",
    **{name: peer.title for name, peer in PEERS.items()},
    "memory": "in-memory tensors",
    "disk": "disk's durable write rate",
    "long": "long preset's training",
}
LONG_SPLITS = ("--n-train", 4096, "--n-val", 1024)  # the long preset's own test split: 10,000 sequences
NO_BASELINE = "none: an absolute goal"


class BaselineUnavailable(click.ClickException):
    """A baseline that cannot be measured: the bench stops with this one line (exit 1)."""

    exit_code = 1


class CommandFailed(RuntimeError):
    def __init__(self, args, why: str, stderr: str):
        self.why, self.stderr = why, stderr
        super().__init__(f"{' '.join(map(str, args))} {why}: {stderr.strip()[-2000:]}")

    def last_line(self) -> str:
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return f"{self.why}: {lines[-1][:300]}" if lines else self.why


def run(args, env=None, timeout=900):
    """Run a command; returns (wall seconds, peak RSS in MB, stdout). Raises CommandFailed on failure."""
    # Output goes to files, not pipes: the child never blocks on a full pipe while wait4 waits for it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        fired = threading.Event()
        killer = threading.Timer(timeout, lambda: (fired.set(), child.kill()))
        killer.start()
        _, status, usage = os.wait4(child.pid, 0)  # wait4 gives this child's own peak RSS
        killer.cancel()
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        why = f"timed out after {timeout} s" if fired.is_set() else f"failed ({child.returncode})"
        raise CommandFailed(args, why, stderr)
    return wall, usage.ru_maxrss / 1024, stdout


def pipeline(*args, **kw):
    """A stage of the pipeline through its command line, in a fresh process."""
    return run([sys.executable, "-m", "pipeline", *map(str, args)], **kw)


def helper(*args, **kw):
    """A subcommand of this module in a fresh process; returns the JSON of its last line."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    _, _, out = run([sys.executable, "-m", "benchmarks.bench", *map(str, args)], env={"PYTHONPATH": path}, **kw)
    return json.loads(out.strip().splitlines()[-1])


def baseline_failed(name: str, error: Exception) -> BaselineUnavailable:
    why = error.last_line() if isinstance(error, CommandFailed) else f"{type(error).__name__}: {error}"
    return BaselineUnavailable(f"{BASELINES[name]} baseline could not run: {why} (--skip {name} leaves it out)")


def median(values):
    return statistics.median(values) if values else None


# --- the reference recipe, written the way the book's per-sample code works -------------------

def reference_example(length=5, n_features=10, out_index=2):
    sequence = [random.randint(0, n_features - 1) for _ in range(length)]
    encoded = []
    for value in sequence:
        vector = [0] * n_features
        vector[value] = 1
        encoded.append(vector)
    encoded = np.array(encoded)
    return encoded.reshape((1, length, n_features)), encoded[out_index].reshape(1, n_features)


def reference_fits(fits: int, predicts: int) -> dict:
    """Time the reference recipe: build, then one fit per fresh sample, then per-sample predictions."""
    start = time.perf_counter()
    from pipeline.backend import keras

    model = keras.Sequential([keras.Input((5, 10)), keras.layers.LSTM(25),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    startup = time.perf_counter() - start
    fit_seconds = []
    for _ in range(fits):
        X, y = reference_example()
        t = time.perf_counter()
        model.fit(X, y, epochs=1, verbose=0)
        fit_seconds.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(predicts):
        X, y = reference_example()
        model.predict(X, verbose=0)
    predict_s = (time.perf_counter() - t) / predicts
    per_fit = float(np.mean(fit_seconds[1:]))  # the first fit traces; it is counted once below
    return {"startup_s": startup, "first_fit_s": fit_seconds[0], "per_fit_s": per_fit,
            "fits_10000_s": fit_seconds[0] + per_fit * (REFERENCE_FITS - 1),
            "script_s": startup + fit_seconds[0] + per_fit * (REFERENCE_FITS - 1) + 100 * predict_s,
            "predict_samples_per_s": 1 / predict_s}


def reference_generator(n: int) -> dict:
    start = time.perf_counter()
    for _ in range(n):
        reference_example()
    return {"samples_per_s": n / (time.perf_counter() - start)}


def reference(runs: int, fits: int) -> tuple[dict, dict]:
    try:
        recipes = [helper("reference", "--fits", fits) for _ in range(runs)]
        generators = [helper("reference-generator")["samples_per_s"] for _ in range(runs)]
    except CommandFailed as e:
        raise baseline_failed("reference", e) from None
    return {k: median([r[k] for r in recipes]) for k in recipes[0]}, {"samples_per_s": median(generators)}


# --- the training peers ---------------------------------------------------------------------------

def peer_version(name: str, python) -> str:
    """The peer environment's framework version, checked before anything is measured."""
    peer = PEERS[name]
    install = f"make bench installs it with pip install {peer.requirement}; {peer.leave_out(name)}"
    if not python or not Path(python).is_file():
        raise BaselineUnavailable(f"{peer.title}: no environment at {python} ({install})")
    if not (ROOT / peer.script).is_file():
        raise BaselineUnavailable(f"{peer.title}: no peer script at {ROOT / peer.script}")
    try:
        return run([python, "-c", peer.version], timeout=300)[2].strip()
    except (CommandFailed, OSError) as e:
        why = e.last_line() if isinstance(e, CommandFailed) else str(e)
        raise BaselineUnavailable(f"{peer.title}: {python} cannot import it, {why} ({install})") from None


def peer_speeds(name: str, python, batch_sizes=THROUGHPUT_BATCHES) -> dict:
    """{batch size: samples/s} of one run of the peer: two passes timed, as ours."""
    peer = PEERS[name]
    args = [python, ROOT / peer.script, "--batch-sizes", ",".join(map(str, batch_sizes)),
            "--samples", THROUGHPUT_SAMPLES, "--max-steps", THROUGHPUT_MAX_STEPS, "--passes", 2,
            "--learning-rate", THROUGHPUT_LEARNING_RATE]
    try:
        _, _, out = run(list(map(str, args)))
    except (CommandFailed, OSError) as e:
        why = e.last_line() if isinstance(e, CommandFailed) else str(e)
        raise BaselineUnavailable(f"{peer.title}: {peer.script} {why} ({peer.leave_out(name)})") from None
    speeds = {}
    for line in out.splitlines():
        try:
            record = json.loads(line)
            speeds[int(record["batch_size"])] = float(record["samples_per_s"])
        except (ValueError, KeyError, TypeError):
            raise BaselineUnavailable(f"{peer.title}: unexpected output line {line[:200]!r}") from None
    missing = [bs for bs in batch_sizes if bs not in speeds]
    if missing:
        raise BaselineUnavailable(f"{peer.title}: printed no result for batch size {missing[0]}")
    return speeds


# --- the measurements --------------------------------------------------------------------------

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
        return rows / wall, rss, nbytes

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


# --- the table -------------------------------------------------------------------------------------

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
    out = []
    for name, ours, base, baseline, goal in rows:
        lower_is_better = "(s)" in name or "RSS" in name
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


# --- docs/performance.md ------------------------------------------------------------------------------

DOC_TEMPLATE = f"""# Performance

`make bench` (`python -m benchmarks.bench`) measures every speed goal against its baseline in the same
run and writes `artifacts/bench.json`, `artifacts/bench.md` and the table below. Each figure is the
median of several runs, each in a fresh process; each ratio compares ours with a baseline measured in
the same run, so a machine-wide slowdown affects both sides (higher is better).

How each figure is measured:

- **1a, 1b: time to target.** `pipeline train` with its defaults, to 0.999 validation accuracy (fit
  time) and from process start to the model written, against the reference recipe: one `model.fit`
  per freshly generated sample, timed over a few hundred fits and extrapolated to its 10,000.
- **2: training throughput.** `pipeline train` for 3 epochs of 131,072 samples (at most 4,096
  batches) from the HDF5 file (the first epoch, which traces, is not counted), against two peers
  training the same LSTM on the CPU from tensors in memory: PyTorch (`benchmarks/torch_peer.py`,
  warm-up steps not counted) and Keras 3 on JAX (`benchmarks/jax_peer.py`, compiled with XLA, 32
  steps per call, its first epoch not counted), each run from its own virtual environment
  (`.venv-torch`, `.venv-jax`); neither is a dependency of the package. Each batch size runs ours and
  then both peers before the next; each ratio is the median of the runs' own ratios.
- **3: the input pipeline.** One process per batch size: two identical models, one fed by the HDF5
  reader and one from the same batches held in memory (`benchmarks/memory_feed.py`), `fit` in turns
  of a second or two (which goes first alternating), so both see the same load. Each turn is timed
  from the end of its first compiled call to the end of its last; the ratio is the median of each
  pair's own ratio.
- **4a, 4b: generate.** Samples/s of `pipeline generate` writing 30M samples, against the reference's
  per-sample generator and against the disk itself: after each timed run, as many bytes written and
  fsynced with nothing else to do, the most `generate` can reach on that disk at that moment. Peak
  memory (RSS) at 1M samples and at the largest size.
- **5a, 5b: evaluate and predict.** Samples/s of the stages, against the reference's per-sample
  `model.predict`.
- **6a, 6b: make.** `make all` from scratch in a copy of the project, then again with nothing to do.

A baseline that cannot run stops the bench with the reason; one left out on purpose (`--skip`,
`--no-torch`) is named in its rows instead of a figure.

{DOC_BEGIN}
{DOC_END}
"""


def doc_text(path: Path) -> str:
    """The document, with one pair of markers: the template if it does not exist, the markers appended
    if it has none. Checked before the bench runs, so a bad document fails it at once."""
    if not path.exists():
        return DOC_TEMPLATE
    text = path.read_text()
    begins, ends = text.count(DOC_BEGIN), text.count(DOC_END)
    if begins == ends == 0:
        return text.rstrip("\n") + f"\n\n{DOC_BEGIN}\n{DOC_END}\n"
    if begins != 1 or ends != 1 or text.index(DOC_BEGIN) > text.index(DOC_END):
        raise click.ClickException(f"{path}: needs one {DOC_BEGIN} followed by one {DOC_END} "
                                   f"(found {begins} and {ends})")
    return text


def write_doc(path: Path, table: str) -> None:
    """Put `table` between the document's markers, keeping everything outside them."""
    from pipeline.files import write_text_atomic

    text = doc_text(path)
    head, rest = text.split(DOC_BEGIN)
    _, tail = rest.split(DOC_END)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, f"{head}{DOC_BEGIN}\n{table.rstrip()}\n{DOC_END}{tail}")


# --- the command line ------------------------------------------------------------------------------

@click.group(invoke_without_command=True)
@click.option("--out", type=click.Path(dir_okay=False), default="artifacts/bench.json", show_default=True,
              help="bench.json; bench.md is written beside it.")
@click.option("--doc", default=DOC, show_default=True,
              help="Document whose table between its bench markers is replaced (relative to the repository root).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs per figure.")
@click.option("--torch-python", default=".venv-torch/bin/python", show_default=True,
              help="Python of the PyTorch peer's virtual environment.")
@click.option("--jax-python", default=".venv-jax/bin/python", show_default=True,
              help="Python of the Keras 3/JAX peer's virtual environment.")
@click.option("--no-torch", is_flag=True, help="Leave out the PyTorch peer (same as --skip torch).")
@click.option("--skip", type=click.Choice(list(BASELINES)), multiple=True,
              help="Leave out a baseline; its rows say so. Repeatable.")
@click.option("--reference-fits", type=click.IntRange(min=10), default=300, show_default=True,
              help="Single-sample fits timed to extrapolate the reference's 10,000.")
@click.option("--big", type=click.IntRange(min=1), default=100_000_000, show_default=True,
              help="Largest dataset for the peak-memory check.")
@click.option("--flags", default="--steps-per-execution 32 --jit", show_default=True,
              help="Train options for the throughput runs.")
@click.option("--pairs", type=click.IntRange(min=1), default=11, show_default=True,
              help="Turns of each input (HDF5, memory) in the one-process comparison.")
@click.pass_context
def cli(ctx, out, doc, runs, torch_python, jax_python, no_torch, skip, reference_fits, big, flags, pairs):
    """Run every benchmark and write bench.json, bench.md and the table in --doc."""
    if ctx.invoked_subcommand:
        return
    out, doc = Path(out), ROOT / doc
    skipped = {name: f"{BASELINES[name]} not run (--skip {name})" for name in skip}
    if no_torch:
        skipped["torch"] = f"{BASELINES['torch']} not run (--no-torch)"
    doc_text(doc)  # the checks that need no measurement, before minutes of it
    pythons = {name: python for name, python in (("torch", torch_python), ("jax", jax_python))
               if name not in skipped}
    versions = {name: peer_version(name, pythons[name]) if name in pythons else "not run" for name in PEERS}
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out.parent))
    m = {"skipped": skipped}
    try:
        data = work / "echo.h5"
        pipeline("generate", "--out", data)
        flags = flags.split()
        click.echo("time to target ...", err=True)
        m["time_to_target"] = time_to_target(data, work, runs)
        if "reference" not in skipped:
            click.echo("reference recipe ...", err=True)
            m["reference"], m["reference_generator"] = reference(runs, reference_fits)
        click.echo("throughput ...", err=True)
        m["throughput"], m["peers"] = throughput(data, work, runs, flags, pythons)
        click.echo("input pipeline ...", err=True)
        m["input"] = input_pipeline(data, pairs, flags, "memory" in skipped)
        click.echo("generation ...", err=True)
        m["generation"] = generation(work, runs, big, "disk" in skipped)
        click.echo("evaluate and predict ...", err=True)
        m["eval"] = eval_predict(data, m["time_to_target"]["model"], work, runs)
        if "long" not in skipped:
            click.echo("long preset: evaluate and training ...", err=True)
            m["long"] = long_forward(work, runs)
        click.echo("make all ...", err=True)
        m["make"] = make_all(work, runs)
    except BaseException:
        from pipeline.files import write_json_atomic

        write_json_atomic(out.with_name(f"{out.stem}-partial.json"), m)  # what was measured before it stopped
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit(), "runs": runs, "flags": flags,
              "machine": machine(versions), "goals": goals(m), "measurements": m}
    from pipeline.files import write_json_atomic, write_text_atomic

    table = markdown(result)
    write_json_atomic(out, result)
    write_text_atomic(out.with_suffix(".md"), table)
    write_doc(doc, table)
    click.echo(table)


@cli.command("reference")
@click.option("--fits", type=int, default=300)
@click.option("--predicts", type=int, default=100)
def reference_cmd(fits, predicts):
    click.echo(json.dumps(reference_fits(fits, predicts)))


@cli.command("reference-generator")
@click.option("-n", type=int, default=20_000)
def reference_generator_cmd(n):
    click.echo(json.dumps(reference_generator(n)))


@cli.command("train-pair", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--data", required=True)
@click.option("--batch-size", type=int, required=True)
@click.option("--pairs", type=int, default=11)
@click.option("--sources", default="hdf5,memory", show_default=True, help="hdf5, memory or both.")
@click.option("--steps-per-execution", type=int, default=1)
@click.option("--jit/--no-jit", default=False)
def train_pair_cmd(data, batch_size, pairs, sources, steps_per_execution, jit):
    """Samples/s of model.fit fed by the HDF5 reader and from memory, in turns (see input_pipeline)."""
    click.echo(json.dumps(train_pair(data, batch_size, pairs, steps_per_execution, jit, tuple(sources.split(",")))))


def train_pair(data, batch_size: int, pairs: int, steps_per_execution: int = 1, jit: bool = False,
               sources: tuple = ("hdf5", "memory")) -> dict:
    """Two identical models, one per input, each fit in turn (which goes first alternates) for two
    reader blocks' worth of batches (at most MAX_CALLS_PER_TURN training calls: at small batches a
    block lasts seconds and its read is a negligible part of the time). As `pipeline train` does, a
    call takes steps_per_execution batches in one compiled loop (model.StepLoop). A turn is timed from
    the end of its first call, which starts the input pipeline (the in-memory shuffle of the whole
    split; the reader's first blocks, while later reads fall in the timed part at their steady rate)
    to the end of its last; the first pair, which traces, is not counted."""
    from benchmarks import memory_feed
    from pipeline import data as dataset
    from pipeline import model as m
    from pipeline import reader, train
    from pipeline.backend import keras

    feeds = {"hdf5": train.training_dataset, "memory": memory_feed.training_dataset}
    if not sources or set(sources) - set(feeds):
        raise click.BadParameter(f"sources must be among {', '.join(feeds)}", param_hint="'--sources'")
    info = dataset.describe(data)
    group = steps_per_execution
    blocks = 2 * reader.block_rows(batch_size * group, info.length, info.n_features) // batch_size
    calls = min(max(3, math.ceil(blocks / group)), MAX_CALLS_PER_TURN)

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):  # once per training call of `group` batches
            self.ends.append(time.perf_counter())

    fed = {}
    for source in sources:
        keras.utils.set_random_seed(0)
        net = m.build_model(info.problem, {"units": 25})
        m.compile_model(net, m.make_optimizer("adam", 1e-3), 1, jit)
        if group > 1:
            net = train.grouped(net, {"jit": jit, "label_smoothing": 0.0})
        fed[source] = (net, feeds[source](info, batch_size, 0, group=group))
    rates = {source: [] for source in fed}
    for i in range(pairs + 1):
        for source in (sources if i % 2 else sources[::-1]):
            net, ds = fed[source]
            clock = Clock()
            net.fit(ds, epochs=1, steps_per_epoch=calls, verbose=0, callbacks=[clock])
            if i:
                samples = (len(clock.ends) - 1) * group * batch_size
                rates[source].append(samples / (clock.ends[-1] - clock.ends[0]))
    return {**rates, "steps_per_turn": calls * group}


if __name__ == "__main__":
    cli()
