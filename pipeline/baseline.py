"""Stage baseline: well-kept library classifiers fitted on the same split as the model, so that every
result has something to stand beside (aeon, the `ts` extra; no TensorFlow).

Reads --data; writes --out (baseline.json: each classifier's test accuracy and seconds, and the dataset
it came from). The classifiers: nearest neighbour (1-NN) by Euclidean distance and by dynamic time
warping (DTW), and MiniRocket (Dempster et al., 2021). They fit on the training and validation splits
together (they choose nothing on validation data), and are scored on the test split the model is. A
classifier that cannot take the data is left out, with the reason: Euclidean distance and MiniRocket
need sequences of one length. Tokens are compared as their one-hot steps.

    python -m pipeline baseline --data data/own.h5 --out artifacts/baseline.json
"""
import time
import warnings

import click
import numpy as np

from pipeline import config, data
from pipeline.files import BadFile, writable_target, write_json_atomic
from pipeline.options import data_option

CLASSIFIERS = ("1-NN Euclidean", "1-NN DTW", "MiniRocket")


def classifier(name: str, seed: int):
    """An unfitted aeon classifier, or BadFile when aeon is not installed."""
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    except ImportError:
        raise BadFile("the baselines come with aeon: pip install -e '.[ts]' (make installs it)") from None
    if name == "MiniRocket":
        return MiniRocketClassifier(random_state=seed)
    return KNeighborsTimeSeriesClassifier(distance="euclidean" if name == "1-NN Euclidean" else "dtw")


def as_aeon(rows: list):
    """Sequences as aeon takes them: one (n, channels, steps) array when lengths agree, else a list of
    (channels, steps) arrays."""
    if len({len(r) for r in rows}) == 1:
        return np.stack([r.T for r in rows]).astype(np.float64)
    return [r.T.astype(np.float64) for r in rows]


def why_not(name: str, equal: bool) -> str | None:
    """Why a classifier cannot take the data, or None."""
    if not equal and name != "1-NN DTW":
        return "needs sequences of one length"
    return None


def fit_and_score(name: str, train: tuple, test: tuple, seed: int) -> dict:
    """Fit one classifier on `train` (rows, labels) and score it on `test`."""
    t = time.perf_counter()
    model = classifier(name, seed)
    with warnings.catch_warnings():  # numba's notes on casts inside aeon, not the user's business
        warnings.simplefilter("ignore")
        model.fit(as_aeon(train[0]), train[1])
        accuracy = float((model.predict(as_aeon(test[0])) == test[1]).mean())
    return {"accuracy": accuracy, "seconds": round(time.perf_counter() - t, 2)}


def baselines(data_path, names=CLASSIFIERS, seed: int = 0) -> dict:
    """Every classifier's test accuracy on the dataset (those that cannot take it: why not)."""
    info = data.describe(data_path)
    rows = {split: data.split_rows(data_path, split) for split in data.SPLITS}
    train = (rows["train"][0] + rows["val"][0], np.concatenate([rows["train"][1], rows["val"][1]]))
    equal = len({len(r) for part in rows.values() for r in part[0]}) == 1
    results, left_out = {}, {}
    for name in names:
        reason = why_not(name, equal)
        if reason:
            left_out[name] = reason
        else:
            results[name] = fit_and_score(name, train, rows["test"], seed)
    return {"classifiers": results, "left_out": left_out, "fit_on": "train and val splits", "seed": seed,
            "n_train": len(train[1]), "n_test": len(rows["test"][1]), "dataset": info.provenance}


@click.command("baseline")
@data_option
@click.option("--out", type=click.Path(dir_okay=False), default=config.BASELINE_PATH, show_default=True,
              help="baseline.json to write.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of MiniRocket's random kernels.")
def cli(data_path, out, seed):
    """Fit library classifiers (1-NN Euclidean, 1-NN DTW, MiniRocket) on the same split as the model."""
    writable_target(out)
    record = baselines(data_path, seed=seed)
    write_json_atomic(out, record)
    shown = [f"{name} {r['accuracy']:.4f} ({r['seconds']:.1f} s)" for name, r in record["classifiers"].items()]
    shown += [f"{name}: left out, {why}" for name, why in record["left_out"].items()]
    click.echo(f"wrote {out}: test accuracy " + "; ".join(shown))
