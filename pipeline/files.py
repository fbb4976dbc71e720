"""Input checks and crash-safe output: every stage writes a temporary file beside its target and
renames it into place only when complete, so a killed stage never leaves a partial file there."""
import contextlib
import json
import os
import shutil
import threading
from pathlib import Path

import click


class BadFile(click.ClickException):
    """A missing, unreadable or malformed input file, or an output that cannot be written (exit 1)."""

    exit_code = 1


def existing_file(path, what: str = "file") -> Path:
    """The path of an existing regular file, or BadFile naming what is wrong with it."""
    p = Path(path)
    if not p.exists():
        raise BadFile(f"{what} {p}: no such file")
    if p.is_dir():
        raise BadFile(f"{what} {p}: is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise BadFile(f"{what} {p}: not readable")
    return p


def writable_target(path, folder: bool = False) -> Path:
    """Check up front that `path` can be written: its folder exists and is writable, and it is not a
    folder (or, with folder=True, not a file)."""
    p = Path(path)
    parent = p.parent
    if p.is_dir() and not folder:
        raise BadFile(f"output {p}: is a directory")
    if folder and p.exists() and not p.is_dir():
        raise BadFile(f"output {p}: is a file, not a folder")
    if not parent.is_dir():
        raise BadFile(f"output {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadFile(f"output {p}: folder {parent} is not writable")
    return p


def _temp_name(target: Path, pid) -> Path:
    """.model.1234.tmp.keras beside model.keras: hidden, owned by a pid, and keeping the suffix."""
    return target.with_name(f".{target.stem}.{pid}.tmp{target.suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(target: Path) -> None:
    """Delete temporary files (or folders) left beside `target` by runs that were killed."""
    for tmp in target.parent.glob(f".{target.stem}.*.tmp{target.suffix}"):
        pid = tmp.name[len(target.stem) + 2 : -len(f".tmp{target.suffix}")].removesuffix("-old")
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink(missing_ok=True)


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder with everything inside it, to disk."""
    if Path(path).is_dir():
        for inner in Path(path).iterdir():
            if inner.is_dir() or inner.is_file():
                fsync_path(inner)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def background_sync(path, interval: float = 0.5):
    """fsync `path` every `interval` seconds on a thread while the body writes it, so the disk works
    during a long write instead of all at once in the final fsync."""
    stop = threading.Event()

    def loop():
        while not stop.wait(interval):
            with contextlib.suppress(OSError):
                fsync_path(path)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def atomic_output(target, folder: bool = False):
    """Yield a temporary path beside `target`; on success fsync it and rename it over `target`.

    On any error (or interrupt) the temporary file is removed and `target` is left as it was. With
    folder=True the output is a folder: an existing one is renamed aside first (a folder cannot be
    renamed over another) and deleted once the new one is in place.
    """
    target = writable_target(target, folder)
    remove_stale_temps(target)
    tmp = _temp_name(target, os.getpid())
    try:
        yield tmp
        fsync_path(tmp)
        old = _temp_name(target, f"{os.getpid()}-old")
        if folder and target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        fsync_path(target.parent)
        if folder and old.exists():
            shutil.rmtree(old)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        raise


def write_text_atomic(target, text: str) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(text)


def write_json_atomic(target, obj) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")
