"""Goal 3 in one process (the train-pair sub-command): the same model fed by the HDF5 reader and from
memory, fit in turns so both see the same machine load."""
import math
import time

import click

MAX_CALLS_PER_TURN = 48  # of train_pair: about 1.5 s at batch 32


def train_pair(data, batch_size: int, pairs: int, steps_per_execution: int = 1, jit: bool = False,
               sources: tuple = ("hdf5", "memory")) -> dict:
    """Two identical models, one per input, each fit in turn (which goes first alternates) for two
    reader blocks' worth of batches (at most MAX_CALLS_PER_TURN training calls: at small batches a
    block lasts seconds and its read is a negligible part of the time). As `pipeline train` does, a
    call takes steps_per_execution batches in one compiled loop (model.MultiStep). A turn is timed from
    the end of its first call, which starts the input pipeline (the in-memory shuffle of the whole
    split; the reader's first blocks, while later reads fall in the timed part at their steady rate)
    to the end of its last; the first pair, which traces, is not counted."""
    from benchmarks import memory_feed
    from pipeline import data as dataset
    from pipeline import model as m
    from pipeline import reader, train
    from pipeline.backend import keras

    feeds = {"hdf5": train.training_dataset, "memory": memory_feed.training_dataset}
    if not sources or set(sources) - set(feeds):
        raise click.BadParameter(f"sources must be among {', '.join(feeds)}", param_hint="'--sources'")
    info = dataset.describe(data)
    blocks = 2 * reader.block_rows(batch_size * steps_per_execution, info.length, info.n_features) // batch_size
    calls = min(max(3, math.ceil(blocks / steps_per_execution)), MAX_CALLS_PER_TURN)

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):  # once per training call of `steps_per_execution` batches
            self.ends.append(time.perf_counter())

    fed = {}
    for source in sources:
        keras.utils.set_random_seed(0)
        net = m.build_model(info.problem, {"units": 25})
        m.compile_model(net, m.make_optimizer("adam", 1e-3), 1, jit)
        if steps_per_execution > 1:
            net = train.multi_step_trainer(net, {"jit": jit, "label_smoothing": 0.0})
        fed[source] = (net, feeds[source](info, batch_size, 0, steps_per_call=steps_per_execution))
    rates = {source: [] for source in fed}
    for i in range(pairs + 1):
        for source in (sources if i % 2 else sources[::-1]):
            net, ds = fed[source]
            clock = Clock()
            net.fit(ds, epochs=1, steps_per_epoch=calls, verbose=0, callbacks=[clock])
            if i:
                samples = (len(clock.ends) - 1) * steps_per_execution * batch_size
                rates[source].append(samples / (clock.ends[-1] - clock.ends[0]))
    return {**rates, "steps_per_turn": calls * steps_per_execution}
