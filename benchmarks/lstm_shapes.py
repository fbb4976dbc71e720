"""The training steps measured against the PyTorch peer (benchmarks/lstm_steps.py, torch_lstm_steps.py): a
batch of real-valued series, and the same batch for ours and the peer. NumPy and the standard library only:
the peer, in its own environment, finds this module beside its script.

- equal: 32 series of 251 steps, 1 feature, all of one length;
- varied: 32 series of 29 to 361 steps (uniform), padded after their last step to the longest.
"""
import statistics
import time
import types

import numpy as np

UNITS, CLASSES, BATCH, PAD = 128, 10, 32, -10.0  # PAD: below every value, as import pads real-valued series
SHAPES = {"equal": (251, 251), "varied": (29, 361)}  # shortest and longest row


def batch(shape: str, seed: int = 0) -> dict:
    """X (BATCH, longest, 1) float32 padded with PAD, lengths (BATCH,) int64 (the shortest and the longest
    among them), y (BATCH,) int64 classes."""
    shortest, longest = SHAPES[shape]
    rng = np.random.default_rng(seed)
    lengths = rng.integers(shortest, longest + 1, BATCH)
    lengths[:2] = shortest, longest
    X = np.full((BATCH, longest, 1), PAD, np.float32)
    for row, n in zip(X, lengths):
        row[:n, 0] = np.sin(np.arange(n) / 8 + rng.uniform(0, 6)) + rng.normal(0, 0.3, n)
    return {"X": X, "lengths": lengths.astype(np.int64), "y": rng.integers(0, CLASSES, BATCH)}


def rounds_of(calls: int):
    """timed()'s args for about `calls` timed calls: 5 warm-up calls, then 5 rounds."""
    return types.SimpleNamespace(warmup=5, rounds=5, steps=max(1, calls // 5))


def timed(step, args) -> dict:
    """ms per call of step(): args.warmup untimed calls, then the median of args.rounds rounds of
    args.steps calls."""
    for _ in range(args.warmup):
        step()
    rounds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rounds.append((time.perf_counter() - start) / args.steps * 1e3)
    return {"ms_per_step": round(statistics.median(rounds), 2), "rounds": [round(r, 2) for r in rounds]}
