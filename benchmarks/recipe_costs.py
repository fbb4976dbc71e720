"""The cost of one optimizer step of the recipe's conv model, which sets its budget of steps
(pipeline/recipe.py, CONV_STEP_SECONDS and CONV_SECONDS).

For series of each median length and each batch size, builds and compiles the model the recipe chooses
for them (a dataset of 8 batches of training rows and a small validation split, so the recipe keeps a
moving average of the weights), times `fit` over random series, and fits seconds per step = a fixed
cost + a cost per batch row and input step by least squares. Prints one JSON line per shape, then the
fit and each shape's predicted over measured time.

    .venv/bin/python -m benchmarks.recipe_costs --lengths 150,251,427,900,1460 --batches 8,16,32,64
"""
import json
import statistics
import time

import click
import numpy as np

from pipeline import recipe


def measured(median: int, batch: int, steps: int = 20, rounds: int = 3) -> float:
    """Median seconds per optimizer step of the recipe's model for series of `median` steps."""
    import tensorflow as tf

    from pipeline import model

    settings = recipe.choose(recipe.Facts(rows=8 * batch, val_rows=5, length=median, median=median,
                                          n_features=1, n_classes=5, kind="features"))
    problem = {"kind": "features", "length": median, "n_features": 1, "n_classes": 5, "classes": list("abcde"),
               "variable": False, "pad_value": 0.0, "feature_mean": [0.0], "feature_std": [1.0]}
    net = model.build_model(problem, settings)
    optimizer = model.make_optimizer("adam", 3e-3, clipnorm=settings["clipnorm"], ema=settings["ema"])
    model.compile_model(net, optimizer, 1, False, settings["label_smoothing"])
    x = np.random.default_rng(0).normal(size=(4 * batch, median, 1)).astype(np.float32)
    y = tf.one_hot(np.arange(4 * batch) % 5, 5)
    feed = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).repeat().prefetch(2)
    net.fit(feed, steps_per_epoch=steps // 2, epochs=1, verbose=0)  # traces
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        net.fit(feed, steps_per_epoch=steps, epochs=1, verbose=0)
        times.append((time.perf_counter() - t) / steps)
    return statistics.median(times)


def fit(rows: list) -> tuple:
    """(fixed seconds, seconds per batch row and input step), least squares over rows of
    {median, batch, seconds}."""
    a = np.array([[1.0, r["batch"] * r["median"]] for r in rows])
    (fixed, per), *_ = np.linalg.lstsq(a, np.array([r["seconds"] for r in rows]), rcond=None)
    return float(fixed), float(per)


def ints(text: str) -> list:
    return [int(v) for v in text.split(",") if v.strip()]


@click.command()
@click.option("--lengths", default="150,251,427,900,1460", show_default=True, help="Median lengths, comma-separated.")
@click.option("--batches", default="8,16,32,64", show_default=True, help="Batch sizes, comma-separated.")
def main(lengths, batches):
    """Time the recipe's conv model's optimizer step over shapes and fit its cost."""
    rows = []
    for median in ints(lengths):
        if median < recipe.LONG:
            raise click.BadParameter(f"{median} is shorter than {recipe.LONG}: the recipe gives it no conv front end",
                                     param_hint="--lengths")
        for batch in ints(batches):
            rows.append({"median": median, "batch": batch, "seconds": round(measured(median, batch), 5)})
            click.echo(json.dumps(rows[-1]))
    if len(rows) < 2:
        raise click.UsageError("at least two shapes are needed to fit a fixed and a per-step cost")
    fixed, per = fit(rows)
    predicted = [round((fixed + per * r["batch"] * r["median"]) / r["seconds"], 2) for r in rows]
    click.echo(json.dumps({"fixed_seconds": float(f"{fixed:.3g}"), "seconds_per_row_step": float(f"{per:.3g}"),
                           "predicted_over_measured": predicted}))

if __name__ == "__main__":
    main()
