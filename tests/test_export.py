"""export in-process: a write that fails part-way keeps the previous export (tests/cli/test_portable.py
serves the export in plain TensorFlow)."""
from pathlib import Path

from pipeline import export
from tests.failing_writes import fails_cleanly, tf_no_space


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
