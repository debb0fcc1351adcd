"""Differential tests: the experta engine against an independent reference.

Hypothesis generates knowledge bases (chains, diamonds, loops, ``not``
conditions, multi-valued concepts, conclusions that contradict answers) and
answers; the engine and ``tests/reference.py`` must agree on conclusions,
every justification, strengths and conflicts. The engine must terminate,
fire each (rule, facts) once, and every derivation must bottom out in
answers. The built-in knowledge base is also run against the reference on
every combination of answers, and so is a small knowledge base written for
what the generated ones seldom reach (exclusive states).

The reference shares no code with the engine (tests/test_reference.py
checks that it imports only the standard library): it reads the same TOML
text or files itself, and the two are compared by plain values only
(concept and state strings, rule ids, strength names).

The CI run is fixed-seed: COFACTOR_DIFF_EXAMPLES knowledge bases (default
400) with ten cases each; at least 2,000 of them reach the engine (the rest are
refused at load, and the reference must agree that they cannot be stratified). A longer run:

    COFACTOR_DIFF_EXAMPLES=5000 python -m pytest tests/test_differential.py
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
from pathlib import Path

import pytest
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import KnowledgeBaseError, Reasoner, load
from cofactor.engine.answers import Answers

EXAMPLES = int(os.environ.get("COFACTOR_DIFF_EXAMPLES", "400"))
CASES_PER_KB = 10
STRENGTHS = ["established", "likely", "possible"]


@st.composite
def knowledge_bases(draw):
    """A random knowledge base as TOML text, and its questions."""
    questions = {}
    for i in range(draw(st.integers(2, 8))):
        states = [f"s{j}" for j in range(draw(st.integers(2, 4)))]
        questions[f"q{i}"] = (states, draw(st.booleans()) and draw(st.booleans()))
    derived = {}
    for i in range(draw(st.integers(3, 30))):
        states = [f"v{j}" for j in range(draw(st.integers(1, 3)))]
        derived[f"d{i}"] = (states, draw(st.integers(0, 9)) == 0)
    concepts = {**questions, **derived}
    names = sorted(concepts)
    many = draw(st.integers(0, 9)) == 0
    rules = []
    for r in range(draw(st.integers(20, 300) if many else st.integers(1, 40))):
        when = []
        used = set()
        negated = set()
        for _ in range(draw(st.integers(1, 3))):
            form = draw(st.sampled_from(["=", "=", "=", "in", "not", "not in"]))
            # 'not' mostly on questions (always, in large knowledge bases), so that
            # most knowledge bases can be stratified
            pool = sorted(questions) if form.startswith("not") and (many or draw(st.integers(0, 5))) else names
            concept = draw(st.sampled_from(pool))
            states = concepts[concept][0]
            if "in" in form and len(states) > 1:
                chosen = draw(st.lists(st.sampled_from(states), min_size=2, max_size=len(states), unique=True))
                text = f"{concept} in [{', '.join(chosen)}]"
            else:
                chosen = [draw(st.sampled_from(states))]
                text = f"{concept} = {chosen[0]}"
            if form.startswith("not"):
                text = "not " + text
                negated |= {(concept, s) for s in chosen}
            else:
                used |= {(concept, s) for s in chosen}
            when.append(text)
        # mostly derived conclusions; now and then one on a question (a conflict with answers)
        pool = names if not many and draw(st.integers(0, 9)) == 0 else sorted(derived)
        then = []
        for _ in range(draw(st.integers(1, 2))):
            concept = draw(st.sampled_from(pool))
            fact = (concept, draw(st.sampled_from(concepts[concept][0])))
            if fact not in used and fact not in negated and f"{fact[0]} = {fact[1]}" not in then:
                then.append(f"{fact[0]} = {fact[1]}")
        if then:
            rules.append((f"r{r:03d}", when, then, draw(st.sampled_from(STRENGTHS))))
    lines = ['[[document]]\nid = "d"\ntitle = "D"\n']
    exclusive_of = {}
    for cid in names:
        states, multi = concepts[cid]
        exclusive = multi and len(states) > 2 and draw(st.booleans())
        if exclusive:
            exclusive_of[cid] = states[-1]
        lines.append(
            f'[[concept]]\nid = "{cid}"\nstates = {json.dumps(states)}\n'
            + (f'question = "{cid}?"\n' if cid in questions else "")
            + ("multi = true\n" if multi else "")
            + (f'exclusive = ["{states[-1]}"]\n' if exclusive else "")
        )
    for rid, when, then, strength in rules:
        lines.append(
            f'[[rule]]\nid = "{rid}"\ntitle = "{rid}"\nwhen = {json.dumps(when)}\n'
            f'then = {json.dumps(then)}\nstrength = "{strength}"\n'
            'sources = [{ document = "d", quote = "q" }]\n'
        )
    answer_sets = []
    for _ in range(CASES_PER_KB):
        answers = {}
        for qid, (states, multi) in sorted(questions.items()):
            if draw(st.integers(0, 9)) < 3:
                continue  # unknown
            if multi:
                chosen = draw(st.lists(st.sampled_from(states), min_size=1, max_size=2, unique=True))
                if len(chosen) > 1 and exclusive_of.get(qid) in chosen:
                    chosen.remove(exclusive_of[qid])  # an exclusive state stands alone
                answers[qid] = tuple(chosen)
            else:
                answers[qid] = (draw(st.sampled_from(states)),)
        answer_sets.append(answers)
    return "\n".join(lines), answer_sets


def _answers(kb, given: dict) -> Answers:
    answers = Answers()
    for concept, states in given.items():
        answers = answers.with_answer(kb, concept, states)
    return answers


def _route(justification) -> reference.Route:
    return (justification.rule.id, tuple((p.concept, p.state) for p in justification.premises))


def engine_outcome(case) -> dict:
    """What the engine found, as the plain values the reference gives."""
    justifications = {}
    for support in case.support.values():
        if support.justifications:
            justifications[(support.fact.concept, support.fact.state)] = frozenset(
                _route(j) for j in support.justifications
            )
    conflicts = {
        conflict.concept: {
            side.state: (side.given, side.blocked, frozenset(_route(j) for j in side.justifications))
            for side in conflict.sides
        }
        for conflict in case.conflicts
    }
    return {
        "conclusions": {(s.fact.concept, s.fact.state) for s in case.conclusions},
        "justifications": justifications,
        "strength": {(f.concept, f.state): s.strength.label for f, s in case.support.items()},
        "conflicts": conflicts,
        # derived fact -> (its best route, the rule named as its weakest link)
        "best": {(f.concept, f.state): (_route(s.best), s.weakest.id) for f, s in case.support.items() if not s.given},
        "fired": [(step.rule.id, tuple((p.concept, p.state) for p in step.matched)) for step in case.steps],
        "answers": {(f.concept, f.state) for f in case.answers.facts()},
    }


def check_case(reasoner: Reasoner, knowledge: reference.Knowledge, given: dict) -> None:
    case = reasoner.reason(_answers(reasoner.kb, given))
    actual = engine_outcome(case)
    expected = reference.reason(knowledge, given)
    assert actual["answers"] == {(c, s) for c, states in given.items() for s in states}
    assert actual["conclusions"] == expected.conclusions
    assert actual["justifications"] == expected.justifications
    assert actual["strength"] == expected.strength
    assert actual["conflicts"] == expected.conflicts
    # each activation fires once
    fired = actual["fired"]
    assert len(fired) == len(set(fired))
    # every derivation is well-founded: it bottoms out in answers
    grounded = set(actual["answers"])
    grew = True
    while grew:
        grew = False
        for fact, routes in actual["justifications"].items():
            if fact not in grounded and any(grounded.issuperset(premises) for _, premises in routes):
                grounded.add(fact)
                grew = True
    assert grounded == set(actual["strength"])
    # each conclusion's best route has its strength, and leads to the answers
    best = actual["best"]
    assert set(best) == expected.conclusions
    for fact, ((rule, premises), weakest) in best.items():
        strength = expected.strength[fact]
        assert (rule, premises) in expected.justifications[fact]
        assert expected.route_strength(rule, premises) == strength
        assert expected.rule_strength[weakest] == strength
        current = fact
        for _ in range(len(expected.strength)):
            rule, premises = best[current][0]
            if expected.rule_strength[rule] == strength:
                break
            current = next(p for p in premises if expected.strength[p] == strength)
        else:
            pytest.fail(f"following best routes from {fact} goes round in circles")


def load_text(text: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kb.toml"
        path.write_text(text, encoding="utf-8")
        return load([path])


@pytest.mark.slow
def test_experta_agrees_with_the_reference_on_generated_knowledge_bases():
    cases = []
    rejected = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(knowledge_bases())
    def check(generated):
        text, answer_sets = generated
        try:
            kb = load_text(text)
        except KnowledgeBaseError as exc:
            # only a 'not' that depends on its own conclusion is refused; the
            # reference, reading the same text, must refuse it too
            assert all("'not' condition depends" in p.message for p in exc.problems), str(exc)
            with pytest.raises(reference.Unstratifiable):
                reference.parse(text)
            rejected.append(1)
            return
        knowledge = reference.parse(text)  # the reference reads it too, and can stratify it
        assert sorted(r.id for r in kb.rules) == sorted(knowledge.rules)
        reasoner = Reasoner(kb)
        for given_answers in answer_sets:
            check_case(reasoner, knowledge, given_answers)
            cases.append(1)

    check()
    assert len(cases) >= 2000 or EXAMPLES < 400, (len(cases), len(rejected))


def _every_answer(concept: reference.Concept) -> list[tuple[str, ...]]:
    options: list[tuple[str, ...]] = [()]  # unknown
    if concept.multi:
        plain = [s for s in concept.states if s not in concept.exclusive]
        options += [(s,) for s in concept.exclusive]
        options += [(s,) for s in plain]
        options += list(itertools.combinations(plain, 2))
        options.append(tuple(plain))
    else:
        options += [(s,) for s in concept.states]
    return options


# What the generated knowledge bases (almost) never reach: conclusions on
# multi-valued concepts with an exclusive state, against an answer and among
# derived facts, next to a 'not' on a concept that rules conclude and a loop.
CHOSEN = """
[[document]]
id = "d"
title = "D"

