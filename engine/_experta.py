"""The only module that talks to experta.

It does three things, and the rest of the engine sees none of experta:

1. makes experta 1.9.4 importable on Python >= 3.10 (see ``_import_experta``);
2. compiles a knowledge base, once, into a ``KnowledgeEngine`` subclass whose
   rules are the knowledge base's rules;
3. runs a case and reports every firing: the rule and the exact facts it
   matched, in the order experta fired them.

What a firing adds to working memory is decided by the caller (the
``on_fire`` callback returns the facts to declare), so the policy of the
reasoner (answers are never overridden, for one) lives outside this module.
"""

from __future__ import annotations

import collections
import collections.abc
import logging
from typing import Callable, Iterable

from .errors import ReasoningError
from .model import Fact, KnowledgeBase, Rule

# The names that frozendict 1.2 (pinned by experta 1.9.4) and experta itself
# still look up on ``collections``; Python 3.10 removed these aliases.
_ABC_ALIASES = (
    "Callable", "Container", "Hashable", "ItemsView", "Iterable", "Iterator",
    "KeysView", "Mapping", "MappingView", "MutableMapping", "MutableSequence",
    "MutableSet", "Sequence", "Set", "Sized", "ValuesView",
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
    import experta.matchers  # noqa: F401,PLC0415
    import experta.strategies  # noqa: PLC0415

    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    quiet = logging.getLogger("experta")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    return experta


experta = _import_experta()


class _Datum(experta.Fact):
    """A fact in experta's working memory: ``concept`` and ``state``."""


class _OrderedStrategy(experta.strategies.DepthStrategy):
    """experta's depth strategy with a total order.

    Stock experta breaks ties between activations of equal salience and equal
    fact recency by hash order, which differs from one process to the next;
    we break them by the rule's position in the (id-sorted) knowledge base,
    so a case always fires in the same order.
    """

    def get_key(self, activation):
        salience, facts = super().get_key(activation)
        return (salience, facts, -activation.rule._wrapped.cofactor_index)


Waiting = tuple[tuple[Rule, tuple[Fact, ...]], ...]
OnFire = Callable[[Rule, tuple[Fact, ...], Waiting], Iterable[Fact]]


class CompiledKnowledgeBase:
    """A knowledge base turned into one experta engine, built once."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        attributes = {"__strategy__": _OrderedStrategy}
        for index, rule in enumerate(kb.rules):
            attributes[f"rule_{index}"] = self._compile_rule(index, rule, kb.strata.get(rule.id, 0))
        self._engine_class = type("CompiledRules", (experta.KnowledgeEngine,), attributes)
        self._engine = self._engine_class()
        self._engine._cofactor_on_fire = None

    @staticmethod
    def _compile_rule(index: int, rule: Rule, stratum: int):
        patterns = []
        bound = []
        for position, cond in enumerate(rule.when):
            if len(cond.states) == 1:
                state = cond.states[0]
            else:
                state = experta.L(cond.states[0])
                for other in cond.states[1:]:
                    state = state | experta.L(other)
            pattern = _Datum(concept=cond.concept, state=state)
            if cond.negated:
                patterns.append(experta.NOT(pattern))
            else:
                name = f"m{position}"
                bound.append(name)
                patterns.append(name << pattern)

        def fire(engine, **matched):
            facts = tuple(Fact(matched[n]["concept"], matched[n]["state"]) for n in bound)
            engine._cofactor_on_fire(rule, facts)

        fire.cofactor_index = index
        fire.cofactor_rule = rule
        fire.__name__ = rule.id
        # Negated conditions are only tested once everything that could
        # conclude their facts has fired: lower strata fire first.
        return experta.Rule(*patterns, salience=-stratum)(fire)

    def run(self, answers: Iterable[Fact], on_fire: OnFire, *, limit: int, agenda: bool = False) -> None:
        """Reset, declare ``answers`` (in the order given), run to the end.

        ``on_fire(rule, matched, waiting)`` is called for every firing and
        returns the facts to declare; ``waiting`` is the rest of the agenda
        at that moment, next to fire first (only when ``agenda`` is asked
        for; empty otherwise). Raises :class:`ReasoningError` subclasses
        from the callback unchanged, and wraps anything experta raises.
        """
        engine = self._engine

        def record(rule: Rule, matched: tuple[Fact, ...]):
            waiting = _waiting(engine) if agenda else ()
            new = [_Datum(concept=f.concept, state=f.state) for f in on_fire(rule, matched, waiting)]
            if new:
                engine.declare(*new)

        engine._cofactor_on_fire = record
        try:
            engine.reset()
            facts = [_Datum(concept=f.concept, state=f.state) for f in answers]
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


def _waiting(engine) -> Waiting:
    """The activations still on experta's agenda, next to fire first."""
    out = []
    for activation in reversed(engine.agenda.activations):
        facts = tuple(sorted(Fact(f["concept"], f["state"]) for f in activation.facts if isinstance(f, _Datum)))
        out.append((activation.rule._wrapped.cofactor_rule, facts))
    return tuple(out)
