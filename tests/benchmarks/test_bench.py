"""The benchmark (benchmarks/): its table (which way each ratio points, why a baseline is missing), how
it runs its measurements, the document it fills in, and goal 3's in-memory baseline."""
import json
import os
import stat
import sys
from collections import Counter

import click
import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks import bench, measure
from benchmarks.baselines import PEERS, THROUGHPUT_BATCHES, THROUGHPUT_MAX_STEPS, THROUGHPUT_SAMPLES
from benchmarks.doc import DOC_BEGIN, DOC_END, write_doc
from benchmarks.pair import MAX_CALLS_PER_TURN, train_pair
from benchmarks.peers import peer_speeds, peer_version
from benchmarks.runs import ROOT, helper, run
from benchmarks.table import commit, goals, markdown

pytestmark = pytest.mark.slow

THREE = "3. HDF5 input vs in-memory tensors, batch {} (samples/s, turns in one process)"
TWO = "2. training samples/s from HDF5, batch {} (vs PyTorch)"
TWO_JAX = "2. training samples/s from HDF5, batch {} (vs Keras 3/JAX)"
PEER_SPEEDS = {**{f"torch_{bs}": 80.0 * bs for bs in THROUGHPUT_BATCHES},
               **{f"jax_{bs}": 50.0 * bs for bs in THROUGHPUT_BATCHES}}


def _measurements(peers: dict, skipped: dict | None = None) -> dict:
    speeds = {f"hdf5_{bs}": 100.0 * bs for bs in THROUGHPUT_BATCHES}
    inputs = {f"{source}_{bs}": speed for bs in THROUGHPUT_BATCHES
              for source, speed in (("hdf5", 100.0 * bs), ("memory", 50.0 * bs))}
    return {
        "skipped": skipped or {},
        "reference": {"fits_10000_s": 600.0, "script_s": 660.0, "predict_samples_per_s": 10.0},
        "time_to_target": {"fit_to_0.999_s": 1.5, "stage_wall_s": 6.0},
        "throughput": speeds, "input": inputs, "peers": peers,
        "generation": {"samples_per_s_30M": 1e7, "disk_samples_per_s_30M": 2e7, "disk_ratios": [0.5],
                       "peak_rss_mb": {"1000000": 90.0}},
        "reference_generator": {"samples_per_s": 1e5},
        "eval": {"evaluate_samples_per_s": 1e6, "predict_samples_per_s": 5e5},
        "make": {"make_all_s": 20.0, "make_all_noop_s": 0.02},
        "long": {"evaluate_samples_per_s": 1500.0, "train_samples_per_s": 300.0, "ratios": [4.0, 5.0, 6.5]},
    }


def _result(rows) -> dict:
    return {"date": "today", "commit": "abc1234", "runs": 3, "flags": ["--steps-per-execution", "32"],
            "machine": {"cores": 2, "cpu": "Xeon", "python": "3", "tensorflow": "2", "tf_keras": "2",
                        "torch": "not run", "jax": "not run", "h5py": "3", "numpy": "2"},
            "goals": rows}


def test_ratios_favour_the_faster_side():
    rows = {g["figure"]: g for g in goals(_measurements(PEER_SPEEDS))}
    assert rows["1a. fit time to >= 0.999 val accuracy (s)"]["ratio"] == 400.0  # seconds: baseline / ours
    assert rows["1b. train stage, process start to model written (s)"]["ratio"] == 110.0
    assert rows[TWO.format(128)]["ratio"] == 1.25  # ours / baseline
    assert rows[TWO_JAX.format(8)]["ratio"] == 2.0 and rows[TWO_JAX.format(8)]["goal"] == ">= 1.0x"
    assert rows[TWO.format(8)]["goal"] == ">= 1.5x" and rows[TWO.format(1)]["goal"] == "shown (goal from batch 8)"
    assert rows[THREE.format(32)]["ratio"] == 2.0
    assert rows["4a. generate samples/s, 30M samples, whole process"]["ratio"] == 100.0
    assert rows["6b. make all with nothing to do (s)"]["ratio"] is None
    long = rows["5c. long preset, 1,000 steps: evaluate vs training, sequences/s"]
    assert (long["ours"], long["baseline"], long["ratio"], long["goal"]) == (1500.0, 300.0, 5.0, ">= 3x")  # paired


