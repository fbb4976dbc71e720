"""Token encoding (pipeline/tokens.py), on examples and as invariants over many inputs (hypothesis):
one-hot round trips, the smallest token type, padding, the book's formatting of sequences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline import echo, tokens
from tests.properties import FAST


def test_one_hot_and_decode_are_inverse():
    seqs = np.array([[7, 0, 2, 6, 7], [9, 9, 1, 0, 3]], dtype=np.uint8)
    X = tokens.one_hot(seqs, 10)
    assert X.shape == (2, 5, 10) and X.dtype == np.uint8
    assert (tokens.decode(X) == seqs).all()
    assert X[0, 0, 7] == 1 and X[0, 0].sum() == 1


@pytest.mark.parametrize("bad", [np.zeros((2, 10), np.uint8), np.full((2, 10), 1, np.uint8),
                                 np.eye(10, dtype=np.uint8)[[1, 2]] * 2])
def test_is_one_hot_rejects(bad):
    assert not tokens.is_one_hot(bad)


def test_wide_token_type():
    widths = {2: np.uint8, 256: np.uint8, 257: np.uint16, 65_536: np.uint16, 65_537: np.uint32}
    assert {n: tokens.token_dtype(n) for n in widths} == widths  # the smallest type holding n - 1
    seqs = echo.random_sequences(np.random.default_rng(2), 100, 3, 300)
    assert (tokens.decode(tokens.one_hot(seqs, 300)) == seqs).all()


def test_format_sequence_like_the_book():
    assert tokens.format_sequence([7, 0, 2, 6, 7]) == "[7, 0, 2, 6, 7]"


def test_format_sequence_shortens_past_most_values():
    twenty = list(range(20))
    assert tokens.format_sequence(twenty) == "[" + ", ".join(map(str, twenty)) + "]"  # 20: all of them
    shown = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 6 more ..., 16, 17, 18, 19, 20]"
    assert tokens.format_sequence(list(range(21))) == shown
    long = [i % 10 for i in range(1_234)]
    assert tokens.format_sequence(long) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 1,219 more ..., 9, 0, 1, 2, 3]"
    assert tokens.format_sequence(list(range(9)), most=8) == "[0, 1, 2, 3, ... 3 more ..., 7, 8]"


def test_one_hot_rejects_tokens_out_of_range_and_wrong_buffers():
    with pytest.raises(ValueError, match="lie in"):
        tokens.one_hot(np.array([[3, 10]], np.uint8), 10)
    with pytest.raises(ValueError, match="lie in"):
        tokens.one_hot(np.array([[-1, 2]]), 10)
    with pytest.raises(ValueError, match="C-contiguous"):
        tokens.one_hot(np.zeros((4, 3), np.uint8), 10, out=np.zeros((4, 10, 3), np.uint8).transpose(0, 2, 1))
    for wrong in (np.zeros((4, 3, 9), np.uint8), np.zeros((4, 3, 10), np.int8)):  # one shape, one type
        with pytest.raises(ValueError, match=r"of shape \(4, 3, 10\)"):
            tokens.one_hot(np.zeros((4, 3), np.uint8), 10, out=wrong)


def test_long_sequences_are_shown_as_an_excerpt():
    line = tokens.format_sequence(np.arange(1000) % 10)
    assert line == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 985 more ..., 5, 6, 7, 8, 9]"
    assert tokens.format_sequence(np.arange(20) % 10) == "[" + ", ".join(str(i % 10) for i in range(20)) + "]"


@st.composite
def tokens_and_width(draw):
    n_features = draw(st.integers(2, 300))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    seqs = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, n_features - 1)))
    return seqs, n_features


@FAST
@given(tokens_and_width())
def test_one_hot_round_trip(case):
    seqs, n_features = case
    X = tokens.one_hot(seqs, n_features)
    assert X.shape == (*seqs.shape, n_features) and X.dtype == np.uint8
    assert np.array_equal(X, np.eye(n_features, dtype=np.uint8)[seqs])  # independent construction
    assert np.array_equal(tokens.decode(X), seqs)
    assert tokens.is_one_hot(X) or seqs.size == 0
    buffer = np.full(X.shape, 9, np.uint8)  # a dirty buffer is cleared first
    assert tokens.one_hot(seqs, n_features, buffer) is buffer and np.array_equal(buffer, X)


@FAST
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=st.integers(0, 2)))
def test_is_one_hot_means_exactly_one_one_per_row(rows):
    expected = all(sorted(r.tolist()) == [0] * (len(r) - 1) + [1] for r in rows)
    assert tokens.is_one_hot(rows) == expected


def test_shorter_sequences_are_padded_with_all_zero_steps():
    hot = tokens.padded_one_hot([np.array([2, 0]), np.array([1, 1, 3])], length=3, n_features=4)
    assert hot.dtype == np.float32
    assert hot.tolist() == [[[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]]
