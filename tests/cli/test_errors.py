"""Bad input: exit 2 (option) or 1 (file), one line on stderr naming what is wrong, no traceback,
TensorFlow not loaded, and no output created or overwritten.

Each case runs `pipeline.cli.main`, the installed command's entry point, in its own process. To keep
this fast on two cores, the processes are forked from one driver that has imported the CLI once.
"""
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from pipeline import generate
from tests.conftest import ROOT, TINY
from tests.damage import drop as _drop
from tests.damage import replace as _replace
from tests.damage import set_row as _set_row

pytestmark = pytest.mark.slow

TF_LOADED = "TENSORFLOW WAS IMPORTED"
# Runs main(argv) and then says on stdout whether TensorFlow was imported.
MAIN = f"""
import os, sys, traceback
from pipeline.cli import main

def run(argv):
    code = 1
    try:
        main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        print("{TF_LOADED}" if "tensorflow" in sys.modules else "")
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(code)
"""
SINGLE = MAIN + "run(sys.argv[1:])\n"
# One forked process per case: {"args", "cwd", "stdout", "stderr"} in, exit codes out.
BATCH = MAIN + """
import json
codes = []
for case in json.load(sys.stdin):
    pid = os.fork()
    if pid == 0:
        os.chdir(case["cwd"])
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(case[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        run(case["args"])
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
"""
TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:)")
SENTINEL = b"previous output, must survive\n"
OUTPUTS = {"generate": ["data/echo.h5"],
           "train": ["artifacts/model.keras", "artifacts/history.csv", "artifacts/train.json"],
           "evaluate": ["artifacts/metrics.json"],
           "predict": ["artifacts/predictions.csv", "artifacts/predictions.json"], "inspect": []}
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _bad_option_cases():
    generate_cases = [(["--length", 0], "--length"), (["--n-features", 1], "--n-features"),
                      (["--out-index", 5], "--out-index"),  # the reference length is 5
                      (["--length", 3, "--out-index", 3], "--out-index"), (["--out-index", -1], "--out-index"),
                      (["--n-train", 0], "--n-train"), (["--n-val", 0], "--n-val"), (["--n-test", -3], "--n-test"),
                      (["--problem", "huge"], "--problem"), (["--compression", "zip"], "--compression"),
                      (["--seed", "one"], "--seed"), (["--seed", -1], "--seed"), (["--seed", 2**32], "--seed"),
                      (["--workers", 0], "--workers"), (["--workers", 1000], "--workers")]
    train_cases = [(["--batch-size", 0], "--batch-size"), (["--epochs", 0], "--epochs"), (["--units", 0], "--units"),
                   (["--learning-rate", 0], "--learning-rate"), (["--learning-rate", -0.1], "--learning-rate"),
                   (["--momentum", 1], "--momentum"), (["--momentum", -0.5], "--momentum"),
                   (["--target-accuracy", 0], "--target-accuracy"),
                   (["--target-accuracy", 1.01], "--target-accuracy"),
                   (["--optimizer", "rmsprop"], "--optimizer"), (["--out", "artifacts/model.h5"], "--out"),
                   (["--nonsense"], "--nonsense"), (["--seed", -1], "--seed"), (["--seed", "x"], "--seed"),
                   (["--learning-rate", "nan"], "--learning-rate"), (["--learning-rate", "inf"], "--learning-rate"),
                   (["--target-accuracy", "nan"], "--target-accuracy"), (["--clipnorm", "inf"], "--clipnorm"),
                   (["--threads", -1], "--threads"), (["--steps-per-execution", 0], "--steps-per-execution")]
    sequences = [("1,2,3", "has 3 values"), ("1,2,3,4,5,6", "has 6 values"), ("1,2,3,4,10", "outside [0, 10)"),
                 ("-1,2,3,4,5", "outside [0, 10)"), ("1,2,x,4,5", "not a comma-separated list")]
    for args, option in generate_cases:
        yield f"generate {' '.join(map(str, args))}", ["generate", *args], 2, [option]
    for args, option in train_cases:
        yield f"train {' '.join(map(str, args))}", ["train", "--data", "{data}", *args], 2, [option]
    yield "predict --sequence and --sequences", ["predict", "--model", "{model}", "--sequence", "1,2,3,4,5",
                                                 "--sequences", "x.txt"], 2, ["not both"]
    yield "resample --index -1", ["resample", "--data", "{data}", "--index", -1, "--out", "artifacts/r.npz"], 2, \
        ["--index"]
    yield "resamples-summary --n 1", ["resamples-summary", "artifacts", "--n", 1, "--data", "{data}"], 2, ["--n"]
    yield "train --settle-epochs -1", ["train", "--data", "{data}", "--settle-epochs", -1], 2, ["--settle-epochs"]
    for bad in (-1, 2):
        yield f"train --chrono {bad}", ["train", "--data", "{data}", "--chrono", bad], 2, ["--chrono"]
    yield "train --lr-at-length -5", ["train", "--data", "{data}", "--lr-at-length", -5], 2, ["--lr-at-length"]
    yield "sweep-summary --seeds x", ["sweep-summary", "artifacts", "--seeds", "0,x"], 2, ["--seeds", "'0,x'"]
    for seq, expected in sequences:
        yield f"predict --sequence {seq}", ["predict", "--model", "{model}", "--sequence", seq], 2, \
            ["--sequence", expected]


