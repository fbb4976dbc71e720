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
