"""Stage 3, evaluate: model.evaluate over the whole test split, in file order (sequences of different
lengths: each block of rows sorted by length into batches, reader.py).

Reads --data and --model; writes --out (metrics.json: loss, the confusion matrix counted in the same
pass and every score metrics.py derives from it (accuracy, per-class precision, recall and F1,
macro-F1, balanced accuracy), number of test sequences, throughput, whether XLA compiled the pass, and
the dataset and model it came from) and, beside it, confusion.png. A long pass (from
config.FORWARD_XLA_STEPS time steps) of sequences of one length is compiled with XLA: the long preset's
evaluates about twice as fast (batches of different widths would each compile again).

    python -m pipeline evaluate --data data/echo.h5 --model artifacts/model.keras --out artifacts/metrics.json
"""
import math
import time
from pathlib import Path

import click

from pipeline import config, data, metrics
from pipeline.files import json_text, published_together
from pipeline.inputs import open_inputs
from pipeline.options import data_option, model_option


def evaluate(data_path, model_path, out, batch_size: int | None = None) -> dict:
    """batch_size: None for config.EVAL_BATCH, or fewer rows for long sequences (data.forward_batch)."""
    inputs = open_inputs(data_path, model_path, out)
    info, net = inputs.info, inputs.net
    from pipeline import reader
    from pipeline.model import confusion_metric

    batch_size = batch_size or data.forward_batch(config.EVAL_BATCH, info.length, info.n_features)
    n = info.rows["test"]
    net.compile(loss="categorical_crossentropy", metrics=[confusion_metric(info.n_classes)],
                jit_compile=not info.variable and data.forward_compiles(n, info.length))
    ds = reader.make_dataset(info, "test", batch_size)
    t0 = time.perf_counter()
    warm_up(net, ds, n, batch_size)
    t = time.perf_counter()
    result = net.evaluate(ds, steps=math.ceil(n / batch_size), verbose=0, return_dict=True)
    seconds = time.perf_counter() - t
    counts = result["confusion"]
    record = {"loss": float(result["loss"]), **metrics.scores(counts, info.classes), "n_test": n,
              "correct": int(counts.trace()), "seconds": round(seconds, 4),
              "seconds_with_tracing": round(time.perf_counter() - t0, 4),
              "samples_per_s": round(n / seconds), "batch_size": batch_size, "xla": net.jit_compile,
              **inputs.provenance()}
    write(out, record)
    return record


def write(out, record: dict) -> None:
    """metrics.json and, beside it, confusion.png, replacing the previous pair together."""
    from pipeline import plots

    out = Path(out)
    with published_together() as outputs:
        with outputs.output(out) as tmp:
            tmp.write_text(json_text(record))
        with outputs.output(out.with_name("confusion.png")) as tmp:
            title = f"{out} (test accuracy {record['accuracy']:.4f})"
            plots.write_png(plots.confusion_figure(record["confusion"], title), tmp)


def warm_up(net, ds, rows: int, batch_size: int) -> None:
    """Trace the test step, and under XLA compile it for each batch shape of the pass (a whole batch
    and the shorter last one), so that the timed pass is throughput."""
    net.evaluate(ds, steps=1, verbose=0)
    if net.jit_compile and data.short_last_batch(rows, batch_size):
        net.evaluate(ds.skip(rows // batch_size), steps=1, verbose=0)


@click.command("evaluate")
@data_option
@model_option
@click.option("--out", type=click.Path(), default=config.METRICS_PATH, show_default=True,
              help="Metrics file to write.")
def cli(data_path, model_path, out):
    """Evaluate the model on the test split."""
    r = evaluate(data_path, model_path, out)
    click.echo(f"wrote {out} and confusion.png: test accuracy {r['accuracy']:.6f} on {r['n_test']:,} sequences "
               f"(macro-F1 {r['macro_f1']:.4f}, loss {r['loss']:.5f}, {r['samples_per_s']:,} samples/s)")
    beside = metrics.baseline_beside(out, r["dataset"]["content_hash"])
    for line in metrics.beside_baselines(r["accuracy"], beside):
        click.echo(line.strip())
