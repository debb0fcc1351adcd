"""The exhaustive run (engine/exhaustive.py) and the proof of its reductions.

The run reasons over far fewer cases than there are combinations of answers.
Here every claim it makes is checked against brute force: on small generated
knowledge bases every combination is reasoned over, and the rules that fire,
the conflicts, and each combination's own outcome (fired rules, derived
facts with strengths, conflicts) must be what the reduced run says. The
same comparison is shown to catch a deliberately unsound reduction. On the
built-in knowledge base a deterministic sample of full combinations, and the
whole multi-valued question, are compared with the cases that stand for them.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import pytest

from cofactor.engine import exhaustive
from cofactor.engine.answers import Answers
from cofactor.engine.graph import negation_strata
from cofactor.engine.model import Concept, Condition, Fact, Kind, KnowledgeBase, Rule, Strength
from cofactor.engine.reasoning import Reasoner

# ---------------------------------------------------------------------------
# Brute force, written without the module under test
# ---------------------------------------------------------------------------


def answers_of(concept: Concept) -> list[tuple[str, ...]]:
    """Every answer a question takes: unknown (), one state; for a multi-valued
    one, an exclusive state alone or any non-empty set of the others."""
    out: list[tuple[str, ...]] = [()]
    if not concept.multi:
        return out + [(s,) for s in concept.states]
    out += [(s,) for s in concept.states if s in concept.exclusive]
    rest = [s for s in concept.states if s not in concept.exclusive]
    for mask in range(1, 2 ** len(rest)):
        out.append(tuple(s for i, s in enumerate(rest) if mask >> i & 1))
    return out


def combinations(kb: KnowledgeBase) -> Iterator[dict[str, tuple[str, ...]]]:
    ids = [q.id for q in kb.questions]
    for combo in itertools.product(*(answers_of(q) for q in kb.questions)):
        yield {q: states for q, states in zip(ids, combo, strict=True) if states}


def to_answers(case: Mapping[str, tuple[str, ...]]) -> Answers:
    return Answers(dict(sorted((q, tuple(s)) for q, s in case.items() if s)), frozenset())


class Outcome(NamedTuple):
    fired: frozenset[str]
    derived: frozenset[tuple[Fact, Strength]]
    conflicts: frozenset[tuple]  # (concept, ((state, given, blocked, rule ids), ...))


def outcome(reasoner: Reasoner, case: Mapping[str, tuple[str, ...]]) -> Outcome:
    result = reasoner.reason(to_answers(case))
    return Outcome(
        frozenset(f[0].id for f in result.firings),
        frozenset((s.fact, s.strength) for s in result.support.values() if not s.given),
        frozenset(
            (
                c.concept,
                tuple(
                    (side.state, side.given, side.blocked, tuple(sorted({j.rule.id for j in side.justifications})))
                    for side in c.sides
                ),
            )
            for c in result.conflicts
        ),
    )


def _undeclared(kb: KnowledgeBase, conflict: tuple) -> tuple | None:
    """(concept, states, rules) of a conflict without the rules standing in for
    the answer (declared by the rule file: no finding), or None when no other
    side is left against the answer."""
    concept, sides = conflict
    stand_ins = {r.id for r in kb.rules if r.stands_in_for is not None and r.stands_in_for.concept == concept}
    kept = [(state, set(rules) - stand_ins) for state, given, _, rules in sides if given or set(rules) - stand_ins]
    if len(kept) < 2:
        return None
    return concept, tuple(state for state, _ in kept), tuple(sorted(set().union(*(rules for _, rules in kept))))


def region(o: Outcome, plan: exhaustive.Plan, group: int) -> Outcome:
    """The part of an outcome that depends on one group's questions (-1: on none)."""
    return Outcome(
        frozenset(r for r in o.fired if plan.rule_group[r] == group),
        frozenset(d for d in o.derived if plan.concept_group[d[0].concept] == group),
        frozenset(c for c in o.conflicts if plan.concept_group[c[0]] == group),
    )