def _padded_layout(f):
    """A file as format 3 wrote it: each split's sequences padded, X (N, length, n_features)."""
    for split in ("train", "val", "test"):
        _replace(f"{split}/X", lambda X: X.reshape(-1, 5, 10))(f)
    f.attrs["format_version"] = 3


# Bad datasets, made from a good one by damage(h5py file).
DAMAGES = {
    "no_group": (_drop("val"), "missing group 'val'"),
    "no_dataset": (_drop("test/y"), "missing dataset 'test/y'"),
    "no_attribute": (lambda f: f.attrs.__delitem__("content_hash"), "missing attribute(s) content_hash"),
    "labels_missing": (_replace("val/y", lambda y: y[:-1]), "'val' has 1999 rows, attribute n_val says 2000"),
    "steps_missing": (_replace("val/X", lambda X: X[:-1]), "'val/X' has 9,999 steps, but 2,000 rows of 5 make 10,000"),
    "shapes_disagree": (_replace("train/y", lambda y: y[:, :-1]), "'train/y' has shape (20000, 9)"),
    "label_not_one_hot": (_set_row("test/y", 3, 0), "'test/y' rows 0-1024 are not one-hot"),
    "input_not_one_hot": (_set_row("train/X", -2, 1), "'train/X' rows 18976-20000 are not one-hot"),
    "label_not_the_echo": (_set_row("val/y", 0, np.roll(np.eye(10, dtype=np.uint8)[0], 1)), "out_index 2"),
    "wrong_dtype": (_replace("test/X", lambda X: X.astype(np.float32)), "must be X uint8 and y uint8"),
    "older_format": (_padded_layout, "format_version 3, expected 4; make it again ('generate' or 'import')"),
}
OTHER_BAD_DATA = {"truncated": "not a readable HDF5 file", "not_hdf5": "not a readable HDF5 file",
                  "empty_hdf5": "missing attribute(s)", "folder": "is a directory", "missing": "no such file"}
BAD_MODELS = {"text": "not a Keras .keras model", "dataset": "not a Keras .keras model",
              "zip": "no config.json inside", "no_metadata": "not saved by 'train'"}


