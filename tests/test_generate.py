"""Data contract of the HDF5 file, reproducibility, and the generate command; its checks of the problem,
the chunks and the free disk before writing; each split's dependence on the seed, and the content hash's on
each split (hypothesis); a write that fails part-way keeps the previous file."""
import hashlib
import json
import shutil

import click
import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipeline
from pipeline import config, data, generate, tokens
from pipeline.files import BadFile
from tests.conftest import TINY, invoke
from tests.failing_writes import fail_after, fails_cleanly
from tests.properties import SLOW

SMALL = {**TINY, "n_train": 1000, "n_val": 100, "n_test": 100}


def test_layout_and_attributes(tiny_data):
    with h5py.File(tiny_data) as f:
        for k in data.ECHO_ATTRS:
            assert f.attrs[k] == TINY[k]
        assert f.attrs["format_version"] == data.FORMAT_VERSION
        assert len(f.attrs["content_hash"]) == 64
        for split in data.SPLITS:
            X, y = f[split]["X"], f[split]["y"]
            n = TINY[f"n_{split}"]
            assert X.shape == (n * 5, 10) and y.shape == (n, 10)  # every sequence's 5 steps, one after the other
            assert X.dtype == np.uint8 and y.dtype == np.uint8 and "lengths" not in f[split]
            assert X.chunks[1:] == (10,) and X.chunks[0] <= n * 5 and X.chunks[0] % 5 == 0
            Xa, ya = X[:].reshape(n, 5, 10), y[:]
            assert tokens.is_one_hot(Xa) and tokens.is_one_hot(ya)
            assert (tokens.decode(ya) == tokens.decode(Xa[:, 2])).all()
    info = data.describe(tiny_data)
    assert info.rows == {"train": 20_000, "val": 2_000, "test": 3_000}
    assert data.verify(tiny_data) == info.content_hash


def ROW(i, length=5):
    """The steps of row i of a split of sequences of `length` steps."""
    return slice(i * length, (i + 1) * length)


def _first_step_rolled(row):
    row = row.copy()
    row[0] = np.roll(row[0], 1)  # another one-hot step, away from out_index: still a valid echo row
    return row


@pytest.mark.parametrize("change, message", [
    (_first_step_rolled, "does not match its stored sha256"),
    (lambda row: np.ones_like(row), "are not one-hot"),
    (lambda row: np.roll(row, 1, axis=-1), "are not the input at out_index 2"),
])
def test_verify_finds_a_changed_row(tiny_data, tmp_path, change, message):
    path = tmp_path / "changed.h5"
    shutil.copy(tiny_data, path)
    with h5py.File(path, "r+") as f:  # a row in the middle, which describe's sampling does not read
        f["train/X"][ROW(10_000)] = change(f["train/X"][ROW(10_000)])
    data.describe(path)
    with pytest.raises(BadFile, match=message):
        data.verify(path)


def test_splits_differ_and_labels_are_balanced(tiny_data):
    with h5py.File(tiny_data) as f:
        train, val = f["train"]["X"][:10_000], f["val"]["X"][:10_000]
        counts = f["train"]["y"][:].sum(axis=0)
    assert not np.array_equal(train, val)
    assert counts.min() > 0.08 * counts.sum() and counts.max() < 0.12 * counts.sum()


def _arrays(path):
    with h5py.File(path) as f:
        return ({f"{s}/{n}": f[s][n][:].reshape(len(f[s]["y"]), *([-1, 10] if n == "X" else [-1]))
                 for s in data.SPLITS for n in data.ARRAYS}, f.attrs["content_hash"])


