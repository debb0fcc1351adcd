"""`pip install .` into a fresh virtual environment on each supported Python,
then a consultation from another folder: the rule files ship in the package
and experta works on every version.

Slow (a virtual environment and an install per version); it runs in CI,
where every interpreter must be present.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT

VERSIONS = ["3.11", "3.12", "3.13"]
SKIP_PARTS = {".venv", ".git", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis"}


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
        return [n for n in names if n in SKIP_PARTS or n.endswith(".egg-info")]

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
