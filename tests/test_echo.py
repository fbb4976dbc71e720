"""The echo problem's pure functions (pipeline/echo.py), on examples and as invariants over many inputs
(hypothesis): examples that echo out_index, into fresh arrays or given buffers."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import echo, tokens
from tests.properties import FAST


def test_label_is_input_at_out_index():
    rng = np.random.default_rng(0)
    seqs = echo.random_sequences(rng, 1000, 6, 13)
    for out_index in (0, 3, 5):
        X, y = echo.make_examples(seqs, out_index, 13)
        assert (tokens.decode(y) == seqs[:, out_index]).all()
        assert (tokens.decode(X[:, out_index]) == tokens.decode(y)).all()


def test_every_row_is_one_hot_and_values_in_range():
    rng = np.random.default_rng(1)
    seqs = echo.random_sequences(rng, 5000, 5, 10)
    assert seqs.min() >= 0 and seqs.max() <= 9
    X, y = echo.make_examples(seqs, 2, 10)
    assert tokens.is_one_hot(X) and tokens.is_one_hot(y)


@pytest.mark.parametrize("n_features", [10, 2000])
def test_one_hot_into_buffers_matches_fresh_arrays(n_features):
    seqs = echo.random_sequences(np.random.default_rng(2), 300, 4, n_features)
    buffers = (np.full((300, 4, n_features), 7, np.uint8), np.full((300, n_features), 7, np.uint8))
    X, y = echo.make_examples(seqs, 1, n_features, out=buffers)
    fresh = echo.make_examples(seqs, 1, n_features)
    assert X.base is buffers[0] or X is buffers[0]
    assert (buffers[0] == fresh[0]).all() and (buffers[1] == fresh[1]).all()


@FAST
@given(st.integers(1, 7).flatmap(lambda length: st.tuples(
    st.just(length), st.integers(0, length - 1), st.integers(2, 40), st.integers(0, 30), st.integers(0, 2**32))))
def test_examples_echo_out_index(case):
    length, out_index, n_features, n, seed = case
    seqs = echo.random_sequences(np.random.default_rng(seed), n, length, n_features)
    assert seqs.shape == (n, length) and seqs.dtype == tokens.token_dtype(n_features)
    assert n == 0 or (seqs.min() >= 0 and seqs.max() < n_features)
    X, y = echo.make_examples(seqs, out_index, n_features)
    eye = np.eye(n_features, dtype=np.uint8)
    assert np.array_equal(X, eye[seqs]) and np.array_equal(y, eye[seqs[:, out_index]])
