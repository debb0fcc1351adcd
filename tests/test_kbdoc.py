"""docs/knowledge-base.md: generated from the rule files, kept up to date, and
safe whatever text the rule files hold.

The reference is read back here as a reader's renderer would read it: table
rows split on their unescaped pipes, Markdown's backslash escapes undone,
each Mermaid block parsed line by line into its nodes and edges, which are
then compared with the knowledge base itself."""

from __future__ import annotations

import re
import string

import pytest
from conftest import PROJECT

from cofactor.engine import kbdoc
from cofactor.engine.errors import visible
from cofactor.engine.model import (
    Concept,
    Condition,
    Disabled,
    Document,
    Example,
    Fact,
    Kind,
    KnowledgeBase,
    Loop,
    Rule,
    SourceRef,
    Strength,
    Tension,
)

DOC = PROJECT / "docs" / "knowledge-base.md"

# one line of a Mermaid block: a node (id, opening, label, closing) or an edge
NODE = re.compile(r'  (c_[A-Za-z0-9_]+)(\(\[|\[/|\{\{|\[)"([^"]*)"(\]\)|/\]|\}\}|\])')
EDGE = re.compile(r'  (c_[A-Za-z0-9_]+) (-->|-\.->)\|"([^"]*)"\| (c_[A-Za-z0-9_]+)')
SHAPES = {"([": "])", "[/": "/]", "{{": "}}", "[": "]"}
PUNCTUATION = set(string.punctuation)


# ---------------------------------------------------------------------------
# Reading the Markdown back
# ---------------------------------------------------------------------------


