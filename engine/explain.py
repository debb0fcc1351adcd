"""Explanations built from a reasoned case: how a fact was reached."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Condition, Fact, Loop, Rule, Strength
from .reasoning import Case, route_strength


@dataclass
class Route:
    """One rule that concluded a fact, with its premises explained in turn."""

    rule: Rule
    strength: Strength  # this route's own strength: its weakest link
    premises: list[Node]

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
    loop_name: str = ""
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
            out["loop_name"] = self.loop_name or None
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
            node.loop = path[path.index(f) :] + [f]
            named = case.kb.loop_through({x.concept for x in node.loop})
            node.loop_name = named.title if named else ""
            return node
        if support.given:
            # An answer needs no derivation; a rule that reaches it again is
            # only worth showing where it closes a loop on this branch.
            for just in support.justifications:
                if any(p in path for p in just.premises):
                    premises = [build(p, path + [f]) if p in path else _leaf(p) for p in just.premises]
                    node.routes.append(Route(just.rule, route_strength(case.support, just), premises))
            return node
        if f in expanded and support.justifications:
            node.see_above = True
            return node
        expanded.add(f)
        for just in support.justifications:
            premises = [build(p, path + [f]) for p in just.premises]
            node.routes.append(Route(just.rule, route_strength(case.support, just), premises))
        return node

    def _leaf(p: Fact) -> Node:
        support = case.support[p]
        return Node(p, case.kb.label(p), support.strength, support.given, see_above=not support.given)

    return build(fact, [])


# ---------------------------------------------------------------------------
# why (at a prompt): the chain from a question up toward the outcomes
# ---------------------------------------------------------------------------


@dataclass
class Link:
    """One step of a why chain: a rule, what it needs and what it concludes."""

    rule: Rule
    needs: list[Fact]  # facts from the level below that this rule uses
    concludes: list[Fact]
    negated: bool = False  # the answer can only rule this rule out (through 'not')
    loop: Loop | None = None  # set when a conclusion comes back to the question

    def as_json(self) -> dict:
        out = {
            "rule": self.rule.id,
            "title": self.rule.title,
            "strength": self.rule.strength.label,
            "when": [str(c) for c in self.rule.when],
            "needs": [f.as_json() for f in self.needs],
            "concludes": [f.as_json() for f in self.concludes],
            "sources": [s.as_json() for s in self.rule.sources],
        }
        if self.loop:
            out["loop"] = self.loop.title
        if self.negated:
            out["rules_out"] = True
        return out


def why_levels(case: Case, concept_id: str, live_rules) -> list[list[Link]]:
    """The levels a question's answer climbs through, MYCIN-style.

    Level 1 holds the rules that use the answer directly; level n+1 the
    rules that use what level n concludes, each rule once, until nothing
    further depends on them. ``live_rules(concept)`` gives the rules still
    open for a concept, so that decided or blocked routes are left out.
    """
    kb = case.kb
    levels: list[list[Link]] = []
    shown: set[str] = set()
    frontier: set[Fact] = {Fact(concept_id, s) for s in kb.concepts[concept_id].states}
    chain_concepts = {concept_id}
    while frontier:
        level = []
        concepts = sorted({f.concept for f in frontier})
        for concept in concepts:
            for rule in live_rules(concept):
                if rule.id in shown:
                    continue
                needs = [f for c in rule.when if not c.negated for f in c.facts() if f in frontier]
                if not needs:
                    # Only a 'not' condition uses it: the answer can rule this
                    # rule out, but nothing climbs from there.
                    if levels or not any(c.negated and c.concept == concept for c in rule.when):
                        continue
                    level.append(Link(rule, [], list(rule.then), negated=True))
                    continue
                shown.add(rule.id)
                link = Link(rule, needs, list(rule.then))
                back = {f.concept for f in rule.then} & chain_concepts
                if concept_id in back:
                    link.loop = kb.loop_through(chain_concepts | back) or _unnamed_loop(chain_concepts)
                level.append(link)
        if not level:
            break
        level.sort(key=lambda lk: (lk.negated, _kind_rank(kb, lk.concludes), lk.rule.id))
        levels.append(level)
        chain_concepts |= {f.concept for link in level if not link.negated for f in link.concludes}
        frontier = {f for link in level if not link.negated for f in link.concludes if f.concept != concept_id}
    return levels


def _kind_rank(kb, facts) -> int:
    order = {"mechanism": 0, "outcome": 1, "advice": 2}
    return min((order.get(kb.concepts[f.concept].kind, 3) for f in facts), default=3)


def _unnamed_loop(concepts) -> Loop:
    return Loop("", "a loop", tuple(sorted(concepts)))


# ---------------------------------------------------------------------------
# why-not: for each rule that could conclude a fact, what failed
# ---------------------------------------------------------------------------


@dataclass
class ConditionCheck:
    condition: Condition
    holds: bool
    status: str  # holds | answered_otherwise | not_answered | unknown | not_concluded | present
    known: list[Fact]  # what is known of the concept
    below: list[RuleCheck] = field(default_factory=list)  # for not_concluded: why not, one level down
    loop: bool = False  # the recursion came back to a fact being explained
    loop_name: str = ""
    see_above: bool = False

    def as_json(self) -> dict:
        out = {
            "condition": str(self.condition),
            "holds": self.holds,
            "status": self.status,
            "known": [f.as_json() for f in self.known],
        }
        if self.below:
            out["why_not"] = [r.as_json() for r in self.below]
        if self.loop:
            out["loop"] = True
            out["loop_name"] = self.loop_name or None
        if self.see_above:
            out["see_above"] = True
        return out


@dataclass
class RuleCheck:
    rule: Rule
    conditions: list[ConditionCheck]

    def as_json(self) -> dict:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "strength": self.rule.strength.label,
            "conditions": [c.as_json() for c in self.conditions],
        }


def why_not(case: Case, fact: Fact) -> list[RuleCheck]:
    """For each rule that could conclude ``fact``: each condition, whether it
    holds, and if not why not, recursively down to the answers."""
    explained: set[Fact] = set()

    def rules_for(target: Fact, path: list[Fact]) -> list[RuleCheck]:
        explained.add(target)
        return [
            RuleCheck(rule, [check(c, path + [target]) for c in rule.when]) for rule in case.kb.rules_concluding(target)
        ]

    def check(cond: Condition, path: list[Fact]) -> ConditionCheck:
        concept = case.kb.concepts[cond.concept]
        known = sorted(
            (f for f in case.known if f.concept == cond.concept), key=lambda f: concept.states.index(f.state)
        )
        holds = cond.holds(case.known)
        if cond.negated:
            return ConditionCheck(cond, holds, "holds" if holds else "present", known)
        if holds:
            return ConditionCheck(cond, True, "holds", known)
        if cond.concept in case.answers.given:
            return ConditionCheck(cond, False, "answered_otherwise", known)
        derivable = [f for f in cond.facts() if case.kb.rules_concluding(f)]
        status = "not_concluded"
        if concept.is_question and not derivable:
            status = "unknown" if cond.concept in case.answers.unknown else "not_answered"
        elif concept.is_question and cond.concept in case.answers.unknown:
            status = "unknown"
        elif concept.is_question:
            status = "not_answered"
        result = ConditionCheck(cond, False, status, known)
        for target in derivable:
            if target in path:
                result.loop = True
                around = {f.concept for f in path[path.index(target) :]}
                named = case.kb.loop_through(around)
                result.loop_name = named.title if named else ""
            elif target in explained:
                result.see_above = True
            else:
                result.below.extend(rules_for(target, path))
        return result

    return rules_for(fact, [])


def conflict_json(case: Case, conflict) -> dict:
    """A conflict with the full derivation tree of each side."""
    data = conflict.as_json()
    for side, out in zip(conflict.sides, data["sides"], strict=True):
        if side.blocked:
            out["trees"] = [
                {"rule": j.rule.id, "premises": [how(case, p).as_json() for p in j.premises]}
                for j in side.justifications
            ]
        else:
            out["tree"] = how(case, Fact(conflict.concept, side.state)).as_json()
    return data
