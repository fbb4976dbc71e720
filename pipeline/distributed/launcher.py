"""train-cluster: a multi-worker cluster on this machine (for trying it out and for tests). No TensorFlow here.

train-cluster starts --workers processes of `train --strategy multi-worker`, each with its own
TF_CONFIG naming 127.0.0.1 ports picked by binding to port 0. Worker 0 is the chief: it prints to
this terminal and writes the artifacts; the others log to files. It waits for all of them; if one
fails, it stops the rest and exits non-zero. TensorFlow's gRPC servers listen on every interface
and take unauthenticated connections, so by default the workers run in a network namespace of their
own, where loopback is the only interface (README, "Multi-worker training").

    python -m pipeline train-cluster --workers 2 --data data/echo.h5 --out artifacts/model.keras
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from pipeline import data, train
from pipeline.distributed import isolation
from pipeline.distributed.role import per_worker_batch
from pipeline.files import writable_target, write_json_atomic
from pipeline.options import FiniteFloat

HOST = "127.0.0.1"


def free_ports(n: int) -> list[int]:
    """n distinct free ports on HOST, found by binding to port 0 (all held until all are known)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"{HOST}:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class Cluster:
    """Local worker processes; stop() kills those still running."""

    def __init__(self, n: int, train_args: list):
        self.ports = free_ports(n)
        self.folder = Path(tempfile.mkdtemp(prefix="echo-cluster-"))
        self.procs, self.logs = [], []
        for i in range(n):
            env = {**os.environ, "TF_CONFIG": tf_config(self.ports, i)}
            env.setdefault("CUDA_VISIBLE_DEVICES", "-1")  # local workers share this machine's CPUs only
            args = [sys.executable, "-m", "pipeline", "train", *train_args, "--strategy", "multi-worker",
                    "--worker-report", str(self.report_path(i))]
            log = None if i == 0 else open(self.folder / f"worker-{i}.log", "w")
            self.logs.append(log)
            self.procs.append(subprocess.Popen(args, env=env, stdout=log, stderr=log,
                                               preexec_fn=isolation.die_with_parent))
            click.echo(f"worker {i}: pid {self.procs[-1].pid}, {HOST}:{self.ports[i]}"
                       f"{', log ' + log.name if log else ' (chief; its output follows)'}", err=True)

    def report_path(self, i: int) -> Path:
        return self.folder / f"worker-{i}.json"

    def wait(self, timeout: float) -> None:
        """Until every worker has exited 0; ClickException as soon as one fails or time runs out."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            codes = [p.poll() for p in self.procs]
            failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                # A worker whose peer died fails too, often within the same poll: name the one killed by
                # a signal, the cause, rather than the first in order.
                i = min(failed, key=lambda i: (codes[i] >= 0, i))
                self.stop()
                where = "its output is above" if i == 0 else f"its log: {self.logs[i].name}"
                raise click.ClickException(f"worker {i} {_describe_exit(codes[i])}; stopped all workers ({where})")
            if all(code == 0 for code in codes):
                return
            if deadline and time.monotonic() > deadline:
                self.stop()
                raise click.ClickException(f"the cluster did not finish within --timeout {timeout:g} s; "
                                           f"stopped all workers (logs in {self.folder})")
            time.sleep(0.2)

    def stop(self) -> None:
        # SIGKILL: TensorFlow's coordination service catches SIGTERM as a preemption notice and
        # carries on, and a worker without its peers can do nothing useful anyway.
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def close(self, keep_logs: bool) -> None:
        self.stop()
        for log in self.logs:
            if log:
                log.close()
        if not keep_logs:
            shutil.rmtree(self.folder, ignore_errors=True)


def summarize(reports: list, network: str, ports: list, seconds: float) -> dict:
    """What cluster.json records: per worker, its share of the training split and its final weights."""
    digests = {r["weights_sha256"] for r in reports}
    return {"workers": len(reports), "network": network, "addresses": [f"{HOST}:{p}" for p in ports],
            "wall_seconds": round(seconds, 2), "identical_weights": len(digests) == 1, "reports": reports}


def run_cluster(n: int, train_args: list, model_path: Path, network: str, timeout: float) -> dict:
    t = time.perf_counter()
    cluster = Cluster(n, train_args)
    ok = False
    try:
        cluster.wait(timeout)
        reports = [json.loads(cluster.report_path(i).read_text()) for i in range(n)]
        summary = summarize(reports, network, cluster.ports, time.perf_counter() - t)
        write_json_atomic(model_path.with_name("cluster.json"), summary)
        if not summary["identical_weights"]:
            raise click.ClickException(f"the workers ended with different weights (see "
                                       f"{model_path.with_name('cluster.json')})")
        ok = True
        return summary
    finally:
        cluster.close(keep_logs=not ok)


def _stop_on_sigterm(*_):
    raise click.ClickException("the launcher got SIGTERM; stopped all workers")


def _checked_train_args(train_args: tuple, workers: int):
    """Parse the forwarded options as `train` would, so bad input fails here, before any worker starts."""
    ctx = train.cli.make_context("train", list(train_args))
    model_path = writable_target(train.model_path(ctx.params["out"]))
    data.describe(ctx.params["data_path"])
    if ctx.params.get("batch_size"):  # unset: the preset's, which each worker checks itself
        per_worker_batch(ctx.params["batch_size"], workers)
    return model_path


@click.command("train-cluster", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Local worker processes; worker 0 is the chief.")
@click.option("--network", type=click.Choice(["auto", "private", "host"]), default="auto", show_default=True,
              help="private: the workers get a network namespace of their own (loopback only); host: they "
                   "share this machine's network, where TensorFlow listens on all interfaces; auto: private "
                   "where Linux allows it.")
@click.option("--timeout", type=FiniteFloat(min=0), default=0, show_default=True,
              help="Stop all workers and fail after this many seconds; 0 = no limit.")
@click.argument("train_args", nargs=-1, type=click.UNPROCESSED)
def cli(workers, network, timeout, train_args):
    """Train on local workers with tf.distribute (MultiWorkerMirroredStrategy).

    Every other option is a `train` option (see `train --help`), given to each worker; --batch-size
    is the global batch, split evenly among the workers. Writes what `train` writes, plus
    cluster.json beside the model: each worker's share of the data and final weights digest.
    """
    model_path = _checked_train_args(train_args, workers)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # so the workers are stopped, not orphaned
    if isolation.inside_namespace():
        isolation.die_with_parent(signal.SIGTERM)
        isolation.loopback_up()
        network = "private"
    elif network != "host":
        if isolation.private_network_possible():
            argv = ["train-cluster", "--workers", str(workers), "--timeout", str(timeout), *train_args]
            code = isolation.run_in_namespace(argv)
            if code:
                sys.exit(code)
            return
        if network == "private":
            raise click.ClickException("cannot create a network namespace here (unshare --user --net "
                                       "failed); use --network host on a trusted network")
        click.echo("warning: no private network namespace here; the workers listen on all interfaces "
                   "(README, 'Multi-worker training')", err=True)
        network = "host"
    summary = run_cluster(workers, list(train_args), model_path, network, timeout)
    rows = [sum(b[1] - b[0] for b in r["blocks_read"]["train"]) for r in summary["reports"]]
    click.echo(f"cluster of {workers} workers ({network} network) finished in {summary['wall_seconds']} s; "
               f"identical weights on every worker; training rows read per worker {rows}; "
               f"wrote {model_path.with_name('cluster.json')}")
