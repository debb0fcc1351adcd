"""The reference reasoner (tests/reference.py) on its own: it stays
independent of the engine, reads rule files by itself, and gets small
cases worked out by hand from the spec right."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import reference

REFERENCE = Path(reference.__file__)


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(level, module) for every import statement, wherever it is."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_reference_imports_only_the_standard_library():
    tree = ast.parse(REFERENCE.read_text(encoding="utf-8"), filename=str(REFERENCE))
    imported = _imported_modules(tree)
    assert (0, "tomllib") in imported, "the reference reads rule files with the standard library's tomllib"
    for level, name in imported:
        assert level == 0, f"relative import of {name!r}: the reference may import only the standard library"
        top = name.split(".")[0]
        assert top != "cofactor", f"the reference imports {name}: it must not share code with the engine"
        assert top in sys.stdlib_module_names, f"the reference imports {name}, which is not in the standard library"
    # nor imports anything by name at run time
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            assert called not in {"__import__", "import_module", "exec", "eval"}, f"the reference calls {called}()"
        if isinstance(node, ast.Name):
            assert node.id != "importlib", "the reference uses importlib"


def test_importing_the_reference_loads_nothing_of_the_engine():
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REFERENCE.parent)!r})\n"
        "before = set(sys.modules)\n"
        "import reference\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "reference" in loaded
    foreign = [m for m in loaded if m != "reference" and m.split(".")[0] not in sys.stdlib_module_names]
    assert foreign == [], foreign


# ---------------------------------------------------------------------------
# The condition syntax
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "concept", "states", "negated"),
    [
        ("magnesium_status = low", "magnesium_status", ("low",), False),
        ("magnesium_status=low", "magnesium_status", ("low",), False),
        ("  magnesium_status =   severely_low ", "magnesium_status", ("severely_low",), False),
        ("magnesium_status in [low, severely_low]", "magnesium_status", ("low", "severely_low"), False),
        ("magnesium_status in[low,severely_low,]", "magnesium_status", ("low", "severely_low"), False),
        ("not magnesium_status = severely_low", "magnesium_status", ("severely_low",), True),
        ("not  x in [a, b, c]", "x", ("a", "b", "c"), True),
        ("intestinal_calcium_absorption in [reduced]", "intestinal_calcium_absorption", ("reduced",), False),
        ("notable = yes", "notable", ("yes",), False),
        ("not_x = yes", "not_x", ("yes",), False),
        ("q = 25_hydroxy", "q", ("25_hydroxy",), False),
    ],
)
def test_conditions_are_read(text, concept, states, negated):
    assert reference.parse_condition(text) == reference.Condition(concept, states, negated)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "magnesium_status",
        "magnesium_status == low",
        "magnesium_status = low high",
        "magnesium_status in []",
        "magnesium_status in [low severely_low]",
        "magnesium_status in [low,, high]",
        "magnesium_status in [low, low]",
        "magnesium_status in low",
        "Magnesium_status = low",
        "magnesium_status = Low",
        "not not x = a",
        "1abc = low",
        "x != a",
    ],
)
def test_malformed_conditions_are_refused(text):
    with pytest.raises(reference.RuleFileError):
        reference.parse_condition(text)


def test_a_conclusion_names_one_state():
    assert reference.parse_fact(" bone_strength = reduced ") == ("bone_strength", "reduced")
    for text in ("bone_strength in [reduced]", "not bone_strength = reduced", "bone_strength = reduced, x = y"):
        with pytest.raises(reference.RuleFileError):
            reference.parse_fact(text)


# ---------------------------------------------------------------------------
# Small knowledge bases, worked out by hand
# ---------------------------------------------------------------------------


def _kb(concepts: str, *rules: tuple[str, list[str], list[str], str], extra: tuple[str, ...] = ()):
    lines = [concepts]
    for ident, when, then, strength in rules:
        lines.append(
            f'[[rule]]\nid = "{ident}"\ntitle = "{ident}"\nwhen = {json.dumps(when)}\n'
            f'then = {json.dumps(then)}\nstrength = "{strength}"\nsources = [{{ document = "d", quote = "q" }}]\n'
        )
    return reference.parse("\n".join(lines), extra=extra)


CONCEPTS = """
[[document]]
id = "d"
title = "D"

