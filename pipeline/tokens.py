"""Sequences of tokens (whole numbers in [0, n_features)) as the model takes them: one-hot encoding and
decoding, the smallest integer type that holds them, padding, and the book's way of printing one. NumPy
only; no stage-specific logic: data.py, the echo problem, import, predict and inspect all use it.
"""
import functools

import numpy as np

PAD_TOKEN = -1  # pads a shorter sequence of tokens: its one-hot step is all zeros, which the model masks


def token_dtype(n_features: int) -> np.dtype:
    """Smallest unsigned integer type that holds values below n_features."""
    return np.dtype(np.uint8 if n_features <= 256 else np.uint16 if n_features <= 65536 else np.uint32)


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


def is_one_hot(rows: np.ndarray) -> bool:
    """True when every row along the last axis has exactly one 1 and zeros elsewhere."""
    rows = np.asarray(rows)
    return bool(((rows == 0) | (rows == 1)).all() and (rows.sum(axis=-1, dtype=np.int64) == 1).all())


def padded_one_hot(sequences: list, length: int, n_features: int) -> np.ndarray:
    """Token sequences as the model takes them: one-hot float32 (rows, length, n_features), shorter ones
    padded with all-zero steps (PAD_TOKEN)."""
    tokens = np.full((len(sequences), length), PAD_TOKEN, np.int64)
    for row, seq in zip(tokens, sequences):
        row[:len(seq)] = seq
    hot = one_hot(np.maximum(tokens, 0), n_features)
    hot[tokens == PAD_TOKEN] = 0
    return hot.astype(np.float32)


def format_sequence(tokens, most: int = 20) -> str:
    """The book's way of printing a sequence: [7, 0, 2, 6, 7]; over `most` values, the first and last
    few around a count of those left out: [7, 0, 2, ... 990 more ..., 4, 1]."""
    values = [str(int(t)) for t in tokens]
    if len(values) > most:
        head, tail = most // 2, most // 4
        values = [*values[:head], f"... {len(values) - head - tail:,} more ...", *values[-tail:]]
    return "[" + ", ".join(values) + "]"
