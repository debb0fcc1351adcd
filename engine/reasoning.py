"""Reasoning over a case: run the compiled rules, then build derivations.

From the firings experta performs, we keep every justification of every
fact (the rule and the exact facts it matched), compute strengths (a fact is
as strong as the weakest link of its best derivation), and find conflicts.
A user's answer is never overridden: a rule that would conclude another
state of an answered concept is recorded as a conflict and adds nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from ._experta import CompiledKnowledgeBase
from .answers import Answers
from .errors import FiringLimitExceeded
from .model import DERIVED_KINDS, Fact, Kind, KnowledgeBase, Rule, Strength

DEFAULT_FIRING_LIMIT = 100_000
PAUSE_COLLECTOR_FROM = 500  # rules: from here, the garbage collector is paused while a case is reasoned
# conclusions are listed by kind: the derived kinds in their order, then a question's state
KIND_ORDER = {**{kind: rank for rank, kind in enumerate(DERIVED_KINDS)}, Kind.QUESTION: len(DERIVED_KINDS)}


# Justification and Support are named tuples: immutable like the rest of the
# model, and built in C (a case builds one of each per firing and per fact).


class Justification(NamedTuple):
    """One way a fact was reached: a rule and the facts it matched."""

    rule: Rule
    premises: tuple[Fact, ...]

    def key(self):
        return (self.rule.id, self.premises)


class Support(NamedTuple):
    """Everything known about one fact of a case."""

    fact: Fact
    strength: Strength
    given: bool
    justifications: tuple[Justification, ...]
    depth: int  # firings between the answers and this fact, along the shortest route
    best: Justification | None = None  # the route that gives it its strength
    weakest: Rule | None = None  # the weakest rule along that route


def route_strength(support: Mapping[Fact, Support], just: Justification) -> Strength:
    """A route is as strong as its weakest link: its rule or a premise."""
    return min([just.rule.strength, *(support[p].strength for p in just.premises)])


def contradicts(kb: KnowledgeBase, fact: Fact, states: tuple[str, ...] | set[str]) -> bool:
    """Would ``fact`` contradict a concept known in ``states``?

    A single-valued concept holds one state; a multi-valued one any number,
    except that an exclusive state (such as "none") stands alone.
    """
    if not states or fact.state in states:
        return False
    concept = kb.concepts[fact.concept]
    if not concept.multi:
        return True
    return fact.state in concept.exclusive or any(s in concept.exclusive for s in states)


class ConflictSide(NamedTuple):
    state: str
    given: bool  # the user's answer
    blocked: bool  # concluded by rules but not added: it contradicts the answer
    justifications: tuple[Justification, ...]


class Conflict(NamedTuple):
    concept: str
    sides: tuple[ConflictSide, ...]


class SetAside(NamedTuple):
    """A firing of a rule that stands in for an answer (it infers a status
    from intake, say) when the case answers that question otherwise: it adds
    nothing, and is a side of the conflict on that question."""

    justification: Justification
    answer: tuple[str, ...]  # the answered states of the question it stands in for

    @property
    def rule(self) -> Rule:
        return self.justification.rule

    @property
    def premises(self) -> tuple[Fact, ...]:
        return self.justification.premises


class Step(NamedTuple):
    """One firing, as ``trace`` shows it."""

    number: int  # from 1, in firing order
    rule: Rule
    matched: tuple[Fact, ...]
    added: tuple[Fact, ...]
    blocked: tuple[Fact, ...]
    waiting: tuple[tuple[Rule, tuple[Fact, ...]], ...] = ()  # the agenda behind it, if recorded
    set_aside: bool = False  # the rule stands in for an answer the case gave: it adds nothing


class Case:
    """The outcome of reasoning over one set of answers (read-only)."""

    __slots__ = ("kb", "answers", "support", "conflicts", "firings", "set_aside", "__dict__")

    kb: KnowledgeBase
    answers: Answers
    support: Mapping[Fact, Support]
    conflicts: tuple[Conflict, ...]
    firings: tuple[tuple, ...]  # each as (rule, matched, added, blocked, waiting); see ``steps``
    set_aside: tuple[SetAside, ...]  # the firings of rules standing in for an answer given

    def __init__(
        self,
        kb: KnowledgeBase,
        answers: Answers,
        support: Mapping[Fact, Support],
        conflicts: tuple[Conflict, ...],
        firings: tuple[tuple, ...] = (),
        set_aside: tuple[SetAside, ...] = (),
    ):
        set_ = object.__setattr__
        set_(self, "kb", kb)
        set_(self, "answers", answers)
        set_(self, "support", support)
        set_(self, "conflicts", conflicts)
        set_(self, "firings", firings)
        set_(self, "set_aside", set_aside)

    def __setattr__(self, name, value):
        raise AttributeError(f"a case is read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Case(answers={dict(self.answers.given)}, {len(self.support)} facts, {len(self.firings)} firings)"

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The firings in order, as ``trace`` shows them (built on first use:
        most cases are never traced)."""
        given = self.answers.given
        return tuple(
            Step(
                index,
                rule,
                matched,
                tuple(added),
                tuple(blocked),
                waiting,
                rule.set_aside_by(given),
            )
            for index, (rule, matched, added, blocked, waiting) in enumerate(self.firings, 1)
        )

    @cached_property
    def known(self) -> frozenset[Fact]:
        return frozenset(self.support)

    @cached_property
    def conclusions(self) -> tuple[Support, ...]:
        """Every derived fact (not the answers), in a stable, readable order."""
        derived = [s for s in self.support.values() if not s.given]

        def key(s: Support):
            concept = self.kb.concepts[s.fact.concept]
            return (KIND_ORDER.get(concept.kind, 9), s.depth, s.fact.concept, concept.states.index(s.fact.state))

        return tuple(sorted(derived, key=key))

    def holds(self, fact: Fact) -> bool:
        return fact in self.support


