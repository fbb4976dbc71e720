"""The reference recipe, written the way the book's per-sample code works: one model.fit per freshly
generated sample, its per-sample generator and model.predict (the baseline of goals 1, 4a and 5)."""
import random
import time

import numpy as np

from benchmarks.baselines import baseline_failed
from benchmarks.runs import CommandFailed, helper, median

REFERENCE_FITS = 10_000


def reference_example(length=5, n_features=10, out_index=2):
    sequence = [random.randint(0, n_features - 1) for _ in range(length)]
    encoded = []
    for value in sequence:
        vector = [0] * n_features
        vector[value] = 1
        encoded.append(vector)
    encoded = np.array(encoded)
    return encoded.reshape((1, length, n_features)), encoded[out_index].reshape(1, n_features)


def reference_fits(fits: int, predicts: int) -> dict:
    """Time the reference recipe: build, then one fit per fresh sample, then per-sample predictions."""
    start = time.perf_counter()
    from pipeline.backend import keras

    model = keras.Sequential([keras.Input((5, 10)), keras.layers.LSTM(25),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    startup = time.perf_counter() - start
    fit_seconds = []
    for _ in range(fits):
        X, y = reference_example()
        t = time.perf_counter()
        model.fit(X, y, epochs=1, verbose=0)
        fit_seconds.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(predicts):
        X, y = reference_example()
        model.predict(X, verbose=0)
    predict_s = (time.perf_counter() - t) / predicts
    per_fit = float(np.mean(fit_seconds[1:]))  # the first fit traces; it is counted once below
    return {"startup_s": startup, "first_fit_s": fit_seconds[0], "per_fit_s": per_fit,
            "fits_10000_s": fit_seconds[0] + per_fit * (REFERENCE_FITS - 1),
            "script_s": startup + fit_seconds[0] + per_fit * (REFERENCE_FITS - 1) + 100 * predict_s,
            "predict_samples_per_s": 1 / predict_s}


def reference_generator(n: int) -> dict:
    start = time.perf_counter()
    for _ in range(n):
        reference_example()
    return {"samples_per_s": n / (time.perf_counter() - start)}


def reference(runs: int, fits: int) -> tuple[dict, dict]:
    try:
        recipes = [helper("reference", "--fits", fits) for _ in range(runs)]
        generators = [helper("reference-generator")["samples_per_s"] for _ in range(runs)]
    except CommandFailed as e:
        raise baseline_failed("reference", e) from None
    return {k: median([r[k] for r in recipes]) for k in recipes[0]}, {"samples_per_s": median(generators)}
