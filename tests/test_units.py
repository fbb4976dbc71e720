"""In-process unit tests of functions the CLI tests reach only in subprocesses (so that `make mutation`,
whose mutants live in the test process, tests them too): predict's sequence parsing and prediction,
the reader's record of blocks read, stale temporary files, and data's one-line error text."""
import os
import signal
import time

import click
import h5py
import numpy as np
import pytest

from pipeline import config, data, evaluate, files, predict, reader
from pipeline.files import BadFile
from tests.conftest import deny_access

PROBLEM = {"length": 5, "n_features": 10, "out_index": 2}


# ---- predict.check_sequence, parse_sequence, read_sequences ----

def test_check_sequence_returns_the_tokens_as_int64():
    out = predict.check_sequence([0, 9, 2, 6, 7], PROBLEM)
    assert out.dtype == np.int64 and out.tolist() == [0, 9, 2, 6, 7]


@pytest.mark.parametrize("tokens, message", [
    ([1, 2, 3, 4], "has 4 values; the model takes sequences of length 5"),
    ([1, 2, 3, 4, 5, 6], "has 6 values; the model takes sequences of length 5"),
    ([1, 2, 10, 4, 11], "value 10 is outside [0, 10)"),
    ([1, -1, 3, 4, 12], "value -1 is outside [0, 10)"),
])
def test_check_sequence_says_why(tokens, message):
    with pytest.raises(ValueError) as e:
        predict.check_sequence(tokens, PROBLEM)
    assert str(e.value) == message


def test_parse_sequence():
    out = predict.parse_sequence("7, 0,2,6,9", PROBLEM)
    assert out.dtype == np.int64 and out.tolist() == [7, 0, 2, 6, 9]


@pytest.mark.parametrize("text, message", [
    ("7,0,2", "has 3 values; the model takes sequences of length 5"),
    ("7,0,2,6,10", "value 10 is outside [0, 10)"),
    ("7,x,2", "'7,x,2' is not a comma-separated list of integers, e.g. 7,0,2,6,7"),
])
def test_parse_sequence_names_the_option(text, message):
    with pytest.raises(click.BadParameter) as e:
        predict.parse_sequence(text, PROBLEM)
    assert e.value.message == message and e.value.param_hint == "'--sequence'"


def test_read_sequences_skips_blank_and_comment_lines(tmp_path):
    path = tmp_path / "seqs.txt"
    path.write_text("# tokens\n\n7,0,2,6,7\n  1 2 3 4 9  \n   \n  # indented comment\n0, 0 ,1,2,3\n")
    out = predict.read_sequences(path, PROBLEM)
    assert out.dtype == np.int64 and out.tolist() == [[7, 0, 2, 6, 7], [1, 2, 3, 4, 9], [0, 0, 1, 2, 3]]


