"""The model: padding never changes a prediction. A sequence predicted alone, padded to any width (the
reader pads a batch to its bucket length, predict to the longest given), gives the same output as in a
batch with longer ones, and as a model made for exactly its length, in tf-keras (which trains) and in the
Keras 3 copy (which is saved), for tokens and for standardised real-valued features."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import echo, tokens
from pipeline.backend import keras3
from pipeline.model import build_model

LENGTH, FEATURES = 9, 3


def problem(kind: str, length=LENGTH, variable=True, pad=0.0) -> dict:
    p = {"kind": kind, "length": length, "n_features": FEATURES, "n_classes": 4, "classes": list("abcd"),
         "variable": variable, "pad_value": pad}
    if kind == "features":
        p.update(feature_mean=[0.5, -1.0, 2.0], feature_std=[2.0, 0.5, 1.0])
    return p


def sequence(kind: str, rng, n: int) -> np.ndarray:
    if kind == "tokens":
        return tokens.one_hot(rng.integers(0, FEATURES, n), FEATURES).astype(np.float32)
    return rng.normal(size=(n, FEATURES)).astype(np.float32)


def padded(rows, pad: float, width: int = LENGTH) -> np.ndarray:
    out = np.full((len(rows), width, FEATURES), pad, np.float32)
    for x, row in zip(out, rows):
        x[:len(row)] = row
    return out


# The model family (pipeline/model.py): every member keeps every promise.
ARCHITECTURES = {
    "vanilla": {},
    "stacked": {"layers": 2},
    "bidirectional": {"bidirectional": True},
    "stacked bidirectional": {"layers": 2, "bidirectional": True},
    "gru": {"cell": "gru"},
    "cnn-lstm": {"conv": 2},
    "cnn, stacked bidirectional gru": {"conv": 3, "layers": 2, "bidirectional": True, "cell": "gru"},
    "mean over the steps": {"pool": "mean"},
    "cnn, bidirectional, mean": {"conv": 2, "bidirectional": True, "pool": "mean"},
    "cnn-lstm, front mean beside": {"conv": 2, "front_mean": True},
    "cnn, bidirectional, mean, front mean beside, branch dropout": {"conv": 5, "bidirectional": True, "pool": "mean",
                                                                    "front_mean": True, "branch_dropout": 0.5},
}


class Members(dict):
    """(kind, member) -> the tf-keras model, its Keras 3 copy, a function that gives the Keras 3 model of an
    exact length with the same weights, and the pad value; each built when first asked for."""

    def __missing__(self, key):
        kind, name = key
        pad = {"tokens": 0.0, "features": -9.0}[kind]
        arch = ARCHITECTURES[name]
        settings = {"units": 6, "dropout": 0.25, **arch,
                    "backwards": kind == "features" and not arch.get("bidirectional") and "pool" not in arch}
        tf_keras = build_model(problem(kind, pad=pad), settings)
        copy = build_model(problem(kind, pad=pad), settings, keras=keras3())
        copy.set_weights(tf_keras.get_weights())

        def exact(n):
            if arch.get("conv"):  # its front end normalises differently without padding: itself, fed x alone
                return copy
            model = build_model(problem(kind, n, variable=False, pad=pad), settings, keras=keras3())
            model.set_weights(tf_keras.get_weights())
            return model

        self[key] = (tf_keras, copy, exact, pad)
        return self[key]


@pytest.fixture(scope="module")
def models():
    return Members()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["tokens", "features"]), arch=st.sampled_from(list(ARCHITECTURES)),
       n=st.integers(1, LENGTH - 1), seed=st.integers(0, 10 ** 6),
       others=st.lists(st.integers(1, LENGTH), min_size=1, max_size=4), wider=st.integers(0, LENGTH))
def test_padding_never_changes_a_prediction(models, kind, arch, n, seed, others, wider):
    tf_keras, copy, exact, pad = models[kind, arch]
    rng = np.random.default_rng(seed)
    x = sequence(kind, rng, n)
    batch = padded([x] + [sequence(kind, rng, m) for m in others], pad, max(n, *others) + wider)
    alone = padded([x], pad, min(n + wider, LENGTH))
    unpadded = exact(n)(x[None], training=False).numpy()
    for model in (tf_keras, copy):
        np.testing.assert_allclose(model(alone, training=False).numpy(), unpadded, atol=1e-6)
        np.testing.assert_allclose(model(batch, training=False).numpy()[:1], unpadded, atol=1e-6)


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a != "vanilla"])
def test_each_member_is_another_model(arch):
    """A setting of the family changes the model: its layers and weights (and its name says which)."""
    vanilla = build_model(problem("tokens"), {"units": 6})
    member = build_model(problem("tokens"), {"units": 6, **ARCHITECTURES[arch]})
    layers = [(type(layer).__name__, layer.count_params()) for layer in member.layers]
    assert layers != [(type(layer).__name__, layer.count_params()) for layer in vanilla.layers]
    assert member.name != vanilla.name


def test_a_model_of_sequences_of_different_lengths_takes_any_length(models):
    for kind in ("tokens", "features"):
        tf_keras, copy, exact, _ = models[kind, "vanilla"]
        assert tf_keras.input_shape == copy.input_shape == (None, None, FEATURES)
        assert exact(3).input_shape == (None, 3, FEATURES)  # one length: a static one, as before


def test_the_echo_model_is_unchanged():
    """The book's model: one-hot sequences of 5 over 10 values in, 10 probabilities out, LSTM(25) ->
    Dense(10) in 3,860 weights (4 * 25 * (10 + 25 + 1) + (25 + 1) * 10)."""
    net = build_model(echo.problem(5, 10, 2), {"units": 25})
    assert net.count_params() == 3860 and net.input_shape == (None, 5, 10) and net.output_shape == (None, 10)
    probs = net(np.eye(10, dtype="float32")[[[7, 0, 2, 6, 7]]]).numpy()
    assert probs.shape == (1, 10) and abs(probs.sum() - 1) < 1e-5


def test_features_are_standardised_inside_the_model(models):
    """Raw values go in: the model subtracts the training mean and divides by the training std."""
    _, copy, _, _ = models["features", "vanilla"]
    layer = copy.get_layer("standardise")
    x = np.array([[[0.5, -1.0, 2.0], [2.5, -0.5, 3.0]]], np.float32)
    assert np.allclose(layer(x).numpy(), [[[0, 0, 0], [1, 1, 1]]])


@pytest.mark.parametrize("jit", [False, True])
def test_several_steps_per_call_make_the_same_steps_as_one_call_per_batch(jit):
    """MultiStep: k batches in one training call leave the weights, step count and metrics of k calls of
    the standard model (to float rounding under XLA, which fuses the arithmetic differently)."""
    from pipeline.backend import keras, tf
    from pipeline.model import compile_model, make_optimizer, multi_step

    seqs = np.random.default_rng(0).integers(0, 10, (6, 16, 5))
    X, y = tokens.one_hot(seqs, 10).astype(np.float32), tokens.one_hot(seqs[..., 2], 10).astype(np.float32)
    keras.utils.set_random_seed(1)
    alone = build_model(echo.problem(5, 10, 2), {"units": 25})
    stepped = build_model(echo.problem(5, 10, 2), {"units": 25})
    stepped.set_weights(alone.get_weights())
    compile_model(alone, make_optimizer("adam", 0.01))
    compile_model(stepped, make_optimizer("adam", 0.01))
    loop = multi_step(stepped)
    compile_model(loop, stepped.optimizer, 1, jit)
    for i in range(len(X)):
        last = alone.train_on_batch(X[i], y[i], reset_metrics=False, return_dict=True)
    logs = loop.fit(tf.data.Dataset.from_tensors((X, y)), epochs=1, verbose=0).history
    assert int(stepped.optimizer.iterations) == int(alone.optimizer.iterations) == len(X)
    for a, b in zip(alone.get_weights(), stepped.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-6 if jit else 0)
    assert logs["loss"][0] == pytest.approx(last["loss"], abs=1e-6)
    assert logs["accuracy"][0] == pytest.approx(last["accuracy"])
    assert loop.count_params() == alone.count_params() == 3860


@pytest.mark.parametrize("conv", [1, 3, 7, 23])
def test_the_conv_front_end_shortens_a_sequence_about_its_factor(conv):
    """--conv K: n steps reach the recurrent layer as at most ceil(n / K) steps and at least
    ceil(n / 2K); a padded sequence as many real steps as the same sequence unpadded."""
    def front(net):
        recurrent = next(i for i, layer in enumerate(net.layers) if "lstm" in layer.name)
        return net.layers[:recurrent]

    def steps(n):
        net = build_model(problem("features", n, variable=False), {"units": 4, "conv": conv})
        return front(net)[-1].output_shape[1]

    for n in (50, 23, 1):
        assert -(-n // (2 * conv)) <= steps(n) <= -(-n // conv)
    x = np.random.default_rng(0).normal(size=(3, 50, FEATURES)).astype(np.float32)
    lengths = [50, 23, 1]
    x[1, 23:], x[2, 1:] = -9.0, -9.0
    out = x
    for layer in front(build_model(problem("features", 50, pad=-9.0), {"units": 4, "conv": conv})):
        out = layer(out)
    real = np.asarray(out._keras_mask).sum(1)
    assert list(real) == [steps(n) for n in lengths]
