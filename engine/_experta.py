"""The only module that talks to experta.

It does four things, and the rest of the engine sees none of experta:

1. makes experta 1.9.4 importable on Python >= 3.10 (see ``_import_experta``);
2. gives experta a matcher, an agenda strategy and a working memory that
   scale (``IndexedMatcher``, ``DepthOrder``, ``OrderedAgenda``,
   ``IndexedFactList``), plugged in through experta's own extension points
   (``__matcher__`` and ``__strategy__`` of a ``KnowledgeEngine``);
3. compiles a knowledge base, once, into a ``KnowledgeEngine`` subclass whose
   rules are the knowledge base's rules;
4. runs a case with experta's own ``run`` loop and reports every firing: the
   rule and the exact facts it matched, in the order experta fired them.

What a firing adds to working memory is decided by the caller (the
``on_fire`` callback returns the facts to declare), so the policy of the
reasoner (answers are never overridden, for one) lives outside this module.

Why not experta's own ``ReteMatcher``: it passes every new fact through every
constant test of every pattern, copying a token at each step; after every
firing it asks every rule's conflict-set node for changes; and it rewrites
each rule into disjunctive normal form, so a rule with ``n`` conditions of
two alternatives becomes ``2**n`` rules. Its cost per firing grows with the
number of rules. cofactor's patterns only ever test constants, so the
matcher here looks each fact up in a hash index of those constants, touches
only the rules the fact can match, joins a rule's conditions only when one
of them receives a fact, and keeps an alternative (``state in [a, b]``) as
one pattern. What fires, and in which order, is the same.
"""

from __future__ import annotations

import bisect
import collections
import collections.abc
import logging
from collections.abc import Callable, Iterable
from functools import update_wrapper
from itertools import product
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol, cast

from .errors import ReasoningError, TooManyCombinations
from .limits import MAX_ROUTE_FACTS
from .model import Fact, KnowledgeBase, Rule

# The names that frozendict 1.2 (pinned by experta 1.9.4) and experta itself
# still look up on ``collections``; Python 3.10 removed these aliases.
_ABC_ALIASES = (
    "Callable",
    "Container",
    "Hashable",
    "ItemsView",
    "Iterable",
    "Iterator",
    "KeysView",
    "Mapping",
    "MappingView",
    "MutableMapping",
    "MutableSequence",
    "MutableSet",
    "Sequence",
    "Set",
    "Sized",
    "ValuesView",
)


def _import_experta():
    """Import experta without letting it touch the user's screen.

    * experta pins ``frozendict==1.2``, whose ``frozendict`` subclasses
      ``collections.Mapping``; the alias went away in Python 3.10 and pip
      cannot override another package's exact pin. Restoring the aliases
      (pointing at the very same ``collections.abc`` classes) before the
      first import is the one fix that survives ``pip install .``.
    * experta calls ``logging.basicConfig()`` when imported, which puts a
      handler on the root logger. We take back any handler it added and
      keep experta's own loggers from propagating.
    """
    for name in _ABC_ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    root = logging.getLogger()
    before = list(root.handlers)
    import experta  # noqa: PLC0415 - deliberately late, after the shim
    import experta.abstract  # noqa: PLC0415
    import experta.activation  # noqa: PLC0415
    import experta.agenda  # noqa: PLC0415
    import experta.factlist  # noqa: PLC0415

    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    quiet = logging.getLogger("experta")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    return experta


if TYPE_CHECKING:
    # experta ships no type information (mypy takes it as Any), but it must be
    # seen as the module, not as the value ``_import_experta`` returns, for its
    # classes to be usable as base classes
    import experta
    import experta.abstract
    import experta.activation
    import experta.agenda
    import experta.factlist
else:
    experta = _import_experta()


