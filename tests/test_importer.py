"""import: a user's files (text/CSV, .npz, .ts) into the dataset contract, in-process. Every bad row is
refused with the file, the line and why, and nothing is written; ragged sequences are stored as they are
(no padding) with their lengths, and come back the same, in file order (--max-length cuts each to its head
or tail); labels of any kind become named classes; validation is carved from train by the seed."""
import json

import h5py
import numpy as np
import pytest

from pipeline import data, importer, sources
from pipeline.files import BadFile
from tests.conftest import invoke

OPTIONS = {"train_file": None, "test_file": None, "val_file": None, "format": "auto", "kind": "auto",
           "n_features": None, "classes": None, "n_val": None, "seed": 0, "problem": None, "max_length": None,
           "keep": "head"}


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_import(tmp_path, train, test, **options):
    """Import train and test lines (written to train.csv and test.csv); returns the file's DatasetInfo."""
    chosen = {**OPTIONS, "train_file": write_lines(tmp_path / "train.csv", train),
              "test_file": write_lines(tmp_path / "test.csv", test), **options}
    importer.import_files(tmp_path / "d.h5", chosen)
    return data.describe(tmp_path / "d.h5")


RAGGED = ["spam,3,1,4,1,5", "ham,9,2", "spam,6,5,3", "eggs,5,8,9,7", "ham,9,3,2,3,8,4,6", "eggs,2,6",
          "spam,4,3,3", "ham,8,3", "eggs,2,7,9,5,0", "spam,2,8,8,4,1,9,7"]


def test_ragged_tokens_with_string_labels(tmp_path):
    info = run_import(tmp_path, RAGGED, ["ham,1,2,3", "eggs,4"], n_val=2, seed=3)
    assert (info.kind, info.length, info.n_features, info.classes) == ("tokens", 7, 10, ["eggs", "ham", "spam"])
    assert info.variable and info.rows == {"train": 8, "val": 2, "test": 2} and info.pad_value == 0.0
    assert stored_lines(tmp_path / "d.h5", "test", info.classes) == ["ham,1,2,3", "eggs,4"]
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["test"]["X"].shape == (4, 10) and f["test"]["lengths"][:].tolist() == [3, 1]  # no padding stored
    X, _ = data.read_padded(tmp_path / "d.h5", "test")
    assert X.shape == (2, 7, 10) and not X[0, 3:].any() and not X[1, 1:].any()  # padded to the longest: zeros
    train_val = stored_lines(tmp_path / "d.h5", "train", info.classes) + stored_lines(tmp_path / "d.h5", "val",
                                                                                      info.classes)
    assert sorted(train_val) == sorted(RAGGED)  # every training line once, in train or val
    assert data.verify(tmp_path / "d.h5") == info.content_hash


