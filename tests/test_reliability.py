"""Reliability: order never matters, nothing in a rule file is executed or
trusted, and failures inside the engine leave it clean."""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofactor.cli import BUILTIN_RULES, cli
from cofactor.engine import Fact, Reasoner, ReasoningError, explain, load, render_json, render_text
from cofactor.engine import answers as answer_io
from cofactor.engine.consultation import summarize

CASES = [
    ["magnesium_status=low"],
    ["magnesium_status=severely_low", "vitamin_d_supplement=high_dose", "calcium_supplement=yes"],
    ["magnesium_status=adequate", "calcium_intake=high", "magnesium_rich_foods=rarely"],
    ["calcium_intake=high", "magnesium_rich_foods=rarely", "symptom=fatigue,muscle_cramps"],
    ["magnesium_status=low", "magnesium_deficiency_chronic=yes", "sun_exposure=low", "vitamin_d_supplement=none"],
]


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _write(tables: list[tuple[str, dict]], path: Path) -> None:
    path.write_text(
        "\n".join(
            f"[[{kind}]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items()) for kind, table in tables
        ),
        encoding="utf-8",
    )


def _shuffled_copy(folder: Path, rnd: random.Random) -> list[Path]:
    """The built-in rule files with their tables shuffled, listed in a shuffled order."""
    folder.mkdir(exist_ok=True)
    paths = []
    for source in sorted(BUILTIN_RULES.glob("*.toml")):
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        tables = [(kind, table) for kind, items in data.items() for table in items]
        rnd.shuffle(tables)
        target = folder / source.name
        _write(tables, target)
        paths.append(target)
    rnd.shuffle(paths)
    return paths


def _everything(kb) -> dict:
    """Every explanation of every case, as text and JSON."""
    reasoner = Reasoner(kb)
    out = {}
    for pairs in CASES:
        case = reasoner.reason(answer_io.build(kb, pairs))
        key = " ".join(pairs)
        out[key] = {
            "json": render_json.consultation(summarize(case)),
            "text": render_text.case_text(summarize(case)),
            "trace": render_text.trace(explain.trace(case, agenda=True)),
            "how": {str(s.fact): render_text.how(explain.how(case, s.fact), kb) for s in case.conclusions},
            "why-not": render_text.why_not(explain.why_not(reasoner, case, Fact("blood_calcium", "low")), kb),
        }
    return out


@pytest.fixture(scope="module")
def reference_explanations():
    return _everything(load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent))


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, 2**32 - 1))
def test_order_of_rules_and_of_rule_files_changes_nothing(tmp_path_factory, reference_explanations, seed):
    folder = tmp_path_factory.mktemp("shuffled") / "rules"
    paths = _shuffled_copy(folder, random.Random(seed))
    kb = load(paths, display_root=folder.parent)
    assert _everything(kb) == reference_explanations


def _extension(tmp_path: Path, name: str, rule_id: str, then: str) -> Path:
    path = tmp_path / name
    _write(
        [
            ("concept", {"id": then.split(" = ")[0], "kind": "outcome", "states": [then.split(" = ")[1]]}),
            (
                "rule",
                {
                    "id": rule_id,
                    "title": rule_id,
                    "when": ["magnesium_status = low"],
                    "then": [then],
                    "strength": "possible",
                    "sources": [
                        {"document": "mg-calcium", "quote": "Magnesium is essential for activating vitamin D."}
                    ],
                },
            ),
        ],
        path,
    )
    return path


def test_order_of_rules_arguments_changes_nothing(tmp_path):
    a = _extension(tmp_path, "a.toml", "ext.a", "note_a = shown")
    b = _extension(tmp_path, "b.toml", "ext.b", "note_b = shown")
    outputs = []
    for first, second in ((a, b), (b, a)):
        runner = CliRunner()
        base = ["--rules", str(first), "--rules", str(second)]
        outputs.append(
            [
                runner.invoke(cli, base + args, catch_exceptions=False).stdout
                for args in (
                    ["consult", "--no-input", "-a", "magnesium_status=low"],
                    ["consult", "--no-input", "--json", "-a", "magnesium_status=low"],
                    ["how", "note_a=shown", "-a", "magnesium_status=low"],
                    ["trace", "-a", "magnesium_status=low"],
                    ["rules", "--json"],
                    ["concepts", "--json"],
                )
            ]
        )
    assert outputs[0] == outputs[1]
    assert "note_a=shown" in outputs[0][2]


# --- nothing in a rule file is executed or trusted ---------------------------------


