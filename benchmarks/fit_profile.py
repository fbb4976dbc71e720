"""Where a short-sequence fit goes (docs/performance.md, the JapaneseVowels row): the dataset's training
settings as `train` resolves them, fitted as train.fit does (without its log and backup callbacks) under
a callback that times each epoch, its training steps and its validation; then one training batch taken
apart: the forward pass, forward and backward, and the whole training call.

    .venv/bin/python -m benchmarks.fit_profile data/japanese-vowels.h5
    .venv/bin/python -m benchmarks.fit_profile data/japanese-vowels.h5 --parts 1   # the LSTM in one part

Prints one JSON line (seconds; *_ms: medians over the epochs after the first, or over --calls calls).
"""
import json
import math
import statistics
import time

import click

from benchmarks.lstm_shapes import rounds_of, timed


def epoch_timer(keras):
    """A callback keeping, per epoch: its seconds, its training batches' seconds and its validation's."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.batches = time.perf_counter(), 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self.batch_start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.batches += time.perf_counter() - self.batch_start

        def on_test_begin(self, logs=None):
            self.test_start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.rows.append({"epoch": now - self.start, "batches": self.batches, "validation": now - self.test_start})

    return EpochTimer()


def profile(data_path, parts_rows: int | None, calls: int, epochs: int | None = None) -> dict:
    from pipeline import data, fused_lstm, train
    from pipeline.backend import keras, tf

    if parts_rows:
        fused_lstm.MIN_PART_ROWS = parts_rows
    info = data.describe(data_path)
    settings = {**train.resolve(train.Options(epochs=epochs), info), "steps_per_execution": 1}  # a batch a call
    keras.utils.set_random_seed(settings["seed"])
    net = train.build(info, settings)
    feeds = train.datasets(info, settings)
    timer = epoch_timer(keras)
    start = time.perf_counter()
    net.fit(feeds.train, epochs=settings["epochs"], steps_per_epoch=feeds.steps, validation_data=feeds.val,
            validation_steps=math.ceil(info.rows["val"] / train.val_batch(info)), callbacks=[timer], verbose=0)
    fit_seconds = time.perf_counter() - start
    later = timer.rows[1:]

    X, y = next(iter(feeds.train))
    loss = net.compiled_loss
    forward = tf.function(lambda: net(X, training=True))

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            cost = loss(y, net(X, training=True))
        return tape.gradient(cost, net.trainable_variables)

    batches = iter(tf.data.Dataset.from_tensors((X, y)).repeat())
    step = net.make_train_function()
    args = rounds_of(calls)
    median = {name: statistics.median(r[name] for r in later) * 1e3 for name in later[0]} if later else {}
    return {
        "fit_seconds": round(fit_seconds, 3), "epochs": len(timer.rows),
        "first_epoch_s": round(timer.rows[0]["epoch"], 3), "first_batches_s": round(timer.rows[0]["batches"], 3),
        **{f"{k}_ms": round(v, 1) for k, v in median.items()},
        "batch_shape": list(X.shape),
        "forward_ms": round(timed(lambda: forward().numpy(), args)["ms_per_step"], 2),
        "forward_backward_ms": round(timed(lambda: gradients()[0].numpy(), args)["ms_per_step"], 2),
        "train_call_ms": round(timed(lambda: step(batches)["loss"].numpy(), args)["ms_per_step"], 2),
        "part_rows": fused_lstm.MIN_PART_ROWS,
    }


@click.command()
@click.argument("data_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--parts", "parts_rows", type=click.IntRange(min=1), default=None,
              help="The fused LSTM's least rows per part (fused_lstm.MIN_PART_ROWS); a batch's rows or more: one part.")
@click.option("--calls", type=click.IntRange(min=5), default=100, help="Calls timed per part of the step.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs (default: the dataset's own).")
def cli(data_path, parts_rows, calls, epochs):
    click.echo(json.dumps(profile(data_path, parts_rows, calls, epochs)))


if __name__ == "__main__":
    cli()
