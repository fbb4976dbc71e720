"""What users take away works outside the pipeline: model.keras in plain Keras 3, the SavedModel export
in plain TensorFlow (processes that never import `pipeline`), a quiet CLI. (predict on a user's own
sequences is tested in tests/test_predict.py.)"""
import csv
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from pipeline import data, tokens
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

# TensorFlow's C++ log prefix: severity, date, time, thread id, source line ("I0000 00:00:17.3 5452 x.cc:31] ")
LOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] ")


def outside(code: str, tmp_path) -> dict:
    """Run `code` in a fresh Python with the user's plain environment: no TF_USE_LEGACY_KERAS, this
    project's folder not on the path; it prints one JSON line."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['pipeline'] = None\n" + code],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def predictions(trained, tmp_path_factory):
    """The pipeline's own predictions of the test split."""
    out = tmp_path_factory.mktemp("predictions") / "predictions.csv"
    r = run_cli("predict", "--data", trained["data_path"], "--model", trained["model_path"], "--out", out)
    assert r.returncode == 0, r.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["predicted"]) for r in rows]), np.array([float(r["confidence"]) for r in rows])


def test_plain_keras_3_loads_the_model_and_predicts_as_the_pipeline(trained, predictions, tmp_path):
    got = outside(f"""
import json, h5py, keras, numpy as np
model = keras.models.load_model({str(trained["model_path"])!r})
with h5py.File({str(trained["data_path"])!r}) as f:  # every sequence's steps, one after the other
    X = f["test/X"][:].astype("float32").reshape(len(f["test/y"]), f.attrs["length"], -1)
probs = model.predict(X, batch_size=4096, verbose=0)
print(json.dumps({{"keras": keras.__version__, "predicted": probs.argmax(-1).tolist(),
                  "confidence": probs.max(-1).tolist()}}))
""", tmp_path)
    assert got["keras"].startswith("3.")
    predicted, confidence = predictions
    assert np.array_equal(got["predicted"], predicted)
    assert np.allclose(got["confidence"], confidence, atol=2e-6)


def test_export_serves_integer_sequences_in_plain_tensorflow(trained, predictions, tmp_path):
    out = tmp_path / "export"
    r = run_cli("export", "--model", trained["model_path"], "--out", out)
    assert r.returncode == 0, r.stderr
    with h5py.File(trained["data_path"]) as f:
        seqs = tokens.decode(f["test/X"][:]).reshape(len(f["test/y"]), -1)
    np.save(tmp_path / "tokens.npy", seqs.astype(np.int32))
    got = outside(f"""
import json, numpy as np, tensorflow as tf
serve = tf.saved_model.load({str(out)!r}).signatures["serving_default"]
result = serve(sequence=tf.constant(np.load("tokens.npy")))
try:
    serve(sequence=tf.constant([[0, 1, 10, 2, 3]], tf.int32))
    refused = False
except tf.errors.InvalidArgumentError:
    refused = True
print(json.dumps({{"class": result["class"].numpy().tolist(), "confidence": result["confidence"].numpy().tolist(),
                  "label": [v.decode() for v in result["label"].numpy().tolist()],
                  "dtype": result["class"].dtype.name, "refused": refused}}))
""", tmp_path)
    predicted, confidence = predictions
    assert got["dtype"] == "int32" and got["refused"]
    assert np.array_equal(got["class"], predicted) and got["label"] == [str(p) for p in predicted]
    assert np.allclose(got["confidence"], confidence, atol=2e-6)
    metadata = json.loads((out / "assets.extra" / "echo_pipeline.json").read_text())
    assert metadata["dataset"]["content_hash"] == trained["dataset"]["content_hash"]
    report = run_cli("inspect", out)
    assert report.returncode == 0, report.stderr
    assert "input  sequence: int32 (None, 5)" in report.stdout
    assert trained["dataset"]["content_hash"][:12] in report.stdout

    (out / "saved_model.pb").write_bytes(b"not a SavedModel")  # a rerun replaces a damaged export whole
    assert run_cli("export", "--model", trained["model_path"], "--out", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "tokens.npy"]  # nothing left aside
    assert run_cli("inspect", out).returncode == 0


