"""The JSON renderer: explanations and knowledge as JSON-ready data.

Each public function lays out one structure built elsewhere in the engine
(:mod:`.explain`, :mod:`.consultation`, :mod:`.counterfactual`, the model);
none of them reasons. Every object document starts with ``format_version``;
``schema/cofactor.schema.json`` describes them all, and the tests hold the
output to it. A change that breaks a consumer (a key removed or renamed, a
type changed) raises :data:`FORMAT_VERSION`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .answers import Answers
from .consultation import Conclusion, Summary, conclusions
from .model import Concept, Condition, Disabled, Example, Fact, KnowledgeBase, Rule, Tension
from .reasoning import Case, Conflict, ConflictSide, Justification, SetAside, Step

if TYPE_CHECKING:  # the explanation modules are imported by the commands that explain
    from .check import Finding, Report
    from .counterfactual import Change, Difference, WhatIf
    from .exhaustive import Exhaustive
    from .explain import ConditionCheck, How, Link, Node, RuleCheck, SideTrees, Trace, Why, WhyNot

FORMAT_VERSION = 1
# levels of a tree (how, why-not) shown inside one another: a deeper branch (a
# long chain of rules) is listed in the document's "continued" array and its
# place marked with "continued": its index there, so that the document stays
# shallow enough for any JSON reader, however long the chain
TREE_DEPTH = 12

Json = dict[str, Any]


def _document(**fields: Any) -> Json:
    return {"format_version": FORMAT_VERSION, **fields}


# ---------------------------------------------------------------------------
# The knowledge base
# ---------------------------------------------------------------------------


def fact(f: Fact) -> Json:
    return {"concept": f.concept, "state": f.state}


def facts(fs: Iterable[Fact]) -> list[Json]:
    return [{"concept": f.concept, "state": f.state} for f in fs]


def tension(t: Tension) -> Json:
    """A place where the sources differ: the statement, each side's quote, the rules it concerns."""
    return {
        "id": t.id,
        "title": t.title,
        "statement": t.statement,
        "sides": [{"document": s.document, "quote": s.quote} for s in t.sides],
        "rules": list(t.rules),
        "file": t.path,
    }


def tensions(ts: Iterable[Tension]) -> list[Json]:
    return [tension(t) for t in ts]


def rule(r: Rule, kb: KnowledgeBase | None = None) -> Json:
    out: Json = {
        "id": r.id,
        "title": r.title,
        "conditions": [condition(c) for c in r.when],
        "conclusions": facts(r.then),
        "strength": r.strength.label,
        "sources": _sources(r),
        "file": r.path,
        "builtin": r.builtin,
    }
    if r.examples:
        out["examples"] = [_example(e) for e in r.examples]
    if r.replaces:
        out["replaces"] = r.replaces
    if r.replaced:
        out["replaced"] = list(r.replaced)
    if r.stands_in_for is not None:
        out["stands_in_for"] = condition(r.stands_in_for)
    if kb is not None:
        out["tensions"] = [t.id for t in kb.tensions_of(r.id)]
    return out


def condition(c: Condition) -> Json:
    return {"concept": c.concept, "states": list(c.states), "negated": c.negated, "text": str(c)}


def rules(rs: Iterable[Rule], disabled: Iterable[Disabled] = (), kb: KnowledgeBase | None = None) -> list[Json]:
    """The rules; then those --rules files disabled, each marked with the
    file that disabled it. With ``kb``, each rule lists the ids of the
    tensions it is in."""
    return [rule(r, kb) for r in rs] + [{**rule(d.rule, kb), "disabled_by": d.by} for d in disabled]


def _example(e: Example) -> Json:
    out: Json = {
        "name": e.name,
        "answers": {concept: list(states) if len(states) != 1 else states[0] for concept, states in e.answers},
        "expect": facts(e.expect),
        "absent": facts(e.absent),
    }
    if e.strengths:
        out["strengths"] = [{**fact(f), "strength": s.label} for f, s in e.strengths]
    return out


def _sources(r: Rule) -> list[Json]:
    return [{"document": s.document, "quote": s.quote} for s in r.sources]


