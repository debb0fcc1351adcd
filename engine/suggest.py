""" "Did you mean ...?" for ids, states and keys."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str:
    """The choice closest to ``word``, or "" when none is close enough."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    import difflib  # noqa: PLC0415 - only a mistake needs it

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not found:
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        found = [lowered[f] for f in found]
    return found[0] if found else ""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` or ""."""
    best = closest(word, choices)
    return f"did you mean '{best}'?" if best else ""