class _Datum(experta.Fact):
    """A fact in experta's working memory: ``concept`` and ``state``.

    Its special field ``__model__`` (special fields, like experta's own
    ``__factid__``, are never matched) holds the engine's own :class:`Fact`,
    so a firing reports its facts without building them again.
    """

    @classmethod
    def of(cls, fact: Fact) -> _Datum:
        """The experta fact for ``fact``, built without experta's generic
        field-by-field ``__init__`` (the values are plain strings already)."""
        datum = cls.pattern(fact.concept, fact.state)
        dict.__setitem__(datum, "__model__", fact)
        return datum

    @classmethod
    def pattern(cls, concept: str, state) -> _Datum:
        """A pattern of a rule: ``concept`` and a ``state`` test (a value, or
        experta's ``L(a) | L(b)``), built as experta's ``__init__`` would
        build it (its values need no freezing: they are hashable already)."""
        datum = dict.__new__(cls)
        dict.__setitem__(datum, "concept", concept)
        dict.__setitem__(datum, "state", state)
        return datum


# ---------------------------------------------------------------------------
# experta, made to scale: working memory, matcher, agenda and strategy
# ---------------------------------------------------------------------------


class _Datums(dict):
    """Fact -> its ``_Datum``, made on first use."""

    def __missing__(self, fact: Fact) -> _Datum:
        datum = self[fact] = _Datum.of(fact)
        return datum


class IndexedFactList(experta.factlist.FactList):
    """experta's fact list, with a fast path for cofactor's facts.

    experta keys each fact by a frozenset of its class and fields, and runs
    its field validators and a log call on every declaration. A ``_Datum``
    has two string fields and no validators: its key is the pair, and it is
    entered directly, as is experta's initial fact (no fields at all). Any
    other fact takes experta's own way.
    """

    last_index: int  # set by experta's FactList

    @staticmethod
    def _get_fact_id(fact):
        if fact.__class__ is _Datum:
            return (fact["concept"], fact["state"])
        return experta.factlist.FactList._get_fact_id(fact)

    def declare(self, fact):
        if fact.__class__ is _Datum:
            key = (fact["concept"], fact["state"])
        elif fact.__class__ is _INITIAL_FACT:  # every reset declares it
            key = _INITIAL_KEY
        else:
            return super().declare(fact)
        counter = self.reference_counter
        if key in counter and not self.duplication:
            return None
        idx = self.last_index
        dict.__setitem__(fact, "__factid__", idx)  # what experta's __factid__ setter does
        self[idx] = fact
        self.last_index = idx + 1
        self.added.append(fact)
        counter[key] = counter.get(key, 0) + 1
        return fact


_INITIAL_FACT = experta.fact.InitialFact
_ORFC = experta.fieldconstraint.ORFC
_INITIAL_KEY = experta.factlist.FactList._get_fact_id(experta.fact.InitialFact())


class IndexedActivation(experta.activation.Activation):
    """An activation that knows its rule's position, its rule's function and
    the facts it matched in condition order; equal only to itself (each is
    made once)."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__

    def __init__(self, rule, facts: tuple, context: dict, order: int, action):
        self.rule = rule
        self.facts = facts  # in condition order; experta keeps a set
        self.context = context
        self.order = order
        self.action = action  # what calling the rule calls
        self.key = None


# A run may always make this many activations by joining rules' conditions,
# whatever the firing limit (so that a small ``--firing-limit`` keeps its own
# message); beyond it, and beyond the firing limit, a run is stopped.
COMBINATION_FLOOR = 100_000


def _rule_id(rule) -> str:
    """The id of the knowledge base's rule an experta rule was compiled from."""
    model = getattr(getattr(rule, "_wrapped", None), "cofactor_rule", None)
    return model.id if model is not None else getattr(rule, "__name__", "?")


_DATUM_FIELDS = {"concept": None, "state": None}.keys()
_DATUM_FIELDS_SORTED = tuple(sorted(_DATUM_FIELDS, key=repr))  # the order ``_read_pattern`` gives any fact


class _Pattern:
    """One condition of a rule, read from its experta pattern."""

    __slots__ = ("fact_class", "names", "values", "bind", "negated")

    def __init__(self, fact_class, names: tuple, values: tuple, bind, negated: bool):
        self.fact_class = fact_class
        self.names = names  # the fields it tests
        self.values = values  # for each field, the frozenset of constants it accepts
        self.bind = bind  # the name the rule receives the fact under, or None
        self.negated = negated


