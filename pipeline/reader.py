"""tf.data input from the HDF5 dataset, in contiguous blocks.

Each element of the pipeline is one block of rows (tens of thousands) read by a single h5py slice,
permuted in NumPy when shuffling, and cut into batches: never one sample at a time, never the whole
file. Training shuffles block order and rows within a block, differently every pass over the data;
evaluation and prediction keep file order. h5py files are opened lazily, one handle per process.

Sequences of one length come as batches of a static shape (batch_size, length, n_features). Sequences
of different lengths are stored without padding: each block's rows are sorted by length into batches,
each padded with pad_value only to its longest row's bucket length (batches.py), in larger blocks (about
config.SORT_BYTES) so that batches hold rows of similar length; training shuffles the batches' order,
evaluation keeps them by length, and Reading(row_index=True) says which file row each one is.
"""
import dataclasses
import os

import numpy as np

from pipeline import batches, config, data
from pipeline.backend import tf

_handles = {}
_offsets = {}
_blocks_read = None  # after record_reads(): split -> {(start, stop)} this process read (a worker's share)
FILE_ORDER = -1  # read_block's key for rows in file order, not permuted


def _open(path: str):
    st = os.stat(path)
    key = (os.getpid(), path, st.st_ino, st.st_mtime_ns)  # a regenerated file gets a new handle
    if key not in _handles:
        _handles[key] = data.h5_reader(path)
    return _handles[key]


def _row_offsets(path, split) -> np.ndarray:
    """Where each row of a split starts among its steps (data.row_offsets), once per process and file."""
    f, st = _open(path), os.stat(path)
    key = (os.getpid(), path, split, st.st_ino, st.st_mtime_ns)  # a regenerated file gets new offsets
    if key not in _offsets:
        _offsets[key] = data.row_offsets(f[split], int(f.attrs["length"]))
    return _offsets[key]


def _record(split, start, stop) -> None:
    if _blocks_read is not None:
        name = split.decode() if isinstance(split, bytes) else split
        _blocks_read.setdefault(name, set()).add((int(start), int(stop)))


def read_block(path: str, split: str, start: int, stop: int, key: int = FILE_ORDER):
    """Rows [start, stop) of a split of sequences of one length as (X, y) uint8, X (rows, length,
    n_features); permuted by the generator seeded with `key`, or in file order (FILE_ORDER)."""
    f = _open(path)
    group, length = f[split], int(f.attrs["length"])
    X, y = group["X"][start * length:stop * length], group["y"][start:stop]
    X = X.reshape(len(y), length, X.shape[-1])
    _record(split, start, stop)
    if key != FILE_ORDER:
        p = np.random.default_rng(key).permutation(len(X))
        X, y = X[p], y[p]
    return X, y


BY_LENGTH = ("X", "y", "index", "table")  # what read_by_length gives, in numpy_function's order


def read_by_length(path: str, split: str, span, key: int, batch_size: int, drop: bool) -> list:
    """Rows [start, stop) = span of a split of sequences of different lengths, as batches of similar length
    (batches.padded_batches), as BY_LENGTH lists them: X (each batch's padded steps, one batch after the
    other), y and the file rows (index) in batch order, and the table of batches. key: FILE_ORDER keeps
    batches by length; a seed shuffles (batches.batch_order); drop leaves out rows past the last whole batch."""
    f = _open(path)
    (start, stop), length, pad = span, int(f.attrs["length"]), float(f.attrs["pad_value"])
    rows = data.read_rows(f[split], _row_offsets(path, split), start, stop)
    _record(split, start, stop)
    rng = None if key == FILE_ORDER else np.random.default_rng(key)
    order = batches.batch_order(rows["lengths"], int(batch_size), rng, bool(drop))
    out = batches.padded_batches(rows["X"], rows["lengths"], order, batches.bucket_lengths(length), pad)
    found = {"X": out["X"], "y": rows["y"][out["rows"]], "index": out["rows"] + start, "table": out["table"]}
    return [found[name] for name in BY_LENGTH]


def to_float(X, y):
    return tf.cast(X, tf.float32), tf.cast(y, tf.float32)


def _float_batch(batch: dict) -> dict:
    return {**batch, "X": tf.cast(batch["X"], tf.float32), "y": tf.cast(batch["y"], tf.float32)}


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


