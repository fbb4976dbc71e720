"""A run can be reproduced: `train --deterministic` twice gives identical weights, history and metrics,
and train.json records the versions and settings the result depends on."""
import csv
import json

import numpy as np
import pytest

from pipeline import evaluate
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def _history_without_time(path):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(path))]


def test_deterministic_training_twice_gives_identical_results(tiny_data, tmp_path, monkeypatch):
    from pipeline.backend import tf
    from pipeline.model import load_model

    monkeypatch.setenv("PYTHONHASHSEED", "0")
    outs = [tmp_path / run / "model.keras" for run in ("a", "b")]
    for out in outs:
        out.parent.mkdir()
        r = run_cli("train", "--data", tiny_data, "--out", out, "--deterministic", "--seed", 3, "--epochs", 3,
                    "--steps-per-epoch", 8)
        assert r.returncode == 0, r.stderr

    weights = [load_model(out)[0].get_weights() for out in outs]
    assert len(weights[0]) == len(weights[1]) > 0
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    histories = [_history_without_time(out.with_name("history.csv")) for out in outs]
    assert histories[0] == histories[1] and len(histories[0]) == 3
    assert float(histories[0][-1]["loss"]) < float(histories[0][0]["loss"])  # it did train

    metrics = [evaluate.evaluate(tiny_data, out, out.with_name("metrics.json")) for out in outs]
    saved = [json.loads(out.with_name("metrics.json").read_text()) for out in outs]
    for key in ("loss", "accuracy", "correct", "n_test"):
        assert metrics[0][key] == metrics[1][key] == saved[0][key] == saved[1][key]

    record = json.loads(outs[0].with_name("train.json").read_text())
    assert record["settings"]["deterministic"] is True and record["settings"]["seed"] == 3
    v = record["versions"]
    import importlib.metadata
    import os
    import platform

    import h5py

    assert v["tensorflow"] == tf.__version__ == importlib.metadata.version("tensorflow")
    assert v["tf_keras"] == importlib.metadata.version("tf-keras")
    assert v["keras"] == importlib.metadata.version("keras")
    assert v["numpy"] == np.__version__ and v["h5py"] == h5py.__version__
    assert v["hdf5"] == h5py.version.hdf5_version and v["python"] == platform.python_version()
    assert v["environment"]["PYTHONHASHSEED"] == "0"
    assert v["TF_ENABLE_ONEDNN_OPTS"] == os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default)")
    assert v["cpu_count"] == os.cpu_count() and v["machine"] == platform.machine()
    # The train process ran with TensorFlow's choice of threads (--threads 0), as this one does.
    assert v["intra_op_threads"] == tf.config.threading.get_intra_op_parallelism_threads()
    assert v["inter_op_threads"] == tf.config.threading.get_inter_op_parallelism_threads()
    assert saved[0]["dataset"]["content_hash"] == record["dataset"]["content_hash"]
    assert saved[0]["model"]["train_settings"] == record["settings"]
