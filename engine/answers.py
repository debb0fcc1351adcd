"""A case's answers: reading them from ``CONCEPT=STATE`` text and files,
checked against the knowledge base."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from .errors import AnswerError, visible
from .model import Concept, Fact, KnowledgeBase
from .suggest import closest

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

UNKNOWN = "unknown"


def normalize(text: str) -> str:
    """How typed ids and states are compared: case, spaces and dashes don't matter."""
    return "_".join(text.strip().lower().replace("-", " ").split())


class Answers(NamedTuple):
    """The states given for each question, and the questions answered "unknown".

    Always kept in a canonical order (concept id, then the concept's own order
    of states), so that nothing depends on the order answers were typed in.
    """

    given: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    unknown: frozenset[str] = frozenset()

    def facts(self) -> tuple[Fact, ...]:
        return tuple(Fact(c, s) for c in sorted(self.given) for s in self.given[c])

    def settled(self, concept: str) -> bool:
        """Answered, possibly with "unknown": not to be asked again."""
        return concept in self.given or concept in self.unknown

    def with_answer(self, kb: KnowledgeBase, concept: str, states: Iterable[str]) -> Answers:
        """A copy with ``concept`` answered (no states at all means unknown)."""
        states = _ordered(kb.concepts[concept], states)
        given = {k: v for k, v in self.given.items() if k != concept}
        unknown = set(self.unknown) - {concept}
        if states:
            given[concept] = states
        else:
            unknown.add(concept)
        return Answers(dict(sorted(given.items())), frozenset(unknown))


def _ordered(concept: Concept, states: Iterable[str]) -> tuple[str, ...]:
    wanted = set(states)
    return tuple(s for s in concept.states if s in wanted)


def _control(text: str) -> str:
    """``" (it holds '\\n' (U+000A, a control character) at position 5)"``
    for the first control character of ``text`` that is not plain spacing
    around it, or ""."""
    if text.isprintable():
        return ""
    from .syntax import character, is_control  # noqa: PLC0415 - only unusual text needs them

    inner = text.strip(" \t")
    start = len(text) - len(text.lstrip(" \t"))
    for position, ch in enumerate(inner, start + 1):
        if not ch.isprintable() and is_control(ch):
            return f" (it holds {character(ch)} at position {position})"
    return ""


def _not_latin(text: str) -> str:
    """``" ('а' (U+0430 CYRILLIC SMALL LETTER A) at position 2 is not ...)"``
    for the first letter of ``text`` outside ASCII, or ""."""
    if text.isascii():
        return ""
    from .syntax import character  # noqa: PLC0415 - only unusual text needs it

    for position, ch in enumerate(text, 1):
        if not ch.isascii() and ch.isprintable():
            return f" ({character(ch)} at position {position} is not an ASCII letter)"
    return ""


def find_concept(kb: KnowledgeBase, text: str, *, questions_only: bool = False) -> Concept:
    """The concept named by ``text``: its id or one of its aliases. Text
    holding a control character names none (spaces and tabs around it are
    ignored)."""
    key = normalize(text)
    pool = [c.id for c in kb.questions] if questions_only else sorted(kb.concepts)
    if not key:
        raise AnswerError("empty concept name", value=text, allowed=pool)
    control = _control(text)
    if control:
        raise AnswerError(
            f"unknown concept '{shown(text)}'{control}", value=text, suggestion=closest(key, pool), allowed=pool
        )
    concept = kb.concepts.get(key)
    if concept is None:
        for candidate in kb.concepts.values():
            if key in (normalize(a) for a in candidate.aliases):
                concept = candidate
                break
    if concept is None:
        raise AnswerError(
            f"unknown concept '{shown(text)}'{_not_latin(text)}",
            value=text,
            suggestion=closest(key, pool),
            allowed=pool,
        )
    if questions_only and not concept.is_question:
        raise AnswerError(
            f"'{concept.id}' is concluded by the rules, not asked: it cannot be answered",
            value=text,
            allowed=[q.id for q in kb.questions],
        )
    return concept