class Reasoner:
    """Reasons over cases with one knowledge base, compiled once."""

    def __init__(self, kb: KnowledgeBase, *, firing_limit: int = DEFAULT_FIRING_LIMIT):
        self.kb = kb
        self.firing_limit = firing_limit
        self._compiled = CompiledKnowledgeBase(kb)
        self._pause_collector = len(kb.rules) >= PAUSE_COLLECTOR_FROM

    def reason(self, answers: Answers, *, agenda: bool = False) -> Case:
        """Reason over ``answers``; with ``agenda``, each step also records
        the activations waiting behind it (for ``trace``)."""
        kb = self.kb
        answered = answers.given
        given = set(answers.facts())
        known = set(given)
        justified: dict[Fact, list[Justification]] = {}  # in the order facts were first concluded
        blocked: dict[Fact, list[Justification]] = {}
        firings: list[tuple] = []
        limit = self.firing_limit
        rank: dict[Fact, int] = {}  # derived facts, in the order they were added
        aside: list[Justification] = []  # firings of rules standing in for an answer given
        late = False  # set once a fact gains a route through a fact added after it

        def on_fire(rule: Rule, matched: tuple[Fact, ...], waiting=()):
            nonlocal late
            just = _new(Justification, (rule, matched))
            added: list[Fact] = []
            stopped: list[Fact] = []
            if rule.stands_in_for is not None and rule.set_aside_by(answered):
                # the case answers what this rule only infers, otherwise: the answer stands
                aside.append(just)
                firings.append((rule, matched, added, stopped, waiting))
                if len(firings) > limit:
                    raise FiringLimitExceeded(limit, [f[0].id for f in firings[-3:]])
                return added
            for fact in rule.then:
                if fact in known:
                    routes = justified.get(fact)
                    if routes is None:  # an answer, concluded by a rule too
                        justified[fact] = [just]
                        continue
                    routes.append(just)
                    if not late and fact in rank and any(rank.get(p, -1) > rank[fact] for p in matched):
                        late = True
                elif fact.concept in answered and contradicts(kb, fact, answered[fact.concept]):
                    # the answer stands; a fact blocked once is blocked every time
                    blocked.setdefault(fact, []).append(just)
                    stopped.append(fact)
                else:
                    known.add(fact)
                    justified[fact] = [just]
                    rank[fact] = len(rank)
                    added.append(fact)
            firings.append((rule, matched, added, stopped, waiting))
            if len(firings) > limit:
                raise FiringLimitExceeded(limit, [f[0].id for f in firings[-3:]])
            return added

        with _collector_paused() if self._pause_collector else nullcontext():
            self._compiled.run(sorted(given), on_fire, limit=limit, agenda=agenda)
            return _assemble(kb, answers, given, justified, blocked, tuple(firings), aside, settled=not late)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a case is reasoned.

    A case makes thousands of short-lived objects (activations, routes) and
    no reference cycles; every collection the allocations trigger would walk
    every object of the knowledge base, so with a large one the collector,
    not the reasoning, would dominate. Reference counting still frees
    everything; the collector's state is restored afterwards. (With a small
    knowledge base a case makes too few objects for this to matter, and it
    is not done: see ``PAUSE_COLLECTOR_FROM``.)
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_FAR = 1 << 30
_new = tuple.__new__  # builds a named tuple without its Python-level __new__


