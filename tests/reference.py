"""A second forward-chaining reasoner, for checking the engine only.

It shares nothing with the engine (``cofactor``, experta) but the TOML
parser of the standard library: it reads the rule files itself, parses the
condition syntax of ``spec/rule-format.md`` with its own small tokenizer, and
reasons by definitions rather than by firing rules in an order:

* ``concept = state`` / ``concept in [...]`` hold for a known fact in one of
  the states; each choice of matching facts is a route of its own (the
  rule and those facts, in the order of the rule's positive conditions);
* ``not ...`` holds when no fact of those states is known in the end;
* a conclusion that contradicts an answer (another state of a single-valued
  concept; an exclusive state of a multi-valued one next to others, either
  way round) is never known: its routes are recorded as blocked;
* what is known is the model of the rules with those ``not`` conditions: it
  is found by the alternating fixpoint (negations read first against too
  little, then against too much, until both agree), which needs no order
  among the rules; for a knowledge base that can be stratified the two
  bounds meet, and a knowledge base in which a fact depends on its own
  absence is refused when it is read, as the engine's loader does;
* every route of a fact is every rule whose conditions hold in the model,
  with every choice of matching facts;
* strengths, weakest to strongest, are possible, likely, established and
  given (an answer). A fact's strength is that of its best derivation, a
  derivation being as weak as its weakest rule: so a fact is at least
  ``level`` strong exactly when it can be derived from the answers by rules
  of at least that strength. That is how it is computed: one reachability
  per level, strongest first;
* a conflict is a concept with two states known or blocked, when it is
  single-valued, or when one of them is exclusive. Each state is listed with
  whether it was given, whether it was blocked, and its routes (the blocked
  routes, for a blocked state).

Results are plain values: facts are ``(concept, state)`` pairs, routes are
``(rule id, premises)``, strengths are their names.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

STRENGTHS = ("possible", "likely", "established", "given")  # weakest first
RULE_STRENGTHS = STRENGTHS[:-1]
_RANK = {name: rank for rank, name in enumerate(STRENGTHS)}

Fact = tuple[str, str]
Route = tuple[str, tuple[Fact, ...]]  # (rule id, the facts it matched)
Side = tuple[bool, bool, frozenset[Route]]  # (given, blocked, routes)


class RuleFileError(ValueError):
    """A rule file the reference cannot read."""


class Unstratifiable(RuleFileError):
    """Some fact depends on its own absence."""


@dataclass(frozen=True)
class Condition:
    concept: str
    states: tuple[str, ...]
    negated: bool

    def facts(self) -> list[Fact]:
        return [(self.concept, state) for state in self.states]


@dataclass(frozen=True)
class Concept:
    ident: str
    states: tuple[str, ...]
    asked: bool  # a question
    multi: bool = False
    exclusive: tuple[str, ...] = ()
    order: int = 1000


@dataclass(frozen=True)
class Rule:
    ident: str
    when: tuple[Condition, ...]
    then: tuple[Fact, ...]
    strength: str
    # the answer the rule only infers: answered with none of these states, the
    # rule adds nothing, and its firings are sides of a conflict on that question
    stands_in_for: Condition | None = None

    @cached_property
    def required(self) -> tuple[frozenset[Fact], ...]:
        """For each positive condition, in order, the facts that satisfy it."""
        return tuple(frozenset(c.facts()) for c in self.when if not c.negated)

    @cached_property
    def excluded(self) -> frozenset[Fact]:
        """The facts its 'not' conditions need absent."""
        return frozenset(f for c in self.when if c.negated for f in c.facts())


@dataclass
class Knowledge:
    concepts: dict[str, Concept] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)

    def questions(self) -> list[Concept]:
        """The questions in the order they are asked."""
        return sorted((c for c in self.concepts.values() if c.asked), key=lambda c: (c.order, c.ident))

    def compatible(self, concept: str, states: set[str] | frozenset[str]) -> bool:
        """Can ``concept`` hold all of ``states`` at once? A single-valued
        concept holds one state; a multi-valued one any number of them, but
        an exclusive state (such as "none") only alone."""
        info = self.concepts[concept]
        if len(states) < 2:
            return True
        return info.multi and states.isdisjoint(info.exclusive)

    def contradicts(self, fact: Fact, answers: Mapping[str, frozenset[str]]) -> bool:
        """Would ``fact`` go against the answer to its concept?"""
        concept, state = fact
        answered = answers.get(concept, frozenset())
        return bool(answered) and not self.compatible(concept, answered | {state})


# ---------------------------------------------------------------------------
# Reading rule files
# ---------------------------------------------------------------------------


def load(*paths: str | os.PathLike[str], extra: Iterable[str | os.PathLike[str]] = ()) -> Knowledge:
    """The knowledge in rule files (a folder stands for the ``*.toml`` files
    directly in it, by name); ``extra`` files may replace rules of the
    others, as ``--rules`` files do."""
    return parse(*_texts(paths), extra=_texts(extra))


def _texts(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    texts = []
    for given in paths:
        path = os.fspath(given)
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(".toml"))
            files = [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
        else:
            files = [path]
        for name in files:
            with open(name, encoding="utf-8") as handle:
                texts.append(handle.read())
    return texts


def parse(*texts: str, extra: Iterable[str] = ()) -> Knowledge:
    """The knowledge in rule files given as TOML text (see :func:`load`).

    Raises :class:`RuleFileError` for what it cannot make sense of, and
    :class:`Unstratifiable` when a fact depends on its own absence.
    """
    tables = [(tomllib.loads(text), False) for text in texts]
    tables += [(tomllib.loads(text), True) for text in extra]
    knowledge = Knowledge()
    for data, _ in tables:
        for table in data.get("concept", []):
            concept = _concept(table)
            if concept.ident in knowledge.concepts:
                raise RuleFileError(f"concept {concept.ident} is defined twice")
            knowledge.concepts[concept.ident] = concept
    for data, may_replace in tables:
        for table in data.get("rule", []):
            rule = _rule(table, knowledge.concepts)
            old = table.get("replaces")
            if old:
                if not may_replace or old not in knowledge.rules:
                    raise RuleFileError(f"rule {rule.ident} cannot replace {old}")
                del knowledge.rules[old]
            if rule.ident in knowledge.rules:
                raise RuleFileError(f"rule {rule.ident} is defined twice")
            knowledge.rules[rule.ident] = rule
    _refuse_negative_cycles(knowledge.rules.values())
    return knowledge


def _concept(table: dict) -> Concept:
    states = tuple(table["states"])
    multi = bool(table.get("multi", False))
    exclusive = tuple(table.get("exclusive", ()))
    if not states or len(set(states)) != len(states) or not set(exclusive) <= set(states):
        raise RuleFileError(f"concept {table['id']}: bad states")
    if exclusive and not multi:
        raise RuleFileError(f"concept {table['id']}: exclusive states need multi = true")
    return Concept(table["id"], states, bool(table.get("question")), multi, exclusive, table.get("order", 1000))


def _rule(table: dict, concepts: Mapping[str, Concept]) -> Rule:
    ident = table["id"]
    when = tuple(parse_condition(text) for text in table["when"])
    then = tuple(parse_fact(text) for text in table["then"])
    if not when or not then or len(set(then)) != len(then):
        raise RuleFileError(f"rule {ident}: empty or repeated conditions or conclusions")
    if table["strength"] not in RULE_STRENGTHS:
        raise RuleFileError(f"rule {ident}: unknown strength {table['strength']!r}")
    for concept, states in [(c.concept, c.states) for c in when] + [(c, (s,)) for c, s in then]:
        if concept not in concepts or not set(states) <= set(concepts[concept].states):
            raise RuleFileError(f"rule {ident}: unknown concept or state in {concept} {states}")
    for fact in then:
        if any(fact in c.facts() for c in when):
            raise RuleFileError(f"rule {ident}: concludes {fact} from a condition on it")
    stand_in = parse_condition(table["stands_in_for"]) if "stands_in_for" in table else None
    if stand_in is not None and (
        stand_in.negated
        or stand_in.concept not in concepts
        or not concepts[stand_in.concept].asked
        or not set(stand_in.states) <= set(concepts[stand_in.concept].states)
        or any(c.concept == stand_in.concept for c in when)
    ):
        raise RuleFileError(f"rule {ident}: bad stands_in_for")
    return Rule(ident, when, then, table["strength"], stand_in)


_PUNCTUATION = frozenset("=[],")
_WORD_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _split(text: str) -> list[str]:
    """Words (ids, states, ``not``, ``in``) and the punctuation ``= [ ] ,``."""
    pieces: list[str] = []
    word = ""
    for char in text + " ":
        if char in _WORD_CHARACTERS:
            word += char
            continue
        if word:
            pieces.append(word)
            word = ""
        if char in _PUNCTUATION:
            pieces.append(char)
        elif not char.isspace():
            raise RuleFileError(f"unexpected {char!r} in {text!r}")
    return pieces


def _is_word(piece: str) -> bool:
    return piece not in _PUNCTUATION


def _is_id(piece: str) -> bool:
    return _is_word(piece) and piece[0].isalpha()


def parse_condition(text: str) -> Condition:
    """``[not] concept = state`` or ``[not] concept in [s1, s2, ...]``."""
    pieces = _split(text)
    negated = len(pieces) > 2 and pieces[0] == "not" and _is_word(pieces[1])
    if negated:
        pieces = pieces[1:]
    match pieces:
        case [concept, "=", state] if _is_id(concept) and _is_word(state):
            states = [state]
        case [concept, "in", "[", *listed, "]"] if _is_id(concept) and listed:
            if listed[-1] == ",":
                listed = listed[:-1]  # a trailing comma is allowed
            states = listed[::2]
            if len(listed) % 2 == 0 or set(listed[1::2]) - {","} or not all(map(_is_word, states)):
                raise RuleFileError(f"cannot read the list of states in {text!r}")
        case _:
            raise RuleFileError(f"cannot read condition {text!r}")
    if len(set(states)) != len(states):
        raise RuleFileError(f"condition {text!r} names a state twice")
    return Condition(concept, tuple(states), negated)


def parse_fact(text: str) -> Fact:
    """``concept = state``: what a rule concludes."""
    match _split(text):
        case [concept, "=", state] if _is_id(concept) and _is_word(state):
            return (concept, state)
    raise RuleFileError(f"cannot read conclusion {text!r}")


def _refuse_negative_cycles(rules: Iterable[Rule]) -> None:
    """Refuse rules in which a fact depends on its own absence: a rule with
    ``not`` a fact whose conclusions lead, rule after rule, back to that fact."""
    rules = list(rules)
    leads_to: dict[Fact, set[Fact]] = {}  # a fact -> what rules conclude from it (or from its absence)
    for rule in rules:
        for cond in rule.when:
            for fact in cond.facts():
                leads_to.setdefault(fact, set()).update(rule.then)
    for rule in rules:
        for absent in rule.excluded:
            seen: set[Fact] = set()
            frontier = list(rule.then)
            while frontier:
                fact = frontier.pop()
                if fact == absent:
                    raise Unstratifiable(f"rule {rule.ident}: {absent[0]} = {absent[1]} depends on its own absence")
                if fact not in seen:
                    seen.add(fact)
                    frontier.extend(leads_to.get(fact, ()))


# ---------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What holds in a case, as plain values."""

    conclusions: frozenset[Fact]  # derived facts, not the answers
    justifications: dict[Fact, frozenset[Route]]  # every known fact with a route, answers too
    strength: dict[Fact, str]  # every known fact
    conflicts: dict[str, dict[str, Side]]  # concept -> state -> (given, blocked, routes)
    rule_strength: Mapping[str, str] = field(repr=False)

    def route_strength(self, rule: str, premises: Iterable[Fact]) -> str:
        """A route is as strong as the weakest of its rule and its premises."""
        return min([self.rule_strength[rule], *(self.strength[p] for p in premises)], key=_RANK.__getitem__)


