"""Explanations as data: how a fact was reached, why a question is asked,
why a fact was not reached, and what a case's firings were.

Each function here builds one immutable structure from a reasoned case; the
renderers (:mod:`.render_text`, :mod:`.render_json`) only lay these out, so
every format says the same thing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .answers import Answers, find_concept, find_fact
from .errors import AnswerError
from .loops import closes_loop, loops_met
from .model import DERIVED_KINDS, Condition, Fact, KnowledgeBase, Loop, Rule, Strength, Tension
from .reasoning import Case, Conflict, ConflictSide, Reasoner, Step, route_strength

# ---------------------------------------------------------------------------
# how: the derivation tree of a fact
# ---------------------------------------------------------------------------


class Route(NamedTuple):
    """One rule that concluded a fact, with its premises explained in turn."""

    rule: Rule
    strength: Strength  # this route's own strength: its weakest link
    premises: tuple[Node, ...]


class Node(NamedTuple):
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
    routes: tuple[Route, ...] = ()
    loop: tuple[Fact, ...] = ()
    loop_name: str = ""
    see_above: bool = False


class Weakest(NamedTuple):
    """A conclusion's strength and the weakest rule on its strongest route."""

    strength: Strength
    rule: Rule


class SideTrees(NamedTuple):
    """One side of a conflict with its derivations as trees: an added side's
    own tree, or, for a side kept out by an answer, each rule that reached
    it with the trees of its premises."""

    side: ConflictSide
    tree: Node | None
    blocked_routes: tuple[tuple[Rule, tuple[Node, ...]], ...]


class How(NamedTuple):
    """``how CONCEPT=STATE``: the tree, the weakest link, and the conflict on
    the fact's concept, if any."""

    fact: Fact
    answers: Answers
    tree: Node | None  # None: the case does not hold the fact
    weakest: Weakest | None
    conflict: Conflict | None
    conflict_trees: tuple[SideTrees, ...]
    # where the sources differ on a rule of the tree or of the conflict's trees
    tensions: tuple[Tension, ...] = ()

    @property
    def holds(self) -> bool:
        return self.tree is not None

    @property
    def given(self) -> bool:
        return self.tree is not None and self.tree.given


def how_tree(case: Case, fact: Fact) -> Node | None:
    """The derivation tree of ``fact``, or None when the case does not hold it.

    Every justification that holds is shown; a fact met again on its own
    branch is marked as a loop, and one already explained elsewhere in the
    tree is marked "see above" instead of being repeated. An answer is a
    leaf, except that a rule re-deriving it from a fact on the same branch
    is shown: that is where the explanation comes round a loop.

    Built depth first with an explicit stack, not by recursion: a chain of
    rules may be thousands of links long.
    """
    if fact not in case.support:
        return None
    kb = case.kb
    support_of = case.support
    expanded: set[Fact] = set()
    path: list[Fact] = []  # the facts being expanded, from the root down
    on_path: dict[Fact, int] = {}  # each one's place in ``path``

    def loop_node(f: Fact, loop: tuple[Fact, ...]) -> Node:
        support = support_of[f]
        named = kb.loop_through({x.concept for x in loop})
        return Node(f, kb.label(f), support.strength, support.given, loop=loop, loop_name=named.title if named else "")

    def settled(f: Fact) -> Node | None:
        """The node of ``f`` when it needs no expanding below it, else None."""
        support = support_of[f]
        if f in on_path:
            return loop_node(f, (*path[on_path[f] :], f))
        if support.given:
            # An answer needs no derivation; a rule that reaches it again is
            # only worth showing where it closes a loop on this branch.
            routes = []
            for just in support.justifications:
                if not any(p in on_path for p in just.premises):
                    continue
                premises = []
                for p in just.premises:
                    if p in on_path:
                        premises.append(loop_node(p, (*path[on_path[p] :], f, p)))
                    else:
                        ps = support_of[p]
                        premises.append(Node(p, kb.label(p), ps.strength, ps.given, see_above=not ps.given))
                routes.append(Route(just.rule, route_strength(support_of, just), tuple(premises)))
            return Node(f, kb.label(f), support.strength, True, tuple(routes))
        if f in expanded and support.justifications:
            return Node(f, kb.label(f), support.strength, False, see_above=True)
        return None

    class _Frame:
        __slots__ = ("fact", "justs", "route", "premise", "routes", "premises")

        def __init__(self, f: Fact):
            self.fact = f
            self.justs = support_of[f].justifications
            self.route = 0  # the justification being built
            self.premise = 0  # its premise being built
            self.routes: list[Route] = []
            self.premises: list[Node] = []

    def enter(f: Fact) -> _Frame:
        expanded.add(f)
        on_path[f] = len(path)
        path.append(f)
        return _Frame(f)

    top = settled(fact)
    if top is not None:
        return top
    stack = [enter(fact)]
    while True:
        frame = stack[-1]
        child = None
        while frame.route < len(frame.justs):
            just = frame.justs[frame.route]
            while frame.premise < len(just.premises):
                p = just.premises[frame.premise]
                node = settled(p)
                if node is None:
                    child = p
                    break
                frame.premises.append(node)
                frame.premise += 1
            if child is not None:
                break
            frame.routes.append(Route(just.rule, route_strength(support_of, just), tuple(frame.premises)))
            frame.premises = []
            frame.premise = 0
            frame.route += 1
        if child is not None:
            stack.append(enter(child))
            continue
        stack.pop()
        path.pop()
        del on_path[frame.fact]
        f = frame.fact
        done = Node(f, kb.label(f), support_of[f].strength, False, tuple(frame.routes))
        if not stack:
            return done
        stack[-1].premises.append(done)
        stack[-1].premise += 1


