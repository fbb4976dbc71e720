"""Invariants over many inputs (hypothesis): one-hot round trips, the content hash's sensitivity to
every split, each split's dependence on the seed, and the reader's coverage of a split for any block
and batch size."""
import hashlib

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline import data, echo, generate
from tests.conftest import ROOT, TINY

MUTATION = ROOT.name == "mutants"  # make mutation runs each test many times: fewer examples there
FAST = settings(max_examples=15 if MUTATION else 40, deadline=None, derandomize=MUTATION,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=6 if MUTATION else 12, deadline=None, derandomize=MUTATION,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


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


@FAST
@given(st.sampled_from([f"{s}/{n}" for s in data.SPLITS for n in data.ARRAYS]), st.binary(min_size=1))
def test_content_hash_depends_on_every_dataset(name, salt):
    digests = {f"{s}/{n}": hashlib.sha256(f"{s}{n}".encode()).hexdigest() for s in data.SPLITS for n in data.ARRAYS}
    changed = {**digests, name: hashlib.sha256(salt + name.encode()).hexdigest()}
    assert data.combine_digests(changed) != data.combine_digests(digests)
    lines = "".join(f"{k}:{digests[k]}\n" for k in sorted(digests))  # the documented recipe
    assert data.combine_digests(digests) == hashlib.sha256(lines.encode()).hexdigest()
    assert data.combine_digests(dict(reversed(list(digests.items())))) == data.combine_digests(digests)


SMALL = {**TINY, "n_train": 300, "n_val": 70, "n_test": 50}


def _split_arrays(path):
    with h5py.File(path) as f:
        return ({s: (f[s]["X"][:], f[s]["y"][:]) for s in data.SPLITS},
                {f"{s}/{n}": f[s][n].attrs["sha256"] for s in data.SPLITS for n in data.ARRAYS},
                f.attrs["content_hash"])


def _independent_split(params, split):
    """A split built from the documented recipe: unit u of split i from default_rng([seed, i, u])."""
    i, n = data.SPLITS.index(split), params[f"n_{split}"]
    step = data.unit_rows(params["length"], params["n_features"])
    tokens = np.concatenate([np.random.default_rng([params["seed"], i, u]).integers(
        0, params["n_features"], size=(min(step, n - start), params["length"]), dtype=np.uint8)
        for u, start in enumerate(range(0, n, step))])
    eye = np.eye(params["n_features"], dtype=np.uint8)
    return eye[tokens], eye[tokens[:, params["out_index"]]]


@SLOW
@given(seed=st.integers(0, 2**31), other=st.integers(1, 2**31))
def test_every_split_depends_on_the_seed(tmp_path_factory, seed, other):
    folder = tmp_path_factory.mktemp("seed")
    runs = []
    for s in (seed, seed + other):
        params = {**SMALL, "seed": s}
        generate.generate(folder / f"{s}.h5", params)
        runs.append(_split_arrays(folder / f"{s}.h5"))
        for split in data.SPLITS:
            X, y = runs[-1][0][split]
            eX, ey = _independent_split(params, split)
            assert np.array_equal(X, eX) and np.array_equal(y, ey), split
    for split in data.SPLITS:
        assert not np.array_equal(runs[0][0][split][0], runs[1][0][split][0]), split
        for name in data.ARRAYS:
            assert runs[0][1][f"{split}/{name}"] != runs[1][1][f"{split}/{name}"]
    assert runs[0][2] != runs[1][2]


@pytest.mark.parametrize("split", data.SPLITS)
def test_content_hash_changes_when_only_one_split_changes(tmp_path, split):
    """Splits are made from (seed, split, unit): a longer split changes that split's digests only, and
    the content hash; a rewritten row changes what verify recomputes for that split only."""
    base, grown = tmp_path / "base.h5", tmp_path / "grown.h5"
    h0 = generate.generate(base, SMALL)
    h1 = generate.generate(grown, {**SMALL, f"n_{split}": SMALL[f"n_{split}"] + 1})
    (a, da, _), (b, db, _) = _split_arrays(base), _split_arrays(grown)
    assert h0 != h1 and data.verify(grown) == h1
    for other in data.SPLITS:
        same = other != split
        assert (da[f"{other}/X"] == db[f"{other}/X"]) == same and (da[f"{other}/y"] == db[f"{other}/y"]) == same
    assert np.array_equal(b[split][0][:-1], a[split][0])  # the same rows, one more
    before = data.compute_digests(base)
    with h5py.File(base, "r+") as f:  # one row of this split becomes another one-hot row
        row = f[split]["X"][1]
        f[split]["X"][1] = np.roll(row, 1, axis=-1)
    after = data.compute_digests(base)
    assert {k for k in before if before[k] != after[k]} == {f"{split}/X"}
    assert data.combine_digests(after) != data.combine_digests(before)


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
    batches = [(X.numpy(), y.numpy()) for X, y in ds]
    assert all(len(X) <= batch_size for X, _ in batches)
    X = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    with h5py.File(small_info.path) as f:
        FX, Fy = f["train"]["X"][:].astype(np.float32), f["train"]["y"][:].astype(np.float32)
    if not shuffle:
        assert np.array_equal(X, FX) and np.array_equal(y, Fy)
    key = [r.tobytes() for r in np.concatenate([X.reshape(len(X), -1), y], 1)]
    file_key = [r.tobytes() for r in np.concatenate([FX.reshape(len(FX), -1), Fy], 1)]
    assert sorted(key) == sorted(file_key)


@SLOW
@given(batch_size=st.integers(1, 600), rows_per_block=st.integers(1, 300), count=st.integers(1, 4))
def test_shards_split_the_blocks_among_workers(small_info, batch_size, rows_per_block, count):
    from pipeline import reader

    parts = [np.concatenate([X.numpy() for X, _ in reader.make_dataset(
        small_info, "train", batch_size, reader.Reading(rows_per_block=rows_per_block, shard=(count, i)))] or
        [np.zeros((0, 5, 10), np.float32)]) for i in range(count)]
    with h5py.File(small_info.path) as f:
        FX = f["train"]["X"][:].astype(np.float32)
    starts = list(range(0, len(FX), rows_per_block))
    for i, part in enumerate(parts):
        expected = [FX[s:s + rows_per_block] for s in starts[i::count]]
        assert np.array_equal(part, np.concatenate(expected) if expected else part[:0])