def stored_lines(path, split, classes) -> list:
    """A split's rows as the lines of a file of tokens: label,token,token,... (read without the reader)."""
    with h5py.File(path) as f:
        X, y = f[split]["X"][:], f[split]["y"][:]
        lengths = f[split]["lengths"][:] if "lengths" in f[split] else np.full(len(y), len(X) // len(y))
    rows = np.split(X.argmax(-1), np.cumsum(lengths)[:-1])
    return [",".join([classes[c], *map(str, row)]) for row, c in zip(rows, y.argmax(-1))]


def test_validation_is_carved_by_the_seed(tmp_path):
    def val_of(seed):
        run_import(tmp_path, RAGGED, ["ham,1,2,3"], n_val=3, seed=seed)
        with h5py.File(tmp_path / "d.h5") as f:
            return f["val"]["X"][:].argmax(-1).tolist()

    assert val_of(1) == val_of(1) and val_of(1) != val_of(2)
    info = run_import(tmp_path, RAGGED, ["ham,1,2,3"])
    assert info.rows["val"] == 1 and info.rows["train"] == 9  # a tenth by default


def test_a_validation_file_is_kept_as_it_is(tmp_path):
    info = run_import(tmp_path, RAGGED, ["eggs,1"], val_file=write_lines(tmp_path / "val.csv", ["ham,7,7", "spam,1"]))
    assert info.rows == {"train": 10, "val": 2, "test": 1}


def test_real_valued_multivariate_series(tmp_path):
    train = ["walk,0.5 1.0,1.5 2.0,2.5 3.0", "run,-1 0,3 4", "walk,1 1", "run,2 2,4 4"]
    info = run_import(tmp_path, train, ["run,1 2,3 4"], n_val=1)
    assert (info.kind, info.length, info.n_features, info.classes) == ("features", 3, 2, ["run", "walk"])
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["test"]["X"].dtype == np.float32 and f["test"]["X"][:].tolist() == [[1, 2], [3, 4]]
        steps = f["train"]["X"][:]  # the statistics are of the training split's steps
    assert np.allclose(info.problem["feature_mean"], steps.mean(0))
    assert np.allclose(info.problem["feature_std"], steps.std(0))


@pytest.mark.parametrize("split, change", [("test", (0, 1, 1, 3.5)), ("train", (1, 0, 0, -0.5)),
                                           ("test", "label")])
def test_verify_finds_any_changed_value_of_a_real_valued_series_or_its_label(tmp_path, split, change):
    """Real values are hashed as they are stored (not by their largest feature, as one-hot rows are):
    any changed value or label fails the check, naming the array."""
    train = ["walk,0.5 1.0,1.5 2.0,2.5 3.0", "run,-1 0,3 4", "walk,1 1", "run,2 2,4 4", "jump,1 2"]
    run_import(tmp_path, train, ["run,1 2,3 4", "jump,5 6"], n_val=1)
    with h5py.File(tmp_path / "d.h5", "r+") as f:
        if change == "label":
            name, y = f"{split}/y", f[split]["y"][:]
            f[split]["y"][0] = np.roll(y[0], 1)  # a different class
        else:
            row, step, feature, value = change
            name, lengths = f"{split}/X", f[split]["lengths"][:]
            assert step < lengths[row]
            f[split]["X"][lengths[:row].sum() + step, feature] = value
    with pytest.raises(BadFile) as e:
        data.verify(tmp_path / "d.h5")
    assert str(e.value) == f"dataset {tmp_path / 'd.h5'}: '{name}' does not match its stored sha256 (corrupt)"


def test_features_are_padded_below_every_value(tmp_path):
    """So no real step, an all-zero one included, is ever taken for padding (the model masks pad_value)."""
    info = run_import(tmp_path, ["a,0 0,1 2", "b,-2.5 1", "a,3 3", "b,1 1,1 1,1 1"], ["a,0 0"], n_val=1)
    assert info.pad_value == -4.0  # floor(-2.5) - 1: no real step is all -4.0
    assert data.read_padded(tmp_path / "d.h5", "test")[0][0].tolist() == [[0, 0], [-4, -4], [-4, -4]]


def test_numeric_labels_sort_as_numbers_and_declared_classes_keep_their_order(tmp_path):
    lines = ["10,1,2", "9,3,4", "100,5,6", "9,1,1"]
    assert run_import(tmp_path, lines, ["10,1,1"], n_val=1).classes == ["9", "10", "100"]
    info = run_import(tmp_path, lines, ["10,1,1"], n_val=1, classes="100,10,9,8")
    assert info.classes == ["100", "10", "9", "8"] and info.n_classes == 4


def test_fixed_length_tokens_need_no_padding(tmp_path):
    info = run_import(tmp_path, ["a,1,2,3", "b,3,2,1", "a,0,0,0"], ["b,1,1,1"], n_val=1, n_features=5)
    assert not info.variable and info.n_features == 5
    with h5py.File(tmp_path / "d.h5") as f:
        assert "lengths" not in f["train"] and f["train"]["X"].shape == (3 * 2, 5)


def test_npz_arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, (20, 6))
    np.savez(tmp_path / "d.npz", X_train=X, y_train=np.array(["odd", "even"] * 10), X_test=X[:3],
             y_test=np.array(["odd"] * 3), lengths_train=np.full(20, 6), lengths_test=np.array([2, 6, 6]))
    chosen = {**OPTIONS, "train_file": tmp_path / "d.npz", "test_file": tmp_path / "d.npz", "n_val": 2}
    importer.import_files(tmp_path / "d.h5", chosen)
    info = data.describe(tmp_path / "d.h5")
    assert (info.kind, info.classes, info.rows["test"], info.variable) == ("tokens", ["even", "odd"], 3, True)
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["test"]["lengths"][:].tolist() == [2, 6, 6]
    assert stored_lines(tmp_path / "d.h5", "test", info.classes) == [
        ",".join(["odd", *map(str, row[:n])]) for row, n in zip(X[:3].tolist(), [2, 6, 6])]


