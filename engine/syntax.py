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

# The same, each to be used with ``fullmatch`` (``re.match`` with ``$`` would
# let a final newline pass)
CONCEPT_ID = re.compile(IDENT)
STATE_NAME = re.compile(STATE)
RULE_ID = DOCUMENT_ID = re.compile(NAME)

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
    match = _CONDITION.fullmatch(text)
    if not match:
        raise SyntaxProblem(f"cannot read condition '{text}': expected {CONDITION_FORMS}")
    states = (match["state"],) if match["state"] else tuple(s.strip() for s in match["states"].split(","))
    if len(set(states)) != len(states):
        raise SyntaxProblem(f"condition '{text}' names a state twice")
    return Condition(match["concept"], states, negated=bool(match["not"]))


def parse_fact(text: str) -> Fact:
    match = _FACT.fullmatch(text)
    if not match:
        raise SyntaxProblem(f"cannot read conclusion '{text}': expected 'concept = state'")
    return Fact(match["concept"], match["state"])


def is_control(ch: str) -> bool:
    """A control or format character (C0, C1, DEL, zero-width and direction
    marks, line and paragraph separators): never part of an id or an answer."""
    import unicodedata  # noqa: PLC0415 - only unusual text needs it

    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def character(ch: str) -> str:
    """One character named for people: ``'а' (U+0430 CYRILLIC SMALL LETTER A)``;
    a control character is shown as an escape, never as itself."""
    import unicodedata  # noqa: PLC0415

    shown = ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
    name = unicodedata.name(ch, "")
    return f"'{shown}' (U+{ord(ch):04X} {name})" if name else f"'{shown}' (U+{ord(ch):04X}, a control character)"


def odd_character(text: str) -> str:
    """For a refused id: ``": 'а' (U+0430 CYRILLIC SMALL LETTER A) at
    position 3 is not allowed"`` for its first character that is not
    printable ASCII (counted from 1), or "" when there is none (a misplaced
    ASCII character is plain to see)."""
    for position, ch in enumerate(text, 1):
        if not (ch.isascii() and ch.isprintable()):
            return f": {character(ch)} at position {position} is not allowed"
    return ""
