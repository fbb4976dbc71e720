"""The tf.data reader: every training row once per pass, shuffled; evaluation in file order; shards; the
record of blocks read; and, over many inputs (hypothesis), every row once for any block and batch size."""
from collections import Counter

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import data, generate, reader
from pipeline.reader import Reading
from tests.conftest import TINY
from tests.properties import SLOW


@pytest.fixture(scope="module")
def info(tiny_data):
    return data.describe(tiny_data)


def _rows(ds, limit=None, rows=None):
    """(X, y) of the first `limit` batches, or of a pass that should end after `rows` rows: reading stops
    one batch past them, so a dataset that never ends shows as rows too many."""
    assert (limit is None) != (rows is None)
    xs, ys, n = [], [], 0
    for X, y in ds.take(limit) if limit else ds:
        xs.append(X.numpy()), ys.append(y.numpy())
        n += len(X)
        if rows is not None and n > rows:
            break
    return np.concatenate(xs), np.concatenate(ys)


def _file(info, split):
    X, y = data.read_padded(info.path, split)
    return X.astype(np.float32), y.astype(np.float32)


def _sorted_rows(X, y):
    flat = np.concatenate([X.reshape(len(X), -1), y], axis=1)
    return flat[np.lexsort(flat.T[::-1])]


@pytest.mark.parametrize("batch_size,rows_per_block", [(256, 0), (300, 900), (7, 1000)])
def test_each_training_row_once_per_pass(info, batch_size, rows_per_block):
    from pipeline import reader

    ds = reader.make_dataset(info, "train", batch_size, Reading(shuffle_seed=3, rows_per_block=rows_per_block))
    X, y = _rows(ds, rows=info.rows["train"])
    FX, Fy = _file(info, "train")
    assert len(X) == len(FX)
    assert np.array_equal(_sorted_rows(X, y), _sorted_rows(FX, Fy))
    assert not np.array_equal(X, FX)  # shuffled


