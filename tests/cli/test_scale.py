"""Larger than memory: compressed chunks must fit the readers' chunk cache; summaries stream."""
import csv

import h5py
import pytest

from pipeline import config, inspection
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

WIDE = ["--problem", "wide", "--n-val", 10, "--n-test", 10]


def test_compressed_chunks_larger_than_the_read_cache_are_refused(tmp_path):
    out = tmp_path / "w.h5"
    rows = config.READ_CACHE_BYTES // 2500 + 1  # one more row than a 64 MiB chunk of (25, 100) holds
    r = run_cli("generate", "--out", out, *WIDE, "--n-train", rows, "--compression", "gzip", "--chunk-rows", rows)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "'--chunk-rows'" in r.stderr
    assert "64 MiB chunk cache" in r.stderr and not out.exists()
    # the same chunk length is fine where the split is shorter than it, and uncompressed
    r = run_cli("generate", "--out", out, *WIDE, "--n-train", 1000, "--compression", "lzf", "--chunk-rows", rows)
    assert r.returncode == 0, r.stderr
    with h5py.File(out) as f:
        assert f["train/X"].chunks == (1000, 25, 100) and f["train/X"].compression == "lzf"


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
    assert f"accuracy {right / 1000:.6f} ({1000 - right} wrong)" in text
    assert "confidence mean 0.7000, min 0.5000" in text and "1,000 rows" in text
