"""The text renderer: explanations and knowledge as plain text for people.

Each public function lays out one structure built elsewhere in the engine
(:mod:`.explain`, :mod:`.consultation`, :mod:`.counterfactual`, the model);
none of them reasons. The command line adds colour and decides where the
text goes. Text that comes from rule files passes through :func:`visible`,
so a rule file cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .consultation import Summary
from .errors import Problem, visible
from .model import DERIVED_KINDS, Concept, Disabled, Kind, KnowledgeBase, Rule, Strength, Tension
from .reasoning import Case, Conflict, ConflictSide

if TYPE_CHECKING:  # the explanation modules are imported by the commands that explain
    from .check import Finding, Report
    from .counterfactual import WhatIf
    from .exhaustive import Exhaustive
    from .explain import ConditionCheck, How, Link, Node, RuleCheck, Trace, Why, WhyNot
    from .model import Fact

TITLES = {
    Kind.QUESTION: "Questions (asked in this order)",
    Kind.MECHANISM: "Mechanisms",
    Kind.OUTCOME: "Outcomes",
    Kind.ADVICE: "Advice",
}
# how each status of a why-not condition reads; {known} is what is known of its concept
STATUS_TEXT = {
    "holds": "holds",
    "answered_otherwise": "answered otherwise (you answered {known})",
    "not_answered": "not answered",
    "unknown": "answered unknown",
    "not_concluded": "not concluded",
    "present": "fails: {concept} is {known}",
}
TREE = {False: ("├─ ", "│  "), True: ("└─ ", "   ")}  # (branch, continuation), by "is the last"
# levels of a tree shown inside one another: a deeper branch (a long chain of
# rules) goes on below the tree as a numbered part, so that lines stay short
# and the renderer's own recursion stays bounded, however long the chain
TREE_DEPTH = 12


def problems(found: Sequence[Problem]) -> str:
    """Rule files that did not load: every problem, a line each."""
    count = len(found)
    lines = [f"the rule files did not load ({count} problem{'s' if count > 1 else ''}):"]
    lines += [f"  {visible(p.render())}" for p in found]
    return "\n".join(lines)


def strength_text(strength: Strength | None) -> str:
    if strength is None:
        return "not concluded"
    return "your answer" if strength is Strength.GIVEN else strength.label


def fact_text(kb: KnowledgeBase, fact: Fact) -> str:
    """``Label: state`` for people."""
    return f"{visible(kb.label(fact))}: {fact.state.replace('_', ' ')}"


def _quote(rule: Rule) -> str:
    return rule.sources[0].quote if rule.sources else ""


def origin(rule: Rule) -> str:
    """Where a rule from a --rules file came from, to follow its id; nothing
    for a built-in rule."""
    return "" if rule.builtin else f" (from {visible(rule.path)})"


# ---------------------------------------------------------------------------
# A consultation
# ---------------------------------------------------------------------------


def consultation(summary: Summary, *, asked: bool, disclaimer: str = "") -> str:
    """The case, then the questions left aside (``asked``: by the interview,
    or, without one, unanswered), then the disclaimer."""
    lines = [case_text(summary)]
    if summary.not_asked:
        lines.append("")
        lines.append("Not asked" if asked else "Not answered")
        for item in summary.not_asked:
            lines.append(f"  {item.concept.id}: {item.reason} ({visible(item.detail)})")
    if summary.unanswered and not asked:
        lines.append("  Unknown (not answered): " + ", ".join(summary.unanswered))
    if disclaimer:
        lines.append("")
        lines.append(disclaimer)
    return "\n".join(lines)


def case_text(summary: Summary) -> str:
    case = summary.case
    kb = case.kb
    lines = ["Answers"]
    for concept_id, states in summary.answered:
        label = visible(kb.concepts[concept_id].label)
        lines.append(f"  {label}: {', '.join(s.replace('_', ' ') for s in states)}")
    if not summary.answered:
        lines.append("  (none)")
    if summary.unknown:
        lines.append("  Unknown: " + ", ".join(visible(kb.concepts[c].label) for c in summary.unknown))
    lines.append("")
    lines.extend(_conclusions(summary))
    if summary.loops:
        lines.append("")
        for met in summary.loops:
            name = visible(met.loop.title) if met.loop else "a loop"
            lines.append(f"Loop: these conclusions go round {name}: " + " -> ".join(str(f) for f in met.facts))
    if summary.set_aside:
        lines.append("")
        lines.extend(set_aside_text(summary))
    if summary.tensions:
        lines.append("")
        lines.append("Where the sources differ (how, on a conclusion they touch, shows both sides)")
        for tension in summary.tensions:
            lines.append(f"  {visible(tension.title)} [{visible(tension.id)}]")
    if summary.conflicts:
        lines.append("")
        lines.extend(conflicts_text(kb, summary.conflicts))
    return "\n".join(lines)


def set_aside_text(summary: Summary) -> list[str]:
    """The rules set aside: each only infers what a question would say, and
    the case answers it otherwise, so the answer counts and the rule adds nothing."""
    lines = ["Set aside (each rule only infers what you answered otherwise; your answer counts instead)"]
    for item in summary.set_aside:
        rule = item.rule
        cond = item.rule.stands_in_for
        assert cond is not None
        premises = " and ".join(str(p) for p in item.premises) or "nothing"
        answer = f"{cond.concept}={','.join(item.answer)}"
        lines.append(f"  {visible(rule.id)} [{rule.strength.label}]: {visible(rule.title)}{origin(rule)}")
        lines.append(f"    it infers {visible(str(cond))} from {premises}")
        lines.append(f"    you answered {answer}, which it would contradict (see Conflicts): it adds nothing")
    return lines


def _conclusions(summary: Summary) -> list[str]:
    if not summary.conclusions:
        return ["Conclusions: none follow from these answers."]
    kb = summary.case.kb
    lines = ["Conclusions"]
    title = None
    for c in summary.conclusions:
        group = TITLES[c.kind] if c.kind in DERIVED_KINDS else "Other"
        if group != title:
            title = group
            lines.append(f"  {title}")
        support = c.support
        lines.append(f"  {c.number:>3}. {fact_text(kb, support.fact)}  [{strength_text(support.strength)}]")
        lines.append(f"       {_because(kb, c.because, c.other_routes)}")
        if c.hedged and support.weakest is not None:
            rule = support.weakest
            document = rule.sources[0].document if rule.sources else ""
            lines.append(
                f'       {support.strength.label}, because "{visible(_quote(rule))}" ({visible(document)}) '
                f"[{visible(rule.id)}]"
            )
    return lines


def _because(kb: KnowledgeBase, just, more: int) -> str:
    """One line: the premises of the strongest route to a conclusion."""
    if just is None:
        return ""
    premises = " and ".join(fact_text(kb, p) for p in just.premises) or "nothing else"
    tail = f"; {more} other route{'s' if more > 1 else ''}" if more else ""
    return f"because {premises} [{visible(just.rule.id)}{origin(just.rule)}]{tail}"


def concluded_so_far(case: Case) -> str:
    """The conclusions reached so far, for ``how`` at a question."""
    if not case.conclusions:
        return "Nothing is concluded yet."
    return "Concluded so far (type how CONCEPT=STATE for one):\n" + "\n".join(
        f"  {s.fact}  [{strength_text(s.strength)}]" for s in case.conclusions
    )


# ---------------------------------------------------------------------------
# Tensions
# ---------------------------------------------------------------------------


def tensions_text(tensions: Sequence[Tension]) -> list[str]:
    """Each tension: its name, the statement of the difference, every side's
    quote and document, and the rules it concerns."""
    lines: list[str] = []
    for tension in tensions:
        if lines:
            lines.append("")
        lines.append(f"Tension: {visible(tension.title)} [{visible(tension.id)}]")
        lines.append(f"  the sources differ: {visible(tension.statement)}")
        for side in tension.sides:
            lines.append(f'  {visible(side.document)}: "{visible(side.quote)}"')
        lines.append(f"  rules: {', '.join(visible(r) for r in tension.rules)}")
    return lines


def tree_text(kb: KnowledgeBase, node: Node, tensions: Sequence[Tension] = ()) -> str:
    """A derivation tree, then the tensions of its rules (``how`` at a prompt)."""
    text = how_text(kb, node)
    return "\n\n".join([text, "\n".join(tensions_text(tensions))]) if tensions else text


# ---------------------------------------------------------------------------
# Conflicts
# ---------------------------------------------------------------------------


def conflicts_text(kb: KnowledgeBase, conflicts: Sequence[Conflict], width: int = 100) -> list[str]:
    lines = ["Conflicts (each side with its derivations)"]
    for conflict in conflicts:
        lines.extend(conflict_columns(kb, conflict, width))
    return lines


def conflict_columns(kb: KnowledgeBase, conflict: Conflict, width: int = 100) -> list[str]:
    """One conflict with its sides side by side, each with its derivations."""
    columns = []
    merged: list[tuple[list[str], ConflictSide]] = []
    for side in conflict.sides:
        # sides reached the same way (a rule set aside stands in for several states) share a column
        if merged and not side.given and merged[-1][1][1:] == side[1:]:
            merged[-1][0].append(side.state)
        else:
            merged.append(([side.state], side))
    for states, side in merged:
        col = [f"{conflict.concept}={' or '.join(states)}"]
        if side.given:
            col.append("your answer (never overridden)")
        else:
            col.append("not added: contradicts your answer" if side.blocked else "concluded")
            for just in side.justifications:
                aside = ", set aside: it stands in for your answer" if just.rule.stands_in(conflict.concept) else ""
                col.append(f"by {visible(just.rule.id)} [{just.rule.strength.label}]{aside}")
                for p in just.premises:
                    col.append(f"  from {p}")
        columns.append(col)
    gap = 3
    col_width = max(24, (width - gap * (len(columns) - 1)) // max(1, len(columns)))
    wrapped = [
        [piece for line in col for piece in (textwrap.wrap(line, col_width, subsequent_indent="    ") or [""])]
        for col in columns
    ]
    height = max(len(c) for c in wrapped)
    label = visible(kb.concepts[conflict.concept].label)
    lines = [f"  Conflict: {label} ({conflict.concept})"]
    for row in range(height):
        cells = [(c[row] if row < len(c) else "").ljust(col_width) for c in wrapped]
        lines.append("    " + (" " * gap).join(cells).rstrip())
    return lines


# ---------------------------------------------------------------------------
# how
# ---------------------------------------------------------------------------


def how(h: How, kb: KnowledgeBase) -> str:
    """``how``: the tree, the weakest link, and the conflict on the concept."""
    if h.tree is None:
        lines = [f"{h.fact} was not concluded from these answers (see: cofactor why-not {h.fact})."]
    else:
        lines = [how_text(kb, h.tree)]
        if h.weakest is not None:
            rule = h.weakest.rule
            lines.append("")
            lines.append(
                f"Strength {strength_text(h.weakest.strength)}: the weakest link is {visible(rule.id)} "
                f'[{rule.strength.label}]{origin(rule)}, "{visible(_quote(rule))}"'
            )
    if h.tensions:
        lines.append("")
        lines.extend(tensions_text(h.tensions))
    if h.conflict:
        lines.append("")
        lines.append("\n".join(conflicts_text(kb, (h.conflict,))))
    return "\n".join(lines)


def how_text(kb: KnowledgeBase, node: Node, width: int = 100) -> str:
    """A derivation tree, each rule with its strength and source sentences.
    A branch deeper than TREE_DEPTH goes on below, as a numbered part."""
    lines = [f"{node.fact}  ({fact_text(kb, node.fact)})  [{strength_text(node.strength)}]"]
    if node.given and not node.routes:
        lines.append("  This is one of your answers.")
    parts: list[Node] = []
    _how_children(node, "", lines, width, 1, parts)
    for number, part in enumerate(parts, 1):  # grows while it is read: a part may continue too
        lines.append("")
        lines.append(
            f"[{number}] {part.fact}  ({fact_text(kb, part.fact)})  [{strength_text(part.strength)}], continued"
        )
        _how_children(part, "", lines, width, 1, parts)
    return "\n".join(lines)


def _how_children(node: Node, indent: str, lines: list[str], width: int, level: int, parts: list[Node]) -> None:
    for i, route in enumerate(node.routes):
        branch, cont = TREE[i == len(node.routes) - 1]
        rule = route.rule
        label = "also, by rule" if node.given else "by rule"
        lines.append(
            f"{indent}{branch}{label} {visible(rule.id)} [{rule.strength.label}]: {visible(rule.title)}{origin(rule)}"
        )
        for source in rule.sources:
            pad = f"{indent}{cont}   "
            quoted = f'"{visible(source.quote)}" ({visible(source.document)})'
            lines.extend(
                textwrap.wrap(
                    quoted,
                    width=max(60, width),
                    initial_indent=pad,
                    subsequent_indent=pad + " ",
                    break_on_hyphens=False,
                )
            )
        for j, premise in enumerate(route.premises):
            pbranch, pcont = TREE[j == len(route.premises) - 1]
            line = f"{indent}{cont}{pbranch}{_node_line(premise)}"
            if premise.loop or premise.see_above:
                lines.append(line)
            elif level >= TREE_DEPTH and premise.routes:
                parts.append(premise)
                lines.append(f"{line}  (continued below at [{len(parts)}])")
            else:
                lines.append(line)
                _how_children(premise, indent + cont + pcont, lines, width, level + 1, parts)


def _node_line(node: Node) -> str:
    text = f"{node.fact}  [{strength_text(node.strength)}]"
    if node.loop:
        chain = " -> ".join(str(f) for f in node.loop)
        name = visible(node.loop_name) if node.loop_name else "a loop"
        return f"{text}  <- LOOP: {name}, back to a fact explained above ({chain})"
    if node.see_above:
        return f"{text}  (explained above)"
    return text


# ---------------------------------------------------------------------------
# why (at a question)
# ---------------------------------------------------------------------------


def why_level(w: Why, kb: KnowledgeBase, depth: int) -> str:
    """The ``depth``-th ``why`` at a question (1 = the rules it feeds)."""
    levels = w.levels
    if not levels:
        return "No rule can still use this answer; it is asked for the record."
    if depth > len(levels):
        return (
            "That is as far as it goes: what those rules conclude is not used by any further "
            "rule (they are outcomes or advice)."
        )
    level = levels[depth - 1]
    lines = []
    if depth == 1:
        lines.append(
            f"[why 1] Your answer to {w.concept} is needed by {len(level)} rule{'s' if len(level) > 1 else ''}:"
        )
    else:
        lines.append(f"[why {depth}] because what those rules conclude leads further:")
    for link in level:
        lines.append(_link_line(kb, link))
        if _quote(link.rule):
            lines.append(f'      "{visible(_quote(link.rule))}" ({visible(link.rule.sources[0].document)})')
        if link.negated:
            lines.append("      (your answer can only rule this one out, through its 'not' condition)")
        if link.loop:
            lines.append(f"      <- LOOP: this comes back to {w.concept}: {visible(link.loop.title)}")
    if depth < len(levels):
        lines.append("(type why again to climb one step further)")
    return "\n".join(lines)


def _link_line(kb: KnowledgeBase, link: Link) -> str:
    when = " and ".join(visible(str(c)) for c in link.rule.when)
    then = " and ".join(fact_text(kb, f) for f in link.concludes)
    return f"  - if {when} then {then}  [{visible(link.rule.id)}, {link.rule.strength.label}]{origin(link.rule)}"


# ---------------------------------------------------------------------------
# why-not
# ---------------------------------------------------------------------------


def why_not(w: WhyNot, kb: KnowledgeBase, shown: int = 8) -> str:
    fact = w.fact
    if w.holds:
        if w.given:
            return f"{fact} is one of your answers."
        return f"{fact} was concluded ({strength_text(w.strength)}); see how: cofactor how {fact}"
    lines = [f"{fact} ({fact_text(kb, fact)}) was not concluded from these answers."]
    if w.blocked is not None:
        rules = ", ".join(visible(j.rule.id) for j in w.blocked.justifications)
        answered = ",".join(w.answers.given.get(fact.concept, ()))
        lines.append(
            f"The rules did reach it ({rules}), but it was not added: it contradicts your "
            f"answer {fact.concept}={answered}, and an answer is never overridden."
        )
        lines.extend(conflicts_text(kb, (w.conflict,) if w.conflict else ()))
        if w.tensions:
            lines.append("")
            lines.extend(tensions_text(w.tensions))
        return "\n".join(lines)
    if not w.checks:
        lines.append(
            f"It is a question, not a conclusion: answer it with -a {fact}."
            if w.is_question
            else "No rule concludes it."
        )
    else:
        lines.append(f"{len(w.checks)} rule{'s' if len(w.checks) > 1 else ''} could conclude it:")
        parts: list[ConditionCheck] = []
        _checks_lines(w.checks, "  ", lines, 1, parts)
        for number, part in enumerate(parts, 1):  # grows while it is read: a part may continue too
            lines.append("")
            lines.append(f"[{number}] why not {visible(str(part.condition))}, continued:")
            _checks_lines(part.below, "  ", lines, 1, parts)
    if w.changes:
        lines.append("")
        lines.append("The smallest change of answers that would make it hold:")
        for option in w.changes[:shown]:
            lines.append("  - " + " and ".join(visible(str(c)) for c in option))
        if len(w.changes) > shown:
            lines.append(f"  ... and {len(w.changes) - shown} more of the same size (--json lists them all)")
    elif w.checks:
        lines.append("")
        lines.append("No change of answers would make it hold.")
    if w.tensions:
        lines.append("")
        lines.extend(tensions_text(w.tensions))
    return "\n".join(lines)


def _checks_lines(
    checks: Sequence[RuleCheck], indent: str, lines: list[str], level: int, parts: list[ConditionCheck]
) -> None:
    """The rules checked, each condition with why it fails; a why-not
    deeper than TREE_DEPTH goes in ``parts``, to go on below."""
    for check in checks:
        rule = check.rule
        lines.append(f"{indent}{visible(rule.id)} [{rule.strength.label}]: {visible(rule.title)}{origin(rule)}")
        for cond in check.conditions:
            mark = "ok" if cond.holds else "NO"
            known = ", ".join(f.state for f in cond.known)
            detail = STATUS_TEXT[cond.status].format(known=known, concept=cond.condition.concept)
            if cond.status == "not_concluded" and known:
                detail += f" (concluded: {known})"
            if cond.status == "not_answered" and not cond.loop and not cond.below:
                detail += f" (a question: -a {cond.condition.concept}=...)"
            lines.append(f"{indent}  [{mark}] {visible(str(cond.condition))}: {detail}")
            if cond.loop:
                name = visible(cond.loop_name) if cond.loop_name else "a loop"
                lines.append(f"{indent}       <- comes back to a fact already being explained: {name}")
            elif cond.see_above:
                lines.append(f"{indent}       (why not: explained above)")
            elif cond.below and level >= TREE_DEPTH:
                parts.append(cond)
                lines.append(f"{indent}       why not: continued below at [{len(parts)}]")
            elif cond.below:
                lines.append(f"{indent}       why not:")
                _checks_lines(cond.below, indent + "         ", lines, level + 1, parts)
        if check.set_aside and rule.stands_in_for is not None:
            lines.append(
                f"{indent}  [set aside] it stands in for {visible(str(rule.stands_in_for))}, "
                "which you answered otherwise: your answer counts instead, and the rule adds nothing"
            )


# ---------------------------------------------------------------------------
# what-if and trace
# ---------------------------------------------------------------------------


def what_if(result: WhatIf, kb: KnowledgeBase) -> str:
    rules = {r.id: r for r in kb.rules}

    def by(rule_id: str) -> str:
        rule = rules.get(rule_id)
        return visible(rule_id) + (origin(rule) if rule else "")

    lines = []
    if result.asked:
        lines.append("Changing " + ", ".join(result.asked) + ":")
    if not (result.gained or result.lost or result.changed):
        lines.append("No conclusion changes.")
    if result.gained:
        lines.append("Gained")
        for d in result.gained:
            using = f" using {', '.join(str(p) for p in d.premises)}" if d.premises else ""
            note = f" ({d.note})" if d.note else ""
            lines.append(f"  + {fact_text(kb, d.fact)}  [{strength_text(d.strength)}]  by {by(d.rule)}{using}{note}")
    if result.lost:
        lines.append("Lost")
        for d in result.lost:
            why = d.note or f"{', '.join(str(p) for p in d.premises)} no longer holds"
            lines.append(f"  - {fact_text(kb, d.fact)}  [{strength_text(d.strength)}]  {by(d.rule)}: {why}")
    if result.changed:
        lines.append("Strength changed")
        for fact, before, after in result.changed:
            lines.append(f"  ~ {fact_text(kb, fact)}: {before.label} -> {after.label}")
    for concept in result.conflicts_new:
        lines.append(f"  ! new conflict on {concept}")
    for concept in result.conflicts_resolved:
        lines.append(f"  ! conflict on {concept} resolved")
    return "\n".join(lines)


def trace(t: Trace, kb: KnowledgeBase | None = None) -> str:
    answers = ", ".join(str(f) for f in t.answers.facts()) or "(none)"
    lines = [f"answers: {answers}"]
    for traced in t.steps:
        step = traced.step
        matched = ", ".join(str(f) for f in step.matched) or "(nothing: only 'not' conditions)"
        lines.append(
            f"FIRE {step.number:>3} {visible(step.rule.id)} [{step.rule.strength.label}]: {matched}{origin(step.rule)}"
        )
        if traced.closes_loop:
            name = visible(traced.loop.title) if traced.loop else "a loop"
            lines.append(f"      (this firing goes round {name}: it reaches a fact its premises were built on)")
        for fact in step.added:
            lines.append(f"  ==> {fact}")
        for fact in step.blocked:
            lines.append(f"  =x= {fact} (not added: contradicts your answer)")
        if step.set_aside:
            stand_in = step.rule.stands_in_for
            lines.append(f"      (set aside: it stands in for {visible(str(stand_in))}, which you answered otherwise)")
        elif not step.added and not step.blocked:
            lines.append("      (nothing new: already known)")
        if t.agenda:
            if step.waiting:
                lines.append(f"      agenda ({len(step.waiting)} waiting):")
                for rule, facts in step.waiting:
                    lines.append(f"        {visible(rule.id)}: {', '.join(str(f) for f in facts)}")
            else:
                lines.append("      agenda: empty")
    lines.append(f"{len(t.steps)} firings, {t.conclusions} conclusions")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The knowledge base
# ---------------------------------------------------------------------------


OPTIONS_SHOWN = 12  # states numbered under a question; past it, the first few and a count
OPTIONS_WIDTH = 96  # columns of the full list that help shows of a question with many states


def options_line(concept: Concept, *, every: bool = False) -> str:
    """The numbered states under a question, and what else may be typed. A
    question with many states shows its first few and how many there are
    (help, ``every``, lists them all, wrapped)."""
    several = " (several: separate with commas)" if concept.multi else ""
    tail = f"- or unknown{several}; type help, why, how or back"
    items = [f"{i}) {s}" for i, s in enumerate(concept.states, 1)]
    if len(items) <= OPTIONS_SHOWN:
        return f"  {'  '.join(items)}  {tail}"
    if not every:
        shown = "  ".join(items[: OPTIONS_SHOWN - 2])
        return f"  {shown}  ... {items[-1]}  ({len(items):,} states: help lists them all)\n  {tail}"
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + 2 + len(item) > OPTIONS_WIDTH:
            lines.append("")
        lines[-1] = f"{lines[-1]}  {item}" if lines[-1] else item
    return "\n".join(f"  {line}" for line in [*lines, tail])


def rules_text(
    rules: Sequence[Rule],
    disabled: Sequence[Disabled] = (),
    tensions_of: Callable[[str], Sequence[Tension]] | None = None,
) -> str:
    """The rules, each with its sources and (``tensions_of`` given: a rule's
    tensions) the tensions it is in; then the disabled rules."""
    lines = []
    for rule in rules:
        added = "" if rule.builtin else "  (added by --rules)"
        lines.append(f"{visible(rule.id)}  [{rule.strength.label}]  {visible(rule.path)}{added}")
        lines.append(f"  {visible(rule.title)}")
        if rule.replaced:
            nearest, *earlier = (visible(r) for r in rule.replaced)
            lines.append(f"  replaces  {nearest}" + "".join(f", which replaced {r}" for r in earlier))
        lines.append(f"  when  {'; '.join(visible(str(c)) for c in rule.when)}")
        lines.append(f"  then  {'; '.join(str(f) for f in rule.then)}")
        if rule.stands_in_for is not None:
            lines.append(f"  stands in for  {visible(str(rule.stands_in_for))} (set aside when answered otherwise)")
        for source in rule.sources:
            lines.append(f'  {visible(source.document)}: "{visible(source.quote)}"')
        for tension in tensions_of(rule.id) if tensions_of else ():
            lines.append(f"  tension: {visible(tension.title)} [{visible(tension.id)}]")
        lines.append("")
    if disabled:
        lines.append("Disabled by --rules files")
        for gone in disabled:
            lines.append(
                f"  {visible(gone.rule.id)}  {visible(gone.rule.path)}, disabled by {visible(gone.by)}: "
                f"{visible(gone.rule.title)}"
            )
        lines.append("")
    count = f"{len(rules):,} rule" + ("" if len(rules) == 1 else "s")
    if disabled:
        count += f" ({len(disabled):,} disabled)"
    lines.append(count)
    return "\n".join(lines)


def concepts_text(kb: KnowledgeBase) -> str:
    lines = []
    ordered = kb.concepts_in_order()
    for kind in (Kind.QUESTION, *DERIVED_KINDS):
        members = [c for c in ordered if c.kind == kind]
        if not members:
            continue
        lines.append(TITLES[kind])
        for concept in members:
            states = ", ".join(concept.states)
            multi = " (several allowed)" if concept.multi else ""
            lines.append(f"  {concept.id}  {visible(concept.label)}: {states}{multi}")
            if concept.question:
                lines.append(f"      asks: {visible(concept.question)}")
            if concept.ask_if:
                lines.append(f"      only if: {'; '.join(str(c) for c in concept.ask_if)}")
            if concept.aliases:
                lines.append(f"      also typed as: {', '.join(visible(a) for a in concept.aliases)}")
            for path, added in concept.additions:
                lines.append(f"      states added by {visible(path)}: {', '.join(added)}")
        lines.append("")
    lines.append(f"{len(kb.concepts)} concepts")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

LEVEL_TITLES = {"error": "Errors", "warning": "Warnings", "info": "Information"}


def check_text(report: Report) -> str:
    """``check``'s report: every finding by level, then the summaries of the
    quotes, the examples and the exhaustive run, then the verdict."""
    builtin = sum(1 for f in report.files if f.startswith("rules/"))
    extra = len(report.files) - builtin
    files = f"{builtin} built-in file{'' if builtin == 1 else 's'}"
    if extra:
        files += f" and {extra} --rules file{'' if extra == 1 else 's'}"
    lines = [
        f"Checked {files}: {_count(report.rules, 'rule')}, {_count(report.concepts, 'concept')}, "
        f"{_count(report.documents, 'document')}."
    ]
    for level, title in LEVEL_TITLES.items():
        found = [f for f in report.findings if f.level == level]
        if not found:
            continue
        lines.append("")
        lines.append(f"{title} ({len(found)})")
        for finding in found:
            lines.extend(_finding_lines(finding))
    lines.append("")
    lines.append(
        f"Quotes: {report.quotes_verified} verified, {report.quotes_unverified} unverified, "
        f"{report.quotes_not_found} not found."
    )
    failed = f", {report.examples_failed} failed" if report.examples_failed else ", all pass"
    lines.append(f"Examples: {_count(report.examples, 'example')} run{failed if report.examples else ''}.")
    lines.extend(_exhaustive_lines(report.exhaustive))
    errors, warnings = report.errors, report.warnings
    lines.append("")
    if errors:
        lines.append(f"Result: {_count(errors, 'error')}, {_count(warnings, 'warning')}: fix the errors above.")
    else:
        lines.append(f"Result: no errors, {_count(warnings, 'warning')}.")
    return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _finding_lines(finding: Finding) -> list[str]:
    where = visible(finding.path) if finding.path else "(knowledge base)"
    if finding.ident:
        where += f": {visible(finding.ident)}"
    lines = [f"  {where}: {visible(finding.message)}  [{finding.code}]"]
    lines.extend(f"      {visible(detail)}" for detail in finding.details)
    if finding.fix:
        lines.append(f"      fix: {visible(finding.fix)}")
    return lines


def _exhaustive_lines(run: Exhaustive | None) -> list[str]:
    if run is None:
        return ["Exhaustive run: not run (see above)."]
    if run.error:
        return [f"Exhaustive run: stopped after {run.cases:,} cases: {visible(run.error)}"]
    if not run.complete:
        return [
            f"Exhaustive run: not run: {run.combinations:,} combinations of answers need at least {run.cases:,} "
            "cases, more than it runs; check the extension files one at a time."
        ]
    lines = [
        f"Exhaustive run: {run.combinations:,} combinations of answers covered by {run.cases:,} cases "
        f"in {run.seconds:.1f} s.",
        f"  {visible(run.reduction)}",
    ]
    if run.never_fired:
        lines.append(f"  {_count(len(run.never_fired), 'rule')} fire in no case: {', '.join(run.never_fired)}.")
    else:
        lines.append("  Every rule fires in some case.")
    if run.conflicts:
        lines.append(f"  {_count(len(run.conflicts), 'conflict')} some case produces (each with an example above).")
    else:
        lines.append("  No case produces a conflict.")
    return lines
