"""Which question to ask next, and why a question is asked."""

from __future__ import annotations

from .model import Concept, Rule
from .reasoning import Case


def pending(case: Case) -> list[Concept]:
    """Questions not yet answered whose ``ask_if`` holds, in asking order."""
    known = case.known
    return [q for q in case.kb.questions
            if not case.answers.settled(q.id) and all(c.holds(known) for c in q.ask_if)]


def next_question(case: Case) -> Concept | None:
    waiting = pending(case)
    return waiting[0] if waiting else None


def not_asked(case: Case) -> list[Concept]:
    """Questions left unanswered because their ``ask_if`` does not hold."""
    known = case.known
    return [q for q in case.kb.questions
            if not case.answers.settled(q.id) and not all(c.holds(known) for c in q.ask_if)]


def rules_fed(case: Case, concept_id: str) -> list[Rule]:
    """The rules that use an answer to ``concept_id``."""
    return list(case.kb.rules_using(concept_id))
