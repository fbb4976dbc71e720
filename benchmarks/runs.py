"""Commands in fresh processes, timed: their wall time, peak memory and output, or the reason they failed;
and the median every figure of the bench is."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Ran(NamedTuple):
    """What run() measured of a command that succeeded."""
    wall_s: float
    peak_rss_mb: float
    stdout: str


class CommandFailed(RuntimeError):
    def __init__(self, args, why: str, stderr: str):
        self.why, self.stderr = why, stderr
        super().__init__(f"{' '.join(map(str, args))} {why}: {stderr.strip()[-2000:]}")

    def last_line(self) -> str:
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return f"{self.why}: {lines[-1][:300]}" if lines else self.why


def run(args, env=None, timeout=900):
    """Run a command; returns (wall seconds, peak RSS in MB, stdout). Raises CommandFailed on failure."""
    # Output goes to files, not pipes: the child never blocks on a full pipe while wait4 waits for it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        fired = threading.Event()
        killer = threading.Timer(timeout, lambda: (fired.set(), child.kill()))
        killer.start()
        _, status, usage = os.wait4(child.pid, 0)  # wait4 gives this child's own peak RSS
        killer.cancel()
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        why = f"timed out after {timeout} s" if fired.is_set() else f"failed ({child.returncode})"
        raise CommandFailed(args, why, stderr)
    return Ran(wall, usage.ru_maxrss / 1024, stdout)


def pipeline(*args, **kw):
    """A stage of the pipeline through its command line, in a fresh process."""
    return run([sys.executable, "-m", "pipeline", *map(str, args)], **kw)


def helper(*args, **kw):
    """A sub-command of benchmarks.bench in a fresh process; returns the JSON of its last line."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    _, _, out = run([sys.executable, "-m", "benchmarks.bench", *map(str, args)], env={"PYTHONPATH": path}, **kw)
    return json.loads(out.strip().splitlines()[-1])


def median(values):
    return statistics.median(values) if values else None
