"""Training learns the echo, writes its artifacts, and records what made them; how it resolves its
options, the datasets it asks of the reader (every row, shuffled, in whole batches), what train.json
records; a write that fails part-way keeps the previous files and the state a rerun resumes from."""
import csv
import json
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import pytest

from pipeline import data, echo, modelfile, presets, train
from pipeline.distributed.role import SINGLE, Role
from pipeline.files import WriteFailed
from tests.failing_writes import NO_SPACE, fail_after, fails_cleanly, snapshot, tf_no_space


def test_model_learned(trained):
    assert trained["target_reached"]
    assert trained["final"]["val_accuracy"] >= 0.999
    assert trained["model"]["parameters"] == 3860  # LSTM 3,600 + Dense 260


def test_artifacts_and_provenance(trained):
    out = trained["model_path"]
    history = list(csv.DictReader(open(out.with_name("history.csv"))))
    record = json.loads(out.with_name("train.json").read_text())
    assert len(history) == record["epochs_run"] >= 1
    assert float(history[-1]["val_accuracy"]) >= 0.999
    assert float(history[0]["loss"]) > 5 * float(history[-1]["val_loss"])  # from chance (2.3) to near 0
    assert record["dataset"]["content_hash"] == trained["dataset"]["content_hash"]
    assert record["settings"]["batch_size"] == 256 and record["wall_seconds"] > record["fit_seconds"] > 0
    assert record["train_samples"] == record["epochs_run"] * record["settings"]["steps_per_epoch"] * 256
    meta = modelfile.read_metadata(out)
    assert meta["dataset"]["problem"] == echo.problem(5, 10, 2)
    assert meta["settings"]["seed"] == 1
    assert not out.with_name(".model.backup").exists()


def test_untrained_model_is_at_chance(tiny_data):
    """The learning test above can fail: one epoch of one batch stays far from the target."""
    import tempfile
    from pathlib import Path

    from pipeline import train

    with tempfile.TemporaryDirectory() as d:
        record = train.train(tiny_data, Path(d) / "m.keras", train.Options(epochs=1, steps_per_epoch=1), verbose=0)
    assert not record["target_reached"] and record["final"]["val_accuracy"] < 0.5


def test_split_smaller_than_a_batch_trains_on_it_whole(tmp_path):
    """Whole batches only would leave nothing of a 100-row split; it is read as one short batch."""
    from pipeline import generate, train
    from tests.conftest import TINY

    generate.generate(tmp_path / "small.h5", {**TINY, "n_train": 100, "n_val": 50, "n_test": 50})
    record = train.train(tmp_path / "small.h5", tmp_path / "m.keras",
                         train.Options(batch_size=256, epochs=2, steps_per_epoch=0), verbose=0)
    assert record["epochs_run"] == 2 and record["train_samples"] == 200


def test_settles_one_epoch_past_the_target_as_the_preset_says(trained, tiny_data, tmp_path):
    """The reference preset trains one epoch on after validation first reaches the target; with
    --settle-epochs 0 the same run stops at that epoch."""
    from pipeline import train

    steps = trained["settings"]["steps_per_epoch"] * 256
    assert trained["settings"]["settle_epochs"] == 1 and trained["epochs_run"] >= 2
    assert trained["sequences_to_target"] == (trained["epochs_run"] - 1) * steps
    options = train.Options(seed=1, settle_epochs=0)
    record = train.train(tiny_data, tmp_path / "m.keras", options, verbose=0)
    assert record["epochs_run"] == trained["epochs_run"] - 1 and record["target_reached"]
    assert record["sequences_to_target"] == record["epochs_run"] * steps == record["train_samples"]


def test_chrono_initialisation_of_the_gate_biases(tiny_data):
    """Forget-gate biases log(U(1, T - 1)), input-gate biases their negatives, drawn from the seed;
    the cell and output gates keep Keras' zeros."""
    import numpy as np

    from pipeline import data, train

    info = data.describe(tiny_data)
    biases = {}
    for seed in (0, 1):
        net = train.build(info, train.resolve(train.Options(chrono=1000, units=64, seed=seed), info))
        biases[seed] = b = net.get_layer("lstm").get_weights()[2]
        i, f, c, o = b.reshape(4, 64)
        assert np.array_equal(i, -f) and not c.any() and not o.any()
        assert 0 <= f.min() and f.max() <= np.log(999) and f.max() > np.log(100) and f.min() < np.log(10)
    assert not np.array_equal(biases[0], biases[1])
    plain = train.build(info, train.resolve(train.Options(chrono=0), info)).get_layer("lstm").get_weights()[2]
    assert set(np.unique(plain)) == {0.0, 1.0}  # Keras: zeros, the forget gate's ones


