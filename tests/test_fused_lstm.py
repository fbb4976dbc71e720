"""The fused LSTM (pipeline/fused_lstm.py) computes Keras' LSTM: with the same weights, the same outputs and
the same gradients (of the weights and the inputs), with and without padding, forwards and backwards, the
last step or the whole sequence, the batch in one part or several."""
import numpy as np
import pytest

from pipeline import fused_lstm
from pipeline.backend import keras, tf
from pipeline.fused_lstm import FusedLSTM

ROWS, STEPS, FEATURES, UNITS = 9, 11, 3, 7


def batch(padded: bool, seed: int = 0):
    """Inputs (ROWS, STEPS, FEATURES), zero past each row's length, and the padding mask."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, STEPS + 1, ROWS) if padded else np.full(ROWS, STEPS)
    lengths[0] = STEPS
    mask = np.arange(STEPS) < lengths[:, None]
    return tf.constant(rng.normal(size=(ROWS, STEPS, FEATURES)).astype(np.float32) * mask[..., None]), mask


def outputs_and_gradients(layer, x, mask, backwards: bool):
    """The layer's outputs (zero where Keras leaves padding) and the gradients of a fixed weighted sum of
    them with respect to its weights and its inputs."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, mask=tf.constant(mask), training=True)
        if layer.return_sequences:  # Keras' order: a backwards layer's sequence starts at the last step
            out *= tf.cast(mask[:, ::-1] if backwards else mask, tf.float32)[..., None]
        weights = np.random.default_rng(1).normal(size=out.shape).astype(np.float32)
        loss = tf.reduce_sum(out * weights)
    return [out, *tape.gradient(loss, [*layer.weights, x])]


@pytest.mark.parametrize("split", [False, True], ids=["one part", "two parts"])
@pytest.mark.parametrize("sequences", [False, True], ids=["last step", "sequence"])
@pytest.mark.parametrize("backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("padded", [False, True], ids=["one length", "padded"])
def test_the_fused_kernel_computes_keras_lstm(monkeypatch, padded, backwards, sequences, split):
    monkeypatch.setattr(fused_lstm, "parts", lambda rows: [4, ROWS - 4] if split else [rows])
    x, mask = batch(padded)
    keras_lstm = keras.layers.LSTM(UNITS, go_backwards=backwards, return_sequences=sequences)
    fused = FusedLSTM(UNITS, go_backwards=backwards, return_sequences=sequences)
    keras_lstm.build(x.shape)
    fused.build(x.shape)
    rng = np.random.default_rng(2)
    weights = [rng.normal(0, 0.8, v.shape).astype(np.float32) for v in keras_lstm.weights]
    keras_lstm.set_weights(weights)
    fused.set_weights(weights)
    expected = outputs_and_gradients(keras_lstm, x, mask, backwards)
    for got, want, what in zip(outputs_and_gradients(fused, x, mask, backwards), expected,
                               ["outputs", "kernel", "recurrent kernel", "bias", "inputs"]):
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=what)


def test_a_mask_with_gaps_takes_keras_loop():
    """Inside a row, a masked step is skipped (the conv front end's mask can do that), which the kernel
    cannot: a layer made with gaps=True gives Keras' result for such a batch, and the kernel's otherwise."""
    x, _ = batch(padded=False)
    mask = np.ones((ROWS, STEPS), bool)
    mask[:, 3] = False
    keras_lstm, fused = keras.layers.LSTM(UNITS), FusedLSTM(UNITS, gaps=True)
    keras_lstm.build(x.shape)
    fused.build(x.shape)
    fused.set_weights(keras_lstm.get_weights())
    np.testing.assert_allclose(fused(x, mask=tf.constant(mask)), keras_lstm(x, mask=tf.constant(mask)), atol=1e-6)
    assert FusedLSTM.from_config(fused.get_config()).gaps  # a bidirectional layer's copy keeps it


def test_a_batch_runs_in_one_part_per_thread_of_at_least_min_part_rows(monkeypatch):
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: 3)
    assert fused_lstm.parts(None) == [None]  # not known when tracing
    assert fused_lstm.parts(2 * fused_lstm.MIN_PART_ROWS - 1) == [2 * fused_lstm.MIN_PART_ROWS - 1]
    assert fused_lstm.parts(41) == [20, 21]
    assert fused_lstm.parts(200) == [66, 66, 68]


def test_a_layer_that_may_meet_gaps_trains_in_a_graph_as_keras():
    """A layer made with gaps=True (after the conv front end) inside a compiled training step, as fit
    traces it: the kernel's branch, chosen at run time, gives Keras' gradients for a padded batch, and
    Keras' loop for a batch with gaps."""
    x, padding = batch(padded=True)
    gaps = padding.copy()
    gaps[:, 3] = False
    keras_lstm, fused = keras.layers.LSTM(UNITS), FusedLSTM(UNITS, gaps=True)
    keras_lstm.build(x.shape)
    fused.build(x.shape)
    fused.set_weights(keras_lstm.get_weights())

    def gradients(layer):
        @tf.function
        def step(x, mask):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(x, mask=mask, training=True) ** 2)
            return tape.gradient(loss, layer.weights)
        return step

    fused_step, keras_step = gradients(fused), gradients(keras_lstm)
    for mask in (padding, gaps):
        for got, want in zip(fused_step(x, tf.constant(mask)), keras_step(x, tf.constant(mask))):
            np.testing.assert_allclose(got, want, atol=1e-5)