def _read_pattern(rule, element) -> _Pattern:
    """A pattern of constant tests, or TypeError for anything else."""
    negated = isinstance(element, experta.NOT)
    if negated:
        if len(element) != 1 or not isinstance(element[0], experta.Fact):
            raise TypeError(f"rule {rule.__name__}: NOT must hold one fact pattern")
        element = element[0]
    if element.__class__ is _Datum and element.keys() == _DATUM_FIELDS:
        # the patterns compiled here: read without experta's field-by-field
        # test for special names (a third of compiling a large knowledge base)
        bind = None if negated else element.__bind__
        values = (_constants(rule, "concept", element["concept"]), _constants(rule, "state", element["state"]))
        return _Pattern(_Datum, _DATUM_FIELDS_SORTED, values, bind, negated)
    if not isinstance(element, experta.Fact):
        raise TypeError(
            f"rule {rule.__name__}: IndexedMatcher handles fact patterns and NOT only, "
            f"not {type(element).__name__}; use experta's ReteMatcher for such rules"
        )
    fields = {}
    for key, value in element.items():
        if element.is_special(key):
            continue
        fields[key] = _constants(rule, key, value)
    names = tuple(sorted(fields, key=repr))
    bind = None if negated else element.__bind__
    return _Pattern(type(element), names, tuple(fields[n] for n in names), bind, negated)


def _constants(rule, key, value) -> frozenset:
    """The constants a field test accepts: a value, L(value), or L(a) | L(b) | ..."""
    if isinstance(value, experta.L) and value.__bind__ is None:
        return frozenset((value.value,))
    if isinstance(value, experta.fieldconstraint.ORFC):
        return frozenset().union(*(_constants(rule, key, v) for v in value))
    if isinstance(value, (experta.fieldconstraint.FieldConstraint, experta.conditionalelement.ConditionalElement)):
        raise TypeError(
            f"rule {rule.__name__}: field {key!r} is not a constant test; "
            "IndexedMatcher handles constants and alternatives of constants only"
        )
    return frozenset((value,))


class _Compiled:
    """A rule as the matcher sees it, and what it has matched since the last
    reset (valid while ``epoch`` is the matcher's; renewed on first use).

    Only what can be needed is kept: the facts each positive pattern matched
    (``memory``) for a rule with several positive patterns or a ``NOT``; the
    activations made (``live``) only for a rule with a ``NOT``, which must be
    able to take them back. A rule of one positive pattern and no ``NOT``
    keeps nothing.
    """

    __slots__ = ("rule", "order", "binds", "width", "negated", "simple", "action", "epoch", "memory", "live", "blocked")

    def __init__(self, rule, order: int, binds: tuple, negated: bool):
        self.rule = rule
        self.order = order  # the rule's position among the engine's rules
        # ``rule(engine, **context)`` calls ``rule._wrapped(engine, **context)``
        # when the function takes every bound name (``**kwargs``) and is not
        # bound to an engine; such a rule's function is called directly
        plain = not rule._wrapped_args and rule._wrapped_self is None
        self.action = rule._wrapped if plain else rule
        self.binds = binds  # for each positive pattern, its bound name or None
        self.width = len(binds)
        self.negated = negated  # it has NOT patterns
        self.simple = self.width == 1 and not negated
        self.epoch = None
        self.memory: list = []  # for each positive pattern, the facts it matched (None: none yet)
        self.live: list = []  # the activations made since the last reset (rules with NOT)
        self.blocked = 0  # how many facts match its NOT patterns

    def renew(self, epoch) -> None:
        self.epoch = epoch
        self.memory = [None] * self.width
        if self.negated:
            self.live = []
            self.blocked = 0

    def release(self) -> None:
        self.epoch = None
        self.memory = []
        self.live = []


