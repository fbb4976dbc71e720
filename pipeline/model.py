"""The model family: recurrent classifiers over sequences, declared once, and how they are saved and
loaded.

A member is chosen by its settings (pipeline/params.py): the cell (LSTM or GRU), how many recurrent
layers are stacked, whether each reads both ways (bidirectional), and an optional Conv1D front end that
shortens long series by a factor (conv) before them, whose mean over the steps may sit beside theirs
(front_mean: an LSTM-FCN); pool says what the classifier reads of the last recurrent layer. The
default, one LSTM layer, is the book's vanilla LSTM: LSTM(units) -> Dense(n_classes, softmax). Every
member takes raw, padded values, masks padding (so padding never changes a prediction) and
standardises real-valued features inside itself, and is built from Keras' own layers only, so that
its Keras 3 copy loads in plain Keras 3.
"""
from pathlib import Path

import numpy as np

from pipeline import modelfile, recipe
from pipeline.backend import keras, keras3, tf
from pipeline.files import BadFile
from pipeline.fused_lstm import FusedLSTM

_tf_keras = keras  # build_model's default; Keras 3 is asked for by passing backend.keras3()

UNROLL_MAX_LENGTH = 32  # unrolling pays for short sequences only; long ones keep the while loop
CELLS = ("lstm", "gru")
CONV_WIDTHS = (8, 5, 3)  # the conv front end's windows, in steps (Wang et al. 2017's fully convolutional network)


class _Standardise(keras.layers.Normalization):
    """tf-keras' Normalization, passing the padding mask on (tf-keras' own drops it; Keras 3's, which
    the saved model uses, passes it on): training then skips padded steps as the saved model does."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True


def build_model(problem: dict, settings: dict, keras=keras):
    """The member of the family that `settings` names, over the problem's inputs
    (data.DatasetInfo.problem), in tf-keras or (keras=backend.keras3()) in Keras 3, both with the same
    weights in the same layout. settings: units, and optionally cell, layers, bidirectional, conv (see
    the module's docstring), unroll (None: for short sequences), dropout (of the recurrent layers'
    inputs, while training), backwards (the last recurrent layer reads from the last step), front_mean
    and branch_dropout (beside_front_mean; with front_mean, a functional model, not a Sequential). A model
    of sequences of different lengths takes any length up to the longest (it is never unrolled). The
    echo problem's vanilla model is 4 * units * (n_features + units + 1) + (units + 1) * n_features weights."""
    length = None if problem.get("variable") else problem["length"]
    unroll = settings.get("unroll")
    if unroll is None:
        unroll = length is not None and length <= UNROLL_MAX_LENGTH and not settings.get("conv")
    sequence = keras.Input(shape=(length, problem["n_features"]), name="sequence")
    front = conv_front(problem, settings, keras) if settings.get("conv") else input_layers(problem, keras)
    label = keras.layers.Dense(problem["n_classes"], activation="softmax", name="label")
    if settings.get("front_mean"):
        return beside_front_mean(sequence, front, recurrent_layers(settings, unroll, keras), label, settings, keras)
    return keras.Sequential([sequence, *front, *recurrent_layers(settings, unroll, keras), label],
                            name=architecture_name(settings))


def beside_front_mean(sequence, front: list, recurrent: list, label, settings: dict, keras):
    """The recurrent layers' output and the front end's outputs averaged over the (real) steps, side by
    side into the classifier: an LSTM-FCN (Karim et al. 2018, "LSTM fully convolutional networks for time
    series classification", IEEE Access, arXiv:1709.05206). With settings' branch_dropout, training
    zeroes the recurrent part for that share of the rows (so the front end's mean learns to classify
    alone too; the recurrent part alone overfits small data)."""
    x = sequence
    for layer in front:
        x = layer(x)
    h = x
    for layer in recurrent:
        h = layer(h)
    if settings.get("branch_dropout"):
        h = keras.layers.Dropout(settings["branch_dropout"], noise_shape=(None, 1), name="branch_dropout")(h)
    mean = keras.layers.GlobalAveragePooling1D(name="front_mean")(x)
    return keras.Model(sequence, label(keras.layers.Concatenate(name="beside")([h, mean])),
                       name=architecture_name(settings))