def differences(kb: KnowledgeBase, *, limit: int = 5) -> list[str]:
    """Everything on which the reduced run disagrees with brute force over
    every combination (at most ``limit`` per kind); [] when it is sound."""
    reasoner = Reasoner(kb)
    plan = exhaustive.plan(kb)
    result = exhaustive.run(kb, reasoner)
    found: list[str] = []
    cache: dict[tuple, Outcome] = {}

    def of(case: Mapping[str, tuple[str, ...]]) -> Outcome:
        key = tuple(sorted(case.items()))
        if key not in cache:
            cache[key] = outcome(reasoner, case)
        return cache[key]

    fired: set[str] = set()
    conflicts: set[tuple[str, tuple[str, ...]]] = set()
    count = 0
    mismatches = 0
    groups = {-1, *range(len(plan.groups))}
    for combo in combinations(kb):
        count += 1
        mine = of(combo)
        fired |= mine.fired
        conflicts |= {found[:2] for found in (_undeclared(kb, c) for c in mine.conflicts) if found}
        covering = plan.covering(combo)
        assert {g for g, _ in covering} == groups
        for group, case in covering:
            if region(mine, plan, group) != region(of(case), plan, group):
                mismatches += 1
                if mismatches <= limit:
                    found.append(f"{combo} differs from {case} on group {group}")
    if count != result.combinations:
        found.append(f"{result.combinations} combinations claimed, {count} exist")
    never = tuple(sorted({r.id for r in kb.rules} - fired))
    if result.never_fired != never:
        found.append(f"never fired: run says {result.never_fired}, brute force {never}")
    if {(c.concept, c.states) for c in result.conflicts} != conflicts:
        found.append(f"conflicts: run says {[c[:2] for c in result.conflicts]}, brute force {sorted(conflicts)}")
    for seen in result.conflicts:
        case = dict(seen.example)
        if (seen.concept, seen.states, seen.rules) not in {_undeclared(kb, c) for c in of(case).conflicts}:
            found.append(f"the example {case} does not give {seen}")
    if not result.complete or result.cases != plan.cases:
        found.append(f"the run was not complete: {result}")
    return found


# ---------------------------------------------------------------------------
# Small generated knowledge bases
# ---------------------------------------------------------------------------

STRENGTHS = Strength.for_rules()


def _concept(cid: str, states: tuple[str, ...], *, question: bool, multi=False, exclusive=()) -> Concept:
    kind = Kind.QUESTION if question else Kind.MECHANISM
    return Concept(cid, cid, states, kind, question=f"{cid}?" if question else "", multi=multi, exclusive=exclusive)


def _part(rng: random.Random, prefix: str, concepts: dict[str, Concept], rules: list[Rule]) -> list[str]:
    """One cluster of questions, derived concepts and rules; returns its derived concepts."""
    questions = []
    for k in range(rng.randint(2, 3)):
        cid = f"{prefix}q{k}"
        if k == 0 and rng.random() < 0.7:
            states = tuple(f"s{i}" for i in range(rng.randint(3, 4)))
            exclusive = ("none",) if rng.random() < 0.7 else ()
            concepts[cid] = _concept(cid, states + exclusive, question=True, multi=True, exclusive=exclusive)
        else:
            concepts[cid] = _concept(cid, tuple(f"s{i}" for i in range(rng.randint(2, 4))), question=True)
        questions.append(cid)
    derived = []
    for k in range(rng.randint(2, 4)):
        cid = f"{prefix}d{k}"
        concepts[cid] = _concept(cid, tuple(f"v{i}" for i in range(rng.randint(2, 3))), question=False)
        derived.append(cid)

    def condition(cid: str) -> Condition:
        states = concepts[cid].states
        picked = tuple(sorted(rng.sample(states, rng.randint(1, min(2, len(states) - 1)))))
        return Condition(cid, picked, negated=rng.random() < 0.2)

    for k in range(rng.randint(4, 8)):
        layer = rng.randrange(len(derived))
        pool = questions + derived[:layer]
        when = tuple({c.concept: c for c in (condition(rng.choice(pool)) for _ in range(rng.randint(1, 3)))}.values())
        target = derived[layer]
        then = [Fact(target, rng.choice(concepts[target].states))]
        if layer + 1 < len(derived) and rng.random() < 0.2:
            other = derived[rng.randrange(layer + 1, len(derived))]
            then.append(Fact(other, rng.choice(concepts[other].states)))
        rules.append(Rule(f"{prefix}.r{k}", "", when, tuple(then), rng.choice(STRENGTHS), ()))
    if rng.random() < 0.6:  # a rule concluding a question, from a derived concept (a loop back)
        q = rng.choice(questions)
        states = tuple(s for s in concepts[q].states if s not in concepts[q].exclusive)
        when = (condition(rng.choice(derived)),)
        rules.append(Rule(f"{prefix}.back", "", when, (Fact(q, rng.choice(states)),), rng.choice(STRENGTHS), ()))
    return derived


