"""Which question to ask next, why it is asked, and why others are not.

A question is asked only while its answer can still change a conclusion:
some rule that uses it could still fire (each of its other conditions holds
already or could still come to hold, as far as the remaining questions go)
and would add a fact not yet known, or take one away through a ``not``.
Questions are asked in the knowledge base's order; among questions of the
same order, the one that more live rules use comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .model import Concept, Condition, Fact, Rule
from .reasoning import Case


class Outlook:
    """What could still happen in a case, given the questions still open."""

    def __init__(self, case: Case):
        self.case = case
        self.kb = case.kb

    @cached_property
    def possible(self) -> frozenset[Fact]:
        """Facts that hold now or could still hold after further answers."""
        kb, case = self.kb, self.case
        possible = set(case.known)
        for q in kb.questions:
            if not case.answers.settled(q.id):
                possible.update(Fact(q.id, s) for s in q.states)
        changed = True
        while changed:
            changed = False
            for rule in kb.rules:
                if self.could_fire(rule, possible):
                    for fact in rule.then:
                        if fact not in possible and not self.blocked(fact):
                            possible.add(fact)
                            changed = True
        return frozenset(possible)

    def blocked(self, fact: Fact) -> bool:
        """A conclusion that can never be added: it contradicts an answer."""
        concept = self.kb.concepts[fact.concept]
        given = self.case.answers.given.get(fact.concept)
        return bool(given) and not concept.multi and fact.state not in given

    def could_fire(self, rule: Rule, possible=None) -> bool:
        possible = self.possible if possible is None else possible
        known = self.case.known
        for cond in rule.when:
            if cond.negated:
                if any(f in known for f in cond.facts()):
                    return False
            elif not any(f in possible for f in cond.facts()):
                return False
        return True

    def adds_something(self, rule: Rule) -> bool:
        return any(f not in self.case.known and not self.blocked(f) for f in rule.then)

    def live_rules(self, concept_id: str) -> list[Rule]:
        """Rules using ``concept_id`` whose outcome is still open."""
        live = []
        for rule in self.kb.rules_using(concept_id):
            if not self.could_fire(rule):
                continue
            negated_here = any(c.negated and c.concept == concept_id for c in rule.when)
            if self.adds_something(rule) or negated_here:
                live.append(rule)
        return live

    def failing_condition(self, rule: Rule) -> tuple[Condition, str] | None:
        """The first condition that keeps ``rule`` from ever firing, and why."""
        known = self.case.known
        for cond in rule.when:
            if cond.negated:
                present = [f for f in cond.facts() if f in known]
                if present:
                    return cond, f"{present[0]} holds"
            elif not any(f in self.possible for f in cond.facts()):
                given = self.case.answers.given.get(cond.concept)
                if given:
                    return cond, f"you answered {cond.concept}={','.join(given)}"
                if cond.concept in self.case.answers.unknown:
                    return cond, f"{cond.concept} is unknown"
                return cond, f"{cond.concept} can no longer be {' or '.join(cond.states)}"
        return None


@dataclass(frozen=True)
class Skipped:
    """A question that was not asked, and why."""

    concept: Concept
    reason: str  # "ask_if" or "no longer matters"
    detail: str

    def as_json(self) -> dict:
        return {"concept": self.concept.id, "reason": self.reason, "detail": self.detail}


def pending(case: Case) -> list[Concept]:
    """Questions still worth asking, most useful first."""
    outlook = Outlook(case)
    known = case.known
    waiting = []
    for q in case.kb.questions:
        if case.answers.settled(q.id) or not all(c.holds(known) for c in q.ask_if):
            continue
        live = outlook.live_rules(q.id)
        if live:
            waiting.append((q.order, -len(live), q.id, q))
    return [item[-1] for item in sorted(waiting)]


def next_question(case: Case) -> Concept | None:
    waiting = pending(case)
    return waiting[0] if waiting else None


def skipped(case: Case) -> list[Skipped]:
    """Unanswered questions that were not (or would not be) asked, and why."""
    outlook = Outlook(case)
    known = case.known
    out = []
    for q in case.kb.questions:
        if case.answers.settled(q.id):
            continue
        failing = [c for c in q.ask_if if not c.holds(known)]
        if failing:
            out.append(Skipped(q, "ask_if", "asked only if " + "; ".join(str(c) for c in failing)))
            continue
        if outlook.live_rules(q.id):
            continue
        reasons = []
        for rule in case.kb.rules_using(q.id):
            failing_cond = outlook.failing_condition(rule)
            if failing_cond:
                reasons.append(f"{rule.id} needs {failing_cond[0]} but {failing_cond[1]}")
            else:
                reasons.append(f"{rule.id} adds nothing new")
        detail = "no rule using it can still change a conclusion"
        if reasons:
            detail += ": " + "; ".join(reasons)
        out.append(Skipped(q, "no longer matters", detail))
    return out


def rules_fed(case: Case, concept_id: str) -> list[Rule]:
    """The rules an answer to ``concept_id`` feeds that are still open
    (all of them, when none is)."""
    live = Outlook(case).live_rules(concept_id)
    return live or list(case.kb.rules_using(concept_id))
