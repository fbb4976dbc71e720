"""The training peers (goal 2's baselines), each run from its own virtual environment: the framework's
version, checked before anything is measured, and the peer's samples/s."""
import json
from pathlib import Path

from benchmarks.baselines import (
    PEERS,
    THROUGHPUT_BATCHES,
    THROUGHPUT_LEARNING_RATE,
    THROUGHPUT_MAX_STEPS,
    THROUGHPUT_SAMPLES,
    BaselineUnavailable,
)
from benchmarks.runs import ROOT, CommandFailed, run


def peer_version(name: str, python) -> str:
    """The peer environment's framework version, checked before anything is measured."""
    peer = PEERS[name]
    install = f"make bench installs it with pip install {peer.requirement}; {peer.leave_out(name)}"
    if not python or not Path(python).is_file():
        raise BaselineUnavailable(f"{peer.title}: no environment at {python} ({install})")
    if not (ROOT / peer.script).is_file():
        raise BaselineUnavailable(f"{peer.title}: no peer script at {ROOT / peer.script}")
    try:
        return run([python, "-c", peer.version], timeout=300)[2].strip()
    except (CommandFailed, OSError) as e:
        why = e.last_line() if isinstance(e, CommandFailed) else str(e)
        raise BaselineUnavailable(f"{peer.title}: {python} cannot import it, {why} ({install})") from None


def peer_speeds(name: str, python, batch_sizes=THROUGHPUT_BATCHES) -> dict:
    """{batch size: samples/s} of one run of the peer: two passes timed, as ours."""
    peer = PEERS[name]
    args = [python, ROOT / peer.script, "--batch-sizes", ",".join(map(str, batch_sizes)),
            "--samples", THROUGHPUT_SAMPLES, "--max-steps", THROUGHPUT_MAX_STEPS, "--passes", 2,
            "--learning-rate", THROUGHPUT_LEARNING_RATE]
    try:
        _, _, out = run(list(map(str, args)))
    except (CommandFailed, OSError) as e:
        why = e.last_line() if isinstance(e, CommandFailed) else str(e)
        raise BaselineUnavailable(f"{peer.title}: {peer.script} {why} ({peer.leave_out(name)})") from None
    speeds = {}
    for line in out.splitlines():
        try:
            record = json.loads(line)
            speeds[int(record["batch_size"])] = float(record["samples_per_s"])
        except (ValueError, KeyError, TypeError):
            raise BaselineUnavailable(f"{peer.title}: unexpected output line {line[:200]!r}") from None
    missing = [bs for bs in batch_sizes if bs not in speeds]
    if missing:
        raise BaselineUnavailable(f"{peer.title}: printed no result for batch size {missing[0]}")
    return speeds