def _independent_split(params, split):
    """Unit u (unit_rows rows: 4 MiB of samples, 65,536 here) of split i is drawn from
    numpy's default_rng([seed, i, u]).integers(0, n_features, (rows, length)), then one-hot encoded."""
    i, n = data.SPLITS.index(split), params[f"n_{split}"]
    step = 65_536
    assert data.unit_rows(params["length"], params["n_features"]) == step
    tokens = np.concatenate([np.random.default_rng([params["seed"], i, u]).integers(
        0, params["n_features"], size=(min(step, n - start), params["length"]), dtype=np.uint8)
        for u, start in enumerate(range(0, n, step))])
    eye = np.eye(params["n_features"], dtype=np.uint8)
    return eye[tokens], eye[tokens[:, params["out_index"]]]


def test_same_seed_same_bytes_whatever_chunking(tmp_path):
    params = {**TINY, "n_train": 300_000}  # more units than buffers in flight: buffers get reused
    a, b, c, d = (tmp_path / f"{name}.h5" for name in "abcd")
    generate.generate(a, params, chunk_rows=0, workers=2)  # chunks within units: written past the chunk cache
    generate.generate(b, params, chunk_rows=1000, workers=1)  # chunks across units: through the cache
    generate.generate(c, params, chunk_rows=333, compression="gzip", workers=3)
    generate.generate(d, params, chunk_rows=0, compression="lzf", workers=2)
    (xa, ha), (xb, hb), (xc, hc), (xd, hd) = _arrays(a), _arrays(b), _arrays(c), _arrays(d)
    assert ha == hb == hc == hd
    for k in xa:
        assert np.array_equal(xa[k], xb[k]) and np.array_equal(xa[k], xc[k]) and np.array_equal(xa[k], xd[k])
    for split in data.SPLITS:  # the documented recipe, built without the code under test
        X, y = _independent_split(params, split)
        assert np.array_equal(xa[f"{split}/X"], X) and np.array_equal(xa[f"{split}/y"], y), split
    generate.generate(c, {**params, "seed": params["seed"] + 1})
    assert _arrays(c)[1] != ha


def test_generate_command_writes_file(tmp_path):
    out = tmp_path / "d.h5"
    r = invoke("generate", "--out", out, "--n-train", 100, "--n-val", 10, "--n-test", 10, "--length", 4,
               "--n-features", 3, "--out-index", 3, "--seed", 5)
    assert r.returncode == 0, r.stderr
    info = data.describe(out)
    assert (info.length, info.n_features, info.out_index, info.seed) == (4, 3, 3, 5)
    assert not list(tmp_path.glob(".*tmp*"))


def test_verify_names_what_does_not_match(tmp_path):
    path = tmp_path / "d.h5"
    params = {**TINY, "n_train": 300, "n_val": 20, "n_test": 20}
    generate.generate(path, params)
    with h5py.File(path, "r+") as f:
        f["val/X"][ROW(3)] = np.ones((5, 10), np.uint8)
    with pytest.raises(BadFile) as e:
        data.verify(path)
    assert e.value.message == f"dataset {path}: 'val/X' rows 0-20 are not one-hot (corrupt)"
    generate.generate(path, params)
    with h5py.File(path, "r+") as f:
        f.attrs["content_hash"] = "0" * 64
    with pytest.raises(BadFile) as e:
        data.verify(path)
    assert e.value.message == f"dataset {path}: content_hash does not match the data (corrupt)"


def test_wide_tokens_are_hashed_as_wide_tokens(tmp_path):
    """Over 256 values a token is uint16: verify recomputes the digests generate wrote from uint16 tokens."""
    path = tmp_path / "wide.h5"
    params = {**TINY, "n_features": 300, "length": 3, "out_index": 1, "n_train": 50, "n_val": 10, "n_test": 10}
    content_hash = generate.generate(path, params)
    assert data.verify(path) == content_hash
    with h5py.File(path) as f:
        tokens = f["test/X"][:].argmax(-1).astype(np.uint16)
        assert f["test/X"].attrs["sha256"] == hashlib.sha256(hashlib.sha256(tokens.tobytes()).digest()).hexdigest()


