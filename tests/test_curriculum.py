"""Curriculum training: stages of growing length, each trained and validated at its own length with its
own learning rate (pipeline/curriculum.py, the Curriculum callback); only the full length counts."""
import csv


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
    assert curriculum.phase_learning_rate(0.04, 5, 0) == curriculum.phase_learning_rate(0.04, 4000, 0) == 0.04
    assert curriculum.phase_learning_rate(0.04, 160, 160) == 0.04 == curriculum.phase_learning_rate(0.04, 161, 160)
    assert curriculum.phase_learning_rate(0.04, 40, 160) == 0.08
