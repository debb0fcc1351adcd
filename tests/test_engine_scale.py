"""The engine at scale: rules as long, concepts as wide and knowledge bases
as large as the limits allow (``engine/limits.py``), and inputs that would
make a naive matcher blow up, run as real processes under the memory cap.

Speed is never asserted here (the harness's timeout only catches hangs):
each test asserts what was concluded, or the clean refusal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import FrameType

import pytest
from harness import assert_clean, run_cofactor

from cofactor.engine import _experta
from cofactor.engine.limits import MAX_CONDITIONS, MAX_STATES
from cofactor.engine.model import Concept, Condition, Fact, Kind, KnowledgeBase, Rule, SourceRef, Strength

SOURCE = '[{ document = "mg-calcium", quote = "q" }]'


def _concept(cid: str, states, *, question: bool = True, multi: bool = False, order: int = 1000) -> str:
    listed = ", ".join(f'"{s}"' for s in states)
    text = f'[[concept]]\nid = "{cid}"\nlabel = "{cid}"\nstates = [{listed}]\n'
    if question:
        text += f'question = "Which {cid}?"\norder = {order}\n'
    if multi:
        text += "multi = true\n"
    return text


def _rule(rid: str, when, then: str) -> str:
    conditions = ", ".join(f'"{c}"' for c in when)
    return (
        f'[[rule]]\nid = "{rid}"\ntitle = "{rid}"\nwhen = [{conditions}]\nthen = ["{then}"]\n'
        f'strength = "possible"\nsources = {SOURCE}\n'
    )


def _write(tmp_path: Path, name: str, parts) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _long_rule(tmp_path: Path, conditions: int, states: int, accepted: int) -> Path:
    """A rule of ``conditions`` conditions, each ``concept in [...]`` naming
    ``accepted`` of its concept's ``states`` states."""
    names = [f"s{i}" for i in range(states)]
    parts = [_concept(f"scale_c{i:02d}", names) for i in range(conditions)]
    parts.append(_concept("scale_out", ["yes", "no"], question=False))
    when = [f"scale_c{i:02d} in [{', '.join(names[:accepted])}]" for i in range(conditions)]
    parts.append(_rule("scale.long", when, "scale_out = yes"))
    return _write(tmp_path, "long.toml", parts)


def _answers(conditions: int, state: str = "s1", odd: dict[int, str] | None = None) -> list[str]:
    out = []
    for i in range(conditions):
        out += ["-a", f"scale_c{i:02d}={(odd or {}).get(i, state)}"]
    return out


def _conclusions(stdout: bytes) -> dict[tuple[str, str], dict]:
    data = json.loads(stdout)
    return {(c["concept"], c["state"]): c for c in data["conclusions"]}


# --- alternatives: linear, not one rule per combination ------------------------------


def test_fourteen_conditions_of_two_alternatives_conclude(tmp_path):
    # experta's own compile expands these into 2**14 rules and does not finish
    rules = _long_rule(tmp_path, 14, 2, 2)
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *_answers(14, "s1")])
    assert_clean(result, 0)
    found = _conclusions(result.stdout)
    (route,) = found[("scale_out", "yes")]["derivations"]
    assert route["rule"] == "scale.long"
    assert [p["concept"] for p in route["premises"]] == [f"scale_c{i:02d}" for i in range(14)]


def test_the_longest_rule_with_several_states_per_condition_reasons_by_the_definition(tmp_path):
    rules = _long_rule(tmp_path, MAX_CONDITIONS, 8, 5)
    # each condition accepts s0..s4: answered with a mix of them, the rule holds
    mixed = {i: f"s{i % 5}" for i in range(MAX_CONDITIONS)}
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *_answers(MAX_CONDITIONS, odd=mixed)])
    assert_clean(result, 0)
    (route,) = _conclusions(result.stdout)[("scale_out", "yes")]["derivations"]
    assert [(p["concept"], p["state"]) for p in route["premises"]] == [
        (f"scale_c{i:02d}", f"s{i % 5}") for i in range(MAX_CONDITIONS)
    ]
    # one condition out of its states (s5 is not accepted), and nothing follows
    result = run_cofactor(
        ["--rules", rules, "consult", "--no-input", "--json", *_answers(MAX_CONDITIONS, odd={40: "s5"})]
    )
    assert_clean(result, 0)
    assert ("scale_out", "yes") not in _conclusions(result.stdout)
    # and one left unanswered
    result = run_cofactor(["--rules", rules, "why-not", "scale_out=yes", *_answers(MAX_CONDITIONS - 1)])
    err = assert_clean(result, 0)
    assert f"scale_c{MAX_CONDITIONS - 1:02d}" in result.stdout.decode(), err


