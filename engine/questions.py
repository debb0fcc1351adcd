"""Which question to ask next, why it is asked, and why others are not.

A question is asked only while its answer can still change a conclusion:
some rule that uses it could still fire (each of its other conditions holds
already or could still come to hold, as far as the remaining questions go)
and would add a fact not yet known or a stronger route to one, or take one
away through a ``not``.
Questions are asked in the knowledge base's order; among questions of the
same order, the one that more live rules use comes first.
"""

from __future__ import annotations

import enum
from collections import deque
from functools import cached_property
from typing import NamedTuple

from .model import Concept, Condition, Fact, Rule, Strength
from .reasoning import Case, contradicts


class Outlook:
    """What could still happen in a case, given the questions still open."""

    def __init__(self, case: Case):
        self.case = case
        self.kb = case.kb

    @cached_property
    def potential(self) -> dict[Fact, Strength]:
        """Facts that hold now or could still hold after further answers,
        each with the best strength it could still reach."""
        kb, case = self.kb, self.case
        potential = {fact: support.strength for fact, support in case.support.items()}
        for q in kb.questions:
            if not case.answers.settled(q.id):
                for state in q.states:
                    potential.setdefault(Fact(q.id, state), Strength.GIVEN)
        # A least fixpoint (reach only grows with potential), so the order
        # rules are looked at in does not change it: a rule is looked at
        # again only when a fact one of its conditions names has risen.
        waiting = deque(kb.rules)
        queued = {rule.id for rule in kb.rules}
        while waiting:
            rule = waiting.popleft()
            queued.discard(rule.id)
            reach = self.reach(rule, potential)
            if reach is None:
                continue
            for fact in rule.then:
                if not self.blocked(fact) and reach > potential.get(fact, 0):
                    potential[fact] = reach
                    for user in kb.rules_using(fact.concept):
                        if user.id not in queued:
                            queued.add(user.id)
                            waiting.append(user)
        return potential

    @property
    def possible(self):
        return self.potential.keys()

    def reach(self, rule: Rule, potential=None) -> Strength | None:
        """The best strength ``rule`` could still give, or None if it can never fire."""
        potential = self.potential if potential is None else potential
        if self.set_aside(rule):
            return None
        known = self.case.known
        facts_of = self.kb.condition_facts
        reach = rule.strength
        for cond in rule.when:
            if cond.negated:
                if any(f in known for f in facts_of[cond]):
                    return None
                continue
            best = max((potential[f] for f in facts_of[cond] if f in potential), default=None)
            if best is None:
                return None
            if best < reach:
                reach = best
        return reach

    def set_aside(self, rule: Rule) -> bool:
        """A rule standing in for an answer the case gave: it adds nothing."""
        return rule.set_aside_by(self.case.answers.given)

    def blocked(self, fact: Fact) -> bool:
        """A conclusion that can never be added: it contradicts an answer."""
        return contradicts(self.kb, fact, self.case.answers.given.get(fact.concept, ()))

    def could_fire(self, rule: Rule) -> bool:
        return self.reach(rule) is not None

    def adds_something(self, rule: Rule) -> bool:
        """Could ``rule`` still add a fact, or a stronger route to one?"""
        reach = self.reach(rule)
        if reach is None:
            return False
        support = self.case.support
        return any(not self.blocked(f) and (f not in support or support[f].strength < reach) for f in rule.then)

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


class SkipReason(enum.StrEnum):
    """Why a question was not asked."""

    ASK_IF = "ask_if"  # its ask_if conditions do not hold
    NO_LONGER_MATTERS = "no longer matters"  # no rule using it can still change a conclusion


class Skipped(NamedTuple):
    """A question that was not asked, and why."""

    concept: Concept
    reason: SkipReason
    detail: str


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
            out.append(Skipped(q, SkipReason.ASK_IF, "asked only if " + "; ".join(str(c) for c in failing)))
            continue
        if outlook.live_rules(q.id):
            continue
        reasons = []
        for rule in case.kb.rules_using(q.id):
            if outlook.set_aside(rule):
                reasons.append(f"{rule.id} stands in for {rule.stands_in_for}, which you answered otherwise")
            elif failing_cond := outlook.failing_condition(rule):
                reasons.append(f"{rule.id} needs {failing_cond[0]} but {failing_cond[1]}")
            else:
                reasons.append(f"{rule.id} adds nothing new or stronger")
        detail = "no rule using it can still change a conclusion"
        if reasons:
            detail += ": " + "; ".join(reasons)
        out.append(Skipped(q, SkipReason.NO_LONGER_MATTERS, detail))
    return out
