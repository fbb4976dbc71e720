"""inspect prints readable summaries of the file's real numbers; for data and CSV/JSON it never imports
TensorFlow. Every expected value is computed here from the file itself; summaries of large files
stream."""
import csv
import json

import h5py
import numpy as np
import pytest

from pipeline import data, inspection
from tests.conftest import report_without_tf, run_cli


def _expected_dataset_lines(path, rows=5):
    with h5py.File(path) as f:
        a = dict(f.attrs)
        shapes = [f"  {s:5s} {len(f[s]['y']):,} sequences, {len(f[s]['X']):,} steps: X {f[s]['X'].shape} uint8 "
                  f"chunks {f[s]['X'].chunks}   y {f[s]['y'].shape} uint8" for s in ("train", "val", "test")]
        counts = f["train"]["y"][:].astype(np.int64).sum(axis=0)
    X, y = data.read_padded(path, "train", 0, rows)
    share = counts / counts.sum()
    first = [f"    [{', '.join(map(str, t))}] -> {label}" for t, label in zip(X.argmax(-1).tolist(), y.argmax(-1))]
    listed = ", ".join(f"{name} {n:,}" for name, n in enumerate(counts.tolist()))
    return [f"  problem: tokens, length {a['length']}, n_features {a['n_features']}, 10 classes, echo of step "
            f"{a['out_index']} ({a['problem']})",
            f"  seed {a['seed']}, format_version {a['format_version']}, generator {a['generator']}",
            f"  content_hash {a['content_hash']}",
            *shapes,
            f"  train label balance: min {share.min():.4f}, max {share.max():.4f} (uniform 0.1000); "
            f"counts {listed}",
            f"  first {rows} train rows:", *first]


@pytest.mark.slow
def test_inspect_dataset(tiny_data):
    lines = report_without_tf(tiny_data).splitlines()
    for line in _expected_dataset_lines(tiny_data):
        assert line in lines, line
    with h5py.File(tiny_data) as f:
        storage = f"  storage: chunk_rows {f.attrs['chunk_rows']}, compression none, unit_rows {f.attrs['unit_rows']}"
    assert any(line.startswith(storage) for line in lines)


def test_inspect_a_dataset_of_sequences_of_different_lengths_cut_on_import(tmp_path):
    from tests.test_importer import RAGGED, run_import

    run_import(tmp_path, RAGGED, ["ham,1,2,3,4,5,6", "eggs,4"], n_val=2, seed=3, max_length=5, keep="tail")
    lines = inspection.report(tmp_path / "d.h5", rows=3).splitlines()
    assert "  test  2 sequences, 6 steps: X (6, 10) uint8 chunks (6, 10)   y (2, 3) uint8" in lines
    assert "  sequences cut to at most 5 steps on import, keeping the tail" in lines
    assert any(line.startswith("  lengths: train ") and line.endswith("; test 1-3-5 (min-median-max)")
               for line in lines), lines
    first = lines[lines.index("  first 3 train rows:") + 1:]
    assert first == [f"    [{', '.join(line.split(',')[1:][-5:])}] -> {line.split(',')[0]}"
                     for line in ("ham,9,2", "spam,6,5,3", "eggs,5,8,9,7")]  # the first not carved into val


def test_label_counts_read_in_blocks(tiny_data, monkeypatch):
    """A split longer than one read block (here 2,000 rows of 20,000) is counted whole."""
    from pipeline import config, data, inspection

    monkeypatch.setattr(config, "UNIT_BYTES", 20_000)
    with h5py.File(tiny_data) as f:
        y = f["train"]["y"]
        assert len(y) > 3 * config.UNIT_BYTES // y.shape[1]
        expected = y[:].astype(np.int64).sum(axis=0)
        assert np.array_equal(data.label_counts(y), expected)
    lines = inspection.report(tiny_data, rows=7).splitlines()
    for line in _expected_dataset_lines(tiny_data, rows=7):
        assert line in lines, line


@pytest.mark.slow
def test_inspect_artifacts(trained):
    folder = trained["model_path"].parent
    history = list(csv.DictReader(open(folder / "history.csv")))
    best = max(history, key=lambda r: float(r["val_accuracy"]))
    text = report_without_tf(folder / "history.csv")
    assert f"best val_accuracy {float(best['val_accuracy']):.5f} at epoch {best['epoch']}" in text
    assert f"final loss {float(history[-1]['loss']):.5f} after {history[-1]['seconds']} s" in text
    assert f"{len(history):,} rows, columns {', '.join(history[0])}" in text
    assert list(history[0]) == ["epoch", "length", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    record = json.loads((folder / "train.json").read_text())
    text = report_without_tf(folder / "train.json").splitlines()
    assert f"  epochs_run: {record['epochs_run']}" in text
    assert f"    content_hash: {record['dataset']['content_hash']}" in text
    assert f"    batch_size: {record['settings']['batch_size']}" in text
    r = run_cli("inspect", trained["model_path"])
    assert r.returncode == 0, r.stderr
    assert "lstm (LSTM): output (None, 25), 3,600 weights" in r.stdout
    assert "label (Dense): output (None, 10), 260 weights" in r.stdout and "3,860 weights in all" in r.stdout
    assert f"learning_rate={trained['settings']['learning_rate']}" in r.stdout
    assert f"content_hash {trained['dataset']['content_hash'][:12]}" in r.stdout


@pytest.mark.slow
def test_inspect_predictions(weak, tmp_path):
    """Against the weak model, whose accuracy and confidence are far from 1."""
    from pipeline import predict

    out = tmp_path / "p.csv"
    predict.predict(weak["data_path"], weak["model_path"], out)
    rows = list(csv.DictReader(open(out)))
    right = sum(r["expected"] == r["predicted"] for r in rows)
    conf = [float(r["confidence"]) for r in rows]
    assert 0 < right < 0.6 * len(rows)
    text = report_without_tf(out)
    assert f"{len(rows):,} rows, columns index, sequence, expected, predicted, confidence" in text
    assert f"{len(rows) - right:,} wrong; confidence mean {sum(conf) / len(conf):.4f}, min {min(conf):.4f}" in text
    assert f"accuracy {right / len(rows):.4f}" in text
    first = "  " + "  ".join(f"{k}={v}" for k, v in rows[0].items())
    assert first in text.splitlines()


def test_predictions_summary_streams(tmp_path):
    """inspect reads a predictions file row by row; the figures match a direct count."""
    path = tmp_path / "p.csv"
    rows = [{"index": i, "sequence": "1 2 3", "expected": i % 3, "predicted": i % 3 if i % 10 else 0,
             "confidence": 0.5 + (i % 5) / 10} for i in range(1000)]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    right = sum(r["expected"] == r["predicted"] for r in rows)
    text = inspection.report(path)
    assert f"{1000 - right} wrong; confidence mean 0.7000, min 0.5000" in text and "1,000 rows" in text
    assert f"accuracy {right / 1000:.4f}" in text
    # classes 0, 1, 2 in numeric order; every tenth row predicted 0
    assert text.splitlines()[text.splitlines().index("  confusion (rows: true, columns: predicted): 0, 1, 2") + 2] \
        == f"  {'1':>8}  {33:>5} {300:>5} {0:>5}"
