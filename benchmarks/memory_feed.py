"""Goal 3's baseline: the training batches of pipeline.train.training_dataset, fed from memory.

The whole training split is read once into two tensors; every pass gathers its batches from them in a
new seeded random order (as Keras does for in-memory arrays). The batches are those of the HDF5
reader's training dataset: shuffled, repeated, float32 (X: (batch, length, n_features), y: (batch,
n_features)), whole batches only, so with a static batch shape, when the split holds a batch (the rows
past the last whole batch of a pass are left out, a different few each pass), else one short batch
per pass. It holds the split in RAM: a baseline for the benchmark, not a way to train.
"""
from pipeline.backend import tf
from pipeline.reader import read_block, to_float


def training_dataset(info, batch_size: int, seed: int, steps_per_call: int = 1):
    """Shuffled, repeated training batches from the split held in memory; `info` from data.describe.
    steps_per_call > 1: elements of that many whole batches, (steps_per_call, batch_size, ...), as the reader's."""
    n = info.rows["train"]
    X, y = (tf.constant(a) for a in read_block(str(info.path), "train", 0, n))  # uint8, as on disk
    whole_batches = n >= batch_size  # as pipeline.train's rule for single-process training
    batch = batch_size * steps_per_call if whole_batches else n
    starts = tf.range(0, n // batch * batch, batch, dtype=tf.int64)

    def order(pass_seed):
        """This pass's permutation of the rows, from a stateless draw: reproducible, new every pass."""
        keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.constant(seed, tf.int64), pass_seed]))
        return tf.argsort(keys)

    def batches_of(rows):
        return tf.data.Dataset.from_tensor_slices(starts).map(lambda s: rows[s:s + batch])

    def gather(rows):
        if whole_batches:  # a static batch shape, as the HDF5 reader's
            rows = tf.ensure_shape(rows, (batch,))
        if steps_per_call > 1:
            rows = tf.reshape(rows, (steps_per_call, batch_size))
        return to_float(tf.gather(X, rows), tf.gather(y, rows))

    passes = tf.data.Dataset.counter(dtype=tf.int64).map(order)
    return passes.flat_map(batches_of).map(gather).prefetch(tf.data.AUTOTUNE)