def concept(c: Concept) -> Json:
    out: Json = {
        "id": c.id,
        "label": c.label,
        "states": list(c.states),
        "kind": str(c.kind),
        "question": c.question or None,
        "help": c.help or None,
        "description": c.description or None,
        "aliases": list(c.aliases),
        "ask_if": [str(cond) for cond in c.ask_if],
        "multi": c.multi,
        "exclusive": list(c.exclusive),
        "order": c.order,
        "file": c.path,
    }
    if c.additions:
        out["added_states"] = [{"file": path, "states": list(states)} for path, states in c.additions]
    return out


def concepts(kb: KnowledgeBase) -> list[Json]:
    return [concept(c) for c in kb.concepts_in_order()]


# ---------------------------------------------------------------------------
# A case
# ---------------------------------------------------------------------------


def answers(a: Answers, kb: KnowledgeBase) -> Json:
    """A concept's answer: its state, or the list of states of a multi-valued one."""
    out: Json = {}
    for concept_id, states in sorted(a.given.items()):
        multi = kb.concepts[concept_id].multi if concept_id in kb.concepts else False
        out[concept_id] = list(states) if multi else states[0]
    return out


def justification(j: Justification) -> Json:
    return {"rule": j.rule.id, "file": j.rule.path, "premises": facts(j.premises)}


def conflict_side(side: ConflictSide, concept: str) -> Json:
    return {
        "state": side.state,
        "given": side.given,
        "added": not side.blocked,
        "derivations": [_marked(justification(j), j.rule, concept) for j in side.justifications],
    }


def _marked(out: Json, rule: Rule, concept: str) -> Json:
    """A derivation of a conflict side, marked when it is a rule set aside
    because it stands in for the answer on that side's concept."""
    if rule.stands_in(concept):
        out["set_aside"] = True
    return out


def conflict(c: Conflict) -> Json:
    return {"concept": c.concept, "sides": [conflict_side(s, c.concept) for s in c.sides]}


def set_aside(s: SetAside) -> Json:
    """A rule set aside: it only infers an answer the case gave otherwise."""
    cond = s.rule.stands_in_for
    assert cond is not None
    return {
        "rule": s.rule.id,
        "file": s.rule.path,
        "premises": facts(s.premises),
        "stands_in_for": condition(cond),
        "answer": {"concept": cond.concept, "states": list(s.answer)},
    }


def conclusion(case: Case, c: Conclusion) -> Json:
    s = c.support
    out: Json = {
        "concept": s.fact.concept,
        "state": s.fact.state,
        "label": case.kb.concepts[s.fact.concept].label,
        "kind": str(c.kind),
        "strength": s.strength.label,
        "derivations": [justification(j) for j in s.justifications],
    }
    if s.weakest is not None and s.weakest.sources:
        source = s.weakest.sources[0]
        out["weakest_link"] = {
            "rule": s.weakest.id,
            "file": s.weakest.path,
            "strength": s.weakest.strength.label,
            "document": source.document,
            "quote": source.quote,
        }
    return out


def case(c: Case) -> Json:
    """A case's answers, conclusions and conflicts (both sides of a what-if)."""
    return _case(c, conclusions(c))


def _case(c: Case, concluded: tuple[Conclusion, ...]) -> Json:
    return {
        "answers": answers(c.answers, c.kb),
        "conclusions": [conclusion(c, each) for each in concluded],
        "conflicts": [conflict(x) for x in c.conflicts],
        "set_aside": [set_aside(x) for x in c.set_aside],
    }


def consultation(summary: Summary, label: Json | None = None, disclaimer: str | None = None) -> Json:
    """``consult --json`` (and each line of ``batch``, which names the case
    in ``label``): the case, the questions not asked and why, and the loops
    it went round; the disclaimer, when given, comes last."""
    out = _document(
        **(label or {}),
        **_case(summary.case, summary.conclusions),
        not_asked=[{"concept": s.concept.id, "reason": str(s.reason), "detail": s.detail} for s in summary.not_asked],
        loops=[
            {"loop": m.loop.id if m.loop else None, "title": m.loop.title if m.loop else None, "facts": facts(m.facts)}
            for m in summary.loops
        ],
        tensions=tensions(summary.tensions),
    )
    if disclaimer is not None:
        out["disclaimer"] = disclaimer
    return out


