"""The echo problem as pure NumPy functions: random sequences, their examples and labels.

A sample is a sequence of `length` integers in [0, n_features); its label is the integer at
`out_index`. Inputs are one-hot (length, n_features), labels one-hot (n_features,), both uint8
(the encoding: tokens.py).
"""
import numpy as np

from pipeline import tokens


def random_sequences(rng: np.random.Generator, n: int, length: int, n_features: int) -> np.ndarray:
    """n sequences of uniform random integers in [0, n_features), shape (n, length)."""
    return rng.integers(0, n_features, size=(n, length), dtype=tokens.token_dtype(n_features))


def make_examples(seqs: np.ndarray, out_index: int, n_features: int,
                  out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X (n, length, n_features) and labels y (n, n_features) for the echo of out_index,
    into the arrays `out` (X, y) if given."""
    X, y = out or (None, None)
    return tokens.one_hot(seqs, n_features, X), tokens.one_hot(seqs[:, out_index], n_features, y)


def class_names(n_features: int) -> list:
    """The echo's classes: the values themselves, as text."""
    return [str(i) for i in range(n_features)]


def problem(length: int | None, n_features: int, out_index: int) -> dict:
    """The echo problem as data.DatasetInfo.problem describes a dataset's: fixed-length one-hot tokens,
    the values themselves as classes."""
    return {"kind": "tokens", "length": length, "n_features": n_features, "n_classes": n_features,
            "classes": class_names(n_features), "variable": False, "pad_value": 0.0, "out_index": out_index}
