"""Stage 5, export: the trained model as a TensorFlow SavedModel, the form TF Serving and
`tf.saved_model.load` run, with no need for this package.

Reads --model; writes --out, a SavedModel folder whose `serving_default` signature takes integer
sequences (`sequence`: int32, (batch, length)) and returns the echo (`echo`: int32) and its probability
(`confidence`: float32). The one-hot encoding happens inside the graph, which refuses values outside
[0, n_features). The model's metadata (training parameters, dataset hash) is written to
assets.extra/echo_pipeline.json, where TF Serving keeps files beside a model.

    python -m pipeline export --model artifacts/model.keras --out artifacts/export
"""
import json

import click

from pipeline import config, modelfile
from pipeline.files import atomic_output, writable_target
from pipeline.options import model_option


def export(model_path, out) -> dict:
    """Write the SavedModel folder `out` from the model file; returns the model's metadata."""
    metadata = modelfile.read_metadata(model_path)
    writable_target(out, folder=True)
    from pipeline.backend import keras3, tf
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    problem = metadata["dataset"]["problem"]
    length, n_features = problem["length"], problem["n_features"]

    def serve(sequence):
        checks = [tf.debugging.assert_non_negative(sequence, message="values must be >= 0"),
                  tf.debugging.assert_less(sequence, n_features, message=f"values must be < {n_features}")]
        with tf.control_dependencies(checks):
            probs = net(tf.one_hot(sequence, n_features, dtype=tf.float32), training=False)
        return {"echo": tf.argmax(probs, axis=-1, output_type=tf.int32),
                "confidence": tf.reduce_max(probs, axis=-1)}

    archive = keras3().export.ExportArchive()
    archive.track(net)
    archive.add_endpoint(modelfile.SIGNATURE, serve,
                         input_signature=[tf.TensorSpec((None, length), tf.int32, name="sequence")])
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
    click.echo(f"wrote {out}: SavedModel, signature {modelfile.SIGNATURE}: sequence int32 "
               f"(batch, {problem['length']}) -> echo int32, confidence float32")