[[concept]]
id = "symptom"
states = ["a", "b", "none"]
question = "symptom?"
multi = true
exclusive = ["none"]

[[concept]]
id = "diet"
states = ["poor", "good"]
question = "diet?"

[[concept]]
id = "q"
states = ["yes", "no"]
question = "q?"

[[concept]]
id = "m"
states = ["low", "ok"]

[[concept]]
id = "tags"
states = ["x", "y", "none"]
multi = true
exclusive = ["none"]
""" + "".join(
    f'\n[[rule]]\nid = "{rid}"\ntitle = "{rid}"\nwhen = {json.dumps(when)}\nthen = {json.dumps(then)}\n'
    f'strength = "{strength}"\nsources = [{{ document = "d", quote = "q" }}]\n'
    for rid, when, then, strength in [
        ("r1", ["diet = poor"], ["symptom = a"], "possible"),
        ("r2", ["diet = good"], ["symptom = none"], "likely"),
        ("r3", ["symptom in [a, b]"], ["tags = x"], "established"),
        ("r4", ["q = yes"], ["tags = none"], "likely"),
        ("r5", ["diet = poor"], ["m = low"], "likely"),
        ("r6", ["not symptom = none"], ["m = ok"], "possible"),
        ("r7", ["tags in [x, y]"], ["q = no"], "established"),
        ("r8", ["m in [low, ok]"], ["tags = y"], "possible"),
        ("r9", ["tags = y", "q = no"], ["m = low"], "established"),
    ]
)


def test_experta_agrees_with_the_reference_on_exclusive_states():
    kb = load_text(CHOSEN)
    knowledge = reference.parse(CHOSEN)
    reasoner = Reasoner(kb)
    questions = knowledge.questions()
    assert [q.id for q in kb.questions] == [q.ident for q in questions]
    conflicts = set()
    for combo in itertools.product(*[_every_answer(q) for q in questions]):
        given = {q.ident: states for q, states in zip(questions, combo, strict=True) if states}
        check_case(reasoner, knowledge, given)
        conflicts |= set(reference.reason(knowledge, given).conflicts)
    assert conflicts == {"symptom", "q", "m", "tags"}  # every kind of clash was met


@pytest.mark.slow
def test_builtin_knowledge_base_against_the_reference_on_every_combination(kb, reasoner):
    """Every combination of answers to the single-valued questions (each
    state or unknown), with the multi-valued one unknown, alone, in pairs
    or all together on a sample: the engine and the reference agree."""
    knowledge = reference.load(BUILTIN_RULES)  # the same files, read by the reference itself
    assert sorted(r.id for r in kb.rules) == sorted(knowledge.rules)
    assert [q.id for q in kb.questions] == [q.ident for q in knowledge.questions()]
    questions = [q for q in knowledge.questions() if not q.multi]
    multi = [q for q in knowledge.questions() if q.multi]
    counted = 0
    symptom_options = {q.ident: _every_answer(q) for q in multi}
    for index, combo in enumerate(itertools.product(*[_every_answer(q) for q in questions])):
        given = {q.ident: states for q, states in zip(questions, combo, strict=True) if states}
        for q in multi:  # cycle the multi-valued answers through the combinations
            options = symptom_options[q.ident]
            states = options[index % len(options)]
            if states:
                given[q.ident] = states
        check_case(reasoner, knowledge, given)
        counted += 1
    assert counted == math.prod(len(_every_answer(q)) for q in questions)