def reason(knowledge: Knowledge, answers: Mapping[str, Iterable[str]]) -> Outcome:
    """Everything that holds once ``answers`` (concept -> states given) are known."""
    answered = {concept: frozenset(states) for concept, states in answers.items()}
    answered = {concept: states for concept, states in answered.items() if states}
    given = frozenset((concept, state) for concept, states in answered.items() for state in states)
    rules = list(knowledge.rules.values())

    def allowed(fact: Fact) -> bool:
        return not knowledge.contradicts(fact, answered)

    def set_aside(rule: Rule) -> bool:
        cond = rule.stands_in_for
        return cond is not None and cond.concept in answered and answered[cond.concept].isdisjoint(cond.states)

    def derivable(absent_unless_in: frozenset[Fact]) -> frozenset[Fact]:
        """Everything derivable from the answers, reading each 'not fact'
        as true when the fact is not in ``absent_unless_in``."""
        known = set(given)
        waiting = [r for r in rules if absent_unless_in.isdisjoint(r.excluded) and not set_aside(r)]
        progress = True
        while progress:
            progress = False
            still = []
            for rule in waiting:
                if all(not known.isdisjoint(facts) for facts in rule.required):
                    known.update(filter(allowed, rule.then))
                    progress = True
                else:
                    still.append(rule)
            waiting = still
        return frozenset(known)

    # The alternating fixpoint: reading the 'not's against too little gives
    # too much, and the other way round; 'too_little' only grows, 'too_much'
    # only shrinks, and where they meet is what is known.
    too_little: frozenset[Fact] = frozenset()
    while (too_much := derivable(too_little)) != too_little:
        better = derivable(too_much)
        if better == too_little:
            raise Unstratifiable("the case has no single model: some fact depends on its own absence")
        too_little = better
    known = too_little

    # every route of every conclusion, on the final model
    routes: dict[Fact, set[Route]] = {}
    stopped: dict[Fact, set[Route]] = {}
    for rule in rules:
        if not known.isdisjoint(rule.excluded):
            continue
        options = [[f for f in cond.facts() if f in known] for cond in rule.when if not cond.negated]
        for premises in product(*options):
            if set_aside(rule):  # a side of the conflict on the question it stands in for
                assert rule.stands_in_for is not None
                for fact in rule.stands_in_for.facts():
                    stopped.setdefault(fact, set()).add((rule.ident, premises))
                continue
            for head in rule.then:
                (routes if allowed(head) else stopped).setdefault(head, set()).add((rule.ident, premises))
    assert set(routes) <= known, "a route concludes a fact outside the model"
    assert known - given <= set(routes), "a conclusion without a route"

    # strengths: reachability from the answers by rules of each level, strongest first
    strength = dict.fromkeys(given, "given")
    for level in reversed(RULE_STRENGTHS):
        usable = [
            (head, premises)
            for head, found in routes.items()
            for rule, premises in found
            if _RANK[knowledge.rules[rule].strength] >= _RANK[level]
        ]
        reached = set(given)
        grew = True
        while grew:
            grew = False
            for head, premises in usable:
                if head not in reached and reached.issuperset(premises):
                    reached.add(head)
                    grew = True
        for fact in reached:
            strength.setdefault(fact, level)
    assert set(strength) == known, "a conclusion that does not rest on the answers"

    # conflicts
    states_of: dict[str, set[str]] = {}
    for concept, state in known | set(stopped):
        states_of.setdefault(concept, set()).add(state)
    conflicts = {}
    for concept, states in states_of.items():
        if not knowledge.compatible(concept, states):
            conflicts[concept] = {
                state: (
                    (concept, state) in given,
                    (concept, state) in stopped,
                    frozenset(stopped.get((concept, state)) or routes.get((concept, state)) or ()),
                )
                for state in states
            }

    return Outcome(
        conclusions=known - given,
        justifications={fact: frozenset(found) for fact, found in routes.items()},
        strength=strength,
        conflicts=conflicts,
        rule_strength={ident: rule.strength for ident, rule in knowledge.rules.items()},
    )
