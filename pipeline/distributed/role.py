"""This process's place in a multi-worker cluster, read from TF_CONFIG. No TensorFlow here."""
import json
import os
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Role:
    """This process's place in the cluster: `workers` tasks in all, this one is `index`."""
    workers: int
    index: int
    chief: bool


SINGLE = Role(workers=1, index=0, chief=True)  # a single-process run


def worker_role(environ=os.environ) -> Role:
    """Read TF_CONFIG the way MultiWorkerMirroredStrategy does; a clear error if it cannot be used."""
    text = environ.get("TF_CONFIG")
    if not text:
        raise click.ClickException("--strategy multi-worker needs TF_CONFIG (the cluster and this task) "
                                   "in the environment; 'train-cluster' sets it for local workers")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        tasks = [*cluster.get("chief", []), *cluster.get("worker", [])]
        kind, index = task["type"], int(task["index"])
        position = index if kind == "chief" else len(cluster.get("chief", [])) + index
        if kind not in ("chief", "worker") or not 0 <= index < len(cluster.get(kind, [])):
            raise ValueError(f"task {kind} {index} is not in the cluster")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise click.ClickException(f"TF_CONFIG is not a usable cluster description ({e})") from None
    return Role(len(tasks), position, position == 0)


def per_worker_batch(batch_size: int, workers: int) -> int:
    """--batch-size is the global batch, summed over workers; each reads its share of every step."""
    if batch_size % workers:
        raise click.BadParameter(f"{batch_size} is the global batch and must divide evenly among {workers} "
                                 "workers", param_hint="'--batch-size'")
    return batch_size // workers