def generated_kb(seed: int) -> KnowledgeBase:
    """A small knowledge base with `in`, `not`, a multi-valued question (often
    with an exclusive state), chains, conflicts, a rule concluding a question,
    and sometimes two clusters of rules that nothing joins."""
    rng = random.Random(seed)
    while True:
        concepts: dict[str, Concept] = {}
        rules: list[Rule] = []
        parts = [_part(rng, p, concepts, rules) for p in ("a", "b")[: rng.choice((1, 2, 2))]]
        if len(parts) == 2 and rng.random() < 0.3:  # a rule that joins the two clusters
            when = (Condition(parts[0][0], (concepts[parts[0][0]].states[0],)), Condition("bq1", ("s1",)))
            rules.append(Rule("join", "", when, (Fact(parts[1][-1], "v0"),), Strength.LIKELY, ()))
        strata, bad = negation_strata(rules)
        size = 1
        for c in concepts.values():
            if c.is_question:
                size *= len(answers_of(c))
        if not bad and size <= 3000:
            return KnowledgeBase(concepts, tuple(sorted(_stand_ins(seed, concepts, rules))), {}, strata=strata)


def _stand_ins(seed: int, concepts: dict[str, Concept], rules: list[Rule]) -> list[Rule]:
    """Some rules made to stand in for a question they do not read: set aside
    when it is answered, and a conflict when the answer is outside their set.
    (A generator of its own, so the seeds' knowledge bases are otherwise the
    ones they always were.)"""
    rng = random.Random(seed + 10_000)
    out = []
    for rule in rules:
        read = {c.concept for c in rule.when}
        # a question of the rule's own cluster, so clusters stay apart
        free = sorted(c.id for c in concepts.values() if c.is_question and c.id not in read and c.id[0] == rule.id[0])
        if free and rng.random() < 0.3:
            cid = rng.choice(free)
            states = concepts[cid].states
            picked = tuple(sorted(rng.sample(states, rng.randint(1, len(states) - 1))))
            rule = rule._replace(stands_in_for=Condition(cid, picked))
        out.append(rule)
    return out


SEEDS = range(16)


@pytest.mark.parametrize("seed", SEEDS)
def test_on_a_generated_knowledge_base_the_reduced_run_says_what_brute_force_says(seed):
    assert differences(generated_kb(seed)) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(16, 120))
def test_on_many_more_generated_knowledge_bases_the_reduced_run_says_what_brute_force_says(seed):
    assert differences(generated_kb(seed)) == []


def test_the_generated_knowledge_bases_exercise_every_reduction_and_feature():
    """The seeds above are not trivial: they reduce, split into groups, and
    hold every feature the reductions must respect."""
    seen: set[str] = set()
    for seed in SEEDS:
        kb = generated_kb(seed)
        plan = exhaustive.plan(kb)
        result = exhaustive.run(kb)
        if plan.cases < plan.combinations // 4:
            seen.add("reduced")
        if len([g for g in plan.groups if any(plan.choices[q].kinds > 1 for q in g)]) > 1:
            seen.add("groups")
            assert "apart" in result.reduction
        if any(not c.reduced for c in plan.choices.values()):
            seen.add("question concluded")
        if any(c.negated for r in kb.rules for c in r.when):
            seen.add("not")
        if any(len(c.states) > 1 for r in kb.rules for c in r.when):
            seen.add("in")
        if any(q.multi and q.exclusive for q in kb.questions):
            seen.add("exclusive")
        if any(kb.concepts[c.concept].is_question for c in result.conflicts):
            seen.add("conflict with an answer")
        if any(not kb.concepts[c.concept].is_question for c in result.conflicts):
            seen.add("conflict between rules")
        if result.never_fired:
            seen.add("never fired")
        if any(r.stands_in_for for r in kb.rules):
            seen.add("stand-in")
    assert seen == {
        "reduced",
        "groups",
        "question concluded",
        "not",
        "in",
        "exclusive",
        "conflict with an answer",
        "conflict between rules",
        "never fired",
        "stand-in",
    }


