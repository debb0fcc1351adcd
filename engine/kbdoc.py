"""The knowledge-base reference: a knowledge base laid out as one Markdown file.

:func:`markdown` writes what the rule files hold, for people who read rather
than run them: the documents, every concept with its states and question,
and the rules grouped by topic (the rule file each came from), each topic
with its causal network drawn as a Mermaid flowchart. Nothing here knows
about any particular domain: every word of the file comes from the
knowledge base or from the few fixed headings below.

The output depends on the knowledge base alone (no dates, no absolute
paths: files are named as the knowledge base shows them), so the same rule
files give the same bytes and a test can tell when a committed copy is out
of date. Everything taken from a rule file is authored by users, so it goes
through :func:`text` (plain text, with Markdown's own characters escaped and
control characters shown as escapes by :func:`errors.visible`), through
:func:`code` (a code span, only for text that cannot break one), or through
:func:`mermaid_label` (inside a diagram): no rule file can break a table,
close a code block or end a diagram early.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from .errors import visible
from .model import DERIVED_KINDS, Concept, Condition, Example, Fact, Kind, KnowledgeBase, Rule, Strength

# The command that writes docs/knowledge-base.md again from the built-in rule
# files: named in the file's header, run by the command line, and shown by the
# test that fails when the committed file is out of date.
REGENERATE = "cofactor reference -o docs/knowledge-base.md"

TITLE = "Knowledge base reference"

# the section of each kind of concept that the rules conclude
KIND_TITLES = {Kind.MECHANISM: "Mechanisms", Kind.OUTCOME: "Outcomes", Kind.ADVICE: "Advice"}
KIND_WORDS = {
    Kind.QUESTION: ("question", "questions"),
    Kind.MECHANISM: ("mechanism", "mechanisms"),
    Kind.OUTCOME: ("outcome", "outcomes"),
    Kind.ADVICE: ("advice", "advice"),
}
OTHER_CONCEPTS = "Other concepts"

# How each kind of concept is drawn in a diagram: (opening, closing) around its
# quoted label. Questions are stadiums, mechanisms rectangles, outcomes
# hexagons, advice parallelograms; a concept the knowledge base does not
# define (a partial knowledge base) is a rectangle too.
SHAPES = {
    Kind.QUESTION: ("([", "])"),
    Kind.MECHANISM: ("[", "]"),
    Kind.OUTCOME: ("{{", "}}"),
    Kind.ADVICE: ("[/", "/]"),
}
PLAIN_SHAPE = ("[", "]")
EDGE = "-->"  # a condition that must hold
NOT_EDGE = "-.->"  # a 'not' condition: dashed, and its label starts with "not"

# Markdown's characters that can start markup inside a line; each is written
# with a backslash before it (CommonMark lets any ASCII punctuation be
# escaped so). '|' splits a table's cells, '$' starts math on some renderers,
# '#' closes a heading, '&' starts an entity, '<' a tag or an autolink.
MARKDOWN_SPECIAL = frozenset("\\`*[]<>|~&#$")
# what would start a list, a rule or a heading's underline at the start of a line
BLOCK_START = re.compile(r"(\d+(?=[.)])|)([-+=.)])")
# what a code span may hold as it is: no backtick (it would end the span), no
# '|' and no backslash (a table would split the cell there: a code span cannot
# escape them), and no space at either end (the span would trim it)
CODE_SAFE = re.compile(r"[^`|\\\s](?:[^`|\\]*[^`|\\\s])?")
# what a Mermaid label keeps as it is; anything else is written as the
# numeric entity Mermaid reads (#35; for '#'), so no quote, bracket, pipe,
# semicolon, tag or backtick from a rule file can end the label or the diagram
MERMAID_KEPT = frozenset(" .,:!?'()-/+=")
UNSAFE_ID = re.compile(r"[^A-Za-z0-9_]")
URL = re.compile(r"https?://[^\s<>()|\\`\"'\[\]{}]+")
VOWELS = frozenset("aeiouy")


# ---------------------------------------------------------------------------
# Safe text
# ---------------------------------------------------------------------------


def text(value: str) -> str:
    """``value`` as plain Markdown text on one line: control characters (line
    breaks included) as visible escapes, Markdown's characters escaped, so it
    reads as written wherever it lands (a paragraph, a heading, a table cell,
    the start of a line, where '-', '+', '=' or '1.' would start a block)."""
    shown = visible(value).strip()
    out = []
    if start := BLOCK_START.match(shown):
        out.append(start.group(1) + "\\" + start.group(2))
        shown = shown[start.end() :]
    for i, ch in enumerate(shown):
        if ch in MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif ch == "_" and not (0 < i < len(shown) - 1 and shown[i - 1].isalnum() and shown[i + 1].isalnum()):
            # an underscore inside a word cannot emphasise; at a word's edge it can
            out.append("\\_")
        else:
            out.append(ch)
    return "".join(out)


def code(value: str) -> str:
    """``value`` as a code span when it can be one safely, else as plain text."""
    shown = visible(value)
    if CODE_SAFE.fullmatch(shown):
        return f"`{shown}`"
    return text(value) if shown.strip() else '""'


def mermaid_label(value: str) -> str:
    """``value`` for a quoted Mermaid label: letters, digits and harmless
    punctuation as they are, everything else as Mermaid's ``#NNN;`` entity."""
    return "".join(ch if ch.isalnum() or ch in MERMAID_KEPT else f"#{ord(ch)};" for ch in visible(value))


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


