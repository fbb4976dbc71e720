"""One worker of a multi-worker cluster: tf.distribute.MultiWorkerMirroredStrategy, from TF_CONFIG.

Every worker runs the same `train`, through model.fit. The global batch is --batch-size, as in
single-process training: each worker reads batch_size / workers rows per step, from its own share of
the training split (every workers-th block of rows, reader.block_starts), never the whole file.
Gradients and validation metrics are all-reduced, so the workers keep identical weights and see the
same val_accuracy, and all stop at the same epoch. Validation reads the whole val split on every
worker (it is small), so every worker runs the same number of validation steps.
"""
import hashlib
import math

import click

from pipeline import reader
from pipeline.backend import tf

MIN_BLOCKS_PER_WORKER = 4  # smaller blocks on small splits, so shares stay close in size


class Worker:
    def __init__(self, role):
        """Create the strategy; call before any other TensorFlow work (it starts this worker's server)."""
        self.role = role
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy()
        reader.record_reads()  # for the worker's report: its share, as read

    def report(self, net) -> dict:
        """What this process did: its place in the cluster, the blocks it read, its final weights."""
        return {"index": self.role.index, "workers": self.role.workers, "chief": self.role.chief,
                "blocks_read": reader.blocks_read(), "weights_sha256": weights_digest(net)}

    def datasets(self, info, batch_size: int, seed: int, val_batch: int):
        """(train, val) as distributed datasets: this worker's share of train, all of val."""
        def train_share(ctx):
            shard = (ctx.num_input_pipelines, ctx.input_pipeline_id)
            per_worker = ctx.get_per_replica_batch_size(batch_size)
            rows = shard_block_rows(info, per_worker, shard[0])
            return reader.make_dataset(info, "train", per_worker, reader.Reading(
                shuffle_seed=seed, repeat=True, shard=shard, rows_per_block=rows))

        def whole_val(ctx):
            return reader.make_dataset(info, "val", val_batch)

        return (self.strategy.distribute_datasets_from_function(train_share),
                self.strategy.distribute_datasets_from_function(whole_val))


def shard_block_rows(info, batch_size: int, workers: int) -> int:
    """The reader's block size, cut (in whole batches) so each worker gets several blocks of the
    training split; an error if the split is too small for every worker to get one."""
    n = info.rows["train"]
    rows = reader.block_rows(batch_size, info.length, info.n_features)
    rows = min(rows, max(1, n // (workers * MIN_BLOCKS_PER_WORKER * batch_size)) * batch_size)
    if math.ceil(n / rows) < workers:
        raise click.ClickException(f"dataset {info.path}: the training split has {n:,} rows, too few for "
                                   f"{workers} workers reading {batch_size} rows per step each")
    return rows


def weights_digest(net) -> str:
    return hashlib.sha256(b"".join(w.tobytes() for w in net.get_weights())).hexdigest()
