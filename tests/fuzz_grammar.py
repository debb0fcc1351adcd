"""Hypothesis strategies for the fuzzing harness (tests/test_fuzz.py).

Each strategy first builds an input from the grammar of a real format (rule
files as spec/rule-format.md writes them, answers files as
engine/answers.py reads them, batch input as engine/batch.py reads it, the
replies a consultation's prompts accept, command-line values), then mutates
it: wrong types, missing and unknown keys, duplicate ids, ids with control
characters, a trailing newline or a look-alike letter, deep nesting, huge
integers, large sizes, cycles, ``replaces``, and changes to the bytes
(a BOM, another encoding, an undecodable byte, a cut, CRLF, a NUL).

Generated ids start with ``fz`` so that they never clash with the built-in
knowledge base, which every run loads as well.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import load
from cofactor.engine.limits import MAX_CONDITIONS, MAX_NESTING, MAX_STATES

BUILTIN = load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent)
QUESTIONS = {q.id: q.states for q in BUILTIN.questions}
MULTI = {q.id for q in BUILTIN.questions if q.multi}
ALIASES = sorted({a for q in BUILTIN.questions for a in q.aliases})
CONCEPT_IDS = sorted(BUILTIN.concepts)
RULE_IDS = sorted(r.id for r in BUILTIN.rules)
FACTS = sorted(f"{c.id}={s}" for c in BUILTIN.concepts.values() for s in c.states)

STRENGTHS = ("established", "likely", "possible")
DOCUMENT = "fz-doc"

# what a terminal acts on: C0 controls, DEL, C1 controls
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
ESCAPES = [
    "\x1b]0;pwned\x07",  # set the terminal's title
    "\x1b[2J",  # clear the screen
    "\x1b[31m",
    "\x07",
    "\x08\x08\x08",
    "\x9b2J",  # CSI as one C1 byte
    "\r",
    "\x00",
    "\u2028",
    "\u202e",  # right-to-left override
    "\ufeff",
]
# Latin letters and the Cyrillic or Greek letters that look the same
LOOKALIKES = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445", "i": "\u03b9"}
WEIRD_TEXT = st.text(
    st.one_of(
        st.characters(blacklist_categories=["Cs"]),  # any character UTF-8 can hold
        st.sampled_from(CONTROLS),
        st.sampled_from(list(LOOKALIKES.values())),
    ),
    max_size=20,
)
PRINTABLE = st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs")), min_size=1, max_size=40).filter(
    str.strip
)


# ---------------------------------------------------------------------------
# Writing TOML and JSON, including what a serializer would refuse to write
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """Text put into a document as it is: deep nesting, huge integers,
    literals the other value types cannot express."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written with its keys in this order, repeats kept."""

    items: tuple[tuple[str, Any], ...]


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch in CONTROLS or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_tables(tables: list[tuple[str, dict]]) -> str:
    """``[[kind]]`` tables, each key quoted (any text is a valid key)."""
    parts = []
    for kind, table in tables:
        lines = [f"[[{kind}]]"] + [f"{toml_string(str(k))} = {toml_value(v)}" for k, v in table.items()]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def json_value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_value(v)}" for k, v in value.items) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def nested(depth: int, style: str) -> Raw:
    """A value ``depth`` arrays or tables deep."""
    if style == "array":
        return Raw("[" * depth + "1" + "]" * depth)
    if style == "toml-table":
        return Raw("{ a = " * depth + "1" + " }" * depth)
    return Raw('{"a": ' * depth + "1" + "}" * depth)  # JSON object


def huge_int(digits: int, sign: str = "") -> Raw:
    return Raw(sign + "1" * digits)


DEPTHS = st.one_of(st.integers(1, MAX_NESTING + 4), st.sampled_from([100, 1_000, 10_000, 100_000]))
DIGITS = st.one_of(st.integers(1, 25), st.sampled_from([300, 4_300, 4_301, 5_000, 50_000]))

scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    WEIRD_TEXT,
    st.builds(lambda d, s: huge_int(d, s), DIGITS, st.sampled_from(["", "-", "+"])),
    st.sampled_from([Raw("1979-05-27T07:32:00Z"), Raw("07:32:00"), Raw("1979-05-27"), Raw("0x_ff"), Raw("1e400")]),
)
# any value a TOML document can hold, for a key that wants something else
any_value = st.one_of(
    scalars,
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WEIRD_TEXT, inner, max_size=3),
        max_leaves=8,
    ),
    st.builds(nested, DEPTHS, st.sampled_from(["array", "toml-table"])),
)