def test_a_skipped_long_preset_is_named_in_its_row():
    m = {**_measurements(PEER_SPEEDS, {"long": "long preset's training not run (--skip long)"}), "long": {}}
    table = markdown(_result(goals(m)))
    assert ("| 5c. long preset, 1,000 steps: evaluate vs training, sequences/s | not measured | "
            "long preset's training not run (--skip long) | n/a: no baseline | >= 3x |") in table


def test_a_skipped_peer_names_the_reason_in_its_rows():
    skipped = {"torch": "PyTorch peer not run (--no-torch)", "jax": "Keras 3/JAX peer not run (--skip jax)"}
    table = markdown(_result(goals(_measurements({}, skipped))))
    for bs in THROUGHPUT_BATCHES[1:]:
        assert (f"| {TWO.format(bs)} | {100 * bs:,} | PyTorch peer not run (--no-torch) | n/a: no baseline "
                "| >= 1.5x |") in table
        assert (f"| {TWO_JAX.format(bs)} | {100 * bs:,} | Keras 3/JAX peer not run (--skip jax) | n/a: no baseline "
                "| >= 1.0x |") in table
    assert "| " + THREE.format(512) + " | 51,200 | 25,600 | 2.00x |" in table
    assert "| 6a. make all from scratch, after install (s) | 20 | none: an absolute goal | n/a: no baseline |" in table
    assert "–" not in table  # no row, and not the header, is a bare dash
    assert table.startswith("Benchmark, today, commit abc1234: 2 cores, Xeon, Python 3, TensorFlow 2, ")


def test_the_table_names_the_commit_it_measured():
    import subprocess

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode:  # not a git checkout: nothing to name
        assert commit() is None
    else:
        assert commit() in (head.stdout.strip(), head.stdout.strip() + "+changes")


def test_a_missing_baseline_without_a_reason_is_an_error():
    with pytest.raises(ValueError, match="PyTorch peer has no figure and was not skipped"):
        goals(_measurements({}))
    with pytest.raises(ValueError, match="Keras 3/JAX peer has no figure and was not skipped"):
        goals(_measurements({k: v for k, v in PEER_SPEEDS.items() if k.startswith("torch")}))
    m = _measurements(PEER_SPEEDS)
    del m["generation"]["disk_samples_per_s_30M"]
    with pytest.raises(ValueError, match="disk's durable write rate has no figure"):
        goals(m)


def test_throughput_ratios_are_the_median_of_paired_runs():
    m = _measurements(PEER_SPEEDS)
    m["throughput"]["ratios"] = {"torch_32": 1.3}  # e.g. one run slowed by other load
    m["input"]["ratios"] = {"memory_32": 0.99}
    rows = {g["figure"]: g for g in goals(m)}
    assert rows[THREE.format(32)]["ratio"] == 0.99
    assert rows[TWO.format(32)]["ratio"] == 1.3
    assert rows[THREE.format(128)]["ratio"] == 2.0  # no pair: medians


def test_generation_against_the_disk_is_the_median_of_paired_runs():
    m = _measurements(PEER_SPEEDS)
    m["generation"].update({"disk_samples_per_s_30M": 2e7, "disk_ratios": [0.4, 0.9, 0.5]})
    rows = {g["figure"]: g for g in goals(m)}
    disk = [r for name, r in rows.items() if name.startswith("4a. generate vs writing its bytes")]
    assert len(disk) == 1 and disk[0]["baseline"] == 2e7 and disk[0]["ratio"] == 0.5


