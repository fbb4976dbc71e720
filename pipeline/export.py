"""Stage 5, export: the trained model as a TensorFlow SavedModel, the form TF Serving and
`tf.saved_model.load` run, with no need for this package.

Reads --model; writes --out, a SavedModel folder whose `serving_default` signature takes sequences
(`sequence`: int32 tokens (batch, length), or float32 features (batch, length, n_features); of any
length, padded, when the model's training sequences had different lengths) and returns
the class (`class`: int32), its name (`label`: string) and its probability (`confidence`: float32).
Tokens are one-hot encoded inside the graph; features are standardised inside the model. The model's
metadata (training parameters, dataset hash) is written to assets.extra/echo_pipeline.json, where TF
Serving keeps files beside a model.

    python -m pipeline export --model artifacts/model.keras --out artifacts/export
"""
import json

import click

from pipeline import config, modelfile, tokens
from pipeline.files import atomic_output, writable_target
from pipeline.options import model_option


def serving_function(net, problem: dict):
    """(the function TF Serving calls, its input signature). Tokens come as integers, one-hot encoded
    in the graph, which refuses values outside [0, n_features) (and, for sequences of different lengths,
    takes tokens.PAD_TOKEN, -1, as padding after each sequence, of any width); real-valued features come as
    they are, padded with pad_value. Sequences longer than the longest the model was trained on are
    refused, or, when import cut them to max_length, cut the same way (cut_like_import). Out come the
    class (int32), its name (label) and its probability (confidence)."""
    from pipeline.backend import tf

    n_features, names = problem["n_features"], tf.constant(problem["classes"])
    variable, lowest = problem.get("variable"), tokens.PAD_TOKEN if problem.get("variable") else 0
    length = None if variable else problem["length"]

    def answer(probs):
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"class": best, "label": tf.gather(names, best), "confidence": tf.reduce_max(probs, axis=-1)}

    if problem["kind"] != "tokens":
        def serve_features(sequence):
            if variable:
                sequence = cut_like_import(sequence, tf.reduce_any(sequence != problem["pad_value"], -1), problem)
            return answer(net(sequence, training=False))

        return serve_features, [tf.TensorSpec((None, length, n_features), tf.float32, name="sequence")]

    def serve(sequence):
        checks = [tf.debugging.assert_greater_equal(sequence, lowest, message=f"values must be >= {lowest}"),
                  tf.debugging.assert_less(sequence, n_features, message=f"values must be < {n_features}")]
        with tf.control_dependencies(checks):
            if variable:
                sequence = cut_like_import(sequence, sequence != tokens.PAD_TOKEN, problem)
            return answer(net(tf.one_hot(sequence, n_features, dtype=tf.float32), training=False))

    return serve, [tf.TensorSpec((None, length), tf.int32, name="sequence")]


def cut_like_import(sequence, real, problem: dict):
    """Padded sequences (batch, width, ...) whose real steps (`real`, (batch, width): those before the
    padding) are cut to at most max_length, their head or tail, as import cut the training data; without
    a max_length, refused when longer than the longest the model was trained on."""
    from pipeline.backend import tf

    lengths = tf.reduce_sum(tf.cast(real, tf.int32), axis=1)
    most = problem.get("max_length")
    if not most:
        check = tf.debugging.assert_less_equal(lengths, problem["length"], message=f"sequences must have at most "
                                               f"{problem['length']} steps, the longest the model was trained on")
        with tf.control_dependencies([check]):
            return tf.identity(sequence)
    if problem["keep"] == "head":
        return sequence[:, :most]
    first = tf.maximum(lengths - most, 0)  # each row's first kept step
    at = first[:, None] + tf.range(tf.minimum(tf.shape(sequence)[1], most))[None]
    kept = tf.gather(sequence, tf.minimum(at, tf.shape(sequence)[1] - 1), batch_dims=1)
    pad = tf.cast(tokens.PAD_TOKEN if sequence.dtype.is_integer else problem["pad_value"], sequence.dtype)
    inside = at < lengths[:, None]
    return tf.where(inside if sequence.dtype.is_integer else inside[:, :, None], kept, pad)


def export(model_path, out) -> dict:
    """Write the SavedModel folder `out` from the model file; returns the model's metadata."""
    metadata = modelfile.read_metadata(model_path)
    writable_target(out, folder=True)
    from pipeline.backend import keras3
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    serve, signature = serving_function(net, metadata["dataset"]["problem"])
    archive = keras3().export.ExportArchive()
    archive.track(net)
    archive.add_endpoint(modelfile.SIGNATURE, serve, input_signature=signature)
    with atomic_output(out, folder=True) as tmp:
        archive.write_out(str(tmp), verbose=False)
        provenance = tmp / modelfile.EXPORT_METADATA
        provenance.parent.mkdir(exist_ok=True)
        provenance.write_text(json.dumps({**metadata, "model_file": str(model_path)}, indent=2))
    return metadata


@click.command("export")
@model_option
@click.option("--out", type=click.Path(file_okay=False), default=config.EXPORT_PATH, show_default=True,
              help="SavedModel folder to write (replaced if it exists).")
def cli(model_path, out):
    """Export the model as a TensorFlow SavedModel for serving."""
    metadata = export(model_path, out)
    problem = metadata["dataset"]["problem"]
    steps = "steps" if problem.get("variable") else problem["length"]
    shape = f"int32 (batch, {steps})" if problem["kind"] == "tokens" else \
        f"float32 (batch, {steps}, {problem['n_features']})"
    click.echo(f"wrote {out}: SavedModel, signature {modelfile.SIGNATURE}: sequence {shape} -> class int32, "
               "label string, confidence float32")