def weakest(case: Case, fact: Fact) -> Weakest | None:
    support = case.support.get(fact)
    if support is None or support.weakest is None:
        return None
    return Weakest(support.strength, support.weakest)


def conflict_on(case: Case, concept: str) -> Conflict | None:
    """The case's conflict on ``concept``, if there is one."""
    return next((c for c in case.conflicts if c.concept == concept), None)


def conflict_trees(case: Case, conflict: Conflict) -> tuple[SideTrees, ...]:
    sides = []
    for side in conflict.sides:
        if side.blocked:
            routes = tuple((j.rule, tuple(_tree(case, p) for p in j.premises)) for j in side.justifications)
            sides.append(SideTrees(side, None, routes))
        else:
            sides.append(SideTrees(side, how_tree(case, Fact(conflict.concept, side.state)), ()))
    return tuple(sides)


def _tree(case: Case, fact: Fact) -> Node:
    node = how_tree(case, fact)
    if node is None:  # a premise of a recorded firing always holds
        raise LookupError(f"{fact} is a premise but does not hold")
    return node


def how(case: Case, fact: Fact) -> How:
    conflict = conflict_on(case, fact.concept)
    tree = how_tree(case, fact)
    sides = conflict_trees(case, conflict) if conflict else ()
    trees = [tree, *(side.tree for side in sides)]
    used = [rule for side in sides for rule, _ in side.blocked_routes]
    for side in sides:
        for _, premises in side.blocked_routes:
            trees.extend(premises)
    return How(
        fact,
        case.answers,
        tree,
        weakest(case, fact),
        conflict,
        sides,
        tree_tensions(case.kb, trees, also=used),
    )


def tree_rules(nodes: Iterable[Node | None]) -> list[Rule]:
    """Every rule on the trees of ``nodes``, each once, in the order met
    (depth first, with an explicit stack: a chain may be long)."""
    seen: dict[str, Rule] = {}
    stack = [n for n in nodes if n is not None]
    stack.reverse()
    while stack:
        node = stack.pop()
        for route in node.routes:
            seen.setdefault(route.rule.id, route.rule)
        stack.extend(p for route in reversed(node.routes) for p in reversed(route.premises))
    return list(seen.values())


def tree_tensions(kb: KnowledgeBase, nodes: Iterable[Node | None], also: Iterable[Rule] = ()) -> tuple[Tension, ...]:
    """The tensions of the rules on the trees of ``nodes`` (and of ``also``), each once."""
    if not kb.tensions:
        return ()  # no tree to walk
    return kb.tensions_among([*(r.id for r in tree_rules(nodes)), *(r.id for r in also)])


