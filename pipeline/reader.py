"""tf.data input from the HDF5 dataset, in contiguous blocks.

Each element of the pipeline is one block of rows (tens of thousands) read by a single h5py slice,
permuted in NumPy when shuffling, and cut into batches: never one sample at a time, never the whole
file. Training shuffles block order and rows within a block, differently every pass over the data;
evaluation and prediction keep file order. h5py files are opened lazily, one handle per process.
"""
import dataclasses
import os

import numpy as np

from pipeline import config, data
from pipeline.backend import tf

_handles = {}
_blocks_read = None  # after record_reads(): split -> {(start, stop)} this process read (a worker's share)
FILE_ORDER = -1  # read_block's key for rows in file order, not permuted


def _open(path: str):
    st = os.stat(path)
    key = (os.getpid(), path, st.st_ino, st.st_mtime_ns)  # a regenerated file gets a new handle
    if key not in _handles:
        _handles[key] = data.h5_reader(path)
    return _handles[key]


def read_block(path: str, split: str, start: int, stop: int, key: int = FILE_ORDER):
    """Rows [start, stop) of a split as (X, y) uint8; permuted by the generator seeded with `key`, or in
    file order (FILE_ORDER)."""
    group = _open(path)[split]
    X, y = group["X"][start:stop], group["y"][start:stop]
    if _blocks_read is not None:
        name = split.decode() if isinstance(split, bytes) else split
        _blocks_read.setdefault(name, set()).add((int(start), int(stop)))
    if key != FILE_ORDER:
        p = np.random.default_rng(key).permutation(len(X))
        X, y = X[p], y[p]
    return X, y


def to_float(X, y):
    return tf.cast(X, tf.float32), tf.cast(y, tf.float32)


def record_reads() -> None:
    """From now on, remember which blocks this process reads (one entry per distinct block)."""
    global _blocks_read
    _blocks_read = _blocks_read or {}


def blocks_read() -> dict:
    """{split: sorted [start, stop) row ranges read since record_reads()}."""
    return {split: sorted(map(list, blocks)) for split, blocks in (_blocks_read or {}).items()}


def block_rows(batch_size: int, length: int, n_features: int, itemsize: int = 1) -> int:
    """A whole number of batches, about config.BLOCK_BYTES of samples."""
    per_block = max(1, config.BLOCK_BYTES // (data.sample_bytes(length, n_features, itemsize) * batch_size))
    return per_block * batch_size


def block_starts(n_rows: int, rows_per_block: int, shard: tuple[int, int] = (1, 0)) -> np.ndarray:
    """Start rows of the blocks this reader reads: worker `index` of `count` takes every count-th block."""
    count, index = shard
    return np.arange(0, n_rows, rows_per_block, dtype=np.int64)[index::count]


@dataclasses.dataclass(frozen=True)
class Reading:
    """How make_dataset reads a split. shuffle_seed: None keeps file order; a seed shuffles block order
    and the rows within each block, differently every pass. shard (count, index): this worker's share
    of the blocks. rows_per_block: 0 for about config.BLOCK_BYTES. cache: keep the uint8 batches in
    memory after the first pass (for the small val split, read after every epoch). steps_per_call:
    with more than 1, each element stacks that many whole batches, X (steps_per_call, batch_size, L, F)
    (the training calls of model.MultiStep); a block's rows past its last whole call are left out. drop_remainder:
    leave out the last, partial batch of each pass, so every batch has the static shape (batch_size,
    ...): the traced train step then needs no broadcasting glue in its gradients (392 graph ops
    instead of 564 for the reference model). cast: float32 batches, or uint8 with cast=False."""
    shuffle_seed: int | None = None
    repeat: bool = False
    shard: tuple[int, int] = (1, 0)
    rows_per_block: int = 0
    cache: bool = False
    drop_remainder: bool = False
    cast: bool = True
    steps_per_call: int = 1


def make_dataset(info, split: str, batch_size: int, how: Reading = Reading()):
    """Batches of (X, y) from one split of the dataset described by `info` (data.describe), read as
    `how` says (by default: the whole split once, in file order, as float32). Padded steps come as
    they are stored (pad_value): the model masks them."""
    n = info.rows[split]
    rows_per_block = how.rows_per_block or block_rows(batch_size * how.steps_per_call, info.length, info.n_features,
                                                      info.itemsize)
    starts = block_starts(n, rows_per_block, how.shard)
    blocks = tf.data.Dataset.from_tensor_slices(starts)
    shuffle = how.shuffle_seed is not None
    if shuffle:
        blocks = blocks.shuffle(len(starts), seed=how.shuffle_seed, reshuffle_each_iteration=True)
    if how.repeat:
        blocks = blocks.repeat()
    if shuffle:  # a fresh, seeded permutation key for every block of every pass
        keys = tf.data.Dataset.random(seed=how.shuffle_seed).map(lambda k: k % (2 ** 62))
    else:
        keys = tf.data.Dataset.from_tensors(tf.constant(FILE_ORDER, tf.int64)).repeat()
    path, L, F, C = str(info.path), info.length, info.n_features, info.n_classes
    x_type = tf.as_dtype(data.KINDS[info.kind])

    def read(start, key):
        stop = tf.minimum(start + rows_per_block, n)
        X, y = tf.numpy_function(read_block, [path, split, start, stop, key], (x_type, tf.uint8), stateful=False)
        return tf.ensure_shape(X, (None, L, F)), tf.ensure_shape(y, (None, C))

    def batches(X, y):
        """A block as whole batches (a reshape, no per-batch function call), then its remainder."""
        rows = batch_size * how.steps_per_call
        full = tf.shape(X)[0] // rows * rows
        shape = (-1, how.steps_per_call, batch_size) if how.steps_per_call > 1 else (-1, batch_size)
        whole = tf.data.Dataset.from_tensor_slices((tf.reshape(X[:full], (*shape, L, F)),
                                                    tf.reshape(y[:full], (*shape, C))))
        if how.drop_remainder or how.steps_per_call > 1:
            return whole
        rest = tf.data.Dataset.from_tensors((X[full:], y[full:])).filter(lambda X, y: tf.shape(X)[0] > 0)
        return whole.concatenate(rest)

    ds = tf.data.Dataset.zip((blocks, keys)).map(read, num_parallel_calls=2, deterministic=True)
    ds = ds.flat_map(batches)
    if how.cache:
        ds = ds.cache()
    if how.cast:
        ds = ds.map(to_float)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