def _classes_by_brute_force(kb: KnowledgeBase, question: Concept) -> dict[tuple[bool, ...], list[tuple[str, ...]]]:
    conditions = [c for r in kb.rules for c in r.when if c.concept == question.id]
    conditions += [c for concept in kb.concepts.values() for c in concept.ask_if if c.concept == question.id]
    classes: dict[tuple[bool, ...], list[tuple[str, ...]]] = {}
    for answer in answers_of(question):
        known = {Fact(question.id, s) for s in answer}
        classes.setdefault(tuple(c.holds(known) for c in conditions), []).append(answer)
    return classes


def _check_classes(kb: KnowledgeBase) -> None:
    """Each question's classes are exactly the answers its conditions cannot
    tell apart; a question a rule concludes, or stands in for, keeps every answer."""
    plan = exhaustive.plan(kb)
    concluded = {f.concept for r in kb.rules for f in r.then}
    concluded |= {r.stands_in_for.concept for r in kb.rules if r.stands_in_for}
    for question in kb.questions:
        choice = plan.choices[question.id]
        every = answers_of(question)
        assert choice.answers == len(every)
        if question.id in concluded:
            assert not choice.reduced and sorted(choice.classes) == sorted(every)
            continue
        brute = _classes_by_brute_force(kb, question)
        assert choice.kinds == len(brute) == len(choice.classes)
        for members in brute.values():
            reps = {choice.representative(a) for a in members}
            assert len(reps) == 1 and reps <= set(every)  # one representative, a real answer
            assert reps <= set(members)  # of the class itself
            assert len(reps.pop()) == min(len(a) for a in members)  # the smallest, for short examples


@pytest.mark.parametrize("seed", SEEDS)
def test_the_classes_are_exactly_the_answers_no_condition_tells_apart(seed):
    _check_classes(generated_kb(seed))


# ---------------------------------------------------------------------------
# The comparison catches unsound reductions
# ---------------------------------------------------------------------------


def _two_questions() -> KnowledgeBase:
    q1 = _concept("q1", ("a", "b", "c"), question=True)
    q2 = _concept("q2", ("x", "y", "z", "none"), question=True, multi=True, exclusive=("none",))
    d = _concept("d", ("yes", "no"), question=False)
    rules = (
        Rule(
            "r.both", "", (Condition("q1", ("a",)), Condition("q2", ("y", "z"))), (Fact("d", "yes"),), STRENGTHS[0], ()
        ),
        Rule("r.other", "", (Condition("q1", ("b",), negated=True),), (Fact("d", "no"),), STRENGTHS[1], ()),
    )
    return KnowledgeBase({c.id: c for c in (q1, q2, d)}, rules, {}, strata=negation_strata(rules)[0])


def test_merging_states_a_condition_tells_apart_is_caught(monkeypatch):
    kb = _two_questions()
    assert differences(kb) == []
    sound = exhaustive._tests

    def careless(kb):  # forgets the last state set each question's conditions test
        return {concept: sets[:-1] for concept, sets in sound(kb).items()}

    monkeypatch.setattr(exhaustive, "_tests", careless)
    found = differences(kb)
    assert any("differs from" in f for f in found)
    assert any("never fired" in f for f in found)


