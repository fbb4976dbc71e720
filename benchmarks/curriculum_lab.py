"""In-memory lab for the length curriculum: the same model and advancing rule as `train`, without HDF5.

Fresh random sequences every batch (or --pool N rows drawn again and again, like a training split),
one-hot in TensorFlow; half the batches at the current length and half at an earlier one; an epoch of
--epoch-steps batches; advance at training accuracy --advance; validation on --n-val fresh full-length
sequences, only at the full length; stop at validation accuracy 0.999 or after --max-seconds. Prints
one line per epoch and a JSON summary. The figures in docs/experiments.md that name this script come
from it, e.g.

    .venv/bin/python -m benchmarks.curriculum_lab --length 1000 --stages 5,10,20,40,80,160,320,640 \\
        --units 32 --chrono 1000 --lr 0.0008 --lr-at-length 1000 --seed 1 --threads 1

--deterministic (the default) turns on TensorFlow's op determinism: a seed gives the same run twice,
so two settings can be compared on the same seeds. --step-time N only times N training steps at the
full length (--units, --batch) and prints the peak RSS.
"""
import argparse
import json
import resource
import time

import numpy as np

from pipeline import echo
from pipeline.curriculum import phase_learning_rate
from pipeline.model import build_model, chrono_init, compile_model, make_optimizer


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--length", type=int, default=5000)
    p.add_argument("--out-index", type=int, default=2)
    p.add_argument("--stages", default="5,10,20,40,80,160,320,640,1280,2560", help="prefix lengths")
    p.add_argument("--units", type=int, default=32)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.002, help="Adam's rate from --lr-at-length on")
    p.add_argument("--lr-at-length", type=int, default=0, help="shorter stages: lr * sqrt(N / length)")
    p.add_argument("--lr-decay-from", type=int, default=0,
                   help="longer stages: lr * sqrt(N / length), down to --lr-floor (an alternative tried)")
    p.add_argument("--lr-floor", type=float, default=0.0)
    p.add_argument("--chrono", type=int, default=0, help="chrono initialisation for lags up to this")
    p.add_argument("--clipnorm", type=float, default=1.0)
    p.add_argument("--epoch-steps", type=int, default=32)
    p.add_argument("--advance", type=float, default=0.999)
    p.add_argument("--pool", type=int, default=0, help="draw batches from this many fixed rows (0: fresh)")
    p.add_argument("--n-val", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=1200)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--step-time", type=int, default=0, metavar="STEPS",
                   help="only time this many training steps at the full length (after one to trace)")
    return p.parse_args(argv)


def step_time(net, batch, a) -> dict:
    """Seconds per training step at the full length, and the process's peak RSS."""
    X, y = batch(a.length)
    net.train_on_batch(X, y)
    t = time.perf_counter()
    for _ in range(a.step_time):
        net.train_on_batch(X, y)
    seconds = (time.perf_counter() - t) / a.step_time
    return {"length": a.length, "units": a.units, "batch": a.batch, "seconds_per_step": round(seconds, 3),
            "sequences_per_s": round(a.batch / seconds),
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)}


def rate(a, length: int) -> float:
    lr = phase_learning_rate(a.lr, length, a.lr_at_length)
    if a.lr_decay_from and length > a.lr_decay_from:
        lr = max(a.lr_floor, lr * (a.lr_decay_from / length) ** 0.5)
    return lr


def main(argv=None):
    a = arguments(argv)
    from pipeline.backend import keras, tf

    if a.threads:
        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    if a.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(a.seed)
    rng = np.random.default_rng(a.seed + 1000)
    plan = [int(s) for s in a.stages.split(",") if s] + [a.length]
    net = build_model(echo.problem(None, 10, 0), {"units": a.units, "unroll": False})
    if a.chrono:
        chrono_init(net, a.chrono, a.seed)
    optimizer = make_optimizer("adam", a.lr, 0, a.clipnorm)
    compile_model(net, optimizer)
    pool = rng.integers(0, 10, (a.pool, a.length), dtype=np.int8) if a.pool else None

    def batch(length, n=a.batch, fresh=False):
        tokens = pool[rng.integers(0, a.pool, n), :length] if pool is not None and not fresh \
            else rng.integers(0, 10, (n, length))
        return tf.one_hot(tokens, 10), tf.one_hot(tokens[:, a.out_index], 10)

    if a.step_time:
        print(json.dumps(step_time(net, batch, a)))
        return
    X_val, y_val = batch(a.length, a.n_val, fresh=True)
    t0, stage, epoch, log, sequences = time.perf_counter(), 0, 0, [], 0
    reached = False
    while time.perf_counter() - t0 < a.max_seconds and not reached:
        epoch += 1
        keras.backend.set_value(optimizer.learning_rate, rate(a, plan[stage]))
        accuracies, t = [], time.perf_counter()
        for _ in range(a.epoch_steps):
            length = plan[rng.integers(0, stage)] if stage and rng.random() < 0.5 else plan[stage]
            accuracies.append(net.train_on_batch(*batch(length))[1])
            sequences += a.batch
        accuracy = float(np.mean(accuracies))
        line = (f"epoch {epoch} length {plan[stage]} lr {rate(a, plan[stage]):.6f} accuracy {accuracy:.4f} "
                f"({time.perf_counter() - t:.1f} s, t={time.perf_counter() - t0:.0f} s)")
        if stage == len(plan) - 1:
            val = net.evaluate(X_val, y_val, batch_size=500, verbose=0)[1]
            line += f" val {val:.4f}"
            reached = val >= 0.999
        print(line, flush=True)
        if accuracy >= a.advance and stage < len(plan) - 1:
            stage += 1
            log.append({"length": plan[stage], "from_epoch": epoch + 1, "t": round(time.perf_counter() - t0)})
    print(json.dumps({"args": vars(a), "reached": reached, "seconds": round(time.perf_counter() - t0, 1),
                      "epochs": epoch, "sequences": sequences, "stages": log,
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)}))


if __name__ == "__main__":
    main()
