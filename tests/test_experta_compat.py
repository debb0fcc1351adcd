"""experta 1.9.4 on current Python: the one compatibility fix, and its logging."""

from __future__ import annotations

import collections
import collections.abc
import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_plain_import_of_experta_fails_without_the_fix():
    """Proves the problem is real here, so the fix is not dead code."""
    result = _run("import experta")
    assert result.returncode != 0 and "Mapping" in result.stderr


def test_the_engine_imports_experta_and_the_aliases_are_the_abc_classes():
    from cofactor.engine import _experta

    assert _experta.experta.__version__ == "1.9.4"
    # the aliases are what the shim adds at run time: read them as attributes
    assert getattr(collections, "Mapping") is collections.abc.Mapping  # noqa: B009
    assert getattr(collections, "MutableMapping") is collections.abc.MutableMapping  # noqa: B009


def test_only_one_module_imports_experta():
    from pathlib import Path

    import cofactor.engine

    root = Path(cofactor.engine.__file__).parent
    users = sorted(p.name for p in root.glob("*.py") if "import experta" in p.read_text(encoding="utf-8"))
    assert users == ["_experta.py"]
    cli = (root.parent / "cli.py").read_text(encoding="utf-8")
    assert "experta" not in cli


def test_experta_logs_never_reach_the_screen():
    code = (
        "import logging\n"
        "import cofactor.engine\n"
        "from cofactor.engine import _experta\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "logging.getLogger('experta.watchers.ENGINE').warning('Declaring fact before reset()')\n"
        "_experta.experta.watchers.RULES.warning('FIRE 1 x')\n"
        "eng = _experta.experta.KnowledgeEngine()\n"
        "eng.declare(_experta.experta.Fact(a=1))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("args", [["--version"], ["consult", "--no-input", "-a", "magnesium_status=low"]])
def test_the_console_script_prints_no_log_lines(args):
    result = subprocess.run([sys.executable, "-m", "cofactor.cli", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
