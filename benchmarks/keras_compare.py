"""Training speed under tf-keras (what the pipeline trains with) and under Keras 3 (docs/keras.md).

    python -m benchmarks.keras_compare --pairs 5

Each pair runs two fresh processes in turn, tf-keras first in even pairs and Keras 3 first in odd ones,
with the same seed. Each trains the reference recipe (LSTM(25) -> Dense(10, softmax), Adam 0.04, batch
256, 64 steps per epoch, validation on the 20,000-sample val split in batches of 4096, no XLA, one step
per execution) for --epochs epochs, whatever the accuracy, on the same generated file, read with h5py
into memory and fed the same way (a new seeded permutation per pass, static batches of 256).

- seconds to target: from just before `model.fit` to the end of the first epoch whose validation
  accuracy is >= 0.999 (tracing, validation and callbacks included; imports and data loading not).
- from building: the same, but from just before the model is built: building, compiling and the
  variables made before fit (tf-keras: pipeline.model.compile_model; Keras 3: optimizer.build) count.
- samples/s: training batches of epochs 2.. divided by their time, validation left out.
- Keras 3 / tf-keras: the median of the per-pair ratios, so slowdowns of the machine shared by a pair
  cancel; the medians of each column are shown too.
- The tf-keras process, after fit, also times `import keras` (Keras 3) and pipeline.model.portable_model
  plus saving, first call: what saving artifacts/model.keras costs over a tf-keras save.

tf-keras: pipeline.model's build_model, make_optimizer (the legacy fused Adam) and compile_model.
Keras 3: the same layers built with `keras` directly, keras.optimizers.Adam with its variables built
before fit (Keras 3 builds the metrics inside fit); that process never imports tf-keras (checked). Both
freeze the garbage collector after the imports, as pipeline.backend does.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENGTH, N_FEATURES, UNITS = 5, 10, 25
LEARNING_RATE, BATCH, STEPS, VAL_BATCH, TARGET = 0.04, 256, 64, 4096, 0.999
NAMES = {"tf_keras": "tf-keras", "keras3": "Keras 3"}


def keras3_model(keras):
    """pipeline.model.build_model(echo.problem(5, 10, 2), {"units": 25}, keras=keras), written out so as
    not to import tf-keras."""
    return keras.Sequential([
        keras.Input(shape=(LENGTH, N_FEATURES), name="sequence"),
        keras.layers.LSTM(UNITS, unroll=True, name="lstm"),
        keras.layers.Dense(N_FEATURES, activation="softmax", name="label"),
    ], name="vanilla_lstm")


def child(which: str, data: str, seed: int, epochs: int) -> dict:
    """One training run in this (fresh) process; returns its measurements."""
    import gc

    import h5py
    import numpy as np

    from pipeline import echo

    if which == "tf_keras":
        from pipeline.backend import keras, tf  # sets TF_USE_LEGACY_KERAS, freezes gc
        from pipeline.model import build_model, compile_model, make_optimizer
    else:
        assert "TF_USE_LEGACY_KERAS" not in os.environ
        import keras
        import tensorflow as tf

        gc.freeze()

    with h5py.File(data, "r") as f:
        Xt, yt, Xv, yv = (np.asarray(f[k]) for k in ("train/X", "train/y", "val/X", "val/y"))  # uint8
    n = len(Xt)
    Xt, yt = tf.constant(Xt), tf.constant(yt)
    starts = tf.range(0, n // BATCH * BATCH, BATCH, dtype=tf.int64)

    def order(pass_index):  # this pass's permutation, the same in both processes of a pair
        keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.constant(seed, tf.int64), pass_index]))
        return tf.argsort(keys)

    def gather(rows):
        rows = tf.ensure_shape(rows, (BATCH,))
        return tf.cast(tf.gather(Xt, rows), tf.float32), tf.cast(tf.gather(yt, rows), tf.float32)

    train = (tf.data.Dataset.counter(dtype=tf.int64).map(order)
             .flat_map(lambda r: tf.data.Dataset.from_tensor_slices(starts).map(lambda s: r[s:s + BATCH]))
             .map(gather).prefetch(tf.data.AUTOTUNE))
    val = tf.data.Dataset.from_tensor_slices((Xv.astype(np.float32), yv.astype(np.float32))).batch(VAL_BATCH).cache()

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.reached, self.reached_epoch, self.train_s = None, None, []

        def on_epoch_begin(self, epoch, logs=None):
            self.begin = time.perf_counter()

        def on_test_begin(self, logs=None):  # validation starts: the epoch's training is over
            self.train_s.append(time.perf_counter() - self.begin)

        def on_epoch_end(self, epoch, logs=None):
            if self.reached is None and logs["val_accuracy"] >= TARGET:
                self.reached, self.reached_epoch = time.perf_counter() - start, epoch + 1

    built = time.perf_counter()
    keras.utils.set_random_seed(seed)
    if which == "tf_keras":
        net = build_model(echo.problem(LENGTH, N_FEATURES, 2), {"units": UNITS}, keras=keras)
        compile_model(net, make_optimizer("adam", LEARNING_RATE))  # also builds all variables and metrics
    else:
        net = keras3_model(keras)
        net.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy",
                    metrics=["accuracy"], jit_compile=False)
        net.optimizer.build(net.trainable_variables)
    clock = Clock()
    start = time.perf_counter()
    net.fit(train, epochs=epochs, steps_per_epoch=STEPS, validation_data=val, callbacks=[clock], verbose=0)
    later = clock.train_s[1:]
    result = {"which": which, "seed": seed, "keras": keras.__version__, "module": type(net).__module__,
              "tf_keras_imported": "tf_keras" in sys.modules,
              "seconds_to_target": clock.reached, "epochs_to_target": clock.reached_epoch,
              "build_seconds_to_target": clock.reached and clock.reached + start - built,
              "first_epoch_train_s": clock.train_s[0],
              "samples_per_s": len(later) * STEPS * BATCH / sum(later) if later else None}
    if which == "tf_keras":
        from pipeline import backend
        from pipeline.model import portable_model

        assert "keras" not in sys.modules
        t = time.perf_counter()
        backend.keras3()
        result["import_keras3_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            portable_model(net, {"optimizer": "adam", "learning_rate": LEARNING_RATE}).save(Path(tmp, "m.keras"))
        result["convert_save_s"] = time.perf_counter() - t
    return result


def run_child(which: str, data: Path, seed: int, epochs: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    env.pop("TF_USE_LEGACY_KERAS", None)
    if which == "tf_keras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    args = [sys.executable, "-m", "benchmarks.keras_compare", "--child", which, "--data", str(data),
            "--seed", str(seed), "--epochs", str(epochs)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        sys.exit(f"{which} run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if which == "keras3" and (result["tf_keras_imported"] or not result["module"].startswith("keras")):
        sys.exit(f"the Keras 3 run used tf-keras: {result}")
    if which == "tf_keras" and not result["module"].startswith("tf_keras"):
        sys.exit(f"the tf-keras run did not use tf-keras: {result}")
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(pairs: list[dict]) -> dict:
    """pairs: [{"tf_keras": result, "keras3": result}, ...] -> medians and median per-pair ratios."""
    summary = {"pairs": len(pairs)}
    for key in ("seconds_to_target", "build_seconds_to_target", "epochs_to_target", "samples_per_s"):
        summary[key] = {w: median(p[w][key] for p in pairs) for w in NAMES}
        ratios = [p["keras3"][key] / p["tf_keras"][key] for p in pairs if p["keras3"][key] and p["tf_keras"][key]]
        summary[key]["ratio"] = median(ratios)
        summary[key]["ratios"] = [round(r, 3) for r in ratios]
    for key in ("import_keras3_s", "convert_save_s"):
        summary[key] = median(p["tf_keras"].get(key) for p in pairs)
    summary = {k: {w: round(x, 3) if isinstance(x, float) else x for w, x in v.items()} if isinstance(v, dict)
               else round(v, 3) if isinstance(v, float) else v for k, v in summary.items()}
    summary["not_reached"] = {w: sum(p[w]["seconds_to_target"] is None for p in pairs) for w in NAMES}
    return summary


def fmt(value, digits):
    return "not reached" if value is None else f"{value:,.{digits}f}"


def table(s: dict) -> str:
    rows = [("seconds in fit to val accuracy >= 0.999", "seconds_to_target", 2),
            ("the same, from building the model (build, compile, fit)", "build_seconds_to_target", 2),
            ("epochs to val accuracy >= 0.999", "epochs_to_target", 0),
            ("training samples/s after the first epoch", "samples_per_s", 0)]
    lines = ["| median of %d pairs | tf-keras | Keras 3 | Keras 3 / tf-keras (median of pair ratios) |" % s["pairs"],
             "|---|---:|---:|---:|"]
    for label, key, digits in rows:
        m = s[key]
        lines.append(f"| {label} | {fmt(m['tf_keras'], digits)} | {fmt(m['keras3'], digits)} | {fmt(m['ratio'], 2)} |")
    lines.append(f"| `import keras` (Keras 3) after fit, s | {fmt(s['import_keras3_s'], 2)} | | |")
    lines.append(f"| then `portable_model` + save, first call, s | {fmt(s['convert_save_s'], 2)} | | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--epochs", type=int, default=12, help="epochs per run (the first is tracing)")
    p.add_argument("--n-train", type=int, default=200_000, help="training sequences generated")
    p.add_argument("--data", help="an existing reference HDF5 file to use instead of generating one")
    p.add_argument("--child", choices=list(NAMES), help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        result = child(a.child, a.data, a.seed, a.epochs)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(a.data) if a.data else Path(tmp, "echo.h5")
        if not a.data:
            subprocess.run([sys.executable, "-m", "pipeline", "generate", "--out", str(data), "--n-train",
                            str(a.n_train), "--n-test", "1000"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        pairs = []
        for i in range(a.pairs):
            order = list(NAMES) if i % 2 == 0 else list(NAMES)[::-1]
            pair = {w: run_child(w, data, i, a.epochs) for w in order}
            pairs.append(pair)
            print(f"pair {i + 1}/{a.pairs}: " + ", ".join(
                f"{w} {fmt(pair[w]['seconds_to_target'], 2)} s, {fmt(pair[w]['samples_per_s'], 0)} samples/s"
                for w in order), file=sys.stderr, flush=True)
    summary = summarize(pairs)
    print(json.dumps({"summary": summary, "runs": pairs}))
    print()
    print(table(summary))


if __name__ == "__main__":
    main()