# ---------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------


def node(n: Node, parts: list[Node] | None = None, level: int = 0) -> Json:
    """A fact of a ``how`` tree, with every route to it. A fact deeper than
    TREE_DEPTH with routes of its own is added to ``parts`` (when given) and
    marked with its index there, its derivations left to that entry."""
    out: Json = {
        "concept": n.fact.concept,
        "state": n.fact.state,
        "label": n.label,
        "strength": n.strength.label if n.strength else None,
        "given": n.given,
        "derivations": [],
    }
    if parts is not None and level >= TREE_DEPTH and n.routes:
        out["continued"] = len(parts)
        parts.append(n)
        return out
    out["derivations"] = [
        {
            "rule": r.rule.id,
            "file": r.rule.path,
            "title": r.rule.title,
            "rule_strength": r.rule.strength.label,
            "strength": r.strength.label,
            "sources": _sources(r.rule),
            "premises": [node(p, parts, level + 1) for p in r.premises],
        }
        for r in n.routes
    ]
    if n.loop:
        out["loop"] = facts(n.loop)
        out["loop_name"] = n.loop_name or None
    if n.see_above:
        out["see_above"] = True
    return out


def how(h: How, kb: KnowledgeBase) -> Json:
    tree = h.tree
    parts: list[Node] = []
    out = _document(
        fact=fact(h.fact),
        holds=tree is not None,
        concluded=bool(tree and not tree.given),
        given=bool(tree and tree.given),
        strength=tree.strength.label if tree and tree.strength else None,
        tree=node(tree, parts) if tree else None,
        conflict=_conflict_with_trees(h.conflict, h.conflict_trees, parts) if h.conflict else None,
        answers=answers(h.answers, kb),
        tensions=tensions(h.tensions),
    )
    if parts:
        out["continued"] = [node(part, parts) for part in parts]  # grows while it is read
    return out


def _conflict_with_trees(c: Conflict, trees: tuple[SideTrees, ...], parts: list[Node]) -> Json:
    data = conflict(c)
    for side, out in zip(trees, data["sides"], strict=True):
        if side.tree is None:
            out["trees"] = [
                _marked({"rule": r.id, "file": r.path, "premises": [node(p, parts, 1) for p in premises]}, r, c.concept)
                for r, premises in side.blocked_routes
            ]
        else:
            out["tree"] = node(side.tree, parts)
    return data


def why(w: Why, kb: KnowledgeBase | None = None) -> Json:
    """The why chain of a question, level by level."""
    return _document(concept=w.concept, levels=[[_link(link) for link in level] for level in w.levels])


def _link(link: Link) -> Json:
    out: Json = {
        "rule": link.rule.id,
        "file": link.rule.path,
        "title": link.rule.title,
        "strength": link.rule.strength.label,
        "when": [str(c) for c in link.rule.when],
        "needs": facts(link.needs),
        "concludes": facts(link.concludes),
        "sources": _sources(link.rule),
    }
    if link.loop:
        out["loop"] = link.loop.title
    if link.negated:
        out["rules_out"] = True
    return out


def why_not(w: WhyNot, kb: KnowledgeBase) -> Json:
    out = _document(
        fact=fact(w.fact),
        holds=w.holds,
        concluded=w.holds and not w.given,
        given=w.given,
        answers=answers(w.answers, kb),
        tensions=tensions(w.tensions),
    )
    if w.holds:
        out["strength"] = w.strength.label if w.strength else None
        out["see"] = f"cofactor how {w.fact}"
        return out
    parts: list[ConditionCheck] = []
    out["blocked_by_answer"] = w.blocked is not None
    out["conflict"] = conflict(w.conflict) if w.conflict else None
    out["rules"] = [_rule_check(r, parts, 0) for r in w.checks]
    out["smallest_changes"] = [[_change(c) for c in option] for option in w.changes]
    if parts:
        # each entry: the "why_not" of the condition marked with its index
        out["continued"] = [[_rule_check(r, parts, 0) for r in part.below] for part in parts]  # grows while read
    return out