def test_merging_states_is_caught_on_the_generated_knowledge_bases_too(monkeypatch):
    sound = exhaustive._tests
    monkeypatch.setattr(exhaustive, "_tests", lambda kb: {c: sets[1:] for c, sets in sound(kb).items()})
    caught = [seed for seed in SEEDS if differences(generated_kb(seed), limit=1)]
    assert len(caught) >= len(SEEDS) // 2, caught


def test_splitting_questions_a_rule_joins_is_caught(monkeypatch):
    kb = _two_questions()
    sound = exhaustive._groups

    def apart(kb):  # every question on its own, whatever the rules join
        groups, rules, concepts = sound(kb)
        alone = tuple((q,) for g in groups for q in g)
        return alone, rules, concepts

    monkeypatch.setattr(exhaustive, "_groups", apart)
    found = differences(kb)
    assert any("never fired" in f and "r.both" in f for f in found)
    assert any("differs from" in f for f in found)


def test_reducing_a_question_that_a_rule_concludes_would_be_caught(monkeypatch):
    """A conclusion conflicts with an answer by its exact states: for a
    concluded question, answers that conditions treat alike are not alike."""
    q = _concept("q", ("a", "b", "c"), question=True)
    r = _concept("r", ("on", "off"), question=True)
    rules = (Rule("r.q", "", (Condition("r", ("on",)),), (Fact("q", "a"),), STRENGTHS[0], ()),)
    kb = KnowledgeBase({"q": q, "r": r}, rules, {}, strata=negation_strata(rules)[0])
    assert differences(kb) == []
    real = exhaustive._choice
    monkeypatch.setattr(exhaustive, "_choice", lambda concept, tests, reduce, cap: real(concept, tests, True, cap))
    found = differences(kb)
    assert any("conflicts" in f for f in found)


# ---------------------------------------------------------------------------
# The built-in knowledge base
# ---------------------------------------------------------------------------


def _random_answer(rng: random.Random, concept: Concept) -> tuple[str, ...]:
    if rng.random() < 0.25:
        return ()
    if not concept.multi:
        return (rng.choice(concept.states),)
    if concept.exclusive and rng.random() < 0.15:
        return (rng.choice(concept.exclusive),)
    rest = [s for s in concept.states if s not in concept.exclusive]
    return tuple(s for s in rest if rng.random() < 0.4) or (rng.choice(rest),)


def _covered(reasoner: Reasoner, plan: exhaustive.Plan, combo: dict[str, tuple[str, ...]]) -> None:
    mine = outcome(reasoner, combo)
    for group, case in plan.covering(combo):
        assert region(mine, plan, group) == region(outcome(reasoner, case), plan, group), (combo, case)


def test_on_the_built_in_knowledge_base_sampled_combinations_equal_their_representatives(kb, reasoner):
    plan = exhaustive.plan(kb)
    rng = random.Random(10)
    for _ in range(300):
        _covered(reasoner, plan, {q.id: a for q in kb.questions if (a := _random_answer(rng, q))})


def test_on_the_built_in_knowledge_base_the_whole_multi_valued_question_equals_its_representatives(kb, reasoner):
    plan = exhaustive.plan(kb)
    multi = [q for q in kb.questions if q.multi]
    assert multi
    rng = random.Random(3)
    for question in multi:
        every = answers_of(question)
        assert len(every) == plan.choices[question.id].answers
        fixed: list[dict[str, tuple[str, ...]]] = [{}]  # the other questions unknown, then fixed four ways
        for _ in range(4):
            fixed.append({q.id: a for q in kb.questions if q.id != question.id and (a := _random_answer(rng, q))})
        for others in fixed:
            for answer in every:
                _covered(reasoner, plan, {**others, question.id: answer} if answer else others)


def test_on_the_built_in_knowledge_base_the_classes_are_exact(kb):
    _check_classes(kb)


