"""evaluate and predict against the tiny model and dataset, checked independently."""
import csv
import json
import warnings

import h5py
import numpy as np
import pytest

from pipeline import echo, evaluate, predict
from tests.conftest import run_cli


def _reference(trained):
    from pipeline.model import load_model

    net, _ = load_model(trained["model_path"])
    with h5py.File(trained["data_path"]) as f:
        X, y = f["test"]["X"][:], f["test"]["y"][:]
    probs = net.predict(X.astype(np.float32), batch_size=1000, verbose=0)
    return X, y, probs


def test_evaluate_matches_independent_accuracy(trained, tmp_path):
    out = tmp_path / "metrics.json"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = evaluate.evaluate(trained["data_path"], trained["model_path"], out)
    # Keras warns "Your input ran out of data" when evaluate asks for more batches than the split has
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]
    X, y, probs = _reference(trained)
    expected = (probs.argmax(1) == y.argmax(1)).mean()
    saved = json.loads(out.read_text())
    assert saved["n_test"] == len(X) == 3000
    assert abs(saved["accuracy"] - expected) < 1e-6 and saved["accuracy"] >= 0.999
    assert saved["dataset"]["content_hash"] == trained["dataset"]["content_hash"]
    assert saved["model"]["train_params"]["seed"] == 1 and r["loss"] < 0.1


def test_predictions_in_file_order(trained, tmp_path):
    out = tmp_path / "predictions.csv"
    summary = predict.predict(trained["data_path"], trained["model_path"], out)
    rows = list(csv.DictReader(open(out)))
    X, y, probs = _reference(trained)
    assert list(rows[0]) == list(predict.COLUMNS) and len(rows) == len(X)
    tokens = echo.decode(X)
    for i in (0, 1, 1234, len(X) - 1):
        assert int(rows[i]["index"]) == i
        assert rows[i]["sequence"] == " ".join(map(str, tokens[i]))
        assert int(rows[i]["expected"]) == tokens[i, 2] == y[i].argmax()
        assert int(rows[i]["predicted"]) == probs[i].argmax()
        assert abs(float(rows[i]["confidence"]) - probs[i].max()) < 1e-5
    assert summary["accuracy"] >= 0.999 and summary["shown"][0].startswith("Sequence: [")
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["dataset"]["content_hash"] == trained["dataset"]["content_hash"] and side["rows"] == len(X)


@pytest.mark.slow
def test_predict_one_sequence_book_style(trained):
    r = run_cli("predict", "--model", trained["model_path"], "--sequence", "7,0,2,6,7")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Sequence: [7, 0, 2, 6, 7] Expected: 2 Predicted: 2"


def test_fast_csv_rows_match_plain_formatting():
    rng = np.random.default_rng(0)
    for first, n in ((0, 5000), (95, 20), (9_990, 30), (999_999, 3)):
        tokens, expected, predicted = rng.integers(0, 10, (n, 5)), rng.integers(0, 10, n), rng.integers(0, 10, n)
        confidence = rng.random(n).astype(np.float32)
        confidence[0] = 1.0
        plain = "".join(f"{first + i},{' '.join(map(str, t))},{e},{p},{c:.6f}\n"
                        for i, (t, e, p, c) in enumerate(zip(tokens.tolist(), expected, predicted, confidence)))
        assert predict.csv_lines(first, tokens, expected, predicted, confidence) == plain
    wide = rng.integers(0, 100, (50, 3))  # two-digit values take the general path
    line = predict.csv_lines(7, wide, wide[:, 2], wide[:, 1], np.full(50, 0.5)).splitlines()[0]
    assert line == f"7,{' '.join(map(str, wide[0]))},{wide[0, 2]},{wide[0, 1]},0.500000"