def fact_named(case: Case, text: str) -> Fact:
    """The fact a user means by ``text`` at a prompt: ``concept=state``, or a
    concept alone when the case holds it in exactly one state."""
    if "=" in text:
        return find_fact(case.kb, text)
    concept = find_concept(case.kb, text)
    states = [s.fact for s in case.support.values() if s.fact.concept == concept.id]
    if len(states) == 1:
        return states[0]
    raise AnswerError(f"name a state of '{concept.id}' too, e.g. {concept.id}={concept.states[0]}", value=text)


# ---------------------------------------------------------------------------
# why (at a prompt): the chain from a question up toward the outcomes
# ---------------------------------------------------------------------------


class Link(NamedTuple):
    """One step of a why chain: a rule, what it needs and what it concludes."""

    rule: Rule
    needs: tuple[Fact, ...]  # facts from the level below that this rule uses
    concludes: tuple[Fact, ...]
    negated: bool = False  # the answer can only rule this rule out (through 'not')
    loop: Loop | None = None  # set when a conclusion comes back to the question


class Why(NamedTuple):
    """The levels a question's answer climbs through, MYCIN-style: level 1
    holds the rules that use the answer directly, level n+1 the rules that
    use what level n concludes."""

    concept: str
    levels: tuple[tuple[Link, ...], ...]


def why(case: Case, concept_id: str, live_rules: Callable[[str], Iterable[Rule]]) -> Why:
    """Each rule appears once, at the first level that reaches it, until
    nothing further depends on the chain. ``live_rules(concept)`` gives the
    rules still open for a concept, so decided or blocked routes are left out."""
    kb = case.kb
    levels: list[tuple[Link, ...]] = []
    shown: set[str] = set()
    frontier: set[Fact] = {Fact(concept_id, s) for s in kb.concepts[concept_id].states}
    chain_concepts = {concept_id}
    while frontier:
        level = []
        for concept in sorted({f.concept for f in frontier}):
            for rule in live_rules(concept):
                link = _link(kb, rule, concept, concept_id, frontier, chain_concepts, first=not levels)
                if link is None or rule.id in shown:
                    continue
                if not link.negated:
                    shown.add(rule.id)
                level.append(link)
        if not level:
            break
        level.sort(key=lambda lk: (lk.negated, _kind_rank(kb, lk.concludes), lk.rule.id))
        levels.append(tuple(level))
        concluded = {f for link in level if not link.negated for f in link.concludes}
        chain_concepts |= {f.concept for f in concluded}
        frontier = {f for f in concluded if f.concept != concept_id}
    return Why(concept_id, tuple(levels))


def _link(kb, rule: Rule, concept: str, asked: str, frontier: set[Fact], chain: set[str], first: bool) -> Link | None:
    """How ``rule`` uses the level below, or None if it does not climb from it."""
    needs = tuple(f for c in rule.when if not c.negated for f in c.facts() if f in frontier)
    if not needs:
        # Only a 'not' condition uses it: the answer can rule this rule out,
        # but nothing climbs from there.
        if first and any(c.negated and c.concept == concept for c in rule.when):
            return Link(rule, (), tuple(rule.then), negated=True)
        return None
    back = {f.concept for f in rule.then} & chain
    loop = (kb.loop_through(chain | back) or _unnamed_loop(chain)) if asked in back else None
    return Link(rule, needs, tuple(rule.then), loop=loop)


def _kind_rank(kb, facts) -> int:
    kinds = [kb.concepts[f.concept].kind for f in facts]
    return min((DERIVED_KINDS.index(k) for k in kinds if k in DERIVED_KINDS), default=len(DERIVED_KINDS))


def _unnamed_loop(concepts) -> Loop:
    return Loop("", "a loop", tuple(sorted(concepts)))


# ---------------------------------------------------------------------------
# why-not: for each rule that could conclude a fact, what failed
# ---------------------------------------------------------------------------


class Status(enum.StrEnum):
    """Where a condition of a rule stands in a case."""

    HOLDS = "holds"
    ANSWERED_OTHERWISE = "answered_otherwise"
    NOT_ANSWERED = "not_answered"
    UNKNOWN = "unknown"
    NOT_CONCLUDED = "not_concluded"
    PRESENT = "present"  # a 'not' condition fails: the fact is there


