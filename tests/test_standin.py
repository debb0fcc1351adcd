"""Rules that stand in for an answer (``stands_in_for``): a rule that only
infers what a question would say (a status from intake, say) is set aside
when the case answers that question with none of the states it stands in
for. It then adds nothing, it is a side of the conflict on that question,
and every explanation says why. Answered with one of its states, it fires
as any rule: the answer confirms what it infers.

The engine is tested on a small knowledge base of its own (domain-blind);
the built-in knowledge base's use of the key is tested at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_json_schema import assert_valid

from cofactor.cli import cli
from cofactor.engine import KnowledgeBaseError, kbcache, load
from cofactor.engine import render_json as rj
from cofactor.engine import render_text as rt
from cofactor.engine.answers import Answers
from cofactor.engine.check import check
from cofactor.engine.consultation import summarize
from cofactor.engine.exhaustive import run as exhaustive_run
from cofactor.engine.explain import rule_checks, trace
from cofactor.engine.model import Condition, Fact
from cofactor.engine.reasoning import Reasoner

NOTE = "The level can be low when the diet is poor. A low level raises the risk."

KB = """
[[document]]
id = "note"
title = "A teaching note"
text = "note.txt"

[[concept]]
id = "level"
label = "Level"
states = ["low", "normal", "high"]
question = "What is the level?"

[[concept]]
id = "diet"
label = "Diet"
states = ["poor", "good"]
question = "How is the diet?"

[[concept]]
id = "supplement"
label = "Takes the supplement"
states = ["yes", "no"]
question = "Is the supplement taken?"

[[concept]]
id = "risk"
label = "Risk"
kind = "outcome"
states = ["raised"]

[[concept]]
id = "suspected"
label = "Low level suspected"
kind = "outcome"
states = ["yes"]

[[rule]]
id = "t.low-level-risk"
title = "A low level raises the risk"
when = ["level = low"]
then = ["risk = raised"]
strength = "likely"
sources = [{ document = "note", quote = "A low level raises the risk." }]

[[rule.example]]
answers = { level = "low" }
expect = ["risk = raised"]

[[rule]]
id = "t.poor-diet-risk"
title = "A poor diet with the supplement raises the risk"
when = ["diet = poor", "supplement = yes"]
then = ["risk = raised"]
strength = "likely"
stands_in_for = "level in [low]"
sources = [{ document = "note", quote = "The level can be low when the diet is poor." }]

[[rule.example]]
answers = { diet = "poor", supplement = "yes" }
expect = ["risk = raised"]

[[rule.example]]
name = "the level answered: the diet stands in for nothing"
answers = { diet = "poor", supplement = "yes", level = "normal" }
absent = ["risk = raised"]

[[rule]]
id = "t.poor-diet-suspected"
title = "A poor diet makes a low level worth suspecting"
when = ["diet = poor"]
then = ["suspected = yes"]
strength = "possible"
stands_in_for = "level in [low]"
sources = [{ document = "note", quote = "The level can be low when the diet is poor." }]