# ---------------------------------------------------------------------------
# Knowledge bases
# ---------------------------------------------------------------------------

Condition = tuple[str, tuple[str, ...]]  # concept, the states any of which it needs


@dataclass
class KB:
    """A generated knowledge base that loads: questions, derived concepts
    (each concluded only from questions and derived concepts before it, so
    the rules have no loop and no 'not'), and rules."""

    questions: dict[str, list[str]]
    derived: dict[str, list[str]]
    rules: dict[str, tuple[list[Condition], list[tuple[str, str]]]]
    tables: list[tuple[str, dict]] = field(default_factory=list)

    def text(self) -> str:
        return toml_tables(self.tables)

    def conclusions(self, answers: dict[str, str]) -> set[str]:
        """What the rules conclude from ``answers``, by forward chaining."""
        known = {(c, s) for c, s in answers.items()}
        grew = True
        while grew:
            grew = False
            for when, then in self.rules.values():
                if all(any((c, s) in known for s in states) for c, states in when):
                    for fact in then:
                        if fact not in known:
                            known.add(fact)
                            grew = True
        return {f"{c}={s}" for c, s in known if c in self.derived}


def condition_text(concept: str, states: tuple[str, ...]) -> str:
    return f"{concept} = {states[0]}" if len(states) == 1 else f"{concept} in [{', '.join(states)}]"


# [a-z0-9][a-z0-9_.-]{0,24}, built from alphabets: from_regex in the oldest
# Hypothesis the suite supports (.ci/minimums.txt) imports sre_constants,
# deprecated since Python 3.11, and warnings are errors here
_ID_START = "abcdefghijklmnopqrstuvwxyz0123456789"
RULE_SUFFIX = st.builds(str.__add__, st.sampled_from(_ID_START), st.text(alphabet=_ID_START + "_.-", max_size=24))


@st.composite
def knowledge_bases(draw, max_rules: int = 12, max_alternatives: int = 6) -> KB:
    """A knowledge base that loads. ``max_alternatives`` bounds the
    conditions with alternatives in one rule (``x in [a, b]``)."""
    questions = {f"fz_q{i}": [f"s{j}" for j in range(draw(st.integers(2, 4)))] for i in range(draw(st.integers(1, 5)))}
    derived = {f"fz_d{i}": [f"v{j}" for j in range(draw(st.integers(1, 3)))] for i in range(draw(st.integers(1, 6)))}
    concepts = {**questions, **derived}
    tables: list[tuple[str, dict]] = [("document", {"id": DOCUMENT, "title": draw(PRINTABLE)})]
    for cid, states in concepts.items():
        table: dict[str, Any] = {"id": cid, "states": list(states)}
        if draw(st.booleans()):
            table["label"] = draw(PRINTABLE)
        if cid in questions:
            table["question"] = draw(PRINTABLE)
            if draw(st.booleans()):
                table["help"] = draw(PRINTABLE)
            if draw(st.booleans()):
                table["order"] = draw(st.integers(-1000, 1000))
        tables.append(("concept", table))
    rules: dict[str, tuple[list[Condition], list[tuple[str, str]]]] = {}
    names = list(derived)
    for number in range(draw(st.integers(1, max_rules))):
        at = draw(st.integers(0, len(names) - 1))
        target = names[at]
        pool = list(questions) + names[:at]
        when: list[Condition] = []
        alternatives = 0
        for _ in range(draw(st.integers(1, 4))):
            concept = draw(st.sampled_from(pool))
            states = concepts[concept]
            count = 1
            if len(states) > 1 and alternatives < max_alternatives and draw(st.booleans()):
                count = draw(st.integers(2, len(states)))
                alternatives += 1
            chosen = tuple(draw(st.permutations(states))[:count])
            if (concept, chosen) not in when:
                when.append((concept, chosen))
        then = [(target, draw(st.sampled_from(derived[target])))]
        rule_id = f"fz.{number}.{draw(RULE_SUFFIX)}"
        rules[rule_id] = (when, then)
        tables.append(
            (
                "rule",
                {
                    "id": rule_id,
                    "title": draw(PRINTABLE),
                    "when": [condition_text(c, s) for c, s in when],
                    "then": [f"{c} = {s}" for c, s in then],
                    "strength": draw(st.sampled_from(STRENGTHS)),
                    "sources": [{"document": DOCUMENT, "quote": draw(PRINTABLE)}],
                },
            )
        )
    return KB(questions, derived, rules, draw(st.permutations(tables)))