# ---- resolve, the datasets train asks of the reader, and what train.json records ----

def _info(problem="reference", length=5, out_index=2, rows=None):
    return SimpleNamespace(attrs={"problem": problem}, length=length, n_features=10, out_index=out_index,
                           rows=rows or {"train": 20_000, "val": 2_000, "test": 3_000}, variable=False)


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
    preset = presets.PRESETS["long"]["train"]
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


def test_resolve_refusals_name_their_option(ragged):
    two = Role(workers=2, index=0, chief=True)
    assert _refusal(train.Options(curriculum=(5,)), _info("long", 12), two) == ("'--curriculum'", (
        "Invalid value for '--curriculum': a curriculum runs on one worker only; use --curriculum 0"))
    for chrono in (1, 2):
        assert _refusal(train.Options(chrono=chrono), _info()) == (
            "'--chrono'", f"Invalid value for '--chrono': {chrono}: 0 (off) or a lag of 3 steps or more")
    assert [train.resolve(train.Options(chrono=c), _info())["chrono"] for c in (0, 3)] == [0, 3]
    assert _refusal(train.Options(curriculum=(5,)), data.describe(ragged / "own.h5")) == ("'--curriculum'", (
        "Invalid value for '--curriculum': a curriculum trains on prefixes of echo sequences; this dataset is "
        "not the echo problem: use --curriculum 0"))
    assert _refusal(train.Options(curriculum=(3, 6)), _info("long", 12, out_index=3)) == ("'--curriculum'", (
        "Invalid value for '--curriculum': prefix length 3 does not reach out_index 3"))
    assert train.resolve(train.Options(curriculum=(4, 6)), _info("long", 12, out_index=3))["curriculum"] == [4, 6]
    assert _refusal(train.Options(curriculum=(4, 6), conv=2, chrono=0, front_mean=True), _info("long", 12)) == (
        "'--curriculum'", "Invalid value for '--curriculum': a curriculum trains a plain stack of layers, which "
        "--front-mean is not: use --curriculum 0")


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
    params = train.resolve(train.Options(batch_size=300, steps_per_epoch=0), info)
    feeds = train.datasets(info, params, cast=cast)
    assert [ds.element_spec[i].dtype.name for ds in (feeds.train, feeds.val) for i in (0, 1)] == [dtype] * 4
    assert train.training_dataset(info, 300, 0).element_spec[0].dtype.name == "float32"  # the default


def _batches(ds, n):
    return [(X.numpy(), y.numpy()) for X, y in ds.take(n)]


def _file_rows(path, split):
    X, y = data.read_padded(path, split)
    return X.astype(np.float32), y.astype(np.float32)


def _keys(X, y):
    return [r.tobytes() for r in np.concatenate([X.reshape(len(X), -1), y], 1)]


def test_train_datasets_are_shuffled_repeated_whole_batches(tiny_data):
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
    assert np.array_equal(np.concatenate([X.numpy() for X, _ in val_ds]), VX)  # the same every epoch
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


@pytest.mark.parametrize("execution, steps, batches, curriculum, per_call", [
    (1, 64, 66, (), 1), (2, 64, 66, (), 2), (32, 64, 66, (), 32), (32, 48, 66, (), 24), (32, 7, 66, (), 7),
    (16, 97, 66, (), 1), (32, 64, 5, (), 4), (32, 64, 0, (), 1), (32, 64, 66, (10, 20), 1)])
def test_a_training_call_takes_the_most_batches_that_divide_an_epoch(execution, steps, batches, curriculum, per_call):
    """Up to --steps-per-execution batches per call, a divisor of the epoch's batches (an epoch stays
    --steps-per-epoch batches), no more than the split holds; one at a time under a curriculum."""
    params = {"steps_per_execution": execution, "batch_size": 300, "curriculum": list(curriculum)}
    assert train.steps_per_call(params, steps, batches * 300 + 299) == per_call