def unescape(markdown: str) -> str:
    """The text a reader sees: Markdown's backslash escapes undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def cells(row: str) -> list[str]:
    """A table row's cells, split as GitHub's renderer splits them: a
    backslash and the punctuation after it are one character, and every
    other pipe (inside a code span too) ends a cell."""
    found, cell, i = [], "", 0
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in PUNCTUATION:
            cell += body[i : i + 2]
            i += 2
            continue
        if ch == "|":
            found.append(cell)
            cell = ""
        else:
            cell += ch
        i += 1
    if cell.strip():
        found.append(cell)
    return found


def tables(markdown: str) -> list[list[str]]:
    """Every table: its consecutive lines starting with a pipe."""
    found: list[list[str]] = []
    previous = False
    for line in markdown.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            found.append([])
        if is_row:
            found[-1].append(line)
        previous = is_row
    return found


def line_kind(line: str) -> str:
    """What a line of Markdown starts, as a renderer sees it."""
    if not line.strip():
        return "blank"
    for kind, pattern in [
        ("fence", r"```|~~~"),
        ("heading", r"#{1,6} "),
        ("table", r"\|"),
        ("anchor", r'<a id="[^"]*"></a>'),
        ("comment", r"<!--"),
        ("nested item", r"  [-+*] "),
        ("item", r"[-+*] "),
        ("diagram", r"flowchart |  c_"),
        ("numbered", r"\d+[.)]"),
        ("break", r"[-*_=]{3,}|={1,}$|-{1,}$"),
        ("html or quote", r"\s*[<>]"),
        ("indented", r"\s"),
    ]:
        if re.match(pattern, line):
            return kind
    return "paragraph"


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)\n```$", markdown, re.S | re.M)


def decode(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


class Diagram:
    """A Mermaid block read back: every line must be the header, a node or
    an edge, in the one shape the reference writes."""

    def __init__(self, block: str):
        lines = block.split("\n")
        assert lines[0] == "flowchart LR", lines[0]
        self.nodes: dict[str, tuple[str, str]] = {}  # node id -> (shape, label)
        self.edges: set[tuple[str, str, str, bool]] = set()
        for line in lines[1:]:
            if node := NODE.fullmatch(line):
                ident, opening, label, closing = node.groups()
                assert SHAPES[opening] == closing, line
                assert ident not in self.nodes, f"node {ident} is declared twice"
                self.nodes[ident] = (opening, decode(label))
            elif edge := EDGE.fullmatch(line):
                source, arrow, label, target = edge.groups()
                negated = arrow == "-.->"
                strength = decode(label)
                if negated:
                    assert strength.startswith("not, "), line
                    strength = strength.removeprefix("not, ")
                self.edges.add((source, target, strength, negated))
            else:
                pytest.fail(f"a line of a Mermaid block is neither a node nor an edge: {line!r}")
        for source, target, _, _ in self.edges:
            assert source in self.nodes and target in self.nodes, (source, target)


def expected_edges(rules) -> set[tuple[str, str, str, bool]]:
    """The causal network of ``rules``, straight from the rules."""
    return {
        (cond.concept, fact.concept, rule.strength.label, cond.negated)
        for rule in rules
        for cond in rule.when
        for fact in rule.then
    }


def topic_sections(markdown: str) -> list[str]:
    """The text of each topic, from its anchor to the next topic's (or to
    the end of the rules)."""
    rules = markdown.split("\n## Rules by topic\n", 1)[1]
    rules = re.split(r"\n## (?:Loops|Tensions|Disabled rules)\n", rules, maxsplit=1)[0]
    return re.split(r'^<a id="topic-[^"]*"></a>$', rules, flags=re.M)[1:]


# ---------------------------------------------------------------------------
# The committed reference
# ---------------------------------------------------------------------------


def test_the_committed_reference_is_the_generated_one(kb):
    """A rule file changed without regenerating the reference fails here,
    with the command that puts it right."""
    expected = kbdoc.markdown(kb)
    if not DOC.exists():
        pytest.fail(f"docs/knowledge-base.md is missing: write it with `{kbdoc.REGENERATE}`", pytrace=False)
    actual = DOC.read_text(encoding="utf-8")
    if actual != expected:
        old, new = actual.splitlines(), expected.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        pytest.fail(
            f"docs/knowledge-base.md is out of date with the rule files (first difference at line {line + 1}): "
            f"regenerate it with `{kbdoc.REGENERATE}`",
            pytrace=False,
        )


def test_the_regenerate_command_writes_the_committed_file_and_the_header_names_it(kb):
    assert kbdoc.REGENERATE.split() == ["cofactor", "reference", "-o", DOC.relative_to(PROJECT).as_posix()]
    head = kbdoc.markdown(kb).split("## Contents", 1)[0]
    assert f"```sh\n{kbdoc.REGENERATE}\n```" in head
    assert "generated" in head
    for name in kb.files:
        assert f"`{name}`" in head, name


def test_every_rule_concept_document_and_quote_appears(kb):
    doc = kbdoc.markdown(kb)
    read = unescape(doc)
    for rule in kb.rules:
        assert f"#### `{rule.id}`" in doc, rule.id
        assert rule.title in read, rule.id
        for source in rule.sources:
            assert f'`{source.document}`: "{source.quote}"' in read, (rule.id, source.quote)
    for concept in kb.concepts.values():
        assert f'<a id="concept-{concept.id}"></a>' in doc, concept.id
        assert f"`{concept.id}`" in doc, concept.id
        assert concept.label in read, concept.id
        for state in concept.states:
            assert f"`{state}`" in doc, (concept.id, state)
    for question in kb.questions:
        assert question.question in read, question.id
    for document in kb.documents.values():
        assert f"| `{document.id}` | {document.title} |" in read, document.id
    for loop in kb.loops:
        assert f"| `{loop.id}` |" in doc, loop.id


def test_questions_come_in_the_order_asked_and_each_rule_under_its_file(kb):
    doc = kbdoc.markdown(kb)
    positions = [doc.index(f'<a id="concept-{q.id}"></a>') for q in kb.questions]
    assert positions == sorted(positions)
    sections = topic_sections(doc)
    paths = sorted({r.path for r in kb.rules}, key=kb.files.index)
    assert len(sections) == len(paths)
    for path, section in zip(paths, sections, strict=True):
        mine = {r.id for r in kb.rules if r.path == path}
        assert f"from `{path}`" in section
        assert set(re.findall(r"^#### `([^`]+)`$", section, re.M)) == mine, path


def test_each_topic_has_one_diagram_whose_edges_are_its_rules(kb):
    doc = kbdoc.markdown(kb)
    sections = topic_sections(doc)
    assert len(mermaid_blocks(doc)) == len(sections)
    paths = sorted({r.path for r in kb.rules}, key=kb.files.index)
    for path, section in zip(paths, sections, strict=True):
        rules = [r for r in kb.rules if r.path == path]
        (block,) = mermaid_blocks(section)
        diagram = Diagram(block)
        # the built-in concept ids are already safe: each node is its concept
        edges = {(s.removeprefix("c_"), t.removeprefix("c_"), st, neg) for s, t, st, neg in diagram.edges}
        assert edges == expected_edges(rules), path
        used = {c.concept for r in rules for c in r.when} | {f.concept for r in rules for f in r.then}
        assert {n.removeprefix("c_") for n in diagram.nodes} == used, path
        for node, (shape, label) in diagram.nodes.items():
            concept = kb.concepts[node.removeprefix("c_")]
            assert label == concept.label
            assert shape == {"question": "([", "mechanism": "[", "outcome": "{{", "advice": "[/"}[concept.kind]
    # the negated condition of the built-in knowledge base is drawn dashed
    assert any(c.negated for r in kb.rules for c in r.when)
    assert '-.->|"not, ' in doc


def test_every_table_row_of_the_reference_has_its_header_s_cells(kb):
    doc = kbdoc.markdown(kb)
    found = tables(doc)
    assert len(found) >= 4  # documents, the derived concepts, each topic's rules, loops
    for table in found:
        width = len(cells(table[0]))
        assert all(len(cells(row)) == width for row in table), table[0]


# ---------------------------------------------------------------------------
# Hostile text
# ---------------------------------------------------------------------------

# text an author could write in a rule file, and worse
HOSTILE = '- a | b `c` ``` [d](e) <b>f</b> "g" #h\n# i\r\n| j | \x1b[31m \\| k & *l* _m_ $n$ ~~o~~ end; --> %% \u202e'


def _make_kb(word: str, *, ids: bool = False) -> KnowledgeBase:
    """A small knowledge base with ``word`` in every free text; with ``ids``
    its concept ids are ones that a Mermaid id or an anchor cannot hold as
    they are (built by hand: the loader would refuse them)."""
    q, m, o, a = ("end", "a-b", "a_b", "o x|y`z") if ids else ("question", "mechanism", "outcome", "advice")
    concepts = {
        q: Concept(
            q,
            word,
            ("low", "high", "borderline"),
            Kind.QUESTION,
            question=word,
            help=word,
            description=word,
            aliases=(word,),
            ask_if=(Condition(o, ("present",), negated=True),),
            multi=True,
            exclusive=("low",),
            order=1,
            path=word,
            additions=((word, ("borderline",)),),
        ),
        m: Concept(m, word, ("impaired",), Kind.MECHANISM, description=word, aliases=(word,), path=word),
        o: Concept(o, word, ("present",), Kind.OUTCOME, description=word, path=word),
        a: Concept(a, word, ("recommended",), Kind.ADVICE, description=word, path=word),
    }
    example = Example(
        word,
        ((q, ("low",)), (m, ())),
        expect=(Fact(o, "present"),),
        absent=(Fact(a, "recommended"),),
        strengths=((Fact(o, "present"), Strength.LIKELY),),
    )
    rules = (
        Rule(
            "r.one",
            word,
            (Condition(q, ("low", "borderline")),),
            (Fact(m, "impaired"),),
            Strength.ESTABLISHED,
            (SourceRef("doc", word), SourceRef("doc", word)),
            path=word,
            examples=(example,),
        ),
        Rule(
            "r.two",
            word,
            (Condition(m, ("impaired",)), Condition(q, ("high",), negated=True)),
            (Fact(o, "present"), Fact(a, "recommended")),
            Strength.POSSIBLE,
            (SourceRef("doc", word),),
            path="second.toml",
            replaces="r.old",
            replaced=("r.old", "r.older"),
            builtin=False,
        ),
    )
    disabled = (Disabled(Rule("r.gone", word, (), (Fact(o, "present"),), Strength.LIKELY, (), path=word), word),)
    documents = {"doc": Document("doc", word, path=word, citation=word, url=word, text=word)}
    loops = (Loop("loop", word, (q, m), word, word),)
    tensions = (
        Tension("tension", word, word, ("r.one", "r.two"), (SourceRef("doc", word), SourceRef("doc", word)), word),
    )
    return KnowledgeBase(
        concepts, rules, documents, (word, "second.toml"), loops=loops, disabled=disabled, tensions=tensions
    )


@pytest.mark.parametrize(
    "words",
    [HOSTILE, "1. ---", "===", "+ > quote", "    indented", "<div>"],
    ids=["hostile", "numbered", "underline", "item", "indented", "html"],
)
@pytest.mark.parametrize("ids", [False, True], ids=["safe ids", "hostile ids"])
def test_hostile_text_keeps_the_layout(ids, words):
    """The same knowledge base with hostile text in every title, label,
    quote, question, file name and URL gives the same lines, each of the
    same kind, as with plain words: nothing from a rule file adds a line,
    a cell, a heading or a code block."""
    plain = kbdoc.markdown(_make_kb("word", ids=ids)).splitlines()
    hostile_doc = kbdoc.markdown(_make_kb(words, ids=ids))
    hostile = hostile_doc.splitlines()
    assert len(hostile) == len(plain)
    for a, b in zip(plain, hostile, strict=True):
        assert line_kind(a) == line_kind(b), (a, b)
    assert all(ch.isprintable() for ch in hostile_doc.replace("\n", "")), "a control character reached the file"
    # the command's block and the two topics' diagrams, each opened and closed
    assert sum(line.startswith("```") for line in hostile) == 6
    assert hostile_doc.count("```") == 6
    for table in tables(hostile_doc):
        width = len(cells(table[0]))
        for row in table:
            assert len(cells(row)) == width, row
    # the hostile text reads back as written (control characters as escapes)
    assert unescape(kbdoc.text(words)) == visible(words).strip()


def test_hostile_text_reads_back_from_tables_and_sources():
    doc = kbdoc.markdown(_make_kb(HOSTILE))
    shown = visible(HOSTILE).strip()
    rows = [row for table in tables(doc) for row in table[2:]]
    document_row = next(r for r in rows if r.startswith("| `doc` |"))
    assert unescape(cells(document_row)[1]).strip() == shown  # the title
    assert unescape(cells(document_row)[2]).strip() == shown  # the citation
    assert "<http" not in doc  # a URL that is not a plain web address is never made a link
    assert f'`doc`: "{shown}"' in unescape(doc)


@pytest.mark.parametrize("ids", [False, True], ids=["safe ids", "hostile ids"])
def test_hostile_text_keeps_the_diagrams_sound(ids):
    kb = _make_kb(HOSTILE, ids=ids)
    blocks = mermaid_blocks(kbdoc.markdown(kb))
    assert len(blocks) == 2
    topics = [[kb.rules[0]], [kb.rules[1]]]
    for block, rules in zip(blocks, topics, strict=True):
        # no backtick can close the code block; a ';' only ends an entity (#35;)
        assert "`" not in block and ";" not in re.sub(r"#\d+;", "", block)
        diagram = Diagram(block)
        # each label reads back as the concept's label, made visible
        assert {label for _, label in diagram.nodes.values()} == {visible(HOSTILE)}
        # one node per concept: hostile ids that clash once made safe ("a-b", "a_b") stay apart
        used = {c.concept for r in rules for c in r.when} | {f.concept for r in rules for f in r.then}
        assert len(diagram.nodes) == len(used)
        assert len(diagram.edges) == len(expected_edges(rules))
        for node in diagram.nodes:
            assert re.fullmatch(r"c_[A-Za-z0-9_]+", node), node


def test_mermaid_labels_and_safe_text_hold_anything():
    for value in [HOSTILE, '"]);\nflowchart', "#quot; #35;", "ünïcödé ☃", ""]:
        label = kbdoc.mermaid_label(value)
        assert '"' not in label and "`" not in label and "|" not in label and "\n" not in label
        assert decode(label) == visible(value)
        assert "\n" not in kbdoc.text(value) and "\n" not in kbdoc.code(value)
        assert unescape(kbdoc.text(value)) == visible(value).strip()


def test_code_spans_only_for_text_that_cannot_break_them():
    assert kbdoc.code("rules/bone.toml") == "`rules/bone.toml`"
    for value in ["a`b", "a|b", "a\\b", " a", "a\nb"]:
        shown = kbdoc.code(value)
        assert not shown.startswith("`"), value
        assert unescape(shown) == visible(value).strip()
    assert kbdoc.code("") == '""'


# ---------------------------------------------------------------------------
# What the reference says of extensions
# ---------------------------------------------------------------------------


def test_added_states_replacements_examples_loops_tensions_and_disabled_rules_are_shown():
    doc = kbdoc.markdown(_make_kb("word"))
    assert "- **States:** `low`, `high`; added by `word`: `borderline`" in doc
    assert "- **Replaces:** `r.old`, which replaced `r.older`" in doc
    assert (
        "*word*: answers `question = low`, `mechanism = unknown`; expects `outcome = present` (likely); "
        "expects absent `advice = recommended`"
    ) in doc
    assert "## Loops" in doc and "| `loop` | word |" in doc
    assert "## Disabled rules" in doc and "| `r.gone` | word | `word` | `word` |" in doc
    assert "## Tensions" in doc and "- **Id:** `tension`, from `word`" in doc
    assert doc.count("- **Tension:** [word](#tension-tension)") == 2
    assert "1 rule from `second.toml` (added with `--rules`)." in doc
    assert "- **Answers:** several states at once; `low` only alone" in doc


def test_topic_titles_come_from_file_names():
    assert kbdoc.topic_title("rules/vitamin-d.toml") == "Vitamin D"
    assert kbdoc.topic_title("rules/diet-and-balance.toml") == "Diet and balance"
    assert kbdoc.topic_title("ext/my_rules.toml") == "My rules"
    assert kbdoc.topic_title("pth.toml") == "PTH"


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------


def test_the_same_knowledge_base_gives_the_same_bytes(kb):
    first = kbdoc.markdown(kb)
    assert kbdoc.markdown(kb) == first
    # the order the mappings and rules were built in does not matter
    shuffled = KnowledgeBase(
        dict(reversed(list(kb.concepts.items()))),
        tuple(reversed(kb.rules)),
        dict(reversed(list(kb.documents.items()))),
        kb.files,
        kb.strata,
        kb.loops,
        kb.disabled,
        tuple(reversed(kb.tensions)),
    )
    assert kbdoc.markdown(shuffled) == first
    assert str(PROJECT) not in first and "/home/" not in first and "/tmp/" not in first
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", first), "no dates in a generated file"


def test_text_escapes_only_what_would_start_markup():
    assert kbdoc.text("25-hydroxylase, a_b and (c)") == "25-hydroxylase, a_b and (c)"
    assert kbdoc.text("- item") == "\\- item"
    assert kbdoc.text("1. item") == "1\\. item"
    assert kbdoc.text("_x_ *y* a|b") == "\\_x\\_ \\*y\\* a\\|b"
    assert kbdoc.text("line\nbreak\x1b") == "line\\\\nbreak\\\\x1b"
