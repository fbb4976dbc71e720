"""The problem's pure functions (pipeline/echo.py), on examples and as invariants over many inputs
(hypothesis): one-hot round trips, examples that echo out_index, the book's formatting of sequences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline import echo
from tests.properties import FAST


def test_one_hot_and_decode_are_inverse():
    tokens = np.array([[7, 0, 2, 6, 7], [9, 9, 1, 0, 3]], dtype=np.uint8)
    X = echo.one_hot(tokens, 10)
    assert X.shape == (2, 5, 10) and X.dtype == np.uint8
    assert (echo.decode(X) == tokens).all()
    assert X[0, 0, 7] == 1 and X[0, 0].sum() == 1


def test_label_is_input_at_out_index():
    rng = np.random.default_rng(0)
    tokens = echo.random_sequences(rng, 1000, 6, 13)
    for out_index in (0, 3, 5):
        X, y = echo.make_examples(tokens, out_index, 13)
        assert (echo.decode(y) == tokens[:, out_index]).all()
        assert (echo.decode(X[:, out_index]) == echo.decode(y)).all()


def test_every_row_is_one_hot_and_values_in_range():
    rng = np.random.default_rng(1)
    tokens = echo.random_sequences(rng, 5000, 5, 10)
    assert tokens.min() >= 0 and tokens.max() <= 9
    X, y = echo.make_examples(tokens, 2, 10)
    assert echo.is_one_hot(X) and echo.is_one_hot(y)


@pytest.mark.parametrize("bad", [np.zeros((2, 10), np.uint8), np.full((2, 10), 1, np.uint8),
                                 np.eye(10, dtype=np.uint8)[[1, 2]] * 2])
def test_is_one_hot_rejects(bad):
    assert not echo.is_one_hot(bad)


def test_wide_token_type():
    widths = {2: np.uint8, 256: np.uint8, 257: np.uint16, 65_536: np.uint16, 65_537: np.uint32}
    assert {n: echo.token_dtype(n) for n in widths} == widths  # the smallest type holding n - 1
    tokens = echo.random_sequences(np.random.default_rng(2), 100, 3, 300)
    assert (echo.decode(echo.one_hot(tokens, 300)) == tokens).all()


def test_format_sequence_like_the_book():
    assert echo.format_sequence([7, 0, 2, 6, 7]) == "[7, 0, 2, 6, 7]"


def test_format_sequence_shortens_past_most_values():
    twenty = list(range(20))
    assert echo.format_sequence(twenty) == "[" + ", ".join(map(str, twenty)) + "]"  # 20: all of them
    assert echo.format_sequence(list(range(21))) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 6 more ..., 16, 17, 18, 19, 20]"
    long = [i % 10 for i in range(1_234)]
    assert echo.format_sequence(long) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 1,219 more ..., 9, 0, 1, 2, 3]"
    assert echo.format_sequence(list(range(9)), most=8) == "[0, 1, 2, 3, ... 3 more ..., 7, 8]"


@pytest.mark.parametrize("n_features", [10, 2000])
def test_one_hot_into_buffers_matches_fresh_arrays(n_features):
    tokens = echo.random_sequences(np.random.default_rng(2), 300, 4, n_features)
    buffers = (np.full((300, 4, n_features), 7, np.uint8), np.full((300, n_features), 7, np.uint8))
    X, y = echo.make_examples(tokens, 1, n_features, out=buffers)
    fresh = echo.make_examples(tokens, 1, n_features)
    assert X.base is buffers[0] or X is buffers[0]
    assert (buffers[0] == fresh[0]).all() and (buffers[1] == fresh[1]).all()


def test_one_hot_rejects_tokens_out_of_range_and_wrong_buffers():
    with pytest.raises(ValueError, match="lie in"):
        echo.one_hot(np.array([[3, 10]], np.uint8), 10)
    with pytest.raises(ValueError, match="lie in"):
        echo.one_hot(np.array([[-1, 2]]), 10)
    with pytest.raises(ValueError, match="C-contiguous"):
        echo.one_hot(np.zeros((4, 3), np.uint8), 10, out=np.zeros((4, 10, 3), np.uint8).transpose(0, 2, 1))
    for wrong in (np.zeros((4, 3, 9), np.uint8), np.zeros((4, 3, 10), np.int8)):  # one shape, one type
        with pytest.raises(ValueError, match=r"of shape \(4, 3, 10\)"):
            echo.one_hot(np.zeros((4, 3), np.uint8), 10, out=wrong)


def test_long_sequences_are_shown_as_an_excerpt():
    line = echo.format_sequence(np.arange(1000) % 10)
    assert line == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 985 more ..., 5, 6, 7, 8, 9]"
    assert echo.format_sequence(np.arange(20) % 10) == "[" + ", ".join(str(i % 10) for i in range(20)) + "]"


# ---- invariants (hypothesis) ----

@st.composite
def tokens_and_width(draw):
    n_features = draw(st.integers(2, 300))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    tokens = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, n_features - 1)))
    return tokens, n_features


@FAST
@given(tokens_and_width())
def test_one_hot_round_trip(case):
    tokens, n_features = case
    X = echo.one_hot(tokens, n_features)
    assert X.shape == (*tokens.shape, n_features) and X.dtype == np.uint8
    assert np.array_equal(X, np.eye(n_features, dtype=np.uint8)[tokens])  # independent construction
    assert np.array_equal(echo.decode(X), tokens)
    assert echo.is_one_hot(X) or tokens.size == 0
    buffer = np.full(X.shape, 9, np.uint8)  # a dirty buffer is cleared first
    assert echo.one_hot(tokens, n_features, buffer) is buffer and np.array_equal(buffer, X)


@FAST
@given(st.integers(1, 7).flatmap(lambda length: st.tuples(
    st.just(length), st.integers(0, length - 1), st.integers(2, 40), st.integers(0, 30), st.integers(0, 2**32))))
def test_examples_echo_out_index(case):
    length, out_index, n_features, n, seed = case
    tokens = echo.random_sequences(np.random.default_rng(seed), n, length, n_features)
    assert tokens.shape == (n, length) and tokens.dtype == echo.token_dtype(n_features)
    assert n == 0 or (tokens.min() >= 0 and tokens.max() < n_features)
    X, y = echo.make_examples(tokens, out_index, n_features)
    eye = np.eye(n_features, dtype=np.uint8)
    assert np.array_equal(X, eye[tokens]) and np.array_equal(y, eye[tokens[:, out_index]])


@FAST
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=st.integers(0, 2)))
def test_is_one_hot_means_exactly_one_one_per_row(rows):
    expected = all(sorted(r.tolist()) == [0] * (len(r) - 1) + [1] for r in rows)
    assert echo.is_one_hot(rows) == expected
