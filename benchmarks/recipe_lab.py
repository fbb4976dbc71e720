"""Variants of the recipe's model, tried on data of no preset (docs/experiments.md, "Variants tried").

A variant changes how pipeline.model builds the recipe's member or its optimizer, in this process only;
the run then trains as `train` does (the recipe, plus any train options given after the lab's own)
and evaluates the model in a fresh process, as `make all` would. Prints one line: the variant, the
data, the test accuracy and the train stage's seconds.

    .venv/bin/python -m benchmarks.recipe_lab --variant full-res --data data/OSULeaf.h5 \\
        --out artifacts/lab/full-res/OSULeaf/0/model.keras -- --seed 0 --cell gru

Variants: recipe (no change), noise (Gaussian noise of 0.1 standard deviation on the standardised
inputs, while training), filters-128 (128 filters in each convolution, the LSTM keeping its units),
spatial-dropout (0.2 of the front end's channels dropped, while training), adamw (Adam with decoupled
weight decay 0.01), full-res (all three convolutions read every step; the max comes after the last),
one-max (one max, of K steps, after the first convolution), fcn (the front end's mean alone, no LSTM).
The recipe's own options change the rest: `-- --no-front-mean`, `-- --branch-dropout 0`.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import click

from pipeline import model
from pipeline.cli import main as pipeline_main

_input_layers, _conv_front, _build_model = model.input_layers, model.conv_front, model.build_model


def noisy_inputs(problem, keras):
    layers = _input_layers(problem, keras)
    return layers + ([keras.layers.GaussianNoise(0.1, name="noise")] if problem["kind"] == "features" else [])


def wide_front(problem, settings, keras):
    return _conv_front(problem, {**settings, "units": 128}, keras)


def dropped_front(problem, settings, keras):
    return _conv_front(problem, settings, keras) + [keras.layers.SpatialDropout1D(0.2, name="front_dropout")]


def full_res_front(problem, settings, keras):
    """The max after the third convolution: all three read every step."""
    return _conv_front(problem, settings, keras, maxes={3: settings["conv"]})


def one_max_front(problem, settings, keras):
    """One max, of K steps, after the first convolution (the front end until the recipe took its mean)."""
    return _conv_front(problem, settings, keras, maxes={1: settings["conv"]})


def fcn_model(problem, settings, keras=model.keras):
    """The front end's mean over the steps alone into the softmax, no recurrent layer: a fully
    convolutional network (Wang et al. 2017). Series too short for a front end: the recipe's model."""
    if not settings.get("conv"):
        return _build_model(problem, settings, keras)
    sequence = keras.Input(shape=(problem["length"], problem["n_features"]), name="sequence")
    x = sequence
    for layer in model.conv_front(problem, settings, keras):
        x = layer(x)
    mean = keras.layers.GlobalAveragePooling1D(name="front_mean")(x)
    return keras.Model(sequence, keras.layers.Dense(problem["n_classes"], activation="softmax", name="label")(mean),
                       name="fcn")


def adamw(name, rate, momentum=0.0, clipnorm=None, ema=0.0):
    kw = {"clipnorm": clipnorm} if clipnorm else {}
    kw.update({"use_ema": True, "ema_momentum": ema} if ema else {})
    return model.keras.optimizers.AdamW(rate, weight_decay=0.01, **kw)


VARIANTS = {"recipe": {}, "noise": {"input_layers": noisy_inputs}, "filters-128": {"conv_front": wide_front},
            "spatial-dropout": {"conv_front": dropped_front}, "adamw": {"make_optimizer": adamw},
            "full-res": {"conv_front": full_res_front}, "one-max": {"conv_front": one_max_front},
            "fcn": {"build_model": fcn_model}}


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--variant", type=click.Choice(list(VARIANTS)), required=True)
@click.option("--data", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The model file to write (.keras).")
@click.argument("train_options", nargs=-1, type=click.UNPROCESSED)
def main(variant, data, out, train_options):
    """Train one variant of the recipe's model and evaluate it."""
    for name, replacement in VARIANTS[variant].items():
        setattr(model, name, replacement)
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.ClickException(f"--out {out}: {e.strerror}") from None
    t = time.perf_counter()
    try:
        pipeline_main(["train", "--data", data, "--out", out, *train_options])
    except SystemExit as e:  # the pipeline's main always exits, with its stage's code
        if e.code:
            sys.exit(e.code)
    seconds = time.perf_counter() - t
    metrics = Path(out).parent / "metrics.json"
    r = subprocess.run([sys.executable, "-m", "pipeline", "evaluate", "--data", data, "--model", out, "--out",
                        metrics], capture_output=True, text=True)
    if r.returncode:
        raise click.ClickException(f"evaluate failed: {r.stderr.strip()[-400:]}")
    accuracy = json.loads(metrics.read_text())["accuracy"]
    click.echo(f"{variant} {data} {' '.join(train_options)}: test accuracy {accuracy:.4f}, train {seconds:.0f} s")


if __name__ == "__main__":
    main()
