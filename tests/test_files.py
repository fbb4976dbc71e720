"""pipeline/files.py: checks of inputs and outputs, stale temporary files of dead runs, the JSON layout and
sizes, the reason a failed write gives, and what a write touches: its output and the folder entry that
publishes it, nothing else, so the cost of writing into a crowded folder does not grow with the files
already there. (Each stage's module checks its outputs under a write that fails part-way.)"""
import errno
import os
import signal
import time
from pathlib import Path

import pytest

from pipeline import files, generate
from pipeline.files import BadFile
from tests.conftest import TINY, deny_access
from tests.failing_writes import NO_SPACE, no_space, tf_no_space

SMALL = {**TINY, "n_train": 1000, "n_val": 100, "n_test": 100}


# ---- files._pid_alive, remove_stale_temps ----

def _dead_pid():
    limit = int(open("/proc/sys/kernel/pid_max").read())
    return limit + 1  # no process can have it


@pytest.fixture
def live_pid():
    """A process of our own that is alive (a sleep), which must still be alive after the test: checking
    whether a process is alive must not send it a signal."""
    defaults = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
    # Default handlers even when this runs under nohup: any signal sent to the sleep ends it.
    pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], dict(os.environ), setsigdef=defaults)
    yield pid
    deadline = time.monotonic() + 0.5  # a signal ends the process a little later: watch for a while
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    alive = done == 0
    if alive:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert alive, f"the process was ended (wait status {status})"


def test_pid_alive(live_pid, monkeypatch):
    assert files._pid_alive(live_pid) is True
    assert files._pid_alive(_dead_pid()) is False

    def denied(pid, sig):
        raise PermissionError

    monkeypatch.setattr(os, "kill", denied)
    assert files._pid_alive(12345) is True