class ConditionCheck(NamedTuple):
    condition: Condition
    holds: bool
    status: Status
    known: tuple[Fact, ...]  # what is known of the concept
    below: tuple[RuleCheck, ...] = ()  # for not_concluded: why not, one level down
    loop: bool = False  # the recursion came back to a fact being explained
    loop_name: str = ""
    see_above: bool = False


class RuleCheck(NamedTuple):
    rule: Rule
    conditions: tuple[ConditionCheck, ...]
    # the rule stands in for an answer the case gave (``stands_in_for``):
    # even with every condition holding, it adds nothing
    set_aside: bool = False


class WhyNot(NamedTuple):
    """``why-not CONCEPT=STATE``. When the fact holds, only ``holds``,
    ``given`` and ``strength`` matter. When it does not: the rules that
    reached it but were kept out by an answer (``blocked``), the conflict
    on its concept, each rule that could conclude it checked condition by
    condition, and the smallest changes of answers that would make it hold."""

    fact: Fact
    answers: Answers
    holds: bool
    given: bool
    strength: Strength | None
    is_question: bool
    blocked: ConflictSide | None
    conflict: Conflict | None
    checks: tuple[RuleCheck, ...]
    changes: tuple[tuple, ...]  # of counterfactual.Change tuples
    # where the sources differ on a rule checked, or on one that reached it but was kept out
    tensions: tuple[Tension, ...] = ()


def why_not(reasoner: Reasoner, case: Case, fact: Fact) -> WhyNot:
    support = case.support.get(fact)
    is_question = case.kb.concepts[fact.concept].is_question
    if support is not None:
        return WhyNot(fact, case.answers, True, support.given, support.strength, is_question, None, None, (), ())
    from .counterfactual import smallest_changes  # noqa: PLC0415 - it reasons: only why-not needs it

    conflict = conflict_on(case, fact.concept)
    blocked = next((s for s in conflict.sides if s.state == fact.state and s.blocked), None) if conflict else None
    changes = tuple(tuple(option) for option in smallest_changes(reasoner, case, fact))
    checks = rule_checks(case, fact)
    used = checked_rules(checks) + [j.rule.id for j in (blocked.justifications if blocked is not None else ())]
    tensions = case.kb.tensions_among(used)
    return WhyNot(fact, case.answers, False, False, None, is_question, blocked, conflict, checks, changes, tensions)


def checked_rules(checks: Iterable[RuleCheck]) -> list[str]:
    """The ids of every rule checked, at every level, each once."""
    seen: dict[str, None] = {}
    stack = list(checks)
    while stack:
        check = stack.pop()
        seen.setdefault(check.rule.id, None)
        for cond in check.conditions:
            stack.extend(cond.below)
    return list(seen)


