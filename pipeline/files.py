"""Input checks and crash-safe output: every stage writes a temporary file beside its target and
renames it into place only when complete, so a killed stage never leaves a partial file there."""
import contextlib
import errno
import json
import os
import shutil
import threading
from pathlib import Path

import click

TEXT_ENCODING = "utf-8-sig"  # UTF-8, skipping the byte-order mark that Excel's "CSV UTF-8" begins with


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


def read_json(path, what: str = "file") -> dict:
    """The JSON object in an existing file, or BadFile naming the file and what is wrong with it."""
    p = existing_file(path, what)
    try:
        obj = json.loads(p.read_text(encoding=TEXT_ENCODING))
    except OSError as e:
        raise BadFile(f"{what} {p}: cannot read ({e.strerror})") from None
    except ValueError as e:  # UnicodeDecodeError is one
        raise BadFile(f"{what} {p}: not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise BadFile(f"{what} {p}: not a JSON object")
    return obj


@contextlib.contextmanager
def named_errors(command: str):
    """Begin the message of a BadFile raised inside with the command's name ('compare: ...')."""
    try:
        yield
    except BadFile as e:
        e.message = f"{command}: {e.message}"
        raise


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


def size_text(n: int) -> str:
    """A size in the unit that fits it: '512 bytes', '40.0 KiB', '3.2 MiB', '1.5 GiB'."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


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


def _fsync(path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_output(path: Path) -> None:
    """Flush what a stage wrote to disk: a file, or an output folder with the files and folders it holds."""
    path = Path(path)
    if path.is_dir():
        for inner in path.iterdir():
            if inner.is_dir() or inner.is_file():
                fsync_output(inner)
    _fsync(path)


def fsync_entry(folder: Path) -> None:
    """Flush a folder's own entries (a rename into it), not the files it holds."""
    _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


# The failures of a write that are the disk's or the folder's, not the program's: each gets one line.
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG,
                errno.ESTALE)


def write_failure(error: BaseException) -> str | None:
    """Why a write failed, as the system says it ('No space left on device'), or None when `error` is not
    a failed write. Also reads the errors of h5py and TensorFlow, which carry the system's text in theirs."""
    code = getattr(error, "errno", None)
    if isinstance(error, OSError) and code in WRITE_ERRNOS:
        return os.strerror(code)
    text = str(error)
    for code in WRITE_ERRNOS:
        if os.strerror(code) in text:
            return os.strerror(code)
    return None


class WriteFailed(BadFile):
    """An output that could not be written (a full disk, a read-only folder, a vanished mount)."""

    def __init__(self, path, reason: str, note: str = ""):
        self.path, self.reason = Path(path), reason
        super().__init__(f"output {path}: cannot write ({reason})" + (f"; {note}" if note else ""))


@contextlib.contextmanager
def background_sync(path, interval: float = 0.5):
    """fsync the file `path` every `interval` seconds on a thread while the body writes it, so the disk
    works during a long write instead of all at once in the final fsync."""
    stop = threading.Event()

    def loop():
        while not stop.wait(interval):
            with contextlib.suppress(OSError):
                _fsync(path)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _failure(error: BaseException, target: Path) -> BaseException:
    """A failed write of `target` as WriteFailed; any other error as it is."""
    reason = None if isinstance(error, BadFile) else write_failure(error)
    return WriteFailed(target, reason) if reason else error


def _discard(tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


class Outputs:
    """Outputs written one by one to temporary files beside their targets (output()), then renamed into
    place together once every one is complete (published_together())."""

    def __init__(self):
        self.pending = []  # (temporary path, target, folder)

    @contextlib.contextmanager
    def output(self, target, folder: bool = False):
        """Yield the temporary path to write `target` to; a failed write becomes WriteFailed naming it."""
        target = writable_target(target, folder)
        remove_stale_temps(target)
        tmp = _temp_name(target, os.getpid())
        self.pending.append((tmp, target, folder))
        try:
            yield tmp
            fsync_output(tmp)
        except BaseException as e:
            error = _failure(e, target)
            if error is e:
                raise
            raise error from None

    def publish(self) -> None:
        """Rename each output into place, in the order written, then flush the folders' entries. An
        existing folder output is renamed aside first (a folder cannot be renamed over another) and
        deleted once the new one is in place."""
        for tmp, target, folder in self.pending:
            old = _temp_name(target, f"{os.getpid()}-old")
            aside = folder and target.exists()
            try:
                if aside:
                    os.replace(target, old)
                os.replace(tmp, target)
            except OSError as e:
                if aside and old.exists():
                    os.replace(old, target)  # the previous folder back in place
                raise _failure(e, target) from None
            if aside:
                shutil.rmtree(old)
        for parent in dict.fromkeys(target.parent for _, target, _ in self.pending):
            fsync_entry(parent)

    def discard(self) -> None:
        for tmp, _, _ in self.pending:
            _discard(tmp)


@contextlib.contextmanager
def published_together():
    """Write several outputs with Outputs.output(); they are renamed into place only when all are
    complete. On any error (or interrupt) the temporary files are removed and every target is left as
    it was; a failed write (full disk, read-only folder, ...) becomes WriteFailed, one line naming it."""
    outputs = Outputs()
    try:
        yield outputs
        outputs.publish()
    except BaseException:
        outputs.discard()
        raise


@contextlib.contextmanager
def atomic_output(target, folder: bool = False):
    """Yield a temporary path beside `target`; on success fsync it and rename it over `target`
    (with folder=True, the output is a folder). See published_together()."""
    with published_together() as outputs, outputs.output(target, folder) as tmp:
        yield tmp


def write_text_atomic(target, text: str) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(text)


def json_text(obj) -> str:
    """How every JSON artifact is laid out."""
    return json.dumps(obj, indent=2, sort_keys=False) + "\n"


def write_json_atomic(target, obj) -> None:
    write_text_atomic(target, json_text(obj))
