"""Every stage's outputs under the atomic-write contract, in-process (each stage's test module uses these): a
write that fails part-way (a full disk, as h5py, Python and TensorFlow report it) leaves the previous output as
it was and no temporary file, and fails with one line naming the output and the reason."""
import errno
import os
from pathlib import Path

import pytest

from pipeline.files import WriteFailed

NO_SPACE = os.strerror(errno.ENOSPC)


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