# ---------------------------------------------------------------------------
# Names that must be unique and safe: anchors and Mermaid node ids
# ---------------------------------------------------------------------------


def _unique_names(
    keys: Iterable[str], pattern: re.Pattern[str], fill: str, shown: Callable[[str], str] = str
) -> dict[str, str]:
    """A safe name for each key: ``shown(key)`` with its unsafe characters
    replaced by ``fill``, and a number added where two keys would otherwise
    share a name. Keys are taken in sorted order, so a key's name never
    depends on where it was met."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key in sorted(set(keys)):
        base = pattern.sub(fill, shown(key)) or fill
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{fill}{n}"
        taken.add(name)
        names[key] = name
    return names


class Names(NamedTuple):
    """The safe names of one knowledge base's concepts, rules and topics."""

    concepts: dict[str, str]  # concept id -> [A-Za-z0-9_]+, unique
    rules: dict[str, str]  # rule id -> anchor
    topics: dict[str, str]  # rule file -> anchor (from the file's name)
    tensions: dict[str, str]  # tension id -> anchor

    def tension_anchor(self, tension_id: str) -> str:
        return "tension-" + self.tensions[tension_id]

    def node(self, concept: str) -> str:
        """The Mermaid node id of a concept: a prefix keeps it off Mermaid's
        keywords (``end``) and off edge markers (a leading ``o`` or ``x``)."""
        return "c_" + self.concepts[concept]

    def concept_anchor(self, concept: str) -> str:
        return "concept-" + self.concepts[concept]


def _names(kb: KnowledgeBase) -> Names:
    concepts = set(kb.concepts)
    for rule in kb.rules:
        concepts.update(c.concept for c in rule.when)
        concepts.update(f.concept for f in rule.then)
    anchor = re.compile(r"[^A-Za-z0-9_-]")
    return Names(
        concepts=_unique_names(concepts, UNSAFE_ID, "_"),
        rules=_unique_names((r.id for r in kb.rules), anchor, "-"),
        topics=_unique_names(_topic_paths(kb), anchor, "-", lambda path: _stem(path).lower()),
        tensions=_unique_names((t.id for t in kb.tensions), anchor, "-"),
    )


# ---------------------------------------------------------------------------
# Topics: the rule files
# ---------------------------------------------------------------------------


def _stem(path: str) -> str:
    name = re.split(r"[\\/]", path)[-1]
    return name[: -len(".toml")] if name.endswith(".toml") else name


def topic_title(path: str) -> str:
    """A readable title from a rule file's name: ``tsh-and-type-b.toml`` ->
    "TSH and type B", ``side_effects.toml`` -> "Side effects". A word
    without a vowel is taken for an abbreviation and written in capitals."""
    words = [w for w in re.split(r"[-_\s]+", _stem(path)) if w]
    if not words:
        return path or "Rules without a file"
    words = [w.upper() if w.isalpha() and not VOWELS & set(w.lower()) else w for w in words]
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _topic_paths(kb: KnowledgeBase) -> list[str]:
    """The rule files that hold rules: in the knowledge base's order of
    files, then any other (a knowledge base built by hand) by name."""
    used = {r.path for r in kb.rules}
    ordered = [f for f in kb.files if f in used]
    return ordered + sorted(used - set(ordered))


