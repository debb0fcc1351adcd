"""Shared fixtures: the built-in knowledge base, a reasoner, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cofactor.cli import BUILTIN_RULES, cli
from cofactor.engine import Reasoner, load
from cofactor.engine import answers as answer_io

PROJECT = Path(__file__).resolve().parents[1]
# The shared folder beside the project: the source texts and the contract's
# scenarios. CI always has it; a clone of the project alone does not.
SHARED = PROJECT.parent / "shared"


# Every question of the built-in knowledge base answered (so a consultation
# goes straight to its conclusions and the explain prompt), as -a options;
# the symptom question is the last.
ALL_ANSWERED = [
    "-a",
    "magnesium_status=adequate",
    "-a",
    "magnesium_rich_foods=often",
    "-a",
    "calcium_intake=adequate",
    "-a",
    "calcium_supplement=no",
    "-a",
    "vitamin_d_supplement=none",
    "-a",
    "sun_exposure=adequate",
    "-a",
    "symptom=fatigue",
]


def needs_shared(path: Path) -> Path:
    """Return `path`, a file under ../shared, for a test that reads it.

    When it is missing the test is skipped with a one-line reason, or fails
    when the environment variable CI is set (CI always has ../shared, so a
    missing file there is an error, never a silent skip). Every test that
    reads anything under ../shared goes through here."""
    if not path.exists():
        name = f"../shared/{path.relative_to(SHARED).as_posix()}" if path.is_relative_to(SHARED) else str(path)
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: CI must have ../shared beside the project", pytrace=False)
        pytest.skip(f"{name} is absent: ../shared is not beside the project (with CI set, this fails)")
    return path


def pytest_configure(config):
    """The tests keep their knowledge-base cache in a folder of their own
    (inherited by the commands they start), never in the user's."""
    folder = tempfile.mkdtemp(prefix="cofactor-test-cache-")
    os.environ["COFACTOR_CACHE_DIR"] = folder
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(scope="session")
def kb():
    return load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent)


@pytest.fixture(scope="session")
def reasoner(kb):
    return Reasoner(kb)


@pytest.fixture(scope="session")
def reason(reasoner, kb):
    """reason("magnesium_status=low", ...) -> Case"""

    def run(*pairs):
        return reasoner.reason(answer_io.build(kb, pairs))

    return run


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run the CLI; success-path callers get exceptions raised, not hidden."""

    def run(*args, input=None, expect=0, color=False):
        # color=True keeps the styles (bold, red...) a terminal would show
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=expect != 0, color=color)
        assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
        if expect != 0:
            # a deliberate exit, never an exception escaping the program
            assert isinstance(result.exception, SystemExit), result.exception
            assert "Traceback" not in result.stderr + result.stdout
            assert result.stdout == "", "nothing goes to standard output on an error"
        return result

    return run


@pytest.fixture
def invoke_json(invoke):
    def run(*args, **kw):
        result = invoke(*args, "--json", **kw)
        return json.loads(result.stdout)

    return run


def facts_of(data) -> set[str]:
    """The "concept=state" strings of a consultation's JSON conclusions."""
    return {f"{c['concept']}={c['state']}" for c in data["conclusions"]}
