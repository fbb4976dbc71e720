"""pipeline/data.py. The dataset contract in-process: each way a file can be wrong gets its own exact
message from data.describe / data.open_h5 (tests/cli/test_errors.py checks the same refusals end to end,
through the CLI). Also its one-line error text, the rows a batch or unit holds, and the content hash's
dependence on every split."""
import hashlib
import os
import shutil

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import config, data, generate
from pipeline.files import BadFile
from tests.conftest import deny_access
from tests.damage import drop, replace, set_attr, set_row
from tests.properties import FAST

PARAMS = {"length": 5, "n_features": 10, "out_index": 2, "seed": 3, "n_train": 3000, "n_val": 5, "n_test": 1}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """3,000 training rows (two sample windows of 1,024 that do not meet), 5 val rows, 1 test row."""
    path = tmp_path_factory.mktemp("contract") / "good.h5"
    generate.write_dataset(path, PARAMS, chunk_rows=0, compression="none")
    return path


def test_a_good_file_with_a_one_row_split(good):
    info = data.describe(good)
    assert info.rows == {"train": 3000, "val": 5, "test": 1}
    assert (info.length, info.n_features, info.out_index, info.seed) == (5, 10, 2, 3)


def _empty_test_split(f):
    for name in ("X", "y"):
        replace(f"test/{name}", lambda a: a[:0])(f)
    f.attrs["n_test"] = 0


def _group_for_dataset(f):
    del f["test/y"]
    f.create_group("test/y")


def _padded_layout(f):
    """A file as format 3 wrote it: sequences padded to the longest, X (N, length, n_features)."""
    for split in data.SPLITS:
        replace(f"{split}/X", lambda X: X.reshape(-1, 5, 10))(f)
    f.attrs["format_version"] = 3


def _dataset_for_group(f):
    del f["val"]
    f["val"] = np.zeros(3)