class Topic(NamedTuple):
    path: str
    title: str
    rules: tuple[Rule, ...]


def topics(kb: KnowledgeBase) -> tuple[Topic, ...]:
    """The rules grouped by the file each came from, each group by rule id."""
    return tuple(
        Topic(path, topic_title(path), tuple(sorted((r for r in kb.rules if r.path == path), key=lambda r: r.id)))
        for path in _topic_paths(kb)
    )


# ---------------------------------------------------------------------------
# The causal network of a topic
# ---------------------------------------------------------------------------


class Edge(NamedTuple):
    """From a concept a rule reads to a concept it concludes."""

    source: str
    target: str
    strength: Strength
    negated: bool


def edges(rules: Sequence[Rule]) -> tuple[Edge, ...]:
    """Each distinct (condition's concept, conclusion's concept, strength,
    negated) of ``rules``, in the rules' order."""
    seen = {
        Edge(cond.concept, fact.concept, rule.strength, cond.negated): None
        for rule in rules
        for cond in rule.when
        for fact in rule.then
    }
    return tuple(seen)


def _concept_order(kb: KnowledgeBase) -> dict[str, int]:
    return {c.id: i for i, c in enumerate(kb.concepts_in_order())}


def mermaid(kb: KnowledgeBase, rules: Sequence[Rule], names: Names | None = None) -> str:
    """The causal network of ``rules`` as a Mermaid flowchart: a node per
    concept they read or conclude, an edge per condition and conclusion."""
    names = names or _names(kb)
    network = edges(rules)
    used = {e.source for e in network} | {e.target for e in network}
    for rule in rules:  # a rule without conditions still shows what it concludes
        used.update(f.concept for f in rule.then)
    order = _concept_order(kb)

    def place(concept_id: str) -> tuple[int, str]:  # questions first, as asked; then by id
        return (order.get(concept_id, len(order)), concept_id)

    lines = ["flowchart LR"]
    for concept_id in sorted(used, key=place):
        concept = kb.concepts.get(concept_id)
        opening, closing = SHAPES.get(concept.kind, PLAIN_SHAPE) if concept else PLAIN_SHAPE
        label = mermaid_label((concept.label if concept else "") or concept_id)
        lines.append(f'  {names.node(concept_id)}{opening}"{label}"{closing}')
    for edge in sorted(network, key=lambda e: (place(e.source), place(e.target), e.negated, -e.strength)):
        arrow = NOT_EDGE if edge.negated else EDGE
        label = mermaid_label(("not, " if edge.negated else "") + edge.strength.label)
        lines.append(f'  {names.node(edge.source)} {arrow}|"{label}"| {names.node(edge.target)}')
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The Markdown file
# ---------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A table of cells already made safe (by :func:`text` or :func:`code`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _concept_link(kb: KnowledgeBase, names: Names, concept_id: str) -> str:
    """The concept's label, linked to where the concept is described."""
    concept = kb.concepts.get(concept_id)
    if concept is None or concept_id not in names.concepts:
        return f"{code(concept_id)} (not a concept of this knowledge base)"
    return f"[{text(concept.label or concept_id)}](#{names.concept_anchor(concept_id)})"


def _condition(kb: KnowledgeBase, names: Names, cond: Condition) -> str:
    return f"{code(str(cond))} ({_concept_link(kb, names, cond.concept)})"


def _fact(kb: KnowledgeBase, names: Names, fact: Fact) -> str:
    return f"{code(_fact_text(fact))} ({_concept_link(kb, names, fact.concept)})"


def _fact_text(fact: Fact) -> str:
    return f"{fact.concept} = {fact.state}"


def _states(concept: Concept) -> str:
    added = {s for _, states in concept.additions for s in states}
    shown = ", ".join(code(s) for s in concept.states if s not in added) or "none"
    for path, states in concept.additions:
        shown += f"; added by {code(path)}: " + ", ".join(code(s) for s in states)
    return shown