@st.composite
def answers_for(draw, kb: KB) -> dict[str, str]:
    """An answer for some of the knowledge base's questions."""
    return {q: draw(st.sampled_from(states)) for q, states in kb.questions.items() if draw(st.booleans())}


def _rename(value: Any, old: str, new: str) -> Any:
    """``value`` with the id ``old`` written ``new`` wherever it is used."""
    if isinstance(value, str):
        return re.sub(rf"(?<![\w.-]){re.escape(old)}(?![\w.-])", lambda _: new, value)
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    return value


SPOILS = ("newline", "control", "lookalike", "space", "upper", "empty", "escape")


def _spoil_id(draw, ident: str, spoils: tuple[str, ...] = (*SPOILS, "long")) -> str:
    """An id made invalid in a way a person or an attacker would (a very
    long one may be valid)."""
    how = draw(st.sampled_from(spoils))
    if how == "newline":
        return ident + draw(st.sampled_from(["\n", "\r\n", "\n\n", "\r"]))
    if how == "control":
        at = draw(st.integers(0, len(ident)))
        return ident[:at] + draw(st.sampled_from(CONTROLS)) + ident[at:]
    if how == "lookalike":
        spots = [i for i, ch in enumerate(ident) if ch in LOOKALIKES]
        if not spots:
            return ident + LOOKALIKES["a"]
        at = draw(st.sampled_from(spots))
        return ident[:at] + LOOKALIKES[ident[at]] + ident[at + 1 :]
    if how == "space":
        return draw(st.sampled_from([" ", "\t", "\u00a0"])) + ident
    if how == "upper":
        return ident.upper()
    if how == "long":
        return ident + "x" * draw(st.sampled_from([200, 10_000]))
    if how == "empty":
        return ""
    return draw(st.sampled_from(ESCAPES)) + ident


@st.composite
def spoiled_tables(draw, kb: KB) -> tuple[list[tuple[str, dict]], str, str]:
    """The knowledge base with one id (of a concept, a state, a rule or the
    document) made invalid everywhere it is written: (tables, old, new)."""
    ids = [DOCUMENT, *kb.questions, *kb.derived, *kb.rules]
    ids += sorted({s for states in (*kb.questions.values(), *kb.derived.values()) for s in states})
    old = draw(st.sampled_from(ids))
    new = _spoil_id(draw, old, SPOILS)
    return [(kind, _rename(table, old, new)) for kind, table in kb.tables], old, new


MUTATIONS = (
    "wrong-type",
    "drop-key",
    "unknown-key",
    "duplicate",
    "spoil-id",
    "huge-int",
    "deep",
    "replaces",
    "cycle",
    "many-states",
    "many-conditions",
    "self",
)
# the mutations whose cost grows with a size: run them as real processes,
# where a hang is caught by a time limit and memory by a cap
SIZED = ("many-states", "many-conditions")


