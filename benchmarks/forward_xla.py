"""When XLA pays in a forward pass: Keras 3's model.evaluate with and without jit_compile, from the
first pass (tracing or compiling both batch shapes) and over later passes, on random echo sequences
held in memory. The break-even behind config.FORWARD_XLA_STEPS (docs/performance.md).

    .venv/bin/python -m benchmarks.forward_xla --length 1000 --units 64 --batch 1024 --rows 4096
"""
import json
import time

import click
import numpy as np

from pipeline.backend import keras3, tf


def model(length: int, units: int, n_features: int, jit: bool):
    keras = keras3()
    inputs = keras.Input((length, n_features))
    lstm = keras.layers.LSTM(units, unroll=length <= 32)(inputs)
    net = keras.Model(inputs, keras.layers.Dense(n_features, activation="softmax")(lstm))
    net.compile("adam", "categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
    return net


@click.command()
@click.option("--length", type=int, default=1000)
@click.option("--units", type=int, default=64)
@click.option("--batch", type=int, default=1024)
@click.option("--rows", type=int, default=4096)
@click.option("--passes", type=int, default=3, help="Timed passes after the first.")
def main(length, units, batch, rows, passes):
    n_features = 10
    rng = np.random.default_rng(0)
    eye = np.eye(n_features, dtype=np.float32)
    ds = tf.data.Dataset.from_tensor_slices((eye[rng.integers(0, n_features, (rows, length))],
                                             eye[rng.integers(0, n_features, rows)])).batch(batch).cache()
    nets = {jit: model(length, units, n_features, jit) for jit in (False, True)}
    nets[True].set_weights(nets[False].get_weights())
    for jit, net in nets.items():
        times = []
        for _ in range(passes + 1):
            t = time.perf_counter()
            loss = net.evaluate(ds, verbose=0)[0]
            times.append(time.perf_counter() - t)
        print(json.dumps({"length": length, "units": units, "batch": batch, "rows": rows, "xla": jit,
                          "first_pass_s": round(times[0], 3), "later_passes_s": [round(x, 3) for x in times[1:]],
                          "later_per_s": round(rows / float(np.median(times[1:]))), "loss": round(float(loss), 6)}))


if __name__ == "__main__":
    main()
