"""A second forward-chaining reasoner, for checking the experta engine only.

Written independently of experta and of ``engine/reasoning.py``: a plain
naive fixpoint over the rules, stratum by stratum, trying every combination
of facts for every rule. It shares nothing with the engine but the parsed
knowledge base (the model classes), and defines the same semantics:

* ``concept = state`` / ``concept in [...]`` hold for a known fact in one of
  the states, and each matching fact gives its own justification;
* ``not ...`` holds when no fact of those states is known, and is tested only
  after every rule that could conclude those facts has had its chance;
* a conclusion that contradicts an answer (another state of a single-valued
  concept; an exclusive state of a multi-valued one next to others) is never
  added: it is a conflict;
* a fact's strength is the best, over its justifications, of the weakest of
  the rule's strength and its premises' strengths (answers are strongest);
* a single-valued concept known or concluded in two states, or a
  multi-valued one with an exclusive state among others, is a conflict.
"""

from __future__ import annotations

from itertools import product

GIVEN = 4


class Unstratifiable(Exception):
    """Some fact depends on its own absence."""


def strata(kb) -> dict[str, int]:
    """rule id -> stratum, computed by bounded relaxation."""
    concluders: dict[tuple, list] = {}
    for rule in kb.rules:
        for fact in rule.then:
            concluders.setdefault((fact.concept, fact.state), []).append(rule.id)
    level = {rule.id: 0 for rule in kb.rules}
    bound = len(kb.rules) + 1
    for _ in range(bound + 1):
        moved = False
        for rule in kb.rules:
            need = 0
            for cond in rule.when:
                for state in cond.states:
                    for other in concluders.get((cond.concept, state), ()):
                        need = max(need, level[other] + (1 if cond.negated else 0))
            if need > level[rule.id]:
                if need > bound:
                    raise Unstratifiable(rule.id)
                level[rule.id] = need
                moved = True
        if not moved:
            return level
    raise Unstratifiable("no fixpoint")


def reason(kb, answers: dict[str, tuple[str, ...]]) -> dict:
    """Conclusions, justifications, strengths and conflicts of a case."""
    known = {(c, s) for c, states in answers.items() for s in states}
    given = set(known)
    justifications: dict[tuple, set] = {}
    blocked: dict[tuple, set] = {}
    levels = strata(kb)
    for stratum in sorted(set(levels.values())):
        rules = [r for r in kb.rules if levels[r.id] == stratum]
        changed = True
        while changed:
            changed = False
            for rule in rules:
                if any((cond.concept, s) in known for cond in rule.when if cond.negated for s in cond.states):
                    continue
                options = [
                    [(cond.concept, s) for s in cond.states if (cond.concept, s) in known]
                    for cond in rule.when
                    if not cond.negated
                ]
                for premises in product(*options):
                    key = (rule.id, tuple(premises))
                    for fact in rule.then:
                        f = (fact.concept, fact.state)
                        if f not in known and _against_answer(kb, fact, answers.get(fact.concept, ())):
                            if key not in blocked.setdefault(f, set()):
                                blocked[f].add(key)
                                changed = True
                            continue
                        if key not in justifications.setdefault(f, set()):
                            justifications[f].add(key)
                            changed = True
                        if f not in known:
                            known.add(f)
                            changed = True
    strength = {f: GIVEN for f in given}
    rule_strength = {r.id: int(r.strength) for r in kb.rules}
    moved = True
    while moved:
        moved = False
        for fact, keys in justifications.items():
            if fact in given:
                continue
            for rule_id, premises in keys:
                if all(p in strength for p in premises):
                    value = min([rule_strength[rule_id]] + [strength[p] for p in premises])
                    if value > strength.get(fact, 0):
                        strength[fact] = value
                        moved = True
    conflicts = {}
    for concept_id in {c for c, _ in known} | {c for c, _ in blocked}:
        concept = kb.concepts[concept_id]
        states = {s for c, s in known if c == concept_id} | {s for c, s in blocked if c == concept_id}
        if len(states) > 1 and (not concept.multi or states & set(concept.exclusive)):
            conflicts[concept_id] = {
                s: (
                    (concept_id, s) in given,
                    (concept_id, s) in blocked,
                    frozenset(blocked.get((concept_id, s)) or justifications.get((concept_id, s), ())),
                )
                for s in states
            }
    return {
        "conclusions": {f for f in known if f not in given},
        "justifications": {f: frozenset(v) for f, v in justifications.items() if v},
        "strength": strength,
        "conflicts": conflicts,
    }


def from_case(case) -> dict:
    """The same shape, from a case reasoned by the engine."""
    justifications = {}
    for support in case.support.values():
        keys = frozenset((j.rule.id, tuple((p.concept, p.state) for p in j.premises)) for j in support.justifications)
        if keys:
            justifications[(support.fact.concept, support.fact.state)] = keys
    conflicts = {}
    for conflict in case.conflicts:
        conflicts[conflict.concept] = {
            side.state: (
                side.given,
                side.blocked,
                frozenset((j.rule.id, tuple((p.concept, p.state) for p in j.premises)) for j in side.justifications),
            )
            for side in conflict.sides
        }
    return {
        "conclusions": {(s.fact.concept, s.fact.state) for s in case.conclusions},
        "justifications": justifications,
        "strength": {(f.concept, f.state): int(s.strength) for f, s in case.support.items()},
        "conflicts": conflicts,
    }


def _against_answer(kb, fact, answered: tuple[str, ...]) -> bool:
    if not answered or fact.state in answered:
        return False
    concept = kb.concepts[fact.concept]
    if not concept.multi:
        return True
    exclusive = set(concept.exclusive)
    return fact.state in exclusive or bool(exclusive & set(answered))
