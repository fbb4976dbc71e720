"""Sweeps: the summary's aggregation over seeds (median and range, runs that never reached the target
kept); a summary write that fails part-way keeps the previous summary. `make sweep` itself is tested in
tests/make/test_make_sweep.py."""
import json
import math

import pytest

from pipeline import sweep
from tests.conftest import png_size, sweep_summary
from tests.failing_writes import fails_cleanly, half_written_text


def fake_run(folder, accuracy, epochs, sequences=None, seconds=None):
    """The two records a run leaves that the summary reads; sequences None: the target was not reached."""
    folder.mkdir(parents=True)
    reached = sequences is not None
    (folder / "train.json").write_text(json.dumps({
        "target_reached": reached, "epochs_run": epochs, "sequences_to_target": sequences,
        "seconds_to_target": seconds, "final": {"val_accuracy": accuracy - 0.001}}))
    (folder / "metrics.json").write_text(json.dumps({"accuracy": accuracy}))


@pytest.mark.slow  # as it was (sweep.py is not mutated): draws summary.png, left out of make mutation
def test_aggregation_over_seeds_keeps_runs_that_did_not_reach_the_target(tmp_path):
    folder = tmp_path / "OUT_INDEX"
    fake_run(folder / "0" / "seed-0", 1.0, 3, 49152, 2.5)
    fake_run(folder / "0" / "seed-1", 0.999, 2, 32768, 1.5)
    fake_run(folder / "0" / "seed-2", 0.4, 9)  # never reached
    fake_run(folder / "4" / "seed-0", 0.3, 9)
    fake_run(folder / "4" / "seed-1", 0.35, 9)
    fake_run(folder / "4" / "seed-2", 1.0, 5, 81920, 4.0)
    fake_run(folder / "4" / "seed-7", 1.0, 1, 16384, 0.5)  # not among the seeds asked for
    rows = sweep.summarize(folder, ["4", "0"], seeds=[0, 1, 2])
    assert [r["value"] for r in rows] == ["4", "0"]
    four, zero = rows
    assert (zero["seeds"], zero["reached"]) == (3, 2)
    assert (zero["test_accuracy_median"], zero["test_accuracy_min"], zero["test_accuracy_max"]) == (0.999, 0.4, 1.0)
    assert (zero["epochs_median"], zero["epochs_min"], zero["epochs_max"]) == (3, 2, 9)
    assert (zero["sequences_to_target_median"], zero["sequences_to_target_min"]) == (49152, 32768)
    assert zero["sequences_to_target_max"] == math.inf  # the run that never reached it, kept as such
    assert four["reached"] == 1 and four["sequences_to_target_median"] == math.inf
    assert four["sequences_to_target_min"] == 81920 and four["seconds_to_target_min"] == 4.0

    table = sweep_summary(folder)
    assert [r["seeds"] for r in table] == ["3", "3"] and table[1]["reached"] == "2"
    assert table[1]["sequences_to_target_max"] == "not reached" and table[1]["sequences_to_target_median"] == "49152"
    assert table[0]["sequences_to_target_median"] == "not reached" and table[0]["test_accuracy_max"] == "1"
    markdown = (folder / "summary.md").read_text()
    assert "| 0 | 3 | 2/3 | 0.9990 (0.4000 – 1.0000) | 49,152 (32,768 – not reached) | 3 (2 – 9) |" in markdown
    assert "| 4 | 3 | 1/3 | 0.3500 (0.3000 – 1.0000) | not reached (81,920 – not reached) |" in markdown
    assert png_size(folder / "summary.png") == (1000, 400)

    every = sweep.table(folder)  # without seeds: every seed folder of every value, in numeric order
    assert [(r["value"], r["seeds"]) for r in every] == [("0", 3), ("4", 4)]


@pytest.mark.slow  # as it was: sweep.py is not mutated
def test_missing_run_is_named(tmp_path):
    fake_run(tmp_path / "S" / "1" / "seed-0", 1.0, 1, 100, 1.0)
    with pytest.raises(sweep.BadFile, match="seed-1/train.json: no such file"):
        sweep.table(tmp_path / "S", ["1"], seeds=[0, 1])


def test_sweep_summary_failing_part_way_keeps_the_previous_summary(tmp_path, monkeypatch):
    import json

    run = tmp_path / "BATCH_SIZE" / "64"
    run.mkdir(parents=True)
    (run / "train.json").write_text(json.dumps({"target_reached": True, "epochs_run": 3, "sequences_to_target": 9,
                                                "seconds_to_target": 1.5, "final": {"val_accuracy": 1.0}}))
    (run / "metrics.json").write_text(json.dumps({"accuracy": 1.0}))
    (tmp_path / "BATCH_SIZE" / "summary.csv").write_text("the previous summary\n")
    half_written_text(monkeypatch)
    fails_cleanly(tmp_path, tmp_path / "BATCH_SIZE" / "summary.csv", lambda: sweep.summarize(tmp_path / "BATCH_SIZE"))