def sort_block_rows(n_rows: int, batch_size: int, mean_length: float, n_features: int, itemsize: int = 1) -> int:
    """Rows of a block sorted by length: whole batches, about config.SORT_BYTES of rows of the mean length,
    the split cut into blocks of about the same size (a last block of a few rows would make batches of
    any lengths)."""
    per_row = max(1.0, mean_length) * n_features * itemsize
    most = max(1, int(config.SORT_BYTES // (per_row * batch_size))) * batch_size
    blocks = -(-n_rows // most)
    return -(-n_rows // (blocks * batch_size)) * batch_size


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
    instead of 564 for the reference model). cast: float32 batches, or uint8 with cast=False.
    row_index: each element is a dict of X, y and index, its rows' indices in the split: batches of
    sequences of different lengths come sorted by length, not in file order."""
    shuffle_seed: int | None = None
    repeat: bool = False
    shard: tuple[int, int] = (1, 0)
    rows_per_block: int = 0
    cache: bool = False
    drop_remainder: bool = False
    cast: bool = True
    steps_per_call: int = 1
    row_index: bool = False


def make_dataset(info, split: str, batch_size: int, how: Reading = Reading()):
    """Batches of (X, y) from one split of the dataset described by `info` (data.describe), read as
    `how` says (by default: the whole split once, in file order, as float32). Shorter sequences are
    padded with pad_value, which the model masks."""
    if info.variable and how.steps_per_call > 1:
        raise ValueError("batches of sequences of different lengths cannot be stacked (steps_per_call)")
    if how.row_index and not info.variable:
        raise ValueError("row_index is for sequences of different lengths: these come in file order")
    n = info.rows[split]
    rows_per_block = how.rows_per_block or (
        sort_block_rows(n, batch_size, info.mean_length(split), info.n_features, info.itemsize) if info.variable
        else block_rows(batch_size * how.steps_per_call, info.length, info.n_features, info.itemsize))
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
    batches_of = _by_length if info.variable else _whole_batches
    read, cut = batches_of(info, split, batch_size, how, rows_per_block)
    ds = tf.data.Dataset.zip((blocks, keys)).map(read, num_parallel_calls=2, deterministic=True)
    ds = ds.flat_map(cut)
    if not how.row_index and info.variable:
        ds = ds.map(lambda batch: (batch["X"], batch["y"]))
    if how.cache:
        ds = ds.cache()
    if how.cast:
        ds = ds.map(_float_batch if how.row_index else to_float)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _whole_batches(info, split: str, batch_size: int, how: Reading, rows_per_block: int):
    """(read, cut) of sequences of one length: a block read in one slice, cut into batches by reshaping."""
    n, path, L, F, C = info.rows[split], str(info.path), info.length, info.n_features, info.n_classes
    x_type = tf.as_dtype(data.KINDS[info.kind])

    def read(start, key):
        stop = tf.minimum(start + rows_per_block, n)
        X, y = tf.numpy_function(read_block, [path, split, start, stop, key], (x_type, tf.uint8), stateful=False)
        return tf.ensure_shape(X, (None, L, F)), tf.ensure_shape(y, (None, C))

    def cut(X, y):
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

    return read, cut


def _by_length(info, split: str, batch_size: int, how: Reading, rows_per_block: int):
    """(read, cut) of sequences of different lengths: a block read and sorted into padded batches in
    NumPy (read_by_length), then each batch cut from it by a slice and a reshape."""
    n, path, F, C = info.rows[split], str(info.path), info.n_features, info.n_classes
    x_type, drop = tf.as_dtype(data.KINDS[info.kind]), how.drop_remainder

    shapes = {"X": (None, F), "y": (None, C), "index": (None,), "table": (None, 4)}
    rows = batch_size if drop else None  # whole batches only: a static batch size, as for one length

    def read(start, key):
        span = tf.stack([start, tf.minimum(start + rows_per_block, n)])
        found = tf.numpy_function(read_by_length, [path, split, span, key, batch_size, drop],
                                  [x_type, tf.uint8, tf.int64, tf.int64], stateful=False)
        return {name: tf.ensure_shape(t, shapes[name]) for name, t in zip(BY_LENGTH, found)}

    def cut(block):
        def batch(line):
            first_step, first_row, size, width = line[0], line[1], line[2], line[3]
            part = slice(first_row, first_row + size)
            X = tf.reshape(block["X"][first_step:first_step + size * width], (size, width, F))
            return {"X": tf.ensure_shape(X, (rows, None, F)), "y": tf.ensure_shape(block["y"][part], (rows, C)),
                    "index": block["index"][part]}

        return tf.data.Dataset.from_tensor_slices(block["table"]).map(batch)

    return read, cut
