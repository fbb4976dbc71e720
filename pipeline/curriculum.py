"""A curriculum over sequence length, for echoes that must be carried across long sequences.

The label sits at out_index, so every prefix longer than out_index is itself a valid echo example,
only easier. Training starts on short prefixes of the stored sequences and moves to the next length
once the epoch's training accuracy reaches ADVANCE_ACCURACY, ending on the full length. Stages from
lr_at_length on train at the learning rate; shorter ones at a higher rate, scaled by
sqrt(lr_at_length / length): the rate that suits long sequences is slow for short ones, and one high
enough for short ones made long ones unstable (docs/experiments.md). Half the
batches use the current length, the others one of the earlier lengths, picked at random: this keeps
what was learnt and is cheaper (Zaremba & Sutskever's "mixed" curriculum). Validation runs on the
validation sequences cut to the current length: at 5,000 steps a full-length validation after every
epoch would cost more than the short stages' training; only a validation at the full length counts
toward the target. Batches are cut while still uint8, before the cast to float32, so the short
stages do not convert whole stored rows. The model the curriculum trains shares its layers (its
weights) with the full-length model that is saved.
"""
import json
from pathlib import Path

import click

from pipeline.files import write_text_atomic
from pipeline.options import int_list

ADVANCE_ACCURACY = 0.999


def parse(text) -> tuple:
    """'5,10,20' -> (5, 10, 20); '' or 'none' -> () (no curriculum); a tuple passes through."""
    if isinstance(text, (tuple, list)):
        return tuple(text)
    text = (text or "").strip().lower()
    if text in ("", "none"):
        return ()
    lengths = tuple(int_list(text, "5,10,20"))
    if any(b <= a for a, b in zip(lengths, lengths[1:])) or lengths[0] < 1:
        raise click.BadParameter(f"{text!r}: lengths must be positive and increasing")
    return lengths


def stages(lengths, length: int, out_index: int) -> list:
    """The prefix lengths to train on, ending with the full length; each must hold out_index."""
    short = [n for n in lengths if n < length]
    if short and short[0] <= out_index:
        raise click.BadParameter(f"prefix length {short[0]} does not reach out_index {out_index}",
                                 param_hint="'--curriculum'")
    return [*short, length]


def stage_learning_rate(learning_rate: float, length: int, lr_at_length: int) -> float:
    """The rate of a stage: learning_rate * sqrt(lr_at_length / length) below lr_at_length, else learning_rate."""
    if length < lr_at_length:
        return learning_rate * (lr_at_length / length) ** 0.5
    return learning_rate


def prepare(net, train_ds, val_ds, lengths, info, state_file: Path, seed: int = 0, steps_per_execution: int = 1,
            jit: bool = False, learning_rate: float = 0.001, lr_at_length: int = 0):
    """(model to fit, its training data, its validation data, callback): a variable-length model sharing
    net's layers and optimizer, fed prefixes whose length (and learning rate) the callback raises.
    train_ds and val_ds are uint8 batches (reader.make_dataset(cast=False)); what comes out is float32."""
    from pipeline.backend import keras, tf
    from pipeline.model import compile_model
    from pipeline.reader import to_float

    plan = stages(lengths, info.length, info.out_index)
    state = json.loads(state_file.read_text()) if state_file.exists() else {"stage": 0, "log": []}
    stage_var = tf.Variable(state["stage"], dtype=tf.int64, trainable=False, name="curriculum_stage")
    table = tf.constant(plan, tf.int64)
    trainer = keras.Sequential([keras.Input((None, info.n_features)), *net.layers], name="curriculum")
    compile_model(trainer, net.optimizer, steps_per_execution, jit)

    def rate(stage: int) -> float:
        return stage_learning_rate(learning_rate, plan[stage], lr_at_length)

    class Curriculum(keras.callbacks.Callback):
        """Moves to the next prefix length once training accuracy reaches ADVANCE_ACCURACY."""

        def __init__(self):
            super().__init__()
            self.state = state
            self.epoch_length = plan[state["stage"]]  # the length trained and validated on this epoch
            if not self.state["log"]:
                self.state["log"].append({"length": plan[0], "from_epoch": 1, "learning_rate": rate(0)})

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_length = plan[self.state["stage"]]
            keras.backend.set_value(net.optimizer.learning_rate, rate(self.state["stage"]))

        def on_epoch_end(self, epoch, logs=None):
            stage = self.state["stage"]
            if stage + 1 < len(plan) and (logs or {}).get("accuracy", 0.0) >= ADVANCE_ACCURACY:
                self.state["stage"] = stage + 1
                stage_var.assign(stage + 1)
                self.state["log"].append({"length": plan[stage + 1], "from_epoch": epoch + 2,
                                          "learning_rate": rate(stage + 1)})
            write_text_atomic(state_file, json.dumps(self.state))  # for a resumed run

    @tf.autograph.experimental.do_not_convert  # plain tensor ops; AutoGraph only warns about the closure
    def prefix(batch, r):
        """Cut a batch to the current length, or (odd r) to an earlier one picked by r."""
        (X, y), stage = batch, stage_var.read_value()
        earlier = (r // 2) % tf.maximum(stage, 1)
        n = tf.where((r % 2 == 0) | (stage == 0), table[stage], table[earlier])
        return to_float(X[:, :n], y)

    @tf.autograph.experimental.do_not_convert
    def current(X, y):
        return to_float(X[:, :table[stage_var.read_value()]], y)

    coins = tf.data.Dataset.random(seed=seed).map(lambda r: r % (2 ** 62))
    prefixes = tf.data.Dataset.zip((train_ds, coins)).map(prefix).prefetch(tf.data.AUTOTUNE)
    return trainer, prefixes, val_ds.map(current).prefetch(tf.data.AUTOTUNE), Curriculum()
