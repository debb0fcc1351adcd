"""The loops a case goes round: found once from its derivations, so that
every explanation names them the same way.

A loop here is a cycle among the facts of one case (a fact that, through
other facts, helps to conclude itself), named by the knowledge base's
``[[loop]]`` table when one covers its concepts.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from .graph import strongly_connected
from .model import Fact, Loop
from .reasoning import Case


class LoopMet(NamedTuple):
    """A cycle a case goes round, and the knowledge base's loop that names it."""

    loop: Loop | None
    facts: tuple[Fact, ...]  # in causal order, back to the first


def loops_met(case: Case) -> list[LoopMet]:
    """Loops the case's own derivations go round, each as one cycle in
    causal order (starting where the case entered it), with the knowledge
    base's name for it, if any."""
    edges: dict[str, list[tuple[str, bool]]] = {}
    names: dict[str, Fact] = {}
    for support in case.support.values():
        names[str(support.fact)] = support.fact
        for just in support.justifications:
            for premise in just.premises:
                edges.setdefault(str(premise), []).append((str(support.fact), False))
    found = []
    for component in strongly_connected(sorted(names), edges):
        if len(component) < 2:
            continue
        members = set(component)
        # enter the loop where the case first reached it: an answer, or the
        # fact derived in the fewest steps
        start = min(component, key=lambda n: (case.support[names[n]].depth, n))
        cycle = _cycle_through(start, members, edges)
        facts = tuple(names[n] for n in cycle)
        found.append(LoopMet(case.kb.loop_through({names[n].concept for n in component}), facts))
    return found


def _cycle_through(start: str, members: set[str], edges) -> list[str]:
    """The shortest cycle from ``start`` back to itself inside ``members``."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target, _ in sorted(edges.get(node, ())):
            if target == start:
                path = [node]
                step = parent[node]
                while step is not None:
                    path.append(step)
                    step = parent[step]
                return path[::-1] + [start]
            if target in members and target not in parent:
                parent[target] = node
                queue.append(target)
    return [start]


def closes_loop(case: Case) -> set[int]:
    """The steps that go round a loop: they add nothing, and what they
    conclude is among the facts their own premises were first built on.

    Each question walks back through the firings that first added the
    premises, with an explicit queue (a chain may be thousands of links
    long), and only through facts added after the earliest one it looks for:
    a fact's premises are always older than the fact."""
    first: dict[Fact, tuple[Fact, ...]] = {}
    added_at: dict[Fact, int] = {}  # the step that first added a fact; answers are older than any
    for step in case.steps:
        for fact in step.added:
            first[fact] = step.matched
            added_at[fact] = step.number
    return {
        step.number
        for step in case.steps
        if not step.added and _built_on(set(step.rule.then), step.matched, first, added_at)
    }


def _built_on(
    wanted: set[Fact], matched: tuple[Fact, ...], first: dict[Fact, tuple[Fact, ...]], added_at: dict[Fact, int]
) -> bool:
    """Is any of ``wanted`` among the facts ``matched`` were first built on
    (their premises, their premises' premises, and so on)?"""
    oldest = min(added_at.get(f, 0) for f in wanted)
    seen: set[Fact] = set()
    queue = deque(p for f in matched for p in first.get(f, ()))
    while queue:
        fact = queue.popleft()
        if fact in seen:
            continue
        seen.add(fact)
        if fact in wanted:
            return True
        if added_at.get(fact, 0) > oldest:  # only a fact added later can be built on a wanted one
            queue.extend(first.get(fact, ()))
    return False