def _header(kb: KnowledgeBase, names: Names, command: str, found: Sequence[Topic]) -> list[str]:
    extension = {r.path for r in kb.rules if not r.builtin}
    files = ", ".join(code(f) + (" (added with `--rules`)" if f in extension else "") for f in kb.files)
    questions = len(kb.questions)
    lines = [
        f"# {TITLE}",
        "",
        f"<!-- Generated from the rule files: do not edit by hand. Regenerate with: {command} -->",
        "",
        f"This file is generated from the rule files {files or '(none)'}. "
        "Do not edit it by hand: after changing a rule file, write it again with",
        "",
        "```sh",
        command,
        "```",
        "",
        f"The knowledge base has {_plural(len(kb.concepts), 'concept')} "
        f"({_plural(questions, 'question')} and {_plural(len(kb.concepts) - questions, 'derived concept')}), "
        f"{_plural(len(kb.rules), 'rule')} in {_plural(len(found), 'topic')}, "
        f"{_plural(len(kb.documents), 'document')}, {_plural(len(kb.loops), 'named loop')} "
        f"and {_plural(len(kb.tensions), 'tension')} between the sources.",
        "",
        "## Contents",
        "",
        "- [Documents](#documents)",
        "- [Concepts](#concepts)",
        "- [Rules by topic](#rules-by-topic)",
    ]
    for topic in found:
        lines.append(
            f"  - [{text(topic.title)}](#topic-{names.topics[topic.path]}) ({_plural(len(topic.rules), 'rule')})"
        )
    if kb.loops:
        lines.append("- [Loops](#loops)")
    if kb.tensions:
        lines.append("- [Tensions](#tensions)")
    if kb.disabled:
        lines.append("- [Disabled rules](#disabled-rules)")
    return lines


def _documents(kb: KnowledgeBase) -> list[str]:
    lines = ["## Documents", ""]
    if not kb.documents:
        return [*lines, "No documents are declared.", ""]
    quoting: dict[str, set[str]] = {}
    for rule in kb.rules:
        for source in rule.sources:
            quoting.setdefault(source.document, set()).add(rule.id)
    lines.append("The rules quote these documents; each quote names the document by its id.")
    lines.append("")
    rows = []
    for doc in sorted(kb.documents.values(), key=lambda d: d.id):
        link = f"<{doc.url}>" if URL.fullmatch(doc.url) else text(doc.url)
        copy = code(doc.text or doc.file) if (doc.text or doc.file) else ""
        used = _plural(len(quoting.get(doc.id, ())), "rule")
        rows.append([code(doc.id), text(doc.title), text(doc.citation), link, copy, code(doc.path), used])
    lines += _table(["Id", "Title", "Citation", "Link", "Local copy", "Declared in", "Quoted by"], rows)
    return [*lines, ""]


def _question(kb: KnowledgeBase, names: Names, number: int, concept: Concept) -> list[str]:
    lines = [
        f'<a id="{names.concept_anchor(concept.id)}"></a>',
        "",
        f"#### {number}. {text(concept.label or concept.id)}",
        "",
        f"- **Id:** {code(concept.id)}, from {code(concept.path)}" if concept.path else f"- **Id:** {code(concept.id)}",
        f"- **Asks:** {text(concept.question)}",
        f"- **States:** {_states(concept)}",
    ]
    if concept.multi:
        answers = "several states at once"
        if concept.exclusive:
            answers += "; " + ", ".join(code(s) for s in concept.exclusive) + " only alone"
        lines.append(f"- **Answers:** {answers}")
    if concept.ask_if:
        lines.append("- **Asked only if:** " + " and ".join(_condition(kb, names, c) for c in concept.ask_if))
    if concept.help:
        lines.append(f"- **Help:** {text(concept.help)}")
    if concept.description:
        lines.append(f"- **About:** {text(concept.description)}")
    if concept.aliases:
        lines.append("- **Also typed as:** " + ", ".join(code(a) for a in concept.aliases))
    return [*lines, ""]


