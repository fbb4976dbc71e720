"""inspect prints readable summaries; for data and CSV/JSON it never imports TensorFlow."""
import subprocess
import sys

from tests.conftest import ROOT, run_cli

NO_TF = ("import sys; from pipeline import inspection; print(inspection.report(sys.argv[1])); "
         "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")


def _report_without_tf(path):
    r = subprocess.run([sys.executable, "-c", NO_TF, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_inspect_dataset(tiny_data):
    out = _report_without_tf(tiny_data)
    assert "train X (20000, 5, 10) uint8" in out and "test  X (3000, 5, 10)" in out
    assert "out_index 2" in out and "label balance" in out and "] -> " in out


def test_inspect_artifacts(trained):
    folder = trained["model_path"].parent
    assert "best val_accuracy" in _report_without_tf(folder / "history.csv")
    assert "content_hash" in _report_without_tf(folder / "train.json")
    r = run_cli("inspect", trained["model_path"])
    assert r.returncode == 0, r.stderr
    assert "lstm (LSTM): output (None, 25), 3,600 weights" in r.stdout
    assert "echo (Dense): output (None, 10), 260 weights" in r.stdout and "3,860 weights in all" in r.stdout
    assert f"learning_rate={trained['params']['learning_rate']}" in r.stdout
    assert f"content_hash {trained['dataset']['content_hash'][:12]}" in r.stdout


def test_inspect_predictions(trained, tmp_path):
    from pipeline import predict

    out = tmp_path / "p.csv"
    predict.predict(trained["data_path"], trained["model_path"], out)
    text = _report_without_tf(out)
    assert "3,000 rows" in text and "accuracy" in text and "confidence mean" in text
