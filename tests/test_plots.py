"""Plots draw the numbers they are given (checked on the figures' own data, not on pixels), are written
as PNG without leftovers; train writes plots/history.png and, on request, TensorBoard logs holding its
epochs' metrics."""
import math

import numpy as np
import pytest

from pipeline import plots
from tests.conftest import png_size

# Slow as a whole, as before the markers were explicit: figures and a TensorBoard run, left out of
# `make mutation` (plots.py is not among the mutated modules).
pytestmark = pytest.mark.slow

ROWS = [{"epoch": e, "loss": 2.0 / e, "accuracy": 0.2 * e, "val_loss": 1.9 / e, "val_accuracy": 0.19 * e,
         "seconds": e} for e in range(1, 6)]


def _lines(ax) -> dict:
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_history_figure_draws_each_metric_per_epoch():
    fig = plots.history_figure(ROWS, "t", phases=[{"length": 5, "from_epoch": 1}, {"length": 10, "from_epoch": 3}])
    loss, accuracy = fig.axes
    epochs = [1, 2, 3, 4, 5]
    for ax, metric in ((loss, "loss"), (accuracy, "accuracy")):
        lines = _lines(ax)
        assert lines["train"] == (epochs, [r[metric] for r in ROWS])
        assert lines["validation (at the epoch's length)"] == (epochs, [r[f"val_{metric}"] for r in ROWS])
        assert [t.get_text() for t in ax.texts] == ["length 10"]  # the second stage, where it begins
    assert loss.get_yscale() == "log" and fig.get_suptitle() == "t"


def test_write_png_draws_the_whole_figure(tmp_path):
    plots.write_png(plots.history_figure(ROWS), tmp_path / "history.png")
    assert png_size(tmp_path / "history.png") == (10 * plots.DPI, 4 * plots.DPI)


def sweep_row(value, accuracies, sequences):
    """A summary row as sweep.aggregate makes it, from per-seed figures (math.inf: not reached)."""
    import statistics

    row = {"value": value}
    for key, values in (("test_accuracy", accuracies), ("sequences_to_target", sequences)):
        row.update({f"{key}_median": statistics.median(values), f"{key}_min": min(values), f"{key}_max": max(values)})
    return row


def test_sweep_figure_shows_medians_with_their_ranges():
    rows = [sweep_row("16", [0.97, 0.99, 1.0], [4096, 8192, math.inf]),
            sweep_row("256", [1.0, 1.0, 1.0], [16384, 16384, 32768]),
            sweep_row("4096", [0.5, 0.6, 0.7], [math.inf] * 3)]
    fig = plots.sweep_figure(rows, "BATCH_SIZE")
    accuracy, sequences = fig.axes
    bars = accuracy.containers[0]
    assert list(bars.lines[0].get_ydata()) == [0.99, 1.0, 0.6]
    segments = [tuple(np.round(s[:, 1], 6)) for s in bars.lines[2][0].get_segments()]
    assert segments == [(0.97, 1.0), (1.0, 1.0), (0.5, 0.7)]  # from the smallest to the largest seed
    assert accuracy.get_xscale() == "log"  # 16, 256, 4096 grow geometrically
    top = sequences.containers[0].lines[0].get_ydata()
    assert list(top[:2]) == [8192, 16384] and top[2] > 32768  # not reached: drawn above every run
    assert [t.get_text() for t in sequences.texts] == ["not reached"]
    assert [t.get_text() for t in sequences.get_xticklabels()] == ["16", "256", "4096"]


def test_sweep_figure_of_words_keeps_their_order(tmp_path):
    rows = [sweep_row(v, [1.0], [100]) for v in ("adam", "sgd")]
    fig = plots.sweep_figure(rows, "OPTIMIZER")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["adam", "sgd"]
    assert fig.axes[0].get_xscale() == "linear"
    plots.write_png(fig, tmp_path / "b.png")
    assert png_size(tmp_path / "b.png") == (10 * plots.DPI, 4 * plots.DPI)


@pytest.mark.parametrize("values, expected", [
    (["16", "64", "256", "1024", "4096"], True), (["0.001", "0.003", "0.01", "0.03"], True), (["5", "10"], True),
    (["25", "50", "75", "100"], False), (["0", "10", "100"], False), (["adam", "sgd"], False), (["7"], False)])
def test_log_axis_for_geometric_values(values, expected):
    assert plots.is_geometric(values) is expected


def test_train_writes_history_plot(trained):
    png = trained["model_path"].parent / "plots" / "history.png"
    assert png_size(png) == (10 * plots.DPI, 4 * plots.DPI)


def test_tensorboard_logs_hold_every_epoch(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    from pipeline import train

    record = train.train(tiny_data, tmp_path / "model.keras",
                         train.Options(epochs=3, steps_per_epoch=2, tensorboard=True, target_accuracy=1.0,
                                       stop_at_target=False), verbose=0)
    runs = list((tmp_path / "tensorboard").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("run-")
    history = record["final"]
    for split, prefix in (("train", ""), ("validation", "val_")):
        events = EventAccumulator(str(runs[0] / split), size_guidance={"tensors": 0}).Reload()
        loss = [e for e in events.Tensors("epoch_loss")]
        assert [e.step for e in loss] == [0, 1, 2], split
        assert abs(float(make_ndarray(loss[-1].tensor_proto)) - history[f"{prefix}loss"]) < 1e-4, split