def _assemble(
    kb: KnowledgeBase,
    answers: Answers,
    given: set[Fact],
    justified: dict[Fact, list[Justification]],
    blocked: dict[Fact, list[Justification]],
    firings: tuple[tuple, ...],
    aside: list[Justification],
    *,
    settled: bool,
) -> Case:
    """The case: strengths and best routes, then each fact's support with
    its weakest link, then the rules set aside, then the conflicts."""
    strength, depth, best = _strengths(given, justified, settled)
    support = _supports(given, justified, strength, depth, best)
    set_aside = _set_aside(kb, answers, aside)
    conflicts = _conflicts(kb, given, support, justified, blocked, set_aside)
    return Case(kb, answers, MappingProxyType(support), conflicts, firings, set_aside)


def _set_aside(kb: KnowledgeBase, answers: Answers, aside: list[Justification]) -> tuple[SetAside, ...]:
    """Each firing of a rule set aside by an answer, once, in rule order, with
    that answer."""
    if not aside:
        return ()
    out = []
    for just in sorted(set(aside), key=Justification.key):
        cond = just.rule.stands_in_for
        assert cond is not None
        out.append(SetAside(just, answers.given[cond.concept]))
    return tuple(out)


def _strengths(
    given: set[Fact], justified: dict[Fact, list[Justification]], settled: bool
) -> tuple[dict[Fact, Strength], dict[Fact, int], dict[Fact, Justification]]:
    """Each fact's strength, its depth from the answers, and its best route.

    A fact's best route is the one that last raised its strength; its
    premises reached their own final strength earlier, so following best
    routes always ends at the answers, never round a loop. Passes go over
    the facts in the order they were first concluded, each fact's routes
    in the order they fired, until nothing changes. ``settled`` says that
    every route's premises were added before the fact it concludes: one
    pass then finds every strength, and the pass that would confirm it is
    skipped.
    """
    strength: dict[Fact, Strength] = dict.fromkeys(given, Strength.GIVEN)
    depth: dict[Fact, int] = dict.fromkeys(given, 0)
    best: dict[Fact, Justification] = {}
    changed = True
    while changed:
        changed = False
        for fact, justs in justified.items():
            if fact in given:
                continue
            current = strength.get(fact, 0)
            shortest = depth.get(fact, _FAR)
            for j in justs:
                s = j.rule.strength
                d = 0
                for p in j.premises:
                    ps = strength.get(p)
                    if ps is None:
                        break
                    if ps < s:
                        s = ps
                    if depth[p] > d:
                        d = depth[p]
                else:
                    if s > current:
                        current = strength[fact] = s
                        best[fact] = j
                        changed = True
                    if d + 1 < shortest:
                        shortest = depth[fact] = d + 1
                        changed = True
        if settled:
            break
    return strength, depth, best


