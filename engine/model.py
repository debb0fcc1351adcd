"""Plain, immutable data: what a knowledge base is made of.

Nothing here knows about any particular domain, about TOML or about experta.
The records are named tuples: immutable, compared and hashed by value, and
cheap to define and to build (a command defines them at every start, and a
case builds many).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple


class Strength(enum.IntEnum):
    """How firmly a fact is held; a larger value is stronger."""

    POSSIBLE = 1
    LIKELY = 2
    ESTABLISHED = 3
    GIVEN = 4  # an answer from the user: stronger than any rule

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def for_rules(cls) -> tuple[Strength, ...]:
        return (cls.ESTABLISHED, cls.LIKELY, cls.POSSIBLE)

    @classmethod
    def parse(cls, text: str) -> Strength:
        return cls[text.upper()]


class Kind(enum.StrEnum):
    """What a concept is: a question asked of the user, or one of the kinds
    of concept the rules conclude. A ``str``, so a kind read from a rule file
    or a cache compares equal to its member."""

    QUESTION = "question"
    MECHANISM = "mechanism"
    OUTCOME = "outcome"
    ADVICE = "advice"


# each kind by the word a rule file (or a cache) writes for it
KIND_NAMED: dict[str, Kind] = {kind.value: kind for kind in Kind}
# the kinds the rules conclude, in the order conclusions are shown and ranked
DERIVED_KINDS: tuple[Kind, ...] = (Kind.MECHANISM, Kind.OUTCOME, Kind.ADVICE)


class Fact(NamedTuple):
    """A concept in one state, written ``concept=state``.

    A named tuple, so that hashing, comparing and sorting facts (the
    reasoner's inner loops) run in C; facts sort by concept, then state.
    """

    concept: str
    state: str

    def __str__(self) -> str:
        return f"{self.concept}={self.state}"


class Condition(NamedTuple):
    """One item of a rule's ``when`` (or a concept's ``ask_if``).

    ``concept = state`` and ``concept in [a, b]`` hold when the concept is
    known in one of ``states``; with ``negated`` they hold when it is known in
    none of them (an unanswered question makes a negated condition hold).
    """

    concept: str
    states: tuple[str, ...]
    negated: bool = False

    def facts(self) -> tuple[Fact, ...]:
        return tuple(Fact(self.concept, s) for s in self.states)

    def holds(self, known) -> bool:
        found = any(f in known for f in self.facts())
        return not found if self.negated else found

    def __str__(self) -> str:
        if len(self.states) == 1:
            body = f"{self.concept} = {self.states[0]}"
        else:
            body = f"{self.concept} in [{', '.join(self.states)}]"
        return f"not {body}" if self.negated else body


class SourceRef(NamedTuple):
    """A sentence of a source document that supports a rule."""

    document: str
    quote: str


class Document(NamedTuple):
    id: str
    title: str
    file: str = ""  # the document's file name, as its author knows it
    path: str = ""  # the rule file that declared it
    citation: str = ""  # how to cite it (authors, year, journal)
    url: str = ""
    # a local plain-text copy, as written in the rule file (relative to it);
    # ``text_path`` is where that is on this machine, "" when not declared
    text: str = ""
    text_path: str = ""
    builtin: bool = True  # False for a document declared by a --rules file


class Concept(NamedTuple):
    id: str
    label: str
    states: tuple[str, ...]
    kind: Kind
    question: str = ""
    help: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    ask_if: tuple[Condition, ...] = ()
    multi: bool = False
    exclusive: tuple[str, ...] = ()
    order: int = 1000
    path: str = ""
    # states added by other files (``add_states``), each as (file, states)
    additions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def is_question(self) -> bool:
        return bool(self.question)


class Example(NamedTuple):
    """A worked example a rule file carries for a rule: answers, and what
    must (``expect``) and must not (``absent``) follow from them."""

    name: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]  # (concept, states), by concept id; () states = unknown
    expect: tuple[Fact, ...] = ()
    absent: tuple[Fact, ...] = ()
    strengths: tuple[tuple[Fact, Strength], ...] = ()  # expected facts with the strength they must have


class Rule(NamedTuple):
    id: str
    title: str
    when: tuple[Condition, ...]
    then: tuple[Fact, ...]
    strength: Strength
    sources: tuple[SourceRef, ...]
    path: str = ""
    replaces: str = ""  # the id this rule's file says it replaces
    # every rule this one replaces, the nearest first: for C replacing
    # B replacing A, ("B", "A"); empty for a rule that replaces nothing
    replaced: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    builtin: bool = True  # False for a rule from a --rules file
    # the answer this rule only infers (from intake, say, or symptoms): when
    # the case answers that question otherwise, the rule is set aside and adds nothing
    stands_in_for: Condition | None = None

    @property
    def positive(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.when if not c.negated)

    @property
    def negative(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.when if c.negated)

    def stands_in(self, concept: str) -> bool:
        """Whether this rule stands in for the question ``concept``."""
        return self.stands_in_for is not None and self.stands_in_for.concept == concept

    def set_aside_by(self, given: Mapping[str, tuple[str, ...]]) -> bool:
        """Whether answers (``given``: a question's states) set this rule aside:
        it stands in for a question answered with none of its states."""
        stand_in = self.stands_in_for
        if stand_in is None or stand_in.concept not in given:
            return False
        return not set(stand_in.states) & set(given[stand_in.concept])


class Disabled(NamedTuple):
    """A rule that a --rules file took out of the knowledge base."""

    rule: Rule
    by: str  # the file that disabled it


class Loop(NamedTuple):
    """A named feedback loop of the rule graph, so explanations can name it."""

    id: str
    title: str
    through: tuple[str, ...]  # concepts that lie on the loop
    description: str = ""
    path: str = ""


class Tension(NamedTuple):
    """A place where the sources differ, declared so that every explanation
    using one of its rules can show both (all) sides: the rules it concerns
    (those live in this knowledge base), a one-line statement of the
    difference, and the sentences that differ."""

    id: str
    title: str
    statement: str
    rules: tuple[str, ...]  # the live rules it concerns, by id, in the order written
    sides: tuple[SourceRef, ...]  # at least two
    path: str = ""


class KnowledgeBase:
    """Concepts, rules and documents, validated and cross-checked.

    Rules are kept sorted by id, so that nothing downstream depends on the
    order of files or of rules within them. Read-only: its mappings are
    read-only views, and its attributes cannot be set again.
    """

    def __init__(
        self,
        concepts: Mapping[str, Concept],
        rules: tuple[Rule, ...],
        documents: Mapping[str, Document],
        files: tuple[str, ...] = (),
        strata: Mapping[str, int] | None = None,
        loops: tuple[Loop, ...] = (),
        disabled: tuple[Disabled, ...] = (),
        tensions: tuple[Tension, ...] = (),
    ):
        set_ = object.__setattr__
        set_(self, "concepts", MappingProxyType(dict(concepts)))
        set_(self, "rules", tuple(rules))
        set_(self, "documents", MappingProxyType(dict(documents)))
        set_(self, "files", tuple(files))
        set_(self, "strata", MappingProxyType(dict(strata or {})))
        set_(self, "loops", tuple(loops))
        set_(self, "disabled", tuple(disabled))
        set_(self, "tensions", tuple(tensions))

    concepts: Mapping[str, Concept]
    rules: tuple[Rule, ...]
    documents: Mapping[str, Document]
    files: tuple[str, ...]
    strata: Mapping[str, int]
    loops: tuple[Loop, ...]
    disabled: tuple[Disabled, ...]  # rules removed by --rules files, by id
    tensions: tuple[Tension, ...]  # where the sources differ, by id

    def __setattr__(self, name, value):
        raise AttributeError(f"a knowledge base is read-only: cannot set {name!r}")

    def __eq__(self, other):
        if not isinstance(other, KnowledgeBase):
            return NotImplemented
        fields = ("concepts", "rules", "documents", "files", "strata", "loops", "disabled", "tensions")
        return all(getattr(self, name) == getattr(other, name) for name in fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KnowledgeBase({len(self.concepts)} concepts, {len(self.rules)} rules, files={list(self.files)})"

    @cached_property
    def questions(self) -> tuple[Concept, ...]:
        """The question concepts, in the order they are asked."""
        qs = [c for c in self.concepts.values() if c.is_question]
        return tuple(sorted(qs, key=lambda c: (c.order, c.id)))

    @cached_property
    def _concluding(self) -> Mapping[Fact, tuple[Rule, ...]]:
        index: dict[Fact, list[Rule]] = {}
        for rule in self.rules:
            for fact in rule.then:
                index.setdefault(fact, []).append(rule)
        return MappingProxyType({k: tuple(v) for k, v in index.items()})

    @cached_property
    def _using(self) -> Mapping[str, tuple[Rule, ...]]:
        index: dict[str, list[Rule]] = {}
        for rule in self.rules:
            # each concept once per rule, in the order its conditions name them
            for concept in dict.fromkeys(cond.concept for cond in rule.when):
                index.setdefault(concept, []).append(rule)
        return MappingProxyType({k: tuple(v) for k, v in index.items()})

    @cached_property
    def condition_facts(self) -> Mapping[Condition, tuple[Fact, ...]]:
        """Every condition of every rule, with the facts it names (built once,
        for loops that test conditions again and again)."""
        return MappingProxyType({cond: cond.facts() for rule in self.rules for cond in rule.when})

    def rules_concluding(self, fact: Fact) -> tuple[Rule, ...]:
        return self._concluding.get(fact, ())

    def rules_using(self, concept: str) -> tuple[Rule, ...]:
        return self._using.get(concept, ())

    def rules_about(self, concept: str) -> tuple[Rule, ...]:
        """The rules that use or conclude ``concept``, in the rules' order."""
        return tuple(
            r
            for r in self.rules
            if any(c.concept == concept for c in r.when) or any(f.concept == concept for f in r.then)
        )

    def concepts_in_order(self) -> tuple[Concept, ...]:
        """The questions in the order they are asked, then the other concepts by id."""
        others = sorted((c for c in self.concepts.values() if not c.is_question), key=lambda c: c.id)
        return (*self.questions, *others)

    def loop_through(self, concepts) -> Loop | None:
        """The named loop whose concepts all appear among ``concepts``."""
        present = set(concepts)
        for loop in self.loops:
            if set(loop.through) <= present:
                return loop
        return None

    @cached_property
    def _tensions_by_rule(self) -> Mapping[str, tuple[Tension, ...]]:
        index: dict[str, list[Tension]] = {}
        for tension in self.tensions:
            for rule_id in tension.rules:
                index.setdefault(rule_id, []).append(tension)
        return MappingProxyType({k: tuple(v) for k, v in index.items()})

    def tensions_of(self, rule_id: str) -> tuple[Tension, ...]:
        """The tensions that concern the rule ``rule_id``, by tension id."""
        return self._tensions_by_rule.get(rule_id, ())

    def tensions_among(self, rule_ids) -> tuple[Tension, ...]:
        """The tensions that concern any of ``rule_ids``, each once, by tension id."""
        wanted = set(rule_ids)
        return tuple(t for t in self.tensions if wanted.intersection(t.rules))

    def label(self, fact: Fact) -> str:
        concept = self.concepts.get(fact.concept)
        return concept.label if concept else fact.concept
