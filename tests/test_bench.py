"""The benchmark's table (which way each ratio points, what a missing baseline gives) and how it runs
its measurements."""
import sys

import pytest

from pipeline import bench

THREE = "3. HDF5 input vs in-memory tensors, batch {} (samples/s, turns in one process)"


def _measurements(torch: dict) -> dict:
    tp = {f"hdf5_{bs}": 100.0 * bs for bs in bench.THROUGHPUT_BATCHES}
    inputs = {f"{source}_{bs}": speed for bs in bench.THROUGHPUT_BATCHES
              for source, speed in (("hdf5", 100.0 * bs), ("memory", 50.0 * bs))}
    return {
        "reference": {"fits_10000_s": 600.0, "script_s": 660.0, "predict_samples_per_s": 10.0},
        "ttt": {"fit_to_0.999_s": 1.5, "stage_wall_s": 6.0},
        "throughput": tp, "input": inputs, "torch": torch,
        "generation": {"samples_per_s_30M": 1e7, "peak_rss_mb": {"1000000": 90.0}},
        "reference_generator": {"samples_per_s": 1e5},
        "eval": {"evaluate_samples_per_s": 1e6, "predict_samples_per_s": 5e5},
        "make": {"make_all_s": 20.0, "make_all_noop_s": 0.02},
    }


def test_ratios_favour_the_faster_side():
    rows = {g["figure"]: g for g in bench.goals(_measurements({f"torch_{bs}": 80.0 * bs
                                                              for bs in bench.THROUGHPUT_BATCHES}))}
    assert rows["1a. fit time to >= 0.999 val accuracy (s)"]["ratio"] == 400.0  # seconds: baseline / ours
    assert rows["1b. train stage, process start to model written (s)"]["ratio"] == 110.0
    assert rows["2. training samples/s from HDF5, batch 128 (vs PyTorch)"]["ratio"] == 1.25  # ours / baseline
    assert rows[THREE.format(32)]["ratio"] == 2.0
    assert rows["4a. generate samples/s, 30M samples, whole process"]["ratio"] == 100.0
    assert rows["6b. make all with nothing to do (s)"]["ratio"] is None


def test_missing_peer_leaves_its_rows_without_a_ratio():
    result = {"date": "today", "runs": 3, "flags": ["--steps-per-execution", "32"],
              "machine": {"cores": 2, "python": "3", "tensorflow": "2", "tf_keras": "2", "h5py": "3",
                          "numpy": "2"},
              "goals": bench.goals(_measurements({"error": "no PyTorch environment"}))}
    table = bench.markdown(result)
    assert "| 2. training samples/s from HDF5, batch 512 (vs PyTorch) | 51,200 | – | – | >= 1.25x |" in table
    assert "| " + THREE.format(512) + " | 51,200 | 25,600 | 2.00x |" in table


def test_throughput_ratios_are_the_median_of_paired_runs():
    m = _measurements({f"torch_{bs}": 80.0 * bs for bs in bench.THROUGHPUT_BATCHES})
    m["throughput"]["ratios"] = {"torch_32": 1.3}  # e.g. one run slowed by other load
    m["input"]["ratios"] = {"memory_32": 0.99}
    rows = {g["figure"]: g for g in bench.goals(m)}
    assert rows[THREE.format(32)]["ratio"] == 0.99
    assert rows["2. training samples/s from HDF5, batch 32 (vs PyTorch)"]["ratio"] == 1.3
    assert rows[THREE.format(128)]["ratio"] == 2.0  # no pair: medians


def test_run_survives_a_chatty_child_and_stops_a_stuck_one():
    chatty = "import sys; sys.stderr.write('x' * 300_000); print('done')"
    _, rss, out = bench.run([sys.executable, "-c", chatty], timeout=60)
    assert out == "done\n" and rss > 0
    with pytest.raises(RuntimeError, match="timed out after 1 s"):
        bench.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    with pytest.raises(RuntimeError, match=r"failed \(3\): boom"):
        bench.run([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])


def test_disk_probe_writes_fsyncs_and_removes_its_file(tmp_path):
    seconds = bench.disk_write(tmp_path / "disk.bin", 3 << 20, block=1 << 20)
    assert seconds > 0 and list(tmp_path.iterdir()) == []


def test_generation_against_the_disk_is_the_median_of_paired_runs():
    m = _measurements({})
    m["generation"].update({"disk_samples_per_s_30M": 2e7, "disk_ratios": [0.4, 0.9, 0.5]})
    rows = {g["figure"]: g for g in bench.goals(m)}
    disk = [r for name, r in rows.items() if name.startswith("4a. generate vs writing its bytes")]
    assert len(disk) == 1 and disk[0]["baseline"] == 2e7 and disk[0]["ratio"] == 0.5


def test_train_pair_times_both_inputs_in_turns(tiny_data):
    from pipeline import reader

    r = bench.train_pair(tiny_data, 500, pairs=1, steps_per_execution=4)
    two_blocks = 2 * reader.block_rows(500, 5, 10) // 500  # batches; a turn is whole compiled calls of 4
    calls = min(-(-two_blocks // 4), bench.MAX_CALLS_PER_TURN)
    assert r["steps_per_turn"] == calls * 4
    assert len(r["hdf5"]) == len(r["memory"]) == 1
    assert all(rate > 0 for rate in r["hdf5"] + r["memory"])
