"""Stage 5, export: the trained model as a TensorFlow SavedModel, the form TF Serving and
`tf.saved_model.load` run, with no need for this package.

Reads --model; writes --out, a SavedModel folder whose `serving_default` signature takes sequences
(`sequence`: int32 tokens (batch, length), or float32 features (batch, length, n_features)) and returns
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
    takes tokens.PAD_TOKEN, -1, as padding); real-valued features come as they are, padded with pad_value. Out come the
    class (int32), its name (label) and its probability (confidence)."""
    from pipeline.backend import tf

    length, n_features, names = problem["length"], problem["n_features"], tf.constant(problem["classes"])
    lowest = tokens.PAD_TOKEN if problem.get("variable") else 0

    def answer(probs):
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"class": best, "label": tf.gather(names, best), "confidence": tf.reduce_max(probs, axis=-1)}

    if problem["kind"] != "tokens":
        return (lambda sequence: answer(net(sequence, training=False)),
                [tf.TensorSpec((None, length, n_features), tf.float32, name="sequence")])

    def serve(sequence):
        checks = [tf.debugging.assert_greater_equal(sequence, lowest, message=f"values must be >= {lowest}"),
                  tf.debugging.assert_less(sequence, n_features, message=f"values must be < {n_features}")]
        with tf.control_dependencies(checks):
            return answer(net(tf.one_hot(sequence, n_features, dtype=tf.float32), training=False))

    return serve, [tf.TensorSpec((None, length), tf.int32, name="sequence")]


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
    shape = f"int32 (batch, {problem['length']})" if problem["kind"] == "tokens" else \
        f"float32 (batch, {problem['length']}, {problem['n_features']})"
    click.echo(f"wrote {out}: SavedModel, signature {modelfile.SIGNATURE}: sequence {shape} -> class int32, "
               "label string, confidence float32")
