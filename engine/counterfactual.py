"""What answers would change a case: the smallest change that makes a fact
hold (for why-not), and the difference a change makes (for what-if)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cached_property
from itertools import product

from .answers import Answers
from .model import Fact, KnowledgeBase, Strength
from .reasoning import Case, Justification, Reasoner, contradicts

MAX_ENV = 4  # answers in one candidate change
MAX_ENVS = 64  # candidates kept per fact
MAX_CHECKS = 80  # candidates verified by reasoning, at most


@dataclass(frozen=True, order=True)
class Env:
    """Answers that could lead to a fact: ``pos`` must be given and ``neg``
    must be absent (from the ``not`` conditions along the way)."""

    pos: frozenset[Fact]
    neg: frozenset[Fact] = frozenset()

    def __or__(self, other: Env) -> Env:
        return Env(self.pos | other.pos, self.neg | other.neg)

    def within(self, other: Env) -> bool:
        return self.pos <= other.pos and self.neg <= other.neg


class Labels:
    """For each fact, the minimal sets of answers that could lead to it.

    An assumption-based view of the rule graph (as in an ATMS): an answer's
    label is itself; a rule's conclusion gets every consistent union of one
    label per positive condition, which also records the facts its ``not``
    conditions need absent (and, for a rule that stands in for a question,
    every answer to that question). Candidates are checked by reasoning before they
    are offered, so the labels may promise more than holds, never less.
    """

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def _consistent(self, env: Env) -> bool:
        if env.pos & env.neg:
            return False
        by_concept: dict[str, set[str]] = {}
        for fact in env.pos:
            by_concept.setdefault(fact.concept, set()).add(fact.state)
        for concept_id, states in by_concept.items():
            if len(states) > 1 and any(contradicts(self.kb, Fact(concept_id, s), states - {s}) for s in states):
                return False
        return True

    @staticmethod
    def _minimal(envs) -> list[Env]:
        ordered = sorted(set(envs), key=lambda e: (len(e.pos), len(e.neg), sorted(e.pos), sorted(e.neg)))
        kept: list[Env] = []
        for env in ordered:
            if not any(k.within(env) for k in kept):
                kept.append(env)
        return kept[:MAX_ENVS]

    def _answered_otherwise(self, rule) -> frozenset[Fact]:
        """A rule that stands in for a question adds something only while that
        question is unanswered or answered with one of its states: every other
        state must be absent."""
        stand_in = rule.stands_in_for
        if stand_in is None:
            return frozenset()
        states = self.kb.concepts[stand_in.concept].states
        return frozenset(Fact(stand_in.concept, s) for s in states if s not in stand_in.states)

    @cached_property
    def table(self) -> dict[Fact, list[Env]]:
        """Every fact's label, by passes over the rules in order until
        nothing changes; a pass only visits the rules whose conditions'
        labels changed since they were last visited (the others would add
        nothing), so a chain written against the rules' order costs a pass
        per link, not a pass over every rule per link."""
        kb = self.kb
        rules = kb.rules
        label: dict[Fact, list[Env]] = {}
        for q in kb.questions:
            for state in q.states:
                label[Fact(q.id, state)] = [Env(frozenset({Fact(q.id, state)}))]
        users: dict[Fact, list[int]] = {}  # fact -> the rules (by index) whose positive conditions use it
        for index, rule in enumerate(rules):
            for cond in rule.positive:
                for f in cond.facts():
                    users.setdefault(f, []).append(index)
        this_pass = list(range(len(rules)))  # a heap of rule indices still to visit in this pass
        queued = set(this_pass)
        next_pass: list[int] = []
        while this_pass:
            while this_pass:
                at = heapq.heappop(this_pass)
                queued.discard(at)
                rule = rules[at]
                needs_absent = frozenset(f for c in rule.negative for f in c.facts()) | self._answered_otherwise(rule)
                absent = Env(frozenset(), needs_absent)
                envs = [absent]
                for cond in rule.positive:
                    options = [e for f in cond.facts() for e in label.get(f, ())]
                    envs = self._minimal(
                        u for a, b in product(envs, options) if len((u := a | b).pos) <= MAX_ENV and self._consistent(u)
                    )
                    if not envs:
                        break
                if not envs:
                    continue
                for fact in rule.then:
                    merged = self._minimal(label.get(fact, []) + envs)
                    if merged != label.get(fact):
                        label[fact] = merged
                        for user in users.get(fact, ()):
                            if user > at and user not in queued:  # still ahead in this pass
                                queued.add(user)
                                heapq.heappush(this_pass, user)
                            elif user <= at:
                                next_pass.append(user)
            this_pass = sorted(set(next_pass) - queued)
            queued = set(this_pass)
            next_pass = []
        return label


@dataclass(frozen=True)
class Change:
    """One question answered differently: ``states`` empty means unknown."""

    concept: str
    states: tuple[str, ...]
    was: tuple[str, ...]  # the states answered before, () if not answered

    def __str__(self) -> str:
        now = f"{self.concept}={','.join(self.states)}" if self.states else f"{self.concept}=unknown"
        return f"{now} (instead of {','.join(self.was)})" if self.was else f"{now} (not answered now)"


def _changes(kb: KnowledgeBase, answers: Answers, env: Env) -> list[Change] | None:
    """The answers to change so that ``env`` holds, or None if it cannot."""
    wanted: dict[str, set[str]] = {}
    for fact in env.pos:
        wanted.setdefault(fact.concept, set()).add(fact.state)
    new: dict[str, tuple[str, ...]] = {}
    for concept_id, states in wanted.items():
        concept = kb.concepts[concept_id]
        new[concept_id] = tuple(s for s in concept.states if s in states)
    for fact in env.neg:
        asked = kb.concepts.get(fact.concept)
        if asked is None or not asked.is_question:
            continue  # a derived fact: only reasoning can tell
        current = new.get(fact.concept, answers.given.get(fact.concept, ()))
        if fact.state in current:
            if fact.concept in wanted:
                return None
            new[fact.concept] = tuple(s for s in current if s != fact.state)
    changes = []
    for concept_id in sorted(new):
        was = answers.given.get(concept_id, ())
        if new[concept_id] != was:
            changes.append(Change(concept_id, new[concept_id], was))
    return changes


def smallest_changes(reasoner: Reasoner, case: Case, target: Fact, labels: Labels | None = None) -> list[list[Change]]:
    """The smallest sets of answers that would make ``target`` hold, each one
    checked by reasoning over the changed answers. Empty when none exists."""
    kb = case.kb
    labels = labels or Labels(kb)
    candidates: dict[tuple, list[Change]] = {}
    for env in labels.table.get(target, ()):
        changes = _changes(kb, case.answers, env)
        if changes is not None:
            candidates[tuple((c.concept, c.states) for c in changes)] = changes
    found: list[list[Change]] = []
    best = None
    for key in sorted(candidates, key=lambda k: (len(k), k))[:MAX_CHECKS]:
        changes = candidates[key]
        if best is not None and len(changes) > best:
            break
        answers = case.answers
        for change in changes:
            answers = answers.with_answer(kb, change.concept, change.states)
        if reasoner.reason(answers).holds(target):
            best = len(changes)
            found.append(changes)
    return found


# ---------------------------------------------------------------------------
# what-if
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A fact gained or lost, and the rule that made the difference."""

    fact: Fact
    strength: Strength
    rule: str
    premises: tuple[Fact, ...]  # gained: the new premises it used; lost: the premises that went away
    note: str = ""