def test_run_survives_a_chatty_child_and_stops_a_stuck_one():
    chatty = "import sys; sys.stderr.write('x' * 300_000); print('done')"
    _, rss, out = run([sys.executable, "-c", chatty], timeout=60)
    assert out == "done\n"
    big = "b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); print('big')"
    _, big_rss, out = run([sys.executable, "-c", big], timeout=60)
    # Its peak in MB (ru_maxrss is KiB; a child forked from a large parent may start from the parent's RSS).
    assert out == "big\n" and 300 <= big_rss < max(rss, 300) + 10_000
    with pytest.raises(RuntimeError, match="timed out after 1 s"):
        run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    with pytest.raises(RuntimeError, match=r"failed \(3\): boom"):
        run([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])


def test_helpers_run_as_a_module_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # benchmarks is not installed: the helper finds it by PYTHONPATH
    import time

    start = time.perf_counter()
    result = helper("reference-generator", "-n", 500)
    wall = time.perf_counter() - start
    assert set(result) == {"samples_per_s"}
    assert result["samples_per_s"] * wall >= 500  # 500 samples, timed inside the helper's wall time


def test_disk_probe_writes_fsyncs_and_removes_its_file(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(measure.os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_size), real_fsync(fd)))
    ticks = iter([100.0, 102.5])
    monkeypatch.setattr(measure.time, "perf_counter", lambda: next(ticks))
    seconds = measure.disk_write(tmp_path / "disk.bin", 3 << 20, block=1 << 20)
    assert seconds == 2.5  # from start to after the fsync
    assert synced == [3 * ((1 << 20) // 10 * 10)]  # whole one-hot blocks of 10-byte rows, synced once
    assert list(tmp_path.iterdir()) == []


# --- the PyTorch peer's environment ---------------------------------------------------------------

def _fake_python(tmp_path, script: str):
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_bench_fails_at_once_without_the_peer_environment(tmp_path):
    missing = tmp_path / "no-venv" / "bin" / "python"
    args = ["--out", tmp_path / "bench.json", "--doc", tmp_path / "perf.md", "--torch-python", missing]
    result = CliRunner().invoke(bench.cli, list(map(str, args)))
    assert result.exit_code == 1
    assert result.output == (f"Error: PyTorch peer: no environment at {missing} (make bench installs it with "
                             "pip install torch==2.13.0; --no-torch leaves the peer out)\n")
    result = CliRunner().invoke(bench.cli, list(map(str, [*args[:4], "--no-torch", "--jax-python", missing])))
    assert result.exit_code == 1
    assert result.output == (f"Error: Keras 3/JAX peer: no environment at {missing} (make bench installs it with "
                             "pip install jax==0.10.2 keras; --skip jax leaves the peer out)\n")
    assert list(tmp_path.iterdir()) == []  # nothing measured, nothing written


def test_a_peer_environment_without_torch_or_a_failing_peer_is_named(tmp_path):
    with pytest.raises(click.ClickException) as e:
        peer_version("torch", sys.executable)  # the project's environment has no torch
    assert e.value.message.startswith(f"PyTorch peer: {sys.executable} cannot import it, failed (1): "
                                      "ModuleNotFoundError: No module named 'torch' (make bench installs")
    with pytest.raises(click.ClickException) as e:
        peer_version("jax", sys.executable)  # nor jax
    assert e.value.message.startswith(f"Keras 3/JAX peer: {sys.executable} cannot import it, failed (1): "
                                      "ModuleNotFoundError: No module named 'jax' (make bench installs")
    failing = _fake_python(tmp_path, "echo 'RuntimeError: out of memory' >&2; exit 1")
    with pytest.raises(click.ClickException) as e:
        peer_speeds("jax", failing)
    assert e.value.message == ("Keras 3/JAX peer: benchmarks/jax_peer.py failed (1): RuntimeError: out of memory "
                               "(--skip jax leaves the peer out)")
    partial = _fake_python(tmp_path, """echo '{"batch_size": 32, "samples_per_s": 5}'""")
    with pytest.raises(click.ClickException, match="PyTorch peer: printed no result for batch size 128"):
        peer_speeds("torch", partial, (32, 128))
    whole = _fake_python(tmp_path, "for b in 1 8 32 128 512; do "
                                   "echo '{\"batch_size\": '$b', \"samples_per_s\": 7}'; done")
    assert peer_speeds("torch", whole) == {1: 7.0, 8: 7.0, 32: 7.0, 128: 7.0, 512: 7.0}


@pytest.mark.parametrize("name", list(PEERS))
def test_peer_arguments_and_output(tmp_path, name):
    """Each peer is called with the throughput runs' sizes (a fake peer fails, naming its arguments)."""
    echo = _fake_python(tmp_path, 'echo "args: $*" >&2; exit 2')
    with pytest.raises(click.ClickException) as e:
        peer_speeds(name, echo, batch_sizes=(32,))
    assert (f"{PEERS[name].script} --batch-sizes 32 --samples {THROUGHPUT_SAMPLES} --max-steps "
            f"{THROUGHPUT_MAX_STEPS} --passes 2 --learning-rate 0.001" in e.value.message)


def test_throughput_runs_ours_then_both_peers_at_each_batch_size(tmp_path, monkeypatch):
    """One stretch of time per batch size: ours, then the peers (their order alternating by run); each
    ratio is the median of the runs' own ratios, not a ratio of medians."""
    calls, speeds = [], iter([10, 5, 20, 4, 2, 8, 30, 6, 3, 12, 1, 16])
    monkeypatch.setattr(measure, "THROUGHPUT_BATCHES", (8, 32))
    monkeypatch.setattr(measure, "train_speed", lambda data, out, bs, steps, flags: calls.append(("ours", bs, steps))
                        or next(speeds))
    monkeypatch.setattr(measure, "peer_speeds", lambda name, python, sizes: calls.append((name, *sizes))
                        or {sizes[0]: next(speeds)})
    result, peers = measure.throughput("d.h5", tmp_path, 2, [], {"torch": "t", "jax": "j"})
    assert calls == [("ours", 8, 4096), ("torch", 8), ("jax", 8), ("ours", 32, 4096), ("torch", 32), ("jax", 32),
                     ("ours", 8, 4096), ("jax", 8), ("torch", 8), ("ours", 32, 4096), ("jax", 32), ("torch", 32)]
    assert peers["torch_8"] == 4 and peers["jax_8"] == 13 and peers["runs"]["jax_8"] == [20, 6]
    assert result["hdf5_8"] == 20 and result["runs"]["hdf5_8"] == [10, 30]
    assert result["ratios"]["torch_8"] == 6  # median of 10/5 and 30/3 (the ratio of medians is 5)
    assert result["ratios"]["jax_8"] == 2.75 and result["ratios"]["torch_32"] == 1.375  # (2 + 0.75) / 2


# --- docs/performance.md ------------------------------------------------------------------------------

def test_doc_table_is_replaced_between_the_markers_only(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\n\nBefore.\n\n{DOC_BEGIN}\nold table\n| a | b |\n{DOC_END}\n\nAfter.\n")
    write_doc(doc, "| new | table |\n")
    assert doc.read_text() == (f"# Perf\n\nBefore.\n\n{DOC_BEGIN}\n| new | table |\n{DOC_END}\n"
                               "\nAfter.\n")
    write_doc(doc, "| newer |\n")
    assert doc.read_text().count("| new") == 1 and "| newer |" in doc.read_text()


def test_doc_is_created_with_its_explanation_or_given_markers(tmp_path):
    new = tmp_path / "docs" / "performance.md"
    write_doc(new, "| t |\n")
    text = new.read_text()
    assert text.startswith("# Performance\n") and "memory_feed.py" in text
    assert "benchmarks/torch_peer.py" in text and "benchmarks/jax_peer.py" in text
    assert text.endswith(f"{DOC_BEGIN}\n| t |\n{DOC_END}\n")
    plain = tmp_path / "plain.md"
    plain.write_text("Notes.\n")
    write_doc(plain, "| t |\n")
    assert plain.read_text() == f"Notes.\n\n{DOC_BEGIN}\n| t |\n{DOC_END}\n"


@pytest.mark.parametrize("text", [f"{DOC_END}\n{DOC_BEGIN}\n", f"{DOC_BEGIN}\n",
                                  f"{DOC_BEGIN}\n{DOC_END}\n{DOC_BEGIN}\n{DOC_END}\n"])
def test_doc_with_broken_markers_is_refused_and_kept(tmp_path, text):
    doc = tmp_path / "performance.md"
    doc.write_text(text)
    with pytest.raises(click.ClickException, match="needs one <!-- bench:begin --> followed by one"):
        write_doc(doc, "| t |\n")
    assert doc.read_text() == text


# --- goal 3: the in-memory baseline and the turns ------------------------------------------------

@pytest.fixture(scope="module")
def info(tiny_data):
    from pipeline import data

    return data.describe(tiny_data)


def _split_rows(info, split="train") -> Counter:
    from pipeline.reader import read_block

    X, y = read_block(str(info.path), split, 0, info.rows[split])
    return _counted(X.astype(np.float32), y.astype(np.float32))


def _counted(X, y) -> Counter:
    """How often each (sequence, target) row occurs: rows may repeat in a split."""
    return Counter(row.tobytes() for row in np.concatenate([X.reshape(len(X), -1), y], axis=1))


def _passes(ds, batches_per_pass: int, passes: int) -> list:
    out, it = [], iter(ds)
    for _ in range(passes):
        xs, ys = zip(*((X.numpy(), y.numpy()) for X, y in (next(it) for _ in range(batches_per_pass))))
        out.append((np.concatenate(xs), np.concatenate(ys)))
    return out


def test_memory_feed_yields_each_row_once_per_pass_in_static_batches(info):
    from benchmarks import memory_feed
    from pipeline import train

    n, batch_size = info.rows["train"], 500  # 40 whole batches per pass: every row
    ds = memory_feed.training_dataset(info, batch_size, seed=3)
    assert ds.element_spec == train.training_dataset(info, batch_size, 3).element_spec
    assert ds.element_spec[0].shape == (batch_size, info.length, info.n_features)
    passes = _passes(ds, n // batch_size, 2)
    split = _split_rows(info)
    for X, y in passes:
        assert X.dtype == np.float32 and _counted(X, y) == split
    assert not np.array_equal(passes[0][0], passes[1][0])  # each pass in a new order
    again = _passes(memory_feed.training_dataset(info, batch_size, seed=3), n // batch_size, 1)[0]
    assert np.array_equal(again[0], passes[0][0])  # reproducible from the seed
    other = _passes(memory_feed.training_dataset(info, batch_size, seed=4), n // batch_size, 1)[0]
    assert not np.array_equal(other[0], passes[0][0])


def test_memory_feed_in_groups_of_batches_as_the_reader(info):
    from benchmarks import memory_feed
    from pipeline import train

    n = info.rows["train"]  # 10 groups of 4 batches of 500 per pass: every row
    ds = memory_feed.training_dataset(info, 500, seed=3, steps_per_call=4)
    assert ds.element_spec == train.training_dataset(info, 500, 3, steps_per_call=4).element_spec
    for X, y in _passes(ds, n // 2000, 2):
        assert X.shape == (4 * n // 2000, 500, info.length, info.n_features)
        assert _counted(X.reshape(n, *X.shape[2:]), y.reshape(n, -1)) == _split_rows(info)


def test_memory_feed_leaves_out_a_different_remainder_each_pass(info):
    from benchmarks import memory_feed

    n, batch_size = info.rows["train"], 3000  # 6 whole batches and 2,000 rows left out per pass
    ds = memory_feed.training_dataset(info, batch_size, seed=3)
    assert ds.element_spec[0].shape == (batch_size, info.length, info.n_features)
    split, counts = _split_rows(info), []
    for X, y in _passes(ds, n // batch_size, 2):
        counts.append(_counted(X, y))
        assert len(X) == 18_000 and not counts[-1] - split  # rows of the split, none more often than there
    assert counts[0] != counts[1]


def test_memory_feed_of_a_split_smaller_than_a_batch_is_one_short_batch(info):
    from benchmarks import memory_feed
    from pipeline import train

    n = info.rows["train"]
    ds = memory_feed.training_dataset(info, n + 1, seed=0)
    assert ds.element_spec == train.training_dataset(info, n + 1, 0).element_spec
    (X, y), = _passes(ds, 1, 1)
    assert X.shape == (n, info.length, info.n_features) and _counted(X, y) == _split_rows(info)


def test_train_pair_times_both_inputs_in_turns(tiny_data):
    import time

    from pipeline import reader

    start = time.perf_counter()
    r = train_pair(tiny_data, 500, pairs=1, steps_per_execution=4)
    wall = time.perf_counter() - start
    two_blocks = 2 * reader.block_rows(500 * 4, 5, 10) // 500  # batches; a turn is whole calls of 4
    calls = min(-(-two_blocks // 4), MAX_CALLS_PER_TURN)
    assert r["steps_per_turn"] == calls * 4
    assert len(r["hdf5"]) == len(r["memory"]) == 1
    timed = (r["steps_per_turn"] // 4 - 1) * 4 * 500  # samples between a turn's first and last call
    assert all(rate * wall >= timed for rate in r["hdf5"] + r["memory"])  # each turn took less than all
    alone = train_pair(tiny_data, 500, pairs=2, steps_per_execution=4, sources=("hdf5",))
    assert set(alone) == {"hdf5", "steps_per_turn"} and len(alone["hdf5"]) == 2


def test_train_speed_runs_the_train_command_and_reads_train_json(tiny_data, tmp_path):
    out = tmp_path / "speed" / "model.keras"
    speed = measure.train_speed(tiny_data, out, 500, 4, ["--steps-per-execution", "2"])
    record = json.loads(out.with_name("train.json").read_text())
    assert speed == record["train_samples_per_s"]
    assert speed * record["fit_seconds"] >= 2 * 4 * 500  # epochs 2 and 3 of 4 batches, timed within fit
    assert record["epochs_run"] == 3 and record["train_samples"] == 3 * 4 * 500  # not stopped at the target
    assert os.path.exists(out)


def test_forward_xla_times_the_same_model_with_and_without_xla():
    import subprocess

    r = subprocess.run([sys.executable, "-m", "benchmarks.forward_xla", "--length", "40", "--units", "4", "--batch",
                        "96", "--rows", "200", "--passes", "2"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["xla"] for line in lines] == [False, True]
    assert lines[0]["loss"] == pytest.approx(lines[1]["loss"], abs=1e-5)  # the same weights, the same data
    for line in lines:
        assert len(line["later_passes_s"]) == 2 and line["later_per_s"] > 0 and line["first_pass_s"] > 0


def test_step_profile_times_each_way_of_calling_the_step(tiny_data):
    import subprocess

    r = subprocess.run([sys.executable, "-m", "benchmarks.step_profile", "--data", str(tiny_data), "--batch-size", "8",
                        "--steps-per-call", "4", "--calls", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["how"] for line in lines] == ["fit, HDF5 reader", "fit, one call's batches in memory",
                                               "the compiled call alone"]
    assert all(line["batch_size"] == 8 and line["us_per_step"] > 0 for line in lines)


def test_real_data_rows_give_the_median_of_each_turns_own_ratio():
    from benchmarks.lstm_rows import _summary

    row = _summary([{"ours": 10.0, "padded": 20.0}, {"ours": 20.0, "padded": 20.0}, {"ours": 40.0, "padded": 60.0}],
                   "ms")
    assert (row["ours"], row["padded"], row["ratio_padded"]) == (20.0, 20.0, 1.5)  # not 20 / 20
    assert "packed" not in row and "ratio_packed" not in row  # the peer's packed loop did not run
    m = _measurements(PEER_SPEEDS)
    m["lstm"] = {key: {**row, "packed": 30.0, "ratio_packed": 0.5} for key in ("step_equal", "step_varied", "vowels")}
    rows = {g["figure"]: g for g in goals(m)}
    seven = [name for name in rows if name.startswith("7")]
    assert len(seven) == 6 and all(rows[name]["ratio"] in (1.5, 0.5) for name in seven)
    assert rows["7c. JapaneseVowels preset, 80 epochs, fit (s), vs PyTorch padded"]["goal"] == ">= 1.0x"
    m["lstm"] = {key: {"ours": 20.0} for key in m["lstm"]}  # the peer left out without saying so
    with pytest.raises(ValueError, match="7a.*PyTorch peer has no figure"):
        goals(m)


def test_lstm_levers_times_every_way_forward_and_all_but_the_bare_product_backward():
    import subprocess

    r = subprocess.run([sys.executable, "-m", "benchmarks.lstm_levers", "--rows", "4", "--steps", "3", "--features",
                        "2", "--units", "4", "--calls", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    assert set(result["forward_ms"]) == {"fused", "plain", "product", "blockgrad"}
    assert set(result["forward_backward_ms"]) == {"fused", "plain", "blockgrad"}
    assert all(ms > 0 for ways in ("forward_ms", "forward_backward_ms") for ms in result[ways].values())


def test_fit_profile_times_each_epoch_and_takes_a_step_apart(tmp_path):
    import subprocess

    from pipeline import importer
    from tests.cli.test_family import ragged_tokens

    data = tmp_path / "ragged.h5"
    importer.import_files(data, {**{p.name: p.default for p in importer.params.IMPORT},
                                 "train_file": ragged_tokens(tmp_path / "train.csv", 200, 1),
                                 "test_file": ragged_tokens(tmp_path / "test.csv", 50, 2)})
    r = subprocess.run([sys.executable, "-m", "benchmarks.fit_profile", str(data), "--epochs", "3", "--calls", "5",
                        "--parts", "64"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["epochs"] == 3 and result["part_rows"] == 64
    assert 0 < result["batches_ms"] < result["epoch_ms"] and 0 < result["validation_ms"] < result["epoch_ms"]
    assert 0 < result["forward_ms"] and 0 < result["forward_backward_ms"] and result["first_epoch_s"] > 0


def test_suite_takes_its_held_out_sets_by_name_and_refuses_others_in_one_line(tmp_path, monkeypatch):
    from benchmarks import suite

    ran = []
    monkeypatch.setattr(suite, "run_dataset", lambda name, out, seeds: ran.append((name, seeds)) or {
        "dataset": name, "runs": [{"accuracy": 0.5, "train_seconds": 1.0}], "baselines": {}, "shape": "s"})
    ok = CliRunner().invoke(suite.main, ["--out", str(tmp_path / "ok"), "--seeds", "3", "--datasets",
                                         "GunPoint,OSULeaf"])
    assert ok.exit_code == 0 and ran == [("GunPoint", [3]), ("OSULeaf", [3])]
    assert "| GunPoint | s | 0.5000 (0.5000-0.5000)" in (tmp_path / "ok" / "suite.md").read_text()
    bad = CliRunner().invoke(suite.main, ["--out", str(tmp_path / "bad"), "--datasets", "GunPoint,Nope"])
    assert bad.exit_code == 2 and "Nope: not in the suite" in bad.output and len(ran) == 2
    assert not (tmp_path / "bad").exists()
    (tmp_path / "file").write_text("")
    blocked = CliRunner().invoke(suite.main, ["--out", str(tmp_path / "file" / "out"), "--datasets", "GunPoint"])
    assert blocked.exit_code == 1 and "Error: --out" in blocked.output and len(ran) == 2