def test_read_sequences_one_line(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("1,2,3,4,5")
    assert predict.read_sequences(str(path), PROBLEM).tolist() == [[1, 2, 3, 4, 5]]


@pytest.mark.parametrize("text, message", [
    ("1,2,3,4,5\n\n1,2,3\n", "line 3: has 3 values; the model takes sequences of length 5"),
    ("# c\n1,2,3,4,10\n", "line 2: value 10 is outside [0, 10)"),
    ("1,2,a,4,5\n", "line 1: '1,2,a,4,5' is not integers separated by commas or spaces"),
    ("x" * 50 + "\n", f"line 1: {'x' * 40!r} is not integers separated by commas or spaces"),
    ("1;2;3;4;5\n", "line 1: '1;2;3;4;5' is not integers separated by commas or spaces"),
])
def test_read_sequences_names_the_bad_line(tmp_path, text, message):
    path = tmp_path / "seqs.txt"
    path.write_text(text)
    with pytest.raises(BadFile) as e:
        predict.read_sequences(path, PROBLEM)
    assert str(e.value) == f"sequences {path}, {message}"


@pytest.mark.parametrize("content, message", [
    ("", "no sequences (one per line, e.g. 7,0,2,6,7)"),
    ("# only a comment\n\n", "no sequences (one per line, e.g. 7,0,2,6,7)"),
    (b"\xff\xfe\x00\x81", "not a text file"),
])
def test_read_sequences_whole_file_errors(tmp_path, content, message):
    path = tmp_path / "seqs.txt"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(BadFile) as e:
        predict.read_sequences(path, PROBLEM)
    assert str(e.value) == f"sequences {path}: {message}"


def test_read_sequences_missing_file(tmp_path):
    with pytest.raises(BadFile) as e:
        predict.read_sequences(tmp_path / "none.txt", PROBLEM)
    assert str(e.value) == f"sequences {tmp_path / 'none.txt'}: no such file"


# ---- predict.predict_lines (a weak model: a wrong row or column shows) ----

def _probs(model_path, tokens, n_features=10):
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    X = np.eye(n_features, dtype=np.float32)[tokens]
    return net.predict(X, batch_size=1000, verbose=0)


def _test_tokens(data_path, n=300):
    with h5py.File(data_path) as f:
        return f["test"]["X"][:n].argmax(-1).astype(np.int64)


def test_predict_lines_are_the_books_lines(weak):
    tokens = _test_tokens(weak["data_path"], 50)
    lines = predict.predict_lines(weak["model_path"], tokens)
    predicted = _probs(weak["model_path"], tokens).argmax(-1)
    assert lines == [f"Sequence: [{', '.join(map(str, t))}] Expected: {t[2]} Predicted: {p}"
                     for t, p in zip(tokens.tolist(), predicted.tolist())]
    assert any(p != t[2] for t, p in zip(tokens.tolist(), predicted.tolist()))  # expected != predicted shows


def test_predict_lines_prints_nothing(weak, capfd):
    capfd.readouterr()
    predict.predict_lines(weak["model_path"], _test_tokens(weak["data_path"], 20))
    assert capfd.readouterr().out == ""  # no progress bar: the CLI prints one line per sequence


def test_predict_lines_of_the_trained_model(trained):
    tokens = np.array([[7, 0, 2, 6, 7], [1, 2, 9, 4, 5]])
    assert predict.predict_lines(trained["model_path"], tokens) == [
        "Sequence: [7, 0, 2, 6, 7] Expected: 2 Predicted: 2", "Sequence: [1, 2, 9, 4, 5] Expected: 9 Predicted: 9"]


# ---- reader.record_reads, blocks_read ----

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
    with h5py.File(tiny_data) as f:
        X, y = f["val"]["X"][5:25], f["val"]["y"][5:25]
    bx, by = reader.read_block(str(tiny_data), "val", 5, 25)
    assert (bx == X).all() and (by == y).all()
    px, py = reader.read_block(str(tiny_data), "val", 5, 25, key=0)
    p = np.random.default_rng(0).permutation(20)
    assert (px == X[p]).all() and (py == y[p]).all() and not (p == np.arange(20)).all()


# ---- files._pid_alive, remove_stale_temps ----

def _dead_pid():
    limit = int(open("/proc/sys/kernel/pid_max").read())
    return limit + 1  # no process can have it


@pytest.fixture
def live_pid():
    """A process of our own that is alive (a sleep), which must still be alive after the test: checking
    whether a process is alive must not send it a signal."""
    defaults = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
    # Default handlers even when this runs under nohup: any signal sent to the sleep ends it.
    pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], dict(os.environ), setsigdef=defaults)
    yield pid
    deadline = time.monotonic() + 0.5  # a signal ends the process a little later: watch for a while
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    alive = done == 0
    if alive:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert alive, f"the process was ended (wait status {status})"


def test_pid_alive(live_pid, monkeypatch):
    assert files._pid_alive(live_pid) is True
    assert files._pid_alive(_dead_pid()) is False

    def denied(pid, sig):
        raise PermissionError

    monkeypatch.setattr(os, "kill", denied)
    assert files._pid_alive(12345) is True


