"""Your own sequences through every stage, as a user runs them: a CSV of ragged token sequences with string
labels goes through import, train, evaluate, predict and export; predictions.csv names the labels; a
plain Keras 3 process loads the model, and the SavedModel answers padded batches. Echo data written out
as a user's file trains to the same test accuracy as generated echo data. A .ts file reads through the
`ts` extra."""
import csv
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from pipeline import data
from tests.conftest import run_cli

pytestmark = pytest.mark.slow
CLASSES = ["even", "odd", "zero"]


def label(tokens) -> str:
    """The class of a sequence: its first token's parity, or zero."""
    return "zero" if tokens[0] == 0 else ("even", "odd")[tokens[0] % 2]


def write_csv(path, n, seed):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for _ in range(n):
            tokens = rng.integers(0, 6, rng.integers(2, 9)).tolist()
            f.write(",".join([label(tokens), *map(str, tokens)]) + "\n")
    return path


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """The stages in-process (a real process is the point of the tests that read what they wrote)."""
    from pipeline import evaluate, export, predict, train

    folder = tmp_path_factory.mktemp("own")
    train_file, test_file = write_csv(folder / "train.csv", 3000, 1), write_csv(folder / "test.csv", 400, 2)
    r = run_cli("import", "--train-file", train_file, "--test-file", test_file, "--out", folder / "own.h5")
    assert r.returncode == 0, r.stderr
    options = train.Options(units=16, batch_size=64, steps_per_epoch=0, learning_rate=0.02, epochs=30)
    train.train(folder / "own.h5", folder / "model.keras", options, verbose=0)
    evaluate.evaluate(folder / "own.h5", folder / "model.keras", folder / "metrics.json")
    predict.predict(folder / "own.h5", folder / "model.keras", folder / "predictions.csv")
    export.export(folder / "model.keras", folder / "export")
    return folder


def test_a_users_ragged_tokens_train_evaluate_and_predict_with_label_names(own):
    metrics = json.loads((own / "metrics.json").read_text())
    assert metrics["accuracy"] == 1.0 and metrics["n_test"] == 400
    rows = list(csv.DictReader(open(own / "predictions.csv")))
    assert list(rows[0]) == ["index", "sequence", "expected", "predicted", "confidence"]
    with open(own / "test.csv") as f:
        lines = [line.strip().split(",") for line in f]
    assert [(r["sequence"], r["expected"]) for r in rows] == [(" ".join(t), name) for name, *t in lines]
    assert {r["predicted"] for r in rows} == set(CLASSES)


PLAIN = """
import json, sys
import numpy as np
import keras
model = keras.models.load_model(sys.argv[1])
batch = np.zeros((2, 8, 6), np.float32)   # one-hot tokens, padded with all-zero steps
for i, tokens in enumerate([[3, 1], [0, 5, 5, 2, 1, 4, 4, 2]]):
    batch[i, np.arange(len(tokens)), tokens] = 1
alone = np.zeros((1, 8, 6), np.float32)
alone[0, [0, 1], [3, 1]] = 1
print(json.dumps({"batch": model.predict(batch, verbose=0).tolist(), "alone": model.predict(alone, verbose=0).tolist(),
                  "pipeline": "pipeline" in sys.modules}))
"""

SERVE = """
import json, sys
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
batch = serve(sequence=tf.constant([[3, 1, -1, -1, -1, -1, -1, -1], [0, 5, 5, 2, 1, 4, 4, 2]], tf.int32))
alone = serve(sequence=tf.constant([[3, 1, -1, -1, -1, -1, -1, -1]], tf.int32))
both = {**{"b_" + k: v for k, v in batch.items()}, **{"a_" + k: v for k, v in alone.items()}}
print(json.dumps({k: [v.decode() if isinstance(v, bytes) else v for v in t.numpy().tolist()] for k, t in both.items()}))
"""


def test_plain_keras_3_loads_the_model_and_padding_changes_nothing(own):
    r = subprocess.run([sys.executable, "-c", PLAIN, str(own / "model.keras")], capture_output=True, text=True,
                       cwd=own, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert not out["pipeline"]
    np.testing.assert_allclose(out["batch"][0], out["alone"][0], atol=1e-6)
    assert np.argmax(out["batch"][0]) == CLASSES.index("odd") and np.argmax(out["batch"][1]) == CLASSES.index("zero")


def test_the_savedmodel_answers_padded_batches_with_label_names(own):
    r = subprocess.run([sys.executable, "-c", SERVE, str(own / "export")], capture_output=True, text=True,
                       cwd=own, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["b_label"] == ["odd", "zero"] and out["a_label"] == ["odd"]
    assert out["b_class"] == [CLASSES.index("odd"), CLASSES.index("zero")]
    assert abs(out["b_confidence"][0] - out["a_confidence"][0]) < 1e-6


def test_echo_data_written_as_a_users_file_trains_like_generated_echo_data(tiny_data, tmp_path):
    """The same echo sequences, generated or written out as CSV and imported (a general classifier now,
    whose classes are the values "0".."9"), train with the same options to the same test accuracy."""
    for split in ("train", "val", "test"):
        X, y = (a.argmax(-1) for a in data.read_padded(tiny_data, split))
        with open(tmp_path / f"{split}.csv", "w") as out:
            out.writelines(",".join(map(str, [label, *tokens])) + "\n" for label, tokens in zip(y, X))
    r = run_cli("import", "--train-file", tmp_path / "train.csv", "--val-file", tmp_path / "val.csv",
                "--test-file", tmp_path / "test.csv", "--out", tmp_path / "imported.h5")
    assert r.returncode == 0, r.stderr
    from pipeline import evaluate, train

    accuracies = {}
    for name, path in (("generated", tiny_data), ("imported", tmp_path / "imported.h5")):
        (tmp_path / name).mkdir()
        train.train(path, tmp_path / name / "model.keras", train.Options(seed=1), verbose=0)
        metrics = evaluate.evaluate(path, tmp_path / name / "model.keras", tmp_path / name / "metrics.json")
        accuracies[name] = metrics["accuracy"]
    assert accuracies["imported"] == accuracies["generated"] == 1.0


TS = """@problemName tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def test_a_ts_file_reads_through_the_ts_extra(tmp_path):
    rng = np.random.default_rng(0)

    def write(path, n):
        lines = []
        for i in range(n):
            length, up = int(rng.integers(3, 7)), i % 2 == 0
            series = np.cumsum(rng.normal(1 if up else -1, 0.1, (2, length)), axis=1)
            lines.append(":".join(",".join(f"{v:.4f}" for v in dim) for dim in series) + (":up" if up else ":down"))
        path.write_text(TS + "\n".join(lines) + "\n")
        return path

    r = run_cli("import", "--train-file", write(tmp_path / "t_TRAIN.ts", 40), "--test-file",
                write(tmp_path / "t_TEST.ts", 10), "--out", tmp_path / "d.h5")
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "d.h5") as f:
        assert f.attrs["kind"] == "features" and json.loads(f.attrs["classes"]) == ["down", "up"]
        assert f.attrs["length"] == 6 and f["test"]["X"].shape[1:] == (2,) and f["test"]["lengths"][:].min() >= 3
        first = (tmp_path / "t_TEST.ts").read_text().split("@data\n")[1].splitlines()[0].split(":")
        n = f["test"]["lengths"][0]
        assert np.allclose(f["test"]["X"][:n].T, [[float(v) for v in dim.split(",")] for dim in first[:2]],
                           atol=1e-4)