def test_multi_step_training_reads_calls_of_whole_batches(tiny_data):
    info = data.describe(tiny_data)
    feeds = train.datasets(info, train.resolve(train.Options(steps_per_execution=16), info))
    assert feeds.steps_per_call == 16 and feeds.steps == 64
    assert feeds.train.element_spec[0].shape == (16, 256, 5, 10)


def test_train_json_counts_the_epochs_history_lists(tiny_data, tmp_path):
    """What train.json says of a run agrees with the epochs history.csv lists and the model it saved; a
    run that ends short of its target says so."""
    from pipeline.model import load_model

    out = tmp_path / "m.keras"
    options = train.Options(epochs=3, steps_per_epoch=4, batch_size=100, stop_at_target=False)
    record = train.train(tiny_data, out, options, verbose=0)
    history = list(csv.DictReader(open(out.with_name("history.csv"))))
    assert record["epochs_run"] == len(history) == 3 and record["train_samples"] == 3 * 4 * 100
    assert record["final"]["val_accuracy"] == pytest.approx(float(history[-1]["val_accuracy"]))
    assert record["final"]["val_accuracy"] < 1.0 and record["target_reached"] is False
    assert record["sequences_to_target"] is None and record["seconds_to_target"] is None
    assert record["model"]["parameters"] == load_model(out)[0].count_params()
    assert type(record["peak_rss_mib"]) is int and record["peak_rss_mib"] > 100  # MiB: TensorFlow alone is more
    written = json.loads(out.with_name("train.json").read_text())
    assert record["train_samples_per_s"] > 0 and 0 < record["fit_seconds"] < written["wall_seconds"]
    assert record["curriculum"] is None


# ---- a write that fails part-way: the previous files kept, and the state to resume from ----

def _previous_training(folder: Path) -> None:
    for name in ("model.keras", "history.csv", "train.json"):
        (folder / name).write_text(f"the previous {name}\n")


def test_train_failing_to_save_the_model_keeps_every_previous_file_and_its_state(tiny_data, tmp_path, monkeypatch):
    from pipeline import modelfile

    _previous_training(tmp_path)
    out, options = tmp_path / "model.keras", train.Options(seed=1, epochs=2, stop_at_target=False)
    fail_after(monkeypatch, modelfile, "add_metadata", 0)  # the model is half saved: its metadata fails
    error = fails_cleanly_but_backup(tmp_path, out, lambda: train.train(tiny_data, out, options, verbose=0))
    backup = tmp_path / ".model.backup"
    assert str(error) == (f"output {out}: cannot write ({NO_SPACE}); the training state is kept in {backup}: "
                          "a rerun with the same options resumes from its last epoch")
    monkeypatch.undo()
    record = train.train(tiny_data, out, options, verbose=0)  # nothing left to train: it writes what it has
    assert record["resumed_after_epoch"] == 2 and record["epochs_run"] == 2 and not backup.exists()
    assert json.loads((tmp_path / "train.json").read_text())["epochs_run"] == 2


@pytest.mark.parametrize("execution", [1, 16])  # 16: training calls of 16 batches (model.MultiStep)
def test_train_failing_to_checkpoint_says_a_rerun_resumes_and_it_does(tiny_data, tmp_path, monkeypatch, capsys,
                                                                     execution):
    from pipeline import callbacks, config

    _previous_training(tmp_path)
    out = tmp_path / "model.keras"
    options = train.Options(seed=1, epochs=4, stop_at_target=False, steps_per_execution=execution)
    real = callbacks.Backup

    class FullAfterOneEpoch(real):
        def on_epoch_end(self, epoch, logs=None):
            if epoch >= 1:
                raise tf_no_space()
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(config, "BACKUP_SECONDS", 0.0)  # a checkpoint after every epoch
    monkeypatch.setattr(callbacks, "Backup", FullAfterOneEpoch)
    backup = tmp_path / ".model.backup"
    error = fails_cleanly_but_backup(tmp_path, backup, lambda: train.train(tiny_data, out, options, verbose=0))
    assert str(error) == (f"output {backup}: cannot write ({NO_SPACE}); the training state is kept in {backup}: "
                          "a rerun with the same options resumes from its last epoch")
    monkeypatch.setattr(callbacks, "Backup", real)
    capsys.readouterr()
    record = train.train(tiny_data, out, options, verbose=0)
    assert record["resumed_after_epoch"] == 1 and record["epochs_run"] == 4
    assert record["final"]["val_accuracy"] >= 0.999 and record["train_samples"] == 4 * 64 * 256  # learned
    assert f"resuming from epoch 2 (epochs 1-1 restored from {backup})" in capsys.readouterr().err
    assert not backup.exists()


