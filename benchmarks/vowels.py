"""The JapaneseVowels row's two sides: the preset's 80 epochs, ours (`pipeline train` then `evaluate`, fresh
processes) and the PyTorch peer's same recipe (benchmarks/torch_vowels.py, padded or packed); lstm_rows.py
runs them in turns.

    .venv/bin/python -m benchmarks.vowels export data/japanese-vowels.h5 vowels.npz   # the peer's input
"""
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.runs import ROOT, pipeline, run


def export(data_path, out) -> None:
    """The dataset's splits as NumPy arrays for the peer, which reads no HDF5: per split, X (its steps, one
    row after the other), offsets (where each row starts), lengths and y (class indices); the training
    split's feature_mean and feature_std; n_classes."""
    from pipeline import data

    info, arrays = data.describe(data_path), {}
    with data.open_h5(data_path) as f:
        for split in data.SPLITS:
            offsets = data.row_offsets(f[split], info.length)
            rows = data.read_rows(f[split], offsets, 0, info.rows[split])
            arrays.update({f"X_{split}": rows["X"], f"offsets_{split}": offsets[:-1],
                           f"lengths_{split}": rows["lengths"], f"y_{split}": rows["y"].argmax(-1)})
    np.savez(out, **arrays, feature_mean=np.asarray(info.problem["feature_mean"], np.float32),
             feature_std=np.asarray(info.problem["feature_std"], np.float32), n_classes=info.n_classes)


def ours(data_path, work: Path) -> dict:
    """`pipeline train` with the preset's defaults, then `pipeline evaluate` on the test split."""
    out = work / "vowels" / "model.keras"
    out.parent.mkdir(parents=True, exist_ok=True)
    pipeline("train", "--data", data_path, "--out", out)
    pipeline("evaluate", "--data", data_path, "--model", out, "--out", out.with_name("metrics.json"))
    record = json.loads(out.with_name("train.json").read_text())
    metrics = json.loads(out.with_name("metrics.json").read_text())
    return {"fit_seconds": record["fit_seconds"], "test_accuracy": metrics["accuracy"],
            "val_accuracy": record["final"]["val_accuracy"], "epochs": record["epochs_run"]}


def peer(python, npz, how: str) -> dict:
    """One run of the PyTorch peer."""
    _, _, out = run([str(python), str(ROOT / "benchmarks" / "torch_vowels.py"), "--data", str(npz), "--how", how])
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    if sys.argv[1:2] != ["export"] or len(sys.argv) != 4:
        sys.exit("usage: python -m benchmarks.vowels export DATA.h5 OUT.npz")
    export(sys.argv[2], sys.argv[3])