BAD_ROWS = {  # train lines, test lines, extra options -> the end of the message
    "not a number": (["a,1,2", "b,1,x"], ["a,1"], {}, "train file {train}, line 2: 'x' is not a number"),
    "ragged steps": (["a,1 2,3 4", "b,1 2,3"], ["a,1 1"], {}, "train file {train}, line 2: step 2 has 1 values "
                     "but step 1 has 2 (ragged dimensions)"),
    "ragged rows": (["a,1 2,3 4", "b,1,3"], ["a,1 1"], {}, "train file {train}, line 2: 1 values per step, but the "
                    "rows before have 2 (ragged dimensions)"),
    "ragged test": (["a,1 2", "b,1 3"], ["a,1 1", "b,1 1 1"], {}, "test file {test}, line 2: 3 values per step, "
                    "but the rows before have 2 (ragged dimensions)"),
    "token out of range": (["a,1,2", "b,7,1"], ["a,1"], {"kind": "tokens", "n_features": 5},
                           "train file {train}, line 2: token 7 is not a whole number in [0, 5)"),
    "unknown label": (["a,1,2", "b,1,3"], ["a,1", "# comment", "c,2"], {}, "test file {test}, line 3: label 'c' "
                      "is not among the training labels ('a', 'b')"),
    "undeclared label": (["a,1,2", "b,1,3"], ["a,1"], {"classes": "a,c"}, "train file {train}, line 2: label "
                         "'b' is not among the declared labels ('a', 'c')"),
    "no values": (["a,1,2", "b"], ["a,1"], {}, "train file {train}, line 2: no values after the label "
                  "(expected label,value,value,...)"),
    "no label": (["a,1,2", ",1,2"], ["a,1"], {}, "train file {train}, line 2: no label before the first comma"),
    "not finite": (["a,1,2", "b,1,inf"], ["a,1"], {}, "train file {train}, line 2: inf is not a finite number"),
    "empty file": (["# only a comment", ""], ["a,1"], {}, "train file {train}: no sequences (one per line: "
                   "label,value,value,...)"),
    "one label": (["a,1,2", "a,1,3"], ["a,1"], {}, "train file {train}: one label only ('a'); a classifier "
                  "needs two or more"),
    "empty step": (["a,1", "b, ,"], ["a,1"], {}, "train file {train}, line 2: step 1 has no values"),
    "invisible in train": (["low,1,2", "high,1", "low\u200b,2"], ["low,1"], {}, "train file {train}, line 3: label "
                           "'low\\u200b' differs from the label 'low' only by invisible characters (U+200B)"),
    "byte-order mark inside": (["low,1,2", "high,1", "\ufefflow,2"], ["low,1"], {}, "train file {train}, line 3: "
                               "label '\\ufefflow' differs from the label 'low' only by invisible characters "
                               "(U+FEFF)"),
    "invisible in test": (["big dog,1,2", "cat,1"], ["cat,1", "big\xa0dog\u2060,2"], {}, "test file {test}, line 2: "
                          "label 'big\\xa0dog\\u2060' differs from the label 'big dog' only by invisible characters "
                          "(U+00A0, U+2060)"),
    "invisible only": (["a,1", "\u200b,2"], ["a,1"], {}, "train file {train}, line 2: label '\\u200b' is only "
                       "invisible characters (U+200B)"),
    "tokens asked, features found": (["a,1.5,2", "b,1,2"], ["a,1"], {"kind": "tokens"},
                                     "Invalid value for '--kind': the values are not all whole numbers >= 0, one "
                                     "per step; they are features"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_each_bad_row_is_refused_naming_the_file_and_line(tmp_path, case):
    train, test, options, message = BAD_ROWS[case]
    paths = {"train": write_lines(tmp_path / "train.csv", train), "test": write_lines(tmp_path / "test.csv", test)}
    out = tmp_path / "d.h5"
    out.write_bytes(b"the previous dataset")
    args = ["import", "--train-file", paths["train"], "--test-file", paths["test"], "--out", out]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", value]
    r = invoke(*args)
    assert (r.returncode, r.stdout) == (2 if "Invalid value" in message else 1, ""), r.stderr
    assert r.stderr == f"echo-pipeline: error: {message.format(**paths)}\n"
    assert out.read_bytes() == b"the previous dataset"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5", "test.csv", "train.csv"]  # no temporary file


def test_a_file_that_is_not_text_is_refused(tmp_path):
    train = tmp_path / "train.csv"
    train.write_bytes(b"a,1\n\xff\xfe\x00b,2\n")
    with pytest.raises(BadFile, match=f"^{train}: not a text file"):
        importer.import_files(tmp_path / "d.h5", {**OPTIONS, "train_file": train,
                                                  "test_file": write_lines(tmp_path / "t.csv", ["a,1"])})


def test_a_byte_order_mark_is_not_part_of_the_first_label(tmp_path):
    """Excel's "CSV UTF-8" begins with a byte-order mark (and ends lines with CRLF): the first row's label
    is still one of the real classes."""
    for name, lines in (("train.csv", ["low,1,2", "high,3", "low,2,2", "high,1"]), ("test.csv", ["low,1", "high,2"])):
        (tmp_path / name).write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    importer.import_files(tmp_path / "d.h5", {**OPTIONS, "train_file": tmp_path / "train.csv",
                                              "test_file": tmp_path / "test.csv", "n_val": 1})
    info = data.describe(tmp_path / "d.h5")
    assert (info.classes, info.n_classes, info.rows) == (["high", "low"], 2, {"train": 3, "val": 1, "test": 2})
    with h5py.File(tmp_path / "d.h5") as f:
        assert [info.classes[c] for c in f["test"]["y"][:].argmax(-1)] == ["low", "high"]


TS = "@problemName tiny\n@univariate true\n@equalLength false\n@classLabel true up down\n@data\n"
TS_ROWS = "1,2,3:up\n3,2,1:down\n1,2:up\n4,3:down\n"


def _npz(tmp_path, **arrays) -> bytes:
    np.savez(tmp_path / "made.npz", **arrays)
    return (tmp_path / "made.npz").read_bytes()


def _corrupt_first_array(raw: bytes) -> bytes:
    at = raw.index(b"\x93NUMPY") + 130  # inside X_train's values, past its header
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:]


GOOD_NPZ = {"X_train": np.arange(8).reshape(4, 2) % 3, "y_train": np.array(["up", "down"] * 2)}
DAMAGED = {  # file name -> its bytes, the message that follows "{path}: " (or ", " for a row)
    "text.npz": (lambda t: b"up,1,2\ndown,2,1\n", ": not an .npz file (numpy.savez writes a zip archive of arrays; "
                 "this is not one)"),
    "empty.npz": (lambda t: b"", ": not an .npz file"),
    "truncated.npz": (lambda t: _npz(t, **GOOD_NPZ)[:300], ": a damaged or truncated .npz file (the end of its zip "
                      "archive is missing)"),
    "corrupt.npz": (lambda t: _corrupt_first_array(_npz(t, **GOOD_NPZ)), ": a damaged or truncated .npz file (Bad "
                    "CRC-32 for file 'X_train.npy')"),
    "objects.npz": (lambda t: _npz(t, X_train=GOOD_NPZ["X_train"], y_train=np.array(["up", 1, 2, 3], object)),
                    ": holds arrays of Python objects (dtype=object)"),
    "lengths.npz": (lambda t: _npz(t, **GOOD_NPZ, lengths_train=np.full(4, 1.5)), ": lengths_train (4,) float64 is "
                    "not one whole number per row of X_train"),
    "truncated.ts": (lambda t: (TS + TS_ROWS)[:-3].encode(), ", row 4: label 'do' is not among the classes its "
                     "@classLabel line names (up, down)"),
    "garbage.ts": (lambda t: bytes(range(256)) * 4, ": not a readable .ts file ("),
    "header.ts": (lambda t: (TS.replace("true up down", "maybe") + TS_ROWS).encode(), ": not a readable .ts file "
                  "(invalid class label value)"),
    "unlabelled.ts": (lambda t: (TS.replace("true up down", "false") + "1,2\n3,4\n").encode(), ": no class labels ("),
}


@pytest.mark.parametrize("name", DAMAGED)
def test_a_damaged_file_is_refused_in_one_line(tmp_path, name):
    if name.endswith(".ts"):
        pytest.importorskip("aeon")
    make, message = DAMAGED[name]
    (tmp_path / name).write_bytes(make(tmp_path))
    (tmp_path / "out").mkdir()
    r = invoke("import", "--train-file", tmp_path / name, "--test-file", write_lines(tmp_path / "t.csv", ["up,1"]),
               "--out", tmp_path / "out" / "d.h5")
    where = f"train file {tmp_path / name}" if message.startswith(",") else f"{tmp_path / name}"
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith(f"echo-pipeline: error: {where}{message}") and r.stderr.count("\n") == 1, r.stderr
    assert not any((tmp_path / "out").iterdir())


def test_carving_more_than_the_training_split_holds_is_refused(tmp_path):
    r = invoke("import", "--train-file", write_lines(tmp_path / "a.csv", ["a,1", "b,2"]), "--test-file",
               write_lines(tmp_path / "b.csv", ["a,1"]), "--n-val", 2, "--out", tmp_path / "d.h5")
    assert r.returncode == 2 and r.stderr == ("echo-pipeline: error: Invalid value for '--n-val': 2: the train file "
                                              "has 2 sequences; carve 1 to 1\n")


def test_text_is_read_a_block_at_a_time(tmp_path, monkeypatch):
    """Memory stays flat as a file grows: its lines come in blocks, never all at once."""
    monkeypatch.setattr(sources, "BLOCK_LINES", 3)
    path = write_lines(tmp_path / "big.csv", [f"{'ab'[i % 2]},{i % 7},{i % 5}" for i in range(20)])
    blocks = list(sources.blocks(path, "text", "train"))
    assert [len(b.steps) for b in blocks] == [3] * 6 + [2]
    assert [label for b in blocks for label in b.labels] == ["a", "b"] * 10
    assert np.concatenate([b.values for b in blocks])[:, 0].tolist() == [v for i in range(20) for v in (i % 7, i % 5)]


def test_class_order():
    assert sources.class_order(["b", "a", "C"]) == ["C", "a", "b"]
    assert sources.class_order(["10", "9", "-1", "2.5"]) == ["-1", "2.5", "9", "10"]


def test_the_file_records_where_it_came_from(tmp_path):
    run_import(tmp_path, RAGGED, ["ham,1"], n_val=1)
    with h5py.File(tmp_path / "d.h5") as f:
        assert json.loads(f.attrs["source"]) == {"train": str(tmp_path / "train.csv"),
                                                 "test": str(tmp_path / "test.csv")}
        assert json.loads(f.attrs["format"]) == {"train": "text", "test": "text"}


# ---- --max-length: each sequence cut to its head or its tail ----

def _cut(line: str, most: int, keep: str) -> str:
    label, *steps = line.split(",")
    return ",".join([label, *(steps[:most] if keep == "head" else steps[-most:])])


@pytest.mark.parametrize("keep", ["head", "tail"])
def test_max_length_keeps_the_head_or_the_tail_of_each_sequence(tmp_path, keep):
    test = ["ham,1,2,3,4,5", "eggs,4", "spam,7,8,9"]
    info = run_import(tmp_path, RAGGED, test, n_val=2, max_length=3, keep=keep)
    assert info.length == 3 and info.variable and info.truncation == {"max_length": 3, "keep": keep}
    assert info.problem["max_length"] == 3 and info.problem["keep"] == keep
    assert stored_lines(tmp_path / "d.h5", "test", info.classes) == [_cut(line, 3, keep) for line in test]
    stored = stored_lines(tmp_path / "d.h5", "train", info.classes) + stored_lines(tmp_path / "d.h5", "val",
                                                                                    info.classes)
    assert sorted(stored) == sorted(_cut(line, 3, keep) for line in RAGGED)
    assert data.verify(tmp_path / "d.h5") == info.content_hash


def test_max_length_cuts_real_valued_series_too_and_may_leave_one_length(tmp_path):
    train = ["walk,0.5 1.0,1.5 2.0,2.5 3.0", "run,-1 0,3 4", "walk,1 1,2 2", "run,2 2,4 4,6 6"]
    info = run_import(tmp_path, train, ["run,1 2,3 4,5 6"], n_val=1, max_length=2, keep="tail")
    assert (info.kind, info.length, info.variable) == ("features", 2, False)  # every sequence now has 2 steps
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["test"]["X"][:].tolist() == [[3, 4], [5, 6]] and "lengths" not in f["test"]
        steps = np.concatenate([f["train"]["X"][:], f["val"]["X"][:]])
    assert sorted(map(tuple, steps.tolist())) == sorted([(1.5, 2), (2.5, 3), (-1, 0), (3, 4), (1, 1), (2, 2),
                                                         (4, 4), (6, 6)])


def test_a_sequence_as_long_as_max_length_is_kept_whole():
    block = sources.parse_lines([(1, "a,1,2,3"), (2, "b,4,5"), (3, "c,6,7,8,9")])
    for keep, last in (("head", [6, 7, 8]), ("tail", [7, 8, 9])):
        cut = importer.cut(block, 3, keep)
        assert cut.steps.tolist() == [3, 2, 3] and cut.values[:5, 0].tolist() == [1, 2, 3, 4, 5]
        assert cut.values[5:, 0].tolist() == last
    assert importer.cut(block, 4, "tail") is block and importer.cut(block, None, "head") is block


@pytest.mark.parametrize("problem", ["japanese-vowels", "reference"])
def test_a_preset_with_ones_own_files_imports_those_files_and_records_the_preset(tmp_path, problem):
    """--problem names the preset whose training defaults the data takes (an imported preset's or a generated
    one's); files given win over those its import section names (JapaneseVowels' here)."""
    train = write_lines(tmp_path / "train.csv", [f"{'ab'[i % 2]},{i % 3},{i % 2}" for i in range(20)])
    r = invoke("import", "--problem", problem, "--train-file", train, "--test-file",
               write_lines(tmp_path / "test.csv", ["a,1,0", "b,2,1"]), "--n-val", 2, "--out", tmp_path / "d.h5")
    assert r.returncode == 0, r.stderr
    info = data.describe(tmp_path / "d.h5")
    assert info.attrs["problem"] == problem
    assert (info.classes, info.rows) == (["a", "b"], {"train": 18, "val": 2, "test": 2})
