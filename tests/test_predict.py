"""predict against the tiny models and datasets, checked independently (tests/reference.py): every row
and column of predictions.csv, its summary and timing, the book's lines for given sequences; parsing a
user's sequences; the CSV formatting; a write that fails part-way keeps the previous predictions."""
import csv
import json
import re
import time

import click
import numpy as np
import pytest

from pipeline import config, data, echo, predict, tokens
from pipeline.files import BadFile
from tests.conftest import RAGGED, invoke
from tests.failing_writes import fail_after, fails_cleanly
from tests.reference import independent

PROBLEM = {"kind": "tokens", "length": 5, "n_features": 10, "out_index": 2}
COLUMNS = ["index", "sequence", "expected", "predicted", "confidence"]


def test_predictions_in_file_order(trained, tmp_path):
    out = tmp_path / "predictions.csv"
    summary = predict.predict(trained["data_path"], trained["model_path"], out)
    rows = list(csv.DictReader(open(out)))
    seqs, labels, probs, _ = independent(trained["model_path"], trained["data_path"])
    assert list(rows[0]) == COLUMNS and len(rows) == len(seqs)
    for i in (0, 1, 1234, len(seqs) - 1):
        assert int(rows[i]["index"]) == i
        assert rows[i]["sequence"] == " ".join(map(str, seqs[i]))
        assert int(rows[i]["expected"]) == seqs[i, 2] == labels[i]
        assert int(rows[i]["predicted"]) == probs[i].argmax()
        assert abs(float(rows[i]["confidence"]) - probs[i].max()) < 1e-5
    assert summary["accuracy"] >= 0.999 and summary["shown"][0].startswith("Sequence: [")
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["dataset"]["content_hash"] == trained["dataset"]["content_hash"] and side["rows"] == len(seqs)


