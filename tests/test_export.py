"""export in-process: sequences padded to the model's length get plain Keras 3's answers on their real
steps; a write that fails part-way keeps the previous export (tests/cli/test_portable.py serves the
export in plain TensorFlow)."""
from pathlib import Path

import numpy as np
import pytest

from pipeline import export
from tests.conftest import RAGGED
from tests.failing_writes import fails_cleanly, tf_no_space


def test_padded_sequences_get_keras_answers_on_their_real_steps(ragged, tmp_path):
    """A model of sequences of different lengths: the SavedModel takes shorter ones padded with -1, and
    answers each as plain Keras 3 answers its real steps alone, unpadded."""
    from pipeline.backend import keras3, tf

    export.export(ragged / "model.keras", tmp_path / "export")
    serve = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    model = keras3().models.load_model(ragged / "model.keras")
    sequences = [[int(token) for token in line.split(",")[1:]] for line in RAGGED]
    length = model.input_shape[1]
    served = {k: v.numpy() for k, v in serve(sequence=tf.constant(
        [s + [-1] * (length - len(s)) for s in sequences], tf.int32)).items()}
    classes, unpadded = ["eggs", "ham", "spam"], {}
    for n in {len(s) for s in sequences}:  # the real steps of the sequences of each length
        rows = [i for i, s in enumerate(sequences) if len(s) == n]
        probs = model(np.eye(10, dtype=np.float32)[[sequences[i] for i in rows]], training=False).numpy()
        unpadded.update({i: (int(p.argmax()), classes[p.argmax()], pytest.approx(p.max(), abs=1e-6))
                         for i, p in zip(rows, probs)})
    assert [(int(c), label.decode(), float(p)) for c, label, p in zip(
        served["class"], served["label"], served["confidence"])] == [unpadded[i] for i in range(len(sequences))]
    assert len({len(s) for s in sequences}) > 2 and min(map(len, sequences)) < length


def test_export_failing_part_way_keeps_the_previous_export(trained, tmp_path, monkeypatch):
    from pipeline.backend import keras3

    out = tmp_path / "export"
    (out / "variables").mkdir(parents=True)
    (out / "saved_model.pb").write_bytes(b"the previous export")
    archive = type(keras3().export.ExportArchive())  # the backend's class

    def write_out(self, folder, **kw):  # a part of the SavedModel, then the disk is full
        Path(folder).mkdir()
        (Path(folder) / "saved_model.pb").write_bytes(b"partial")
        raise tf_no_space()

    monkeypatch.setattr(archive, "write_out", write_out)
    fails_cleanly(tmp_path, out, lambda: export.export(trained["model_path"], out))


def test_a_model_of_an_older_version_is_refused_in_one_line(tmp_path):
    """A model whose metadata predates the classes (format 2) is named as such, not a traceback."""
    import json
    import zipfile

    from tests.conftest import invoke

    old = tmp_path / "old.keras"
    with zipfile.ZipFile(old, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("echo_pipeline.json", json.dumps({"dataset": {"problem": {"length": 5, "n_features": 10,
                                                                             "out_index": 2}}}))
    r = invoke("export", "--model", old, "--out", tmp_path / "export")
    assert (r.returncode, r.stderr) == (1, f"echo-pipeline: error: model {old}: its echo_pipeline.json has no kind, "
                                           "n_classes, classes (made by an older version?); run 'train' again\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.keras"]