@st.composite
def mutated_tables(draw, kb: KB, mutations: tuple[str, ...] = MUTATIONS) -> list[tuple[str, dict]]:
    """The knowledge base's tables, after one to three mutations."""
    tables = [(kind, dict(table)) for kind, table in kb.tables]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(mutations))
        at = draw(st.integers(0, len(tables) - 1))
        kind, table = tables[at]
        if how == "wrong-type" and table:
            table[draw(st.sampled_from(sorted(table)))] = draw(any_value)
        elif how == "drop-key" and table:
            del table[draw(st.sampled_from(sorted(table)))]
        elif how == "unknown-key":
            table[draw(st.sampled_from(["ID", "then ", "whenn", "replace", "state", "sources.quote"]) | WEIRD_TEXT)] = (
                draw(any_value)
            )
        elif how == "duplicate":
            tables.insert(draw(st.integers(0, len(tables))), (kind, dict(table)))
        elif how == "spoil-id":
            targets = [t.get("id") for _, t in tables if isinstance(t.get("id"), str)]
            targets += [s for _, t in tables if isinstance(t.get("states"), list) for s in t["states"]]
            old = draw(st.sampled_from([t for t in targets if isinstance(t, str)] or ["fz_q0"]))
            new = _spoil_id(draw, old)
            everywhere = draw(st.booleans())
            tables = [(k, _rename(t, old, new) if everywhere or i == at else t) for i, (k, t) in enumerate(tables)]
        elif how == "huge-int":
            key = "order" if kind == "concept" else draw(st.sampled_from(sorted(table) or ["order"]))
            table[key] = huge_int(draw(DIGITS), draw(st.sampled_from(["", "-"])))
        elif how == "deep":
            key = draw(st.sampled_from(sorted(table) or ["when"]))
            table[key] = nested(draw(DEPTHS), draw(st.sampled_from(["array", "toml-table"])))
        elif how == "replaces" and kind == "rule":
            pool = RULE_IDS + [str(t.get("id")) for k, t in tables if k == "rule"] + ["fz.nowhere", ""]
            table["replaces"] = draw(st.sampled_from(pool))
        elif how == "cycle" and kb.derived:
            first, last = next(iter(kb.derived)), list(kb.derived)[-1]
            tables.append(
                (
                    "rule",
                    {
                        "id": f"fz.cycle.{len(tables)}",
                        "title": "back round",
                        "when": [f"{last} = {kb.derived[last][0]}"],
                        "then": [f"{first} = {kb.derived[first][-1]}"],
                        "strength": "possible",
                        "sources": [{"document": DOCUMENT, "quote": "q"}],
                    },
                )
            )
        elif how == "many-states" and kind == "concept":
            count = draw(st.sampled_from([MAX_STATES - 1, MAX_STATES, MAX_STATES + 1, 5_000, 100_000]))
            table["states"] = [f"s{j}" for j in range(count)]
        elif how == "many-conditions" and kind == "rule":
            count = draw(st.sampled_from([MAX_CONDITIONS, MAX_CONDITIONS + 1, 14, 400, 1_000]))
            question, states = next(iter(kb.questions.items()))
            alternatives = draw(st.booleans())
            table["when"] = [
                f"{question} in [{states[0]}, {states[1]}]" if alternatives else f"{question} = {states[0]}"
            ] * count
        elif how == "self" and kind == "rule" and isinstance(table.get("then"), list):
            table["when"] = list(table["then"])
    return tables


# ---------------------------------------------------------------------------
# Bytes: what happens to a file on its way to the program
# ---------------------------------------------------------------------------

BYTE_MUTATIONS = ("bom", "utf-16", "latin-1", "byte", "cut", "crlf", "nul", "repeat-line", "drop-line", "none")


@st.composite
def mutated_bytes(draw, text: str) -> bytes:
    how = draw(st.sampled_from(BYTE_MUTATIONS))
    data = text.encode("utf-8", errors="surrogatepass")
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "utf-16":
        return text.encode("utf-16", errors="surrogatepass")
    if how == "latin-1":
        return text.encode("latin-1", errors="replace") + "é".encode("latin-1")
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    if how == "nul":
        return data + b"\x00"
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(data)))
    line = draw(st.integers(0, len(lines) - 1))
    if how == "byte":
        return data[:at] + bytes([draw(st.sampled_from([0x00, 0x1B, 0x7F, 0x80, 0xC0, 0xFF, 0xFE]))]) + data[at:]
    if how == "cut":
        return data[:at]
    if how == "repeat-line":
        return b"\n".join(lines[: line + 1] + lines[line:])
    if how == "drop-line":
        return b"\n".join(lines[:line] + lines[line + 1 :])
    return data


# ---------------------------------------------------------------------------
# Answers files and batch input
# ---------------------------------------------------------------------------

state_texts = st.one_of(
    st.sampled_from(sorted({s for states in QUESTIONS.values() for s in states})),
    st.sampled_from(["unknown", "UNKNOWN", " low ", "Low", "severely-low", "1", ""]),
    WEIRD_TEXT,
    st.sampled_from(ESCAPES),
)
concept_texts = st.one_of(
    st.sampled_from(sorted(QUESTIONS)),
    st.sampled_from(ALIASES),
    st.sampled_from(CONCEPT_IDS),
    st.sampled_from(["", " ", "magnesium_status\n", "magnesium_st\u0430tus", "MAGNESIUM_STATUS"]),
    WEIRD_TEXT,
)