@pytest.mark.parametrize("seconds, saved", [(0.0, [0, 1, 2, 3]), (3600.0, [0, 3])])
def test_training_saves_its_state_at_most_every_backup_seconds(tiny_data, tmp_path, monkeypatch, seconds, saved):
    """After the first epoch, then once BACKUP_SECONDS have passed, and after the last epoch if it was not
    saved: short epochs do not each pay a checkpoint, and a failed write still resumes from the end."""
    from pipeline import config
    from pipeline.backend import keras

    saves = []
    real = keras.callbacks.BackupAndRestore.on_epoch_end
    monkeypatch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end",
                        lambda self, epoch, logs=None: (saves.append(epoch), real(self, epoch, logs)))
    monkeypatch.setattr(config, "BACKUP_SECONDS", seconds)
    train.train(tiny_data, tmp_path / "model.keras", train.Options(seed=1, epochs=4, stop_at_target=False,
                                                                  steps_per_epoch=2), verbose=0)
    assert saves == saved


def test_train_failing_before_any_checkpoint_leaves_nothing(tiny_data, tmp_path, monkeypatch):
    from pipeline.backend import keras

    _previous_training(tmp_path)
    out = tmp_path / "model.keras"
    monkeypatch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end",
                        lambda self, epoch, logs=None: (_ for _ in ()).throw(tf_no_space()))
    error = fails_cleanly(tmp_path, tmp_path / ".model.backup",
                          lambda: train.train(tiny_data, out, train.Options(seed=1, epochs=2), verbose=0))
    assert str(error).endswith("; no epoch was saved")


def fails_cleanly_but_backup(folder, target, run):
    """As fails_cleanly, but for a training run that keeps its backup folder to resume from."""
    before = snapshot(folder)
    with pytest.raises(WriteFailed) as e:
        run()
    assert str(e.value).startswith(f"output {target}: cannot write ({NO_SPACE})")
    after = {k: v for k, v in snapshot(folder).items() if not k.startswith(".model.backup")}
    assert after == before and (folder / ".model.backup").is_dir()
    return e.value


def test_batches_of_sequences_of_different_lengths_trace_the_training_step_once(tmp_path):
    """Their batches come in several widths (bucket lengths), but the batch spec's length is None: one
    trace of the training step and one of the validation step, whatever the widths."""
    from tests.test_importer import run_import
    from tests.test_reader import _ragged_lines

    info = run_import(tmp_path, _ragged_lines("tokens", 200, 1), _ragged_lines("tokens", 20, 2), n_val=20)
    settings = train.resolve(train.Options(epochs=2, steps_per_epoch=0, batch_size=16, units=4), info)
    assert settings["unroll"] is None  # decided by the model: no unrolling over a length not known
    net = train.build(info, settings)
    fitted = train.fit(net, train.Run(info, settings, tmp_path / "model.keras"), verbose=0)
    feeds = train.datasets(info, settings)
    assert fitted.steps == 180 // 16 and feeds.steps_per_call == 1
    widths = {X.shape[1] for X, _ in feeds.train.take(2 * fitted.steps)}
    assert len(widths) > 3 and feeds.train.element_spec[0].shape.as_list() == [16, None, 4]
    assert net.train_function.experimental_get_tracing_count() == 1
    assert net.test_function.experimental_get_tracing_count() == 1


def test_unrolling_needs_sequences_of_one_length(tmp_path):
    from tests.test_importer import run_import
    from tests.test_reader import _ragged_lines

    info = run_import(tmp_path, _ragged_lines("tokens", 20, 1), _ragged_lines("tokens", 5, 2), n_val=2)
    with pytest.raises(click.BadParameter, match="use --no-unroll"):
        train.resolve(train.Options(unroll=True), info)