class IndexedMatcher(experta.abstract.Matcher):
    """A matcher for rules whose patterns test constants (and ``NOT``).

    At build time every pattern is entered in a hash index under each
    combination of constants it accepts; a fact is looked up once per set of
    tested fields, and reaches only the patterns it matches. Each rule keeps,
    per positive pattern, the facts that matched it (its alpha memory); a
    fact arriving at one pattern is joined with the other patterns' memories
    only, so each combination of facts becomes one activation, once. A fact
    matching a ``NOT`` pattern counts against its rule: while the count is
    above zero the rule has no activations. A rule that begins with ``NOT``
    (or has no positive pattern) matches experta's initial fact first, as
    experta's own matcher does, so that recency, and so firing order, is the
    same as experta's.

    ``changes`` returns only the activations that changed; nothing is asked
    of rules that received nothing, and ``reset`` costs the same whatever
    the number of rules.
    """

    budget: int = COMBINATION_FLOOR + 1  # activations a run may make by joining (see ``_spend``)
    limit: int = COMBINATION_FLOOR  # the firing limit the budget stands for, for the message

    def __init__(self, engine):
        super().__init__(engine)
        # (fact class) -> [(getter, {constants: [(compiled rule, position)]})];
        # position -1 marks a NOT pattern
        self._index: dict[type, list] = {}
        self._rules: list[_Compiled] = []
        for order, rule in enumerate(engine.get_rules()):
            self._add_rule(order, rule)
        self.reset()

    def _add_rule(self, order: int, rule) -> None:
        patterns = [_read_pattern(rule, element) for element in rule]
        positive = [p for p in patterns if not p.negated]
        if not positive or patterns[0].negated:
            positive.insert(0, _Pattern(experta.fact.InitialFact, (), (), None, False))
        compiled = _Compiled(rule, order, tuple(p.bind for p in positive), any(p.negated for p in patterns))
        self._rules.append(compiled)
        for position, pattern in enumerate(positive):
            self._enter(pattern, (compiled, position))
        for pattern in patterns:
            if pattern.negated:
                self._enter(pattern, (compiled, -1))

    def _enter(self, pattern: _Pattern, entry) -> None:
        tables = self._index.setdefault(pattern.fact_class, [])
        table = next((t for names, _, t in tables if names == pattern.names), None)
        if table is None:
            # called with a fact only, for the key of the table (``...``: the
            # lambda's default argument does not fit a one-argument Callable)
            getter: Callable[..., tuple[Any, ...]]
            if not pattern.names:
                getter = _no_fields
            elif len(pattern.names) == 1:
                single = itemgetter(pattern.names[0])
                getter = lambda fact, _get=single: (_get(fact),)  # noqa: E731
            else:
                getter = itemgetter(*pattern.names)
            table = {}
            tables.append((pattern.names, getter, table))
        for constants in product(*pattern.values):
            table.setdefault(constants, []).append(entry)

    def reset(self) -> None:
        # a rule's memory is renewed when it is next touched; what the last
        # run touched is released now, so a reset costs what that run did,
        # whatever the number of rules
        for compiled in getattr(self, "_touched", ()):
            compiled.release()
        self._touched: list[_Compiled] = []
        self._epoch = object()
        self._made = 0  # activations made by joins since the reset
        self._route_facts = 0  # facts in the routes past each join's first (see ``_spend``)

    def changes(self, adding=None, deleting=None):
        """The activations added and removed by these changes of working
        memory (an activation added and removed again is in neither)."""
        added: dict = {}
        removed: list = []
        for fact in deleting or ():
            for compiled, position in self._entries(fact):
                if position < 0:
                    self._unblock(compiled, added)
                else:
                    self._forget(compiled, position, fact, added, removed)
        entries, join, index = self._entries, self._join, self._index
        for fact in adding or ():
            tables = index.get(fact.__class__)
            if not tables:
                continue
            if len(tables) == 1:  # the usual case, inline: one set of tested fields
                try:
                    found = tables[0][2].get(tables[0][1](fact), ())
                except (KeyError, TypeError):
                    continue
            else:
                found = entries(fact)
            for compiled, position in found:
                if compiled.simple:  # one condition, no NOT: nothing to join or keep (inline: the usual case)
                    bind = compiled.binds[0]
                    added[
                        IndexedActivation(
                            compiled.rule,
                            (fact,),
                            {} if bind is None else {bind: fact},
                            compiled.order,
                            compiled.action,
                        )
                    ] = None
                elif position < 0:
                    self._block(compiled, added, removed)
                else:
                    join(compiled, position, fact, added)
        return list(added), removed

    def _entries(self, fact) -> list:
        """The (rule, position) of every pattern ``fact`` matches."""
        tables = self._index.get(fact.__class__)
        if not tables:
            return []
        if len(tables) == 1:
            _names, getter, table = tables[0]
            try:
                return table.get(getter(fact), [])
            except (KeyError, TypeError):  # a missing or unhashable field matches nothing
                return []
        found = []
        for _names, getter, table in tables:
            try:
                found.extend(table.get(getter(fact), ()))
            except (KeyError, TypeError):
                continue
        return found

    def _join(self, compiled: _Compiled, position: int, fact, added: dict) -> None:
        if compiled.epoch is not self._epoch:
            compiled.renew(self._epoch)
            self._touched.append(compiled)
        memory = compiled.memory
        column = memory[position]
        if column is None:
            memory[position] = [fact]
        else:
            column.append(fact)
        if compiled.blocked:
            return
        if compiled.width == 1:
            self._activate(compiled, ((fact,),), added)
            return
        columns = [(fact,) if p == position else memory[p] for p in range(compiled.width)]
        if all(columns):
            self._spend(compiled, columns)
            self._activate(compiled, product(*columns), added)

    def _spend(self, compiled: _Compiled, columns: list) -> None:
        """Count the activations a join is about to make, before making them.

        A rule is active once for every choice of one matching fact per
        condition, so a rule of ``n`` conditions on multi-valued concepts
        answered with two states each has ``2**n`` activations: a short rule
        file could fill memory with them. Each activation of a rule without
        ``not`` is a firing to come (unless a rule halts the run first), so
        once a run's joins have made more activations than the firing limit
        allows, the run cannot finish: it stops here, before the product is
        built, rather than after filling memory.
        """
        count = 1
        for column in columns:
            count *= len(column)
        self._made += count
        if self._made > self.budget:
            raise TooManyCombinations(_rule_id(compiled.rule), count, len(columns), self.limit)
        # every combination past the first is a route of its own, whose facts
        # the case keeps and the explanations lay out
        self._route_facts += (count - 1) * len(columns)
        if self._route_facts > MAX_ROUTE_FACTS:
            raise TooManyCombinations(_rule_id(compiled.rule), count, len(columns), None)

    @staticmethod
    def _activate(compiled: _Compiled, combinations: Iterable[tuple], added: dict) -> None:
        binds, rule, order, action = compiled.binds, compiled.rule, compiled.order, compiled.action
        live = compiled.live if compiled.negated else None
        for facts in combinations:
            context = {name: fact for name, fact in zip(binds, facts, strict=True) if name is not None}
            activation = IndexedActivation(rule, facts, context, order, action)
            if live is not None:
                live.append(activation)
            added[activation] = None

    def _block(self, compiled: _Compiled, added: dict, removed: list) -> None:
        if compiled.epoch is not self._epoch:
            compiled.renew(self._epoch)
            self._touched.append(compiled)
        compiled.blocked += 1
        if compiled.blocked == 1:
            for activation in compiled.live:
                if activation in added:
                    del added[activation]
                else:
                    removed.append(activation)  # already fired, or waiting on the agenda
            compiled.live = []

    def _unblock(self, compiled: _Compiled, added: dict) -> None:
        compiled.blocked -= 1
        if compiled.blocked == 0 and all(compiled.memory):
            self._spend(compiled, compiled.memory)
            self._activate(compiled, product(*compiled.memory), added)

    def _forget(self, compiled: _Compiled, position: int, fact, added: dict, removed: list) -> None:
        """Take back what ``fact``, retracted, gave ``compiled`` at ``position``."""
        if compiled.epoch is self._epoch:
            column = compiled.memory[position] or []
            compiled.memory[position] = [f for f in column if f is not fact] or None
            compiled.live = [a for a in compiled.live if a.facts[position] is not fact]

        def gone(activation) -> bool:
            return activation.rule is compiled.rule and activation.facts[position] is fact

        for activation in [a for a in added if gone(a)]:
            del added[activation]
        # activations not yet fired are on the agenda; those fired are spent
        removed.extend(a for a in self.engine.agenda.activations if gone(a))