def find_state(concept: Concept, text: str) -> str:
    """The state of ``concept`` named by ``text`` ("unknown" is accepted)."""
    key = normalize(text)
    control = _control(text)
    if (key in concept.states or key == UNKNOWN) and not control:
        return key
    allowed = list(concept.states) + ([UNKNOWN] if concept.is_question else [])
    if not key:
        raise AnswerError(f"no state given for '{concept.id}'", value=text, allowed=allowed)
    raise AnswerError(
        f"'{shown(text)}' is not a state of '{concept.id}'{control or _not_latin(text)}",
        value=text,
        allowed=allowed,
        suggestion=closest(key, allowed),
    )


def shown(text: str, limit: int | None = 60) -> str:
    """Text someone typed (or a file held), safe to print on one line: control
    characters made visible, and at most ``limit`` characters of it."""
    safe = visible(text)
    return safe if limit is None or len(safe) <= limit else safe[:limit] + "..."


def shown_path(path) -> str:
    """A path, safe to print; a very long one keeps its end, which names the file."""
    safe = shown(str(path), limit=None)
    return safe if len(safe) <= 160 else "..." + safe[-157:]


def example(kb: KnowledgeBase) -> str:
    """An answer to show in messages, taken from the knowledge base itself."""
    first = kb.questions[0] if kb.questions else None
    return f"{first.id}={first.states[0]}" if first else "concept=state"


def split_pair(text: str, kb: KnowledgeBase | None = None) -> tuple[str, list[str]]:
    """``concept=state`` or ``concept=s1,s2`` -> (concept, [states])."""
    if "=" not in text:
        hint = f", e.g. {example(kb)}" if kb is not None else ""
        raise AnswerError(f"malformed answer '{shown(text)}': expected CONCEPT=STATE{hint}", value=text)
    concept, _, states = text.partition("=")
    if "=" in states:
        raise AnswerError(f"malformed answer '{shown(text)}': one '=' between concept and state", value=text)
    if not concept.strip():
        raise AnswerError(f"malformed answer '{shown(text)}': the concept is missing before '='", value=text)
    parts = [s for s in states.split(",")]
    if not states.strip() or any(not p.strip() for p in parts):
        raise AnswerError(f"malformed answer '{shown(text)}': a state is missing after '='", value=text)
    return concept, parts


def find_fact(kb: KnowledgeBase, text: str) -> Fact:
    """``concept=state`` naming any concept (for ``how`` and friends)."""
    concept_text, states = split_pair(text, kb)
    concept = find_concept(kb, concept_text)
    if len(states) != 1:
        raise AnswerError(f"'{shown(text)}' names several states; name one", value=text, allowed=concept.states)
    state = normalize(states[0])
    control = _control(states[0])
    if state not in concept.states or control:
        raise AnswerError(
            f"'{shown(states[0])}' is not a state of '{concept.id}'{control or _not_latin(states[0])}",
            value=states[0],
            allowed=concept.states,
            suggestion=closest(state, concept.states),
        )
    return Fact(concept.id, state)


def check_states(concept: Concept, states: list[str], text: str) -> list[str]:
    """Validate a list of states given for one question; [] means unknown."""
    if UNKNOWN in states:
        if len(states) > 1:
            raise AnswerError(f"'{shown(text)}': 'unknown' cannot be combined with other states", value=text)
        return []
    if len(set(states)) > 1 and not concept.multi:
        raise AnswerError(
            f"'{concept.id}' takes one state, not several ({', '.join(states)})", value=text, allowed=concept.states
        )
    for state in concept.exclusive:
        if state in states and len(set(states)) > 1:
            raise AnswerError(f"'{state}' cannot be combined with other states of '{concept.id}'", value=text)
    return states


