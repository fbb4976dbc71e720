"""A copy of what `make all` reads, with empty data/ and artifacts/: the project tests/make/ runs `make`
in and `make bench` times `make all` in. The standard library only."""
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_NEEDS = ("Makefile", "pyproject.toml", "requirements.lock", "pipeline", "tools")  # what `make all` reads


def copy_project(dst: Path) -> Path:
    """A copy of what `make all` needs, with empty data/ and artifacts/."""
    dst.mkdir()
    for name in MAKE_NEEDS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / name)
    (dst / "data").mkdir(), (dst / "artifacts").mkdir()
    return dst
