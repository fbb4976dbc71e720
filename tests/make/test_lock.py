"""requirements.lock, the versions `make` installs: it satisfies every requirement pyproject.toml declares,
it was written by the command `make lock` runs, this environment holds exactly its versions, and `make`
installs exactly them into a new environment."""
import json
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")


def parse_lock(text: str, environment: dict) -> dict:
    """{name: version} of the pins whose markers hold in `environment`; ValueError for a line that is
    neither a pin, a comment nor blank."""
    pins = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match:
            raise ValueError(f"line {number}: {line!r} is not name==version [; marker]")
        name, version, marker = match.groups()
        if marker is None or Requirement(f"x; {marker}").marker.evaluate(environment):
            pins[canonicalize_name(name)] = version
    return pins


def unmet(requirements, pins: dict, environment: dict) -> list:
    """The requirements (that apply in `environment`) which no pin satisfies."""
    missing = []
    for text in requirements:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate(environment):
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (locked: {version})")
    return missing


def declared() -> list:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [*project["dependencies"], *(r for extra in extras for r in extra)]


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13"])
def test_the_lock_satisfies_every_declared_requirement(python):
    environment = {**default_environment(), "python_version": python, "python_full_version": f"{python}.0"}
    pins = parse_lock((ROOT / "requirements.lock").read_text(), environment)
    assert unmet(declared(), pins, environment) == []


def test_the_lock_was_written_by_make_lock():
    command = subprocess.run(["make", "-s", "--no-print-directory", "print-LOCK_COMMAND"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    header = (ROOT / "requirements.lock").read_text().splitlines()[:2]
    assert header[1].strip("# ").startswith(command), header


def test_this_environment_holds_the_locked_versions():
    """`make` installs with the lock as constraints: every locked package installed here is at its pin."""
    pins = parse_lock((ROOT / "requirements.lock").read_text(), default_environment())
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert {n: (v, installed[n]) for n, v in pins.items() if installed.get(n, v) != v} == {}
    assert {"tensorflow", "keras", "numpy", "h5py", "pytest"} <= set(installed)


def test_a_requirement_the_lock_does_not_meet_is_reported():
    environment = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.7"}
    pins = parse_lock("# header\nnumpy==2.4.6 ; python_full_version == '3.11.*'\nnumpy==2.2.6 ; "
                      "python_full_version < '3.11'\nclick==8.1.0\n", environment)
    assert pins == {"numpy": "2.4.6", "click": "8.1.0"}
    assert unmet(["numpy>=2.3", "click>=8.1", "h5py>=3", "colorama; sys_platform == 'win32'"], pins, environment) \
        == ["h5py>=3 (locked: None)"]
    assert unmet(["numpy<2.4"], pins, environment) == ["numpy<2.4 (locked: 2.4.6)"]
    with pytest.raises(ValueError, match="line 2: 'numpy>=2' is not name==version"):
        parse_lock("# x\nnumpy>=2\n", environment)


# `make`'s own recipe, run with a Python whose `-m venv DIR` makes a new environment whose pip resolves
# and reports what it would install there, instead of downloading it.
FAKE_PYTHON = """#!{python}
import os, shutil, subprocess, sys
from pathlib import Path
if sys.argv[1:3] == ["-m", "venv"]:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", *sys.argv[3:]], check=True)
    shutil.copy({pip!r}, Path(sys.argv[-1]) / "bin" / "pip")
else:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""
FAKE_PIP = """#!{python}
import subprocess, sys
from pathlib import Path
venv = Path(sys.argv[0]).parent.parent
assert sys.argv[1] == "install", sys.argv
report = venv / f"report-{{len(list(venv.glob('report-*.json')))}}.json"
sys.exit(subprocess.call([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                          "--dry-run", "--report", str(report), *sys.argv[2:]]))
"""
HELD = ("tqdm", "4.66.0")  # an older release than the newest, needed by nothing but the project


def fake(path, text: str, **values):
    path.write_text(text.format(python=sys.executable, **values))
    path.chmod(0o755)
    return path


def test_make_installs_the_locked_versions_into_a_new_environment(tmp_path):
    """Every package `make` installs into a new environment, the project's dependencies and the dev extra,
    is at the lock's version: none is missing from the lock, none at the newest release instead. The
    lock is the project's, with tqdm held at an older release, so the lock, not the index, decides. pip
    reads the package index but installs nothing."""
    from tools.project_copy import copy_project

    project = copy_project(tmp_path / "p")
    name, version = HELD
    lock = re.sub(rf"(?m)^{name}==\S+", f"{name}=={version}", (ROOT / "requirements.lock").read_text())
    (project / "requirements.lock").write_text(lock)
    python = fake(tmp_path / "python", FAKE_PYTHON, pip=str(fake(tmp_path / "pip", FAKE_PIP)))
    venv = tmp_path / "venv"
    r = subprocess.run(["make", f"PYTHON={python}", f"VENV={venv}", f"{venv}/.installed"], cwd=project,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    reports = [json.loads(p.read_text())["install"] for p in venv.glob("report-*.json")]
    would, = ({canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report}
              for report in reports if any(i["metadata"]["name"] == "echo-pipeline" for i in report))
    del would["echo-pipeline"]
    pins = parse_lock(lock, default_environment())
    assert {n: (v, pins.get(n)) for n, v in would.items() if pins.get(n) != v} == {}
    assert would[name] == version and {"tensorflow", "keras", "pytest", "mutmut"} <= set(would)
