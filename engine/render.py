"""Plain-text renderings of cases, explanations and knowledge bases.

Pure functions from engine data to text; the command line adds colour and
decides where the text goes. Text that comes from rule files passes through
:func:`visible`, so a rule file cannot move the cursor or recolour the
terminal.
"""

from __future__ import annotations

import textwrap

from .explain import Node, weakest_link
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
    for just in support.justifications:
        weakest = min([just.rule.strength, *(case.support[p].strength for p in just.premises)])
        if weakest == support.strength:
            premises = " and ".join(fact_text(case.kb, p) for p in just.premises) or "nothing else"
            more = len(support.justifications) - 1
            tail = f"; {more} other route{'s' if more > 1 else ''}" if more else ""
            return f"because {premises} [{visible(just.rule.id)}]{tail}"
    return ""


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
            group = [s for s in shown if (kb.concepts[s.fact.concept].kind == kind)
                     or (not kind and kb.concepts[s.fact.concept].kind not in dict(KIND_TITLES))]
            if not group:
                continue
            lines.append(f"  {title}")
            for support in group:
                number += 1
                lines.append(f"  {number:>3}. {fact_text(kb, support.fact)}  [{strength_text(support.strength)}]")
                lines.append(f"       {because(case, support)}")
    if case.conflicts:
        lines.append("")
        lines.extend(conflicts_text(case))
    return "\n".join(lines)


def conflicts_text(case: Case, conflicts: tuple[Conflict, ...] | None = None) -> list[str]:
    kb = case.kb
    lines = ["Conflicts"]
    for conflict in conflicts if conflicts is not None else case.conflicts:
        label = visible(kb.concepts[conflict.concept].label)
        lines.append(f"  {label} ({conflict.concept}) is reached in {len(conflict.sides)} states:")
        for side in conflict.sides:
            if side.given:
                lines.append(f"    - {side.state}: your answer (an answer is never overridden)")
                continue
            note = " (not added: it contradicts your answer)" if side.blocked else ""
            lines.append(f"    - {side.state}{note}:")
            for just in side.justifications:
                premises = " and ".join(str(p) for p in just.premises) or "no premises"
                lines.append(f"        by {visible(just.rule.id)} [{just.rule.strength.label}] from {premises}")
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
            quoted = f"\"{visible(source.quote)}\" ({visible(source.document)})"
            lines.extend(textwrap.wrap(quoted, width=max(60, width), initial_indent=pad,
                                       subsequent_indent=pad + " ", break_on_hyphens=False))
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
        return f"{text}  <- LOOP: back to a fact explained above ({chain})"
    if node.see_above:
        return f"{text}  (explained above)"
    if node.given:
        return f"{text}"
    return text


def weakest_text(case: Case, fact: Fact) -> str:
    rule = weakest_link(case, fact)
    if rule is None:
        return ""
    quote = rule.sources[0].quote if rule.sources else ""
    return (f"{strength_text(case.support[fact].strength)}: the weakest link is {visible(rule.id)} "
            f"[{rule.strength.label}], \"{visible(quote)}\"")


def rules_text(kb: KnowledgeBase, rules: list[Rule] | None = None) -> str:
    lines = []
    for rule in rules if rules is not None else kb.rules:
        lines.append(f"{visible(rule.id)}  [{rule.strength.label}]  {visible(rule.path)}")
        lines.append(f"  {visible(rule.title)}")
        lines.append(f"  when  {'; '.join(visible(str(c)) for c in rule.when)}")
        lines.append(f"  then  {'; '.join(str(f) for f in rule.then)}")
        for source in rule.sources:
            lines.append(f"  {visible(source.document)}: \"{visible(source.quote)}\"")
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
