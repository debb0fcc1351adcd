"""What answers would change a case: the smallest change that makes a fact
hold (for why-not), and the difference a change makes (for what-if)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product

from .answers import Answers
from .model import Fact, KnowledgeBase, Strength
from .reasoning import Case, Justification, Reasoner

MAX_ENV = 4  # answers in one candidate change
MAX_ENVS = 64  # candidates kept per fact


class Labels:
    """For each fact, the minimal sets of answers that could lead to it.

    An assumption-based view of the rule graph (as in an ATMS): an answer's
    label is itself; a rule's conclusion gets every consistent union of one
    label per positive condition. ``not`` conditions are ignored here and
    checked when a candidate is verified by reasoning.
    """

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def _consistent(self, env: frozenset[Fact]) -> bool:
        by_concept: dict[str, set[str]] = {}
        for fact in env:
            by_concept.setdefault(fact.concept, set()).add(fact.state)
        for concept_id, states in by_concept.items():
            concept = self.kb.concepts[concept_id]
            if len(states) > 1 and (not concept.multi or states & set(concept.exclusive)):
                return False
        return True

    @staticmethod
    def _minimal(envs) -> list[frozenset[Fact]]:
        ordered = sorted(set(envs), key=lambda e: (len(e), sorted(e)))
        kept: list[frozenset[Fact]] = []
        for env in ordered:
            if not any(k <= env for k in kept):
                kept.append(env)
        return kept[:MAX_ENVS]

    @cached_property
    def table(self) -> dict[Fact, list[frozenset[Fact]]]:
        kb = self.kb
        label: dict[Fact, list[frozenset[Fact]]] = {}
        for q in kb.questions:
            for state in q.states:
                label[Fact(q.id, state)] = [frozenset({Fact(q.id, state)})]
        changed = True
        while changed:
            changed = False
            for rule in kb.rules:
                envs = [frozenset()]
                for cond in rule.positive:
                    options = [e for f in cond.facts() for e in label.get(f, ())]
                    envs = self._minimal(
                        u for a, b in product(envs, options)
                        if len(u := a | b) <= MAX_ENV and self._consistent(u))
                    if not envs:
                        break
                if not envs:
                    continue
                for fact in rule.then:
                    merged = self._minimal(label.get(fact, []) + envs)
                    if merged != label.get(fact):
                        label[fact] = merged
                        changed = True
        return label


@dataclass(frozen=True)
class Change:
    """One answer to add or replace."""

    fact: Fact
    was: tuple[str, ...]  # the states answered before, () if not answered

    def as_json(self) -> dict:
        return {**self.fact.as_json(), "was": list(self.was) or None}

    def __str__(self) -> str:
        if self.was:
            return f"{self.fact} (instead of {','.join(self.was)})"
        return f"{self.fact} (not answered now)"


def smallest_changes(reasoner: Reasoner, case: Case, target: Fact, labels: Labels | None = None
                     ) -> list[list[Change]]:
    """The smallest sets of answers that would make ``target`` hold, each one
    checked by reasoning over the changed answers. Empty when none exists."""
    kb = case.kb
    labels = labels or Labels(kb)
    current = set(case.answers.facts())
    candidates = []
    for env in labels.table.get(target, ()):
        changes = frozenset(f for f in env if f not in current)
        candidates.append(changes)
    found: list[list[Change]] = []
    best = None
    for changes in sorted(set(candidates), key=lambda c: (len(c), sorted(c))):
        if best is not None and len(changes) > best:
            break
        answers = case.answers
        by_concept: dict[str, list[str]] = {}
        for fact in changes:
            by_concept.setdefault(fact.concept, []).append(fact.state)
        for concept_id, states in by_concept.items():
            concept = kb.concepts[concept_id]
            keep = list(answers.given.get(concept_id, ())) if concept.multi else []
            answers = answers.with_answer(kb, concept_id, keep + states)
        if reasoner.reason(answers).holds(target):
            best = len(changes)
            found.append([Change(f, case.answers.given.get(f.concept, ()) if not kb.concepts[f.concept].multi
                                 else ()) for f in sorted(changes)])
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

    def as_json(self) -> dict:
        return {**self.fact.as_json(), "strength": self.strength.label, "rule": self.rule,
                "premises": [p.as_json() for p in self.premises], **({"note": self.note} if self.note else {})}


@dataclass(frozen=True)
class WhatIf:
    before: Case
    after: Case
    gained: tuple[Difference, ...]
    lost: tuple[Difference, ...]
    changed: tuple[tuple[Fact, Strength, Strength], ...]

    def as_json(self) -> dict:
        return {
            "before": self.before.as_json(),
            "after": self.after.as_json(),
            "gained": [d.as_json() for d in self.gained],
            "lost": [d.as_json() for d in self.lost],
            "strength_changed": [{**f.as_json(), "before": a.label, "after": b.label}
                                 for f, a, b in self.changed],
        }


def what_if(before: Case, after: Case) -> WhatIf:
    """The difference between two cases of the same knowledge base."""
    old = {s.fact: s for s in before.conclusions}
    new = {s.fact: s for s in after.conclusions}
    gained = []
    for fact in [s.fact for s in after.conclusions if s.fact not in old]:
        just = _frontier(after, new[fact].justifications, lambda p: p not in before.known)
        fresh = tuple(p for p in just.premises if p not in before.known)
        gained.append(Difference(fact, new[fact].strength, just.rule.id, fresh))
    lost = []
    for fact in [s.fact for s in before.conclusions if s.fact not in new]:
        just = _frontier(before, old[fact].justifications, lambda p: p not in after.known)
        gone = tuple(p for p in just.premises if p not in after.known)
        note = "" if gone else "a 'not' condition no longer holds: " + "; ".join(
            str(c) for c in just.rule.negative if not c.holds(after.known))
        blocked = any(fact.concept == c.concept for c in after.conflicts)
        if blocked and not gone:
            note = "it now contradicts an answer"
        lost.append(Difference(fact, old[fact].strength, just.rule.id, gone, note))
    changed = tuple((f, old[f].strength, new[f].strength) for f in sorted(set(old) & set(new))
                    if old[f].strength != new[f].strength)
    return WhatIf(before, after, tuple(gained), tuple(lost), changed)


def _frontier(case: Case, justs: tuple[Justification, ...], is_new) -> Justification:
    """Prefer the justification that uses something new (or gone)."""
    for just in justs:
        if any(is_new(p) for p in just.premises):
            return just
    return justs[0]


def apply_changes(kb: KnowledgeBase, answers: Answers, changes: dict[str, list[str]]) -> Answers:
    for concept_id, states in changes.items():
        answers = answers.with_answer(kb, concept_id, states)
    return answers