def _bad_file_cases():
    for name, expected in {**{k: e for k, (_, e) in DAMAGES.items()}, **OTHER_BAD_DATA}.items():
        yield f"train --data {name}", ["train", "--data", f"{{bad}}/{name}.h5"], 1, [f"{{bad}}/{name}.h5", expected]
    for stage in ("evaluate", "predict", "inspect"):
        for name in ("truncated", "label_not_one_hot", "missing"):
            path = f"{{bad}}/{name}.h5"
            args = [path] if stage == "inspect" else ["--data", path, "--model", "{model}"]
            yield f"{stage} --data {name}", [stage, *args], 1, [path, OTHER_BAD_DATA.get(name, "not one-hot")]
    for stage in ("evaluate", "predict"):
        for name, expected in BAD_MODELS.items():
            path = f"{{bad}}/{name}.keras"
            yield f"{stage} --model {name}", [stage, "--data", "{data}", "--model", path], 1, [path, expected]
        yield f"{stage}: model of another problem", [stage, "--data", "{other}", "--model", "{model}"], 1, \
            ["{model}", "{other}", "was trained on a problem with", "length=5", "n_features=10", "out_index=2",
             "holds", "length=4", "n_features=3", "out_index=1"]
    inputs = {"generate": [], "train": ["--data", "{data}"], "evaluate": ["--data", "{data}", "--model", "{model}"]}
    inputs["predict"] = inputs["evaluate"]
    for stage, args in inputs.items():
        out = f"no/such/folder/out{Path(OUTPUTS[stage][0]).suffix}"
        yield f"{stage} --out in a missing folder", [stage, *args, "--out", out], 1, [out, "does not exist"]
    yield "evaluate --out a folder", ["evaluate", *inputs["evaluate"], "--out", "artifacts"], 1, \
        ["artifacts", "is a directory"]
    yield "export --out a file", ["export", "--model", "{model}", "--out", "data/echo.h5"], 2, \
        ["--out", "data/echo.h5", "is a file"]
    yield "export --out in a missing folder", ["export", "--model", "{model}", "--out", "no/such/export"], 1, \
        ["no/such/export", "does not exist"]
    for name, expected in BAD_MODELS.items():
        yield f"export --model {name}", ["export", "--model", f"{{bad}}/{name}.keras"], 1, [expected]
    yield "predict --sequences missing", ["predict", "--model", "{model}", "--sequences", "none.txt"], 1, \
        ["sequences none.txt", "no such file"]
    ensemble = ["ensemble", "--out", "artifacts/ensemble.keras", "--model", "{model}"]
    yield "ensemble of one model", ensemble, 1, ["two models or more", "got 1"]
    yield "ensemble with a file that is no model", [*ensemble, "--model", "{bad}/text.keras"], 1, \
        ["{bad}/text.keras", "not a Keras .keras model"]
    yield "ensemble of models of other data", [*ensemble, "--model", "{bad}/other_data.keras"], 1, \
        ["{bad}/other_data.keras", "other data", "000000000000", "{model}", "share one dataset"]
    yield "resample of a damaged dataset", ["resample", "--data", "{bad}/truncated.h5", "--index", 1, "--out",
                                            "artifacts/r.npz"], 1, ["{bad}/truncated.h5", "not a readable HDF5 file"]
    yield "resamples-summary without runs", ["resamples-summary", "artifacts", "--n", 2, "--data", "{data}"], 1, \
        ["artifacts/0/metrics.json", "no such file"]
    yield "ensemble of models of other problems", [*ensemble, "--model", "{bad}/other_problem.keras"], 1, \
        ["{bad}/other_problem.keras", "n_classes=3", "{model}", "n_classes=10", "share one problem"]
    yield "generate too large for the disk", ["generate", "--n-train", 10**12], 1, \
        ["data/echo.h5", re.compile(r"needs about [\d.]+ GiB but only [\d.]+ GiB is free")]


CASES = {case_id: (args, code, names) for case_id, args, code, names in (*_bad_option_cases(), *_bad_file_cases())}


