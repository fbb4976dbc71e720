"""evaluate against the tiny models and datasets, checked independently (tests/reference.py): loss and
accuracy of every row of the test split, read in the batches it should ask for; quiet, and timed; a write
that fails part-way keeps the previous metrics. The `weak` model's predictions are far from perfect, so a
wrong row or batch shows."""
import json
import time
import warnings

import pytest

from pipeline import config, data, evaluate, predict, train
from tests.failing_writes import fails_cleanly, half_written_text
from tests.reference import independent


def test_weak_model_is_far_from_perfect(weak):
    """The checks below rely on it: a near-perfect model would make a wrong row look right."""
    tokens, labels, probs, _ = independent(weak["model_path"], weak["data_path"])
    assert (probs.argmax(1) == labels).mean() < 0.6


def test_evaluate_matches_independent_accuracy(trained, tmp_path):
    out = tmp_path / "metrics.json"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = evaluate.evaluate(trained["data_path"], trained["model_path"], out)
    # Keras warns "Your input ran out of data" when evaluate asks for more batches than the split has
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]
    _, labels, probs, _ = independent(trained["model_path"], trained["data_path"])
    expected = (probs.argmax(1) == labels).mean()
    saved = json.loads(out.read_text())
    assert saved["n_test"] == len(labels) == 3000
    assert abs(saved["accuracy"] - expected) < 1e-6 and saved["accuracy"] >= 0.999
    assert saved["dataset"]["content_hash"] == trained["dataset"]["content_hash"]
    assert saved["model"]["train_settings"]["seed"] == 1 and r["loss"] < 0.1


@pytest.mark.parametrize("batch_size, xla", [(None, False), (700, False), (700, True)])
def test_evaluate_covers_the_whole_test_split(weak, long_test_data, tmp_path, forward_xla, capfd,
                                              batch_size, xla):
    """The default batch (8,192) against a split of 17,618 rows (three batches, the last partial), and
    small batches, also compiled with XLA: loss and accuracy are those of every row, not of the first batch.
    Nothing is printed, the XLA warm-up of the last batch's shape included."""
    forward_xla(xla)
    kw = {} if batch_size is None else {"batch_size": batch_size}
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = evaluate.evaluate(long_test_data, weak["model_path"], tmp_path / "metrics.json", **kw)
    assert capfd.readouterr().out == ""
    assert r["xla"] is xla
    # a pass that asks for more batches than the split holds makes Keras warn "Your input ran out of data"
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]
    tokens, labels, probs, loss = independent(weak["model_path"], long_test_data)
    n = len(labels)
    assert n > 2 * config.EVAL_BATCH  # the point of the dataset
    correct = int((probs.argmax(1) == labels).sum())
    assert r["n_test"] == n and r["correct"] == correct
    assert abs(r["accuracy"] - correct / n) < 1e-6
    assert abs(r["loss"] - loss) < 1e-4 * max(1.0, loss)
    assert json.loads((tmp_path / "metrics.json").read_text())["correct"] == correct


def test_forward_batches_shrink_for_long_rows(weak, tiny_data, tmp_path, monkeypatch):
    """Evaluate, predict and validation take fewer rows a batch when its float32 inputs would pass
    config.FORWARD_BYTES (tiny_data's rows are 60 bytes: a budget of 4 * 60 * 600 bytes holds 512)."""
    monkeypatch.setattr(config, "FORWARD_BYTES", 4 * 60 * 600)
    assert evaluate.evaluate(tiny_data, weak["model_path"], tmp_path / "metrics.json")["batch_size"] == 512
    predict.predict(tiny_data, weak["model_path"], tmp_path / "predictions.csv")
    assert json.loads((tmp_path / "predictions.json").read_text())["batch_size"] == 512
    info = data.describe(tiny_data)
    feeds = train.datasets(info, train.resolve(train.Options(), info))
    assert [len(X) for X, _ in feeds.val] == [512, 512, 512, 2000 - 3 * 512]
    assert len(next(iter(feeds.train))[0]) == 256  # training batches keep their size


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


def test_evaluate_failing_part_way_keeps_the_previous_metrics(weak, tmp_path, monkeypatch):
    out = tmp_path / "metrics.json"
    out.write_text('{"accuracy": "the previous run"}\n')
    half_written_text(monkeypatch)
    fails_cleanly(tmp_path, out, lambda: evaluate.evaluate(weak["data_path"], weak["model_path"], out))
