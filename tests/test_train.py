"""Training learns the echo, writes its artifacts, and records what made them."""
import csv
import json

from pipeline import modelfile


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
    assert record["params"]["batch_size"] == 256 and record["wall_seconds"] > record["fit_seconds"] > 0
    assert record["train_samples"] == record["epochs_run"] * record["params"]["steps_per_epoch"] * 256
    meta = modelfile.read_metadata(out)
    assert meta["dataset"]["problem"] == {"length": 5, "n_features": 10, "out_index": 2}
    assert meta["params"]["seed"] == 1
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

    steps = trained["params"]["steps_per_epoch"] * 256
    assert trained["params"]["settle_epochs"] == 1 and trained["epochs_run"] >= 2
    assert trained["sequences_to_target"] == (trained["epochs_run"] - 1) * steps
    options = train.Options(seed=1, settle_epochs=0)
    record = train.train(tiny_data, tmp_path / "m.keras", options, verbose=0)
    assert record["epochs_run"] == trained["epochs_run"] - 1 and record["target_reached"]
    assert record["sequences_to_target"] == record["epochs_run"] * steps == record["train_samples"]


def test_curriculum_validates_at_its_length_and_only_the_full_length_counts(tmp_path):
    """A curriculum run trains and validates on prefixes (5, then 10) before the full 20 steps; a
    validation at a prefix length that meets the target does not stop the run, and the model learns
    the full length."""
    from pipeline import generate, train
    from tests.conftest import TINY

    generate.generate(tmp_path / "d.h5", {**TINY, "length": 20, "n_train": 4_096, "n_val": 500, "n_test": 50})
    options = train.Options(curriculum=(5, 10), units=25, learning_rate=0.02, batch_size=128, epochs=60,
                            steps_per_epoch=16, target_accuracy=0.99, settle_epochs=0, lr_at_length=10)
    record = train.train(tmp_path / "d.h5", tmp_path / "m.keras", options, verbose=0)
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    starts = {s["from_epoch"]: s["length"] for s in record["curriculum"]}
    assert [s["length"] for s in record["curriculum"]] == [5, 10, 20]
    assert [s["learning_rate"] for s in record["curriculum"]] == [0.02 * 2 ** 0.5, 0.02, 0.02]
    stage = None
    for row in rows:  # each row names the length its epoch ran at, as the curriculum's log says
        stage = starts.get(int(row["epoch"]), stage)
        assert int(row["length"]) == stage, row
    early = [r for r in rows if int(r["length"]) < 20 and float(r["val_accuracy"]) >= 0.99]
    assert early, "a prefix stage was validated on its own length"
    assert record["target_reached"] and rows[-1]["length"] == "20"
    assert record["sequences_to_target"] == len(rows) * 16 * 128  # the first epoch at the target, the last
    assert all(float(r["val_accuracy"]) < 0.99 for r in rows[:-1] if r["length"] == "20")


def test_curriculum_callback_sets_each_stages_length_and_rate(tmp_path):
    from pipeline import curriculum, data, generate, train
    from pipeline.backend import keras
    from pipeline.callbacks import Curriculum
    from tests.conftest import TINY

    generate.generate(tmp_path / "d.h5", {**TINY, "length": 40, "n_train": 512, "n_val": 64, "n_test": 64})
    info = data.describe(tmp_path / "d.h5")
    params = train.resolve(train.Options(curriculum=(5, 10), learning_rate=0.04, lr_at_length=10), info)
    net = train.build(info, params)
    feeds = train.datasets(info, params, cast=False)
    cb = Curriculum(net, info, params, tmp_path / "c.json")
    trainer, (train_ds, val_ds) = cb.trainer(), cb.feeds(feeds.train, feeds.val)
    assert [layer.name for layer in trainer.layers] == [layer.name for layer in net.layers]
    assert all(a is b for a, b in zip(trainer.weights, net.weights))  # it trains the saved model's weights
    rate = lambda: float(keras.backend.get_value(net.optimizer.learning_rate))  # noqa: E731
    seen = []
    for epoch, accuracy in enumerate([0.5, 0.999, 0.9, 0.999, 1.0, 1.0]):
        cb.on_epoch_begin(epoch)
        (X, _), = train_ds.take(1)
        (V, _), = val_ds.take(1)
        seen.append((cb.epoch_length, V.shape[1], round(rate(), 6)))
        assert X.shape[1] <= cb.epoch_length and X.dtype.name == "float32"
        cb.on_epoch_end(epoch, {"accuracy": accuracy})
    assert seen == [(5, 5, 0.056569), (5, 5, 0.056569), (10, 10, 0.04), (10, 10, 0.04), (40, 40, 0.04),
                    (40, 40, 0.04)]
    assert curriculum.stage_learning_rate(0.04, 5, 0) == curriculum.stage_learning_rate(0.04, 4000, 0) == 0.04
    assert curriculum.stage_learning_rate(0.04, 160, 160) == 0.04 == curriculum.stage_learning_rate(0.04, 161, 160)
    assert curriculum.stage_learning_rate(0.04, 40, 160) == 0.08


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