@st.composite
def valid_answers(draw) -> dict[str, str | list[str]]:
    """Answers that are all right: question ids and their states."""
    out: dict[str, str | list[str]] = {}
    for question in draw(st.lists(st.sampled_from(sorted(QUESTIONS)), max_size=6, unique=True)):
        states = QUESTIONS[question]
        if question in MULTI and draw(st.booleans()):
            out[question] = [draw(st.sampled_from(states))]
        else:
            out[question] = draw(st.sampled_from(states))
    return out


@st.composite
def answers_documents(draw) -> tuple[tuple[str, str], bool]:
    """((file name, text), whether every answer in it is right)."""
    answers: dict[str, Any] = dict(draw(valid_answers()))
    valid = True
    if draw(st.booleans()):
        valid = False
        for _ in range(draw(st.integers(1, 3))):
            how = draw(st.sampled_from(["key", "value", "type", "deep", "huge", "many"]))
            if how == "key":
                answers[draw(concept_texts)] = draw(state_texts)
            elif how == "value":
                answers[draw(st.sampled_from(sorted(QUESTIONS)))] = draw(
                    state_texts | st.lists(state_texts, max_size=3)
                )
            elif how == "type":
                answers[draw(concept_texts)] = draw(any_value)
            elif how == "deep":
                style = "array" if draw(st.booleans()) else "object"
                answers[draw(concept_texts)] = nested(draw(DEPTHS), style)
            elif how == "huge":
                answers[draw(concept_texts)] = huge_int(draw(DIGITS))
            else:
                answers[draw(concept_texts)] = [draw(state_texts)] * draw(st.sampled_from([100, 10_000]))
    as_json = draw(st.booleans())
    if as_json:
        items = tuple(answers.items())
        if items and draw(st.integers(0, 4)) == 0:
            valid = False  # a key twice
            items = items + ((items[0][0], draw(state_texts)),)
        body = json_value(Pairs(items))
        name = draw(st.sampled_from(["case.json", "case", "case.txt"]))
    else:
        body = "".join(f"{toml_string(k)} = {_answer_value(v, json_style=False)}\n" for k, v in answers.items())
        name = draw(st.sampled_from(["case.toml", "case", "case.TOML"]))
    return (name, body), valid


def _answer_value(value: Any, *, json_style: bool) -> str:
    if isinstance(value, Raw) and value.text.startswith('{"') and not json_style:
        return toml_value(nested(value.text.count("{"), "toml-table"))
    return json_value(value) if json_style else toml_value(value)


@st.composite
def batch_inputs(draw) -> tuple[str, str, int | None]:
    """(file name, text, number of cases when every case is valid, else None)."""
    fmt = draw(st.sampled_from(["csv", "jsonl", "toml", "json"]))
    cases = draw(st.lists(valid_answers(), max_size=8))
    valid = True
    if fmt == "csv":
        columns = sorted({k for case in cases for k in case}) or [sorted(QUESTIONS)[0]]
        if draw(st.booleans()):
            valid = False
            columns.insert(draw(st.integers(0, len(columns))), draw(concept_texts))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(columns)
        for case in cases:
            row = []
            for column in columns:
                value = case.get(column, "")
                row.append(",".join(value) if isinstance(value, list) else value)
            if draw(st.integers(0, 3)) == 0:
                valid = False
                row[draw(st.integers(0, len(row) - 1))] = draw(state_texts)
                if draw(st.booleans()):
                    row.append(draw(state_texts))
            writer.writerow(row)
        text = buffer.getvalue()
        if draw(st.integers(0, 4)) == 0:
            valid = False
            text += draw(st.sampled_from(['"unclosed', "a,b\x00c\n", '"x"y,z\n', ",,,,,,,,,,,,\n"]))
        # a header of no known question, or no rows at all, is not an all-valid input
        count = len(cases) if valid and cases and any(cases) else None
        return f"cases.{fmt}", text, count
    if draw(st.booleans()):
        valid = False
        for _ in range(draw(st.integers(1, 2))):
            cases.insert(draw(st.integers(0, len(cases))), {draw(concept_texts): draw(state_texts | any_value)})
    if fmt == "jsonl":
        lines = [json_value(case) for case in cases]
        if draw(st.integers(0, 3)) == 0:
            valid = False
            lines.insert(
                draw(st.integers(0, len(lines))),
                draw(st.sampled_from(["[1, 2]", "{", '"text"', "null", "{}{}"]) | WEIRD_TEXT),
            )
        return (
            "cases.jsonl",
            "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"])),
            (len(cases) if valid and cases else None),
        )
    named = {f"case{i}": case for i, case in enumerate(cases)}
    if fmt == "json":
        return "cases.json", json_value(named), len(cases) if valid and cases else None
    text = "".join(
        f"[{toml_string(name)}]\n" + "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in case.items())
        for name, case in named.items()
    )
    return "cases.toml", text, len(cases) if valid and cases else None