def _rule_check(check: RuleCheck, parts: list[ConditionCheck], level: int) -> Json:
    out: Json = {
        "rule": check.rule.id,
        "file": check.rule.path,
        "title": check.rule.title,
        "strength": check.rule.strength.label,
        "conditions": [_condition_check(c, parts, level) for c in check.conditions],
    }
    if check.rule.stands_in_for is not None:
        out["stands_in_for"] = condition(check.rule.stands_in_for)
        out["set_aside"] = check.set_aside
    return out


def _condition_check(check: ConditionCheck, parts: list[ConditionCheck], level: int) -> Json:
    out: Json = {
        "condition": str(check.condition),
        "holds": check.holds,
        "status": str(check.status),
        "known": facts(check.known),
    }
    if check.below and level + 1 >= TREE_DEPTH:
        out["continued"] = len(parts)
        parts.append(check)
    elif check.below:
        out["why_not"] = [_rule_check(r, parts, level + 1) for r in check.below]
    if check.loop:
        out["loop"] = True
        out["loop_name"] = check.loop_name or None
    if check.see_above:
        out["see_above"] = True
    return out


def _change(change: Change) -> Json:
    return {"concept": change.concept, "states": list(change.states), "was": list(change.was) or None}


def what_if(result: WhatIf, kb: KnowledgeBase | None = None) -> Json:
    return _document(
        before=case(result.before),
        after=case(result.after),
        gained=[_difference(d) for d in result.gained],
        lost=[_difference(d) for d in result.lost],
        strength_changed=[
            {**fact(f), "before": before.label, "after": after.label} for f, before, after in result.changed
        ],
    )


def _difference(d: Difference) -> Json:
    out: Json = {**fact(d.fact), "strength": d.strength.label, "rule": d.rule, "premises": facts(d.premises)}
    if d.note:
        out["note"] = d.note
    return out


def trace(t: Trace, kb: KnowledgeBase) -> Json:
    return _document(answers=answers(t.answers, kb), steps=[step(s.step, agenda=t.agenda) for s in t.steps])


def step(s: Step, agenda: bool = False) -> Json:
    out: Json = {
        "step": s.number,
        "rule": s.rule.id,
        "file": s.rule.path,
        "strength": s.rule.strength.label,
        "matched": facts(s.matched),
        "added": facts(s.added),
        "blocked": facts(s.blocked),
    }
    if s.set_aside:
        out["set_aside"] = True
    if agenda:
        out["agenda"] = [{"rule": r.id, "facts": facts(fs)} for r, fs in s.waiting]
    return out


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------


def check(report: Report) -> Json:
    """``check``'s report: the findings, and the summaries of the quotes, the
    examples and the exhaustive run."""
    run = report.exhaustive
    return _document(
        ok=not report.errors,
        files=list(report.files),
        counts={"rules": report.rules, "concepts": report.concepts, "documents": report.documents},
        findings=[_finding(f) for f in report.findings],
        quotes={
            "verified": report.quotes_verified,
            "unverified": report.quotes_unverified,
            "not_found": report.quotes_not_found,
        },
        examples={"run": report.examples, "failed": report.examples_failed},
        exhaustive=None if run is None else _exhaustive(run),
    )


def _finding(f: Finding) -> Json:
    return {
        "level": f.level,
        "code": f.code,
        "file": f.path or None,
        "id": f.ident or None,
        "message": f.message,
        "fix": f.fix or None,
        "details": list(f.details),
    }


def _exhaustive(run: Exhaustive) -> Json:
    return {
        "complete": run.complete,
        "error": run.error or None,
        "combinations": run.combinations,
        "cases": run.cases,
        "reduction": run.reduction,
        "seconds": round(run.seconds, 3),
        "never_fired": list(run.never_fired),
        "conflicts": [
            {
                "concept": c.concept,
                "states": list(c.states),
                "example": {concept: list(states) for concept, states in c.example},
                "rules": list(c.rules),
            }
            for c in run.conflicts
        ],
    }
