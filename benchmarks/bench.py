"""make bench: the speed goals, each measured against its baseline in the same run.

Writes artifacts/bench.json, artifacts/bench.md and the same table into docs/performance.md (between
its markers). Every figure is the median of --runs runs of a fresh process; ratios compare figures
measured side by side, so machine-wide slowdowns cancel.

Baselines: the reference recipe (one model.fit per freshly generated sample, and its per-sample
generator and model.predict), the training peers (benchmarks/torch_peer.py: PyTorch;
benchmarks/jax_peer.py: Keras 3 on JAX; each run from its own virtual environment), the same
training fed from in-memory tensors (benchmarks/memory_feed.py, in turns with
the HDF5 reader in one process: train_pair), and the disk's durable write rate (the same bytes as
generate writes, written and fsynced with nothing else: the ceiling for generate on this disk).

A baseline that cannot run stops the bench with a one-line reason; --skip NAME (--no-torch for the
PyTorch peer) leaves it out on purpose, and the table says so in that row.

This module is the command line and its sub-commands; the parts are runs.py (commands in fresh
processes), baselines.py (the sizes, the peers, the baselines by name), reference.py, peers.py,
measure.py, pair.py (train-pair), table.py and doc.py (docs/performance.md).

    python -m benchmarks.bench --out artifacts/bench.json --torch-python .venv-torch/bin/python \
        --jax-python .venv-jax/bin/python
"""
import json
import shutil
import tempfile
import time
from pathlib import Path

import click

from benchmarks.baselines import BASELINES, PEERS
from benchmarks.doc import DOC, doc_text, write_doc
from benchmarks.lstm_rows import lstm_rows
from benchmarks.measure import (
    eval_predict,
    generation,
    input_pipeline,
    long_forward,
    make_all,
    throughput,
    time_to_target,
)
from benchmarks.pair import train_pair
from benchmarks.peers import peer_version
from benchmarks.reference import reference, reference_fits, reference_generator
from benchmarks.runs import ROOT, pipeline
from benchmarks.table import commit, goals, machine, markdown


@click.group(invoke_without_command=True)
@click.option("--out", type=click.Path(dir_okay=False), default="artifacts/bench.json", show_default=True,
              help="bench.json; bench.md is written beside it.")
@click.option("--doc", default=DOC, show_default=True,
              help="Document whose table between its bench markers is replaced (relative to the repository root).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs per figure.")
@click.option("--torch-python", default=".venv-torch/bin/python", show_default=True,
              help="Python of the PyTorch peer's virtual environment.")
@click.option("--jax-python", default=".venv-jax/bin/python", show_default=True,
              help="Python of the Keras 3/JAX peer's virtual environment.")
@click.option("--no-torch", is_flag=True, help="Leave out the PyTorch peer (same as --skip torch).")
@click.option("--skip", type=click.Choice(list(BASELINES)), multiple=True,
              help="Leave out a baseline; its rows say so. Repeatable.")
@click.option("--reference-fits", type=click.IntRange(min=10), default=300, show_default=True,
              help="Single-sample fits timed to extrapolate the reference's 10,000.")
@click.option("--big", type=click.IntRange(min=1), default=100_000_000, show_default=True,
              help="Largest dataset for the peak-memory check.")
@click.option("--flags", default="--steps-per-execution 32 --jit", show_default=True,
              help="Train options for the throughput runs.")
@click.option("--pairs", type=click.IntRange(min=1), default=11, show_default=True,
              help="Turns of each input (HDF5, memory) in the one-process comparison.")
@click.pass_context
def cli(ctx, out, doc, runs, torch_python, jax_python, no_torch, skip, reference_fits, big, flags, pairs):
    """Run every benchmark and write bench.json, bench.md and the table in --doc."""
    if ctx.invoked_subcommand:
        return
    out, doc = Path(out), ROOT / doc
    skipped = {name: f"{BASELINES[name]} not run (--skip {name})" for name in skip}
    if no_torch:
        skipped["torch"] = f"{BASELINES['torch']} not run (--no-torch)"
    doc_text(doc)  # the checks that need no measurement, before minutes of it
    pythons = {name: python for name, python in (("torch", torch_python), ("jax", jax_python))
               if name not in skipped}
    versions = {name: peer_version(name, pythons[name]) if name in pythons else "not run" for name in PEERS}
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out.parent))
    m = {"skipped": skipped}
    try:
        data = work / "echo.h5"
        pipeline("generate", "--out", data)
        flags = flags.split()
        click.echo("time to target ...", err=True)
        m["time_to_target"] = time_to_target(data, work, runs)
        if "reference" not in skipped:
            click.echo("reference recipe ...", err=True)
            m["reference"], m["reference_generator"] = reference(runs, reference_fits)
        click.echo("throughput ...", err=True)
        m["throughput"], m["peers"] = throughput(data, work, runs, flags, pythons)
        click.echo("input pipeline ...", err=True)
        m["input"] = input_pipeline(data, pairs, flags, "memory" in skipped)
        click.echo("generation ...", err=True)
        m["generation"] = generation(work, runs, big, "disk" in skipped)
        click.echo("evaluate and predict ...", err=True)
        m["eval"] = eval_predict(data, m["time_to_target"]["model"], work, runs)
        if "long" not in skipped:
            click.echo("long preset: evaluate and training ...", err=True)
            m["long"] = long_forward(work, runs)
        click.echo("real-data LSTM steps and JapaneseVowels ...", err=True)
        m["lstm"] = lstm_rows(work, runs, pythons.get("torch"))
        click.echo("make all ...", err=True)
        m["make"] = make_all(work, runs)
    except BaseException:
        from pipeline.files import write_json_atomic

        write_json_atomic(out.with_name(f"{out.stem}-partial.json"), m)  # what was measured before it stopped
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit(), "runs": runs, "flags": flags,
              "machine": machine(versions), "goals": goals(m), "measurements": m}
    from pipeline.files import write_json_atomic, write_text_atomic

    table = markdown(result)
    write_json_atomic(out, result)
    write_text_atomic(out.with_suffix(".md"), table)
    write_doc(doc, table)
    click.echo(table)


@cli.command("reference")
@click.option("--fits", type=int, default=300)
@click.option("--predicts", type=int, default=100)
def reference_cmd(fits, predicts):
    click.echo(json.dumps(reference_fits(fits, predicts)))


@cli.command("reference-generator")
@click.option("-n", type=int, default=20_000)
def reference_generator_cmd(n):
    click.echo(json.dumps(reference_generator(n)))


@cli.command("train-pair", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--data", required=True)
@click.option("--batch-size", type=int, required=True)
@click.option("--pairs", type=int, default=11)
@click.option("--sources", default="hdf5,memory", show_default=True, help="hdf5, memory or both.")
@click.option("--steps-per-execution", type=int, default=1)
@click.option("--jit/--no-jit", default=False)
def train_pair_cmd(data, batch_size, pairs, sources, steps_per_execution, jit):
    """Samples/s of model.fit fed by the HDF5 reader and from memory, in turns (see input_pipeline)."""
    click.echo(json.dumps(train_pair(data, batch_size, pairs, steps_per_execution, jit, tuple(sources.split(",")))))



if __name__ == "__main__":
    cli()
