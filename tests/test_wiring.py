"""How train, evaluate and predict call the reader, checked by what they produce: every row of the
split they should read, in the order and with the options they should read it, against a model whose
predictions are far from perfect (so a wrong row, column or batch shows)."""
import csv
import json
import resource
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from pipeline import config, data, echo, evaluate, predict, train
from pipeline.distributed.role import SINGLE, Role


def _independent(model_path, data_path, split="test"):
    """Tokens, labels and the model's probabilities for every row of a split, without the reader."""
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    with h5py.File(data_path) as f:
        X, y = f[split]["X"][:], f[split]["y"][:]
    probs = net.predict(X.astype(np.float32), batch_size=1000, verbose=0)
    tokens, labels = X.argmax(-1), y.argmax(-1)
    p_true = probs[np.arange(len(labels)), labels].astype(np.float64)
    return tokens, labels, probs, float(-np.log(np.clip(p_true, 1e-7, 1)).mean())


@pytest.fixture
def reader_calls(monkeypatch):
    """Every reader.make_dataset call, as (split, batch_size, how it reads); the reader still runs."""
    from pipeline import reader

    calls, original = [], reader.make_dataset

    def spy(info, split, batch_size, how=None):
        how = how or reader.Reading()
        calls.append((split, batch_size, how))
        return original(info, split, batch_size, how)

    monkeypatch.setattr(reader, "make_dataset", spy)
    return calls


def test_weak_model_is_far_from_perfect(weak):
    """The checks below rely on it: a near-perfect model would make a wrong row look right."""
    tokens, labels, probs, _ = _independent(weak["model_path"], weak["data_path"])
    assert (probs.argmax(1) == labels).mean() < 0.6


@pytest.mark.parametrize("batch_size", [None, 700])
def test_evaluate_covers_the_whole_test_split(weak, long_test_data, tmp_path, reader_calls, batch_size):
    """The default batch (8,192) against a split of 17,618 rows (three batches, the last partial), and
    small batches: loss and accuracy are those of every row, not of the first batch."""
    kw = {} if batch_size is None else {"batch_size": batch_size}
    r = evaluate.evaluate(long_test_data, weak["model_path"], tmp_path / "metrics.json", **kw)
    tokens, labels, probs, loss = _independent(weak["model_path"], long_test_data)
    n = len(labels)
    assert n > 2 * config.EVAL_BATCH  # the point of the dataset
    correct = int((probs.argmax(1) == labels).sum())
    assert r["n_test"] == n and r["correct"] == correct
    assert abs(r["accuracy"] - correct / n) < 1e-6
    assert abs(r["loss"] - loss) < 1e-4 * max(1.0, loss)
    assert json.loads((tmp_path / "metrics.json").read_text())["correct"] == correct
    assert [(split, bs, how.shuffle_seed, how.repeat) for split, bs, how in reader_calls] == \
        [("test", batch_size or config.EVAL_BATCH, None, False)]


