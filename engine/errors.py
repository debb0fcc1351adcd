"""The one error tree of the engine.

Every error the engine raises derives from :class:`CofactorError` and carries
structured fields, so that the command line can render it like a compiler
message and choose the exit code from its branch:

* :class:`KnowledgeBaseError` - a rule file does not load or validate (exit 1);
* :class:`AnswerError` - a value the user typed is not acceptable (exit 2);
* :class:`ReasoningError` - a run of the engine could not finish (exit 1).

It also holds :func:`visible`, the one way text from outside (what the user
typed, what a file held) is made safe to print: every message goes through
it, so no reply, value or file name can act on the terminal.
"""

from __future__ import annotations

from typing import NamedTuple

from .limits import MAX_ROUTE_FACTS


def _escape(ch: str) -> str:
    """One character that is not printable, as the escape that names it."""
    if "\udc80" <= ch <= "\udcff":
        # a byte that was not valid in its encoding (Python keeps it as a
        # lone surrogate: the command line's arguments, a reply read with
        # surrogateescape): shown as the byte it was
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def visible(text: str) -> str:
    """``text`` with control characters shown as escapes, never executed.

    Every character that is not printable (C0 and C1 controls, DEL, escape,
    newline, tab, format and separator characters other than the space, lone
    surrogates) is replaced by its Python escape (``\\x1b``, ``\\n``,
    ``\\u200b``); a byte that could not be decoded shows as ``\\xff``. Text
    that is already printable is returned as it is, so applying it twice
    changes nothing."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def visible_lines(text: str) -> str:
    """Like :func:`visible`, but a message of several lines keeps its line
    breaks: each line is made visible on its own."""
    if text.isprintable():
        return text
    return "\n".join(visible(line) for line in text.split("\n"))


class CofactorError(Exception):
    """Root of every error raised by the engine."""


class Problem(NamedTuple):
    """One thing wrong with a rule file, located as precisely as we can."""

    path: str
    message: str
    kind: str = ""  # "rule", "concept", "document" or "" for the file itself
    ident: str = ""  # the rule, concept or document id, when known
    key: str = ""  # the key inside that table, when known
    fix: str = ""  # how to put it right ("did you mean ...?")

    def render(self) -> str:
        where = self.path
        if self.kind and self.ident:
            where += f": {self.kind} '{self.ident}'"
        elif self.kind:
            where += f": {self.kind}"
        if self.key:
            where += f": {self.key}"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" ({self.fix})"
        return text


class KnowledgeBaseError(CofactorError):
    """The knowledge base did not load: carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class AnswerError(CofactorError):
    """An answer (or a fact typed on the command line) is not acceptable.

    ``value`` is the bad text, ``allowed`` the values that would have been
    accepted, ``suggestion`` the closest of them, if any is close.
    """

    def __init__(self, message: str, *, value: str = "", allowed=(), suggestion: str = ""):
        self.value = value
        self.allowed = tuple(allowed)
        self.suggestion = suggestion
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        text = self.message
        if self.suggestion:
            text += f"; did you mean '{self.suggestion}'?"
        elif self.allowed and not text.endswith((".", "?")):
            text += "."
        if self.allowed:
            text += f" Allowed: {', '.join(self.allowed)}."
        return text


class ReasoningError(CofactorError):
    """A run of the engine could not finish."""


class FiringLimitExceeded(ReasoningError):
    """The rules kept firing past the limit: the knowledge base runs away."""

    def __init__(self, limit: int, last_rules: list[str]):
        self.limit = limit
        self.last_rules = list(last_rules)
        super().__init__(
            f"the rules fired more than {limit} times without finishing; "
            f"the last rules to fire were {', '.join(last_rules)}. "
            "Check these rules for a chain that keeps producing new facts."
        )


class TooManyCombinations(ReasoningError):
    """A rule matches more combinations of facts than a run may fire, or
    than its routes may hold (``limit`` None): stopped before they are built."""

    def __init__(self, rule_id: str, count: int, width: int, limit: int | None):
        self.rule_id = rule_id
        past = (
            f"each a firing to come, which takes the run past the firing limit ({limit:,})"
            if limit is not None
            else f"each a route to keep and explain, which takes the run past the {MAX_ROUTE_FACTS:,} facts "
            "a run's routes may hold"
        )
        super().__init__(
            f"rule {rule_id} matches {count:,} combinations of the facts its {width} conditions accept, {past}. "
            "Answer multi-valued questions with fewer states, or split the rule into rules of fewer conditions."
        )
