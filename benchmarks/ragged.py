"""Sequences of very different lengths: a long-tailed token dataset to import and train on, its baseline of
the same steps in rows of one length, and a training run padded the old way (every batch to the longest).

    python -m benchmarks.ragged csv data/dna_train.csv --n 4000 --seed 0   # lengths 5 to 20,000, log-uniform
    python -m benchmarks.ragged csv data/flat_train.csv --n 4000 --seed 0 --equal   # the same steps, one length
    python -m benchmarks.ragged csv data/flat_test.csv --n 400 --seed 1 --length 2357   # the train rows' length
    python -m benchmarks.ragged train data/digits.h5 artifacts/digits/model.keras --longest -- --epochs 2
    python -m benchmarks.ragged masked data/flat.h5 data/flat-masked.h5   # one length, read as if they varied

`csv` writes a file `import` reads: label,token,token,... with 3 classes, each of which makes one of 4
tokens a little more likely (so that longer sequences are easier). `train` runs pipeline.train with the
given options; with --longest, the reader pads every batch to the longest sequence (one bucket length),
as the stages did before sequences were stored without padding. `masked` copies a dataset of one length
and marks it as of different lengths (every length stored), so that its model masks padding: the cost
of masking alone, apart from padding.
"""
import argparse
import sys

import numpy as np

SHORTEST, LONGEST, TOKENS, CLASSES = 5, 20_000, 4, 3


def lengths(n: int, rng: np.random.Generator, equal: int = 0) -> np.ndarray:
    """Log-uniform lengths in [SHORTEST, LONGEST]; equal: every row that many steps instead, or (-1) their
    mean length (the same steps, give or take a row's rounding)."""
    drawn = np.exp(rng.uniform(np.log(SHORTEST), np.log(LONGEST + 1), n)).astype(np.int64)
    return np.full(n, round(drawn.mean()) if equal < 0 else equal) if equal else drawn


def write_csv(path, n: int, seed: int, equal: int = 0) -> int:
    """n lines of label,token,...; returns the steps written."""
    rng = np.random.default_rng(seed)
    sizes, labels = lengths(n, rng, equal), rng.integers(0, CLASSES, n)
    with open(path, "w") as f:
        for size, label in zip(sizes.tolist(), labels.tolist()):
            p = np.full(TOKENS, 1.0)
            p[label] = 1.6
            steps = rng.choice(TOKENS, size, p=p / p.sum())
            f.write(f"c{label}," + ",".join(map(str, steps.tolist())) + "\n")
    return int(sizes.sum())


def train_padded_to_the_longest(data_path, out, options: list) -> None:
    """pipeline.train's command with every batch padded to the longest sequence."""
    from pipeline import batches, train

    batches.bucket_lengths = lambda longest, *a, **k: np.array([longest], np.int64)
    train.cli.main([f"--data={data_path}", f"--out={out}", *options], standalone_mode=True)


def as_variable(src, dst) -> None:
    """A copy of a dataset of sequences of one length, marked as of different lengths (its content hash
    then no longer matches: for timing only)."""
    import shutil

    import h5py

    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        for split in ("train", "val", "test"):
            f[split]["lengths"] = np.full(len(f[split]["y"]), f.attrs["length"], np.int32)
        f.attrs["variable_length"] = True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    csv = sub.add_parser("csv", help="write a long-tailed token dataset as CSV")
    csv.add_argument("out")
    csv.add_argument("--n", type=int, default=4000)
    csv.add_argument("--seed", type=int, default=0)
    csv.add_argument("--equal", action="store_const", const=-1, default=0, help="every row of the mean length")
    csv.add_argument("--length", type=int, dest="equal", help="every row of this length")
    run = sub.add_parser("train", help="train, optionally padding every batch to the longest")
    run.add_argument("data")
    run.add_argument("out")
    run.add_argument("--longest", action="store_true")
    masked = sub.add_parser("masked", help="copy a dataset of one length, marked as of different lengths")
    masked.add_argument("src")
    masked.add_argument("dst")
    args, options = parser.parse_known_args(argv)  # train's options, after --
    options = [o for o in options if o != "--"]
    if options and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    if args.command == "masked":
        as_variable(args.src, args.dst)
    elif args.command == "csv":
        steps = write_csv(args.out, args.n, args.seed, args.equal)
        print(f"wrote {args.out}: {args.n:,} sequences, {steps:,} steps")
    elif args.longest:
        train_padded_to_the_longest(args.data, args.out, options)
    else:
        from pipeline import train
        train.cli.main([f"--data={args.data}", f"--out={args.out}", *options])


if __name__ == "__main__":
    sys.exit(main())
