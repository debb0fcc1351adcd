"""A consultation's outcome as data: the answers, the numbered conclusions
(each with its strongest route and, when hedged, its weakest link), the
loops the case went round, its conflicts, and the questions not asked and
why. ``consult`` renders it as text or JSON; ``batch`` writes one per case."""

from __future__ import annotations

from typing import NamedTuple

from .loops import LoopMet, loops_met
from .model import Fact, Kind, Strength, Tension
from .questions import Skipped, skipped
from .reasoning import Case, Conflict, Justification, SetAside, Support


class Conclusion(NamedTuple):
    number: int  # as shown, from 1, for picking at the explain prompt
    support: Support
    kind: Kind
    because: Justification | None  # the route that gives it its strength
    other_routes: int
    hedged: bool  # weaker than established: its weakest link is worth showing

    @property
    def fact(self) -> Fact:
        return self.support.fact


class Summary(NamedTuple):
    case: Case
    answered: tuple[tuple[str, tuple[str, ...]], ...]  # the questions' order, then any others
    unknown: tuple[str, ...]
    conclusions: tuple[Conclusion, ...]
    loops: tuple[LoopMet, ...]
    conflicts: tuple[Conflict, ...]
    not_asked: tuple[Skipped, ...]
    unanswered: tuple[str, ...]  # neither answered nor set aside as not worth asking
    tensions: tuple[Tension, ...] = ()  # where the sources differ on a rule that reached a fact
    set_aside: tuple[SetAside, ...] = ()  # rules that only infer an answer the case gave


def summarize(case: Case) -> Summary:
    kb = case.kb
    given = case.answers.given
    in_order = [q.id for q in kb.questions if q.id in given]
    answered = tuple((c, given[c]) for c in in_order + sorted(set(given) - set(in_order)))
    not_asked = tuple(skipped(case))
    set_aside = {s.concept.id for s in not_asked}
    unanswered = tuple(q.id for q in kb.questions if not case.answers.settled(q.id) and q.id not in set_aside)
    return Summary(
        case,
        answered,
        tuple(sorted(case.answers.unknown)),
        conclusions(case),
        tuple(loops_met(case)),
        case.conflicts,
        not_asked,
        unanswered,
        touched_tensions(case),
        case.set_aside,
    )


def touched_tensions(case: Case) -> tuple[Tension, ...]:
    """The tensions of the rules that reached a fact of the case (added, or
    kept out by an answer) or were set aside for one, each once."""
    if not case.kb.tensions:
        return ()
    used = {j.rule.id for s in case.support.values() for j in s.justifications}
    used.update(j.rule.id for c in case.conflicts for side in c.sides for j in side.justifications)
    used.update(s.rule.id for s in case.set_aside)
    return case.kb.tensions_among(used)


def conclusions(case: Case) -> tuple[Conclusion, ...]:
    """The case's conclusions, numbered in the order they are shown."""
    return tuple(_conclusion(case, number, s) for number, s in enumerate(case.conclusions, 1))


def _conclusion(case: Case, number: int, support: Support) -> Conclusion:
    hedged = support.strength < Strength.ESTABLISHED and support.weakest is not None
    kind = case.kb.concepts[support.fact.concept].kind
    return Conclusion(number, support, kind, support.best, len(support.justifications) - 1, hedged)
