"""pipeline/batches.py: the bucket lengths are few and bound the padding; batches of a block hold each row
once, of similar lengths; padding puts every stored step back at its place; rows that come in any order
within blocks are given back in file order (hypothesis, over many inputs)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import batches
from tests.properties import FAST


@pytest.mark.parametrize("longest", [1, 5, 8, 9, 92, 1000, 18_921, 20_000, 1_000_000])
def test_bucket_lengths_are_few_increasing_and_end_at_the_longest(longest):
    buckets = batches.bucket_lengths(longest)
    most = 1 + math.ceil(math.log(max(longest, 8) / 8) / math.log(batches.BUCKET_RATIO))
    assert len(buckets) <= most and buckets[-1] == longest and (np.diff(buckets) > 0).all()
    assert buckets[0] == min(longest, batches.SMALLEST_BUCKET)
    assert (buckets[1:] <= np.ceil(buckets[:-1] * batches.BUCKET_RATIO) + 1).all()  # padding bounded by the ratio
    assert len(batches.bucket_lengths(20_000)) == 45 and len(batches.bucket_lengths(92)) == 14


@FAST
@given(st.lists(st.integers(1, 500), min_size=1, max_size=60), st.integers(1, 500))
def test_each_length_is_padded_to_the_shortest_bucket_that_holds_it(lengths, longest):
    lengths = np.minimum(lengths, longest)
    buckets = batches.bucket_lengths(longest)
    width = batches.bucket_of(lengths, buckets)
    assert (width >= lengths).all() and np.isin(width, buckets).all()
    below = buckets[np.maximum(np.searchsorted(buckets, width) - 1, 0)]
    assert ((below < lengths) | (width == buckets[0])).all()


@FAST
@given(st.lists(st.integers(1, 200), min_size=1, max_size=80), st.integers(1, 20), st.one_of(st.none(),
       st.integers(0, 1000)), st.booleans())
def test_batches_hold_every_row_once_sorted_by_length(lengths, batch_size, seed, drop):
    lengths = np.array(lengths)
    rng = None if seed is None else np.random.default_rng(seed)
    order = batches.batch_order(lengths, batch_size, rng, drop)
    rows = np.concatenate(order) if order else np.zeros(0, int)
    assert len(set(rows.tolist())) == len(rows) and all(0 < len(b) <= batch_size for b in order)
    assert len(rows) == (len(lengths) // batch_size * batch_size if drop else len(lengths))
    if rng is None:  # by length, and the batches in order of length
        assert (np.diff(lengths[rows]) >= 0).all()
    else:  # each batch sorted up to the jitter, the batches in any order
        for b in order:
            assert (lengths[b][:-1] <= lengths[b][1:] * (1 + batches.JITTER)).all()


def test_a_shuffled_block_gives_other_batches_in_another_order():
    lengths = np.random.default_rng(0).integers(1, 100, 400)
    one, two = (batches.batch_order(lengths, 10, np.random.default_rng(s)) for s in (1, 2))
    assert [b.tolist() for b in one] != [b.tolist() for b in two]
    assert sorted(np.concatenate(one).tolist()) == sorted(np.concatenate(two).tolist()) == list(range(400))
    spread = np.median([np.ptp(lengths[b]) for b in one])
    assert spread <= 15  # rows of similar lengths together (100 lengths over 40 batches: about 3 apart)


@FAST
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40), st.integers(1, 9), st.integers(0, 100))
def test_padded_batches_put_every_step_back_in_its_row(lengths, batch_size, seed):
    lengths = np.array(lengths)
    rng = np.random.default_rng(seed)
    steps = rng.integers(1, 200, (int(lengths.sum()), 3)).astype(np.uint8)  # never the padding, 0
    rows = np.split(steps, np.cumsum(lengths)[:-1])
    buckets = batches.bucket_lengths(int(lengths.max()), smallest=2)
    out = batches.padded_batches(steps, lengths, batches.batch_order(lengths, batch_size, rng), buckets)
    seen = []
    for first_step, first_row, size, width in out["table"].tolist():
        X = out["X"][first_step:first_step + size * width].reshape(size, width, 3)
        index = out["rows"][first_row:first_row + size]
        assert width == batches.bucket_of(lengths[index].max(), buckets)
        for x, i in zip(X, index):
            assert np.array_equal(x[:lengths[i]], rows[i]) and not x[lengths[i]:].any()
            seen.append(i)
    assert sorted(seen) == list(range(len(lengths))) and len(out["X"]) == sum(
        n * w for _, _, n, w in out["table"].tolist())


def test_pad_rows_pads_each_row_after_its_steps():
    steps = np.arange(1, 7, dtype=np.float32)[:, None]
    out = batches.pad_rows(steps, np.array([3, 1, 2]), 4, pad_value=-1.0)
    assert out[..., 0].tolist() == [[1, 2, 3, -1], [4, -1, -1, -1], [5, 6, -1, -1]]


@FAST
@given(st.lists(st.integers(1, 12), min_size=1, max_size=10), st.integers(0, 100))
def test_rows_in_any_order_within_blocks_come_back_in_file_order(blocks, seed):
    rng, order, got, first = np.random.default_rng(seed), batches.InFileOrder(), [], 0
    for size in blocks:
        rows = rng.permutation(np.arange(first, first + size))
        for part in np.array_split(rows, rng.integers(1, size + 1)):
            got += order.add(part, [f"row {i}" for i in part])
        first += size
    assert got == [f"row {i}" for i in range(first)] and not order.pending
