"""What the figures are measured against: the sizes ours and the peers share, the training peers, every
baseline by name, and the error that stops the bench when one cannot run."""
import dataclasses

import click

from benchmarks.runs import CommandFailed

THROUGHPUT_BATCHES = (1, 8, 32, 128, 512)
THROUGHPUT_SAMPLES = 131_072  # per epoch, at most; the first epoch (tracing) is not counted
THROUGHPUT_MAX_STEPS = 4096  # batches per epoch, at most: small batches take fewer samples
THROUGHPUT_LEARNING_RATE = 1e-3  # ours and the peers'
PEER_GOAL_FROM = 8  # the peers' goals hold from this batch size; batch 1 is shown


@dataclasses.dataclass(frozen=True)
class Peer:
    """A training peer: the same model in another framework, run from its own virtual environment."""
    title: str  # as the table names it
    script: str  # relative to the repository root
    requirement: str  # what make bench installs
    version: str  # Python code that prints the framework's version
    goal: str  # ours against it, from PEER_GOAL_FROM up

    def leave_out(self, name: str) -> str:
        return "--no-torch leaves the peer out" if name == "torch" else f"--skip {name} leaves the peer out"


PEERS = {
    "torch": Peer("PyTorch peer", "benchmarks/torch_peer.py", "torch==2.13.0",
                  "import torch; print(torch.__version__)", ">= 1.5x"),
    "jax": Peer("Keras 3/JAX peer", "benchmarks/jax_peer.py", "jax==0.10.2 keras",
                "import os; os.environ['KERAS_BACKEND'] = 'jax'; import jax, keras; "
                "print(f'jax {jax.__version__}, keras {keras.__version__}')", ">= 1.0x"),
}
BASELINES = {  # name -> what it is, as the table names it
    "reference": "reference recipe",
    **{name: peer.title for name, peer in PEERS.items()},
    "memory": "in-memory tensors",
    "disk": "disk's durable write rate",
    "long": "long preset's training",
}
NO_BASELINE = "none: an absolute goal"


class BaselineUnavailable(click.ClickException):
    """A baseline that cannot be measured: the bench stops with this one line (exit 1)."""

    exit_code = 1


def baseline_failed(name: str, error: Exception) -> BaselineUnavailable:
    why = error.last_line() if isinstance(error, CommandFailed) else f"{type(error).__name__}: {error}"
    return BaselineUnavailable(f"{BASELINES[name]} baseline could not run: {why} (--skip {name} leaves it out)")