def _concepts(kb: KnowledgeBase, names: Names) -> list[str]:
    lines = ["## Concepts", ""]
    counts = []
    ordered = kb.concepts_in_order()
    for kind in (Kind.QUESTION, *DERIVED_KINDS):
        count = sum(1 for c in ordered if c.kind == kind)
        if count:
            one, many = KIND_WORDS[kind]
            counts.append(_plural(count, one, many))
    lines.append(
        f"{_plural(len(kb.concepts), 'concept')}: {', '.join(counts) or 'none'}. "
        "The questions are asked of the user; the rules conclude the others."
    )
    lines.append("")
    lines += ["### Questions", ""]
    if not kb.questions:
        lines += ["No questions.", ""]
    else:
        lines += ["In the order they are asked.", ""]
    for number, concept in enumerate(kb.questions, 1):
        lines += _question(kb, names, number, concept)
    derived = [c for c in ordered if not c.is_question]
    groups: list[tuple[str, list[Concept]]] = [
        (title, [c for c in derived if c.kind == kind]) for kind, title in KIND_TITLES.items()
    ]
    groups.append((OTHER_CONCEPTS, [c for c in derived if c.kind not in KIND_TITLES]))
    for title, members in groups:
        if not members:
            continue
        aliases = any(c.aliases for c in members)
        header = ["Id", "Label", "States", "Description", *(["Also typed as"] if aliases else []), "Declared in"]
        rows = []
        for concept in members:
            row = [
                f'<a id="{names.concept_anchor(concept.id)}"></a>{code(concept.id)}',
                text(concept.label),
                _states(concept),
                text(concept.description),
            ]
            if aliases:
                row.append(", ".join(code(a) for a in concept.aliases))
            row.append(code(concept.path) if concept.path else "")
            rows.append(row)
        lines += [f"### {title}", "", *_table(header, rows), ""]
    return lines


def _example(kb: KnowledgeBase, example: Example) -> str:
    answers = []
    for concept_id, states in example.answers:
        if not states:
            answers.append(code(f"{concept_id} = unknown"))
        elif len(states) == 1:
            answers.append(code(f"{concept_id} = {states[0]}"))
        else:
            answers.append(code(f"{concept_id} = [{', '.join(states)}]"))
    strengths = dict(example.strengths)
    expected = [code(_fact_text(f)) + (f" ({strengths[f].label})" if f in strengths else "") for f in example.expect]
    parts = [f"*{text(example.name)}*: answers " + (", ".join(answers) or "none")]
    if expected:
        parts.append("expects " + ", ".join(expected))
    if example.absent:
        parts.append("expects absent " + ", ".join(code(_fact_text(f)) for f in example.absent))
    return "; ".join(parts)


def _rule(kb: KnowledgeBase, names: Names, rule: Rule) -> list[str]:
    when = " and ".join(_condition(kb, names, c) for c in rule.when) or "always (no conditions)"
    then = " and ".join(_fact(kb, names, f) for f in rule.then) or "nothing"
    lines = [
        f'<a id="rule-{names.rules[rule.id]}"></a>',
        "",
        f"#### {code(rule.id)}",
        "",
        text(rule.title) or "(no title)",
        "",
        f"- **When:** {when}",
        f"- **Then:** {then}",
        f"- **Strength:** {rule.strength.label}",
    ]
    if rule.stands_in_for is not None:
        lines.append(
            f"- **Stands in for:** {code(str(rule.stands_in_for))}: set aside, adding nothing, "
            "when a case answers that question otherwise"
        )
    replaced = rule.replaced or ((rule.replaces,) if rule.replaces else ())
    if replaced:
        nearest, *earlier = replaced
        lines.append(f"- **Replaces:** {code(nearest)}" + "".join(f", which replaced {code(r)}" for r in earlier))
    if rule.sources:
        lines.append("- **Sources:**")
        for source in rule.sources:
            lines.append(f'  - {code(source.document)}: "{text(source.quote)}"')
    else:
        lines.append("- **Sources:** none")
    for tension in sorted(kb.tensions_of(rule.id), key=lambda t: t.id):
        lines.append(f"- **Tension:** [{text(tension.title)}](#{names.tension_anchor(tension.id)})")
    if rule.examples:
        lines.append("- **Examples:**")
        lines += [f"  - {_example(kb, e)}" for e in rule.examples]
    return [*lines, ""]