def test_generate_chunks_by_default_about_one_mib_uncompressed(tmp_path):
    generate.generate(tmp_path / "d.h5", {**TINY, "n_val": 50, "n_test": 50})  # 20,000 training rows
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["train/X"].chunks == (generate.default_chunk_rows(5, 10) * 5, 10) == (16_384 * 5, 10)
        assert f["train/X"].compression is None


def test_write_dataset_draws_no_progress_bar_unless_asked(tmp_path, capsys):
    generate.write_dataset(tmp_path / "quiet.h5", {**TINY, "n_train": 300, "n_val": 50, "n_test": 50},
                           chunk_rows=0, compression="none")
    assert capsys.readouterr().err == ""
    generate.write_dataset(tmp_path / "bar.h5", {**TINY, "n_train": 300, "n_val": 50, "n_test": 50},
                           chunk_rows=0, compression="none", progress=True)
    assert "generate" in capsys.readouterr().err  # the bar, when asked for


def test_generate_checks_chunks_and_disk_before_writing(tmp_path, monkeypatch):
    """generate() passes its own chunk_rows and compression to the chunk check, and refuses a dataset
    larger than the free disk unless it is compressed; it writes nothing when it refuses."""
    import click

    params = {**TINY, "length": 1000, "n_train": 8_000, "n_val": 50, "n_test": 50}  # 10 KB rows
    out = tmp_path / "d.h5"
    with pytest.raises(click.BadParameter, match="7000 rows make gzip chunks of 67 MiB"):
        generate.generate(out, params, chunk_rows=7_000, compression="gzip")
    generate.generate(out, {**params, "n_train": 100}, chunk_rows=64, compression="gzip")  # accepted
    assert h5py.File(out)["train/X"].chunks[0] == 64 * 1000 and h5py.File(out)["train/X"].compression == "gzip"
    out.unlink()
    need = generate.estimate_bytes(params)
    usage = shutil.disk_usage(tmp_path)
    seen = []

    def disk_usage(path):
        seen.append(str(path))
        return usage._replace(free=int(need / 0.95) - 1_000)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    with pytest.raises(BadFile, match=f"output {out}: the dataset needs about 77.3 MiB but only 81.4 MiB is free"):
        generate.generate(out, params)
    assert seen == [str(tmp_path)] and not list(tmp_path.iterdir())
    generate.generate(out, params, compression="lzf")  # compressed data may fit: not refused
    assert out.exists()


def test_provenance_attributes_stored_with_the_data(tmp_path):
    path = tmp_path / "d.h5"
    params = {**TINY, "n_train": 300, "n_val": 20, "n_test": 20}
    generate.generate(path, {**params, "problem": "reference"}, chunk_rows=64, compression="gzip")
    with h5py.File(path) as f:
        attrs = dict(f.attrs)
    versions = {"numpy": np.__version__, "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version}
    assert attrs == {**{k: params[k] for k in data.ECHO_ATTRS}, "problem": "reference", "kind": "tokens",
                     "n_classes": 10, "classes": json.dumps([str(i) for i in range(10)]), "pad_value": 0.0,
                     "format_version": data.FORMAT_VERSION, "unit_rows": data.unit_rows(5, 10),
                     "chunk_rows": 64, "compression": "gzip",
                     "content_hash": data.combine_digests(data.compute_digests(path)),
                     "hash_algorithm": "sha256 of per-unit sha256 digests (see pipeline/data.py)",
                     "generator": f"echo-pipeline {pipeline.__version__}", "created_with": json.dumps(versions)}
    # Parameters of no named problem: stored as an empty name.
    generate.generate(path, {k: params[k] for k in data.ECHO_ATTRS})
    assert h5py.File(path).attrs["problem"] == ""


def test_disk_check_at_its_bounds(tmp_path, monkeypatch):
    """Refused when the data needs more than 95% of the free space (sizes in the unit that fits them)."""
    params = {**TINY, "length": 999, "n_train": 9_400, "n_val": 50, "n_test": 50}  # 10,000-byte rows
    assert generate.estimate_bytes(params) == 95_000_000
    usage = shutil.disk_usage(tmp_path)
    out = tmp_path / "d.h5"
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=85_000_000))
    with pytest.raises(BadFile) as e:
        generate.generate(out, params)
    assert str(e.value) == f"output {out}: the dataset needs about 90.6 MiB but only 81.1 MiB is free there"
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=100_000_000))  # exactly 95%
    generate.generate(out, params)
    assert data.describe(out).rows["train"] == 9_400


