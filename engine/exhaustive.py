"""The exhaustive run: every combination of answers to every question.

Each question may be left unanswered (unknown) or answered with one of its
states; a multi-valued question with any non-empty set of its states, an
exclusive state (such as "none") standing alone. The plain product of those
choices is far too large to reason over case by case, so the run reasons
over fewer cases and proves, by two reductions, that they say everything the
full product would:

* **State classes.** The answers to one question reach the reasoning only
  through the conditions that name it: two answers for which every such
  condition holds alike (both or neither) match exactly the same rules, so
  one answer of each class (the first: unknown, then single states in the
  concept's order, then larger sets) stands for the whole class. A question
  that some rule concludes, or that a rule stands in for (``stands_in_for``),
  is not reduced: whether a conclusion, or a rule set aside, contradicts an
  answer depends on the exact states given.
* **Independent groups.** A question's influence runs forward through the
  rules that read it and the concepts they conclude. Questions whose
  influence never meets (no rule depends on two of them, no concept is
  concluded from two of them) are joined in no rule firing and no conflict,
  so each group is enumerated on its own with the other questions unknown,
  and the groups' results are united.

Every case reasoned over is itself one of the combinations (unknown is an
answer), so every rule seen firing and every conflict seen is real, and its
example is a case a rule author can try. ``tests/test_exhaustive.py`` proves
both reductions against brute force over every combination.

What the reductions preserve is what the reasoning concludes (the rules
that fire, the facts with their strengths, the conflicts), not how many
times a rule fires: a larger answer set can match an ``in [...]`` condition
in more ways.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from .answers import Answers
from .errors import CofactorError, visible
from .model import Concept, KnowledgeBase

if TYPE_CHECKING:  # pragma: no cover
    from .reasoning import Conflict, Reasoner

DEFAULT_BUDGET = 200_000  # cases; the built-in knowledge base needs a few thousand

Progress = Callable[[int, int], None]
States = tuple[str, ...]  # one answer to a question; () is unknown


class ConflictSeen(NamedTuple):
    concept: str
    states: tuple[str, ...]  # the states in conflict (concept's order)
    # the answers of one case producing it (real states, by concept id); a
    # question not listed is unanswered (unknown)
    example: tuple[tuple[str, tuple[str, ...]], ...]
    rules: tuple[str, ...]  # the rules on its sides in that case, sorted


class Exhaustive(NamedTuple):
    combinations: int  # answer combinations covered (the plain product over the questions)
    # cases reasoned over; over the budget, the cases the run would need
    # (at least budget + 1 if it stopped counting); after an error, the
    # cases reasoned over before it
    cases: int
    reduction: str  # the reduction used and why it is sound, in one or two plain sentences
    never_fired: tuple[str, ...]  # rule ids that fire in no case, sorted
    conflicts: tuple[ConflictSeen, ...]  # each distinct (concept, states) once, sorted
    seconds: float
    complete: bool = True  # False when the cases needed exceed the budget, or on an error: then nothing is claimed
    error: str = ""  # why the run stopped (a firing limit, too many combinations), "" if it did not


class Choice(NamedTuple):
    """The answers tried for one question."""

    question: str
    states: tuple[str, ...]  # the concept's states, in its order
    answers: int  # every answer the question takes (unknown included)
    classes: tuple[States, ...]  # one representative per class, unknown first; () if too many to list
    kinds: int  # how many classes (a lower bound when ``classes`` is empty: too many to list)
    reduced: bool  # False for a question some rule concludes: each answer is its own class
    tests: tuple[frozenset[str], ...] = ()  # the state sets its conditions test (a reduced question)
    by_signature: Mapping[tuple[bool, ...], States] = MappingProxyType({})  # what they hold -> representative

    def representative(self, states: Iterable[str]) -> States:
        """The answer tried in place of ``states`` (a valid answer)."""
        wanted = frozenset(states)
        if self.reduced:
            return self.by_signature[_signature(wanted, self.tests)]
        return tuple(s for s in self.states if s in wanted)


class Plan(NamedTuple):
    """How the run covers every combination."""

    choices: Mapping[str, Choice]  # by question id, in the order questions are asked
    groups: tuple[tuple[str, ...], ...]  # questions enumerated together, in the order asked
    rule_group: Mapping[str, int]  # rule id -> its group's index; -1: it depends on no question
    concept_group: Mapping[str, int]  # concept id -> its group's index; -1: on no question
    combinations: int
    cases: int

    def covering(self, answers: Mapping[str, Sequence[str]]) -> tuple[tuple[int, dict[str, States]], ...]:
        """For one combination (question -> states, absent or () = unknown),
        the cases reasoned over that stand for it: per group, the
        representatives of its questions' answers, every other question
        unknown; first (group -1) the case with every question unknown."""
        out: list[tuple[int, dict[str, States]]] = [(-1, {})]
        for index, group in enumerate(self.groups):
            case = {}
            for q in group:
                rep = self.choices[q].representative(answers.get(q, ()))
                if rep:
                    case[q] = rep
            out.append((index, case))
        return tuple(out)


# ---------------------------------------------------------------------------
# State classes
# ---------------------------------------------------------------------------


def _tests(kb: KnowledgeBase) -> dict[str, list[frozenset[str]]]:
    """concept -> the distinct state sets that conditions on it test (rules'
    ``when``, with ``in`` and ``not``, and concepts' ``ask_if``). A
    condition holds for an answer exactly when the answer meets its set (or,
    negated, does not), so answers meeting the same sets are alike to it."""
    found: dict[str, dict[frozenset[str], None]] = {}
    conditions = [c for r in kb.rules for c in r.when]
    conditions.extend(c for concept in kb.concepts.values() for c in concept.ask_if)
    for cond in conditions:
        found.setdefault(cond.concept, {}).setdefault(frozenset(cond.states))
    return {concept: list(sets) for concept, sets in found.items()}


def _signature(states: frozenset[str], tests: Sequence[frozenset[str]]) -> tuple[bool, ...]:
    return tuple(not states.isdisjoint(t) for t in tests)


def _answer_count(concept: Concept) -> int:
    """Unknown, or one state; for a multi-valued question, unknown, an
    exclusive state alone, or any non-empty set of the other states."""
    if not concept.multi:
        return 1 + len(concept.states)
    exclusive = [s for s in concept.states if s in concept.exclusive]
    return 1 + len(exclusive) + 2 ** (len(concept.states) - len(exclusive)) - 1


def _every_answer(concept: Concept) -> Iterable[States]:
    """Every answer, unknown first, then by size, in the concept's order."""
    yield ()
    if not concept.multi:
        yield from ((s,) for s in concept.states)
        return
    exclusive = set(concept.exclusive)
    others = [s for s in concept.states if s not in exclusive]
    yield from ((s,) for s in concept.states if s in exclusive)
    for size in range(1, len(others) + 1):
        yield from itertools.combinations(others, size)


def _choice(concept: Concept, tests: Sequence[frozenset[str]], reduce: bool, cap: int) -> Choice:
    """The classes of a question's answers (listed when at most ``cap``)."""
    total = _answer_count(concept)
    if not reduce:
        listed = tuple(_every_answer(concept)) if total <= cap else ()
        return Choice(concept.id, concept.states, total, listed, total, False)
    tests = tuple(tests)
    position = {s: i for i, s in enumerate(concept.states)}
    reps: dict[tuple[bool, ...], States] = {_signature(frozenset(), tests): ()}
    for state in concept.states:  # single states, exclusive ones included
        reps.setdefault(_signature(frozenset((state,)), tests), (state,))
    if concept.multi:
        # Larger sets: a set meets a tested set when one of its states does,
        # so its signature is the union of its states' signatures. Build
        # every union of the non-exclusive states' signatures, keeping the
        # smallest set that reaches each.
        exclusive = set(concept.exclusive)
        reached: dict[tuple[bool, ...], States] = {}
        for state in concept.states:
            if state in exclusive:
                continue
            mine = _signature(frozenset((state,)), tests)
            for sig, chosen in list(reached.items()):
                union = tuple(a or b for a, b in zip(sig, mine, strict=True))
                if union not in reached or len(reached[union]) > len(chosen) + 1:
                    reached[union] = (*chosen, state)
            if mine not in reached or len(reached[mine]) > 1:
                reached[mine] = (state,)
            if len(reached) > cap:
                return Choice(concept.id, concept.states, total, (), cap + 1, True, tests)
        for sig, chosen in sorted(reached.items(), key=lambda item: (len(item[1]), [position[s] for s in item[1]])):
            reps.setdefault(sig, chosen)
    if len(reps) > cap:
        return Choice(concept.id, concept.states, total, (), cap + 1, True, tests)
    return Choice(concept.id, concept.states, total, tuple(reps.values()), len(reps), True, tests, reps)


# ---------------------------------------------------------------------------
# Independent groups
# ---------------------------------------------------------------------------


def _dependencies(kb: KnowledgeBase) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The questions each rule and each concept depends on: a question on
    itself; a rule on whatever its conditions' concepts depend on (through
    ``not`` too); a concept on whatever the rules concluding it depend on.
    Computed to a fixed point, so chains and loops are followed."""
    questions = {q.id for q in kb.questions}
    concept_deps: dict[str, set[str]] = {c: ({c} if c in questions else set()) for c in kb.concepts}
    rule_deps: dict[str, set[str]] = {r.id: set() for r in kb.rules}
    changed = True
    while changed:
        changed = False
        for rule in kb.rules:
            deps = rule_deps[rule.id]
            before = len(deps)
            for cond in rule.when:
                deps |= concept_deps.setdefault(cond.concept, set())
            if rule.stands_in_for is not None:
                deps |= concept_deps.setdefault(rule.stands_in_for.concept, set())
            changed |= len(deps) != before
            for fact in rule.then:
                target = concept_deps.setdefault(fact.concept, set())
                if not deps <= target:
                    target |= deps
                    changed = True
    return rule_deps, concept_deps


def _groups(
    kb: KnowledgeBase,
) -> tuple[tuple[tuple[str, ...], ...], dict[str, int], dict[str, int]]:
    """Questions joined when one rule or one concept depends on both; each
    rule and concept with the group it depends on (-1: none)."""
    rule_deps, concept_deps = _dependencies(kb)
    parent = {q.id: q.id for q in kb.questions}

    def root(q: str) -> str:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    for deps in (*rule_deps.values(), *concept_deps.values()):
        joined = sorted(deps)
        for other in joined[1:]:
            parent[root(other)] = root(joined[0])
    members: dict[str, list[str]] = {}
    for q in kb.questions:
        members.setdefault(root(q.id), []).append(q.id)
    groups = tuple(tuple(m) for m in members.values())
    index = {q: i for i, group in enumerate(groups) for q in group}

    def group_of(deps: set[str]) -> int:
        return index[next(iter(deps))] if deps else -1

    return (
        groups,
        {r: group_of(d) for r, d in rule_deps.items()},
        {c: group_of(d) for c, d in concept_deps.items()},
    )


# ---------------------------------------------------------------------------
# The plan and the run
# ---------------------------------------------------------------------------


def plan(kb: KnowledgeBase, budget: int = DEFAULT_BUDGET) -> Plan:
    """The classes of every question's answers and the independent groups."""
    tests = _tests(kb)
    concluded = {fact.concept for rule in kb.rules for fact in rule.then}
    # a rule set aside against an answer is a conflict with that very answer, so a
    # question a rule stands in for keeps its answers apart too
    concluded.update(r.stands_in_for.concept for r in kb.rules if r.stands_in_for is not None)
    choices = {q.id: _choice(q, tests.get(q.id, ()), q.id not in concluded, budget) for q in kb.questions}
    groups, rule_group, concept_group = _groups(kb)
    combinations = 1
    for choice in choices.values():
        combinations *= choice.answers
    cases = 1  # every question unknown
    for group in groups:
        product = 1
        for q in group:
            product *= choices[q].kinds
        cases += product - 1  # the group's all-unknown case is the one above
    return Plan(choices, groups, rule_group, concept_group, combinations, cases)


