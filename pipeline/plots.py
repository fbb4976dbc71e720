"""PNG plots drawn with matplotlib's Agg canvas (headless; no pyplot state, no TensorFlow).

    history_figure: loss and accuracy per epoch, train and validation (train writes plots/history.png)
    sweep_figure: test accuracy and sequences to target against a swept parameter (sweep-summary)
    confusion_figure: the confusion matrix, each row shaded by its share of the class (evaluate)
    write_png: a figure into a PNG file
"""
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

DPI = 100


def write_png(fig: Figure, path) -> None:
    """Draw the figure into the file `path` as it is (callers publish it: files.atomic_output)."""
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=DPI)


def _numbers(rows, key) -> list:
    return [float("nan") if r.get(key) in (None, "") else float(r[key]) for r in rows]


def history_figure(rows, title: str = "", phases=()) -> Figure:
    """Loss and accuracy, train and validation, per epoch, from history rows (dicts or CSV rows);
    `phases` ({"length", "from_epoch"} of a curriculum) are marked where each begins."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    epochs = [int(r["epoch"]) for r in rows]
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, _numbers(rows, metric), marker=".", label="train")
        ax.plot(epochs, _numbers(rows, f"val_{metric}"), marker=".",
                label="validation (at the epoch's length)" if phases else "validation")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for phase in phases[1:]:
            ax.axvline(phase["from_epoch"] - 0.5, color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"length {phase['length']}", (phase["from_epoch"] - 0.5, 0.5),
                        xycoords=("data", "axes fraction"), fontsize=7, color="grey", rotation=90,
                        ha="right", va="center")
        if metric == "loss":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


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


def sweep_figure(rows, param: str) -> Figure:
    """Test accuracy and sequences to target against the value of `param`: medians over the seeds, with
    error bars from the smallest to the largest; values whose median run never reached the target are
    marked "not reached" at the top (log x for geometric values)."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    values = [r["value"] for r in rows]
    numeric = _all_numeric(values)
    x = [float(v) for v in values] if numeric else list(range(len(values)))
    for ax, key, label in zip(fig.subplots(1, 2), ("test_accuracy", "sequences_to_target"),
                              ("test accuracy", "sequences trained to the target")):
        median, low, high = (_numbers(rows, f"{key}_{s}") for s in ("median", "min", "max"))
        finite = [v for v in low + high if math.isfinite(v)]
        top = max(finite, default=1.0) * (1.02 if key == "test_accuracy" else 1.5)
        shown = [m if math.isfinite(m) else top for m in median]
        errors = [[m - min(lo, top) for m, lo in zip(shown, low)], [min(hi, top) - m for m, hi in zip(shown, high)]]
        ax.errorbar(x, shown, yerr=errors, marker="o", capsize=4, label="median, min to max over seeds")
        if not all(math.isfinite(v) for v in median + high):  # a line above every run that reached it
            ax.axhline(top, color="red", linestyle=":", linewidth=1)
            ax.annotate("not reached", (0, top), xycoords=("axes fraction", "data"), fontsize=7, ha="left",
                        va="bottom", color="red")
            missed = [xi for xi, m in zip(x, median) if not math.isfinite(m)]
            ax.plot(missed, [top] * len(missed), "x", color="red", markersize=9, zorder=3, label="median not reached")
            ax.set_ylim(min(finite, default=top) / 2, top * 1.5)
        ax.set(xlabel=param, ylabel=label, title=f"{label} by {param}")
        if key == "test_accuracy":
            ax.ticklabel_format(axis="y", useOffset=False)
        else:  # log, labelled at 1, 2 and 5 times each power of ten: sequences span decades
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        if numeric and is_geometric(values):
            ax.set_xscale("log")
        ax.set_xticks(x, values)  # label the swept values themselves
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def _all_numeric(values) -> bool:
    try:
        [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    return True


def confusion_figure(confusion: dict, title: str = "", most_labelled: int = 30) -> Figure:
    """The confusion matrix ({"classes", "counts"}, rows true, columns predicted), each cell shaded by
    its share of the true class's rows and labelled with its count (up to `most_labelled` classes)."""
    names, counts = confusion["classes"], np.asarray(confusion["counts"])
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(12, 3 + 0.45 * len(names))
    fig = Figure(figsize=(side + 1.5, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class")
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    if len(names) <= most_labelled:
        ticks = range(len(names))
        ax.set_xticks(ticks, [str(n) for n in names], rotation=90 if len(names) > 10 else 0)
        ax.set_yticks(ticks, [str(n) for n in names])
        for (i, j), n in np.ndenumerate(counts):
            ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    return fig