[[concept]]
id = "q"
states = ["yes", "no"]
question = "q?"

[[concept]]
id = "p"
states = ["yes", "no"]
question = "p?"

[[concept]]
id = "symptom"
states = ["a", "b", "none"]
question = "symptoms?"
multi = true
exclusive = ["none"]
order = 5

[[concept]]
id = "x"
states = ["on", "off"]

[[concept]]
id = "y"
states = ["on", "off"]

[[concept]]
id = "z"
states = ["on", "off"]
"""


def test_strength_is_the_weakest_link_of_the_best_route_round_a_loop():
    kb = _kb(
        CONCEPTS,
        ("direct", ["q = yes"], ["x = on"], "possible"),
        ("to-y", ["q = yes"], ["y = on"], "established"),
        ("y-x", ["y = on"], ["x = on"], "likely"),
        ("x-z", ["x = on"], ["z = on"], "established"),
        ("z-y", ["z = on", "p = yes"], ["y = on"], "established"),
    )
    out = reference.reason(kb, {"q": ["yes"], "p": ["yes"]})
    assert out.conclusions == {("x", "on"), ("y", "on"), ("z", "on")}
    # x: possible directly, likely through y; z inherits x's; y stays established
    assert out.strength == {
        ("q", "yes"): "given",
        ("p", "yes"): "given",
        ("x", "on"): "likely",
        ("y", "on"): "established",
        ("z", "on"): "likely",
    }
    assert out.justifications[("y", "on")] == {
        ("to-y", (("q", "yes"),)),
        ("z-y", (("z", "on"), ("p", "yes"))),
    }
    assert out.route_strength("direct", [("q", "yes")]) == "possible"
    assert out.route_strength("z-y", [("z", "on"), ("p", "yes")]) == "likely"
    assert out.conflicts == {}


def test_a_loop_alone_proves_nothing():
    kb = _kb(
        CONCEPTS,
        ("x-y", ["x = on"], ["y = on"], "established"),
        ("y-x", ["y = on"], ["x = on"], "established"),
        ("q-x", ["q = yes"], ["x = on"], "possible"),
    )
    assert reference.reason(kb, {"q": ["no"]}).conclusions == frozenset()
    out = reference.reason(kb, {"q": ["yes"]})
    assert out.strength[("y", "on")] == "possible"


def test_every_choice_of_matching_facts_is_a_route():
    kb = _kb(CONCEPTS, ("sym", ["symptom in [a, b]", "q = yes"], ["x = on"], "likely"))
    out = reference.reason(kb, {"symptom": ["a", "b"], "q": ["yes"]})
    assert out.justifications == {
        ("x", "on"): {("sym", (("symptom", "a"), ("q", "yes"))), ("sym", (("symptom", "b"), ("q", "yes")))}
    }


def test_an_answer_is_never_overridden_and_the_clash_is_a_conflict():
    kb = _kb(
        CONCEPTS,
        ("q-p", ["q = yes"], ["p = no", "x = on"], "established"),
        ("q-sym", ["q = yes"], ["symptom = a"], "likely"),
        ("q-none", ["q = no"], ["symptom = none"], "likely"),
        ("x-on", ["p = yes"], ["x = off"], "possible"),
    )
    out = reference.reason(kb, {"q": ["yes"], "p": ["yes"], "symptom": ["none"]})
    assert out.conclusions == {("x", "on"), ("x", "off")}
    assert ("p", "no") not in out.strength
    q_yes = (("q", "yes"),)
    assert out.conflicts == {
        "p": {"yes": (True, False, frozenset()), "no": (False, True, frozenset({("q-p", q_yes)}))},
        "symptom": {"none": (True, False, frozenset()), "a": (False, True, frozenset({("q-sym", q_yes)}))},
        "x": {
            "on": (False, False, frozenset({("q-p", q_yes)})),
            "off": (False, False, frozenset({("x-on", (("p", "yes"),))})),
        },
    }
    # a multi-valued answer takes other plain states, but not an exclusive one
    out = reference.reason(kb, {"q": ["yes"], "symptom": ["b"]})
    assert ("symptom", "a") in out.conclusions
    assert out.conflicts == {}
    out = reference.reason(kb, {"q": ["no"], "symptom": ["b"]})
    assert out.conclusions == frozenset()
    assert out.conflicts == {
        "symptom": {"b": (True, False, frozenset()), "none": (False, True, frozenset({("q-none", (("q", "no"),))}))}
    }
    # an answer a rule also concludes: one more route, still given
    out = reference.reason(kb, {"q": ["yes"], "symptom": ["a"]})
    assert out.strength[("symptom", "a")] == "given"
    assert out.justifications[("symptom", "a")] == {("q-sym", (("q", "yes"),))}


def test_not_waits_for_everything_that_could_conclude_its_fact():
    kb = _kb(
        CONCEPTS,
        ("a-first", ["not y = on"], ["x = on"], "likely"),  # sorts before the rule it waits for
        ("b-then", ["z = on"], ["y = on"], "established"),
        ("c-last", ["q = yes"], ["z = on"], "established"),
    )
    assert reference.reason(kb, {"q": ["yes"]}).conclusions == {("z", "on"), ("y", "on")}
    out = reference.reason(kb, {"q": ["no"]})
    assert out.conclusions == {("x", "on")}
    assert out.justifications == {("x", "on"): {("a-first", ())}}
    assert out.strength[("x", "on")] == "likely"


def test_a_fact_that_depends_on_its_own_absence_is_refused():
    with pytest.raises(reference.Unstratifiable):
        _kb(
            CONCEPTS,
            ("one", ["not y = on", "q = yes"], ["x = on"], "likely"),
            ("two", ["x = on"], ["z = on"], "likely"),
            ("three", ["z = on"], ["y = on"], "likely"),
        )
    # the same chain without the loop back is fine
    _kb(
        CONCEPTS,
        ("one", ["not y = on", "q = yes"], ["x = on"], "likely"),
        ("two", ["x = on"], ["z = on"], "likely"),
        ("three", ["z = on"], ["y = off"], "likely"),
    )


def test_rule_files_are_read_from_text_and_folders(tmp_path):
    base = _kb(CONCEPTS, ("r", ["q = yes"], ["x = on"], "possible"))
    assert base.rules["r"] == reference.Rule(
        "r", (reference.Condition("q", ("yes",), False),), (("x", "on"),), "possible"
    )
    replacement = (
        '[[rule]]\nid = "r2"\ntitle = "t"\nreplaces = "r"\nwhen = ["q = no"]\nthen = ["x = off"]\n'
        'strength = "likely"\nsources = [{ document = "d", quote = "q" }]\n'
    )
    replaced = _kb(CONCEPTS, ("r", ["q = yes"], ["x = on"], "possible"), extra=(replacement,))
    assert set(replaced.rules) == {"r2"}
    with pytest.raises(reference.RuleFileError):
        reference.parse(CONCEPTS, replacement)  # only an extra file may replace a rule
    (tmp_path / "b.toml").write_text(CONCEPTS, encoding="utf-8")
    (tmp_path / "a.toml").write_text(
        '[[rule]]\nid = "r"\ntitle = "t"\nwhen = ["q = yes"]\nthen = ["x = on"]\nstrength = "possible"\n'
        'sources = [{ document = "d", quote = "q" }]\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a rule file", encoding="utf-8")
    extra = tmp_path / "extra.toml.d"
    extra.mkdir()
    (extra / "more.toml").write_text(replacement, encoding="utf-8")
    loaded = reference.load(tmp_path, extra=[extra / "more.toml"])
    assert set(loaded.rules) == {"r2"}
    assert [c.ident for c in loaded.questions()] == ["symptom", "p", "q"]


def test_the_builtin_rules_read_by_the_reference():
    rules = Path(__file__).resolve().parents[1] / "rules"
    kb = reference.load(rules)
    assert len(kb.rules) == sum(path.read_text(encoding="utf-8").count("[[rule]]") for path in rules.glob("*.toml"))
    assert kb.questions()[0].ident == "magnesium_status"
    assert {q.ident for q in kb.questions() if q.multi} == {"symptom"}
    out = reference.reason(kb, {"magnesium_status": ["severely_low"], "magnesium_deficiency_chronic": ["yes"]})
    assert ("pth_secretion", "impaired") in out.conclusions
    assert out.strength[("pth_secretion", "impaired")] in reference.RULE_STRENGTHS
