"""Every member of the model family keeps the pipeline's promises on sequences of different lengths:
it trains, evaluate and predict run and agree, the model file loads in plain Keras 3 and predicts each
test sequence as the pipeline did, and the export serves the padded sequences with the same answers.
The padding property itself is tested on every member in tests/test_model.py."""
import csv
import json

import h5py
import numpy as np
import pytest

from pipeline import data, evaluate, export, importer, predict, train
from tests.cli.test_portable import outside
from tests.conftest import invoke
from tests.test_model import ARCHITECTURES

pytestmark = pytest.mark.slow
# The members run end to end here (the vanilla LSTM: tests/cli/test_portable.py); between them they hold
# every setting of the family. tests/test_model.py checks the padding of all of them.
MEMBERS = {name: ARCHITECTURES[name] for name in ("stacked bidirectional", "gru", "cnn, stacked bidirectional gru",
                                                  "cnn, bidirectional, mean, front mean beside, branch dropout")}


def ragged_tokens(path, rows: int, seed: int):
    """Sequences of 3 to 12 tokens in [0, 5); the label says whether token 4 occurs before token 3."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        seq = rng.integers(0, 5, rng.integers(3, 13))
        first = {t: list(seq).index(t) if t in seq else 99 for t in (3, 4)}
        lines.append(",".join(["yes" if first[4] < first[3] else "no", *map(str, seq)]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family")
    out = folder / "ragged.h5"
    importer.import_files(out, {**{p.name: p.default for p in importer.params.IMPORT},
                                "train_file": ragged_tokens(folder / "train.csv", 600, 1),
                                "test_file": ragged_tokens(folder / "test.csv", 200, 2)})
    return out


@pytest.fixture(scope="module")
def runs(dataset, tmp_path_factory):
    """Each member trained briefly, evaluated, predicted and exported, in its own folder."""
    made = {}
    for i, (name, arch) in enumerate(MEMBERS.items()):
        folder = tmp_path_factory.mktemp(f"member{i}")
        options = train.Options(units=8, epochs=2, steps_per_epoch=8, batch_size=32, **arch)
        record = train.train(dataset, folder / "model.keras", options, verbose=0)
        metrics = evaluate.evaluate(dataset, folder / "model.keras", folder / "metrics.json")
        predict.predict(dataset, folder / "model.keras", folder / "predictions.csv")
        export.export(folder / "model.keras", folder / "export")
        made[name] = {"folder": folder, "record": record, "metrics": metrics}
    return made


def test_every_member_trains_evaluates_and_predicts(runs):
    for name, run in runs.items():
        assert run["record"]["model"]["architecture"] == train.build(
            train.data.describe(run["record"]["dataset"]["path"]), run["record"]["settings"]).name, name
        with open(run["folder"] / "predictions.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        right = sum(r["expected"] == r["predicted"] for r in rows)
        assert len(rows) == run["metrics"]["n_test"] == 200 and right == run["metrics"]["correct"], name


def test_every_member_loads_in_plain_keras_and_serves_its_export(runs, dataset, tmp_path):
    """One plain process for all: each model file predicts each test sequence unpadded as the pipeline
    predicted it padded, and each export answers the padded integer sequences the same way."""
    X = data.read_padded(dataset, "test")[0]
    with h5py.File(dataset) as f:
        lengths = f["test/lengths"][:]
    tokens = np.where(np.arange(X.shape[1]) < lengths[:, None], X.argmax(-1), -1).astype(np.int32)
    np.save(tmp_path / "tokens.npy", tokens)
    folders = {name: str(run["folder"]) for name, run in runs.items()}
    got = outside(f"""
import json, keras, numpy as np, tensorflow as tf
tokens = np.load("tokens.npy")
out = {{}}
for name, folder in {folders!r}.items():
    model = keras.models.load_model(folder + "/model.keras")
    alone = [0] * len(tokens)
    for n in sorted({{int((t >= 0).sum()) for t in tokens}}):  # the sequences of each length in one unpadded batch
        rows = [i for i, t in enumerate(tokens) if (t >= 0).sum() == n]
        for i, p in zip(rows, model.predict(np.eye(5, dtype="float32")[tokens[rows, :n]], verbose=0).argmax(-1)):
            alone[i] = int(p)
    serve = tf.saved_model.load(folder + "/export").signatures["serving_default"]
    out[name] = {{"alone": alone, "served": serve(sequence=tf.constant(tokens))["label"].numpy().astype(str).tolist()}}
print(json.dumps(out))
""", tmp_path)
    for name, run in runs.items():
        with open(run["folder"] / "predictions.csv", newline="") as f:
            predicted = [r["predicted"] for r in csv.DictReader(f)]
        classes = json.loads((run["folder"] / "metrics.json").read_text())["confusion"]["classes"]
        assert [classes[i] for i in got[name]["alone"]] == predicted, name
        assert got[name]["served"] == predicted, name


@pytest.mark.parametrize("options, why", [
    (["--cell", "gru", "--chrono", "50"], "chrono initialisation sets an LSTM's forget gates; a GRU has none"),
    (["--conv", "4", "--chrono", "50"], "chrono lags count input steps, which the conv front end shortens"),
    (["--bidirectional", "--backwards"], "a bidirectional model already reads from the last step"),
    (["--front-mean"], "the front end's mean needs a front end"),
    (["--conv", "2", "--branch-dropout", "0.5"], "branch dropout drops the recurrent part beside the front end's mean"),
    (["--conv", "2", "--front-mean", "--branch-dropout", "1"], "--branch-dropout"),
])
def test_an_option_a_member_cannot_use_is_refused_in_one_line(dataset, tmp_path, options, why):
    r = invoke("train", "--data", dataset, "--out", tmp_path / "m.keras", *options)
    assert r.returncode == 2 and why in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert list(tmp_path.iterdir()) == []