def test_progress_bar_counts_rows(tmp_path, capsys):
    generate.generate(tmp_path / "d.h5", {**TINY, "n_train": 3_000, "n_val": 20, "n_test": 20}, progress=True)
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("generate: 100%|") and "| 3.04k/3.04k [" in final and "rows/s]" in final


@pytest.mark.parametrize("chunk_rows", [64, 100])  # chunks that fit the units exactly, and chunks across them
def test_the_rows_do_not_depend_on_the_threads_or_the_chunks(tmp_path, chunk_rows):
    """Whatever --workers and --chunk-rows, the same parameters give the same rows in the same order."""
    params = {**TINY, "n_train": 3_000, "n_val": 20, "n_test": 20}
    assert data.unit_rows(5, 10) % 64 == 0 and data.unit_rows(5, 10) % 100 != 0
    generate.generate(tmp_path / "one.h5", params, workers=1)
    generate.generate(tmp_path / "many.h5", params, workers=3, chunk_rows=chunk_rows)
    with h5py.File(tmp_path / "one.h5") as a, h5py.File(tmp_path / "many.h5") as b:
        for split in data.SPLITS:
            for name in data.ARRAYS:
                assert np.array_equal(a[split][name][:], b[split][name][:])
        assert b["train/X"].chunks[0] == min(chunk_rows, 3_000) * 5
        assert a.attrs["content_hash"] == b.attrs["content_hash"]


# ---- generate.check_spec, check_chunks, estimate_bytes ----

@pytest.mark.parametrize("out_index, ok", [(0, True), (4, True), (5, False), (6, False)])
def test_check_params_out_index(out_index, ok):
    from pipeline import generate

    params = {"length": 5, "n_features": 10, "out_index": out_index}
    if ok:
        assert generate.check_spec(params) is None
        return
    with pytest.raises(click.BadParameter) as e:
        generate.check_spec(params)
    assert e.value.message == f"{out_index} is not in [0, length=5)" and e.value.param_hint == "'--out-index'"


def _chunk_params(n_train=10_000):
    return {"length": 100, "n_features": 1000, "out_index": 0, "n_train": n_train, "n_val": 100, "n_test": 100}


@pytest.mark.parametrize("chunk_rows, compression, n_train", [
    (671, "gzip", 10_000),    # 67,100,000 bytes: within the 64 MiB cache
    (1000, "none", 10_000),   # uncompressed chunks are read in part
    (0, "gzip", 10_000),      # the default: about 1 MiB
    (1000, "gzip", 671),      # chunks no longer than the longest split
])
def test_check_chunks_accepts(chunk_rows, compression, n_train):
    from pipeline import generate

    assert generate.check_chunks(_chunk_params(n_train), chunk_rows, compression) is None


@pytest.mark.parametrize("chunk_rows, compression, n_train, mib", [
    (1000, "gzip", 10_000, 95), (672, "lzf", 10_000, 64), (1000, "gzip", 700, 67)])
def test_check_chunks_refuses_chunks_larger_than_the_cache(chunk_rows, compression, n_train, mib):
    from pipeline import generate

    with pytest.raises(click.BadParameter) as e:
        generate.check_chunks(_chunk_params(n_train), chunk_rows, compression)
    assert e.value.param_hint == "'--chunk-rows'"
    assert e.value.message == (f"{chunk_rows} rows make {compression} chunks of {mib} MiB, more than the 64 MiB "
                               "chunk cache readers use; use at most 671 (0 picks about 1 MiB)")