def architecture_name(settings: dict) -> str:
    """'vanilla_lstm', or e.g. 'conv4_2x_bidirectional_gru_mean'."""
    cell, stacked = settings.get("cell") or "lstm", settings.get("layers") or 1
    parts = [f"conv{settings['conv']}" if settings.get("conv") else "", f"{stacked}x" if stacked > 1 else "",
             "bidirectional" if settings.get("bidirectional") else "", cell,
             "mean" if settings.get("pool") == "mean" else "", "front_mean" if settings.get("front_mean") else ""]
    return "_".join(filter(None, parts)) if any(parts[:3]) or any(parts[4:]) or cell != "lstm" else "vanilla_lstm"


def input_layers(problem: dict, keras) -> list:
    """Masking of padded steps when lengths vary, and the standardising of real-valued features."""
    layers = []
    if problem.get("variable"):
        layers.append(keras.layers.Masking(mask_value=problem["pad_value"], name="padding"))
    if problem["kind"] == "features":
        standardise = _Standardise if keras is _tf_keras else keras.layers.Normalization
        layers.append(standardise(mean=problem["feature_mean"], variance=np.square(problem["feature_std"]),
                                  name="standardise"))
    return layers


def conv_front(problem: dict, settings: dict, keras, maxes: dict | None = None) -> list:
    """Three convolutions of `units` filters, each normalised and rectified: a window of 8 steps over
    every step, a max over a few steps, a window of 5 over those, a max over a few more (the two maxes:
    recipe.front_maxes, about `conv` steps in all), then a window of 3. The first looks at every step
    before the sequence is shortened, so that a short feature anywhere survives the pooling, and the
    second still reads fine steps, so that a feature a few times the first's window keeps its shape.

    Sequences of one length: standardised, each convolution batch-normalised. Sequences of different
    lengths: padding is kept out without masking the convolutions (Keras' Conv1D takes no mask):
    features are shifted so that a padded step is exactly zero (x - pad_value, scaled by the training
    std; no real step equals the pad value), and each convolution has no bias, reads the steps from its
    own on (zeros past the end) and keeps zeros zero (layer normalisation with no offset, beta, which
    works step by step, then ReLU); each max reads the same way, over values of at least zero. So a window
    that lies wholly past a sequence's end gives exactly zero, which Masking(0) skips, and every other
    window gives what the unpadded sequence gives it. The shift puts real values far from zero, which
    the first convolution trains poorly on (recipe.py leaves such series without this front end).
    maxes: {convolution i: steps of the max after it}, in place of recipe.front_maxes' (for trials)."""
    units, variable = settings["units"], bool(problem.get("variable"))
    maxes = maxes or dict(enumerate(recipe.front_maxes(settings["conv"]), start=1))
    if variable:
        shift = _Standardise if keras is _tf_keras else keras.layers.Normalization
        layers = [shift(mean=[problem["pad_value"]] * problem["n_features"],
                        variance=np.square(problem["feature_std"]), name="shift")] \
            if problem["kind"] == "features" else []
    else:
        layers = input_layers(problem, keras)
    for i, width in enumerate(CONV_WIDTHS, start=1):
        norm = (keras.layers.LayerNormalization(center=False, name=f"conv_norm_{i}") if variable else
                keras.layers.BatchNormalization(name=f"conv_norm_{i}"))
        layers += [keras.layers.ZeroPadding1D((0, width - 1), name=f"window_end_{i}"),
                   keras.layers.Conv1D(units, width, use_bias=False, name=f"conv_{i}"),
                   norm, keras.layers.Activation("relu", name=f"conv_relu_{i}")]
        if maxes.get(i, 1) > 1:
            layers += [keras.layers.ZeroPadding1D((0, maxes[i] - 1), name=f"pool_end_{i}"),
                       keras.layers.MaxPooling1D(maxes[i], name=f"pool_{i}")]
    return layers + ([keras.layers.Masking(mask_value=0.0, name="padding")] if variable else [])


