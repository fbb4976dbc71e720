"""The Make rules on a tiny configuration, in a temporary copy of the project: each stage is a file
target that reruns only when its inputs, parameters or source change."""
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT
from tests.make.conftest import make

pytestmark = pytest.mark.slow

STAGES = {"generate": "data/echo.h5", "train": "artifacts/model.keras",
          "evaluate": "artifacts/metrics.json", "predict": "artifacts/predictions.csv"}


def planned(project, *args):
    """The stages `make -n all` would run now."""
    out = make(project, "-n", "all", *args).stdout
    return {s for s in STAGES if f"-m pipeline {s}" in out}


def test_rerun_rules(project):
    make(project, "all")
    assert all((project / p).exists() for p in STAGES.values())
    assert planned(project) == set()
    assert "-m pipeline" not in make(project, "all").stdout  # a second run starts no stage

    assert planned(project, "BATCH_SIZE=64") == {"train", "evaluate", "predict"}
    assert planned(project, "SEED=1") == set(STAGES)
    assert planned(project) == set(STAGES)  # the stamps now hold SEED=1: back to defaults reruns all
    make(project, "all")

    for module, expected in (("train.py", {"train", "evaluate", "predict"}), ("evaluate.py", {"evaluate"}),
                             ("generate.py", set(STAGES))):
        src = project / "pipeline" / module
        text, times = src.read_text(), os.stat(src)
        src.write_text(text + "\n# edited\n")
        assert planned(project) == expected, module
        src.write_text(text)  # as it was, and as old: the stages are up to date again
        os.utime(src, ns=(times.st_atime_ns, times.st_mtime_ns))
        assert planned(project) == set(), module


def test_report_rule(project):
    """`make report` writes the run's page once, and again when a baseline.json appears beside the run."""
    make(project, "report")
    page = project / "artifacts" / "report.md"
    assert "## Test metrics" in page.read_text() and "`make baseline` adds them" in page.read_text()
    assert "-m pipeline report" not in make(project, "-n", "report").stdout
    (project / "artifacts" / "baseline.json").write_text('{"classifiers": {"1-NN DTW": {"accuracy": 0.5}}}')
    assert make(project, "-n", "report").stdout.count("-m pipeline") == 1  # the report only
    make(project, "report")
    assert "| 1-NN DTW | 0.5000 |" in page.read_text()


def test_failed_stage_leaves_nothing_done(project):
    make(project, "all")
    r = make(project, "train", "LR=-1", check=False)
    assert r.returncode != 0 and "--learning-rate" in r.stderr
    assert "train" in planned(project, "LR=-1")  # the old model is still stale for these parameters
    shutil.rmtree(project / "data")
    (project / "data").mkdir()
    r = make(project, "data", "N_TRAIN=0", check=False)
    assert r.returncode != 0 and not (project / "data" / "echo.h5").exists()
    assert not list((project / "data").iterdir())


def imported_modules(module: str) -> set:
    """Source files of every pipeline module `module` imports, directly or not, at any depth of its code
    (imports inside functions too), with the packages' __init__.py that Python runs on the way."""
    import ast

    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / name.replace(".", "/") / "__init__.py"
        if path in seen or not path.exists():
            continue
        seen.add(path)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
                todo += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("pipeline")]
    return {str(p.relative_to(ROOT)) for p in seen}


@pytest.mark.parametrize("stage", ["generate", "import", "train", "evaluate", "predict", "export", "report",
                                   "baseline", "ensemble", "resample"])
def test_each_rule_lists_every_module_its_stage_imports(stage):
    """Make's source lists are written by hand: one that misses a module would leave the stage
    up to date after that module changed."""
    r = subprocess.run(["make", "-s", "--no-print-directory", f"print-{stage.upper()}_SRC"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = set(r.stdout.split())
    module = {"import": "importer"}.get(stage, stage)
    missing = imported_modules(f"pipeline.{module}") - listed
    assert not missing, f"the {stage} rule does not list {sorted(missing)}"
    assert f"pipeline/{module}.py" in listed


def test_a_preset_of_ones_own_files_imports_again_when_a_file_changes(project):
    """A preset added as the README says (its files named in its import section) is found by Make, and
    its files are its data's dependencies."""
    rows = "\n".join(f"{'ab'[i % 2]},{i % 2},{(i + 1) % 3},{i % 2}" for i in range(40))
    (project / "mine_train.csv").write_text(rows + "\n")
    (project / "mine_test.csv").write_text(rows + "\n")
    presets = project / "pipeline" / "presets.py"
    original = presets.read_text()
    presets.write_text(original + '\nPRESETS["mine"] = {"import": {"train_file": "mine_train.csv", '
                       '"test_file": "mine_test.csv"}, "train": {"units": 4, "learning_rate": 0.01}}\n')
    try:
        mine = ["PROBLEM=mine", "N_VAL=4"]
        assert "-m pipeline import" in make(project, "-n", "data", *mine).stdout
        make(project, "data", *mine)
        assert (project / "data" / "mine.h5").exists()
        assert "-m pipeline import" not in make(project, "-n", "data", *mine).stdout
        (project / "mine_test.csv").write_text(rows + "\nb,1,1,1\n")
        assert "-m pipeline import" in make(project, "-n", "data", *mine).stdout
    finally:
        presets.write_text(original)