@pytest.mark.parametrize("seeds", [("0", "1", "2", "4242", "4294967295")])
def test_the_longest_rule_runs_alike_under_every_hash_seed(tmp_path, seeds):
    # a 400-condition rule overflowed experta's recursion under some seeds:
    # here the output is the same, and concluded, whatever the seed
    rules = _long_rule(tmp_path, MAX_CONDITIONS, 3, 2)
    outputs = set()
    for seed in seeds:
        for command in (["consult", "--no-input", "--json"], ["trace"]):
            result = run_cofactor(
                ["--rules", rules, *command, *_answers(MAX_CONDITIONS, "s1")], env={"PYTHONHASHSEED": seed}
            )
            assert_clean(result, 0)
            outputs.add((command[0], result.stdout))
    assert len(outputs) == 2
    consulted = next(out for name, out in outputs if name == "consult")
    assert ("scale_out", "yes") in _conclusions(consulted)


def _model_kb(conditions: int) -> KnowledgeBase:
    """A knowledge base made directly (the loader refuses rules this long):
    one rule of ``conditions`` conditions, each ``in`` two states."""
    concepts = {
        f"k{i}": Concept(f"k{i}", f"k{i}", ("x", "y", "z"), Kind.QUESTION, question="?") for i in range(conditions)
    }
    concepts["out"] = Concept("out", "out", ("yes",), Kind.MECHANISM)
    when = tuple(Condition(f"k{i}", ("x", "y")) for i in range(conditions))
    rule = Rule("long", "long", when, (Fact("out", "yes"),), Strength.POSSIBLE, (SourceRef("d", "q"),))
    return KnowledgeBase(concepts, (rule,), {})


def _depth() -> int:
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _recorder(fired: list):
    """An ``on_fire`` that records each firing and declares nothing."""

    def on_fire(rule, matched):
        fired.append((rule.id, matched))
        return ()

    return on_fire


def test_a_rule_far_longer_than_the_limit_needs_no_deeper_stack():
    # 3,000 conditions under a recursion limit barely above the caller's
    # depth: compiling, matching and firing do not recurse per condition
    kb = _model_kb(3_000)
    fired: list = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + 120)
    try:
        compiled = _experta.CompiledKnowledgeBase(kb)
        answers = [Fact(f"k{i}", "y" if i % 2 else "x") for i in range(3_000)]
        compiled.run(answers, _recorder(fired), limit=10)
    finally:
        sys.setrecursionlimit(limit)
    assert fired == [("long", tuple(answers))]


# --- wide concepts ---------------------------------------------------------------------


def test_a_concept_of_the_most_states_is_asked_and_used_in_rules(tmp_path):
    states = [f"s{i}" for i in range(MAX_STATES)]
    parts = [
        _concept("scale_wide", states, order=1),
        _concept("scale_out", ["yes", "no"], question=False),
        # every other state, in one condition, and a rule on the last state alone
        _rule("scale.even", [f"scale_wide in [{', '.join(states[::2])}]"], "scale_out = yes"),
        _rule("scale.last", [f"scale_wide = s{MAX_STATES - 1}"], "scale_out = no"),
    ]
    rules = _write(tmp_path, "wide.toml", parts)
    # asked first (order 1); every later question is answered unknown
    replies = f"s{MAX_STATES - 2}\n" + "unknown\n" * 40
    result = run_cofactor(["--rules", rules, "consult", "--json"], stdin=replies)
    assert_clean(result, 0)
    found = _conclusions(result.stdout)
    assert set(found) == {("scale_out", "yes")}
    assert found[("scale_out", "yes")]["derivations"][0]["premises"] == [
        {"concept": "scale_wide", "state": f"s{MAX_STATES - 2}"}
    ]
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", "-a", f"scale_wide=s{MAX_STATES - 1}"])
    assert_clean(result, 0)
    assert set(_conclusions(result.stdout)) == {("scale_out", "no")}


def test_a_question_of_many_states_shows_a_few_and_help_lists_them_all(tmp_path):
    states = [f"s{i}" for i in range(MAX_STATES)]
    parts = [
        _concept("scale_wide", states, order=1),
        _concept("scale_out", ["yes", "no"], question=False),
        _rule("scale.last", [f"scale_wide = s{MAX_STATES - 1}"], "scale_out = yes"),
    ]
    rules = _write(tmp_path, "wide.toml", parts)
    result = run_cofactor(["--rules", rules, "consult", "--json"], stdin="help\n1000\n" + "unknown\n" * 40)
    err = assert_clean(result, 0)
    asked = err[: err.index("> help")].splitlines()
    assert "  1) s0  2) s1" in asked[-2] and asked[-2].endswith("... 1000) s999  (1,000 states: help lists them all)")
    assert asked[-1] == "  - or unknown; type help, why, how or back"
    shown = err[err.index("> help") : err.index("> 1000")].splitlines()
    numbered = [item for line in shown for item in line.split("  ") if item[:1].isdigit()]
    assert numbered == [f"{i}) s{i - 1}" for i in range(1, MAX_STATES + 1)]
    assert max(len(line) for line in shown) <= 100
    assert ("scale_out", "yes") in _conclusions(result.stdout)


# --- combinations of facts -------------------------------------------------------------