def recurrent_layers(settings: dict, unroll: bool, keras) -> list:
    """`layers` recurrent layers of the cell (each but the last returning its sequence), each wrapped
    to read both ways when bidirectional; with backwards, the last reads from the last step. With pool
    "mean", the last returns its sequence too, averaged over the real steps (a masked average). A
    bidirectional layer that returns its sequence is never unrolled: Keras' unrolled backward pass
    misplaces its outputs against the padding mask (predictions then change with padding, by 1e-2).
    tf-keras' LSTM layers that are not unrolled train through the fused kernel (fused_lstm.py), unless
    the training step is compiled with XLA (jit), which cannot compile it; GRU keeps Keras' loop."""
    cell, bidirectional = settings.get("cell") or "lstm", bool(settings.get("bidirectional"))
    kind, stacked = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell], settings.get("layers") or 1
    fused = {}
    if cell == "lstm" and keras is _tf_keras and not settings.get("jit"):
        kind, fused = FusedLSTM, {"gaps": bool(settings.get("conv"))}  # the conv front's mask can have gaps
    out, mean = [], settings.get("pool") == "mean"
    for i in range(1, stacked + 1):
        name = cell if i == 1 else f"{cell}_{i}"
        layer = kind(settings["units"], unroll=unroll and not (bidirectional and (i < stacked or mean)),
                     dropout=settings.get("dropout") or 0.0,
                     return_sequences=i < stacked or mean, name=name,
                     go_backwards=bool(settings.get("backwards")) and i == stacked and not bidirectional, **fused)
        out.append(keras.layers.Bidirectional(layer, name=f"bidirectional_{name}") if bidirectional else layer)
    return out + ([keras.layers.GlobalAveragePooling1D(name="mean_over_steps")] if mean else [])


def lstm_layers(net) -> list:
    """The LSTM layers of a model, those inside a bidirectional wrapper included."""
    found = []
    for layer in net.layers:
        inner = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
        found += [i for i in inner if type(i).__name__ == "LSTM" or isinstance(i, FusedLSTM)]
    return found


class MultiStep(keras.Model):
    """A model that makes several optimizer steps per training call: it takes the batches of
    those steps stacked, X (steps, batch, ...) and y (steps, batch, classes), and steps through them in
    one compiled loop: the same steps as one call per batch, without each call's overhead (with
    jit_compile, one XLA program for the whole call). Evaluation and prediction take single batches."""

    def train_step(self, data):
        X, y = data

        def step(i):
            logs = keras.Model.train_step(self, (X[i], y[i]))
            with tf.control_dependencies(tf.nest.flatten(logs)):
                return i + 1

        # one iteration at a time: each step sees the weights the previous one left
        tf.while_loop(lambda i: i < tf.shape(X)[0], step, [tf.constant(0)], parallel_iterations=1)
        return self.get_metrics_result()


def multi_step(net):
    """A MultiStep over net's layers (the same weights), to be compiled with net's optimizer."""
    return MultiStep(net.inputs, net.outputs, name=net.name)


def chrono_init(net, horizon: int, seed: int) -> None:
    """Chrono initialisation of every LSTM layer's gate biases (Tallec & Ollivier, 2018, "Can recurrent
    neural networks warp time?", arXiv:1804.11188): forget-gate biases log(U(1, horizon - 1)), input-gate
    biases their negatives, so that at the start some units keep their cell for up to ~horizon steps.
    Keras orders the bias as [input, forget, cell, output]."""
    rng = np.random.default_rng(seed)
    for lstm in lstm_layers(net):
        kernel, recurrent, bias = lstm.get_weights()
        units = lstm.units
        forget = np.log(rng.uniform(1, horizon - 1, units))
        bias[:units], bias[units:2 * units] = -forget, forget
        lstm.set_weights([kernel, recurrent, bias])


def learning_rate(rate: float, schedule: str, total_steps: int):
    """The rate, or (cosine) a schedule that decays it on a cosine to 0 at the run's last step."""
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, total_steps))
    return rate


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.0, clipnorm: float | None = None,
                   ema: float = 0.0):
    """Adam or SGD from tf-keras' fused-kernel optimizers: one op per variable per step, which traces
    and runs faster on CPU than the newer Python-level optimizers (docs/performance.md). With ema > 0,
    the newer ones, which keep an exponential moving average of the weights (that momentum) and end
    fit with it: the fused ones cannot."""
    kw = {"clipnorm": clipnorm} if clipnorm else {}
    if ema:
        kw.update(use_ema=True, ema_momentum=ema)
        family = keras.optimizers
    else:
        family = keras.optimizers.legacy
    if name == "adam":
        return family.Adam(learning_rate, **kw)
    return family.SGD(learning_rate, momentum=momentum, **kw)