def rule_checks(case: Case, fact: Fact) -> tuple[RuleCheck, ...]:
    """For each rule that could conclude ``fact``: each condition, whether it
    holds, and if not why not, down to the answers.

    Built depth first with an explicit stack, not by recursion: a chain of
    rules may be thousands of links long."""
    kb = case.kb
    explained: set[Fact] = set()
    path: list[Fact] = []  # the facts being explained, from ``fact`` down
    on_path: dict[Fact, int] = {}
    known_of: dict[str, list[Fact]] = {}
    for f in case.known:
        known_of.setdefault(f.concept, []).append(f)

    class _Rules:
        """The rules that could conclude ``target``, checked one condition at a time."""

        __slots__ = ("target", "rules", "rule", "checks", "conditions")

        def __init__(self, target: Fact):
            explained.add(target)
            on_path[target] = len(path)
            path.append(target)
            self.target = target
            self.rules = kb.rules_concluding(target)
            self.rule = 0
            self.checks: list[RuleCheck] = []
            self.conditions: list[ConditionCheck] = []

    class _Unmet:
        """A condition that fails and could be concluded: its targets, one at a time."""

        __slots__ = ("cond", "status", "known", "targets", "target", "below", "loop", "loop_name", "see_above")

        def __init__(self, cond: Condition, status: Status, known: tuple[Fact, ...]):
            self.cond = cond
            self.status = status
            self.known = known
            self.targets = [f for f in cond.facts() if kb.rules_concluding(f)]
            self.target = 0
            self.below: list[RuleCheck] = []
            self.loop = self.see_above = False
            self.loop_name = ""

    def start(cond: Condition) -> ConditionCheck | _Unmet:
        """A condition's check, or the frame that explains why it fails."""
        concept = kb.concepts[cond.concept]
        known = tuple(sorted(known_of.get(cond.concept, ()), key=lambda f: concept.states.index(f.state)))
        holds = cond.holds(case.known)
        if cond.negated:
            return ConditionCheck(cond, holds, Status.HOLDS if holds else Status.PRESENT, known)
        if holds:
            return ConditionCheck(cond, True, Status.HOLDS, known)
        if cond.concept in case.answers.given:
            return ConditionCheck(cond, False, Status.ANSWERED_OTHERWISE, known)
        return _Unmet(cond, _unmet_status(case, cond, concept.is_question), known)

    stack: list[_Rules | _Unmet] = [_Rules(fact)]
    result: tuple[RuleCheck, ...] = ()
    while stack:
        frame = stack[-1]
        if isinstance(frame, _Rules):
            pushed = False
            while frame.rule < len(frame.rules):
                rule = frame.rules[frame.rule]
                while len(frame.conditions) < len(rule.when):
                    checked = start(rule.when[len(frame.conditions)])
                    if isinstance(checked, _Unmet):
                        stack.append(checked)
                        pushed = True
                        break
                    frame.conditions.append(checked)
                if pushed:
                    break
                frame.checks.append(RuleCheck(rule, tuple(frame.conditions), rule.set_aside_by(case.answers.given)))
                frame.conditions = []
                frame.rule += 1
            if pushed:
                continue
            stack.pop()
            path.pop()
            del on_path[frame.target]
            if not stack:
                result = tuple(frame.checks)
                break
            parent = stack[-1]
            assert isinstance(parent, _Unmet)
            parent.below.extend(frame.checks)
            continue
        pushed = False
        while frame.target < len(frame.targets):
            target = frame.targets[frame.target]
            frame.target += 1
            if target in on_path:
                frame.loop = True
                named = kb.loop_through({f.concept for f in path[on_path[target] :]})
                frame.loop_name = named.title if named else ""
            elif target in explained:
                frame.see_above = True
            else:
                stack.append(_Rules(target))
                pushed = True
                break
        if pushed:
            continue
        stack.pop()
        done = ConditionCheck(
            frame.cond,
            False,
            frame.status,
            frame.known,
            tuple(frame.below),
            frame.loop,
            frame.loop_name,
            frame.see_above,
        )
        owner = stack[-1]
        assert isinstance(owner, _Rules)
        owner.conditions.append(done)
    return result


def _unmet_status(case: Case, cond: Condition, is_question: bool) -> Status:
    if not is_question:
        return Status.NOT_CONCLUDED
    return Status.UNKNOWN if cond.concept in case.answers.unknown else Status.NOT_ANSWERED


# ---------------------------------------------------------------------------
# trace: the firings in order
# ---------------------------------------------------------------------------


class TracedStep(NamedTuple):
    step: Step
    closes_loop: bool  # it adds nothing and comes back to a fact its premises were built on
    loop: Loop | None  # the named loop it goes round, when it closes one


class Trace(NamedTuple):
    answers: Answers
    steps: tuple[TracedStep, ...]
    agenda: bool  # the steps carry the agenda behind them
    conclusions: int


def trace(case: Case, agenda: bool = False) -> Trace:
    closing = closes_loop(case)
    loops = loops_met(case) if closing else []
    steps = []
    for step in case.steps:
        loop = None
        if step.number in closing:
            around = set(step.rule.then) | set(step.matched)
            loop = next((lp.loop for lp in loops if lp.loop and around & set(lp.facts)), None)
        steps.append(TracedStep(step, step.number in closing, loop))
    return Trace(case.answers, tuple(steps), agenda, len(case.conclusions))