def build(
    kb: KnowledgeBase,
    pairs: Iterable[str] = (),
    file_answers: Mapping[str, object] | None = None,
    base: Answers | None = None,
) -> Answers:
    """Answers from a file (or ``base``), overridden by ``CONCEPT=STATE`` pairs."""
    answers = base or Answers()
    if file_answers:
        for key, value in file_answers.items():
            if isinstance(value, str):
                values = [value]
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                values = list(value)
            else:
                raise AnswerError(
                    f"answers file: the value of '{shown(str(key))}' must be a state or a list of states",
                    value=str(key),
                )
            concept = find_concept(kb, str(key), questions_only=True)
            if not values:
                raise AnswerError(
                    f"answers file: '{concept.id}' has an empty list", value=str(key), allowed=concept.states
                )
            states = check_states(concept, [find_state(concept, v) for v in values], f"{key}")
            answers = answers.with_answer(kb, concept.id, states)
    collected: dict[str, list[str]] = {}
    order: list[str] = []
    for text in pairs:
        concept_text, state_texts = split_pair(text, kb)
        concept = find_concept(kb, concept_text, questions_only=True)
        states = [find_state(concept, s) for s in state_texts]
        if concept.id in collected:
            if not concept.multi or UNKNOWN in states or UNKNOWN in collected[concept.id]:
                raise AnswerError(
                    f"'{concept.id}' is answered more than once ({', '.join(collected[concept.id] + states)})",
                    value=text,
                    allowed=concept.states,
                )
            collected[concept.id].extend(states)
        else:
            collected[concept.id] = states
            order.append(concept.id)
    for concept_id in order:
        concept = kb.concepts[concept_id]
        states = check_states(concept, collected[concept_id], f"{concept_id}={','.join(collected[concept_id])}")
        answers = answers.with_answer(kb, concept_id, states)
    return answers


def read_file(path: str | Path) -> dict:
    """Read an answers file: TOML or JSON, chosen by its ending or its content.

    Read as rule files are (:mod:`.rulefiles`): only a regular file, within
    the size limit, and parsed within the limits on nesting and numbers; a
    JSON object may not give a key twice."""
    import json  # noqa: PLC0415 - only an answers file needs these
    import tomllib  # noqa: PLC0415

    from . import rulefiles  # noqa: PLC0415

    name = str(path)
    if not name.strip():
        raise AnswerError("the answers file name is empty; name a .toml or .json file", value=name)
    where = f"answers file '{shown_path(name)}'"
    try:
        text = rulefiles.decode(rulefiles.read_bytes(name, "answers files"))
    except FileNotFoundError:
        raise AnswerError(f"{where} does not exist", value=name) from None
    except IsADirectoryError:
        raise AnswerError(f"{where} is a folder; name a .toml or .json file", value=name) from None
    except rulefiles.FileRefused as exc:
        raise AnswerError(f"{where}: {exc.message}; {exc.fix or 'name a .toml or .json file'}", value=name) from None
    except UnicodeDecodeError as exc:
        raise AnswerError(f"{where} is not UTF-8 text (byte {exc.start}); save it as UTF-8", value=name) from None
    except OSError as exc:
        raise AnswerError(f"cannot read {where}: {exc.strerror or exc}", value=name) from None
    suffix = os.path.splitext(name)[1].lower()
    attempts = (
        ("json", "toml")
        if suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
        else ("toml", "json")
    )
    errors = []
    for kind in attempts:
        try:
            data = rulefiles.parse_json(text) if kind == "json" else rulefiles.parse_toml(text)
        except rulefiles.FileRefused as exc:
            raise AnswerError(f"{where}: {exc.message}; {exc.fix}", value=name) from None
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{kind.upper()}: {exc}")
            if suffix in (".json", ".toml"):
                break
            continue
        if not isinstance(data, dict):
            raise AnswerError(
                f'{where} must hold a mapping of concept ids to states, e.g. {{"concept": "state"}}',
                value=name,
            )
        return data
    raise AnswerError(
        f"{where} is not valid {' or '.join(a.upper() for a in attempts[: len(errors)])} ({errors[0]})",
        value=name,
    )