def test_remove_stale_temps_removes_only_dead_runs_files(tmp_path, live_pid):
    dead, alive = _dead_pid(), live_pid
    target = tmp_path / "model.keras"
    target.write_text("model")
    names = [f".model.{dead}.tmp.keras", f".model.{dead}-old.tmp.keras", f".model.{alive}.tmp.keras",
             f".model.{alive}-old.tmp.keras", ".model.abc.tmp.keras", f".other.{dead}.tmp.keras",
             f".model.{dead}.tmp.h5", f"model.{dead}.tmp.keras", f".model.{dead}.tmpkeras"]
    for name in names:
        (tmp_path / name).write_text("x")
    folder = tmp_path / f".model.{dead + 1}.tmp.keras"  # a folder (a SavedModel being written)
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "f").write_text("x")
    files.remove_stale_temps(target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted({"model.keras", *names} - {f".model.{dead}.tmp.keras", f".model.{dead}-old.tmp.keras"})


# ---- input and output checks, JSON format, sizes ----

def test_existing_file_names_what_is_wrong(tmp_path, monkeypatch):
    present = tmp_path / "present.txt"
    present.write_text("x")
    assert files.existing_file(present) == present
    for path, message in {tmp_path / "none.txt": "no such file", tmp_path: "is a directory, not a file"}.items():
        with pytest.raises(BadFile) as e:
            files.existing_file(path)
        assert str(e.value) == f"file {path}: {message}"
    deny_access(monkeypatch, present, os.R_OK)
    with pytest.raises(BadFile) as e:
        files.existing_file(present, "sequences")
    assert str(e.value) == f"sequences {present}: not readable"


def test_writable_target(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    assert files.writable_target(tmp_path / "new.json") == tmp_path / "new.json"
    assert files.writable_target(tmp_path / "a_file") == tmp_path / "a_file"
    assert files.writable_target(tmp_path / "a_folder", folder=True) == tmp_path / "a_folder"
    assert files.writable_target(tmp_path / "new_folder", folder=True) == tmp_path / "new_folder"
    refused = {(tmp_path / "a_folder", False): "is a directory",
               (tmp_path / "a_file", True): "is a file, not a folder",
               (tmp_path / "no" / "out.json", False): f"folder {tmp_path / 'no'} does not exist"}
    for (path, folder), message in refused.items():
        with pytest.raises(BadFile) as e:
            files.writable_target(path, folder)
        assert str(e.value) == f"output {path}: {message}"
    deny_access(monkeypatch, tmp_path, os.W_OK)  # a folder one can list but not write into
    with pytest.raises(BadFile) as e:
        files.writable_target(tmp_path / "new.json")
    assert str(e.value) == f"output {tmp_path / 'new.json'}: folder {tmp_path} is not writable"


def test_write_json_atomic_format(tmp_path):
    files.write_json_atomic(tmp_path / "r.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "r.json").read_text() == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}\n'


def test_size_text_picks_the_unit_that_fits():
    assert [files.size_text(n) for n in (0, 1023, 1024, 40 * 1024 + 100, (1 << 20) - 1, 3_355_443, 1 << 30,
                                         int(1.5 * (1 << 30)), 5 << 40)] == [
        "0 bytes", "1023 bytes", "1.0 KiB", "40.1 KiB", "1024.0 KiB", "3.2 MiB", "1.0 GiB", "1.5 GiB", "5120.0 GiB"]


def test_a_failed_write_names_its_output_and_the_reason(tmp_path):
    target = tmp_path / "metrics.json"
    with pytest.raises(files.WriteFailed) as e:
        with files.atomic_output(target) as tmp:
            tmp.write_text("{")
            raise no_space()
    assert str(e.value) == f"output {target}: cannot write ({NO_SPACE})"
    assert (e.value.path, e.value.reason) == (target, NO_SPACE) and list(tmp_path.iterdir()) == []
    note = files.WriteFailed(target, NO_SPACE, "no epoch was saved")
    assert str(note) == f"output {target}: cannot write ({NO_SPACE}); no epoch was saved"


def test_an_error_that_is_not_a_failed_write_passes_through_an_output_as_it_is(tmp_path):
    inner = files.WriteFailed(tmp_path / "inner.h5", NO_SPACE)  # already names its own file
    for error in (ValueError("shapes differ"), inner, BadFile(f"dataset x: {NO_SPACE} while reading")):
        with pytest.raises(type(error)) as e:
            with files.atomic_output(tmp_path / "outer.json"):  # fails before anything is written
                raise error
        assert e.value is error
    assert list(tmp_path.iterdir()) == []


# ---- files.write_failure ----

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


# ---- a folder output over a previous one ----

def _folder_output(out: Path, text: str) -> None:
    with files.atomic_output(out, folder=True) as tmp:
        (tmp / "variables").mkdir(parents=True)
        (tmp / "saved_model.pb").write_text(text)


def test_a_folder_output_replaces_the_previous_folder_whole(tmp_path):
    out = tmp_path / "export"
    (out / "only_in_the_old_one").mkdir(parents=True)
    (out / "saved_model.pb").write_text("old graph")
    _folder_output(out, "new graph")
    assert sorted(p.name for p in out.iterdir()) == ["saved_model.pb", "variables"]
    assert (out / "saved_model.pb").read_text() == "new graph"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # nothing left aside


def test_a_folder_output_that_cannot_be_put_in_place_keeps_the_previous_folder(tmp_path, monkeypatch):
    out = tmp_path / "export"
    out.mkdir()
    (out / "saved_model.pb").write_text("old graph")
    real, calls = os.replace, []

    def replace(src, dst, **kw):
        calls.append(Path(dst))
        if Path(dst) == out and calls.count(out) == 1:  # the new folder's rename into place
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, **kw)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(files.WriteFailed) as e:
        _folder_output(out, "new graph")
    assert str(e.value) == f"output {out}: cannot write ({os.strerror(errno.ENOSPC)})"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]
    assert [p.name for p in out.iterdir()] == ["saved_model.pb"] and (out / "saved_model.pb").read_text() == "old graph"
