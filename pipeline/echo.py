"""The echo problem as pure NumPy functions: random sequences, one-hot encoding, labels.

A sample is a sequence of `length` integers in [0, n_features); its label is the integer at
`out_index`. Inputs are one-hot (length, n_features), labels one-hot (n_features,), both uint8.
"""
import numpy as np


def token_dtype(n_features: int) -> np.dtype:
    """Smallest unsigned integer type that holds values below n_features."""
    return np.dtype(np.uint8 if n_features <= 256 else np.uint16 if n_features <= 65536 else np.uint32)


def random_sequences(rng: np.random.Generator, n: int, length: int, n_features: int) -> np.ndarray:
    """n sequences of uniform random integers in [0, n_features), shape (n, length)."""
    return rng.integers(0, n_features, size=(n, length), dtype=token_dtype(n_features))


def one_hot(tokens: np.ndarray, n_features: int, out: np.ndarray | None = None) -> np.ndarray:
    """One-hot encode integer tokens of any shape into uint8 (..., n_features), into `out` if given."""
    tokens = np.asarray(tokens)
    if n_features <= 1024:  # rows of an identity matrix: a gather, ~6x faster than comparing
        return np.take(np.eye(n_features, dtype=np.uint8), tokens, axis=0, out=out)
    hot = np.equal(tokens[..., None], np.arange(n_features, dtype=tokens.dtype),
                   out=None if out is None else out.view(bool))
    return hot.view(np.uint8)


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


def format_sequence(tokens) -> str:
    """The book's way of printing a sequence: [7, 0, 2, 6, 7]."""
    return "[" + ", ".join(str(int(t)) for t in tokens) + "]"
