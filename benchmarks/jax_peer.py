"""The Keras 3 / JAX peer of the training throughput rows: the same vanilla LSTM, from tensors in memory.

The model is the echo problem's, built with Keras 3 on its JAX backend: LSTM(units, unrolled) over
one-hot sequences, then Dense(n_features, softmax), categorical cross-entropy and Adam (learning rate
0.001, as the bench's throughput runs), with the training accuracy that ours reports too, compiled
with XLA (`jit_compile=True`) and `steps_per_execution`, fit from NumPy arrays held in memory: JAX's
best case on a CPU. The data is echo data of the bench's shape (length 5, 10 features, the target
is the token at out_index 2).

For each batch size, a fresh model fits one untimed epoch (compiling), then --passes timed epochs
over --samples sequences, at most --max-steps batches each (Keras shuffles each epoch).
Prints one JSON line per batch size:

    {"framework": "keras-jax", "batch_size": B, "samples_per_s": S, "accuracy": A, "devices": D}

where accuracy is on --eval-samples fresh sequences after training. It runs in its own virtual
environment (jax, keras and numpy only) and imports nothing of the project:

    .venv-jax/bin/python benchmarks/jax_peer.py --batch-sizes 8,32,128
"""
import os
import time

os.environ["KERAS_BACKEND"] = "jax"  # before Keras is imported

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from peer_args import echo_tokens, parse, parser, pass_rows, print_results  # noqa: E402


def echo_data(args, rows: int, rng: np.random.Generator):
    """One-hot sequences (rows, length, n_features) float32 and the one-hot class to echo (rows, n_features)."""
    tokens, target = echo_tokens(args, rows, rng)
    eye = np.eye(args.n_features, dtype=np.float32)
    return eye[tokens], eye[target]


def build(length: int, n_features: int, units: int, learning_rate: float, steps_per_execution: int):
    model = keras.Sequential([keras.Input((length, n_features)), keras.layers.LSTM(units, unroll=True),
                              keras.layers.Dense(n_features, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=steps_per_execution, jit_compile=True)
    return model


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def measure(X, y, X_eval, y_eval, batch_size: int, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    samples = pass_rows(args, batch_size)
    model = build(X.shape[1], X.shape[2], args.units, args.learning_rate,
                  min(args.steps_per_execution, samples // batch_size))
    times = EpochTimes()
    model.fit(X[:samples], y[:samples], batch_size=batch_size, epochs=1 + args.passes, shuffle=True, verbose=0,
              callbacks=[times])
    seconds = sum(times.seconds[1:])  # the first epoch compiles
    predicted = model.predict(X_eval, batch_size=4096, verbose=0).argmax(axis=-1)
    return {"framework": "keras-jax", "batch_size": batch_size,
            "samples_per_s": round(args.passes * samples / seconds),
            "accuracy": round(float((predicted == y_eval.argmax(axis=-1)).mean()), 4),
            "devices": str(jax.devices()[0].platform)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--steps-per-execution", type=int, default=32, help="batches per compiled call")
    args, batch_sizes = parse(p, argv)
    print_results(args, batch_sizes, echo_data, measure)


if __name__ == "__main__":
    main()