@pytest.mark.parametrize("batch_size", [None, 1_000])
def test_every_prediction_row_and_column(weak, long_test_data, tmp_path, reader_calls, batch_size):
    out = tmp_path / "predictions.csv"
    kw = {} if batch_size is None else {"batch_size": batch_size}
    summary = predict.predict(long_test_data, weak["model_path"], out, **kw)
    tokens, labels, probs, _ = _independent(weak["model_path"], long_test_data)
    with open(out, newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == list(predict.COLUMNS)
        rows = list(reader)
    assert len(rows) == len(labels) > config.PREDICT_BATCH
    index, seqs, expected, predicted, confidence = zip(*rows)
    assert list(map(int, index)) == list(range(len(labels)))
    assert list(seqs) == [" ".join(map(str, t)) for t in tokens.tolist()]
    assert np.array_equal(np.array(expected, int), labels)
    assert np.array_equal(np.array(expected, int), tokens[:, 2])  # the echo of out_index
    predicted = np.array(predicted, int)
    assert (predicted == labels).mean() < 0.6  # so the next line tells predicted from expected
    assert (predicted == probs.argmax(1)).mean() > 0.999  # float32 ties, batch to batch, may flip one
    assert np.abs(np.array(confidence, float) - probs.max(1)).max() < 2e-6
    assert summary["rows"] == len(labels)
    assert abs(summary["accuracy"] - (predicted == labels).mean()) < 1e-12
    assert summary["shown"] == [f"Sequence: {echo.format_sequence(t)} Expected: {e} Predicted: {p}"
                                for t, e, p in zip(tokens[:5].tolist(), labels[:5], predicted[:5])]
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["rows"] == len(labels) and side["accuracy"] == summary["accuracy"]
    assert side["dataset"]["content_hash"] == data.describe(long_test_data).content_hash
    assert [(split, bs, how.shuffle_seed) for split, bs, how in reader_calls] == \
        [("test", batch_size or config.PREDICT_BATCH, None)]


def test_forward_batches_shrink_for_long_rows(weak, tiny_data, tmp_path, reader_calls, monkeypatch):
    """Evaluate, predict and validation ask for fewer rows when a batch's float32 inputs would pass
    config.FORWARD_BYTES (tiny_data's rows are 60 bytes: a budget of 4 * 60 * 600 bytes holds 512)."""
    monkeypatch.setattr(config, "FORWARD_BYTES", 4 * 60 * 600)
    evaluate.evaluate(tiny_data, weak["model_path"], tmp_path / "metrics.json")
    predict.predict(tiny_data, weak["model_path"], tmp_path / "predictions.csv")
    info = data.describe(tiny_data)
    train.datasets(info, train.resolve(train.Options(), info))
    assert [(split, bs) for split, bs, _ in reader_calls] == [("test", 512), ("test", 512), ("train", 256),
                                                             ("val", 512)]


# --- train: resolve, the datasets it asks of the reader, and what train.json records ---------------

def _info(problem="reference", length=5, out_index=2, rows=None):
    return SimpleNamespace(attrs={"problem": problem}, length=length, n_features=10, out_index=out_index,
                           rows=rows or {"train": 20_000, "val": 2_000, "test": 3_000})


def test_resolve_takes_options_over_the_preset():
    o = train.Options(batch_size=64, epochs=3, steps_per_epoch=5, units=7, learning_rate=0.3, clipnorm=2.0,
                      curriculum=(), seed=9, target_accuracy=0.5, steps_per_execution=4, jit=True, unroll=True,
                      deterministic=True, threads=2, stop_at_target=False)
    expected = {
        "batch_size": 64, "epochs": 3, "steps_per_epoch": 5, "units": 7, "optimizer": "adam",
        "learning_rate": 0.3, "momentum": None, "clipnorm": 2.0, "curriculum": [], "seed": 9,
        "target_accuracy": 0.5, "steps_per_execution": 4, "jit": True, "unroll": True, "deterministic": True,
        "threads": 2, "stop_at_target": False, "workers": 1}
    resolved = train.resolve(o, _info())
    assert {k: resolved[k] for k in expected} == expected  # others may add parameters of their own


def test_resolve_fills_the_rest_from_the_datasets_preset():
    preset = config.PRESETS["long"]["train"]
    p = train.resolve(train.Options(optimizer="sgd", momentum=0.7), _info("long", 12))
    assert (p["batch_size"], p["epochs"], p["steps_per_epoch"], p["units"]) == tuple(
        preset[k] for k in ("batch_size", "epochs", "steps_per_epoch", "units"))
    assert p["learning_rate"] == preset["learning_rate"]["sgd"] and p["momentum"] == 0.7
    assert p["clipnorm"] == preset["clipnorm"]
    assert p["curriculum"] == [n for n in preset["curriculum"] if n < 12]
    assert p["unroll"] is False  # a curriculum's model takes any length
    p = train.resolve(train.Options(clipnorm=0.0), _info())
    assert p["clipnorm"] is None and p["momentum"] is None and p["unroll"] is None and p["jit"] is False


def test_resolve_under_multi_worker():
    two = Role(workers=2, index=0, chief=True)
    p = train.resolve(train.Options(batch_size=64, jit=True), _info(), two)
    assert p["jit"] is False and p["workers"] == 2
    import click

    with pytest.raises(click.BadParameter, match="divide evenly among 2"):
        train.resolve(train.Options(batch_size=65), _info(), two)
    with pytest.raises(click.BadParameter, match="curriculum runs on one worker"):
        train.resolve(train.Options(curriculum=(5,)), _info("long", 12), two)
    assert train.resolve(train.Options(curriculum=(5,)), _info("long", 12))["curriculum"] == [5]


def _refusal(options, info, role=SINGLE):
    import click

    with pytest.raises(click.BadParameter) as e:
        train.resolve(options, info, role)
    return e.value.param_hint, e.value.format_message()


def test_resolve_refusals_name_their_option():
    two = Role(workers=2, index=0, chief=True)
    assert _refusal(train.Options(curriculum=(5,)), _info("long", 12), two) == ("'--curriculum'", (
        "Invalid value for '--curriculum': a curriculum runs on one worker only; use --curriculum 0"))
    for chrono in (1, 2):
        assert _refusal(train.Options(chrono=chrono), _info()) == (
            "'--chrono'", f"Invalid value for '--chrono': {chrono}: 0 (off) or a lag of 3 steps or more")
    assert [train.resolve(train.Options(chrono=c), _info())["chrono"] for c in (0, 3)] == [0, 3]


def test_resolve_warns_that_jit_is_off_under_multi_worker(capsys):
    train.resolve(train.Options(jit=True), _info(), Role(workers=2, index=0, chief=True))
    warning = "warning: --jit is off under multi-worker (XLA cannot compile collectives on CPU)\n"
    assert capsys.readouterr() == ("", warning)
    assert train.resolve(train.Options(jit=True), _info())["jit"] is True and capsys.readouterr() == ("", "")


def test_resolve_keeps_the_curriculum_rate_only_with_a_curriculum():
    assert train.resolve(train.Options(curriculum=(), lr_at_length=10), _info("long", 12))["lr_at_length"] == 0
    assert train.resolve(train.Options(curriculum=(5,), lr_at_length=10), _info("long", 12))["lr_at_length"] == 10


class _Worker:
    """Stands in for a multi-worker Worker: records what train.datasets asks of it."""

    def __init__(self):
        self.asked = []

    def datasets(self, info, batch_size, seed, val_batch):
        self.asked.append((info, batch_size, seed, val_batch))
        return "train batches", "val batches"


def test_train_datasets_of_a_worker():
    info = _info(rows={"train": 20_001, "val": 2_000, "test": 3_000})
    worker = _Worker()
    params = {"batch_size": 300, "seed": 4, "steps_per_epoch": 0}
    assert train.datasets(info, params, worker) == train.Feeds("train batches", "val batches", 67)  # 66 + 1 short
    assert worker.asked == [(info, 300, 4, train.val_batch(info))]
    assert train.datasets(info, {**params, "steps_per_epoch": 5}, worker).steps == 5


@pytest.mark.parametrize("cast, dtype", [(True, "float32"), (False, "uint8")])
def test_train_datasets_cast_both_splits_as_asked(tiny_data, cast, dtype):
    info = data.describe(tiny_data)
    feeds = train.datasets(info, {"batch_size": 300, "seed": 0, "steps_per_epoch": 0}, cast=cast)
    assert [ds.element_spec[i].dtype.name for ds in (feeds.train, feeds.val) for i in (0, 1)] == [dtype] * 4
    assert train.training_dataset(info, 300, 0).element_spec[0].dtype.name == "float32"  # the default


def _batches(ds, n):
    return [(X.numpy(), y.numpy()) for X, y in ds.take(n)]


def _file_rows(path, split):
    with h5py.File(path) as f:
        return f[split]["X"][:].astype(np.float32), f[split]["y"][:].astype(np.float32)


def _keys(X, y):
    return [r.tobytes() for r in np.concatenate([X.reshape(len(X), -1), y], 1)]


def test_train_datasets_ask_the_reader_for_shuffled_repeated_whole_batches(tiny_data, reader_calls):
    info = data.describe(tiny_data)
    params = train.resolve(train.Options(batch_size=300, steps_per_epoch=0, seed=4), info)
    feeds = train.datasets(info, params)
    train_ds, val_ds, steps = feeds.train, feeds.val, feeds.steps
    assert steps == 20_000 // 300  # one pass of whole batches
    assert train_ds.element_spec[0].shape == (300, 5, 10)
    FX, Fy = _file_rows(tiny_data, "train")
    first = _batches(train_ds, steps)
    X = np.concatenate([b[0] for b in first])
    y = np.concatenate([b[1] for b in first])
    assert len(X) == steps * 300
    assert np.array_equal(X.argmax(-1)[:, 2], y.argmax(-1))  # rows stay whole
    assert not np.array_equal(X[:300], FX[:300])  # shuffled
    assert set(_keys(X, y)) <= set(_keys(FX, Fy))
    assert len(_batches(train_ds, 3 * steps)) == 3 * steps  # repeated: more than one pass
    other = train.datasets(info, {**params, "seed": 5}).train
    assert not np.array_equal(_batches(other, 1)[0][0], first[0][0])  # --seed shuffles
    again = train.datasets(info, params).train
    assert np.array_equal(_batches(again, 1)[0][0], first[0][0])
    VX = np.concatenate([X.numpy() for X, _ in val_ds])
    assert np.array_equal(VX, _file_rows(tiny_data, "val")[0])  # the whole val split, in file order
    val = [c for c in reader_calls if c[0] == "val"]
    assert val[0][1] == config.VAL_BATCH and val[0][2].cache is True and val[0][2].shuffle_seed is None
    assert train.datasets(info, {**params, "steps_per_epoch": 7}).steps == 7


def test_a_training_split_smaller_than_a_batch_is_one_short_batch(tiny_data):
    info = data.describe(tiny_data)
    n = info.rows["train"]
    assert train.holds_a_batch(info, n) and not train.holds_a_batch(info, n + 1)
    params = train.resolve(train.Options(batch_size=n + 1, steps_per_epoch=0), info)
    feeds = train.datasets(info, params)
    assert feeds.steps == 1
    (X, y), = _batches(feeds.train, 1)
    assert X.shape == (n, 5, 10)
    ds = train.training_dataset(info, 7_000, 0)  # two whole batches a pass; the 6,000 left over never come
    assert ds.element_spec[0].shape == (7_000, 5, 10)
    assert [b[0].shape[0] for b in _batches(ds, 5)] == [7_000] * 5


class _History:
    rows = [{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.75},
            {"epoch": 3, "val_accuracy": 0.9}]
    train_seconds = [10.0, 2.0, 3.0]
    reached = {"target": 4.5, "0.999": 6.25}
    reached_epoch = {"target": 3}
    resumed_after = 1


def test_run_record_counts_what_was_trained(tmp_path, monkeypatch):
    net = SimpleNamespace(count_params=lambda: 3860)
    params = {"batch_size": 256, "units": 25, "target_accuracy": 0.9}
    info = SimpleNamespace(rows={"train": 20_000}, provenance={"content_hash": "abc"})
    stages = SimpleNamespace(state={"log": [{"from_epoch": 1, "length": 5}, {"from_epoch": 3, "length": 10},
                                             {"from_epoch": 4, "length": 20}]})
    real = resource.getrusage(resource.RUSAGE_SELF)
    monkeypatch.setattr(resource, "getrusage", lambda who: real if who != resource.RUSAGE_SELF else
                        SimpleNamespace(ru_maxrss=3 << 20))  # Linux: KiB
    run = train.Run(info, params, tmp_path / "m.keras")
    r = train.run_record(net, run, train.Fitted(_History(), stages, 8, 12.34567))
    assert r["peak_rss_mib"] == 3 << 10
    assert r["params"] is params and r["dataset"] == {"content_hash": "abc"}
    assert r["model"] == {"units": 25, "parameters": 3860, "path": str(tmp_path / "m.keras")}
    assert r["epochs_run"] == 3 and r["resumed_after_epoch"] == 1
    assert r["train_samples"] == 3 * 8 * 256
    assert r["final"] == {"epoch": 3, "val_accuracy": 0.9} and r["target_reached"] is True
    assert r["sequences_to_target"] == 3 * 8 * 256 and r["sequences_to_0.999"] is None
    assert r["seconds_to_target"] == 4.5 and r["seconds_to_0.999"] == 6.25
    assert r["curriculum"] == [{"from_epoch": 1, "length": 5}, {"from_epoch": 3, "length": 10}]
    assert r["fit_seconds"] == 12.3457
    assert r["train_samples_per_s"] == round(2 * 8 * 256 / 5.0)  # the first epoch (tracing) left out
    assert r["versions"]["numpy"] == np.__version__
    small = SimpleNamespace(rows={"train": 100}, provenance={})
    r = train.run_record(net, train.Run(small, {**params, "target_accuracy": 0.95}, tmp_path),
                         train.Fitted(_History(), None, 1, 1.0))
    assert r["train_samples"] == 3 * 100 and r["target_reached"] is False and r["curriculum"] is None
    history = SimpleNamespace(rows=[], train_seconds=[4.0], reached={}, reached_epoch={}, resumed_after=None)
    r = train.run_record(net, train.Run(small, params, tmp_path), train.Fitted(history, None, 1, 1.0))
    assert r["final"] == {} and r["target_reached"] is False and r["train_samples_per_s"] is None
    unvalidated = SimpleNamespace(**{**vars(history), "rows": [{"epoch": 1, "val_accuracy": None}]})
    assert train.run_record(net, train.Run(small, params, tmp_path),
                            train.Fitted(unvalidated, None, 1, 1.0))["target_reached"] is False
