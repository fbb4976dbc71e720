"""Where a training step's time goes at one batch size, in µs per step: `fit` fed by the HDF5 reader
(as `pipeline train --steps-per-execution 32 --jit`), `fit` fed one call's batches held in memory
over and over (no reading or shuffling), and the compiled training call alone, called from Python on
those batches (no `fit` loop or callbacks). docs/performance.md compares them with the peers.

    .venv/bin/python -m benchmarks.step_profile --data data/echo.h5 --batch-size 32
"""
import json
import time

import click


def per_step(ends: list, steps_per_call: int) -> float:
    """µs per step from the end of the first call (which traces, compiles and starts the input) to the
    end of the last."""
    return (ends[-1] - ends[0]) / ((len(ends) - 1) * steps_per_call) * 1e6


@click.command()
@click.option("--data", type=click.Path(exists=True), default="data/echo.h5", show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--steps-per-call", type=int, default=32, show_default=True, help="Batches per training call.")
@click.option("--calls", type=int, default=64, show_default=True)
def main(data, batch_size, steps_per_call, calls):
    from pipeline import data as dataset
    from pipeline import model as m
    from pipeline import train
    from pipeline.backend import keras, tf

    info = dataset.describe(data)
    keras.utils.set_random_seed(0)
    net = m.build_model(info.problem, {"units": 25})
    m.compile_model(net, m.make_optimizer("adam", 1e-3), 1, True)
    net = train.multi_step_trainer(net, {"jit": True, "label_smoothing": 0.0})
    reader = train.training_dataset(info, batch_size, 0, steps_per_call=steps_per_call)
    one_call = tf.data.Dataset.from_tensors(next(iter(reader))).repeat()

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):  # once per call of steps_per_call batches
            self.ends.append(time.perf_counter())

    def fit(ds):
        clock = Clock()
        net.fit(ds, epochs=1, steps_per_epoch=calls, verbose=0, callbacks=[clock])
        return clock.ends

    def alone():
        iterator, ends = iter(one_call), []
        for _ in range(calls):
            float(net.train_function(iterator)["loss"])  # waits for the call
            ends.append(time.perf_counter())
        return ends

    runs = {"fit, HDF5 reader": lambda: fit(reader), "fit, one call's batches in memory": lambda: fit(one_call),
            "the compiled call alone": alone}
    for name, run in runs.items():
        us = round(per_step(run(), steps_per_call), 1)
        print(json.dumps({"batch_size": batch_size, "how": name, "us_per_step": us}))


if __name__ == "__main__":
    main()
