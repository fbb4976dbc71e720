"""Stage 3, evaluate: model.evaluate over the whole test split, in file order.

Reads --data and --model; writes --out (metrics.json: loss, accuracy, number of test sequences,
throughput, and the dataset and model it came from).

    python -m pipeline evaluate --data data/echo.h5 --model artifacts/model.keras --out artifacts/metrics.json
"""
import math
import time

import click

from pipeline import config, data
from pipeline.files import write_json_atomic
from pipeline.inputs import open_inputs
from pipeline.options import data_option, model_option


def evaluate(data_path, model_path, out, batch_size: int | None = None) -> dict:
    """batch_size: None for config.EVAL_BATCH, or fewer rows for long sequences (data.forward_batch)."""
    inputs = open_inputs(data_path, model_path, out)
    info, net = inputs.info, inputs.net
    from pipeline import reader

    batch_size = batch_size or data.forward_batch(config.EVAL_BATCH, info.length, info.n_features)
    ds = reader.make_dataset(info, "test", batch_size)
    t0 = time.perf_counter()
    net.evaluate(ds, steps=1, verbose=0)  # traces the test step, so the timing below is throughput
    t = time.perf_counter()
    loss, accuracy = net.evaluate(ds, steps=math.ceil(info.rows["test"] / batch_size), verbose=0)
    seconds = time.perf_counter() - t
    n = info.rows["test"]
    record = {"loss": float(loss), "accuracy": float(accuracy), "n_test": n,
              "correct": int(round(accuracy * n)), "seconds": round(seconds, 4),
              "seconds_with_tracing": round(time.perf_counter() - t0, 4),
              "samples_per_s": round(n / seconds), **inputs.provenance()}
    write_json_atomic(out, record)
    return record


@click.command("evaluate")
@data_option
@model_option
@click.option("--out", type=click.Path(), default=config.METRICS_PATH, show_default=True,
              help="Metrics file to write.")
def cli(data_path, model_path, out):
    """Evaluate the model on the test split."""
    r = evaluate(data_path, model_path, out)
    click.echo(f"wrote {out}: test accuracy {r['accuracy']:.6f} on {r['n_test']:,} sequences "
               f"(loss {r['loss']:.5f}, {r['samples_per_s']:,} samples/s)")
