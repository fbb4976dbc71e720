"""The in-memory curriculum lab (benchmarks/curriculum_lab.py) learns a short echo through its stages."""
import json

import pytest

from benchmarks import curriculum_lab

pytestmark = pytest.mark.slow


def test_lab_advances_and_learns(capsys):
    curriculum_lab.main(["--length", "12", "--stages", "5", "--units", "25", "--lr", "0.02", "--lr-at-length", "10",
                         "--epoch-steps", "16", "--n-val", "500", "--max-seconds", "120", "--seed", "3"])
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads(lines[-1])
    epochs = [line for line in lines[:-1] if line.startswith("epoch ")]
    assert summary["reached"] and summary["epochs"] == len(epochs)
    assert summary["stages"][0]["length"] == 12
    first_full = summary["stages"][0]["from_epoch"]
    assert all(" length 5 lr 0.028284 " in line for line in epochs[:first_full - 1])  # 0.02 * sqrt(10 / 5)
    assert all(" length 12 lr 0.020000 " in line for line in epochs[first_full - 1:])
    assert float(epochs[-1].split(" val ")[1]) >= 0.999


def test_lab_rate_rules():
    a = curriculum_lab.arguments(["--lr", "0.002", "--lr-decay-from", "160", "--lr-floor", "0.001"])
    assert [round(curriculum_lab.rate(a, n), 6) for n in (5, 160, 640, 5000)] == [0.002, 0.002, 0.001, 0.001]
    a = curriculum_lab.arguments(["--lr", "0.002", "--lr-at-length", "160"])
    assert [round(curriculum_lab.rate(a, n), 6) for n in (40, 160, 5000)] == [0.004, 0.002, 0.002]


def test_lab_times_steps(capsys):
    curriculum_lab.main(["--length", "50", "--units", "8", "--batch", "16", "--step-time", "2"])
    r = json.loads(capsys.readouterr().out)
    assert (r["length"], r["units"], r["batch"]) == (50, 8, 16)
    # sequences/s is the batch over the seconds per step (rounded to 1 ms)
    assert abs(r["sequences_per_s"] * r["seconds_per_step"] - 16) <= 0.0005 * r["sequences_per_s"] + 0.5
