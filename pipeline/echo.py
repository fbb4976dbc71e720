"""The echo problem as pure NumPy functions: random sequences, one-hot encoding, labels.

A sample is a sequence of `length` integers in [0, n_features); its label is the integer at
`out_index`. Inputs are one-hot (length, n_features), labels one-hot (n_features,), both uint8.
"""
import functools

import numpy as np


def token_dtype(n_features: int) -> np.dtype:
    """Smallest unsigned integer type that holds values below n_features."""
    return np.dtype(np.uint8 if n_features <= 256 else np.uint16 if n_features <= 65536 else np.uint32)


def random_sequences(rng: np.random.Generator, n: int, length: int, n_features: int) -> np.ndarray:
    """n sequences of uniform random integers in [0, n_features), shape (n, length)."""
    return rng.integers(0, n_features, size=(n, length), dtype=token_dtype(n_features))


def one_hot(tokens: np.ndarray, n_features: int, out: np.ndarray | None = None) -> np.ndarray:
    """One-hot encode integer tokens of any shape into uint8 (..., n_features), into `out` if given
    (a C-contiguous uint8 array of that shape)."""
    tokens = np.asarray(tokens)
    shape = (*tokens.shape, n_features)
    if out is None:
        out = np.zeros(shape, np.uint8)
    elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8 of shape {shape}")
    else:
        out.fill(0)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= n_features):
        raise ValueError(f"tokens must lie in [0, {n_features})")
    # One byte set per token at its flat offset: twice as fast as gathering rows of an identity matrix.
    out.reshape(-1)[_row_starts(tokens.size, n_features) + tokens.reshape(-1)] = 1
    return out


@functools.lru_cache(maxsize=8)
def _row_starts(rows: int, n_features: int) -> np.ndarray:
    starts = np.arange(rows, dtype=np.intp) * n_features
    starts.flags.writeable = False
    return starts


def decode(one_hot_rows: np.ndarray) -> np.ndarray:
    """Inverse of one_hot: the index of the hot entry along the last axis."""
    return np.asarray(one_hot_rows).argmax(axis=-1)


def make_examples(tokens: np.ndarray, out_index: int, n_features: int,
                  out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X (n, length, n_features) and labels y (n, n_features) for the echo of out_index,
    into the arrays `out` (X, y) if given."""
    X, y = out or (None, None)
    return one_hot(tokens, n_features, X), one_hot(tokens[:, out_index], n_features, y)


def is_one_hot(rows: np.ndarray) -> bool:
    """True when every row along the last axis has exactly one 1 and zeros elsewhere."""
    rows = np.asarray(rows)
    return bool(((rows == 0) | (rows == 1)).all() and (rows.sum(axis=-1, dtype=np.int64) == 1).all())


def class_names(n_features: int) -> list:
    """The echo's classes: the values themselves, as text."""
    return [str(i) for i in range(n_features)]


def problem(length: int | None, n_features: int, out_index: int) -> dict:
    """The echo problem as data.DatasetInfo.problem describes a dataset's: fixed-length one-hot tokens,
    the values themselves as classes."""
    return {"kind": "tokens", "length": length, "n_features": n_features, "n_classes": n_features,
            "classes": class_names(n_features), "variable": False, "pad_value": 0.0, "out_index": out_index}


def format_sequence(tokens, most: int = 20) -> str:
    """The book's way of printing a sequence: [7, 0, 2, 6, 7]; over `most` values, the first and last
    few around a count of those left out: [7, 0, 2, ... 990 more ..., 4, 1]."""
    values = [str(int(t)) for t in tokens]
    if len(values) > most:
        head, tail = most // 2, most // 4
        values = [*values[:head], f"... {len(values) - head - tail:,} more ...", *values[-tail:]]
    return "[" + ", ".join(values) + "]"
