"""make bench: the speed goals, each measured against its baseline in the same run.

Writes artifacts/bench.json and artifacts/bench.md. Every figure is the median of --runs runs of a
fresh process; ratios compare figures measured side by side, so machine-wide slowdowns cancel.

Baselines: the reference recipe (one model.fit per freshly generated sample, and its per-sample
generator and model.predict), the PyTorch peer (../shared/peers/torch_lstm.py, run from its own
virtual environment), the same training fed from in-memory tensors (in turns with the HDF5 reader in
one process: train_pair), and the disk's durable write rate (the same bytes as generate writes, written
and fsynced with nothing else: the ceiling for generate on this disk).

    python -m pipeline.bench --out artifacts/bench.json --torch-python .venv-torch/bin/python
"""
import json
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

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "shared" / "peers" / "torch_lstm.py"
REFERENCE_FITS = 10_000
THROUGHPUT_BATCHES = (32, 128, 512)
THROUGHPUT_SAMPLES = 131_072  # per epoch; the first epoch (tracing) is not counted
MAX_CALLS_PER_TURN = 48  # of train_pair: about 1.5 s at batch 32


def run(args, env=None, timeout=900):
    """Run a command; returns (wall seconds, peak RSS in MB, stdout). Raises on failure."""
    # Output goes to files, not pipes: the child never blocks on a full pipe while wait4 waits for it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(args, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        fired = threading.Event()
        killer = threading.Timer(timeout, lambda: (fired.set(), p.kill()))
        killer.start()
        _, status, usage = os.wait4(p.pid, 0)  # wait4 gives this child's own peak RSS
        killer.cancel()
        timed_out = fired.is_set()
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode != 0:
        why = f"timed out after {timeout} s" if timed_out else f"failed ({p.returncode})"
        raise RuntimeError(f"{' '.join(map(str, args))} {why}: {stderr.strip()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, stdout


def pipeline(*args, **kw):
    return run([sys.executable, "-m", "pipeline", *map(str, args)], **kw)


def helper(*args, **kw):
    wall, rss, out = run([sys.executable, "-m", "pipeline.bench", *map(str, args)], **kw)
    return json.loads(out.strip().splitlines()[-1])


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
    t0 = time.perf_counter()
    from pipeline.backend import keras

    model = keras.Sequential([keras.Input((5, 10)), keras.layers.LSTM(25),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    startup = time.perf_counter() - t0
    times = []
    for _ in range(fits):
        X, y = reference_example()
        t = time.perf_counter()
        model.fit(X, y, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(predicts):
        X, y = reference_example()
        model.predict(X, verbose=0)
    predict_s = (time.perf_counter() - t) / predicts
    per_fit = float(np.mean(times[1:]))  # the first fit traces; it is counted once below
    return {"startup_s": startup, "first_fit_s": times[0], "per_fit_s": per_fit,
            "fits_10000_s": times[0] + per_fit * (REFERENCE_FITS - 1),
            "script_s": startup + times[0] + per_fit * (REFERENCE_FITS - 1) + 100 * predict_s,
            "predict_samples_per_s": 1 / predict_s}


def reference_generator(n: int) -> dict:
    t = time.perf_counter()
    for _ in range(n):
        reference_example()
    return {"samples_per_s": n / (time.perf_counter() - t)}


# --- the measurements --------------------------------------------------------------------------

def time_to_target(data, work: Path, runs: int) -> dict:
    walls, fits, rows = [], [], []
    for i in range(runs):
        out = work / f"ttt{i}" / "model.keras"
        out.parent.mkdir(parents=True)
        wall, _, _ = pipeline("train", "--data", data, "--out", out)
        record = json.loads(out.with_name("train.json").read_text())
        walls.append(wall)
        fits.append(record["seconds_to_0.999"] or float("inf"))
        rows.append({k: record[k] for k in ("seconds_to_0.999", "seconds_to_target", "epochs_run",
                                            "fit_seconds", "wall_seconds")})
    return {"stage_wall_s": median(walls), "fit_to_0.999_s": median(fits), "runs": rows, "model": str(out)}


def throughput(data, work: Path, runs: int, flags: list, torch_python) -> tuple[dict, dict]:
    """Training samples/s from HDF5 (model.fit in a fresh process) and the PyTorch peer's, at each batch
    size. Run i measures every configuration once, so drifting load affects them alike; each ratio is
    the median of the runs' own ratios (`ratios`), each value the median of the runs (`runs` keeps all)."""
    ours = {f"hdf5_{bs}": [] for bs in THROUGHPUT_BATCHES}
    torch = {f"torch_{bs}": [] for bs in THROUGHPUT_BATCHES}
    has_torch = bool(torch_python) and Path(torch_python).exists() and PEER.exists()
    for i in range(runs):
        for bs in THROUGHPUT_BATCHES:
            r = helper("train-speed", "--data", data, "--out", work / f"tp-{bs}-{i}" / "m.keras", "--batch-size",
                       bs, "--steps-per-epoch", max(1, THROUGHPUT_SAMPLES // bs), *flags)
            ours[f"hdf5_{bs}"].append(r["train_samples_per_s"])
        if has_torch:
            _, _, out = run([torch_python, PEER, "--batch-sizes", ",".join(map(str, THROUGHPUT_BATCHES))])
            for line in out.splitlines():
                r = json.loads(line)
                torch[f"torch_{r['batch_size']}"].append(r["samples_per_s"])
    ratios = {}
    if has_torch:
        for bs in THROUGHPUT_BATCHES:
            ratios[f"torch_{bs}"] = median([h / t for h, t in zip(ours[f"hdf5_{bs}"], torch[f"torch_{bs}"])])
    result = {**{k: median(v) for k, v in ours.items()}, "ratios": ratios, "runs": ours}
    peer = ({**{k: median(v) for k, v in torch.items()}, "runs": torch} if has_torch
            else {"error": f"no PyTorch environment at {torch_python} or no peer at {PEER}"})
    return result, peer


def input_pipeline(data, pairs: int, flags: list) -> dict:
    """Goal 3: HDF5 input against in-memory tensors, both in one process per batch size (train-pair),
    taking turns of a second or two, so both see the same machine load: separate processes, seconds
    apart, differed here by 20-40% from run to run whatever they were fed from."""
    result = {"ratios": {}, "runs": {}}
    for bs in THROUGHPUT_BATCHES:
        r = helper("train-pair", "--data", data, "--batch-size", bs, "--pairs", pairs, *flags)
        result[f"hdf5_{bs}"], result[f"memory_{bs}"] = median(r["hdf5"]), median(r["memory"])
        result["ratios"][f"memory_{bs}"] = median([h / m for h, m in zip(r["hdf5"], r["memory"])])
        result["runs"][bs] = r
    return result


def disk_write(path: Path, nbytes: int, block: int = 4 << 20) -> float:
    """Seconds to write `nbytes` of one-hot-like bytes to a new file and fsync it: the disk's durable
    write rate, which bounds generate, measured beside it (it varies here from hour to hour)."""
    rng = np.random.default_rng(0)
    buf = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, block // 10)].tobytes()
    t = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes // len(buf)):
            f.write(buf)
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - t
    path.unlink()
    os.sync()
    return seconds


def generation(work: Path, runs: int, big: int, n: int = 30_000_000) -> dict:
    def gen(rows):
        out = work / "gen.h5"
        wall, rss, _ = pipeline("generate", "--out", out, "--n-train", rows - 2, "--n-val", 1, "--n-test", 1)
        nbytes = out.stat().st_size
        out.unlink()
        os.sync()  # the next run starts with the disk done freeing this file's blocks
        return rows / wall, rss, nbytes

    speeds, disk = [], []
    for _ in range(runs):  # each generate run paired with writing as many bytes, nothing else
        speed, _, nbytes = gen(n)
        speeds.append(speed)
        disk.append(n / disk_write(work / "disk.bin", nbytes))
    rss = {m: gen(m)[1] for m in (1_000_000, big)}
    return {"samples_per_s_30M": median(speeds), "disk_samples_per_s_30M": median(disk),
            "disk_ratios": [g / d for g, d in zip(speeds, disk)], "runs": {"generate": speeds, "disk": disk},
            "peak_rss_mb": rss}


def eval_predict(data, model, work: Path, runs: int) -> dict:
    ev, pr = [], []
    for _ in range(runs):
        pipeline("evaluate", "--data", data, "--model", model, "--out", work / "metrics.json")
        ev.append(json.loads((work / "metrics.json").read_text())["samples_per_s"])
        pipeline("predict", "--data", data, "--model", model, "--out", work / "predictions.csv")
        pr.append(json.loads((work / "predictions.json").read_text())["samples_per_s"])
    return {"evaluate_samples_per_s": median(ev), "predict_samples_per_s": median(pr)}


def make_all(work: Path, runs: int) -> dict:
    """`make all` from scratch in a copy of the project (reusing this virtual environment), then no-op."""
    full, noop = [], []
    for i in range(runs):
        dst = work / f"make{i}"
        dst.mkdir()
        for name in ("Makefile", "pyproject.toml"):
            shutil.copy2(ROOT / name, dst / name)
        shutil.copytree(ROOT / "pipeline", dst / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
        (dst / "data").mkdir(), (dst / "artifacts").mkdir()
        cmd = ["make", "-C", str(dst), f"VENV={sys.prefix}", "all"]
        full.append(run(cmd)[0])
        noop.append(run(cmd)[0])
        shutil.rmtree(dst)
    return {"make_all_s": median(full), "make_all_noop_s": median(noop)}


def goals(m: dict) -> list:
    ref, torch, tp = m["reference"], m["torch"], m["throughput"]
    rows = [
        ("1a. fit time to >= 0.999 val accuracy (s)", m["ttt"]["fit_to_0.999_s"], ref["fits_10000_s"],
         "<= 1.5 s, >= 400x"),
        ("1b. train stage, process start to model written (s)", m["ttt"]["stage_wall_s"], ref["script_s"],
         ">= 60x"),
    ]
    paired = {}  # figure -> median of the per-run ratios
    for bs in THROUGHPUT_BATCHES:
        name = f"2. training samples/s from HDF5, batch {bs} (vs PyTorch)"
        rows.append((name, tp[f"hdf5_{bs}"], torch.get(f"torch_{bs}"), ">= 1.25x"))
        paired[name] = tp.get("ratios", {}).get(f"torch_{bs}")
    inp = m["input"]
    for bs in THROUGHPUT_BATCHES:
        name = f"3. HDF5 input vs in-memory tensors, batch {bs} (samples/s, turns in one process)"
        rows.append((name, inp[f"hdf5_{bs}"], inp[f"memory_{bs}"], ">= 0.97x"))
        paired[name] = inp.get("ratios", {}).get(f"memory_{bs}")
    g = m["generation"]
    rows.append(("4a. generate samples/s, 30M samples, whole process", g["samples_per_s_30M"],
                 m["reference_generator"]["samples_per_s"], ">= 10M/s"))
    if g.get("disk_samples_per_s_30M"):
        name = "4a. generate vs writing its bytes with nothing else (the disk's durable rate), samples/s"
        rows.append((name, g["samples_per_s_30M"], g["disk_samples_per_s_30M"], "ceiling"))
        paired[name] = median(g["disk_ratios"])
    for n, rss in g["peak_rss_mb"].items():
        rows.append((f"4b. generate peak RSS (MB), {int(n):,} samples", rss, None, "<= 300 MB, flat"))
    rows.append(("5a. evaluate samples/s (vs reference per-sample predict)", m["eval"]["evaluate_samples_per_s"],
                 ref["predict_samples_per_s"], ">= 1M/s"))
    rows.append(("5b. predict samples/s, CSV written (vs reference per-sample predict)",
                 m["eval"]["predict_samples_per_s"], ref["predict_samples_per_s"], ">= 1M/s"))
    rows.append(("6a. make all from scratch, after install (s)", m["make"]["make_all_s"], None, "<= 30 s"))
    rows.append(("6b. make all with nothing to do (s)", m["make"]["make_all_noop_s"], None, "<= 1 s"))
    out = []
    for name, ours, base, goal in rows:
        lower_is_better = "(s)" in name or "RSS" in name
        ratio = None
        if ours and base:
            ratio = paired.get(name) or (base / ours if lower_is_better else ours / base)
        out.append({"figure": name, "ours": ours, "baseline": base, "ratio": ratio, "goal": goal})
    return out


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Benchmark, {result['date']}: {m['cores']} cores, Python {m['python']}, TensorFlow "
             f"{m['tensorflow']}, tf-keras {m['tf_keras']}, torch {m.get('torch', '–')}, h5py {m['h5py']}, "
             f"numpy {m['numpy']}. Medians of {result['runs']} runs; ratios are ours vs the baseline "
             f"measured in the same run (higher is better); for 2, 3 and 4a against the disk, the median of "
             f"each run's (for 3, each pair of turns') own ratio. Throughput flags: `{' '.join(result['flags'])}`.",
             "", "| figure | ours | baseline | ratio | goal |", "|---|---|---|---|---|"]
    for g in result["goals"]:
        ratio = f"{g['ratio']:.2f}x" if g["ratio"] else "–"
        lines.append(f"| {g['figure']} | {fmt(g['ours'])} | {fmt(g['baseline'])} | {ratio} | {g['goal']} |")
    return "\n".join(lines) + "\n"


def machine(torch_python) -> dict:
    import h5py

    from pipeline.backend import keras, tf

    info = {"cores": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__,
            "tf_keras": keras.__version__, "h5py": h5py.__version__, "numpy": np.__version__,
            "platform": platform.platform()}
    if torch_python and Path(torch_python).exists():
        info["torch"] = run([torch_python, "-c", "import torch; print(torch.__version__)"])[2].strip()
    return info


@click.group(invoke_without_command=True)
@click.option("--out", type=click.Path(), default="artifacts/bench.json", show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs per figure.")
@click.option("--torch-python", default=".venv-torch/bin/python", show_default=True,
              help="Python of the PyTorch peer's virtual environment.")
@click.option("--reference-fits", type=click.IntRange(min=10), default=300, show_default=True,
              help="Single-sample fits timed to extrapolate the reference's 10,000.")
@click.option("--big", type=click.IntRange(min=1), default=100_000_000, show_default=True,
              help="Largest dataset for the peak-memory check.")
@click.option("--flags", default="--steps-per-execution 32", show_default=True,
              help="Train options for the throughput runs.")
@click.option("--pairs", type=click.IntRange(min=1), default=11, show_default=True,
              help="Turns of each input (HDF5, memory) in the one-process comparison.")
@click.pass_context
def cli(ctx, out, runs, torch_python, reference_fits, big, flags, pairs):
    """Run every benchmark and write bench.json and bench.md."""
    if ctx.invoked_subcommand:
        return
    out = Path(out)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out.parent))
    try:
        data = work / "echo.h5"
        pipeline("generate", "--out", data)
        flags = flags.split()
        m = {}
        click.echo("time to target ...", err=True)
        m["ttt"] = time_to_target(data, work, runs)
        click.echo("reference recipe ...", err=True)
        refs = [helper("reference", "--fits", reference_fits) for _ in range(runs)]
        m["reference"] = {k: median([r[k] for r in refs]) for k in refs[0]}
        m["reference_generator"] = {"samples_per_s": median([helper("reference-generator")["samples_per_s"]
                                                             for _ in range(runs)])}
        click.echo("throughput ...", err=True)
        m["throughput"], m["torch"] = throughput(data, work, runs, flags, torch_python)
        click.echo("input pipeline ...", err=True)
        m["input"] = input_pipeline(data, pairs, flags)
        click.echo("generation ...", err=True)
        m["generation"] = generation(work, runs, big)
        click.echo("evaluate and predict ...", err=True)
        m["eval"] = eval_predict(data, m["ttt"]["model"], work, runs)
        click.echo("make all ...", err=True)
        m["make"] = make_all(work, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "runs": runs, "flags": flags,
              "machine": machine(torch_python), "goals": goals(m), "measurements": m}
    from pipeline.files import write_json_atomic, write_text_atomic

    write_json_atomic(out, result)
    write_text_atomic(out.with_suffix(".md"), markdown(result))
    click.echo(markdown(result))


@cli.command("reference")
@click.option("--fits", type=int, default=300)
@click.option("--predicts", type=int, default=100)
def reference_cmd(fits, predicts):
    click.echo(json.dumps(reference_fits(fits, predicts)))


@cli.command("reference-generator")
@click.option("-n", type=int, default=20_000)
def reference_generator_cmd(n):
    click.echo(json.dumps(reference_generator(n)))


@cli.command("train-speed", context_settings={"ignore_unknown_options": True})
@click.option("--data", required=True)
@click.option("--out", required=True)
@click.option("--batch-size", type=int, required=True)
@click.option("--steps-per-epoch", type=int, required=True)
@click.option("--steps-per-execution", type=int, default=1)
@click.option("--jit/--no-jit", default=False)
def train_speed_cmd(data, out, batch_size, steps_per_epoch, steps_per_execution, jit):
    """Training samples/s over 3 epochs, not stopping at the target (the first epoch is not counted)."""
    from pipeline import train

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    r = train.train(data, out, batch_size=batch_size, epochs=3, steps_per_epoch=steps_per_epoch,
                    learning_rate=1e-3, stop_at_target=False, steps_per_execution=steps_per_execution, jit=jit,
                    verbose=0)
    click.echo(json.dumps({"train_samples_per_s": r["train_samples_per_s"]}))


@cli.command("train-pair", context_settings={"ignore_unknown_options": True})
@click.option("--data", required=True)
@click.option("--batch-size", type=int, required=True)
@click.option("--pairs", type=int, default=11)
@click.option("--steps-per-execution", type=int, default=1)
@click.option("--jit/--no-jit", default=False)
def train_pair_cmd(data, batch_size, pairs, steps_per_execution, jit):
    """Samples/s of model.fit fed by the HDF5 reader and from memory, in turns (see input_pipeline)."""
    click.echo(json.dumps(train_pair(data, batch_size, pairs, steps_per_execution, jit)))


def train_pair(data, batch_size: int, pairs: int, steps_per_execution: int = 1, jit: bool = False) -> dict:
    """Two identical models, one per input, each fit in turn (which goes first alternates) for two
    reader blocks' worth of batches (at most MAX_CALLS_PER_TURN compiled calls: at small batches a
    block lasts seconds and its read is a negligible part of the time). A turn is timed from the end
    of its first compiled call, which starts the input pipeline (the in-memory shuffle of the whole
    split; the reader's first blocks, while later reads fall in the timed part at their steady rate)
    to the end of its last; the first pair, which traces, is not counted."""
    from pipeline import data as dataset
    from pipeline import model as m
    from pipeline import reader, train
    from pipeline.backend import keras

    info = dataset.describe(data)
    spe = steps_per_execution
    blocks = 2 * reader.block_rows(batch_size, info.length, info.n_features) // batch_size
    steps = min(max(3, -(-blocks // spe)), MAX_CALLS_PER_TURN) * spe

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):  # once per compiled call of spe steps
            self.ends.append(time.perf_counter())

    fed = {}
    for source in ("hdf5", "memory"):
        keras.utils.set_random_seed(0)
        net = m.build_model(info.length, info.n_features, 25)
        m.compile_model(net, m.make_optimizer("adam", 1e-3), spe, jit)
        fed[source] = (net, train.training_dataset(info, batch_size, 0, source))
    rates = {source: [] for source in fed}
    for i in range(pairs + 1):
        for source in (("hdf5", "memory") if i % 2 else ("memory", "hdf5")):
            net, ds = fed[source]
            clock = Clock()
            net.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
            if i:
                rates[source].append((len(clock.ends) - 1) * spe * batch_size / (clock.ends[-1] - clock.ends[0]))
    return {**rates, "steps_per_turn": steps}


if __name__ == "__main__":
    cli()