def test_check_chunks_of_exactly_the_cache_size_are_accepted():
    from pipeline import generate

    params = {"length": 64, "n_features": 1024, "out_index": 0, "n_train": 5000, "n_val": 10, "n_test": 10}
    assert generate.check_chunks(params, 1024, "gzip") is None  # 1,024 rows of 64 KiB: 64 MiB
    with pytest.raises(click.BadParameter):
        generate.check_chunks(params, 1025, "gzip")


def test_estimate_bytes():
    from pipeline import generate

    assert generate.estimate_bytes({"length": 5, "n_features": 10, "n_train": 7, "n_val": 2, "n_test": 1}) == 600


WIDE = ["--problem", "wide", "--n-val", 10, "--n-test", 10]


def test_compressed_chunks_larger_than_the_read_cache_are_refused(tmp_path):
    out = tmp_path / "w.h5"
    rows = config.READ_CACHE_BYTES // 2500 + 1  # one more row than a 64 MiB chunk of (25, 100) holds
    r = invoke("generate", "--out", out, *WIDE, "--n-train", rows, "--compression", "gzip", "--chunk-rows", rows)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "'--chunk-rows'" in r.stderr
    assert "64 MiB chunk cache" in r.stderr and not out.exists()
    # the same chunk length is fine where the split is shorter than it, and uncompressed
    r = invoke("generate", "--out", out, *WIDE, "--n-train", 1000, "--compression", "lzf", "--chunk-rows", rows)
    assert r.returncode == 0, r.stderr
    with h5py.File(out) as f:
        assert f["train/X"].chunks == (1000 * 25, 100) and f["train/X"].compression == "lzf"


# ---- each split from (seed, split, unit) (hypothesis) ----

SMALL_SPLITS = {**TINY, "n_train": 300, "n_val": 70, "n_test": 50}


def _split_arrays(path):
    with h5py.File(path) as f:
        return ({s: (f[s]["X"][:].reshape(-1, 5, 10), f[s]["y"][:]) for s in data.SPLITS},
                {f"{s}/{n}": f[s][n].attrs["sha256"] for s in data.SPLITS for n in data.ARRAYS},
                f.attrs["content_hash"])


def _split_from_recipe(params, split):
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
        params = {**SMALL_SPLITS, "seed": s}
        generate.generate(folder / f"{s}.h5", params)
        runs.append(_split_arrays(folder / f"{s}.h5"))
        for split in data.SPLITS:
            X, y = runs[-1][0][split]
            eX, ey = _split_from_recipe(params, split)
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
    h0 = generate.generate(base, SMALL_SPLITS)
    h1 = generate.generate(grown, {**SMALL_SPLITS, f"n_{split}": SMALL_SPLITS[f"n_{split}"] + 1})
    (a, da, _), (b, db, _) = _split_arrays(base), _split_arrays(grown)
    assert h0 != h1 and data.verify(grown) == h1
    for other in data.SPLITS:
        same = other != split
        assert (da[f"{other}/X"] == db[f"{other}/X"]) == same and (da[f"{other}/y"] == db[f"{other}/y"]) == same
    assert np.array_equal(b[split][0][:-1], a[split][0])  # the same rows, one more
    before = data.compute_digests(base)
    with h5py.File(base, "r+") as f:  # one row of this split becomes another valid echo row
        f[split]["X"][ROW(1)] = _first_step_rolled(f[split]["X"][ROW(1)])
    after = data.compute_digests(base)
    assert {k for k in before if before[k] != after[k]} == {f"{split}/X"}
    assert data.combine_digests(after) != data.combine_digests(before)


# ---- a write that fails part-way ----

def test_generate_failing_part_way_keeps_the_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "d.h5"
    generate.generate(out, {**SMALL, "seed": 1})
    count = fail_after(monkeypatch, h5py.Dataset, "__setitem__", 3)  # some units are written first
    fails_cleanly(tmp_path, out, lambda: generate.generate(out, {**SMALL, "n_train": 200_000, "seed": 2}))
    assert count[0] == 4
