"""Plain-text renderings of cases, explanations and knowledge bases.

Pure functions from engine data to text; the command line adds colour and
decides where the text goes. Text that comes from rule files passes through
:func:`visible`, so a rule file cannot move the cursor or recolour the
terminal.
"""

from __future__ import annotations

import textwrap

from .explain import Node
from .loops import closes_loop, loops_met
from .model import Fact, KnowledgeBase, Rule, Strength
from .reasoning import Case, Conflict, Support

KIND_TITLES = (("mechanism", "Mechanisms"), ("outcome", "Outcomes"), ("advice", "Advice"))


def visible(text: str) -> str:
    """``text`` with control characters shown as escapes, never executed."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def strength_text(strength: Strength | None) -> str:
    if strength is None:
        return "not concluded"
    return "your answer" if strength is Strength.GIVEN else strength.label


def fact_text(kb: KnowledgeBase, fact: Fact) -> str:
    """``Label: state`` for people."""
    return f"{visible(kb.label(fact))}: {fact.state.replace('_', ' ')}"


def because(case: Case, support: Support) -> str:
    """One line: the premises of the strongest route to a conclusion."""
    just = support.best
    if just is None:
        return ""
    premises = " and ".join(fact_text(case.kb, p) for p in just.premises) or "nothing else"
    more = len(support.justifications) - 1
    tail = f"; {more} other route{'s' if more > 1 else ''}" if more else ""
    return f"because {premises} [{visible(just.rule.id)}]{tail}"


def numbered_conclusions(case: Case) -> list[Support]:
    """Conclusions in the order they are shown and numbered."""
    order = []
    for kind, _ in KIND_TITLES:
        order.extend(s for s in case.conclusions if case.kb.concepts[s.fact.concept].kind == kind)
    order.extend(s for s in case.conclusions if s not in order)
    return order


def case_text(case: Case) -> str:
    kb = case.kb
    lines = ["Answers"]
    if case.answers.given:
        asked = [q.id for q in kb.questions if q.id in case.answers.given]
        for concept_id in asked + sorted(set(case.answers.given) - set(asked)):
            states = case.answers.given[concept_id]
            label = visible(kb.concepts[concept_id].label)
            lines.append(f"  {label}: {', '.join(s.replace('_', ' ') for s in states)}")
    else:
        lines.append("  (none)")
    unknown = sorted(case.answers.unknown)
    if unknown:
        lines.append("  Unknown: " + ", ".join(visible(kb.concepts[c].label) for c in unknown))
    lines.append("")
    shown = numbered_conclusions(case)
    if not shown:
        lines.append("Conclusions: none follow from these answers.")
    else:
        lines.append("Conclusions")
        number = 0
        for kind, title in KIND_TITLES + (("", "Other"),):
            group = [
                s
                for s in shown
                if (kb.concepts[s.fact.concept].kind == kind)
                or (not kind and kb.concepts[s.fact.concept].kind not in dict(KIND_TITLES))
            ]
            if not group:
                continue
            lines.append(f"  {title}")
            for support in group:
                number += 1
                lines.append(f"  {number:>3}. {fact_text(kb, support.fact)}  [{strength_text(support.strength)}]")
                lines.append(f"       {because(case, support)}")
                hedge = hedged_text(case, support.fact)
                if hedge:
                    lines.append(f"       {hedge}")
    loops = loops_met(case)
    if loops:
        lines.append("")
        for loop, facts in loops:
            name = visible(loop.title) if loop else "a loop"
            lines.append(f"Loop: these conclusions go round {name}: " + " -> ".join(str(f) for f in facts))
    if case.conflicts:
        lines.append("")
        lines.extend(conflicts_text(case))
    return "\n".join(lines)


def hedged_text(case: Case, fact: Fact) -> str:
    """``possible, because "..." [rule]`` for a conclusion weaker than established."""
    support = case.support.get(fact)
    if support is None or support.strength >= Strength.ESTABLISHED or support.weakest is None:
        return ""
    rule = support.weakest
    quote, document = (rule.sources[0].quote, rule.sources[0].document) if rule.sources else ("", "")
    return f'{support.strength.label}, because "{visible(quote)}" ({visible(document)}) [{visible(rule.id)}]'


def conflicts_text(case: Case, conflicts: tuple[Conflict, ...] | None = None, width: int = 100) -> list[str]:
    lines = ["Conflicts (each side with its derivations)"]
    for conflict in conflicts if conflicts is not None else case.conflicts:
        lines.extend(conflict_columns(case, conflict, width))
    return lines


def how_text(kb: KnowledgeBase, node: Node, width: int = 100) -> str:
    lines: list[str] = []
    head = f"{node.fact}  ({fact_text(kb, node.fact)})  [{strength_text(node.strength)}]"
    lines.append(head)
    if node.given and not node.routes:
        lines.append("  This is one of your answers.")
    _how_children(kb, node, "", lines, width)
    return "\n".join(lines)


def _how_children(kb: KnowledgeBase, node: Node, indent: str, lines: list[str], width: int):
    routes = node.routes
    for i, route in enumerate(routes):
        last = i == len(routes) - 1
        branch, cont = ("└─ ", "   ") if last else ("├─ ", "│  ")
        rule = route.rule
        label = "also, by rule" if node.given else "by rule"
        lines.append(f"{indent}{branch}{label} {visible(rule.id)} [{rule.strength.label}]: {visible(rule.title)}")
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
            plast = j == len(route.premises) - 1
            pbranch, pcont = ("└─ ", "   ") if plast else ("├─ ", "│  ")
            lines.append(f"{indent}{cont}{pbranch}{_node_line(kb, premise)}")
            if not premise.loop and not premise.see_above:
                _how_children(kb, premise, indent + cont + pcont, lines, width)


def _node_line(kb: KnowledgeBase, node: Node) -> str:
    text = f"{node.fact}  [{strength_text(node.strength)}]"
    if node.loop:
        chain = " -> ".join(str(f) for f in node.loop)
        name = visible(node.loop_name) if node.loop_name else "a loop"
        return f"{text}  <- LOOP: {name}, back to a fact explained above ({chain})"
    if node.see_above:
        return f"{text}  (explained above)"
    if node.given:
        return f"{text}"
    return text


def weakest_text(case: Case, fact: Fact) -> str:
    support = case.support.get(fact)
    rule = support.weakest if support else None
    if rule is None:
        return ""
    quote = rule.sources[0].quote if rule.sources else ""
    return (
        f"{strength_text(support.strength)}: the weakest link is {visible(rule.id)} "
        f'[{rule.strength.label}], "{visible(quote)}"'
    )


def rules_text(kb: KnowledgeBase, rules: list[Rule] | None = None) -> str:
    lines = []
    for rule in rules if rules is not None else kb.rules:
        lines.append(f"{visible(rule.id)}  [{rule.strength.label}]  {visible(rule.path)}")
        lines.append(f"  {visible(rule.title)}")
        lines.append(f"  when  {'; '.join(visible(str(c)) for c in rule.when)}")
        lines.append(f"  then  {'; '.join(str(f) for f in rule.then)}")
        for source in rule.sources:
            lines.append(f'  {visible(source.document)}: "{visible(source.quote)}"')
        lines.append("")
    lines.append(f"{len(rules if rules is not None else kb.rules)} rules")
    return "\n".join(lines)


def concepts_text(kb: KnowledgeBase) -> str:
    lines = []
    groups = [("question", "Questions (asked in this order)")] + list(KIND_TITLES)
    for kind, title in groups:
        members = [c for c in kb.concepts.values() if c.kind == kind]
        if kind == "question":
            members = list(kb.questions)
        else:
            members.sort(key=lambda c: c.id)
        if not members:
            continue
        lines.append(title)
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
        lines.append("")
    lines.append(f"{len(kb.concepts)} concepts")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Explanations added for students: why, why-not, what-if, trace, conflicts
# ---------------------------------------------------------------------------


def why_level_text(kb: KnowledgeBase, concept_id: str, levels, depth: int) -> str:
    """The ``depth``-th ``why`` at a question (1 = the rules it feeds)."""
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
            f"[why 1] Your answer to {concept_id} is needed by {len(level)} rule{'s' if len(level) > 1 else ''}:"
        )
    else:
        lines.append(f"[why {depth}] because what those rules conclude leads further:")
    for link in level:
        lines.append(_link_line(kb, link))
        quote = link.rule.sources[0].quote if link.rule.sources else ""
        if quote:
            lines.append(f'      "{visible(quote)}" ({visible(link.rule.sources[0].document)})')
        if link.negated:
            lines.append("      (your answer can only rule this one out, through its 'not' condition)")
        if link.loop:
            lines.append(f"      <- LOOP: this comes back to {concept_id}: {visible(link.loop.title)}")
    if depth < len(levels):
        lines.append("(type why again to climb one step further)")
    return "\n".join(lines)


def _link_line(kb: KnowledgeBase, link) -> str:
    when = " and ".join(visible(str(c)) for c in link.rule.when)
    then = " and ".join(fact_text(kb, f) for f in link.concludes)
    return f"  - if {when} then {then}  [{visible(link.rule.id)}, {link.rule.strength.label}]"


def why_not_text(case: Case, fact: Fact, checks, changes, shown: int = 8) -> str:
    kb = case.kb
    lines = [f"{fact} ({fact_text(kb, fact)}) was not concluded from these answers."]
    concept = kb.concepts[fact.concept]
    blocked = [
        side
        for conflict in case.conflicts
        if conflict.concept == fact.concept
        for side in conflict.sides
        if side.state == fact.state and side.blocked
    ]
    if blocked:
        rules = ", ".join(visible(j.rule.id) for j in blocked[0].justifications)
        answered = ",".join(case.answers.given.get(fact.concept, ()))
        lines.append(
            f"The rules did reach it ({rules}), but it was not added: it contradicts your "
            f"answer {fact.concept}={answered}, and an answer is never overridden."
        )
        lines.extend(conflicts_text(case, tuple(c for c in case.conflicts if c.concept == fact.concept)))
        return "\n".join(lines)
    if not checks:
        if concept.is_question:
            lines.append(f"It is a question, not a conclusion: answer it with -a {fact}.")
        else:
            lines.append("No rule concludes it.")
    else:
        lines.append(f"{len(checks)} rule{'s' if len(checks) > 1 else ''} could conclude it:")
        _checks_lines(case, checks, "  ", lines)
    if changes:
        lines.append("")
        lines.append("The smallest change of answers that would make it hold:")
        for option in changes[:shown]:
            lines.append("  - " + " and ".join(visible(str(c)) for c in option))
        if len(changes) > shown:
            lines.append(f"  ... and {len(changes) - shown} more of the same size (--json lists them all)")
    elif checks:
        lines.append("")
        lines.append("No change of answers would make it hold.")
    return "\n".join(lines)


def _checks_lines(case: Case, checks, indent: str, lines: list[str]) -> None:
    for check in checks:
        rule = check.rule
        lines.append(f"{indent}{visible(rule.id)} [{rule.strength.label}]: {visible(rule.title)}")
        for cond in check.conditions:
            mark = "ok" if cond.holds else "NO"
            known = ", ".join(f.state for f in cond.known)
            detail = {
                "holds": "holds",
                "answered_otherwise": f"answered otherwise (you answered {known})",
                "not_answered": "not answered",
                "unknown": "answered unknown",
                "not_concluded": "not concluded" + (f" (concluded: {known})" if known else ""),
                "present": f"fails: {cond.condition.concept} is {known}",
            }[cond.status]
            if cond.status == "not_answered" and not cond.loop and not cond.below:
                detail += f" (a question: -a {cond.condition.concept}=...)"
            lines.append(f"{indent}  [{mark}] {visible(str(cond.condition))}: {detail}")
            if cond.loop:
                name = visible(cond.loop_name) if cond.loop_name else "a loop"
                lines.append(f"{indent}       <- comes back to a fact already being explained: {name}")
            elif cond.see_above:
                lines.append(f"{indent}       (why not: explained above)")
            elif cond.below:
                lines.append(f"{indent}       why not:")
                _checks_lines(case, cond.below, indent + "         ", lines)


def what_if_text(result) -> str:
    kb = result.before.kb
    lines = []
    if not (result.gained or result.lost or result.changed):
        lines.append("No conclusion changes.")
    if result.gained:
        lines.append("Gained")
        for d in result.gained:
            using = f" using {', '.join(str(p) for p in d.premises)}" if d.premises else ""
            note = f" ({d.note})" if d.note else ""
            lines.append(
                f"  + {fact_text(kb, d.fact)}  [{strength_text(d.strength)}]  by {visible(d.rule)}{using}{note}"
            )
    if result.lost:
        lines.append("Lost")
        for d in result.lost:
            why = d.note or f"{', '.join(str(p) for p in d.premises)} no longer holds"
            lines.append(f"  - {fact_text(kb, d.fact)}  [{strength_text(d.strength)}]  {visible(d.rule)}: {why}")
    if result.changed:
        lines.append("Strength changed")
        for fact, before, after in result.changed:
            lines.append(f"  ~ {fact_text(kb, fact)}: {before.label} -> {after.label}")
    before_c = {c.concept for c in result.before.conflicts}
    after_c = {c.concept for c in result.after.conflicts}
    for concept in sorted(after_c - before_c):
        lines.append(f"  ! new conflict on {concept}")
    for concept in sorted(before_c - after_c):
        lines.append(f"  ! conflict on {concept} resolved")
    return "\n".join(lines)


def trace_text(case: Case, agenda: bool = False) -> str:
    lines = []
    answers = ", ".join(str(f) for f in case.answers.facts()) or "(none)"
    lines.append(f"answers: {answers}")
    closing = closes_loop(case)
    loops = loops_met(case) if closing else []
    for step in case.steps:
        matched = ", ".join(str(f) for f in step.matched) or "(nothing: only 'not' conditions)"
        lines.append(f"FIRE {step.index:>3} {visible(step.rule.id)} [{step.rule.strength.label}]: {matched}")
        if step.index in closing:
            loop = next(
                (lp for lp, facts in loops if lp and (set(step.rule.then) | set(step.matched)) & set(facts)), None
            )
            name = visible(loop.title) if loop else "a loop"
            lines.append(f"      (this firing goes round {name}: it reaches a fact its premises were built on)")
        for fact in step.added:
            lines.append(f"  ==> {fact}")
        for fact in step.blocked:
            lines.append(f"  =x= {fact} (not added: contradicts your answer)")
        if not step.added and not step.blocked:
            lines.append("      (nothing new: already known)")
        if agenda:
            if step.waiting:
                lines.append(f"      agenda ({len(step.waiting)} waiting):")
                for rule, facts in step.waiting:
                    lines.append(f"        {visible(rule.id)}: {', '.join(str(f) for f in facts)}")
            else:
                lines.append("      agenda: empty")
    lines.append(f"{len(case.steps)} firings, {len(case.conclusions)} conclusions")
    return "\n".join(lines)


def conflict_columns(case: Case, conflict: Conflict, width: int = 100) -> list[str]:
    """One conflict with its sides side by side, each with its derivations."""
    kb = case.kb
    columns = []
    for side in conflict.sides:
        col = [f"{conflict.concept}={side.state}"]
        if side.given:
            col.append("your answer (never overridden)")
        else:
            col.append("not added: contradicts your answer" if side.blocked else "concluded")
            for just in side.justifications:
                col.append(f"by {visible(just.rule.id)} [{just.rule.strength.label}]")
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
