"""Reasoning over a case: run the compiled rules, then build derivations.

From the firings experta performs, we keep every justification of every
fact (the rule and the exact facts it matched), compute strengths (a fact is
as strong as the weakest link of its best derivation), and find conflicts.
A user's answer is never overridden: a rule that would conclude another
state of an answered concept is recorded as a conflict and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Mapping

from ._experta import CompiledKnowledgeBase
from .answers import Answers
from .errors import FiringLimitExceeded
from .model import Fact, KnowledgeBase, Rule, Strength

DEFAULT_FIRING_LIMIT = 100_000
KIND_ORDER = {"mechanism": 0, "outcome": 1, "advice": 2, "question": 3}


@dataclass(frozen=True)
class Justification:
    """One way a fact was reached: a rule and the facts it matched."""

    rule: Rule
    premises: tuple[Fact, ...]

    def key(self):
        return (self.rule.id, self.premises)

    def as_json(self) -> dict:
        return {"rule": self.rule.id, "premises": [p.as_json() for p in self.premises]}


@dataclass(frozen=True)
class Support:
    """Everything known about one fact of a case."""

    fact: Fact
    strength: Strength
    given: bool
    justifications: tuple[Justification, ...]
    depth: int  # firings between the answers and this fact, along the shortest route
    best: Justification | None = None  # the route that gives it its strength
    weakest: Rule | None = None  # the weakest rule along that route


def route_strength(support: Mapping[Fact, "Support"], just: Justification) -> Strength:
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


@dataclass(frozen=True)
class ConflictSide:
    state: str
    given: bool  # the user's answer
    blocked: bool  # concluded by rules but not added: it contradicts the answer
    justifications: tuple[Justification, ...]

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "given": self.given,
            "added": not self.blocked,
            "derivations": [j.as_json() for j in self.justifications],
        }


@dataclass(frozen=True)
class Conflict:
    concept: str
    sides: tuple[ConflictSide, ...]

    def as_json(self) -> dict:
        return {"concept": self.concept, "sides": [s.as_json() for s in self.sides]}


@dataclass(frozen=True)
class Step:
    """One firing, as ``trace`` shows it."""

    index: int
    rule: Rule
    matched: tuple[Fact, ...]
    added: tuple[Fact, ...]
    blocked: tuple[Fact, ...]
    waiting: tuple[tuple[Rule, tuple[Fact, ...]], ...] = ()  # the agenda behind it, if recorded

    def as_json(self, agenda: bool = False) -> dict:
        out = {
            "step": self.index,
            "rule": self.rule.id,
            "strength": self.rule.strength.label,
            "matched": [f.as_json() for f in self.matched],
            "added": [f.as_json() for f in self.added],
            "blocked": [f.as_json() for f in self.blocked],
        }
        if agenda:
            out["agenda"] = [{"rule": r.id, "facts": [f.as_json() for f in facts]} for r, facts in self.waiting]
        return out


@dataclass(frozen=True)
class Case:
    """The outcome of reasoning over one set of answers."""

    kb: KnowledgeBase
    answers: Answers
    support: Mapping[Fact, Support]
    conflicts: tuple[Conflict, ...]
    steps: tuple[Step, ...]

    @cached_property
    def known(self) -> frozenset[Fact]:
        return frozenset(self.support)

    @cached_property
    def conclusions(self) -> tuple[Support, ...]:
        """Every derived fact (not the answers), in a stable, readable order."""
        derived = [s for s in self.support.values() if not s.given]

        def key(s: Support):
            concept = self.kb.concepts[s.fact.concept]
            return (KIND_ORDER.get(concept.kind, 9), s.depth, s.fact.concept,
                    concept.states.index(s.fact.state))

        return tuple(sorted(derived, key=key))

    def holds(self, fact: Fact) -> bool:
        return fact in self.support

    def conclusion_json(self, s: Support) -> dict:
        out = {
            "concept": s.fact.concept,
            "state": s.fact.state,
            "label": self.kb.concepts[s.fact.concept].label,
            "kind": self.kb.concepts[s.fact.concept].kind,
            "strength": s.strength.label,
            "derivations": [j.as_json() for j in s.justifications],
        }
        if s.weakest is not None and s.weakest.sources:
            source = s.weakest.sources[0]
            out["weakest_link"] = {"rule": s.weakest.id, "strength": s.weakest.strength.label,
                                   "document": source.document, "quote": source.quote}
        return out

    def as_json(self) -> dict:
        return {
            "answers": self.answers.as_json(self.kb),
            "conclusions": [self.conclusion_json(s) for s in self.conclusions],
            "conflicts": [c.as_json() for c in self.conflicts],
        }


class Reasoner:
    """Reasons over cases with one knowledge base, compiled once."""

    def __init__(self, kb: KnowledgeBase, *, firing_limit: int = DEFAULT_FIRING_LIMIT):
        self.kb = kb
        self.firing_limit = firing_limit
        self._compiled = CompiledKnowledgeBase(kb)

    def reason(self, answers: Answers, *, agenda: bool = False) -> Case:
        """Reason over ``answers``; with ``agenda``, each step also records
        the activations waiting behind it (for ``trace``)."""
        kb = self.kb
        given = set(answers.facts())
        known = set(given)
        steps: list[Step] = []
        limit = self.firing_limit

        def on_fire(rule: Rule, matched: tuple[Fact, ...], waiting):
            added, blocked = [], []
            for fact in rule.then:
                if fact in known:
                    continue
                if contradicts(kb, fact, answers.given.get(fact.concept, ())):
                    blocked.append(fact)
                else:
                    known.add(fact)
                    added.append(fact)
            steps.append(Step(len(steps) + 1, rule, matched, tuple(added), tuple(blocked), waiting))
            if len(steps) > limit:
                raise FiringLimitExceeded(limit, [s.rule.id for s in steps[-3:]])
            return added

        self._compiled.run(sorted(given), on_fire, limit=limit, agenda=agenda)
        return _assemble(kb, answers, given, steps)


def _assemble(kb: KnowledgeBase, answers: Answers, given: set[Fact], steps: list[Step]) -> Case:
    blocked: dict[Fact, list[Justification]] = {}
    justified: dict[Fact, list[Justification]] = {}
    for step in steps:
        just = Justification(step.rule, step.matched)
        for fact in step.rule.then:
            target = blocked if fact in step.blocked or fact in blocked else justified
            target.setdefault(fact, []).append(just)
    # A fact blocked once is blocked every time: the answer does not change.
    for fact in blocked:
        justified.pop(fact, None)

    strength: dict[Fact, Strength] = {f: Strength.GIVEN for f in given}
    depth: dict[Fact, int] = {f: 0 for f in given}
    best: dict[Fact, Justification] = {}
    # A fact's best route is the one that last raised its strength; its
    # premises reached their own final strength earlier, so following best
    # routes always ends at the answers, never round a loop.
    changed = True
    while changed:
        changed = False
        for fact, justs in justified.items():
            if fact in given:
                continue
            for j in justs:
                if not all(p in strength for p in j.premises):
                    continue
                s = min([j.rule.strength, *(strength[p] for p in j.premises)])
                d = 1 + max((depth[p] for p in j.premises), default=0)
                if s > strength.get(fact, 0):
                    strength[fact] = s
                    best[fact] = j
                    changed = True
                if d < depth.get(fact, 1 << 30):
                    depth[fact] = d
                    changed = True

    weakest: dict[Fact, Rule] = {}

    def weakest_of(fact: Fact) -> Rule:
        path = []
        while fact not in weakest:
            j = best[fact]
            path.append(fact)
            if j.rule.strength == strength[fact]:
                weakest[fact] = j.rule
                break
            fact = next(p for p in j.premises if strength[p] == strength[path[-1]])
        for f in path:
            weakest[f] = weakest[fact]
        return weakest[path[0]] if path else weakest[fact]

    support = {}
    for fact in sorted(strength):
        justs = tuple(sorted(justified.get(fact, ()), key=Justification.key))
        derived = fact not in given
        support[fact] = Support(fact, strength[fact], not derived, justs, depth[fact],
                                best.get(fact), weakest_of(fact) if derived else None)

    conflicts = []
    by_concept: dict[str, list[Fact]] = {}
    for fact in list(support) + list(blocked):
        by_concept.setdefault(fact.concept, []).append(fact)
    for concept_id in sorted(by_concept):
        concept = kb.concepts[concept_id]
        facts = sorted(set(by_concept[concept_id]), key=lambda f: concept.states.index(f.state))
        states = {f.state for f in facts}
        clash = len(facts) > 1 and (not concept.multi or bool(states & set(concept.exclusive)))
        if not clash:
            continue
        sides = tuple(
            ConflictSide(f.state, f in given, f in blocked,
                         tuple(sorted(blocked.get(f) or justified.get(f, ()), key=Justification.key)))
            for f in facts)
        conflicts.append(Conflict(concept_id, sides))
    return Case(kb, answers, MappingProxyType(support), tuple(conflicts), tuple(steps))
