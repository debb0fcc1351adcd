"""`pip install .` into a fresh virtual environment on each supported Python,
then a consultation from another folder: the rule files ship in the package
and experta works on every version. And `pip install .` and `pip install -e .`
each expose the package `cofactor` and nothing else of the checkout.

Slow (a virtual environment and an install per case); it runs in CI,
where every interpreter must be present.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT

VERSIONS = ["3.11", "3.12", "3.13"]
SKIP_PARTS = {".git", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def _interpreter(version: str) -> str | None:
    """A working python<version>: pyenv's own copy first (its shims may not
    be active), then whatever is on PATH."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))
    on_path = shutil.which(f"python{version}")
    for candidate in candidates[::-1] + ([on_path] if on_path else []):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(map(int, version.split(".")))):
            return candidate
    return None


def _copy_project(dest: Path) -> Path:
    def ignore(folder, names):
        # .venv* too: CI's .venv-lint and .venv-min sit beside .venv
        return [n for n in names if n in SKIP_PARTS or n.startswith(".venv") or n.endswith(".egg-info")]

    shutil.copytree(PROJECT, dest, ignore=ignore)
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_pip_install_and_consult(version, tmp_path):
    python = _interpreter(version)
    if python is None:
        if os.environ.get("CI"):
            pytest.fail(f"Python {version} is not installed; CI must test every supported version")
        pytest.skip(f"Python {version} is not installed here")
    source = _copy_project(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(source)], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "cofactor"), "consult", "--no-input", "--json", "-a", "magnesium_status=severely_low"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no experta log lines, no warnings
    data = json.loads(result.stdout)
    found = {f"{c['concept']}={c['state']}" for c in data["conclusions"]}
    assert {"pth_secretion=impaired", "blood_calcium=low"} <= found
    rules = subprocess.run(
        [str(venv / "bin" / "cofactor"), "rules", "--json"], capture_output=True, text=True, cwd=elsewhere, timeout=300
    )
    assert len(json.loads(rules.stdout)) >= 40


# Run in the new environment, from a folder of its own, with -I (nothing from
# the environment or the working folder on the path): which names of the
# checkout import, and which modules the package `cofactor` holds.
EXPOSURE_PROBE = """
import importlib.metadata, importlib.util, json, os, pkgutil, sys

source = sys.argv[1]

def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False

names = set()
for entry in os.listdir(source):
    stem, ext = os.path.splitext(entry)
    if stem.isidentifier() and stem != "__init__" and (ext == ".py" or os.path.isdir(os.path.join(source, entry))):
        names |= {stem, "cofactor." + stem}
for entry in os.listdir(os.path.join(source, "engine")):
    stem, ext = os.path.splitext(entry)
    if ext == ".py" and stem != "__init__":
        names.add("cofactor.engine." + stem)
import cofactor
walked = [m.name for m in pkgutil.walk_packages(cofactor.__path__, "cofactor.", onerror=lambda name: None)]
files = {p.parts[0] for p in importlib.metadata.files("cofactor")}
print(json.dumps({
    "importable": sorted(n for n in names | {"cofactor"} if found(n)),
    "walked": sorted(walked),
    "files": sorted(files),
}))
"""

INSTALLS = {
    "regular": [],
    "editable": ["-e"],
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", [*INSTALLS, "editable-lenient-control"])
def test_an_install_exposes_the_package_and_nothing_else(kind, tmp_path):
    """`pip install .` and `pip install -e .` make importable exactly
    `cofactor`, `cofactor.cli`, `cofactor.engine.*` and `cofactor.rules`:
    nothing else of the checkout (tests, bench, build, build_backend...),
    under `cofactor.` or at the top level. An editable install is setuptools'
    strict mode, which build_backend/strict_editable.py makes the default; the
    control asks for the lenient mode and must see the checkout leak, or this
    test could not fail."""
    source = _copy_project(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    if kind == "editable-lenient-control":
        options = ["-e", str(source), "--config-settings", "editable_mode=lenient"]
    else:
        options = [*INSTALLS[kind], str(source)]
    # --no-deps: the probe finds modules, it runs none of them
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", *options], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", EXPOSURE_PROBE, str(source)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    engine = sorted(f"cofactor.engine.{p.stem}" for p in (source / "engine").glob("*.py") if p.stem != "__init__")
    if kind == "editable-lenient-control":
        assert {"cofactor.tests", "cofactor.bench", "cofactor.build_backend"} <= set(seen["importable"])
        return
    assert seen["importable"] == sorted(["cofactor", "cofactor.cli", "cofactor.engine", "cofactor.rules", *engine])
    assert seen["walked"] == sorted(["cofactor.cli", "cofactor.engine", *engine])
    # the distribution's own files: the package, its metadata, the command
    # (and for an editable install the .pth and finder that point at the checkout)
    stray = [p for p in seen["files"] if p not in {"cofactor", ".."} and not p.endswith(".dist-info")]
    assert [p for p in stray if not p.startswith("__editable__")] == []
