"""What the training peers (torch_peer.py, jax_peer.py) share: their command line and their data.

Each peer runs in its own virtual environment and imports nothing of the project; this module needs
only NumPy and the standard library, and is found beside the peer's script.
"""
import argparse
import json

import numpy as np


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", default="32,128,512", help="comma-separated")
    p.add_argument("--samples", type=int, default=131_072, help="training sequences held in memory")
    p.add_argument("--max-steps", type=int, default=4096,
                   help="at most this many batches per pass (small batches take fewer sequences)")
    p.add_argument("--passes", type=int, default=2, help="timed passes over them")
    p.add_argument("--eval-samples", type=int, default=10_000)
    p.add_argument("--length", type=int, default=5)
    p.add_argument("--n-features", type=int, default=10)
    p.add_argument("--out-index", type=int, default=2)
    p.add_argument("--units", type=int, default=25)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    return p


def parse(p: argparse.ArgumentParser, argv=None):
    """The arguments and the batch sizes, checked."""
    args = p.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if not 0 <= args.out_index < args.length:
        p.error(f"--out-index must be in [0, {args.length})")
    if min(batch_sizes) < 1 or max(batch_sizes) > args.samples or args.passes < 1 or args.max_steps < 1:
        p.error("need 1 <= batch size <= --samples, --passes >= 1 and --max-steps >= 1")
    return args, batch_sizes


def pass_rows(args, batch_size: int) -> int:
    """Sequences in one timed pass: whole batches, at most --max-steps of them."""
    return min(args.samples // batch_size, args.max_steps) * batch_size


def echo_tokens(args, rows: int, rng: np.random.Generator):
    """Token sequences (rows, length) and the token to echo (rows,)."""
    tokens = rng.integers(0, args.n_features, size=(rows, args.length))
    return tokens, tokens[:, args.out_index]


def print_results(args, batch_sizes, echo_data, measure) -> None:
    """One JSON line per batch size, each from a fresh model on the same data: echo_data(args, rows,
    rng) -> (X, y); measure(X, y, X_eval, y_eval, batch_size, args) -> dict."""
    rng = np.random.default_rng(args.seed)
    X, y = echo_data(args, args.samples, rng)
    X_eval, y_eval = echo_data(args, args.eval_samples, rng)
    for batch_size in batch_sizes:
        print(json.dumps(measure(X, y, X_eval, y_eval, batch_size, args)), flush=True)
