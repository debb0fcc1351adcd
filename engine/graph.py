"""The rule graph: which rules feed which, without running anything."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import Fact, Rule


def feeds(rules: Sequence[Rule]) -> dict[str, list[tuple[str, bool]]]:
    """rule id -> [(id of a rule that uses one of its conclusions, through a 'not')]."""
    users: dict[Fact, list[tuple[Rule, bool]]] = {}
    for rule in rules:
        for cond in rule.when:
            for fact in cond.facts():
                users.setdefault(fact, []).append((rule, cond.negated))
    edges: dict[str, list[tuple[str, bool]]] = {}
    for rule in rules:
        out = edges.setdefault(rule.id, [])
        for fact in rule.then:
            for user, negated in users.get(fact, ()):
                out.append((user.id, negated))
    return edges


def strongly_connected(nodes: Iterable[str], edges: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (rule graphs may be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            recurse = False
            while child < len(successors):
                nxt = successors[child][0]
                child += 1
                if nxt not in index:
                    work.append((node, child))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def negation_strata(rules: Sequence[Rule]) -> tuple[dict[str, int], list[list[Rule]]]:
    """Assign each rule a stratum so that a 'not' condition is only tested
    once everything that could conclude its fact has had its chance.

    Returns the strata and, if the rules cannot be stratified, the groups of
    rules in which a fact depends on its own absence.
    """
    by_id = {r.id: r for r in rules}
    edges = feeds(rules)
    bad = []
    for component in strongly_connected(sorted(by_id), edges):
        members = set(component)
        if any(neg and target in members for node in component for target, neg in edges[node]):
            bad.append([by_id[i] for i in component])
    if bad:
        return {}, bad
    concluders: dict[Fact, list[str]] = {}
    for rule in rules:
        for fact in rule.then:
            concluders.setdefault(fact, []).append(rule.id)
    stratum = {r.id: 0 for r in rules}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            level = 0
            for cond in rule.when:
                for fact in cond.facts():
                    for source in concluders.get(fact, ()):
                        level = max(level, stratum[source] + (1 if cond.negated else 0))
            if level > stratum[rule.id]:
                stratum[rule.id] = level
                changed = True
    return stratum, []


def concept_components(rules: Sequence[Rule]) -> dict[str, str]:
    """concept -> a name for its cycle, for concepts on a cycle of the
    concept graph (an edge runs from each condition's concept to each
    conclusion's concept)."""
    edges: dict[str, list[tuple[str, bool]]] = {}
    for rule in rules:
        for cond in rule.when:
            for fact in rule.then:
                edges.setdefault(cond.concept, []).append((fact.concept, cond.negated))
    nodes = sorted(set(edges) | {t for out in edges.values() for t, _ in out})
    found = {}
    for component in strongly_connected(nodes, edges):
        cyclic = len(component) > 1 or any(t == component[0] for t, _ in edges.get(component[0], ()))
        if cyclic:
            for concept in component:
                found[concept] = component[0]
    return found