SAME_ANSWERS = (
    "Answers to a question that every condition on it treats alike (each holds for all of them or for none) "
    "lead to the same conclusions, so one answer of each such kind stands for the rest; "
    "a question that rules conclude, or that a rule stands in for, is tried with every answer."
)
APART = (
    " Questions that no rule connects, even through what is concluded from them, are tried apart "
    "with the others unknown, as no rule or conflict can depend on two of them."
)


def _reduction(p: Plan) -> str:
    used = sum(1 for group in p.groups if any(p.choices[q].kinds > 1 for q in group))
    return SAME_ANSWERS + (APART if used > 1 else "")


def _cases(p: Plan) -> Iterable[dict[str, States]]:
    """Every case to reason over: first every question unknown, then each
    group's combinations of representatives (the others unknown)."""
    yield {}
    for group in p.groups:
        options = [p.choices[q].classes for q in group]
        for combo in itertools.product(*options):
            case = {q: states for q, states in zip(group, combo, strict=True) if states}
            if case:
                yield case


def run(
    kb: KnowledgeBase,
    reasoner: Reasoner | None = None,
    progress: Progress | None = None,
    budget: int = DEFAULT_BUDGET,
) -> Exhaustive:
    """Reason over every combination of answers, through the reductions
    above; see :class:`Exhaustive`. A reasoning error (a firing limit, too
    many combinations) ends the run with ``error`` set, never raised."""
    started = time.perf_counter()
    p = plan(kb, budget)
    reduction = _reduction(p)

    def result(
        cases: int,
        never: tuple[str, ...] = (),
        conflicts: tuple[ConflictSeen, ...] = (),
        complete: bool = True,
        error: str = "",
    ) -> Exhaustive:
        return Exhaustive(
            p.combinations, cases, reduction, never, conflicts, time.perf_counter() - started, complete, error
        )

    if p.cases > budget:
        return result(p.cases, complete=False)
    total = p.cases
    step = max(1, total // 100)
    fired: set[str] = set()
    seen: dict[tuple[str, tuple[str, ...]], tuple[int, dict[str, States], tuple[str, ...]]] = {}
    done = 0
    case: dict[str, States] = {}
    if reasoner is None:
        from .reasoning import Reasoner  # noqa: PLC0415 - compiled only when a run needs it

        try:
            reasoner = Reasoner(kb)
        except CofactorError as exc:
            return result(0, complete=False, error=visible(str(exc)))
    try:
        if progress:
            progress(0, total)
        for case in _cases(p):
            outcome = reasoner.reason(Answers(dict(sorted(case.items())), frozenset()))
            for firing in outcome.firings:
                fired.add(firing[0].id)
            for found in outcome.conflicts:
                conflict = _undeclared(found)
                if conflict is None:
                    continue
                key = (conflict.concept, tuple(side.state for side in conflict.sides))
                size = sum(len(states) for states in case.values())
                if key not in seen or seen[key][0] > size:
                    rules = sorted({j.rule.id for side in conflict.sides for j in side.justifications})
                    seen[key] = (size, case, tuple(rules))
            done += 1
            if progress and (done % step == 0 or done == total):
                progress(done, total)
    except CofactorError as exc:
        shown = ", ".join(f"{q}={','.join(states)}" for q, states in sorted(case.items())) or "every question unknown"
        return result(done, complete=False, error=visible(f"{exc} (answers: {shown})"))
    conflicts = tuple(
        ConflictSeen(concept, states, tuple(sorted(example.items())), rules)
        for (concept, states), (_, example, rules) in sorted(seen.items())
    )
    never = tuple(sorted(r.id for r in kb.rules if r.id not in fired))
    return result(done, never, conflicts)


def _undeclared(conflict: Conflict) -> Conflict | None:
    """The conflict without the rules set aside because they stand in for the
    answer (the rule file declared those: no finding), or None when nothing
    else is left against the answer."""
    concept = conflict.concept
    if not any(j.rule.stands_in(concept) for side in conflict.sides for j in side.justifications):
        return conflict
    sides = []
    for side in conflict.sides:
        kept = tuple(j for j in side.justifications if not j.rule.stands_in(concept))
        if side.given or kept:
            sides.append(side._replace(justifications=kept))
    return conflict._replace(sides=tuple(sides)) if len(sides) > 1 else None


__all__ = ["DEFAULT_BUDGET", "ConflictSeen", "Exhaustive", "Plan", "plan", "run"]