def _no_fields(_fact) -> tuple:
    return ()


class OrderedAgenda(experta.agenda.Agenda):
    """experta's agenda (``activations`` in order, the next to fire last),
    with the sort keys kept beside it so that finding a place is a bisection
    over plain tuples. :class:`DepthOrder` inserts into both lists (in its
    loop, where it runs once per activation); the engine's ``run`` takes
    the next activation from both."""

    def __init__(self):
        super().__init__()
        self._keys: list = []

    def remove(self, activation) -> None:
        index = bisect.bisect_left(self._keys, activation.key)
        if index < len(self.activations) and self.activations[index] is activation:
            del self._keys[index]
            del self.activations[index]

    def get_next(self):
        if not self.activations:
            return None
        self._keys.pop()
        return self.activations.pop()


class DepthOrder(experta.abstract.Strategy):
    """experta's depth strategy, made a total order.

    The next activation to fire is the one with

    1. the highest salience (cofactor: the lowest stratum of ``not``);
    2. then the most recent facts: the ids of its facts (a rule that begins
       with ``NOT`` counts experta's initial fact, id 0), newest first,
       compared as sequences, exactly as experta's ``DepthStrategy``;
    3. then the rule that comes first among the engine's rules (cofactor
       sorts rules by id);
    4. then the newest facts in condition order (two activations of one rule
       on the same facts in different places).

    Stock experta leaves ties after 2 to hash order, which differs from one
    process to the next.
    """

    def update_agenda(self, agenda, added, removed):
        # experta's version first asks its watchers whether to log; this
        # engine does not log activations
        self._update_agenda(agenda, added, removed)

    def _update_agenda(self, agenda, added, removed):
        if len(removed) > _MERGE_FROM:
            self._drop(agenda, removed)
        else:
            for activation in removed:
                agenda.remove(activation)
        if len(added) > _MERGE_FROM:
            self._merge(agenda, added)
            return
        keys, activations = agenda._keys, agenda.activations
        for activation in added:
            key = _depth_key(activation)
            index = bisect.bisect_left(keys, key)
            keys.insert(index, key)
            activations.insert(index, activation)

    # Many activations at once (a rule matching many combinations, or one
    # blocked by a ``not``) are merged into the agenda, or taken out of it,
    # in one pass, rather than one by one: a list insertion or deletion moves
    # everything after it, so one at a time would be quadratic.

    @staticmethod
    def _merge(agenda, added) -> None:
        pairs = list(zip(agenda._keys, agenda.activations, strict=True))
        for activation in added:
            pairs.append((_depth_key(activation), activation))
        # a sort on the keys alone (two activations never have the same key),
        # which finds the agenda already in order and merges the new run in
        pairs.sort(key=itemgetter(0))
        agenda._keys = [key for key, _ in pairs]
        agenda.activations = [activation for _, activation in pairs]

    @staticmethod
    def _drop(agenda, removed) -> None:
        gone = set(removed)  # activations hash by identity
        kept = [(key, a) for key, a in zip(agenda._keys, agenda.activations, strict=True) if a not in gone]
        agenda._keys = [key for key, _ in kept]
        agenda.activations = [activation for _, activation in kept]


