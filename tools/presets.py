"""What the Makefile needs to know of the presets in pipeline/presets.py, read with the standard library
only (it runs before `make` has installed anything):

    python3 tools/presets.py imported            ->  the presets whose data is imported: japanese-vowels ...
    python3 tools/presets.py files NAME          ->  the files a preset imports (Make dependencies of its data)
    python3 tools/presets.py default             ->  the problem of generated data when PROBLEM is not given

The stages check the presets in full (pipeline/params.py); this only reads them.
"""
import runpy
import sys
from pathlib import Path

PRESETS_FILE = Path(__file__).resolve().parents[1] / "pipeline" / "presets.py"
FILE_KEYS = ("train_file", "test_file", "val_file")


def presets(path=PRESETS_FILE) -> dict:
    return runpy.run_path(str(path))["PRESETS"]


def default(path=PRESETS_FILE) -> str:
    return runpy.run_path(str(path))["DEFAULT_PROBLEM"]


def imported(found: dict) -> list:
    return [name for name, p in found.items() if isinstance(p, dict) and "import" in p]


def files(found: dict, name: str) -> list:
    section = found.get(name, {}).get("import", {}) if isinstance(found.get(name), dict) else {}
    return [str(section[k]) for k in FILE_KEYS if isinstance(section, dict) and section.get(k)]


if __name__ == "__main__":
    what, *rest = sys.argv[1:] or ["imported"]
    if what == "default":
        sys.exit(print(default()))
    found = presets()
    print(" ".join(imported(found) if what == "imported" else files(found, rest[0] if rest else "")))