[[rule.example]]
answers = { diet = "poor" }
expect = ["suspected = yes"]
"""

# a rule that concludes the level (no stand-in): its conflicts with an answer are findings
CONCLUDES_LEVEL = """
[[rule]]
id = "t.high-level-suspected-not"
title = "A made-up rule concluding the level from the risk"
when = ["risk = raised"]
then = ["level = high"]
strength = "possible"
sources = [{ document = "note", quote = "A low level raises the risk." }]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("standin")
    (root / "kb.toml").write_text(KB, encoding="utf-8")
    (root / "note.txt").write_text(NOTE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def small(folder):
    return load([folder / "kb.toml"], display_root=folder)


@pytest.fixture(scope="module")
def reasoner(small):
    return Reasoner(small)


def rule(kb, rule_id: str):
    return next(r for r in kb.rules if r.id == rule_id)


def reason(reasoner, **answers: str):
    given = {concept: tuple(states.split(",")) for concept, states in answers.items()}
    return reasoner.reason(Answers(given, frozenset()))


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def test_the_key_loads_as_a_condition(small):
    assert rule(small, "t.poor-diet-risk").stands_in_for == Condition("level", ("low",))
    assert rule(small, "t.low-level-risk").stands_in_for is None


def test_the_cache_keeps_it(small):
    again = kbcache.from_data(json.loads(json.dumps(kbcache.to_data(small))))
    assert rule(again, "t.poor-diet-risk").stands_in_for == Condition("level", ("low",))
    assert again == small


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"level = lowish"', "'lowish' is not a state of 'level'"),
        ('"levle = low"', "unknown concept 'levle'"),
        ('"not level = low"', "'stands_in_for' cannot be a 'not' condition"),
        ('"risk = raised"', "'stands_in_for' names 'risk', which is not a question"),
        ('"diet = poor"', "the rule reads 'diet' in 'when', so it does not stand in for it"),
        ('"level = low = high"', ""),
        ("3", "'stands_in_for'"),
    ],
)
def test_a_bad_stands_in_for_is_refused_with_a_fix(folder, tmp_path, value, message):
    text = KB.replace('stands_in_for = "level in [low]"', f"stands_in_for = {value}", 1)
    (tmp_path / "kb.toml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as caught:
        load([tmp_path / "kb.toml"], display_root=tmp_path)
    problems = [p for p in caught.value.problems if p.ident == "t.poor-diet-risk"]
    assert len(problems) == 1, [p.render() for p in caught.value.problems]
    assert problems[0].key == "stands_in_for"
    assert message in problems[0].message
    assert problems[0].fix


# ---------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------


def test_unanswered_the_stand_in_fires_as_any_rule(reasoner):
    case = reason(reasoner, diet="poor", supplement="yes")
    assert case.holds(Fact("risk", "raised"))
    assert case.holds(Fact("suspected", "yes"))
    assert case.set_aside == ()
    assert case.conflicts == ()


def test_answered_otherwise_it_adds_nothing_and_is_a_conflict(reasoner):
    case = reason(reasoner, diet="poor", supplement="yes", level="normal")
    assert not case.holds(Fact("risk", "raised"))
    assert not case.holds(Fact("suspected", "yes"))
    assert [(s.rule.id, s.answer) for s in case.set_aside] == [
        ("t.poor-diet-risk", ("normal",)),
        ("t.poor-diet-suspected", ("normal",)),
    ]
    (conflict,) = case.conflicts
    assert conflict.concept == "level"
    sides = {side.state: side for side in conflict.sides}
    assert sides["normal"].given
    assert sides["low"].blocked and not sides["low"].given
    assert {j.rule.id for j in sides["low"].justifications} == {"t.poor-diet-risk", "t.poor-diet-suspected"}


def test_answered_alike_it_fires_as_any_rule(reasoner):
    case = reason(reasoner, diet="poor", supplement="yes", level="low")
    support = case.support[Fact("risk", "raised")]
    assert [j.rule.id for j in support.justifications] == ["t.low-level-risk", "t.poor-diet-risk"]
    assert case.holds(Fact("suspected", "yes"))
    assert case.set_aside == ()
    assert case.conflicts == ()
    assert not any(step.set_aside for step in case.steps)


def test_a_question_only_stand_ins_read_is_not_asked_once_they_are_set_aside(reasoner):
    from cofactor.engine.questions import SkipReason, skipped

    answered = {s.concept.id: s for s in skipped(reason(reasoner, level="normal"))}
    assert answered["diet"].reason == SkipReason.NO_LONGER_MATTERS
    assert "t.poor-diet-risk stands in for level = low, which you answered otherwise" in answered["diet"].detail
    assert "diet" not in {s.concept.id for s in skipped(reason(reasoner, supplement="yes"))}


def test_the_trace_marks_the_firing_set_aside(reasoner):
    case = reason(reasoner, diet="poor", supplement="yes", level="normal")
    steps = {s.rule.id: s for s in case.steps}
    assert steps["t.poor-diet-risk"].set_aside and steps["t.poor-diet-risk"].added == ()
    text = rt.trace(trace(case))
    assert "(set aside: it stands in for level = low, which you answered otherwise)" in text
    data = rj.trace(trace(case), case.kb)
    marked = sorted(s["rule"] for s in data["steps"] if s.get("set_aside"))
    assert marked == ["t.poor-diet-risk", "t.poor-diet-suspected"]
    assert_valid("trace", data)


# ---------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------


def test_the_consultation_says_why_in_text(reasoner):
    text = rt.consultation(summarize(reason(reasoner, diet="poor", supplement="yes", level="normal")), asked=False)
    assert "Set aside (each rule only infers what you answered otherwise; your answer counts instead)" in text
    assert "  t.poor-diet-risk [likely]: A poor diet with the supplement raises the risk" in text
    assert "    it infers level = low from diet=poor and supplement=yes" in text
    assert "    you answered level=normal, which it would contradict (see Conflicts): it adds nothing" in text
    assert "Conflict: Level (level)" in text
    assert "by t.poor-diet-risk [likely], set aside: it stands in for your answer" in " ".join(text.split())
    agreeing = rt.consultation(summarize(reason(reasoner, diet="poor", level="low")), asked=False)
    assert "Set aside" not in agreeing and "Conflict" not in agreeing


def test_the_consultation_says_why_in_json(reasoner):
    data = rj.consultation(summarize(reason(reasoner, diet="poor", supplement="yes", level="normal")), disclaimer="x")
    assert_valid("consult", data)
    first = data["set_aside"][0]
    assert first == {
        "rule": "t.poor-diet-risk",
        "file": "kb.toml",
        "premises": [{"concept": "diet", "state": "poor"}, {"concept": "supplement", "state": "yes"}],
        "stands_in_for": {"concept": "level", "states": ["low"], "negated": False, "text": "level = low"},
        "answer": {"concept": "level", "states": ["normal"]},
    }
    (conflict,) = data["conflicts"]
    low = next(s for s in conflict["sides"] if s["state"] == "low")
    assert not low["added"] and all(d["set_aside"] for d in low["derivations"])


def test_why_not_names_the_rule_set_aside(reasoner):
    case = reason(reasoner, diet="poor", supplement="yes", level="normal")
    checks = {c.rule.id: c for c in rule_checks(case, Fact("risk", "raised"))}
    assert checks["t.poor-diet-risk"].set_aside
    assert all(c.holds for c in checks["t.poor-diet-risk"].conditions)
    assert not checks["t.low-level-risk"].set_aside
    alike = reason(reasoner, diet="poor", level="low")
    assert not any(c.set_aside for c in rule_checks(alike, Fact("suspected", "yes")))


def test_why_not_offers_leaving_the_question_unanswered(reasoner):
    from cofactor.engine.counterfactual import smallest_changes

    case = reason(reasoner, diet="poor", level="normal")
    changes = smallest_changes(reasoner, case, Fact("suspected", "yes"))
    assert [[str(c) for c in option] for option in changes] == [["level=unknown (instead of normal)"]]


def test_rules_lists_the_key(small):
    text = rt.rules_text(small.rules)
    assert "  stands in for  level = low (set aside when answered otherwise)" in text
    data = rj.rules(small.rules)
    assert next(r for r in data if r["id"] == "t.poor-diet-risk")["stands_in_for"]["text"] == "level = low"
    assert "stands_in_for" not in next(r for r in data if r["id"] == "t.low-level-risk")


# ---------------------------------------------------------------------------
# check: examples, the exhaustive run
# ---------------------------------------------------------------------------


def test_check_runs_the_examples_and_declares_the_conflicts(small, reasoner):
    report = check(small, [])
    assert report.errors == 0, [f.message for f in report.findings]
    assert not [f for f in report.findings if f.code == "conflict"]


def test_the_exhaustive_run_reports_real_conflicts_not_declared_ones(tmp_path):
    """The stand-ins' conflicts with an answer are declared (no finding); a
    rule concluding the level against an answer still is one."""
    (tmp_path / "kb.toml").write_text(KB + CONCLUDES_LEVEL, encoding="utf-8")
    (tmp_path / "note.txt").write_text(NOTE, encoding="utf-8")
    kb = load([tmp_path / "kb.toml"], display_root=tmp_path)
    run = exhaustive_run(kb, Reasoner(kb))
    assert run.complete
    assert [(c.concept, c.states, c.rules) for c in run.conflicts] == [
        ("level", ("low", "high"), ("t.high-level-suspected-not",))
    ]


# ---------------------------------------------------------------------------
# The built-in knowledge base (issue 11: intake is not status)
# ---------------------------------------------------------------------------

ACCEPTANCE = [
    "consult",
    "--no-input",
    "-a",
    "calcium_supplement=yes",
    "-a",
    "magnesium_status=adequate",
    "-a",
    "magnesium_rich_foods=rarely",
]


def test_the_issue_case_concludes_no_soft_tissue_risk_and_says_why():
    result = CliRunner().invoke(cli, ACCEPTANCE)
    assert result.exit_code == 0, result.output
    assert "Soft-tissue calcification risk" not in result.output.split("Set aside")[0]
    assert "calc.calcium-supplement-low-magnesium-diet-soft-tissue [likely]" in result.output
    assert "you answered magnesium_status=adequate, which it would contradict" in result.output
    low = [a if a != "magnesium_status=adequate" else "magnesium_status=low" for a in ACCEPTANCE]
    assert "Set aside" not in CliRunner().invoke(cli, low).output
    data = json.loads(CliRunner().invoke(cli, [*ACCEPTANCE, "--json"]).output)
    assert not [c for c in data["conclusions"] if c["concept"] == "soft_tissue_calcification_risk"]
    assert "calc.calcium-supplement-low-magnesium-diet-soft-tissue" in {s["rule"] for s in data["set_aside"]}
    assert "magnesium_status" in {c["concept"] for c in data["conflicts"]}
