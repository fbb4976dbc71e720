"""Every stage's outputs under the atomic-write contract, in-process: a write that fails part-way (a full
disk, as h5py, Python and TensorFlow report it) leaves the previous output as it was and no temporary
file, and fails with one line naming the output and the reason. A write touches nothing beside its
output: the cost of writing into a crowded folder does not grow with the files already there."""
import errno
import json
import os
from pathlib import Path

import h5py
import pytest

from pipeline import evaluate, export, files, generate, predict, sweep, train
from pipeline.files import WriteFailed
from tests.conftest import TINY

NO_SPACE = os.strerror(errno.ENOSPC)
SMALL = {**TINY, "n_train": 1000, "n_val": 100, "n_test": 100}


def no_space(path=None) -> OSError:
    return OSError(errno.ENOSPC, NO_SPACE, *([str(path)] if path else []))


def tf_no_space():
    """What TensorFlow raises when a checkpoint or SavedModel write finds the disk full."""
    from pipeline.backend import tf

    return tf.errors.ResourceExhaustedError(None, None, f"out/variables.data-00000-of-00001.tempstate; {NO_SPACE}")


def snapshot(folder: Path) -> dict:
    """Every file and folder under `folder`, with the bytes of each file."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def fails_cleanly(folder: Path, target, run) -> WriteFailed:
    """run() must fail with WriteFailed naming `target`, leaving every file under `folder` as it was."""
    before = snapshot(folder)
    with pytest.raises(WriteFailed) as e:
        run()
    assert str(e.value).startswith(f"output {target}: cannot write ({NO_SPACE})"), str(e.value)
    assert "\n" not in str(e.value)
    assert snapshot(folder) == before
    return e.value


def fail_after(monkeypatch, owner, name, calls: int, error=no_space):
    """Let owner.name run `calls` times, then raise error() instead: a write that fails part-way."""
    real, count = getattr(owner, name), [0]

    def failing(*args, **kw):
        count[0] += 1
        if count[0] > calls:
            raise error()
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, failing)
    return count


def half_written_text(monkeypatch):
    """Path.write_text writes half its text, then finds the disk full."""
    def write_text(self, text, *args, **kw):
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise no_space(self)

    monkeypatch.setattr(Path, "write_text", write_text)


def test_generate_failing_part_way_keeps_the_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "d.h5"
    generate.generate(out, {**SMALL, "seed": 1})
    count = fail_after(monkeypatch, h5py.Dataset, "__setitem__", 3)  # some units are written first
    fails_cleanly(tmp_path, out, lambda: generate.generate(out, {**SMALL, "n_train": 200_000, "seed": 2}))
    assert count[0] == 4


def test_evaluate_failing_part_way_keeps_the_previous_metrics(weak, tmp_path, monkeypatch):
    out = tmp_path / "metrics.json"
    out.write_text('{"accuracy": "the previous run"}\n')
    half_written_text(monkeypatch)
    fails_cleanly(tmp_path, out, lambda: evaluate.evaluate(weak["data_path"], weak["model_path"], out))


def test_predict_failing_part_way_keeps_the_previous_predictions(weak, long_test_data, tmp_path, monkeypatch):
    out = tmp_path / "predictions.csv"
    out.write_text("index,sequence,expected,predicted,confidence\n0,the previous run,1,1,1.0\n")
    count = fail_after(monkeypatch, predict, "csv_lines", 1)  # the first of two batches is written
    fails_cleanly(tmp_path, out, lambda: predict.predict(long_test_data, weak["model_path"], out))
    assert count[0] == 2


def test_export_failing_part_way_keeps_the_previous_export(trained, tmp_path, monkeypatch):
    from pipeline.backend import keras3

    out = tmp_path / "export"
    (out / "variables").mkdir(parents=True)
    (out / "saved_model.pb").write_bytes(b"the previous export")
    archive = type(keras3().export.ExportArchive())  # the backend's class

    def write_out(self, folder, **kw):  # a part of the SavedModel, then the disk is full
        Path(folder).mkdir()
        (Path(folder) / "saved_model.pb").write_bytes(b"partial")
        raise tf_no_space()

    monkeypatch.setattr(archive, "write_out", write_out)
    fails_cleanly(tmp_path, out, lambda: export.export(trained["model_path"], out))


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


def _previous_training(folder: Path) -> None:
    for name in ("model.keras", "history.csv", "train.json"):
        (folder / name).write_text(f"the previous {name}\n")


def test_train_failing_to_save_the_model_keeps_every_previous_file_and_its_state(tiny_data, tmp_path, monkeypatch):
    from pipeline import modelfile

    _previous_training(tmp_path)
    out, options = tmp_path / "model.keras", train.Options(seed=1, epochs=2, stop_at_target=False)
    fail_after(monkeypatch, modelfile, "add_metadata", 0)  # the model is half saved: its metadata fails
    error = fails_cleanly_but_backup(tmp_path, out, lambda: train.train(tiny_data, out, options, verbose=0))
    backup = tmp_path / ".model.backup"
    assert str(error) == (f"output {out}: cannot write ({NO_SPACE}); the training state is kept in {backup}: "
                          "a rerun with the same options resumes from its last epoch")
    monkeypatch.undo()
    record = train.train(tiny_data, out, options, verbose=0)  # nothing left to train: it writes what it has
    assert record["resumed_after_epoch"] == 2 and record["epochs_run"] == 2 and not backup.exists()
    assert json.loads((tmp_path / "train.json").read_text())["epochs_run"] == 2


def test_train_failing_to_checkpoint_says_a_rerun_resumes_and_it_does(tiny_data, tmp_path, monkeypatch, capsys):
    from pipeline.backend import keras

    _previous_training(tmp_path)
    out, options = tmp_path / "model.keras", train.Options(seed=1, epochs=4, stop_at_target=False)
    real = keras.callbacks.BackupAndRestore

    class FullAfterOneEpoch(real):
        def on_epoch_end(self, epoch, logs=None):
            if epoch >= 1:
                raise tf_no_space()
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(keras.callbacks, "BackupAndRestore", FullAfterOneEpoch)
    backup = tmp_path / ".model.backup"
    error = fails_cleanly_but_backup(tmp_path, backup, lambda: train.train(tiny_data, out, options, verbose=0))
    assert str(error) == (f"output {backup}: cannot write ({NO_SPACE}); the training state is kept in {backup}: "
                          "a rerun with the same options resumes from its last epoch")
    monkeypatch.setattr(keras.callbacks, "BackupAndRestore", real)
    capsys.readouterr()
    record = train.train(tiny_data, out, options, verbose=0)
    assert record["resumed_after_epoch"] == 1 and record["epochs_run"] == 4
    assert f"resuming from epoch 2 (epochs 1-1 restored from {backup})" in capsys.readouterr().err
    assert not backup.exists()


def test_train_failing_before_any_checkpoint_leaves_nothing(tiny_data, tmp_path, monkeypatch):
    from pipeline.backend import keras

    _previous_training(tmp_path)
    out = tmp_path / "model.keras"
    monkeypatch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end",
                        lambda self, epoch, logs=None: (_ for _ in ()).throw(tf_no_space()))
    error = fails_cleanly(tmp_path, tmp_path / ".model.backup",
                          lambda: train.train(tiny_data, out, train.Options(seed=1, epochs=2), verbose=0))
    assert str(error).endswith("; no epoch was saved")


def fails_cleanly_but_backup(folder, target, run):
    """As fails_cleanly, but for a training run that keeps its backup folder to resume from."""
    before = snapshot(folder)
    with pytest.raises(WriteFailed) as e:
        run()
    assert str(e.value).startswith(f"output {target}: cannot write ({NO_SPACE})")
    after = {k: v for k, v in snapshot(folder).items() if not k.startswith(".model.backup")}
    assert after == before and (folder / ".model.backup").is_dir()
    return e.value


def test_write_failure_reads_the_reason_from_each_library():
    assert files.write_failure(no_space()) == NO_SPACE
    assert files.write_failure(OSError(errno.EROFS, "x")) == os.strerror(errno.EROFS)
    assert files.write_failure(OSError(errno.EDQUOT, "x")) == os.strerror(errno.EDQUOT)
    h5 = OSError(28, "Can't synchronously write data (file write failed: errno = 28, error message = "
                     f"'{NO_SPACE}', buf = 0x5579)")
    assert files.write_failure(h5) == NO_SPACE
    assert files.write_failure(tf_no_space()) == NO_SPACE
    assert files.write_failure(RuntimeError(f"SaveV2 failed: {os.strerror(errno.EROFS)}")) == os.strerror(errno.EROFS)
    # not a failed write: a missing input, a programming error
    assert files.write_failure(FileNotFoundError(errno.ENOENT, "No such file or directory", "x.h5")) is None
    assert files.write_failure(ValueError("shapes differ")) is None
    assert files.write_failure(KeyboardInterrupt()) is None


# ---- what a write touches: its output and the folder entry that publishes it, nothing else ----

@pytest.fixture
def crowded(tmp_path):
    """A folder that already holds 2,000 files and a folder of 100 more."""
    folder = tmp_path / "crowded"
    (folder / "sub").mkdir(parents=True)
    for i in range(2000):
        (folder / f"other-{i}.txt").write_text("x")
    for i in range(100):
        (folder / "sub" / f"{i}.txt").write_text("y")
    return folder


@pytest.fixture
def synced(monkeypatch):
    """The paths this process flushes with os.fsync, in order, with ('rename', target) between them."""
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    def replace(src, dst, **kw):
        events.append(("rename", str(dst)))
        return real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _temp(target: Path) -> str:
    return str(target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}"))


def test_a_file_write_flushes_the_file_then_its_folder_entry(crowded, synced):
    out = crowded / "metrics.json"
    files.write_json_atomic(out, {"accuracy": 1.0})
    assert synced == [_temp(out), ("rename", str(out)), str(crowded)]


def test_generate_flushes_only_its_own_file(crowded, synced):
    out = crowded / "d.h5"
    generate.generate(out, SMALL)
    flushed = [e for e in synced if not isinstance(e, tuple)]
    assert set(flushed) <= {_temp(out), str(crowded)} and flushed[-1] == str(crowded)
    assert synced[-2:] == [("rename", str(out)), str(crowded)] and flushed.count(str(crowded)) == 1


def test_a_folder_write_flushes_what_it_holds_then_its_folder_entry(crowded, synced):
    out = crowded / "export"
    with files.atomic_output(out, folder=True) as tmp:
        (tmp / "variables").mkdir(parents=True)
        (tmp / "saved_model.pb").write_text("graph")
        (tmp / "variables" / "v.data").write_text("weights")
    tmp = Path(_temp(out))
    assert sorted(synced[:-2]) == sorted(map(str, (tmp, tmp / "saved_model.pb", tmp / "variables",
                                                   tmp / "variables" / "v.data")))
    assert synced[-2:] == [("rename", str(out)), str(crowded)]
