"""Explanations built from a reasoned case: how a fact was reached."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Fact, Rule, Strength
from .reasoning import Case


@dataclass
class Route:
    """One rule that concluded a fact, with its premises explained in turn."""

    rule: Rule
    strength: Strength  # this route's own strength: its weakest link
    premises: list["Node"]

    def as_json(self) -> dict:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "rule_strength": self.rule.strength.label,
            "strength": self.strength.label,
            "sources": [s.as_json() for s in self.rule.sources],
            "premises": [p.as_json() for p in self.premises],
        }


@dataclass
class Node:
    """A fact in a ``how`` tree.

    ``loop`` is set when the fact is already being explained further up the
    same branch: the explanation has come round a loop and stops there.
    ``see_above`` is set when the fact was fully explained earlier in the
    tree (two routes meeting again), to keep the tree finite and readable.
    """

    fact: Fact
    label: str
    strength: Strength | None
    given: bool
    routes: list[Route] = field(default_factory=list)
    loop: list[Fact] | None = None
    see_above: bool = False

    def as_json(self) -> dict:
        out = {
            "concept": self.fact.concept,
            "state": self.fact.state,
            "label": self.label,
            "strength": self.strength.label if self.strength else None,
            "given": self.given,
            "derivations": [r.as_json() for r in self.routes],
        }
        if self.loop:
            out["loop"] = [f.as_json() for f in self.loop]
        if self.see_above:
            out["see_above"] = True
        return out


def how(case: Case, fact: Fact) -> Node | None:
    """The derivation tree of ``fact``, or None when the case does not hold it.

    Every justification that holds is shown; a fact met again on its own
    branch is marked as a loop, and one already explained elsewhere in the
    tree is marked "see above" instead of being repeated. An answer is a
    leaf, except that a rule re-deriving it from a fact on the same branch
    is shown: that is where the explanation comes round a loop.
    """
    if fact not in case.support:
        return None
    expanded: set[Fact] = set()

    def build(f: Fact, path: list[Fact]) -> Node:
        support = case.support[f]
        node = Node(f, case.kb.label(f), support.strength, support.given)
        if f in path:
            node.loop = path[path.index(f):] + [f]
            return node
        if support.given:
            # An answer needs no derivation; a rule that reaches it again is
            # only worth showing where it closes a loop on this branch.
            for just in support.justifications:
                if any(p in path for p in just.premises):
                    premises = [build(p, path + [f]) if p in path else _leaf(p) for p in just.premises]
                    node.routes.append(Route(just.rule, _weakest(case, just), premises))
            return node
        if f in expanded and support.justifications:
            node.see_above = True
            return node
        expanded.add(f)
        for just in support.justifications:
            premises = [build(p, path + [f]) for p in just.premises]
            node.routes.append(Route(just.rule, _weakest(case, just), premises))
        return node

    def _leaf(p: Fact) -> Node:
        support = case.support[p]
        return Node(p, case.kb.label(p), support.strength, support.given, see_above=not support.given)

    return build(fact, [])


def _weakest(case: Case, just) -> Strength:
    return min([just.rule.strength, *(case.support[p].strength for p in just.premises)])


def weakest_link(case: Case, fact: Fact) -> Rule | None:
    """The weakest rule along the strongest route to ``fact``."""
    support = case.support.get(fact)
    if support is None or support.given:
        return None
    best = None
    for just in support.justifications:
        weakest = min([just.rule.strength, *(case.support[p].strength for p in just.premises)])
        if weakest == support.strength:
            best = just
            break
    if best is None:
        return None
    if best.rule.strength == support.strength:
        return best.rule
    for premise in best.premises:
        if case.support[premise].strength == support.strength:
            return weakest_link(case, premise)
    return best.rule