def test_remove_stale_temps_removes_only_dead_runs_files(tmp_path, live_pid):
    dead, alive = _dead_pid(), live_pid
    target = tmp_path / "model.keras"
    target.write_text("model")
    names = [f".model.{dead}.tmp.keras", f".model.{dead}-old.tmp.keras", f".model.{alive}.tmp.keras",
             f".model.{alive}-old.tmp.keras", ".model.abc.tmp.keras", f".other.{dead}.tmp.keras",
             f".model.{dead}.tmp.h5", f"model.{dead}.tmp.keras", f".model.{dead}.tmpkeras"]
    for name in names:
        (tmp_path / name).write_text("x")
    folder = tmp_path / f".model.{dead + 1}.tmp.keras"  # a folder (a SavedModel being written)
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "f").write_text("x")
    files.remove_stale_temps(target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted({"model.keras", *names} - {f".model.{dead}.tmp.keras", f".model.{dead}-old.tmp.keras"})


# ---- files: input and output checks, JSON format, sizes ----

def test_existing_file_names_what_is_wrong(tmp_path, monkeypatch):
    present = tmp_path / "present.txt"
    present.write_text("x")
    assert files.existing_file(present) == present
    for path, message in {tmp_path / "none.txt": "no such file", tmp_path: "is a directory, not a file"}.items():
        with pytest.raises(BadFile) as e:
            files.existing_file(path)
        assert str(e.value) == f"file {path}: {message}"
    deny_access(monkeypatch, present, os.R_OK)
    with pytest.raises(BadFile) as e:
        files.existing_file(present, "sequences")
    assert str(e.value) == f"sequences {present}: not readable"


def test_writable_target(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    assert files.writable_target(tmp_path / "new.json") == tmp_path / "new.json"
    assert files.writable_target(tmp_path / "a_file") == tmp_path / "a_file"
    assert files.writable_target(tmp_path / "a_folder", folder=True) == tmp_path / "a_folder"
    assert files.writable_target(tmp_path / "new_folder", folder=True) == tmp_path / "new_folder"
    refused = {(tmp_path / "a_folder", False): "is a directory",
               (tmp_path / "a_file", True): "is a file, not a folder",
               (tmp_path / "no" / "out.json", False): f"folder {tmp_path / 'no'} does not exist"}
    for (path, folder), message in refused.items():
        with pytest.raises(BadFile) as e:
            files.writable_target(path, folder)
        assert str(e.value) == f"output {path}: {message}"
    deny_access(monkeypatch, tmp_path, os.W_OK)  # a folder one can list but not write into
    with pytest.raises(BadFile) as e:
        files.writable_target(tmp_path / "new.json")
    assert str(e.value) == f"output {tmp_path / 'new.json'}: folder {tmp_path} is not writable"


def test_write_json_atomic_format(tmp_path):
    files.write_json_atomic(tmp_path / "r.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "r.json").read_text() == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}\n'


def test_size_text_picks_the_unit_that_fits():
    assert [files.size_text(n) for n in (0, 1023, 1024, 40 * 1024 + 100, (1 << 20) - 1, 3_355_443, 1 << 30,
                                         int(1.5 * (1 << 30)), 5 << 40)] == [
        "0 bytes", "1023 bytes", "1.0 KiB", "40.1 KiB", "1024.0 KiB", "3.2 MiB", "1.0 GiB", "1.5 GiB", "5120.0 GiB"]


# ---- data._short ----

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


# ---- evaluate.evaluate: quiet, and its timing fields ----

def test_evaluate_prints_nothing_and_times_the_pass(weak, tmp_path, capfd):
    capfd.readouterr()
    t = time.perf_counter()
    r = evaluate.evaluate(weak["data_path"], weak["model_path"], tmp_path / "metrics.json")
    wall = time.perf_counter() - t
    assert capfd.readouterr().out == ""  # no progress bar: the CLI prints one line
    assert 0 < r["seconds"] <= r["seconds_with_tracing"] <= wall + 1e-3
    for key in ("seconds", "seconds_with_tracing"):  # rounded to 0.1 ms
        assert type(r[key]) is float and r[key] == round(r[key], 4), (key, r[key])
    assert r["model"]["path"] == str(weak["model_path"])
    s = r["seconds"]  # rounded to 0.1 ms; samples_per_s is of the unrounded time
    assert r["n_test"] == 3000 and 3000 / (s + 5e-5) - 1 <= r["samples_per_s"] <= 3000 / max(s - 5e-5, 1e-9) + 1


# ---- predict.csv_lines (both ways of formatting) and predict's summary ----

def _csv_reference(first, tokens, expected, predicted, confidence):
    return "".join(f"{i},{' '.join(map(str, t))},{e},{p},{c:.6f}\n" for i, t, e, p, c in
                   zip(range(first, first + len(tokens)), tokens.tolist(), expected.tolist(), predicted.tolist(),
                       confidence.tolist()))


@pytest.mark.parametrize("first, top, where", [
    (0, 9, None),            # single digits everywhere: the byte-matrix path
    (95, 9, None),           # ... with row indices crossing 100
    (7, 10, "tokens"),       # one value of 10 anywhere takes the general path
    (7, 10, "expected"),
    (7, 10, "predicted"),
    (3, 12, "tokens"),
    (3, 11, "all"),
])
def test_csv_lines_match_the_plain_format(first, top, where):
    rng = np.random.default_rng(first + top)
    tokens = rng.integers(0, 10, size=(12, 5))
    expected, predicted = rng.integers(0, 10, 12), rng.integers(0, 10, 12)
    confidence = rng.random(12).astype(np.float32)
    if where in ("tokens", "all"):
        tokens[4, 1] = top
    if where in ("expected", "all"):
        expected[2] = top
    if where in ("predicted", "all"):
        predicted[9] = top
    assert predict.csv_lines(first, tokens, expected, predicted, confidence) == \
        _csv_reference(first, tokens, expected, predicted, confidence)


def test_csv_lines_of_an_empty_batch():
    empty = np.zeros((0, 5), np.int64)
    assert predict.csv_lines(0, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)) == ""


def test_predict_summary(weak, long_test_data, tmp_path):
    """Two batches (16,384 + 1,234 rows): the summary returned and predictions.json beside the CSV."""
    import json

    out = tmp_path / "predictions.csv"
    t = time.perf_counter()
    s = predict.predict(long_test_data, weak["model_path"], out)
    wall = time.perf_counter() - t
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == {k: v for k, v in s.items() if k != "shown"} and len(s["shown"]) == 5
    assert set(saved) == {"path", "rows", "accuracy", "seconds", "samples_per_s", "columns", "dataset", "model"}
    assert saved["path"] == str(out) and saved["columns"] == list(predict.COLUMNS)
    assert saved["model"]["path"] == str(weak["model_path"])
    assert type(saved["seconds"]) is float and saved["seconds"] == round(saved["seconds"], 4)
    assert 0 < saved["seconds"] <= wall + 1e-3
    # timed after the first batch: 1,234 rows in less than the whole run
    assert saved["rows"] == 16_384 + 1_234 and saved["samples_per_s"] >= 1_234 / (saved["seconds"] + 5e-5) - 1


def test_predict_summary_of_one_batch(weak, tmp_path):
    import json

    out = tmp_path / "predictions.csv"
    predict.predict(weak["data_path"], weak["model_path"], out)
    saved = json.loads(out.with_suffix(".json").read_text())
    s = saved["seconds"]  # one batch: the whole run is timed
    assert saved["rows"] == 3000 and 3000 / (s + 5e-5) - 1 <= saved["samples_per_s"] <= 3000 / max(s - 5e-5, 1e-9) + 1


def test_digits_are_exact_for_any_row_index():
    """Integer arithmetic: row indices up to 10**18 (those _csv_single_digits lays out) keep every digit."""
    values = np.array([999_999_999_999_999_999, 123_456_789_012_345_678, 0, 7])
    out = predict._digits(values, 18)
    assert out.dtype == np.uint8 and out.shape == (4, 18)
    assert [bytes(r).decode() for r in out] == ["999999999999999999", "123456789012345678", "0" * 18, "0" * 17 + "7"]


# ---- data.power_of_two_rows, unit_rows; generate.default_chunk_rows, check_params ----

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


@pytest.mark.parametrize("out_index, ok", [(0, True), (4, True), (5, False), (6, False)])
def test_check_params_out_index(out_index, ok):
    from pipeline import generate

    params = {"length": 5, "n_features": 10, "out_index": out_index}
    if ok:
        assert generate.check_params(params) is None
        return
    with pytest.raises(click.BadParameter) as e:
        generate.check_params(params)
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


@pytest.mark.parametrize("two_batches", [True, False])
def test_predict_times_throughput_after_the_first_batch(weak, long_test_data, tmp_path, monkeypatch, two_batches):
    """A clock that ticks one second per reading: start, after the first batch, end."""
    from types import SimpleNamespace

    ticks = iter(range(1, 100))
    monkeypatch.setattr(predict, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    path = long_test_data if two_batches else weak["data_path"]
    s = predict.predict(path, weak["model_path"], tmp_path / "predictions.csv")
    assert s["seconds"] == 2.0
    assert s["samples_per_s"] == (1_234 if two_batches else 1_500)  # 1,234 rows in 1 s; 3,000 rows in 2 s


@pytest.mark.parametrize("most, length, rows", [(8192, 5, 8192), (16384, 1000, 8192), (8192, 5000, 2048),
                                                 (4096, 5000, 2048), (16384, 100_000, 128)])
def test_forward_batch_keeps_float_inputs_within_the_budget(most, length, rows):
    assert data.forward_batch(most, length, 10) == rows
    assert rows * (length + 1) * 10 * 4 <= config.FORWARD_BYTES or rows == 1