DAMAGES = {
    "missing attributes": (lambda f: [f.attrs.__delitem__(k) for k in ("unit_rows", "content_hash")],
                           "missing attribute(s) content_hash, unit_rows; not made by 'generate' or 'import'?"),
    "older format": (set_attr("format_version", 1),
                     "format_version 1, expected 4; make it again ('generate' or 'import')"),
    "the padded layout of format 3": (_padded_layout, "format_version 3, expected 4; make it again ('generate' or "
                                      "'import')"),
    "no features": (set_attr("n_features", 0), "inconsistent attributes length=5 n_features=0"),
    "no steps": (set_attr("length", 0), "inconsistent attributes length=0 n_features=10"),
    "unknown kind": (set_attr("kind", "words"), "unknown kind 'words' (expected tokens or features)"),
    "classes and n_classes disagree": (set_attr("n_classes", 9), 'attribute classes (["0", "1", "2", "3", "4", "5", '
                                       '"6", "7", "8", "9"]) is not a list of n_classes=9 names, two or more'),
    "classes not a list": (set_attr("classes", "a,b"), "attribute classes (a,b) is not a list of n_classes=10 "
                           "names, two or more"),
    "out_index past the end": (set_attr("out_index", 5), "inconsistent attributes length=5 out_index=5"),
    "negative out_index": (set_attr("out_index", -1), "inconsistent attributes length=5 out_index=-1"),
    # Consistent attributes that disagree with the arrays: the first check they fail names them.
    "length 1": (lambda f: f.attrs.update({"length": 1, "out_index": 0}),
                 "'train/X' has 15,000 steps, but 3,000 rows of 1 make 3,000"),
    "two features": (set_attr("n_features", 2), "'train/X' has shape (15000, 10), expected (steps, 2)"),
    "a step missing": (replace("val/X", lambda X: X[:-1]), "'val/X' has 24 steps, but 5 rows of 5 make 25"),
    "inputs not 2-D": (replace("val/X", lambda X: X.reshape(5, 5, 10)),
                       "'val/X' has shape (5, 5, 10), expected (steps, 10)"),
    "out_index 0": (set_attr("out_index", 0), "'train/y' rows 0-1024 are not the input at out_index 0"),
    "missing group": (drop("val"), "missing group 'val'"),
    "a dataset for a group": (_dataset_for_group, "missing group 'val'"),
    "missing dataset": (drop("test/y"), "missing dataset 'test/y'"),
    "a group for a dataset": (_group_for_dataset, "missing dataset 'test/y'"),
    "labels too narrow": (replace("train/y", lambda y: y[:, :-1]), "'train/y' has shape (3000, 9), expected (N, 10)"),
    "labels not 2-D": (replace("train/y", lambda y: y[:, :, None]),
                       "'train/y' has shape (3000, 10, 1), expected (N, 10)"),
    "float inputs": (replace("test/X", lambda X: X.astype(np.float32)),
                     "'test' arrays must be X uint8 and y uint8 for kind tokens, found X float32, y uint8"),
    "int labels": (replace("test/y", lambda y: y.astype(np.int8)),
                   "'test' arrays must be X uint8 and y uint8 for kind tokens, found X uint8, y int8"),
    "a label missing": (replace("val/y", lambda y: y[:-1]), "'val' has 4 rows, attribute n_val says 5"),
    "row count attribute": (set_attr("n_val", 4), "'val' has 5 rows, attribute n_val says 4"),
    "empty split": (_empty_test_split, "'test' is empty"),
    "first input row": (set_row("train/X", 0, 0), "'train/X' rows 0-1024 are not one-hot"),
    "last input row": (set_row("train/X", -1, 1), "'train/X' rows 1976-3000 are not one-hot"),
    "first label row": (set_row("train/y", 0, 0), "'train/y' rows 0-1024 are not one-hot"),
    "last label of a short split": (set_row("val/y", 4, np.roll(np.eye(10, dtype=np.uint8)[0], 1)),
                                    "'val/y' rows 0-5 are not the input at out_index 2"),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_describe_names_what_is_wrong(good, tmp_path, case):
    assert_refused(good, tmp_path, *DAMAGES[case])


def assert_refused(source, tmp_path, damage, message):
    """A copy of `source` damaged by `damage` is refused with exactly `message`."""
    path = tmp_path / "bad.h5"
    shutil.copyfile(source, path)
    with h5py.File(path, "r+") as f:
        damage(f)
    with pytest.raises(BadFile) as e:
        data.describe(path)
    assert str(e.value) == f"dataset {path}: {message}"


# Univariate real-valued series of 3, 2 and 1 steps, imported as a user's CSV would be.
SERIES = {"train": ["up,0.5,1.0,1.5", "down,2,1", "up,1", "down,3,2,1"], "test": ["up,1,2"]}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    from tests.test_importer import run_import

    folder = tmp_path_factory.mktemp("series")
    info = run_import(folder, SERIES["train"], SERIES["test"], n_val=1)
    assert (info.kind, info.length, info.n_features, info.rows) == ("features", 3, 1, {"train": 3, "val": 1, "test": 1})
    return info.path


SERIES_DAMAGES = {
    "a length of 0": (set_row("train/lengths", 0, 0), "'train/lengths' row 0 is 0, not in [1, 3]"),
    "a length past the end": (set_row("train/lengths", 2, 4), "'train/lengths' row 2 is 4, not in [1, 3]"),
    "a value not finite": (set_row("test/X", 0, np.nan), "'test/X' rows 0-1 hold values that are not finite numbers"),
    "a step missing": (replace("test/X", lambda X: X[:-1]), "'test/X' has 1 steps, but its lengths add up to 2"),
    "lengths disagree": (replace("val/lengths", lambda a: np.concatenate([a, a])),
                         "'val/lengths' has shape (2,) int32, expected (1,) integers, one per row of 'val/y'"),
    "lengths not integers": (replace("val/lengths", lambda a: a.astype(np.float32)),
                             "'val/lengths' has shape (1,) float32, expected (1,) integers, one per row of 'val/y'"),
    "cut longer than max_length": (lambda f: f.attrs.update({"max_length": 2, "keep": "head"}),
                                   "inconsistent attributes length=3 max_length=2 keep='head'"),
    "keep neither head nor tail": (lambda f: f.attrs.update({"max_length": 3, "keep": "middle"}),
                                   "inconsistent attributes length=3 max_length=3 keep='middle'"),
}


@pytest.mark.parametrize("case", list(SERIES_DAMAGES))
def test_describe_names_what_is_wrong_with_series_of_different_lengths(series, tmp_path, case):
    assert_refused(series, tmp_path, *SERIES_DAMAGES[case])

def test_describe_names_rows_it_cannot_read(tmp_path):
    """A damaged compressed chunk: the file opens, reading its rows fails."""
    path = tmp_path / "damaged.h5"
    generate.write_dataset(path, PARAMS, chunk_rows=512, compression="gzip")
    with h5py.File(path) as f:
        chunk = f["train/X"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    raw[chunk.byte_offset:chunk.byte_offset + chunk.size] = bytes(chunk.size)
    path.write_bytes(raw)
    with h5py.File(path) as f, pytest.raises(OSError) as read_error:
        f["train/X"][:1024]
    with pytest.raises(BadFile) as e:
        data.describe(path)
    assert str(e.value) == (f"dataset {path}: cannot read 'train' rows 0-1024 "
                            f"(truncated or corrupt: {data._short(read_error.value)})")


def test_open_names_the_dataset(tmp_path):
    text = tmp_path / "text.h5"
    text.write_text("not HDF5\n")
    with pytest.raises(OSError) as h5py_error:
        h5py.File(text, "r")
    cases = {tmp_path / "none.h5": "no such file", tmp_path: "is a directory, not a file",
             text: f"not a readable HDF5 file ({data._short(h5py_error.value)})"}
    for path, message in cases.items():
        with pytest.raises(BadFile) as e:
            data.open_h5(path)
        assert str(e.value) == f"dataset {path}: {message}"


def test_unreadable_dataset(good, monkeypatch):
    deny_access(monkeypatch, good, os.R_OK)
    with pytest.raises(BadFile) as e:
        data.describe(good)
    assert str(e.value) == f"dataset {good}: not readable"


def test_readers_open_read_only_with_the_large_chunk_cache(good):
    with data.h5_reader(good) as f:
        _, slots, nbytes, _ = f.id.get_access_plist().get_cache()
        assert f.mode == "r" and (slots, nbytes) == (config.READ_CACHE_SLOTS, config.READ_CACHE_BYTES)


# ---- data._short: one line of an error ----

def test_short_is_the_first_line_at_most_160_characters():
    assert data._short(ValueError("first line\nsecond")) == "first line"
    assert data._short(ValueError("a" * 200)) == "a" * 160
    assert data._short(ValueError("b" * 160 + "c")) == "b" * 160
    assert data._short(OSError()) == "OSError"  # an empty message still names what went wrong


def test_unreadable_hdf5_is_one_line(tmp_path):
    path = tmp_path / "not.h5"
    path.write_text("not HDF5\n" * 10)
    with pytest.raises(BadFile) as e:
        data.open_h5(path)
    message = str(e.value)
    assert message.startswith(f"dataset {path}: not a readable HDF5 file (") and message.endswith(")")
    assert "\n" not in message and len(message) <= len(f"dataset {path}: not a readable HDF5 file ()") + 160


# ---- data.power_of_two_rows, unit_rows, forward_batch; generate.default_chunk_rows ----

@pytest.mark.parametrize("budget, most, rows", [
    (1000 * 60, 1 << 16, 512),   # 512 * 60 bytes fit, 1,024 do not
    (512 * 60, 1 << 16, 512),    # exactly the budget fits
    (512 * 60 - 1, 1 << 16, 256),
    (1 << 30, 1 << 16, 1 << 16),  # never more than `most`
    (119, 1 << 16, 1),           # less than two samples: one, however small the budget
    (1, 1 << 16, 1),
    (1, 1, 1),
])
def test_power_of_two_rows(budget, most, rows):
    assert data.sample_bytes(5, 10) == 60
    assert data.power_of_two_rows(budget, 5, 10, most=most) == rows


def test_unit_and_chunk_rows_have_their_ceilings():
    from pipeline import generate

    assert data.unit_rows(1, 2) == 1 << 16 and data.unit_rows(5, 10) == 1 << 16
    assert data.unit_rows(1000, 1000) == 4  # 4 MiB of 1,001,000-byte samples
    assert generate.default_chunk_rows(1, 2) == 1 << 14 and generate.default_chunk_rows(1000, 1000) == 1


@pytest.mark.parametrize("most, length, rows", [(8192, 5, 8192), (16384, 1000, 8192), (8192, 5000, 2048),
                                                 (4096, 5000, 2048), (16384, 100_000, 128)])
def test_forward_batch_keeps_float_inputs_within_the_budget(most, length, rows):
    assert data.forward_batch(most, length, 10) == rows
    assert rows * (length + 1) * 10 * 4 <= config.FORWARD_BYTES or rows == 1


def test_only_long_forward_passes_compile_with_xla():
    """XLA's compile is repaid from config.FORWARD_XLA_STEPS time steps on: the reference problem's
    test split (100,000 x 5) runs without it, the long preset's (10,000 x 1,000) with it."""
    steps = config.FORWARD_XLA_STEPS
    assert not data.forward_compiles(100_000, 5) and data.forward_compiles(10_000, 1_000)
    assert data.forward_compiles(steps // 4, 4) and not data.forward_compiles(steps // 4 - 1, 4)



@pytest.mark.parametrize("rows, batch_size, last", [(17_618, 700, 118), (701, 700, 1), (1_400, 700, 0),
                                                     (700, 700, 0), (300, 700, 0)])
def test_a_pass_has_a_second_batch_shape_only_when_its_last_batch_is_shorter(rows, batch_size, last):
    """A pass of one batch, or of whole batches, has one shape for XLA to compile."""
    assert data.short_last_batch(rows, batch_size) == last

# ---- the content hash (hypothesis) ----

@FAST
@given(st.sampled_from([f"{s}/{n}" for s in data.SPLITS for n in data.ARRAYS]), st.binary(min_size=1))
def test_content_hash_depends_on_every_dataset(name, salt):
    digests = {f"{s}/{n}": hashlib.sha256(f"{s}{n}".encode()).hexdigest() for s in data.SPLITS for n in data.ARRAYS}
    changed = {**digests, name: hashlib.sha256(salt + name.encode()).hexdigest()}
    assert data.combine_digests(changed) != data.combine_digests(digests)
    lines = "".join(f"{k}:{digests[k]}\n" for k in sorted(digests))  # the documented recipe
    assert data.combine_digests(digests) == hashlib.sha256(lines.encode()).hexdigest()
    assert data.combine_digests(dict(reversed(list(digests.items())))) == data.combine_digests(digests)