@pytest.mark.parametrize("batch_size, xla", [(None, False), (1_000, False), (1_000, True)])
def test_every_prediction_row_and_column(weak, long_test_data, tmp_path, forward_xla, batch_size, xla):
    forward_xla(xla)
    out = tmp_path / "predictions.csv"
    kw = {} if batch_size is None else {"batch_size": batch_size}
    summary = predict.predict(long_test_data, weak["model_path"], out, **kw)
    assert summary["xla"] is xla
    stored, labels, probs, _ = independent(weak["model_path"], long_test_data)
    with open(out, newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == COLUMNS
        rows = list(reader)
    assert len(rows) == len(labels) > config.PREDICT_BATCH
    index, seqs, expected, predicted, confidence = zip(*rows)
    assert list(map(int, index)) == list(range(len(labels)))
    assert list(seqs) == [" ".join(map(str, t)) for t in stored.tolist()]
    assert np.array_equal(np.array(expected, int), labels)
    assert np.array_equal(np.array(expected, int), stored[:, 2])  # the echo of out_index
    predicted = np.array(predicted, int)
    assert (predicted == labels).mean() < 0.6  # so the next line tells predicted from expected
    assert (predicted == probs.argmax(1)).mean() > 0.999  # float32 ties, batch to batch, may flip one
    assert np.abs(np.array(confidence, float) - probs.max(1)).max() < 2e-6
    assert summary["rows"] == len(labels)
    assert abs(summary["accuracy"] - (predicted == labels).mean()) < 1e-12
    assert summary["shown"] == [f"Sequence: {tokens.format_sequence(t)} Expected: {e} Predicted: {p}"
                                for t, e, p in zip(stored[:5].tolist(), labels[:5], predicted[:5])]
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["rows"] == len(labels) and side["accuracy"] == summary["accuracy"]
    assert side["dataset"]["content_hash"] == data.describe(long_test_data).content_hash


def test_predict_one_sequence_book_style(trained):
    r = invoke("predict", "--model", trained["model_path"], "--sequence", "7,0,2,6,7")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Sequence: [7, 0, 2, 6, 7] Expected: 2 Predicted: 2"


def test_predict_a_users_sequences_file(trained, tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    seqs = rng.integers(0, 10, size=(40, 5))
    lines = ["# my sequences", ""] + [",".join(map(str, t)) for t in seqs[:20]] + \
            [" ".join(map(str, t)) for t in seqs[20:]]
    (tmp_path / "mine.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    r = invoke("predict", "--model", trained["model_path"], "--sequences", tmp_path / "mine.txt")
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip().splitlines()
    assert len(out) == 40
    for line, t in zip(out, seqs):
        assert line.startswith(f"Sequence: {tokens.format_sequence(t)} Expected: {t[2]} Predicted: ")
    right = sum(line.endswith(f"Predicted: {t[2]}") for line, t in zip(out, seqs))
    assert right >= 38  # the model learned; the lines are its own predictions, not the expected values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


@pytest.mark.parametrize("content, message", [
    ("1,2,3,4,5\n1,2,3\n", "line 2: has 3 values; the model takes sequences of length 5"),
    ("1,2,3,4,5\n\n# ok\n1,2,10,4,5\n", "line 4: value 10 is outside [0, 10)"),
    ("1,2,x,4,5\n", "line 1: '1,2,x,4,5' is not integers separated by commas or spaces"),
    ("# nothing\n\n", "no sequences"),
])
def test_bad_sequences_file_names_the_line(trained, tmp_path, monkeypatch, content, message):
    (tmp_path / "bad.txt").write_text(content)
    monkeypatch.chdir(tmp_path)
    r = invoke("predict", "--model", trained["model_path"], "--sequences", tmp_path / "bad.txt")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"bad.txt, {message}" in r.stderr or f"bad.txt: {message}" in r.stderr, r.stderr
    assert r.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


# ---- predict.check_sequence, parse_sequence, read_sequences ----

def test_check_sequence_returns_the_tokens_as_int64():
    out = predict.check_sequence([0, 9, 2, 6, 7], PROBLEM)
    assert out.dtype == np.int64 and out.tolist() == [0, 9, 2, 6, 7]


@pytest.mark.parametrize("seqs, message", [
    ([1, 2, 3, 4], "has 4 values; the model takes sequences of length 5"),
    ([1, 2, 3, 4, 5, 6], "has 6 values; the model takes sequences of length 5"),
    ([1, 2, 10, 4, 11], "value 10 is outside [0, 10)"),
    ([1, -1, 3, 4, 12], "value -1 is outside [0, 10)"),
])
def test_check_sequence_says_why(seqs, message):
    with pytest.raises(ValueError) as e:
        predict.check_sequence(seqs, PROBLEM)
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
    path.write_text("# seqs\n\n7,0,2,6,7\n  1 2 3 4 9  \n   \n  # indented comment\n0, 0 ,1,2,3\n")
    out = predict.read_sequences(path, PROBLEM)
    assert [r.tolist() for r in out] == [[7, 0, 2, 6, 7], [1, 2, 3, 4, 9], [0, 0, 1, 2, 3]]


def test_read_sequences_one_line(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("1,2,3,4,5")
    assert [r.tolist() for r in predict.read_sequences(str(path), PROBLEM)] == [[1, 2, 3, 4, 5]]


def test_read_sequences_skips_a_byte_order_mark(tmp_path):
    path = tmp_path / "seqs.csv"
    path.write_bytes("7,0,2,6,7\r\n1,2,3,4,5\r\n".encode("utf-8-sig"))  # as Excel's "CSV UTF-8" saves it
    assert [r.tolist() for r in predict.read_sequences(path, PROBLEM)] == [[7, 0, 2, 6, 7], [1, 2, 3, 4, 5]]


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

def _probs(model_path, seqs, n_features=10):
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    X = np.eye(n_features, dtype=np.float32)[seqs]
    return net.predict(X, batch_size=1000, verbose=0)


def _test_tokens(data_path, n=300):
    return data.read_padded(data_path, "test", 0, n)[0].argmax(-1).astype(np.int64)


def test_predict_lines_are_the_books_lines(weak):
    seqs = _test_tokens(weak["data_path"], 50)
    lines = predict.predict_lines(weak["model_path"], seqs)
    predicted = _probs(weak["model_path"], seqs).argmax(-1)
    assert lines == [f"Sequence: [{', '.join(map(str, t))}] Expected: {t[2]} Predicted: {p}"
                     for t, p in zip(seqs.tolist(), predicted.tolist())]
    assert any(p != t[2] for t, p in zip(seqs.tolist(), predicted.tolist()))  # expected != predicted shows


def test_predict_lines_prints_nothing(weak, capfd):
    capfd.readouterr()
    predict.predict_lines(weak["model_path"], _test_tokens(weak["data_path"], 20))
    assert capfd.readouterr().out == ""  # no progress bar: the CLI prints one line per sequence


def test_predict_lines_of_the_trained_model(trained):
    seqs = np.array([[7, 0, 2, 6, 7], [1, 2, 9, 4, 5]])
    assert predict.predict_lines(trained["model_path"], seqs) == [
        "Sequence: [7, 0, 2, 6, 7] Expected: 2 Predicted: 2", "Sequence: [1, 2, 9, 4, 5] Expected: 9 Predicted: 9"]


# ---- predict.csv_lines (both ways of formatting) and predict's summary ----

def test_fast_csv_rows_match_plain_formatting():
    rng = np.random.default_rng(0)
    for first, n in ((0, 5000), (95, 20), (9_990, 30), (999_999, 3)):
        seqs, expected, predicted = rng.integers(0, 10, (n, 5)), rng.integers(0, 10, n), rng.integers(0, 10, n)
        confidence = rng.random(n).astype(np.float32)
        confidence[0] = 1.0
        plain = "".join(f"{first + i},{' '.join(map(str, t))},{e},{p},{c:.6f}\n"
                        for i, (t, e, p, c) in enumerate(zip(seqs.tolist(), expected, predicted, confidence)))
        assert predict.csv_single_digits(first, seqs, expected, predicted, confidence) == plain
        assert predict.csv_lines(first, [" ".join(map(str, t)) for t in seqs.tolist()], expected.tolist(),
                                 predicted.tolist(), confidence) == plain
    names = ['say "hi"', "a,b", "plain"]  # the general path quotes what needs it
    line = predict.csv_lines(7, ["1 2"], [names[0]], [names[1]], np.full(1, 0.5))
    assert line == '7,1 2,"say ""hi""","a,b",0.500000\n'


def _csv_reference(first, seqs, expected, predicted, confidence):
    return "".join(f"{i},{' '.join(map(str, t))},{e},{p},{c:.6f}\n" for i, t, e, p, c in
                   zip(range(first, first + len(seqs)), seqs.tolist(), expected.tolist(), predicted.tolist(),
                       confidence.tolist()))


@pytest.mark.parametrize("first, n", [(0, 12), (95, 12), (3, 0)])  # row indices crossing 100; an empty batch
def test_both_ways_of_writing_rows_match_the_plain_format(first, n):
    rng = np.random.default_rng(first + n)
    seqs = rng.integers(0, 10, size=(n, 5))
    expected, predicted = rng.integers(0, 10, n), rng.integers(0, 10, n)
    confidence = rng.random(n).astype(np.float32)
    plain = _csv_reference(first, seqs, expected, predicted, confidence)
    assert predict.csv_single_digits(first, seqs, expected, predicted, confidence) == plain
    assert predict.csv_lines(first, [" ".join(map(str, t)) for t in seqs.tolist()], expected.tolist(),
                             predicted.tolist(), confidence) == plain


def test_predict_summary(weak, long_test_data, tmp_path):
    """Two batches (16,384 + 1,234 rows): the summary returned and predictions.json beside the CSV."""
    import json

    out = tmp_path / "predictions.csv"
    t = time.perf_counter()
    s = predict.predict(long_test_data, weak["model_path"], out)
    wall = time.perf_counter() - t
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == {k: v for k, v in s.items() if k != "shown"} and len(s["shown"]) == 5
    assert set(saved) == {"path", "rows", "accuracy", "macro_f1", "balanced_accuracy", "per_class", "confusion",
                          "seconds", "samples_per_s", "batch_size", "xla", "columns", "dataset", "model"}
    assert saved["path"] == str(out) and saved["columns"] == COLUMNS
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


# ---- a write that fails part-way ----

def test_predict_failing_part_way_keeps_the_previous_predictions(weak, long_test_data, tmp_path, monkeypatch):
    out = tmp_path / "predictions.csv"
    out.write_text("index,sequence,expected,predicted,confidence\n0,the previous run,1,1,1.0\n")
    count = fail_after(monkeypatch, predict.Rows, "csv", 1)  # the first of two batches is written
    fails_cleanly(tmp_path, out, lambda: predict.predict(long_test_data, weak["model_path"], out))
    assert count[0] == 2


# ---- a model of a user's ragged token sequences with named classes (`ragged`, tests/conftest.py) ----

VARIABLE = {"kind": "tokens", "length": 7, "n_features": 10, "variable": True}


@pytest.mark.parametrize("xla", [False, True])
def test_predictions_of_ragged_tokens_show_each_sequence_and_the_label_names(ragged, forward_xla, xla):
    """In file order, though batches come sorted by length; never compiled with XLA (which would compile
    every batch width again)."""
    forward_xla(xla)
    summary = predict.predict(ragged / "own.h5", ragged / "model.keras", ragged / "predictions.csv")
    assert summary["xla"] is False
    rows = list(csv.DictReader(open(ragged / "predictions.csv")))
    assert [(r["index"], r["sequence"], r["expected"]) for r in rows] == [
        (str(i), " ".join(line.split(",")[1:]), line.split(",")[0]) for i, line in enumerate(RAGGED)]
    assert {r["predicted"] for r in rows} <= {"eggs", "ham", "spam"} and summary["rows"] == len(RAGGED)
    from pipeline.model import load_model

    net, _ = load_model(ragged / "model.keras")
    probs = net.predict(data.read_padded(ragged / "own.h5", "test")[0].astype(np.float32), verbose=0)
    classes = np.array(["eggs", "ham", "spam"])
    assert [(r["predicted"], float(r["confidence"])) for r in rows] == [
        (c, pytest.approx(p, abs=2e-6)) for c, p in zip(classes[probs.argmax(-1)], probs.max(-1))]
    assert summary["shown"][:2] == [f"Sequence: [3, 1, 4, 1, 5] Expected: spam Predicted: {rows[0]['predicted']}",
                                    f"Sequence: [9, 2] Expected: ham Predicted: {rows[1]['predicted']}"]


def test_a_users_sequences_of_any_length_up_to_the_models_get_its_label_names(ragged):
    lines = predict.predict_lines(ragged / "model.keras", [np.array([9, 2]), np.array([3, 1, 4, 1, 5, 9, 2])])
    names = "eggs|ham|spam"
    assert re.fullmatch(rf"Sequence: \[9, 2\] Predicted: ({names})", lines[0])  # no position to echo
    assert re.fullmatch(rf"Sequence: \[3, 1, 4, 1, 5, 9, 2\] Predicted: ({names})", lines[1])


@pytest.mark.parametrize("seqs", [[4], [4, 5], [1, 2, 3, 4, 5, 6, 7]])
def test_a_model_of_sequences_of_different_lengths_takes_any_length_up_to_its_own(seqs):
    assert predict.check_sequence(seqs, VARIABLE).tolist() == seqs


@pytest.mark.parametrize("seqs", [[], [1, 2, 3, 4, 5, 6, 7, 8]])
def test_a_model_of_sequences_of_different_lengths_names_its_longest(seqs):
    with pytest.raises(ValueError) as e:
        predict.check_sequence(seqs, VARIABLE)
    assert str(e.value) == f"has {len(seqs)} values; the model takes sequences up to 7"


def _dataset(kind, classes, n_features, lengths=None, pad_value=0.0):
    """What Rows reads of a dataset (data.DatasetInfo's fields), and rows of it with their lengths."""
    from types import SimpleNamespace

    rng, length = np.random.default_rng(len(classes)), 6
    n = len(lengths) if lengths else 12
    lengths = np.array(lengths or [length] * n)
    if kind == "tokens":
        X = tokens.one_hot(rng.integers(0, n_features, (n, length)), n_features).astype(np.float32)
    else:
        X = rng.normal(size=(n, length, n_features)).astype(np.float32)
    for row, k in zip(X, lengths):
        row[k:] = pad_value
    info = SimpleNamespace(kind=kind, classes=list(classes), n_classes=len(classes), n_features=n_features,
                           variable=bool(len(set(lengths.tolist())) > 1 or lengths[0] < length), pad_value=pad_value)
    return info, X, lengths


@pytest.mark.parametrize("kind, classes, n_features, lengths", [
    ("tokens", echo.class_names(10), 10, None),  # the echo problem: the fast path
    ("tokens", echo.class_names(11), 11, None),  # a class of two digits
    ("tokens", echo.class_names(10), 12, None),  # a token of two digits
    ("tokens", ["spam", "ham, eggs"], 3, None),  # names (one needing quotes)
    ("tokens", echo.class_names(10), 10, [6, 2, 1, 6, 3]),  # different lengths, padded with all-zero steps
    ("features", ["walk", "run", "7"], 3, [6, 4, 1, 5]),
    ("features", ["walk", "run"], 2, None),  # real-valued steps, all of one length
])
def test_rows_are_the_plain_csv_and_book_format_for_every_kind_of_dataset(kind, classes, n_features, lengths):
    info, X, lengths = _dataset(kind, classes, n_features, lengths)
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(len(classes)), len(X)).astype(np.float32)
    expected = rng.integers(0, len(classes), len(X))
    rows = predict.Rows(info)
    text = rows.csv(1005, X, expected, probs)
    shown = [str(k) if kind == "features" else " ".join(str(t) for t in x[:k].argmax(-1)) for x, k in zip(X, lengths)]
    plain = [[str(1005 + i), s, classes[e], classes[p.argmax()], f"{p.max():.6f}"]
             for i, (s, e, p) in enumerate(zip(shown, expected, probs))]
    assert list(csv.reader(text.splitlines())) == plain
    assert predict.columns({"kind": kind})[1] == ("sequence" if kind == "tokens" else "length")
    book = rows.lines(X, expected, probs, 3)
    steps = [f"[{k} steps of {n_features} features]" if kind == "features" else
             "[" + ", ".join(str(t) for t in x[:k].argmax(-1)) + "]" for x, k in zip(X, lengths)]
    assert book == [f"Sequence: {s} Expected: {classes[e]} Predicted: {classes[p.argmax()]}"
                    for s, e, p in zip(steps[:3], expected, probs)]


@pytest.mark.parametrize("keep, kept", [("head", [1, 2, 3]), ("tail", [5, 6, 7])])
def test_a_model_of_sequences_cut_on_import_cuts_a_longer_one_the_same_way(keep, kept):
    problem = {**VARIABLE, "length": 3, "max_length": 3, "keep": keep}
    assert predict.check_sequence([1, 2, 3, 4, 5, 6, 7], problem).tolist() == kept
    assert predict.check_sequence([4, 5], problem).tolist() == [4, 5]  # shorter: as it is
    assert predict.parse_sequence("1,2,3,4,5,6,7", problem).tolist() == kept
    with pytest.raises(ValueError, match=r"value 10 is outside \[0, 10\)"):
        predict.check_sequence([1, 2, 3, 4, 10] if keep == "tail" else [10, 1, 2, 3], problem)


def test_a_file_of_sequences_is_cut_like_the_training_data(tmp_path):
    path = tmp_path / "seqs.txt"
    path.write_text("1,2,3,4,5,6,7,8,9\n4 5\n")
    rows = predict.read_sequences(path, {**VARIABLE, "length": 4, "max_length": 4, "keep": "tail"})
    assert [r.tolist() for r in rows] == [[6, 7, 8, 9], [4, 5]]