def test_no_code_runs_from_data():
    """No eval, exec, dynamic imports or deserialisers anywhere in the program."""
    forbidden = re.compile(
        r"(?<![\w.])(eval|exec|compile|__import__)\s*\(|"
        r"\b(import_module|pickle|marshal|subprocess|shelve|os\.system|yaml\.load)\b"
    )
    sources = list((BUILTIN_RULES.parent / "engine").glob("*.py")) + [BUILTIN_RULES.parent / "cli.py"]
    offenders = [(p.name, m.group(0)) for p in sources for m in forbidden.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_rules_folder_holds_only_knowledge():
    assert sorted(p.suffix for p in BUILTIN_RULES.iterdir() if p.is_file()) == [".toml"] * len(
        [p for p in BUILTIN_RULES.iterdir() if p.is_file()]
    )


def test_engine_is_domain_blind():
    for path in (BUILTIN_RULES.parent / "engine").glob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        for word in ("magnesium", "calcium", "vitamin", r"\bpth\b"):
            assert not re.search(word, text), (path.name, word)


HOSTILE = "\x1b[2J\x1b[31mred\x9b1m\x07"


def test_text_from_rule_files_cannot_drive_the_terminal(tmp_path):
    path = tmp_path / "hostile.toml"
    _write(
        [
            ("concept", {"id": "hostile_note", "kind": "outcome", "label": f"Note {HOSTILE}", "states": ["shown"]}),
            (
                "rule",
                {
                    "id": "ext.hostile",
                    "title": f"Title {HOSTILE}",
                    "when": ["magnesium_status = low"],
                    "then": ["hostile_note = shown"],
                    "strength": "possible",
                    "sources": [{"document": "mg-calcium", "quote": f"Quote {HOSTILE}"}],
                },
            ),
        ],
        path,
    )
    runner = CliRunner()
    for args in (
        ["rules"],
        ["rules", "--json"],
        ["concepts"],
        ["concepts", "--json"],
        ["consult", "--no-input", "-a", "magnesium_status=low"],
        ["consult", "--no-input", "--json", "-a", "magnesium_status=low"],
        ["how", "hostile_note=shown", "-a", "magnesium_status=low"],
        ["how", "hostile_note=shown", "--json", "-a", "magnesium_status=low"],
        ["trace", "-a", "magnesium_status=low"],
    ):
        result = runner.invoke(cli, ["--rules", str(path), *args], catch_exceptions=False)
        assert result.exit_code == 0
        for ch in "\x1b\x9b\x07":
            assert ch not in result.stdout + result.stderr, (args, ch)
        if "--json" in args:
            json.loads(result.stdout)  # still valid JSON, with the characters escaped
            assert "\\u001b" in result.stdout
        elif args[0] != "trace":  # trace prints ids and facts only
            assert "\\x1b[2J" in result.stdout


# --- failures inside the engine ---------------------------------------------------------


def test_an_exception_inside_a_run_leaves_the_engine_clean(kb, monkeypatch):
    reasoner = Reasoner(kb)
    answers = answer_io.build(kb, ["magnesium_status=severely_low"])
    expected = render_json.case(reasoner.reason(answers))
    engine = reasoner._compiled._engine
    calls = {"n": 0}
    original = type(engine).declare

    def failing(self, *facts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return original(self, *facts)

    monkeypatch.setattr(type(engine), "declare", failing)
    with pytest.raises(ReasoningError, match="the experta engine failed: RuntimeError: boom"):
        reasoner.reason(answers)
    monkeypatch.undo()
    assert engine.running is False
    assert render_json.case(reasoner.reason(answers)) == expected  # the same process goes on unaffected


def test_the_firing_limit_on_the_command_line(invoke):
    result = invoke("--firing-limit", "5", "consult", "--no-input", "-a", "magnesium_status=low", expect=1)
    assert "the rules fired more than 5 times without finishing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    ok = invoke("consult", "--no-input", "--json", "-a", "magnesium_status=low")
    assert json.loads(ok.stdout)["conclusions"]


def test_a_failed_run_in_the_cli_is_one_line_exit_1(invoke, monkeypatch):
    from cofactor.engine import _experta

    def broken(self, *args, **kwargs):
        raise ValueError("matcher broke")

    # the engine's own run loop (experta's, overridden in ScalingEngine)
    monkeypatch.setattr(_experta.ScalingEngine, "run", broken)
    result = invoke("consult", "--no-input", "-a", "magnesium_status=low", expect=1)
    assert result.stderr.strip() == "Error: the experta engine failed: ValueError: matcher broke"