def _rules(kb: KnowledgeBase, names: Names, found: Sequence[Topic]) -> list[str]:
    lines = [
        "## Rules by topic",
        "",
        "A topic is the rule file its rules come from. Each topic's diagram is its causal network: "
        "an arrow goes from a concept a rule reads to the concept it concludes, labelled with the rule's "
        'strength; a dashed arrow labelled "not" is a condition that holds when its concept is *not* in '
        "the states named. Questions are drawn with round ends, mechanisms as rectangles, outcomes as "
        "hexagons and advice as slanted boxes.",
        "",
    ]
    if not found:
        lines += ["No rules.", ""]
    extension = {r.path for r in kb.rules if not r.builtin}
    for topic in found:
        origin = " (added with `--rules`)" if topic.path in extension else ""
        lines += [
            f'<a id="topic-{names.topics[topic.path]}"></a>',
            "",
            f"### {text(topic.title)}",
            "",
            f"{_plural(len(topic.rules), 'rule')} from {code(topic.path)}{origin}.",
            "",
            "```mermaid",
            mermaid(kb, topic.rules, names),
            "```",
            "",
        ]
        rows = [[f"[{code(r.id)}](#rule-{names.rules[r.id]})", text(r.title), r.strength.label] for r in topic.rules]
        lines += [*_table(["Rule", "Title", "Strength"], rows), ""]
        for rule in topic.rules:
            lines += _rule(kb, names, rule)
    return lines


def _loops(kb: KnowledgeBase, names: Names) -> list[str]:
    if not kb.loops:
        return []
    rows = [
        [
            code(loop.id),
            text(loop.title),
            ", ".join(_concept_link(kb, names, c) for c in loop.through),
            text(loop.description),
            code(loop.path) if loop.path else "",
        ]
        for loop in kb.loops
    ]
    return [
        "## Loops",
        "",
        "Feedback loops of the rule graph, named so that explanations can say which loop they meet.",
        "",
        *_table(["Id", "Title", "Concepts on it", "Description", "Declared in"], rows),
        "",
    ]


def _tensions(kb: KnowledgeBase, names: Names) -> list[str]:
    if not kb.tensions:
        return []
    lines = [
        "## Tensions",
        "",
        "Where the sources differ on a claim the rules encode. Every explanation that uses one of "
        "a tension's rules shows it, with each side's quote.",
        "",
    ]
    for tension in sorted(kb.tensions, key=lambda t: t.id):
        rules = ", ".join(
            f"[{code(r)}](#rule-{names.rules[r]})" if r in names.rules else code(r) for r in tension.rules
        )
        declared = f", from {code(tension.path)}" if tension.path else ""
        lines += [
            f'<a id="{names.tension_anchor(tension.id)}"></a>',
            "",
            f"### {text(tension.title) or code(tension.id)}",
            "",
            f"- **Id:** {code(tension.id)}{declared}",
            f"- **The sources differ:** {text(tension.statement)}",
            f"- **Rules:** {rules}",
            "- **Sides:**",
            *(f'  - {code(side.document)}: "{text(side.quote)}"' for side in tension.sides),
            "",
        ]
    return lines


def _disabled(kb: KnowledgeBase) -> list[str]:
    if not kb.disabled:
        return []
    rows = [
        [code(d.rule.id), text(d.rule.title), code(d.rule.path), code(d.by)]
        for d in sorted(kb.disabled, key=lambda d: d.rule.id)
    ]
    return [
        "## Disabled rules",
        "",
        "Rules that a `--rules` file took out of the knowledge base (with `disables`).",
        "",
        *_table(["Rule", "Title", "From", "Disabled by"], rows),
        "",
    ]


def markdown(kb: KnowledgeBase, *, command: str = REGENERATE) -> str:
    """The reference of ``kb`` as Markdown; ``command`` is the one named in
    its header as the way to write it again."""
    names = _names(kb)
    found = topics(kb)
    lines = [
        *_header(kb, names, visible(command), found),
        "",
        *_documents(kb),
        *_concepts(kb, names),
        *_rules(kb, names, found),
        *_loops(kb, names),
        *_tensions(kb, names),
        *_disabled(kb),
    ]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(line.rstrip() for line in lines) + "\n"
