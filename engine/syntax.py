"""The small text syntax of rule files: conditions and facts.

``concept = state``, ``concept in [s1, s2]``, ``not concept = state`` and
``not concept in [s1, s2]``. Parsing only checks the shape; whether the
concept and states exist is the loader's business.
"""

from __future__ import annotations

import re

from .model import Condition, Fact

# The id patterns, each defined here only; the loader checks ids against them.
IDENT = r"[a-z][a-z0-9_]*"  # a concept id: snake_case, starting with a letter
STATE = r"[a-z0-9][a-z0-9_]*"  # a state of a concept
NAME = r"[a-z0-9][a-z0-9_.-]*"  # a rule or document id: 'topic.short-name', 'my-article'

# The same, for a whole text (as ``re.match`` with ``$``, which also lets a final newline pass)
CONCEPT_ID = re.compile(rf"^{IDENT}$")
STATE_NAME = re.compile(rf"^{STATE}$")
RULE_ID = DOCUMENT_ID = re.compile(rf"^{NAME}$")

_CONDITION = re.compile(
    rf"""^\s*(?P<not>not\s+)?(?P<concept>{IDENT})\s*
         (?:=\s*(?P<state>{STATE})
           |in\s*\[\s*(?P<states>{STATE}(?:\s*,\s*{STATE})*)\s*,?\s*\])\s*$""",
    re.VERBOSE,
)
_FACT = re.compile(rf"^\s*(?P<concept>{IDENT})\s*=\s*(?P<state>{STATE})\s*$")

CONDITION_FORMS = "'concept = state', 'concept in [a, b]' or 'not concept = state'"


class SyntaxProblem(ValueError):
    """The text does not have the shape of a condition or fact."""


def parse_condition(text: str) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise SyntaxProblem(f"cannot read condition '{text}': expected {CONDITION_FORMS}")
    states = (match["state"],) if match["state"] else tuple(s.strip() for s in match["states"].split(","))
    if len(set(states)) != len(states):
        raise SyntaxProblem(f"condition '{text}' names a state twice")
    return Condition(match["concept"], states, negated=bool(match["not"]))


def parse_fact(text: str) -> Fact:
    match = _FACT.match(text)
    if not match:
        raise SyntaxProblem(f"cannot read conclusion '{text}': expected 'concept = state'")
    return Fact(match["concept"], match["state"])
