"""Differential tests: the experta engine against an independent reference.

Hypothesis generates knowledge bases (chains, diamonds, loops, ``not``
conditions, multi-valued concepts, conclusions that contradict answers) and
answers; the engine and ``tests/reference.py`` must agree on conclusions,
every justification, strengths and conflicts. The engine must terminate,
fire each (rule, facts) once, and every derivation must bottom out in
answers. The built-in knowledge base is also run against the reference on
every combination of answers.

The CI run is fixed-seed: COFACTOR_DIFF_EXAMPLES knowledge bases (default
400) with ten cases each; at least 2,000 of them reach the engine (the rest are
refused at load, and the reference must agree that they cannot be stratified). A longer run:

    COFACTOR_DIFF_EXAMPLES=5000 python -m pytest tests/test_differential.py
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from pathlib import Path

import pytest
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofactor.engine import KnowledgeBaseError, Reasoner, load
from cofactor.engine.answers import Answers
from cofactor.engine.reasoning import route_strength

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


def check_case(reasoner: Reasoner, given: dict) -> None:
    kb = reasoner.kb
    case = reasoner.reason(_answers(kb, given))
    expected = reference.reason(kb, {c: tuple(s) for c, s in _answers(kb, given).given.items()})
    actual = reference.from_case(case)
    assert actual["conclusions"] == expected["conclusions"]
    assert actual["justifications"] == expected["justifications"]
    assert actual["strength"] == expected["strength"]
    assert actual["conflicts"] == expected["conflicts"]
    # each activation fires once
    fired = [(s.rule.id, s.matched) for s in case.steps]
    assert len(fired) == len(set(fired))
    # every derivation is well-founded: it bottoms out in answers
    grounded = set(case.answers.facts())
    grew = True
    while grew:
        grew = False
        for fact, support in case.support.items():
            if fact not in grounded and any(all(p in grounded for p in j.premises) for j in support.justifications):
                grounded.add(fact)
                grew = True
    assert grounded == set(case.support)
    # each conclusion's best route has its strength, and leads to the answers
    for fact, support in case.support.items():
        if support.given:
            continue
        assert route_strength(case.support, support.best) == support.strength
        assert support.weakest.strength == support.strength
        current = fact
        for _ in range(len(case.support)):
            best = case.support[current].best
            if best.rule.strength == support.strength:
                break
            current = next(p for p in best.premises if case.support[p].strength == support.strength)
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
            # reference must find the same knowledge base unstratifiable
            assert all("'not' condition depends" in p.message for p in exc.problems), str(exc)
            kb_rules = _rules_only(text)
            with pytest.raises(reference.Unstratifiable):
                reference.strata(kb_rules)
            rejected.append(1)
            return
        reference.strata(kb)  # the reference agrees it is stratifiable
        reasoner = Reasoner(kb)
        for given_answers in answer_sets:
            check_case(reasoner, given_answers)
            cases.append(1)

    check()
    assert len(cases) >= 2000 or EXAMPLES < 400, (len(cases), len(rejected))


def _rules_only(text: str):
    """The knowledge base parsed without the stratification check (for the
    reference's own verdict)."""
    from cofactor.engine import loader

    original = loader.negation_strata
    loader.negation_strata = lambda rules: ({}, [])
    try:
        return load_text(text)
    finally:
        loader.negation_strata = original


def _every_answer(concept) -> list[tuple[str, ...]]:
    options = [()]  # unknown
    if concept.multi:
        plain = [s for s in concept.states if s not in concept.exclusive]
        options += [(s,) for s in concept.exclusive]
        options += [(s,) for s in plain]
        options += list(itertools.combinations(plain, 2))
        options.append(tuple(plain))
    else:
        options += [(s,) for s in concept.states]
    return options


@pytest.mark.slow
def test_builtin_knowledge_base_against_the_reference_on_every_combination(kb, reasoner):
    """Every combination of answers to the single-valued questions (each
    state or unknown), with the multi-valued one unknown, alone, in pairs
    or all together on a sample: the engine and the reference agree."""
    questions = [q for q in kb.questions if not q.multi]
    multi = [q for q in kb.questions if q.multi]
    counted = 0
    symptom_options = {q.id: _every_answer(q) for q in multi}
    for index, combo in enumerate(itertools.product(*[_every_answer(q) for q in questions])):
        given = {q.id: states for q, states in zip(questions, combo, strict=True) if states}
        for q in multi:  # cycle the multi-valued answers through the combinations
            options = symptom_options[q.id]
            states = options[index % len(options)]
            if states:
                given[q.id] = states
        check_case(reasoner, given)
        counted += 1
    assert counted == __import__("math").prod(len(_every_answer(q)) for q in questions)
