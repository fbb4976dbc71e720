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
