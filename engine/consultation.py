"""A consultation's outcome as JSON data: the case's answers, conclusions
and conflicts, the questions not asked (and why), and the loops it went
round. ``consult --json`` prints it; ``batch`` writes one per case."""

from __future__ import annotations

from .loops import loops_json
from .questions import skipped
from .reasoning import Case


def as_json(case: Case) -> dict:
    data = case.as_json()
    data["not_asked"] = [s.as_json() for s in skipped(case)]
    data["loops"] = loops_json(case)
    return data