def compile_model(model, optimizer, steps_per_execution: int = 1, jit_compile: bool = False,
                  label_smoothing: float = 0.0) -> None:
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing) if label_smoothing else \
        "categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=steps_per_execution,
                  jit_compile=jit_compile)
    # Create the optimizer slots and metric variables now: variables created inside fit's first
    # step make TensorFlow trace the train function twice (about 0.6 s here).
    if hasattr(optimizer, "_create_all_weights"):
        optimizer._create_all_weights(model.trainable_variables)
    else:
        optimizer.build(model.trainable_variables)
    probe = tf.zeros((1, *(d or 1 for d in model.input_shape[1:])))  # any length: 1 step
    y_pred = model(probe)
    model.compiled_loss.build(y_pred)
    model.compiled_metrics.build(y_pred, tf.zeros_like(y_pred))


def portable_model(net, metadata: dict):
    """A Keras 3 copy of a trained tf-keras model, compiled as it was: the Keras of a user's
    `pip install tensorflow` cannot read tf-keras files, nor tf-keras Keras 3's (docs/keras.md)."""
    keras_3 = keras3()
    settings = metadata["settings"]
    copy = build_model(metadata["dataset"]["problem"], settings, keras=keras_3)
    copy.set_weights(net.get_weights())
    config = {"learning_rate": settings["learning_rate"], "clipnorm": settings["clipnorm"] or None}
    if settings["optimizer"] == "sgd":
        config["momentum"] = settings["momentum"]
    optimizer = keras_3.optimizers.get({"class_name": settings["optimizer"], "config": config})
    copy.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    optimizer.build(copy.trainable_variables)  # so loading finds the optimizer it was saved with
    return copy


def save_model(net, path, metadata: dict) -> None:
    """Save to the file `path` in Keras 3's .keras format with the metadata inside (callers write to a
    temporary file and publish it: files.atomic_output)."""
    path = Path(path)
    portable_model(net, metadata).save(path)
    modelfile.add_metadata(path, metadata)


def soft_vote(nets: list, name: str):
    """One Keras 3 model that averages the class probabilities of `nets` (Keras 3 models of one problem):
    fresh copies of them, named member_1, member_2, ..., as sub-models under one input, then
    keras.layers.Average. Keras' own layers only, so it loads in plain Keras 3."""
    keras_3 = keras3()
    members = []
    for i, net in enumerate(nets, 1):
        member = type(net).from_config({**net.get_config(), "name": f"member_{i}"})
        member.set_weights(net.get_weights())
        members.append(member)
    sequence = keras_3.Input(shape=nets[0].input_shape[1:], name="sequence")
    probabilities = keras_3.layers.Average(name="soft_vote")([member(sequence) for member in members])
    return keras_3.Model(sequence, probabilities, name=name)


def confusion_metric(n_classes: int):
    """A Keras 3 metric that counts (true, predicted) classes over a pass: the confusion matrix, from
    which metrics.scores derives every score (XLA compiles it too)."""
    keras_3 = keras3()
    ops = keras_3.ops

    class Confusion(keras_3.metrics.Metric):
        def __init__(self, name="confusion", **kwargs):
            super().__init__(name=name, **kwargs)
            self.counts = self.add_variable(shape=(n_classes, n_classes), initializer="zeros", name="counts",
                                            dtype="int64")

        def update_state(self, y_true, y_pred, sample_weight=None):
            true = ops.one_hot(ops.argmax(y_true, -1), n_classes)
            predicted = ops.one_hot(ops.argmax(y_pred, -1), n_classes)
            self.counts.assign_add(ops.cast(ops.matmul(ops.transpose(true), predicted), "int64"))

        def result(self):
            return self.counts

        def reset_state(self):
            self.counts.assign(ops.zeros((n_classes, n_classes), "int64"))

    return Confusion()


def load_model(path):
    """Load a model saved by save_model (in Keras 3); returns (model, metadata)."""
    metadata = modelfile.read_metadata(path)
    try:
        model = keras3().models.load_model(path, compile=True)
    except Exception as e:  # Keras raises many types for a damaged archive
        raise BadFile(f"model {path}: cannot be loaded ({str(e).splitlines()[0][:160]}); "
                      "made by an older version? run 'train' again") from None
    return model, metadata