def _multi_rule(tmp_path: Path, conditions: int) -> tuple[Path, list[str]]:
    parts = [_concept(f"scale_m{i:02d}", ["a", "b"], multi=True) for i in range(conditions)]
    parts.append(_concept("scale_out", ["yes", "no"], question=False))
    parts.append(_rule("scale.wide", [f"scale_m{i:02d} in [a, b]" for i in range(conditions)], "scale_out = yes"))
    answers = []
    for i in range(conditions):
        answers += ["-a", f"scale_m{i:02d}=a,b"]
    return _write(tmp_path, "multi.toml", parts), answers


@pytest.mark.parametrize("command", [["consult", "--no-input", "--json"], ["how", "scale_out=yes"], ["trace"]])
def test_a_rule_matching_millions_of_combinations_is_stopped_before_memory_fills(tmp_path, command):
    # 24 conditions on multi-valued concepts, each answered with both states:
    # 2**24 routes by the definition, each a firing. It used to fill 3 GiB.
    rules, answers = _multi_rule(tmp_path, 24)
    result = run_cofactor(["--rules", rules, *command, *answers])
    err = assert_clean(result, 1, stderr=["rule scale.wide matches", "combinations", "firing limit (100,000)"])
    assert len(err.strip().splitlines()) == 1


def test_combinations_within_the_firing_limit_are_all_routes(tmp_path):
    rules, answers = _multi_rule(tmp_path, 6)
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *answers])
    assert_clean(result, 0)
    routes = _conclusions(result.stdout)[("scale_out", "yes")]["derivations"]
    assert len(routes) == 2**6
    assert len({tuple(p["state"] for p in r["premises"]) for r in routes}) == 2**6


def test_a_small_firing_limit_is_named_when_combinations_pass_it(tmp_path):
    rules, answers = _multi_rule(tmp_path, 20)
    result = run_cofactor(["--rules", rules, "--firing-limit", "7", "consult", "--no-input", *answers])
    assert_clean(result, 1, stderr=["rule scale.wide matches", "firing limit (7)"])


# --- many rules ------------------------------------------------------------------------


def _independent_rules(count: int) -> list[str]:
    """``count`` rules, each with a question and a conclusion of its own,
    and all on one shared answer."""
    parts = []
    for i in range(count):
        parts.append(_concept(f"bulk_q{i:05d}", ["yes", "no"]))
        parts.append(_concept(f"bulk_o{i:05d}", ["yes", "no"], question=False))
        parts.append(
            _rule(f"bulk.r{i:05d}", [f"bulk_q{i:05d} = yes", "magnesium_status = low"], f"bulk_o{i:05d} = yes")
        )
    return parts


@pytest.mark.slow
def test_five_thousand_independent_rules_consult(tmp_path):
    rules = _write(tmp_path, "bulk.toml", _independent_rules(5_000))
    answered = [f"bulk_q{i:05d}" for i in range(0, 5_000, 7)]
    args = ["-a", "magnesium_status=low"] + [x for q in answered for x in ("-a", f"{q}=yes")]
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *args])
    assert_clean(result, 0)
    data = json.loads(result.stdout)
    derived = {c["concept"] for c in data["conclusions"] if c["concept"].startswith("bulk_o")}
    assert derived == {q.replace("_q", "_o") for q in answered}
    assert len(data["answers"]) == len(answered) + 1


@pytest.mark.slow
def test_five_thousand_rules_on_the_same_answers_each_give_a_route(tmp_path):
    parts = [
        _rule(f"bulk.r{i:05d}", ["magnesium_status = low", "calcium_intake = high"], "bone_strength = reduced")
        for i in range(5_000)
    ]
    rules = _write(tmp_path, "same.toml", parts)
    args = ["-a", "magnesium_status=low", "-a", "calcium_intake=high"]
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *args])
    assert_clean(result, 0)
    routes = _conclusions(result.stdout)[("bone_strength", "reduced")]["derivations"]
    assert {r["rule"] for r in routes} >= {f"bulk.r{i:05d}" for i in range(5_000)}


def test_routes_too_many_to_explain_are_stopped_before_they_are_built(tmp_path):
    # 16 conditions answered with both states: 65,536 routes of 16 facts,
    # inside the firing limit but a million facts to keep and lay out (it
    # took 2 GB and 18 s to print with how --json)
    rules, answers = _multi_rule(tmp_path, 16)
    for command in (["consult", "--no-input", "--json"], ["how", "scale_out=yes", "--json"]):
        result = run_cofactor(["--rules", rules, *command, *answers])
        err = assert_clean(result, 1, stderr=["rule scale.wide matches", "combinations", "250,000 facts"])
        assert len(err.strip().splitlines()) == 1


def test_routes_within_what_a_run_may_hold_are_all_explained(tmp_path):
    # 2**13 routes of 13 facts: 106,483 facts past the first route, within the limit
    rules, answers = _multi_rule(tmp_path, 13)
    result = run_cofactor(["--rules", rules, "consult", "--no-input", "--json", *answers])
    assert_clean(result, 0)
    assert len(_conclusions(result.stdout)[("scale_out", "yes")]["derivations"]) == 2**13