_MERGE_FROM = 64  # activations added or removed at once from which one pass beats one at a time


def _depth_key(activation) -> tuple:
    """An activation's place on the agenda (see :class:`DepthOrder`), kept on
    it: (salience, recency, -position, ids)."""
    facts = activation.facts
    if len(facts) == 1:
        ids = recency = (facts[0]["__factid__"],)
    else:
        ids = tuple([fact["__factid__"] for fact in facts])
        recency = tuple(sorted(set(ids), reverse=True))
    key = activation.key = (activation.rule.salience, recency, -activation.order, ids)
    return key


class ScalingEngine(experta.KnowledgeEngine):
    """An experta ``KnowledgeEngine`` with the matcher, strategy, agenda and
    fact list above. Its rules are the ``Rule`` attributes of its class, in
    the order they were defined, found without ``inspect`` (which scans every
    attribute, and binds each rule to the last engine that looked).

    ``run`` is experta's loop without its per-firing log line (built even
    when nobody listens) and context copy; ``reset`` declares experta's
    initial fact only: this engine has no ``DefFacts``.

    ``datum(fact)`` is the experta fact for one of the engine's facts, made
    once and used in every run: nothing in this engine hashes a fact or
    keeps one past a reset (the fact list keys on concept and state, the
    matcher works by identity), and each declaration gives it its new id.
    """

    __matcher__ = IndexedMatcher
    __strategy__ = DepthOrder

    def __init__(self):
        super().__init__()
        self.datum = _Datums().__getitem__

    def get_rules(self):
        rules: list[experta.Rule] = []
        for cls in reversed(type(self).__mro__):
            rules.extend(v for v in vars(cls).values() if isinstance(v, experta.Rule))
        return rules

    def get_deffacts(self):
        return []

    def reset(self, **kwargs):
        self.agenda = OrderedAgenda()
        self.facts = IndexedFactList()
        self.matcher.reset()
        self.running = False
        self.declare(experta.fact.InitialFact())

    def run(self, steps=float("inf")):
        """Fire activations, next first, until the agenda is empty, ``steps``
        rules have fired, or a rule calls ``halt()``.

        experta's loop, step for step, with the calls that only pass things
        on taken inline: the fact list's changes, the strategy's update, the
        agenda's next activation, and the rule's own function (which
        ``Rule.__call__`` would call with the same arguments).
        """
        self.running = True
        changes, update = self.matcher.changes, self.strategy._update_agenda
        while steps > 0 and self.running:
            facts = self.facts
            if facts.added or facts.removed:
                adding, deleting = facts.added, facts.removed
                facts.added, facts.removed = [], []
                added, removed = changes(adding, deleting)
                if added or removed:
                    update(self.agenda, added, removed)
            agenda = self.agenda
            if not agenda.activations:
                break
            agenda._keys.pop()
            activation = agenda.activations.pop()
            steps -= 1
            activation.action(self, **activation.context)
        self.running = False

    def declare(self, *facts):
        """As experta's ``declare``, without its per-fact scan for field
        constraints and ``__`` keys: the facts declared here are built by
        this module (see :meth:`_Datum.of`)."""
        last = None
        for fact in facts:
            last = self.facts.declare(fact)
        if not self.running:
            added, removed = self.get_activations()
            self.strategy.update_agenda(self.agenda, added, removed)
        return last