def _make_bad_files(folder, good_data, good_model):
    for name, (damage, _) in DAMAGES.items():
        shutil.copyfile(good_data, folder / f"{name}.h5")
        with h5py.File(folder / f"{name}.h5", "r+") as f:
            damage(f)
    (folder / "truncated.h5").write_bytes(good_data.read_bytes()[: good_data.stat().st_size * 2 // 3])
    (folder / "not_hdf5.h5").write_text("just some text\n")
    h5py.File(folder / "empty_hdf5.h5", "w").close()
    (folder / "folder.h5").mkdir()
    (folder / "text.keras").write_text("not a model\n")
    shutil.copyfile(good_data, folder / "dataset.keras")
    good = zipfile.ZipFile(good_model)
    with zipfile.ZipFile(folder / "zip.keras", "w") as z:
        z.writestr("readme.txt", "a zip archive, but no model")
    _with_metadata(good, folder / "no_metadata.keras", None)
    metadata = json.loads(good.read("echo_pipeline.json"))
    dataset, problem = metadata["dataset"], metadata["dataset"]["problem"]
    _with_metadata(good, folder / "other_data.keras", {**metadata, "dataset": {**dataset, "content_hash": "0" * 64}})
    _with_metadata(good, folder / "other_problem.keras", {**metadata, "dataset": {
        **dataset, "problem": {**problem, "n_classes": 3, "classes": ["a", "b", "c"]}}})
    with zipfile.ZipFile(folder / "broken.keras", "w") as z:  # metadata fine, Keras content damaged
        z.writestr("config.json", "{not json")
        z.writestr("echo_pipeline.json", good.read("echo_pipeline.json"))


def _with_metadata(good: zipfile.ZipFile, path, metadata) -> None:
    """A copy of a good model file whose metadata is `metadata` (None: none)."""
    with zipfile.ZipFile(path, "w") as z:
        for n in good.namelist():
            if n != "echo_pipeline.json":
                z.writestr(n, good.read(n))
        if metadata is not None:
            z.writestr("echo_pipeline.json", json.dumps(metadata))


def _workspace(folder):
    """A working folder whose default outputs (data/, artifacts/) already hold earlier results."""
    for stage_outputs in OUTPUTS.values():
        for name in stage_outputs:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(SENTINEL)
    return folder


@pytest.fixture(scope="module")
def paths(tiny_data, trained, tmp_path_factory):
    bad = tmp_path_factory.mktemp("bad")
    _make_bad_files(bad, tiny_data, trained["model_path"])
    other = tmp_path_factory.mktemp("other") / "other.h5"
    generate.generate(other, {**TINY, "length": 4, "n_features": 3, "out_index": 1, "n_train": 500, "n_val": 50,
                              "n_test": 50})
    return {"data": str(tiny_data), "model": str(trained["model_path"]), "bad": str(bad), "other": str(other)}


@pytest.fixture(scope="module")
def results(paths, tmp_path_factory):
    """Run every case once, each in its own process and working folder."""
    base = tmp_path_factory.mktemp("cases")
    cases = []
    for i, (args, _, _) in enumerate(CASES.values()):
        cwd = _workspace(base / str(i))
        cases.append({"args": [str(a).format(**paths) for a in args], "cwd": str(cwd),
                      "stdout": str(base / f"{i}.out"), "stderr": str(base / f"{i}.err")})
    r = subprocess.run([sys.executable, "-c", BATCH], input=json.dumps(cases), env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    codes = json.loads(r.stdout.splitlines()[-1])
    return {case_id: (code, open(c["stdout"]).read(), open(c["stderr"]).read(), base / str(i))
            for i, (case_id, code, c) in enumerate(zip(CASES, codes, cases))}


def check_refusal(code, stdout, stderr, expected_code, names, tf_free=True) -> str:
    """Exit status, exactly one error line naming what is wrong, no traceback; returns the line."""
    lines = [line for line in stderr.splitlines() if line.strip() and (tf_free or not TF_NOISE.match(line))]
    assert code == expected_code, stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("echo-pipeline: error: "), stderr
    for name in names:
        assert (name.search(lines[0]) if isinstance(name, re.Pattern) else name in lines[0]), (name, lines[0])
    if tf_free:
        assert TF_LOADED not in stdout, "TensorFlow was imported before refusing"
    return lines[0]


def check_nothing_written(cwd, created=()):
    """Earlier outputs are byte-identical, nothing else appeared (no temporary files either)."""
    for name in (n for stage_outputs in OUTPUTS.values() for n in stage_outputs):
        assert (cwd / name).read_bytes() == SENTINEL, f"{name} was overwritten"
    found = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*") if p.is_file())
    assert found == sorted(n for stage_outputs in OUTPUTS.values() for n in stage_outputs), found
    for p in created:
        assert not p.exists(), f"{p} was created"


@pytest.mark.parametrize("case_id", list(CASES))
def test_refused(case_id, results, paths):
    args, expected_code, names = CASES[case_id]
    code, stdout, stderr, cwd = results[case_id]
    check_refusal(code, stdout, stderr, expected_code,
                  [n if isinstance(n, re.Pattern) else str(n).format(**paths) for n in names])
    check_nothing_written(cwd)


def run_single(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-c", SINGLE, *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=120, **kw)


def test_damaged_model_content(paths, tmp_path):
    """Only loading the weights finds this, so TensorFlow is loaded; still one line and nothing written."""
    cwd = _workspace(tmp_path)
    bad = f"{paths['bad']}/broken.keras"
    r = subprocess.run([sys.executable, "-m", "pipeline", "evaluate", "--data", paths["data"], "--model", bad],
                       cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)
    check_refusal(r.returncode, r.stdout, r.stderr, 1, [bad, "cannot be loaded"], tf_free=False)
    check_nothing_written(cwd)


def _without_dac_override():
    """In the child: drop root's power to write anywhere, so folder permissions apply to it too."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 1, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_DAC_OVERRIDE
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


@pytest.mark.parametrize("stage", ["generate", "train", "evaluate", "predict"])
def test_output_folder_not_writable(paths, tmp_path, stage):
    folder = tmp_path / "readonly"
    folder.mkdir()
    out = folder / f"out{Path(OUTPUTS[stage][0]).suffix}"
    inputs = {"generate": [], "train": ["--data", paths["data"]]}.get(
        stage, ["--data", paths["data"], "--model", paths["model"]])
    folder.chmod(0o555)
    try:
        r = run_single(stage, *inputs, "--out", out, cwd=tmp_path,
                       preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
    finally:
        folder.chmod(0o755)
    check_refusal(r.returncode, r.stdout, r.stderr, 1, [str(out), "not writable"])
    assert not list(folder.iterdir())


@pytest.mark.parametrize("stage", ["train", "predict"])
def test_help_does_not_load_tensorflow(tmp_path, stage):
    r = run_single(stage, "--help", cwd=tmp_path)
    assert r.returncode == 0 and "--data" in r.stdout and not r.stderr, r.stderr
    assert "Usage: " in r.stdout and TF_LOADED not in r.stdout