def _supports(
    given: set[Fact],
    justified: dict[Fact, list[Justification]],
    strength: dict[Fact, Strength],
    depth: dict[Fact, int],
    best: dict[Fact, Justification],
) -> dict[Fact, Support]:
    """Each fact that holds, in order, with its routes and its weakest link."""
    weakest: dict[Fact, Rule] = {}
    support: dict[Fact, Support] = {}
    by_key = Justification.key
    for fact in sorted(strength):
        routes = justified.get(fact, ())
        justs = tuple(sorted(routes, key=by_key)) if len(routes) > 1 else tuple(routes)
        if fact in given:
            support[fact] = _new(Support, (fact, strength[fact], True, justs, 0, best.get(fact), None))
            continue
        j = best[fact]
        found = j.rule  # the usual case: the best route's own rule
        if j.rule.strength != strength[fact]:
            found = weakest.get(fact) or _weakest_link(fact, strength, best, weakest)
        support[fact] = _new(Support, (fact, strength[fact], False, justs, depth[fact], best[fact], found))
    return support


def _weakest_link(
    fact: Fact, strength: dict[Fact, Strength], best: dict[Fact, Justification], weakest: dict[Fact, Rule]
) -> Rule:
    """The weakest link of a fact's best route: follow best routes down
    through a premise as weak as the fact until a rule of that strength.
    Every fact passed on the way gets the same link in ``weakest``."""
    path = []
    at = fact
    while True:
        path.append(at)
        j = best[at]
        level = strength[at]
        if j.rule.strength == level:
            found = j.rule
            break
        at = next(p for p in j.premises if strength[p] == level)
        if at in weakest:
            found = weakest[at]
            break
    for f in path:
        weakest[f] = found
    return found


def _conflicts(
    kb: KnowledgeBase,
    given: set[Fact],
    support: dict[Fact, Support],
    justified: dict[Fact, list[Justification]],
    blocked: dict[Fact, list[Justification]],
    set_aside: tuple[SetAside, ...] = (),
) -> tuple[Conflict, ...]:
    """Each concept held, or reached, in states that cannot stand together.

    A rule set aside by an answer is a side of the conflict on that
    question: one side for each state it stands in for, kept out
    (``blocked``) like a conclusion that contradicts an answer."""
    if set_aside:
        blocked = {fact: list(justs) for fact, justs in blocked.items()}
        for item in set_aside:
            cond = item.rule.stands_in_for
            assert cond is not None
            for state in cond.states:
                blocked.setdefault(Fact(cond.concept, state), []).append(item.justification)
    concepts = [f.concept for f in support]
    concepts.extend(f.concept for f in blocked)
    if len(set(concepts)) == len(concepts):
        return ()  # a conflict needs two facts of one concept
    by_concept: dict[str, list[Fact]] = {}
    for fact in (*support, *blocked):
        by_concept.setdefault(fact.concept, []).append(fact)
    conflicts: list[Conflict] = []
    for concept_id in sorted(c for c, facts in by_concept.items() if len(facts) > 1):
        concept = kb.concepts[concept_id]
        facts = sorted(by_concept[concept_id], key=lambda f: concept.states.index(f.state))
        states = {f.state for f in facts}
        if concept.multi and not states & set(concept.exclusive):
            continue
        sides = tuple(
            ConflictSide(
                f.state,
                f in given,
                f in blocked,
                tuple(sorted(blocked.get(f) or justified.get(f) or (), key=Justification.key)),
            )
            for f in facts
        )
        conflicts.append(Conflict(concept_id, sides))
    return tuple(conflicts)