def test_the_built_in_knowledge_base_runs_whole(kb, reasoner):
    # how fast it runs is measured by the benchmark (python -m bench.check), not here
    started = time.perf_counter()
    result = exhaustive.run(kb)  # compiling included
    elapsed = time.perf_counter() - started
    product = 1
    for q in kb.questions:
        product *= len(answers_of(q))
    assert result.complete and result.error == ""
    assert result.combinations == product > 1_000_000
    assert result.cases == exhaustive.plan(kb).cases < product // 100
    assert 0 < result.seconds <= elapsed  # the time reported is the run's own
    assert set(result.never_fired) <= {r.id for r in kb.rules}
    for seen in result.conflicts:  # each example, reasoned over, gives its conflict
        found = outcome(reasoner, dict(seen.example)).conflicts
        assert (seen.concept, seen.states, seen.rules) in {_undeclared(kb, c) for c in found}
        for question, states in seen.example:  # real answers, not classes
            assert states in answers_of(kb.concepts[question])
    assert result.conflicts == tuple(sorted(result.conflicts))
    assert len({(c.concept, c.states) for c in result.conflicts}) == len(result.conflicts)


# ---------------------------------------------------------------------------
# Budget, progress, errors
# ---------------------------------------------------------------------------


def test_over_the_budget_nothing_is_run_and_nothing_is_claimed(kb):
    calls = []
    result = exhaustive.run(kb, progress=lambda done, total: calls.append(done), budget=10)
    assert not result.complete and result.error == ""
    assert result.cases == exhaustive.plan(kb).cases > 10
    assert result.never_fired == () and result.conflicts == () and calls == []


def test_a_question_with_too_many_classes_to_list_stops_counting_at_the_budget():
    states = tuple(f"s{i:02}" for i in range(24))
    q = _concept("q", states, question=True, multi=True)
    rules = tuple(
        Rule(f"r{i:02}", "", (Condition("q", (s,)),), (Fact("d", "yes"),), STRENGTHS[0], ())
        for i, s in enumerate(states)
    )
    d = _concept("d", ("yes", "no"), question=False)
    kb = KnowledgeBase({"q": q, "d": d}, rules, {}, strata=negation_strata(rules)[0])
    started = time.perf_counter()
    result = exhaustive.run(kb, budget=1000)
    assert time.perf_counter() - started < 5
    assert not result.complete and result.cases > 1000 and result.combinations == 2**24
    # concluded by a rule, so every answer is its own class: counted, not listed
    back = (*rules, Rule("back", "", (Condition("d", ("yes",)),), (Fact("q", "s00"),), STRENGTHS[0], ()))
    kb = KnowledgeBase({"q": q, "d": d}, back, {}, strata=negation_strata(back)[0])
    result = exhaustive.run(kb, budget=1000)
    assert not result.complete and result.cases == 2**24 == result.combinations


def test_progress_is_reported_at_least_every_percent_and_at_the_end(kb):
    calls: list[tuple[int, int]] = []
    result = exhaustive.run(kb, progress=lambda done, total: calls.append((done, total)))
    assert {total for _, total in calls} == {result.cases}
    done = [d for d, _ in calls]
    assert done[0] == 0 and done[-1] == result.cases and done == sorted(done)
    assert max(b - a for a, b in itertools.pairwise(done)) <= result.cases // 100


def test_a_reasoning_error_is_returned_not_raised(kb):
    result = exhaustive.run(kb, Reasoner(kb, firing_limit=2))
    assert not result.complete
    assert "fired more than 2 times" in result.error and "answers:" in result.error
    assert result.never_fired == () and result.conflicts == ()


def test_a_knowledge_base_with_no_questions_runs_its_one_case():
    d = _concept("d", ("yes", "no"), question=False)
    e = _concept("e", ("yes", "no"), question=False)
    rules = (
        Rule("r.absent", "", (Condition("d", ("yes",), negated=True),), (Fact("e", "yes"),), STRENGTHS[0], ()),
        Rule("r.never", "", (Condition("d", ("yes",)),), (Fact("e", "no"),), STRENGTHS[0], ()),
    )
    kb = KnowledgeBase({"d": d, "e": e}, rules, {}, strata=negation_strata(rules)[0])
    result = exhaustive.run(kb)
    assert (result.combinations, result.cases, result.never_fired, result.complete) == (1, 1, ("r.never",), True)
    assert differences(kb) == []