@dataclass(frozen=True)
class WhatIf:
    before: Case
    after: Case
    gained: tuple[Difference, ...]
    lost: tuple[Difference, ...]
    changed: tuple[tuple[Fact, Strength, Strength], ...]
    conflicts_new: tuple[str, ...]  # concepts in conflict after the change, not before
    conflicts_resolved: tuple[str, ...]
    asked: tuple[str, ...] = ()  # the changes as the user wrote them, when they wrote them


def what_if(before: Case, after: Case, asked: tuple[str, ...] = ()) -> WhatIf:
    """The difference between two cases of the same knowledge base."""
    old = {s.fact: s for s in before.conclusions}
    new = {s.fact: s for s in after.conclusions}
    gained = []
    for fact in [s.fact for s in after.conclusions if s.fact not in old]:
        just = _frontier(new[fact].justifications, lambda p: p not in before.known)
        fresh = tuple(p for p in just.premises if p not in before.known)
        note = "it was one of your answers before" if fact in before.support else ""
        gained.append(Difference(fact, new[fact].strength, just.rule.id, fresh, note))
    lost = []
    for fact in [s.fact for s in before.conclusions if s.fact not in new]:
        just = _frontier(old[fact].justifications, lambda p: p not in after.known)
        gone = tuple(p for p in just.premises if p not in after.known)
        if fact in after.support:
            note = "it is one of your answers now"
        elif gone:
            note = ""
        elif just.rule.set_aside_by(after.answers.given):
            note = f"its rule stands in for {just.rule.stands_in_for}, which is answered otherwise now: set aside"
        elif any(fact.concept == c.concept for c in after.conflicts):
            note = "it now contradicts an answer"
        else:
            note = "a 'not' condition no longer holds: " + "; ".join(
                str(c) for c in just.rule.negative if not c.holds(after.known)
            )
        lost.append(Difference(fact, old[fact].strength, just.rule.id, gone, note))
    changed = tuple(
        (f, old[f].strength, new[f].strength) for f in sorted(set(old) & set(new)) if old[f].strength != new[f].strength
    )
    before_c = {c.concept for c in before.conflicts}
    after_c = {c.concept for c in after.conflicts}
    return WhatIf(
        before,
        after,
        tuple(gained),
        tuple(lost),
        changed,
        tuple(sorted(after_c - before_c)),
        tuple(sorted(before_c - after_c)),
        asked,
    )


def _frontier(justs: tuple[Justification, ...], is_new) -> Justification:
    """Prefer the justification that uses something new (or gone)."""
    for just in justs:
        if any(is_new(p) for p in just.premises):
            return just
    return justs[0]
