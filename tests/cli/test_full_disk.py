"""Every stage on a real full disk (a tmpfs of 1 MiB, filled up), as a user runs it: one line naming the
output and the reason, exit 1, the previous output untouched and no temporary file left.

Mounting needs root (CI and the development machines run as root); elsewhere these tests are skipped
with the reason, and each stage's test module (tests/test_<stage>.py) injects the same failures in-process."""
import errno
import os
import shutil
import subprocess
import uuid

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

NO_SPACE = os.strerror(errno.ENOSPC)


def _mount_tmpfs(folder, size: str):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root; tests/test_<stage>.py inject the same failures in-process")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True,
                       text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); tests/test_<stage>.py inject the same failures")


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB filesystem holding a previous output of every stage, then filled to the last byte."""
    folder = tmp_path / "disk"
    folder.mkdir()
    _mount_tmpfs(folder, "1m")
    try:
        for name in ("model.keras", "history.csv", "train.json", "metrics.json", "predictions.csv",
                     "predictions.json", "d.h5"):
            (folder / name).write_text(f"the previous {name}\n")
        (folder / "export").mkdir()
        (folder / "export" / "saved_model.pb").write_text("the previous export\n")
        with open(folder / "filler", "wb", buffering=0) as f:
            try:
                while f.write(b"\0" * 4096):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _contents(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def _fails_with_one_line(folder, args, target, suffix=""):
    before = _contents(folder)
    r = run_cli(*args)
    assert r.returncode == 1, r.stderr[-2000:]
    line = f"echo-pipeline: error: output {target}: cannot write ({NO_SPACE}){suffix}"
    assert r.stderr.splitlines()[-1:] == [line], r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert _contents(folder) == before  # the previous outputs, and nothing else: no temporary file


def test_train_on_a_full_disk(tiny_data, full_disk):
    _fails_with_one_line(full_disk, ["train", "--data", tiny_data, "--out", full_disk / "model.keras"],
                         full_disk / ".model.backup" / "run.json", "; no epoch was saved")


def test_evaluate_on_a_full_disk(trained, full_disk):
    _fails_with_one_line(full_disk, ["evaluate", "--data", trained["data_path"], "--model", trained["model_path"],
                                     "--out", full_disk / "metrics.json"], full_disk / "metrics.json")


def test_predict_on_a_full_disk(trained, full_disk):
    _fails_with_one_line(full_disk, ["predict", "--data", trained["data_path"], "--model", trained["model_path"],
                                     "--out", full_disk / "predictions.csv"], full_disk / "predictions.csv")


def test_export_on_a_full_disk(trained, full_disk):
    _fails_with_one_line(full_disk, ["export", "--model", trained["model_path"], "--out", full_disk / "export"],
                         full_disk / "export")


def test_generate_on_a_full_disk(full_disk):
    """Compressed data may fit, so generate tries, and fails on the write; uncompressed data that cannot fit
    is refused before writing, with both sizes in units that fit them."""
    out = full_disk / "d.h5"
    small = ["generate", "--out", out, "--n-train", 20_000, "--n-val", 100, "--n-test", 100]
    _fails_with_one_line(full_disk, [*small, "--compression", "gzip"], out)
    r = run_cli(*small)
    assert r.returncode == 1 and r.stderr == (f"echo-pipeline: error: output {out}: the dataset needs about "
                                              "1.2 MiB but only 0 bytes is free there\n")


def test_a_rerun_with_space_resumes(tiny_data, tmp_path):
    """A disk that fills up after the first epoch's checkpoint: the run says it can be resumed, and once
    there is space again, the same command resumes from that epoch."""
    folder = tmp_path / "disk"
    folder.mkdir()
    _mount_tmpfs(folder, "120k")  # room for one epoch's checkpoint, not for the second
    try:
        args = ["train", "--data", tiny_data, "--out", folder / "model.keras", "--seed", 1, "--epochs", 3,
                "--no-stop-at-target", "--steps-per-epoch", 8]
        r = run_cli(*args)
        backup = folder / ".model.backup"
        assert r.returncode == 1 and r.stderr.splitlines()[-1] == (
            f"echo-pipeline: error: output {backup}: cannot write ({NO_SPACE}); the training state is kept in "
            f"{backup}: a rerun with the same options resumes from its last epoch"), r.stderr[-2000:]
        subprocess.run(["mount", "-o", "remount,size=4m", str(folder)], check=True)
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "resuming from epoch 2 (epochs 1-1 restored" in r.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "plots", "train.json"]
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_read_only_folder_is_refused_before_training(tiny_data, tmp_path):
    """A folder mounted read-only (root may write anywhere else): refused up front, nothing written."""
    folder = tmp_path / "ro"
    folder.mkdir()
    _mount_tmpfs(folder, "1m")
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        r = run_cli("train", "--data", tiny_data, "--out", folder / f"{uuid.uuid4().hex}.keras")
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and str(folder) in r.stderr, r.stderr
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
