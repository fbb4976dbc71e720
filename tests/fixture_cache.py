"""`make mutation`: the expensive session fixtures, built once per mutmut run instead of once per mutant.

mutmut 3 tests each mutant in a fresh pytest session (a fork of its fork server), so `tiny_data`,
`trained`, `weak` and `long_test_data` would be rebuilt for every mutant. Instead, the first session that
needs them runs this module as a script (`python -m tests.fixture_cache FOLDER`, in mutants/): it builds
them with the original code (mutmut's "stats" mode, where every mutated function runs unmutated) and
records, through mutmut's trampolines (which run on every thread, TensorFlow's included), every mutated
function each build called. A session testing mutant M then copies a cached fixture only when M's
function is not among those its build called: the build runs only code M does not change, so it would
have made the same files. Otherwise the fixture is built afresh with M active, as before.

The cache lives in mutants/.fixture-cache/KEY, KEY a digest of the mutated sources and of this file and
conftest.py: a change to either builds a new one.
"""
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("tiny_data", "trained", "weak", "long_test_data")
NEEDS = {"trained": "tiny_data", "weak": "tiny_data"}  # built from tiny_data's file: its hits count too


def build_tiny_data(folder: Path) -> Path:
    from pipeline import generate
    from tests.conftest import TINY

    generate.generate(folder / "tiny.h5", TINY)
    return folder / "tiny.h5"


def _train(folder: Path, tiny: Path, options: dict) -> dict:
    from pipeline import train

    return train.train(tiny, folder / "model.keras", train.Options(**options), verbose=0)


def build_trained(folder: Path, tiny: Path) -> dict:
    """train.json's record of a model trained on the tiny dataset to the default target."""
    return _train(folder, tiny, {"seed": 1})


WEAK = {"epochs": 1, "steps_per_epoch": 2, "seed": 5}  # the weak model's training options


def build_weak(folder: Path, tiny: Path) -> dict:
    """A model trained for two batches only: far from perfect (about chance)."""
    return _train(folder, tiny, WEAK)


def build_long_test_data(folder: Path) -> Path:
    from pipeline import config, generate
    from tests.conftest import TINY

    path = folder / "long-test.h5"
    generate.generate(path, {**TINY, "n_train": 1_000, "n_val": 500, "n_test": config.PREDICT_BATCH + 1_234,
                             "seed": 11})
    return path


BUILDERS = {"tiny_data": build_tiny_data, "trained": build_trained, "weak": build_weak,
            "long_test_data": build_long_test_data}


def cache_folder() -> Path:
    h = hashlib.sha256()
    for p in sorted((ROOT / "pipeline").rglob("*.py")) + [Path(__file__), ROOT / "tests" / "conftest.py"]:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return ROOT / ".fixture-cache" / h.hexdigest()[:16]


def mutant_under_test() -> str:
    """The mutant this session tests ('pipeline.data.x_verify__mutmut_3'), or '' when it tests none."""
    try:
        from mutmut.mutation.trampoline import get_mutant_under_test
    except ImportError:
        return ""
    name = get_mutant_under_test()
    return name if "__mutmut_" in name else ""


def function_of(mutant: str) -> str:
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    return mangled_name_from_mutant_name(mutant)


def ensure(folder: Path) -> bool:
    """Build the cache in `folder` unless it exists (one builder at a time); True when it is there."""
    import fcntl

    if (folder / "index.pickle").exists():
        return True
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "index.pickle").exists():
            env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
            r = subprocess.run([sys.executable, "-m", "tests.fixture_cache", str(folder)], cwd=ROOT,
                               env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"fixture cache not built:\n{r.stdout[-2000:]}{r.stderr[-4000:]}", file=sys.stderr)
    return (folder / "index.pickle").exists()


def cached(name: str, tmp_path_factory):
    """(value, folder) of the cached fixture `name` copied into a fresh temporary folder, or None when
    this session must build it: no mutant under test, the mutant's function is one the build called,
    or there is no cache."""
    mutant = mutant_under_test()
    if not mutant or ROOT.name != "mutants":
        return None
    folder = cache_folder()
    if not ensure(folder):
        return None
    index = pickle.loads((folder / "index.pickle").read_bytes())
    if function_of(mutant) in index[name]["hits"]:
        return None
    copy = tmp_path_factory.mktemp(name)
    shutil.copytree(folder / name, copy, dirs_exist_ok=True)
    return index[name]["value"], copy


def _build(folder: Path) -> None:
    """Build every fixture in folder.tmp with the original code, recording the mutated functions each
    build calls; then rename it to folder."""
    from mutmut.mutation import trampoline

    hits = set()
    trampoline.record_trampoline_hit = lambda name, caller=None: hits.add(name)
    os.environ["MUTANT_UNDER_TEST"] = "stats"  # every trampoline runs the original and records itself
    os.environ["MUTMUT_DEPENDENCY_DEPTH"] = "-1"  # record calls at any depth
    trampoline.set_mutant_under_test("stats")

    work = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    index = {}
    hits.clear()
    for name in NAMES:
        (work / name).mkdir(parents=True)
        args = (work / NEEDS[name] / index[NEEDS[name]]["value"],) if name in NEEDS else ()
        value = BUILDERS[name](work / name, *args)
        if isinstance(value, Path):
            value = value.name
        json.dumps(value)  # plain data: no path into this folder
        index[name] = {"value": value, "hits": set(hits) | (index[NEEDS[name]]["hits"] if name in NEEDS else set())}
        hits.clear()
    assert set(index) == set(NAMES)
    (work / "index.pickle").write_bytes(pickle.dumps(index))
    os.replace(work, folder)


if __name__ == "__main__":
    _build(Path(sys.argv[1]))