def tensorflow_start_up_log() -> set:
    """What importing TensorFlow prints on this machine with its C++ log on, prefixes cut: it differs by
    CPU (oneDNN's line only where oneDNN runs) and by GPU (CUDA's lines)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    r = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return {LOG_PREFIX.sub("", line) for line in r.stderr.splitlines() if line.strip()}


def test_stages_are_quiet_unless_verbose(trained, tmp_path):
    args = ["evaluate", "--data", trained["data_path"], "--model", trained["model_path"]]
    quiet = run_cli(*args, "--out", tmp_path / "m1.json")
    loud = run_cli("-v", *args, "--out", tmp_path / "m2.json")
    assert quiet.returncode == 0 and loud.returncode == 0, quiet.stderr + loud.stderr
    assert quiet.stderr == "", quiet.stderr
    shown = {LOG_PREFIX.sub("", line) for line in loud.stderr.splitlines()}
    assert tensorflow_start_up_log() <= shown, loud.stderr  # -v shows whatever TensorFlow says here
    assert json.loads((tmp_path / "m1.json").read_text())["accuracy"] == \
        json.loads((tmp_path / "m2.json").read_text())["accuracy"]


@pytest.fixture(scope="module")
def ensemble_model(trained, weak, tmp_path_factory):
    """The ensemble of the trained and the weak model, made by the command line."""
    out = tmp_path_factory.mktemp("ensemble") / "model.keras"
    r = run_cli("ensemble", "--model", trained["model_path"], "--model", weak["model_path"], "--out", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out}: ensemble of 2 (seeds 1, 5)"), r.stdout
    return out


def test_plain_keras_3_loads_the_ensemble_as_the_mean_of_its_members(trained, weak, ensemble_model, tmp_path):
    np.save(tmp_path / "onehot.npy", data.read_padded(trained["data_path"], "test")[0].astype(np.float32))
    got = outside(f"""
import json, keras, numpy as np
X = np.load("onehot.npy")
probs = keras.models.load_model({str(ensemble_model)!r}).predict(X, batch_size=4096, verbose=0)
members = [keras.models.load_model(p).predict(X, batch_size=4096, verbose=0)
           for p in ({str(trained["model_path"])!r}, {str(weak["model_path"])!r})]
print(json.dumps({{"keras": keras.__version__, "gap": float(np.abs(probs - np.mean(members, axis=0)).max()),
                  "members_differ": float(np.abs(members[0] - members[1]).max())}}))
""", tmp_path)
    assert got["keras"].startswith("3.") and got["members_differ"] > 0.1
    assert got["gap"] < 1e-6


def test_the_ensembles_export_serves_its_vote_in_plain_tensorflow(trained, ensemble_model, tmp_path):
    out = tmp_path / "export"
    r = run_cli("export", "--model", ensemble_model, "--out", out)
    assert r.returncode == 0, r.stderr
    X = data.read_padded(trained["data_path"], "test")[0]
    np.save(tmp_path / "tokens.npy", tokens.decode(X).astype(np.int32))
    np.save(tmp_path / "onehot.npy", X.astype(np.float32))
    got = outside(f"""
import json, keras, numpy as np, tensorflow as tf
serve = tf.saved_model.load({str(out)!r}).signatures["serving_default"]
result = serve(sequence=tf.constant(np.load("tokens.npy")))
probs = keras.models.load_model({str(ensemble_model)!r}).predict(np.load("onehot.npy"), verbose=0)
print(json.dumps({{"same_class": bool((result["class"].numpy() == probs.argmax(-1)).all()),
                  "gap": float(np.abs(result["confidence"].numpy() - probs.max(-1)).max())}}))
""", tmp_path)
    assert got["same_class"] and got["gap"] < 1e-6
    metadata = json.loads((out / "assets.extra" / "echo_pipeline.json").read_text())
    assert metadata["ensemble"]["name"] == "ensemble of 2"
