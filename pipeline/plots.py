"""PNG plots drawn with matplotlib's Agg canvas (headless; no pyplot state, no TensorFlow).

    history_png: loss and accuracy per epoch, train and validation (train writes plots/history.png)
    sweep_png: test accuracy and seconds to target against a swept parameter (sweep-summary)
"""
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.files import atomic_output

DPI = 100


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def _numbers(rows, key) -> list:
    return [float("nan") if r.get(key) in (None, "") else float(r[key]) for r in rows]


def history_png(rows, path, title: str = "", stages=()) -> Path:
    """Loss and accuracy, train and validation, per epoch, from history rows (dicts or CSV rows);
    `stages` ({"length", "from_epoch"} of a curriculum) are marked where each begins."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    epochs = [int(r["epoch"]) for r in rows]
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, _numbers(rows, metric), marker=".", label="train")
        ax.plot(epochs, _numbers(rows, f"val_{metric}"), marker=".", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for stage in stages[1:]:
            ax.axvline(stage["from_epoch"] - 0.5, color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"length {stage['length']}", (stage["from_epoch"] - 0.5, 0.5),
                        xycoords=("data", "axes fraction"), fontsize=7, color="grey", rotation=90,
                        ha="right", va="center")
        if metric == "loss":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def is_geometric(values) -> bool:
    """True for positive numbers growing by a roughly constant factor of 1.5 or more (16 64 256 ...)."""
    try:
        v = sorted(float(x) for x in values)
    except (TypeError, ValueError):
        return False
    if len(v) < 2 or v[0] <= 0:
        return False
    ratios = [b / a for a, b in zip(v, v[1:])]
    return min(ratios) >= 1.5 and max(ratios) / min(ratios) < 2


def sweep_png(rows, param: str, path) -> Path:
    """Test accuracy and seconds to target against the value of `param` (log x for geometric values)."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    values = [r["value"] for r in rows]
    numeric = _all_numeric(values)
    x = [float(v) for v in values] if numeric else list(range(len(values)))
    for ax, key, label in zip(fig.subplots(1, 2), ("test_accuracy", "seconds_to_target"),
                              ("test accuracy", "seconds to target")):
        y = _numbers(rows, key)
        ax.plot(x, y, marker="o")
        ax.set(xlabel=param, ylabel=label, title=f"{label} by {param}")
        ax.ticklabel_format(axis="y", useOffset=False)
        if key == "test_accuracy":  # differences of 1e-5 near 1.0 are noise: show at least 0.99 to 1
            ax.set_ylim(min([0.99, *(v - 0.005 for v in y if v == v)]), 1.002)
        if numeric and is_geometric(values):
            ax.set_xscale("log")
        ax.set_xticks(x, values)  # label the swept values themselves
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _all_numeric(values) -> bool:
    try:
        [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    return True