# ---------------------------------------------------------------------------
# A knowledge base, compiled
# ---------------------------------------------------------------------------

Waiting = tuple[tuple[Rule, tuple[Fact, ...]], ...]
OnFire = Callable[..., Iterable[Fact]]  # (rule, matched[, waiting]) -> facts to declare


def compile_rules(kb: KnowledgeBase) -> dict[str, object]:
    """The knowledge base's rules as experta ``Rule`` objects, in order.

    A condition ``concept in [a, b]`` is one pattern whose state is
    ``L(a) | L(b)``; a ``not`` condition is ``NOT(pattern)``; a rule's
    salience is minus its stratum, so that ``not`` is tested only after
    everything that could conclude its fact has fired. A firing calls the
    engine's ``_cofactor_on_fire(rule, facts)`` with the matched facts in
    condition order, and declares the facts it returns.
    """
    return {
        f"rule_{index}": _compile_rule(index, rule, kb.strata.get(rule.id, 0)) for index, rule in enumerate(kb.rules)
    }


class _Firing(Protocol):
    """A rule's function as compiled here: called with the engine and the
    matched facts, and carrying the rule it was compiled from (read back from
    experta's ``Rule._wrapped`` by :func:`_waiting`)."""

    __name__: str
    cofactor_index: int
    cofactor_rule: Rule

    def __call__(self, engine: Any, **matched: Any) -> None: ...