def test_whole_batches_have_a_static_shape_and_differ_per_pass(info):
    from pipeline import reader

    batch_size, n = 3000, info.rows["train"]  # 20,000 rows: 6 whole batches and 2,000 left out per pass
    ds = reader.make_dataset(info, "train", batch_size, Reading(shuffle_seed=3, repeat=True, drop_remainder=True))
    assert ds.element_spec[0].shape == (batch_size, info.length, info.n_features)
    passes = [_rows(ds.skip(k * (n // batch_size)), n // batch_size) for k in range(2)]
    file_rows = Counter(r.tobytes() for r in _sorted_rows(*_file(info, "train")))
    counts = []
    for X, y in passes:
        assert len(X) == n // batch_size * batch_size
        counts.append(Counter(r.tobytes() for r in _sorted_rows(X, y)))
        assert not counts[-1] - file_rows  # rows of the file, none more often than there
    assert counts[0] != counts[1]  # a different 2,000 left out


@pytest.mark.parametrize("per_call", [2, 3])
def test_calls_of_whole_batches_hold_each_row_at_most_once_per_pass(info, per_call):
    """Reading(steps_per_call=g): elements of g whole batches of 100 rows; a block's rows past its last whole call
    are left out (900-row blocks hold 4 calls of 200 rows, or 3 of 300)."""
    from pipeline import reader

    n, block, rows = info.rows["train"], 900, per_call * 100
    how = Reading(shuffle_seed=3, repeat=True, rows_per_block=block, steps_per_call=per_call)
    ds = reader.make_dataset(info, "train", 100, how)
    assert ds.element_spec[0].shape == (per_call, 100, info.length, info.n_features)
    assert ds.element_spec[1].shape == (per_call, 100, info.n_classes)
    per_pass = sum(min(block, n - start) // rows for start in range(0, n, block))
    X, y = (a.reshape(-1, *a.shape[2:]) for a in _rows(ds, 2 * per_pass))
    assert len(X) == 2 * per_pass * rows
    file_rows = Counter(r.tobytes() for r in _sorted_rows(*_file(info, "train")))
    for k in range(2):
        part = slice(k * per_pass * rows, (k + 1) * per_pass * rows)
        seen = Counter(r.tobytes() for r in _sorted_rows(X[part], y[part]))
        assert not seen - file_rows  # rows of the file, none more often than there
    assert np.array_equal(X.argmax(-1)[:, 2], y.argmax(-1))  # rows stay whole


def test_passes_are_shuffled_differently_but_reproducibly(info):
    from pipeline import reader

    n = info.rows["train"]
    two = reader.make_dataset(info, "train", 500, Reading(shuffle_seed=3, repeat=True))
    X, _ = _rows(two, limit=2 * n // 500)
    first, second = X[:n], X[n:]
    assert not np.array_equal(first, second)
    assert np.array_equal(_sorted_rows(first, first[:, 0]), _sorted_rows(second, second[:, 0]))
    again, _ = _rows(reader.make_dataset(info, "train", 500, Reading(shuffle_seed=3, repeat=True)), limit=n // 500)
    assert np.array_equal(again, first)


@pytest.mark.parametrize("split,batch_size", [("test", 1000), ("val", 333), ("test", 4096)])
def test_evaluation_order_is_file_order(info, split, batch_size):
    from pipeline import reader

    X, y = _rows(reader.make_dataset(info, split, batch_size), rows=info.rows[split])
    FX, Fy = _file(info, split)
    assert np.array_equal(X, FX) and np.array_equal(y, Fy)


def test_shards_are_disjoint_and_cover_the_split(info):
    from pipeline import reader

    parts = [_rows(reader.make_dataset(info, "train", 100, Reading(rows_per_block=1000, shard=(2, i))),
                   rows=info.rows["train"])[0] for i in range(2)]
    FX, _ = _file(info, "train")
    assert len(parts[0]) + len(parts[1]) == len(FX)
    assert np.array_equal(parts[0][:1000], FX[:1000]) and np.array_equal(parts[1][:1000], FX[1000:2000])


def _block_order(X, y, rows_per_block):
    """The rows of each block as a set, in the order the blocks came (a block's rows stay together)."""
    keys = [r.tobytes() for r in np.concatenate([X.reshape(len(X), -1), y], 1)]
    return [frozenset(keys[i:i + rows_per_block]) for i in range(0, len(keys), rows_per_block)]


def test_block_order_is_seeded_and_differs_every_pass(info):
    from pipeline import reader

    n, block = info.rows["train"], 1_000

    def passes(seed, count):
        ds = reader.make_dataset(info, "train", 100, Reading(shuffle_seed=seed, repeat=True, rows_per_block=block))
        X, y = _rows(ds, limit=count * n // 100)
        return [_block_order(X[k * n:(k + 1) * n], y[k * n:(k + 1) * n], block) for k in range(count)]

    first, second = passes(3, 2)
    assert len(first) == n // block and set(first) == set(second) and first != second
    assert passes(3, 1)[0] == first and passes(4, 1)[0] != first


def test_a_last_batch_of_one_row_is_kept(info):
    from pipeline import reader

    X, y = _rows(reader.make_dataset(info, "val", info.rows["val"] - 1), rows=info.rows["val"])
    FX, Fy = _file(info, "val")
    assert np.array_equal(X, FX) and np.array_equal(y, Fy)


def test_only_a_dataset_asked_to_cache_keeps_what_it_read(tmp_path):
    """The small val split is read from the file once and served from memory after; every other dataset
    reads the file again on each pass (a cache on the repeated training split would grow pass after pass).
    Seen from outside: rows changed in the file between two passes show only where nothing is cached."""
    import shutil

    from pipeline import generate, reader

    path = tmp_path / "d.h5"
    generate.generate(path, {**TINY, "n_train": 600, "n_val": 300, "n_test": 300})
    info = data.describe(path)
    datasets = {"val, cached": reader.make_dataset(info, "val", 100, Reading(cache=True)),
                "test": reader.make_dataset(info, "test", 100),
                "train, repeated": reader.make_dataset(info, "train", 100, Reading(repeat=True))}
    first = {name: _rows(ds, 6)[0] for name, ds in datasets.items()}
    changed = tmp_path / "changed.h5"
    shutil.copy(path, changed)
    with h5py.File(changed, "r+") as f:
        for split in data.SPLITS:
            f[split]["X"][:] = f[split]["X"][:].reshape(-1, 5, 10)[:, ::-1].reshape(-1, 10)  # each reversed
    changed.replace(path)
    second = {name: _rows(ds, 6)[0] for name, ds in datasets.items()}
    assert [name for name in datasets if np.array_equal(first[name], second[name])] == ["val, cached"]


# ---- reader.record_reads, blocks_read, read_block ----

def test_blocks_read_are_recorded_once_recording_starts(tiny_data, monkeypatch):
    monkeypatch.setattr(reader, "_blocks_read", None)
    path = str(tiny_data)
    reader.read_block(path, "train", 0, 10)
    assert reader.blocks_read() == {}
    reader.record_reads()
    reader.read_block(path, "train", 20, 30)
    reader.read_block(path, "train", 0, 10)
    reader.read_block(path, "train", 20, 30)
    reader.read_block(path, b"val", np.int64(5), np.int64(7), key=3)
    reader.record_reads()  # a second call keeps what was recorded
    assert reader.blocks_read() == {"train": [[0, 10], [20, 30]], "val": [[5, 7]]}
    assert all(type(v) is int for b in reader.blocks_read()["val"] for v in b)


def test_read_block_rows_and_permutation(tiny_data):
    X, y = data.read_padded(tiny_data, "val", 5, 25)
    bx, by = reader.read_block(str(tiny_data), "val", 5, 25)
    assert (bx == X).all() and (by == y).all()
    px, py = reader.read_block(str(tiny_data), "val", 5, 25, key=0)
    p = np.random.default_rng(0).permutation(20)
    assert (px == X[p]).all() and (py == y[p]).all() and not (p == np.arange(20)).all()


# ---- any block and batch size (hypothesis) ----

@pytest.fixture(scope="module")
def small_info(tmp_path_factory):
    path = tmp_path_factory.mktemp("reader") / "small.h5"
    generate.generate(path, {**TINY, "n_train": 517, "n_val": 64, "n_test": 200})
    return data.describe(path)


@SLOW
@given(batch_size=st.integers(1, 600), rows_per_block=st.one_of(st.just(0), st.integers(1, 700)),
       shuffle=st.booleans(), seed=st.integers(0, 1000))
def test_reader_yields_every_row_once_for_any_block_and_batch(small_info, batch_size, rows_per_block, shuffle,
                                                             seed):
    from pipeline import reader

    ds = reader.make_dataset(small_info, "train", batch_size, reader.Reading(
        shuffle_seed=seed if shuffle else None, rows_per_block=rows_per_block))
    batches = [(X.numpy(), y.numpy()) for X, y in ds.take(small_info.rows["train"] + 1)]  # a pass, and one more
    assert all(len(X) <= batch_size for X, _ in batches)
    X = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    FX, Fy = _file(small_info, "train")
    if not shuffle:
        assert np.array_equal(X, FX) and np.array_equal(y, Fy)
    key = [r.tobytes() for r in np.concatenate([X.reshape(len(X), -1), y], 1)]
    file_key = [r.tobytes() for r in np.concatenate([FX.reshape(len(FX), -1), Fy], 1)]
    assert sorted(key) == sorted(file_key)


@SLOW
@given(batch_size=st.integers(1, 600), rows_per_block=st.integers(1, 300), count=st.integers(1, 4))
def test_shards_split_the_blocks_among_workers(small_info, batch_size, rows_per_block, count):
    from pipeline import reader

    def part(i):  # a pass at most, and one batch more
        ds = reader.make_dataset(small_info, "train", batch_size, reader.Reading(rows_per_block=rows_per_block,
                                                                                shard=(count, i)))
        batches = [X.numpy() for X, _ in ds.take(small_info.rows["train"] + 1)]
        return np.concatenate(batches or [np.zeros((0, 5, 10), np.float32)])

    parts = [part(i) for i in range(count)]
    FX, _ = _file(small_info, "train")
    starts = list(range(0, len(FX), rows_per_block))
    for i, part in enumerate(parts):
        expected = [FX[s:s + rows_per_block] for s in starts[i::count]]
        assert np.array_equal(part, np.concatenate(expected) if expected else part[:0])


# ---- sequences of different lengths: batches of similar length, padded to a bucket ----

def _ragged_lines(kind: str, n: int, seed: int) -> list:
    """n lines of a user's file: 3 classes, lengths 1 to 60, tokens over 4 values or 2 features per step."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        steps = rng.integers(0, 4, int(rng.integers(1, 61))) if kind == "tokens" else \
            rng.normal(size=(int(rng.integers(1, 61)), 2)).round(3)
        values = [str(v) for v in steps] if kind == "tokens" else [" ".join(map(str, v)) for v in steps]
        lines.append(",".join([f"c{rng.integers(0, 3)}", *values]))
    return lines


@pytest.fixture(scope="module", params=["tokens", "features"])
def ragged(request, tmp_path_factory):
    """(the dataset's info, each split's rows as stored: a list of (steps, class) per split)."""
    from tests.test_importer import run_import

    folder = tmp_path_factory.mktemp(f"ragged-{request.param}")
    info = run_import(folder, _ragged_lines(request.param, 300, 1), _ragged_lines(request.param, 77, 2), n_val=30)
    assert info.variable and info.kind == request.param
    rows = {}
    with h5py.File(info.path) as f:
        for split in data.SPLITS:
            g = f[split]
            steps = np.split(g["X"][:].astype(np.float32), np.cumsum(g["lengths"][:])[:-1])
            rows[split] = list(zip(steps, g["y"][:].argmax(-1).tolist()))
    return info, rows


def _unpadded(batch: dict, info) -> list:
    """A batch's rows without their padding (all pad_value steps after the real ones), with their classes."""
    X, y = batch["X"].numpy(), batch["y"].numpy().argmax(-1)
    real = (X != info.pad_value).any(-1)
    lengths = real.sum(-1)
    assert (real == (np.arange(X.shape[1]) < lengths[:, None])).all()  # padding only after the real steps
    return [(x[:k], c) for x, k, c in zip(X, lengths, y.tolist())]


@pytest.mark.parametrize("split, batch_size, rows_per_block, seed", [
    ("train", 16, 0, None), ("train", 16, 0, 5), ("train", 7, 50, 3), ("test", 10, 20, None), ("val", 64, 0, None)])
def test_rows_of_different_lengths_come_back_whole_once_each_with_their_file_row(ragged, split, batch_size,
                                                                               rows_per_block, seed):
    """What went in comes out: every row once per pass, its steps and class, at the index of its file row."""
    from pipeline import batches

    info, rows = ragged
    ds = reader.make_dataset(info, split, batch_size, Reading(shuffle_seed=seed, rows_per_block=rows_per_block,
                                                              row_index=True))
    seen, buckets = {}, set(batches.bucket_lengths(info.length).tolist())
    for batch in ds:
        assert len(batch["X"]) <= batch_size and batch["X"].shape[1] in buckets
        longest = max(len(x) for x, _ in _unpadded(batch, info))
        assert batch["X"].shape[1] == batches.bucket_of(longest, np.array(sorted(buckets)))  # padded no further
        for i, row in zip(batch["index"].numpy().tolist(), _unpadded(batch, info)):
            assert i not in seen
            seen[i] = row
    assert sorted(seen) == list(range(len(rows[split])))
    for i, (x, c) in enumerate(rows[split]):
        assert np.array_equal(seen[i][0], x) and seen[i][1] == c


def test_training_batches_of_different_lengths_are_whole_shuffled_and_sorted_by_length(ragged):
    info, rows = ragged
    n, batch_size = info.rows["train"], 16
    ds = reader.make_dataset(info, "train", batch_size, Reading(shuffle_seed=3, repeat=True, drop_remainder=True,
                                                                row_index=True))
    per_pass = n // batch_size
    passes = [[b for b in ds.skip(k * per_pass).take(per_pass)] for k in range(2)]
    for batches_ in passes:
        assert all(len(b["X"]) == batch_size for b in batches_)
        index = np.concatenate([b["index"].numpy() for b in batches_])
        assert len(set(index.tolist())) == len(index) == per_pass * batch_size  # rows past whole batches left out
    lengths = np.array([len(x) for x, _ in rows["train"]])
    spread = [np.ptp(lengths[b["index"].numpy()]) for b in passes[0]]
    assert np.median(spread) < np.ptp(lengths) / 4  # rows of similar lengths together
    firsts = [[b["index"].numpy()[0] for b in p] for p in passes]
    assert firsts[0] != firsts[1]  # another order, other batches, on the next pass


def test_shorter_sequences_ask_for_fewer_steps(ragged):
    """The steps a pass reads follow the real steps, not the longest times the rows."""
    info, _ = ragged
    padded = sum(int(np.prod(X.shape[:2])) for X, _ in reader.make_dataset(info, "train", 16))
    assert info.steps["train"] <= padded < 1.3 * info.steps["train"]
    assert info.rows["train"] * info.length > 1.8 * info.steps["train"]  # what padding to the longest would read


def test_batches_of_different_lengths_cannot_be_stacked(ragged):
    info, _ = ragged
    with pytest.raises(ValueError, match="cannot be stacked"):
        reader.make_dataset(info, "train", 16, Reading(steps_per_call=2))
