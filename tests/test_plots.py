"""Plots are real PNGs of the expected size; train writes plots/history.png and, on request,
TensorBoard logs beside the model."""
import pytest

from pipeline import plots
from tests.conftest import png_size

ROWS = [{"epoch": e, "loss": 2.0 / e, "accuracy": 0.2 * e, "val_loss": 1.9 / e, "val_accuracy": 0.2 * e,
         "seconds": e} for e in range(1, 6)]


def test_history_png(tmp_path):
    out = plots.history_png(ROWS, tmp_path / "plots" / "history.png", title="t",
                            stages=[{"length": 5, "from_epoch": 1}, {"length": 10, "from_epoch": 3}])
    assert png_size(out) == (10 * plots.DPI, 4 * plots.DPI)
    assert out.stat().st_size > 10_000  # drawn, not blank
    assert [p.name for p in out.parent.iterdir()] == ["history.png"]  # no temporary file left


def test_sweep_png(tmp_path):
    rows = [{"value": v, "test_accuracy": a, "seconds_to_target": s}
            for v, a, s in (("16", 0.9, None), ("256", 1.0, 2.5), ("4096", 1.0, 7.0))]
    assert png_size(plots.sweep_png(rows, "BATCH_SIZE", tmp_path / "a.png")) == (10 * plots.DPI, 4 * plots.DPI)
    words = [{**r, "value": v} for r, v in zip(rows, ("adam", "sgd", "x"))]
    assert png_size(plots.sweep_png(words, "OPTIMIZER", tmp_path / "b.png"))[0] == 10 * plots.DPI


@pytest.mark.parametrize("values, expected", [
    (["16", "64", "256", "1024", "4096"], True), (["0.001", "0.003", "0.01", "0.03"], True), (["5", "10"], True),
    (["25", "50", "75", "100"], False), (["0", "10", "100"], False), (["adam", "sgd"], False), (["7"], False)])
def test_log_axis_for_geometric_values(values, expected):
    assert plots.is_geometric(values) is expected


def test_train_writes_history_plot(trained):
    png = trained["model_path"].parent / "plots" / "history.png"
    assert png_size(png) == (10 * plots.DPI, 4 * plots.DPI)


def test_tensorboard_logs(tiny_data, tmp_path):
    from pipeline import train

    train.train(tiny_data, tmp_path / "model.keras", train.Options(epochs=2, steps_per_epoch=2, tensorboard=True),
                verbose=0)
    runs = list((tmp_path / "tensorboard").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("run-")
    for split in ("train", "validation"):
        events = list((runs[0] / split).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, split
