"""The shape of the code: explanations are built once in engine/, the
renderers only lay them out, and the command line only parses, prompts and
prints. Read from the source with ``ast``, so a change that breaks the shape
fails here, however the program behaves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
CLI = PROJECT / "cli.py"
RENDERERS = [PROJECT / "engine" / "render_text.py", PROJECT / "engine" / "render_json.py"]

# what a case or a knowledge base answers when asked: the engine's business
LOOKUPS = {
    "support",
    "conflicts",
    "known",
    "holds",
    "concepts",
    "questions",
    "justifications",
    "rules_using",
    "rules_concluding",
    "loop_through",
    "firings",
    "steps",
}
# the modules a renderer may import at run time, and what it may take from reasoning
RENDERER_IMPORTS = {"model", "consultation", "reasoning", "answers", "errors"}
REASONING_TYPES = {"Case", "Conflict", "ConflictSide", "Justification", "SetAside", "Step", "Support"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_the_cli_builds_no_json():
    """No dict is written in a function of cli.py, and json is never imported:
    JSON documents come whole from engine/render_json.py."""
    tree = _tree(CLI)
    dicts = [
        f"{fn.name}:{node.lineno}" for fn in _functions(tree) for node in ast.walk(fn) if isinstance(node, ast.Dict)
    ]
    assert dicts == []
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "json" not in imported


def test_the_cli_looks_nothing_up_in_a_case_or_a_knowledge_base():
    tree = _tree(CLI)
    used = sorted(
        f"{node.attr}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in LOOKUPS
        # a renderer's function named like what it lays out is not a lookup
        and not (isinstance(node.value, ast.Name) and node.value.id.startswith("render_"))
    )
    assert used == []


def test_the_cli_reasons_only_through_the_engine():
    """The CLI calls the reasoner and the explanation builders, and never
    compares or filters what they return."""
    tree = _tree(CLI)
    comprehensions = [
        f"{fn.name}:{node.lineno}"
        for fn in _functions(tree)
        for node in ast.walk(fn)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp)
    ]
    assert comprehensions == []


def _runtime_imports(tree: ast.Module):
    """(module, names) of each import outside ``if TYPE_CHECKING:``."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            hidden.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in hidden and node.level == 1:
            yield node.module or "", {alias.name for alias in node.names}


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: p.name)
def test_a_renderer_imports_data_not_reasoning(path):
    imports = dict(_runtime_imports(_tree(path)))
    assert set(imports) <= RENDERER_IMPORTS, set(imports) - RENDERER_IMPORTS
    assert imports.get("reasoning", set()) <= REASONING_TYPES


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: p.name)
def test_a_renderer_asks_a_case_nothing(path):
    """A renderer reads the structure it is given; it never runs the
    reasoner or asks a case for what holds."""
    tree = _tree(path)
    calls = sorted(
        f"{node.func.attr}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"reason", "holds", "rules_using", "rules_concluding", "loop_through", "rules_about"}
    )
    assert calls == []
