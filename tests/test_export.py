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
    length = max(map(len, sequences)) + 2  # padded past the longest too
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


# ---- the serving function of a model of sequences of different lengths, and of sequences cut on import ----

def _serving(problem: dict):
    """The export's serving function over an untrained Keras 3 model of `problem`, and the model."""
    from pipeline.backend import keras3, tf
    from pipeline.model import build_model

    keras3().utils.set_random_seed(0)
    net = build_model(problem, {"units": 4}, keras=keras3())
    serve, signature = export.serving_function(net, problem)
    return tf.function(serve, input_signature=signature), net


TOKENS = {"kind": "tokens", "length": 6, "n_features": 4, "n_classes": 3, "classes": ["a", "b", "c"],
          "variable": True, "pad_value": 0.0}


def _probs(net, rows: list, n_features: int = 4):
    from pipeline import tokens

    return net(tokens.padded_one_hot(rows, max(map(len, rows)), n_features)).numpy().max(-1)


def test_a_model_of_sequences_of_different_lengths_serves_them_padded_to_any_width():
    import numpy as np
    import pytest

    from pipeline.backend import tf

    serve, net = _serving(TOKENS)
    rows = [[1, 2, 3], [3, 0, 1, 2, 2, 1], [2]]
    for width in (6, 9):
        padded = np.full((3, width), -1, np.int32)
        for p, row in zip(padded, rows):
            p[:len(row)] = row
        np.testing.assert_allclose(serve(tf.constant(padded))["confidence"].numpy(), _probs(net, rows), atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 6 steps"):
        serve(tf.constant([[1, 2, 3, 0, 1, 2, 3]], tf.int32))


def test_a_model_of_sequences_cut_on_import_serves_longer_ones_cut_the_same_way():
    import numpy as np

    from pipeline.backend import tf

    long, short = [3, 0, 1, 2, 2, 1, 0, 3, 3], [1, 2]
    for keep, kept in (("head", [3, 0, 1, 2, 2, 1]), ("tail", [2, 2, 1, 0, 3, 3])):
        serve, net = _serving({**TOKENS, "max_length": 6, "keep": keep})
        padded = tf.constant([long, short + [-1] * 7], tf.int32)
        np.testing.assert_allclose(serve(padded)["confidence"].numpy(), _probs(net, [kept, short]), atol=1e-6)


def test_real_valued_sequences_cut_on_import_keep_their_tail_when_served():
    import numpy as np

    from pipeline.backend import tf

    problem = {**TOKENS, "kind": "features", "n_features": 2, "pad_value": -9.0, "max_length": 3, "keep": "tail",
               "feature_mean": [0.0, 0.0], "feature_std": [1.0, 1.0]}
    serve, net = _serving(problem)
    rows = np.random.default_rng(0).normal(size=(2, 5, 2)).astype(np.float32)
    rows[1, 2:] = -9.0  # the second has 2 steps, then padding
    expected = net(np.stack([rows[0, 2:], rows[1, :3]])).numpy().max(-1)
    np.testing.assert_allclose(serve(tf.constant(rows))["confidence"].numpy(), expected, atol=1e-6)
