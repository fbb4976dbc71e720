"""The real-data rows of the bench, ours against the PyTorch peer in turns (one run of each side, then
the next): an LSTM(128) training step on the two batch shapes of lstm_shapes.py (ours: lstm_steps.py;
the peer: torch_lstm_steps.py, padded and packed), and the JapaneseVowels preset's 80 epochs (vowels.py;
the peer: torch_vowels.py, padded and packed). Each figure is the median over the runs, each ratio the
median of each turn's own ratio (the peer's time over ours: higher is better)."""
import json
import sys

from benchmarks import vowels
from benchmarks.lstm_shapes import SHAPES
from benchmarks.runs import ROOT, median, pipeline, run

HOWS = ("padded", "packed")


def _json_lines(args, env=None) -> list:
    """The JSON lines a command prints."""
    return [json.loads(line) for line in run(list(map(str, args)), env=env)[2].splitlines() if line.startswith("{")]


def step_row(shape: str, runs: int, torch_python) -> dict:
    """ms per training step of one batch shape: ours, and the peer's padded and packed loops."""
    turns = []
    for _ in range(runs):
        ours = _json_lines([sys.executable, "-m", "benchmarks.lstm_steps", "--shape", shape], {"PYTHONPATH": str(ROOT)})
        turn = {"ours": ours[-1]["ms_per_step"]}
        if torch_python:
            for line in _json_lines([torch_python, ROOT / "benchmarks" / "torch_lstm_steps.py", "--shape", shape]):
                turn[line["how"]] = line["ms_per_step"]
        turns.append(turn)
    return _summary(turns, "ms")


def vowels_row(work, runs: int, torch_python) -> dict:
    """Seconds of the JapaneseVowels preset's fit (its epochs with their validation) and test accuracy:
    ours, and the peer's padded and packed."""
    data, npz = work / "japanese-vowels.h5", work / "japanese-vowels.npz"
    pipeline("import", "--problem", "japanese-vowels", "--out", data)
    vowels.export(data, npz)
    turns, accuracy = [], {}
    for _ in range(runs):
        ours = vowels.ours(data, work)
        turn, accuracy["ours"] = {"ours": ours["fit_seconds"]}, ours["test_accuracy"]
        if torch_python:
            for how in HOWS:
                peer = vowels.peer(torch_python, npz, how)
                turn[how], accuracy[how] = peer["fit_seconds"], peer["test_accuracy"]
        turns.append(turn)
    return {**_summary(turns, "s"), "test_accuracy": accuracy}


def _summary(turns: list, unit: str) -> dict:
    out = {"unit": unit, "turns": turns, "ours": median([t["ours"] for t in turns])}
    for how in HOWS:
        if all(how in t for t in turns):
            out[how] = median([t[how] for t in turns])
            out[f"ratio_{how}"] = median([t[how] / t["ours"] for t in turns])
    return out


def lstm_rows(work, runs: int, torch_python) -> dict:
    """Every real-data row; torch_python None leaves the peer out (ours is still measured)."""
    rows = {f"step_{shape}": step_row(shape, runs, torch_python) for shape in SHAPES}
    rows["vowels"] = vowels_row(work, runs, torch_python)
    return rows