# ---------------------------------------------------------------------------
# What a person types at the prompts, and on the command line
# ---------------------------------------------------------------------------

replies = st.one_of(
    st.sampled_from(sorted({s for states in QUESTIONS.values() for s in states})),
    st.sampled_from(["why", "help", "back", "unknown", "how", "?", "h", "quit", "", " ", "WHY", "Back"]),
    st.sampled_from(["0", "1", "2", "3", "4", "5", "99", "-1", "+1", "1.0", "\u00b2", "\u0663", "\u2460", "\uff11"]),
    st.builds(lambda n: "9" * n, st.sampled_from([19, 4_300, 4_301, 5_000])),
    st.builds(lambda f: f"how {f}", st.sampled_from(FACTS) | WEIRD_TEXT),
    st.builds(lambda f: f"why-not {f}", st.sampled_from(FACTS) | WEIRD_TEXT),
    st.builds(lambda f: f"what-if {f}", st.sampled_from(FACTS) | WEIRD_TEXT),
    st.builds(lambda a, b: f"{a},{b}", state_texts, state_texts),
    st.sampled_from(ESCAPES),
    WEIRD_TEXT,
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", ",", " "]), st.sampled_from([1_000, 100_000])),
)


@st.composite
def prompt_input(draw) -> tuple[list[str], str]:
    """(``-a`` arguments, the lines typed at the prompts)."""
    args: list[str] = []
    for question in draw(st.lists(st.sampled_from(sorted(QUESTIONS)), max_size=4, unique=True)):
        args += ["-a", f"{question}={draw(st.sampled_from(QUESTIONS[question]))}"]
    lines = draw(st.lists(replies, max_size=25))
    # mostly enough plain answers to reach the end, then the explain prompt
    if draw(st.booleans()):
        lines += ["unknown"] * 15 + draw(st.lists(replies, max_size=5))
    ending = draw(st.sampled_from(["\n", "", "\r\n"]))
    return args, "\n".join(lines) + ending


answer_args = st.one_of(
    st.sampled_from(FACTS),
    st.builds(lambda c, s: f"{c}={s}", concept_texts, state_texts),
    st.builds(lambda c, a, b: f"{c}={a},{b}", concept_texts, state_texts, state_texts),
    st.sampled_from(["=", "==", "a=b=c", "magnesium_status=", "=low", ",", "magnesium_status=low,"]),
    WEIRD_TEXT,
)


@st.composite
def command_lines(draw) -> list[str]:
    """A command with generated ``-a``, ``--change`` and CONCEPT=STATE values."""
    command = draw(st.sampled_from(["consult", "how", "why-not", "what-if", "trace", "rules", "concepts"]))
    args = [command]
    if command in ("how", "why-not"):
        args.append(draw(answer_args))
    if command == "what-if":
        for _ in range(draw(st.integers(0, 2))):
            args += [draw(st.sampled_from(["--change", "-c"])), draw(answer_args)]
    if command == "consult":
        args.append("--no-input")
    if command == "rules" and draw(st.booleans()):
        args += ["--concept", draw(concept_texts)]
    if command not in ("rules", "concepts"):
        for _ in range(draw(st.integers(0, 3))):
            args += [draw(st.sampled_from(["-a", "--answer"])), draw(answer_args)]
    if draw(st.booleans()):
        args.append("--json")
    return args