def _compile_rule(index: int, rule: Rule, stratum: int):
    patterns = []
    bound = []
    for position, cond in enumerate(rule.when):
        # ``L(a) | L(b) | ...`` is built in one go: experta's ``|`` copies
        # the alternatives so far at every step (quadratic in states)
        state = cond.states[0] if len(cond.states) == 1 else _ORFC(*[experta.L(s) for s in cond.states])
        pattern = _Datum.pattern(cond.concept, state)
        if cond.negated:
            patterns.append(experta.NOT(pattern))
        else:
            name = f"m{position}"
            bound.append(name)
            patterns.append(name << pattern)
    names = tuple(bound)
    if len(names) == 1:
        name = names[0]

        def fire(engine, **matched):
            new = engine._cofactor_on_fire(rule, (matched[name]["__model__"],))
            if new:
                engine.declare(*map(engine.datum, new))
    else:

        def fire(engine, **matched):
            new = engine._cofactor_on_fire(rule, tuple([matched[n]["__model__"] for n in names]))
            if new:
                engine.declare(*map(engine.datum, new))

    tagged = cast(_Firing, fire)
    tagged.cofactor_index = index
    tagged.cofactor_rule = rule
    tagged.__name__ = rule.id
    return _decorate(experta.Rule(*patterns, salience=-stratum), fire)


def _decorate(rule, function):
    """``rule(function)``, as experta's ``Rule.__call__`` does it for a
    function that takes ``**kwargs`` (every function compiled here), without
    its ``inspect.signature`` (half of compiling a rule): the function gets
    every bound name, so ``_wrapped_args`` stays empty."""
    rule._wrapped = function
    return update_wrapper(rule, function)


class CompiledKnowledgeBase:
    """A knowledge base turned into one experta engine, built once."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._engine_class = type("CompiledRules", (ScalingEngine,), compile_rules(kb))
        self._engine = self._engine_class()
        self._engine._cofactor_on_fire = None

    def run(self, answers: Iterable[Fact], on_fire: OnFire, *, limit: int, agenda: bool = False) -> None:
        """Reset, declare ``answers`` (in the order given), run to the end.

        ``on_fire(rule, matched)`` is called for every firing and returns the
        facts to declare; with ``agenda``, it is called as ``on_fire(rule,
        matched, waiting)``, ``waiting`` being the rest of the agenda at that
        moment, next to fire first. Raises :class:`ReasoningError` subclasses
        from the callback unchanged, and wraps anything experta raises.
        """
        engine = self._engine
        engine.matcher.limit = limit
        engine.matcher.budget = max(limit, COMBINATION_FLOOR) + 1
        if agenda:
            engine._cofactor_on_fire = lambda rule, matched: on_fire(rule, matched, _waiting(engine))
        else:
            engine._cofactor_on_fire = on_fire
        try:
            engine.reset()
            facts = [engine.datum(f) for f in answers]
            if facts:
                engine.declare(*facts)
            engine.run(limit + 1)
        except ReasoningError:
            raise
        except Exception as exc:  # experta's own failures, translated
            raise ReasoningError(f"the experta engine failed: {type(exc).__name__}: {exc}") from exc
        finally:
            engine.running = False
            engine._cofactor_on_fire = None
            # every run starts from a reset: what the matcher holds for this
            # one is released now rather than at the next reset, so it is
            # never there for the garbage collector to walk
            engine.matcher.reset()


def _waiting(engine) -> Waiting:
    """The activations still on experta's agenda, next to fire first."""
    out = []
    for activation in reversed(engine.agenda.activations):
        facts = tuple(sorted(f["__model__"] for f in activation.facts if isinstance(f, _Datum)))
        out.append((activation.rule._wrapped.cofactor_rule, facts))
    return tuple(out)
