"""Load rule files into a validated :class:`KnowledgeBase`.

Everything is checked before anything runs, and every problem found is
reported, not only the first: unknown keys, wrong types, unknown concepts,
states and documents (with a "did you mean"), duplicate ids, empty
conditions or conclusions, bad strengths, rules that conclude their own
condition, and ``not`` conditions that depend on their own conclusions.
Nothing in a rule file is ever executed: files are parsed as TOML data.

A --rules file may also change what other files define: replace a rule
(``replaces``), take rules out (``disables``) and add states to a concept
(``add_states``). Rules may carry examples ([[rule.example]]), which are
checked here and run by ``cofactor check``. :func:`load_partial` builds
what is fine beside every problem, for ``cofactor check``.
"""

from __future__ import annotations

import os
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import rulefiles
from .errors import KnowledgeBaseError, Problem, visible
from .graph import concept_components, negation_strata
from .limits import MAX_CONDITIONS, MAX_EXAMPLES, MAX_RULES, MAX_STATES
from .model import (
    KIND_NAMED,
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
from .suggest import did_you_mean
from .syntax import (
    CONCEPT_ID,
    DOCUMENT_ID,
    RULE_ID,
    STATE_NAME,
    SyntaxProblem,
    character,
    is_control,
    odd_character,
    parse_condition,
    parse_fact,
)

# concept id -> its states; None when the concept's 'states' key is unusable
# (reported at the concept): it is declared, but no state can be checked against it
States = dict[str, tuple[str, ...] | None]

# key -> (python type, required, what a rule author should write)
CONCEPT_KEYS = {
    "id": (str, True, "a snake_case id"),
    "label": (str, False, "a short text"),
    "states": (list, True, "a list of states"),
    "kind": (str, False, "one of " + ", ".join(Kind)),
    "question": (str, False, "the question text"),
    "help": (str, False, "a text"),
    "description": (str, False, "a text"),
    "aliases": (list, False, "a list of words"),
    "ask_if": (list, False, "a list of conditions"),
    "multi": (bool, False, "true or false"),
    "exclusive": (list, False, "a list of states"),
    "order": (int, False, "a whole number"),
    "add_states": (list, False, "a list of states to add to a concept another file defines"),
}
# the only keys of a [[concept]] table that adds states to a concept another file defines
EXTENDING_KEYS = {
    "id": (str, True, "the id of the concept to extend"),
    "add_states": (list, True, "a list of the states to add"),
    "aliases": (list, False, "a list of words"),
}
RULE_KEYS = {
    "id": (str, True, "a rule id such as 'topic.short-name'"),
    "title": (str, True, "a one-line statement of the claim"),
    "when": (list, True, "a list of conditions"),
    "then": (list, True, "a list of 'concept = state'"),
    "strength": (str, True, "one of established, likely, possible"),
    "sources": (list, True, 'a list of { document = "...", quote = "..." }'),
    "replaces": (str, False, "the id of the rule this one replaces"),
    "stands_in_for": (str, False, "a condition on a question, e.g. 'some_question in [a, b]'"),
    "example": (list, False, "[[rule.example]] tables"),
}
EXAMPLE_KEYS = {
    "name": (str, False, "a short name for the example"),
    "answers": (dict, True, 'a table of answers, e.g. { some_question = "some_state" }'),
    "expect": (list, False, "a list of 'concept = state' that must follow"),
    "absent": (list, False, "a list of 'concept = state' that must not follow"),
    "strength": (dict, False, 'a table of strengths, e.g. { some_concept = "likely" }'),
}
DOCUMENT_KEYS = {
    "id": (str, True, "a short key such as 'my-article'"),
    "title": (str, True, "the document's title"),
    "file": (str, False, "the file name of the document"),
    "citation": (str, False, "how to cite it: authors, year, title, journal"),
    "url": (str, False, "a web address of the document"),
    "text": (str, False, "the path of a plain-text copy, relative to this rule file"),
}
SOURCE_KEYS = {"document": (str, True, "a document id"), "quote": (str, True, "a verbatim quote")}
LOOP_KEYS = {
    "id": (str, True, "a short id such as 'topic-loop'"),
    "title": (str, True, "the loop's name, as explanations will say it"),
    "through": (list, True, "a list of the concept ids on the loop"),
    "description": (str, False, "a text"),
}
TENSION_KEYS = {
    "id": (str, True, "a short id such as 'topic-tension'"),
    "title": (str, True, "the tension's short name"),
    "statement": (str, True, "a one-line statement of how the sources differ"),
    "rules": (list, True, "a list of the ids of the rules it concerns"),
    "sides": (list, True, 'a list of at least two { document = "...", quote = "..." }'),
}
TABLES = {
    "concept": CONCEPT_KEYS,
    "rule": RULE_KEYS,
    "document": DOCUMENT_KEYS,
    "loop": LOOP_KEYS,
    "tension": TENSION_KEYS,
}
# the keys whose lists hold tables, not strings
_TABLE_LISTS = ("sources", "example", "sides")
# the top-level key of a --rules file that takes rules of other files out
DISABLES = "disables"
# the kind of the pseudo-table that holds a file's 'disables' (its problems are the file's)
_FILE = ""
LOOP_ID = DOCUMENT_ID  # a loop id has the shape of a document id
TENSION_ID = DOCUMENT_ID  # and so has a tension id


@dataclass
class _Raw:
    """A table read from a file, with where it came from."""

    kind: str
    data: dict
    path: str
    builtin: bool
    order: int = 0  # the file's place in the load order: built-in files, then --rules in the order named
    index: int = 0  # the table's place in its file
    real: str = ""  # the file's own path, resolved ("" when not known)
    ident: str = field(init=False, default="")  # the table's id as written, or "" when it is not a string

    def __post_init__(self) -> None:
        value = self.data.get("id")
        self.ident = value if isinstance(value, str) else ""

    @property
    def place(self) -> tuple[int, int]:
        """Where the table's problems go in the report: its file, then its place in it."""
        return (self.order, self.index)


class _Sink(Protocol):
    """Where a problem found in a table goes: a :class:`_Collector`, or a
    :class:`_Prefixed` view of one."""

    def add(self, raw: _Raw | None, message: str, *, key: str = "", fix: str = "", path: str = "") -> None: ...


# where a problem that belongs to no single table goes: after every table's
LAST = (1 << 62, 0)


@dataclass
class _Collector:
    """Every problem found, each with its place in the report."""

    problems: list[Problem] = field(default_factory=list)
    places: list[tuple[int, int]] = field(default_factory=list)
    place: tuple[int, int] = LAST  # where a problem of a file (``raw`` None) goes: set while a file is read
    # rules left out for a problem whose id and sources are fine, as stand-ins
    # carrying only those (and their file), so that check verifies their quotes too
    left_out: list[Rule] = field(default_factory=list)

    def add(self, raw: _Raw | None, message: str, *, key: str = "", fix: str = "", path: str = "") -> None:
        """Add a problem of the table ``raw``, or of the file ``path`` when ``raw`` is None."""
        if raw is None:
            self.append(Problem(path=path, message=message, key=key, fix=fix), self.place)
        else:
            self.append(
                Problem(path=raw.path, kind=raw.kind, ident=raw.ident, key=key, message=message, fix=fix), raw.place
            )

    def append(self, problem: Problem, place: tuple[int, int]) -> None:
        self.problems.append(problem)
        self.places.append(place)

    def ordered(self) -> list[Problem]:
        """The problems in a stable order: by file, then by the table's place
        in its file (a file's own problems first), then in the order found,
        which is the order of the table's checks."""
        order = sorted(range(len(self.problems)), key=lambda i: self.places[i])
        return [self.problems[i] for i in order]


class _Prefixed:
    """Adds problems found in a sub-table under the parent's key."""

    def __init__(self, out: _Sink, prefix: str):
        self.out = out
        self.prefix = prefix

    def add(self, raw: _Raw | None, message: str, *, key: str = "", fix: str = "", path: str = "") -> None:
        """Add a problem, its key written ``prefix.key`` (or ``prefix`` alone)."""
        self.out.add(raw, message, key=f"{self.prefix}.{key}" if key else self.prefix, fix=fix, path=path)


def load(
    builtin: Iterable[str | Path] = (), extra: Iterable[str | Path] = (), *, display_root: Path | None = None
) -> KnowledgeBase:
    """Load and validate the built-in rule files plus any extra ones.

    ``builtin`` files may not use ``replaces``, ``disables`` or
    ``add_states``; ``extra`` files (a rule author's ``--rules``) may, to
    change the built-in knowledge. Raises :class:`KnowledgeBaseError` with
    every problem found.
    """
    return build(rulefiles.read(builtin, extra, display_root=display_root))


def build(found: Iterable[rulefiles.RuleFile | Problem]) -> KnowledgeBase:
    """Parse and validate rule files already read (as :func:`rulefiles.read`
    returns them, with the problems met reading them, in order). Raises
    :class:`KnowledgeBaseError` with every problem."""
    kb, problems = build_partial(found)
    if problems:
        raise KnowledgeBaseError(problems)
    return kb


def load_partial(
    builtin: Iterable[str | Path] = (),
    extra: Iterable[str | Path] = (),
    *,
    display_root: Path | None = None,
    left_out: list[Rule] | None = None,
) -> tuple[KnowledgeBase, list[Problem]]:
    """As :func:`load`, but never raising :class:`KnowledgeBaseError`: the
    knowledge base built from everything that is fine, and every problem
    (``left_out``: see :func:`build_partial`)."""
    return build_partial(rulefiles.read(builtin, extra, display_root=display_root), left_out=left_out)


def build_partial(
    found: Iterable[rulefiles.RuleFile | Problem], *, left_out: list[Rule] | None = None
) -> tuple[KnowledgeBase, list[Problem]]:
    """As :func:`build`, but never raising :class:`KnowledgeBaseError`: the
    knowledge base built from everything that is fine (a rule, concept or
    document with a problem is left out, and so is what depends on it), and
    every problem, in the order :func:`build` reports them.

    ``left_out``, when given, receives a stand-in for each rule left out for
    a problem while its id and sources are fine: a Rule with only its id,
    title, sources and file (no conditions, no conclusions), for checks that
    need no more, such as its quotes."""
    out = _Collector()
    raws: list[_Raw] = []
    shown: list[str] = []
    for item in found:
        if isinstance(item, Problem):
            out.append(item, (len(shown) + 1, -1))  # with the file read next, before its tables
            continue
        shown.append(item.shown)
        out.place = (len(shown), -1)
        raws.extend(_parse(item, out, len(shown)))
    out.place = LAST
    kb = _build(raws, out, tuple(shown))
    if left_out is not None:
        left_out.extend(out.left_out)
    return kb, out.ordered()


def _parse(rule_file: rulefiles.RuleFile, out: _Collector, order: int = 0) -> list[_Raw]:
    """The tables of one rule file (and its ``disables``, as a table of kind
    ``_FILE``), or none when it is not TOML or is over a limit on its shape
    (nesting, numbers)."""
    shown = rule_file.shown
    try:
        data = rulefiles.parse_toml(rule_file.text)
    except rulefiles.FileRefused as exc:
        out.add(None, exc.message, path=shown, fix=exc.fix)
        return []
    except tomllib.TOMLDecodeError as exc:
        out.add(
            None,
            f"not valid TOML: {exc}",
            path=shown,
            fix="see https://toml.io for the syntax; strings need double quotes",
        )
        return []
    real = rule_file.real or os.path.abspath(shown)
    raws: list[_Raw] = []
    for key, value in data.items():
        if key == DISABLES:
            disabling = _disables(rule_file, value, out, order, real)
            if disabling is not None:
                raws.append(disabling)
            continue
        if key not in TABLES:
            hint = (
                did_you_mean(key, [*TABLES, DISABLES])
                or "a rule file holds only [[concept]], [[rule]], [[document]], [[loop]] and [[tension]] tables, "
                "and (a --rules file) a list 'disables'"
            )
            out.add(None, f"unknown table '{key}'", path=shown, fix=hint)
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            out.add(
                None,
                f"'{key}' must be an array of tables, written [[{key}]]",
                path=shown,
                fix=f"write each {key} under its own [[{key}]] header",
            )
            continue
        raws.extend(
            _Raw(key, table, shown, rule_file.builtin, order, len(raws) + i, real) for i, table in enumerate(value)
        )
    return raws


def _disables(rule_file: rulefiles.RuleFile, value: Any, out: _Collector, order: int, real: str) -> _Raw | None:
    """A file's ``disables = [...]`` as a table of kind ``_FILE``, or None
    (reported) when a built-in file has one or it is not a list of strings."""
    if rule_file.builtin:
        out.add(
            None,
            "built-in rule files cannot use 'disables'",
            key=DISABLES,
            path=rule_file.shown,
            fix="remove the rule from its file instead",
        )
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        found = (
            _tname(value)
            if not isinstance(value, list)
            else "a list holding " + next(_tname(v) for v in value if not isinstance(v, str))
        )
        out.add(
            None,
            f"'disables' has the wrong type ({found})",
            key=DISABLES,
            path=rule_file.shown,
            fix='write a list of rule ids, e.g. disables = ["topic.rule-id"]',
        )
        return None
    return _Raw(_FILE, {DISABLES: value}, rule_file.shown, False, order, -1, real)


def _check_keys(raw: _Raw, spec: dict, out: _Sink, internal: tuple[str, ...] = ()) -> bool:
    """Report unknown keys, missing keys and wrong types.

    Keys with a problem are removed from ``raw.data``, so that the rest of
    the table can still be used and checked (a concept with one bad key still
    defines its id and states, and rules that use it are not reported as
    well; a rule with a misspelt key still has its other keys checked).
    Returns False when a required key is missing or unusable.
    """
    usable = True
    bad: set[str] = set()
    for key in raw.data:
        if key not in spec and key not in internal:
            hint = did_you_mean(key, spec) or "allowed keys: " + ", ".join(spec)
            if key == DISABLES:  # written below a table header, TOML makes it the table's
                hint = "write disables = [...] at the top of the file, before its first table"
            out.add(raw, f"unknown key '{key}'", key=key, fix=hint)
            bad.add(key)
    for key, (kind, required, want) in spec.items():
        if key not in raw.data:
            if required:
                out.add(raw, f"missing key '{key}'", key=key, fix=f"add {key} = {want}")
                usable = False
            continue
        value = raw.data[key]
        good = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if good and kind is list:
            good = all(isinstance(v, dict if key in _TABLE_LISTS else str) for v in value)
        if not good:
            out.add(raw, f"'{key}' has the wrong type ({_tname(value)})", key=key, fix=f"write {want}")
            bad.add(key)
        elif kind is str and not value.strip():
            out.add(raw, f"'{key}' is empty", key=key, fix=f"write {want}")
            bad.add(key)
        if key in bad and required:
            usable = False
    raw.data = {k: v for k, v in raw.data.items() if k not in bad}  # raw.ident keeps the id as written
    return usable


def _tname(value: Any) -> str:
    """How a rule author would name the type of ``value``."""
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------
# The knowledge base: documents, concepts, rules, loops, then the graph checks
# ---------------------------------------------------------------------------


def _build(raws: list[_Raw], out: _Collector, files: tuple[str, ...]) -> KnowledgeBase:
    """Check every table read, in a fixed order, and build what they define."""
    documents = _documents(raws, out)
    concept_tables = _concept_tables(raws, out)
    states, own_states = _states(concept_tables, out)  # first, so that ask_if and rules can be resolved against them
    added = _additions(concept_tables, states, out)  # states other files add, before anything is resolved
    concepts = _concepts(concept_tables, own_states, states, added, out)
    disabled: list[Disabled] = []
    if _too_many_rules(raws, out):
        rules: list[Rule] = []
        loops: tuple[Loop, ...] = ()
        strata: dict[str, int] = {}
        tensions: tuple[Tension, ...] = ()
    else:
        # the later stages run on the rules that are fine, so that a broken
        # rule hides nothing they can still find
        rules, unsure, any_broken, disabled = _rules(raws, states, concepts, documents, out)
        loops = _loops(raws, states, rules, any_broken, out)
        strata, cyclic = _strata(rules, unsure, out)
        if cyclic:  # reported: left out, so that what is built can still be reasoned over
            rules = [rule for rule in rules if rule.id not in cyclic]
            strata, _ = negation_strata(rules)
        tensions = _tensions(raws, rules, documents, out)
    return KnowledgeBase(
        concepts=concepts,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        documents=documents,
        files=files,
        strata=strata,
        loops=loops,
        disabled=tuple(sorted(disabled, key=lambda d: d.rule.id)),
        tensions=tensions,
    )


def _too_many_rules(raws: list[_Raw], out: _Collector) -> bool:
    """Whether the files hold more than ``MAX_RULES`` rules (reported, on
    the file that goes over the limit, before any rule is checked)."""
    count = 0
    over: _Raw | None = None
    for raw in raws:
        if raw.kind == "rule":
            count += 1
            if count == MAX_RULES + 1:
                over = raw
    if over is None:
        return False
    out.add(
        None,
        f"the knowledge base has {count} rules; at most {MAX_RULES} are allowed (the built-in rules "
        "and every --rules file together), and this file goes over",
        path=over.path,
        fix="load fewer rule files at once, or split the knowledge into separate knowledge bases",
    )
    return True


def _documents(raws: list[_Raw], out: _Collector) -> dict[str, Document]:
    """The [[document]] tables, by id; bad and duplicate ids are reported."""
    documents: dict[str, Document] = {}
    for raw in raws:
        if raw.kind != "document":
            continue
        _check_keys(raw, DOCUMENT_KEYS, out)
        doc_id = raw.data.get("id")
        if doc_id is None:  # missing or unusable (reported): nothing can cite it
            continue
        if not DOCUMENT_ID.fullmatch(doc_id):
            out.add(
                raw,
                f"bad document id '{doc_id}'{odd_character(doc_id)}",
                key="id",
                fix="use lower-case letters, digits, '-', '_' and '.'",
            )
        elif doc_id in documents:
            out.add(
                raw,
                f"duplicate document id '{doc_id}' (also in {documents[doc_id].path})",
                key="id",
                fix="give each document its own id",
            )
        else:
            # declared even when another of its keys is wrong, so that the rules
            # citing it are not reported as well
            text = _document_text(raw, out)
            documents[doc_id] = Document(
                doc_id,
                raw.data.get("title", ""),
                raw.data.get("file", ""),
                raw.path,
                citation=raw.data.get("citation", ""),
                url=raw.data.get("url", ""),
                text=text,
                # where the text is on this machine: relative to the rule file's own folder
                text_path=os.path.normpath(os.path.join(os.path.dirname(raw.real), text)) if text else "",
                builtin=raw.builtin,
            )
    return documents


def _document_text(raw: _Raw, out: _Collector) -> str:
    """A document's ``text`` path as written, or "" when there is none or it
    holds a character no file name should (reported). The file itself is
    not read here: ``cofactor check`` reads it."""
    text: str = raw.data.get("text", "")
    for position, ch in enumerate(text, 1):
        if is_control(ch):
            out.add(
                raw,
                f"the text path '{visible(text)}' holds {character(ch)} at position {position}",
                key="text",
                fix="write the path of a plain-text file, relative to this rule file",
            )
            return ""
    return text


@dataclass
class _ConceptTables:
    """The [[concept]] tables: those that define (or try to define) a concept,
    each with whether it does; those that add states to a concept another
    file defines; and each defined id's table."""

    tables: list[tuple[_Raw, bool]] = field(default_factory=list)
    extending: list[_Raw] = field(default_factory=list)
    found: dict[str, _Raw] = field(default_factory=dict)


def _concept_tables(raws: list[_Raw], out: _Collector) -> _ConceptTables:
    """Every [[concept]] table, its keys checked, each with whether it defines
    its concept (a usable id, not defined before); bad and duplicate ids are
    reported. A table that defines nothing still has its other keys checked.
    A table with ``add_states`` extends a concept instead (checked by
    :func:`_additions`)."""
    result = _ConceptTables()
    found = result.found
    for raw in raws:
        if raw.kind != "concept":
            continue
        if "add_states" in raw.data:
            if _check_extending_keys(raw, out):
                result.extending.append(raw)
            continue
        _check_keys(raw, CONCEPT_KEYS, out)
        cid = raw.data.get("id")
        result.tables.append((raw, cid is not None and CONCEPT_ID.fullmatch(cid) is not None and cid not in found))
        if cid is None:  # missing or unusable (reported)
            continue
        if not CONCEPT_ID.fullmatch(cid):
            out.add(
                raw,
                f"bad concept id '{cid}'{odd_character(cid)}",
                key="id",
                fix="use snake_case: lower-case letters, digits and '_', starting with a letter",
            )
        elif cid in found:
            out.add(
                raw,
                f"duplicate concept id '{cid}' (also in {found[cid].path})",
                key="id",
                fix="define each concept once; rules in any file may use it"
                if raw.builtin
                else "define each concept once; to add states to it, keep only id and write "
                'add_states = ["new_state"] in this table',
            )
        else:
            found[cid] = raw
    return result


def _check_extending_keys(raw: _Raw, out: _Collector) -> bool:
    """Check the keys of a table that adds states to a concept (reported: one
    in a built-in file, keys such a table cannot have). Returns whether it
    is one that adds states, in a --rules file."""
    if raw.builtin:
        out.add(
            raw,
            "built-in rule files cannot use 'add_states'",
            key="add_states",
            fix="list the states in the concept's own table",
        )
        return False
    for key in [k for k in raw.data if k in CONCEPT_KEYS and k not in EXTENDING_KEYS]:
        out.add(
            raw,
            f"'{key}' cannot be set by a table that adds states to a concept",
            key=key,
            fix=f"remove {key}: a table with add_states holds only " + ", ".join(EXTENDING_KEYS),
        )
        del raw.data[key]
    _check_keys(raw, EXTENDING_KEYS, out)
    return True


def _additions(
    concept_tables: _ConceptTables, states: States, out: _Collector
) -> dict[str, list[tuple[_Raw, tuple[str, ...]]]]:
    """The states each extending table adds, by concept, in load order; the
    states are appended to ``states``, so that every file can use them.
    Unknown concepts, a concept of the same file, bad, repeated and existing
    states and too many states are reported; the good states of a table
    with a problem are still added, so that rules using them are not
    reported as well."""
    found = concept_tables.found
    added: dict[str, list[tuple[_Raw, tuple[str, ...]]]] = {}
    for raw in concept_tables.extending:
        cid = raw.data.get("id")
        if cid is None:  # missing or unusable (reported)
            continue
        if cid not in found:
            out.add(
                raw,
                f"adds states to unknown concept '{cid}'",
                key="id",
                fix=did_you_mean(cid, found) or "name a concept that another rule file defines",
            )
            continue
        if found[cid].order == raw.order:
            out.add(
                raw,
                f"adds states to '{cid}', a concept of this same file",
                key="add_states",
                fix="list the states in its own [[concept]] table",
            )
            continue
        if "add_states" not in raw.data:  # unusable (reported)
            continue
        new = _new_states(raw, cid, states.get(cid), added.get(cid, []), out)
        known = states[cid]
        if known is None or not new:  # its states are unusable (reported there): nothing to add to
            continue
        if len(known) + len(new) > MAX_STATES:
            out.add(
                raw,
                f"with these states '{cid}' would have {len(known) + len(new)} states; "
                f"at most {MAX_STATES} are allowed",
                key="add_states",
                fix="add fewer states, or make a new concept",
            )
            continue
        states[cid] = known + new
        added.setdefault(cid, []).append((raw, new))
    return added


def _new_states(
    raw: _Raw,
    cid: str,
    known: tuple[str, ...] | None,
    before: list[tuple[_Raw, tuple[str, ...]]],
    out: _Collector,
) -> tuple[str, ...]:
    """The states of an ``add_states`` that can be added (the others are reported)."""
    listed = raw.data["add_states"]
    if not listed:
        out.add(raw, "'add_states' is empty", key="add_states", fix="list the states to add, or remove the table")
    by_whom = {state: other.path for other, states in before for state in states}
    new: list[str] = []
    for state in listed:
        if not STATE_NAME.fullmatch(state):
            out.add(
                raw,
                f"bad state '{state}'{odd_character(state)}",
                key="add_states",
                fix="use lower-case letters, digits and '_'",
            )
        elif state == "unknown":
            out.add(
                raw,
                "'unknown' cannot be a state: every question already accepts it",
                key="add_states",
                fix="remove 'unknown' from add_states",
            )
        elif state in new:
            out.add(raw, f"state '{state}' is listed twice", key="add_states", fix="list each state once")
        elif known is not None and state in known:
            also = f" (added by {by_whom[state]})" if state in by_whom else ""
            out.add(
                raw,
                f"'{state}' is already a state of '{cid}'{also}",
                key="add_states",
                fix="remove it from add_states",
            )
        else:
            new.append(state)
    return tuple(new)


def _states(concept_tables: _ConceptTables, out: _Collector) -> tuple[States, list[tuple[str, ...] | None]]:
    """Each defined concept's states, listed once each, and each table's own
    (None where its 'states' key is unusable); bad states are reported, in
    every table, whether it defines its concept or not."""
    states: States = {}
    own: list[tuple[str, ...] | None] = []
    for raw, defines in concept_tables.tables:
        listed = _states_of(raw, out) if "states" in raw.data else None
        own.append(listed)
        if defines:
            states[raw.data["id"]] = listed
    return states, own


def _states_of(raw: _Raw, out: _Collector) -> tuple[str, ...]:
    """One concept's states: empty lists, bad names, repeats and 'unknown' are reported."""
    listed = raw.data["states"]
    if not listed:
        out.add(raw, "'states' is empty", key="states", fix="list at least one state")
    if len(listed) > MAX_STATES:
        out.add(
            raw,
            f"the concept has {len(listed)} states; at most {MAX_STATES} are allowed",
            key="states",
            fix="split it into several concepts, each with fewer states",
        )
        return tuple(dict.fromkeys(listed))  # not checked one by one: the knowledge base does not load
    for state in listed:
        if not STATE_NAME.fullmatch(state):
            out.add(
                raw,
                f"bad state '{state}'{odd_character(state)}",
                key="states",
                fix="use lower-case letters, digits and '_'",
            )
    counts = Counter(listed)
    dupes = sorted(s for s, n in counts.items() if n > 1)
    if dupes:
        out.add(raw, f"state '{dupes[0]}' is listed twice", key="states", fix="list each state once")
    if "unknown" in listed:
        out.add(
            raw,
            "'unknown' cannot be a state: every question already accepts it",
            key="states",
            fix="remove 'unknown' from states",
        )
    return tuple(dict.fromkeys(listed))


def _concepts(
    concept_tables: _ConceptTables,
    own_states: list[tuple[str, ...] | None],
    states: States,
    added: dict[str, list[tuple[_Raw, tuple[str, ...]]]],
    out: _Collector,
) -> dict[str, Concept]:
    """Every concept, each followed by the check of its aliases against the
    concepts before it. Every table is checked; those that define their
    concept are kept, with the states (and aliases) other files add."""
    concepts: dict[str, Concept] = {}
    alias_owner: dict[str, str] = {}  # an alias, lower case -> the concept that has it
    for (raw, defines), own in zip(concept_tables.tables, own_states, strict=True):
        concept = _concept(raw, own or (), states, out)
        _check_aliases(raw, concept, states, alias_owner if defines else dict(alias_owner), out)
        if defines:
            additions = tuple((other.path, new) for other, new in added.get(concept.id, ()))
            if additions:
                concept = concept._replace(states=states[concept.id] or (), additions=additions)
            concepts[concept.id] = concept
    for raw in concept_tables.extending:
        cid = raw.data.get("id")
        if "aliases" not in raw.data or cid not in concepts or concept_tables.found[cid].order == raw.order:
            continue  # nothing to add, or reported: an unknown concept, a concept of the same file
        concept = concepts[cid]
        if not concept.is_question:
            out.add(
                raw,
                f"'aliases' only makes sense on a question, and '{cid}' is not one",
                key="aliases",
                fix="remove aliases",
            )
            continue
        more = tuple(a for a in raw.data["aliases"] if a not in concept.aliases)
        _check_aliases(raw, concept._replace(aliases=more), states, alias_owner, out)
        concepts[cid] = concept._replace(aliases=concept.aliases + more)
    return concepts


def _check_aliases(raw: _Raw, concept: Concept, states: States, alias_owner: dict[str, str], out: _Collector) -> None:
    """Report aliases that are another concept's id or another concept's alias;
    record this concept's aliases in ``alias_owner`` (the caller passes a copy
    for a table that does not define its concept)."""
    for alias in concept.aliases:
        key = alias.lower()
        if key in states and key != concept.id:
            out.add(raw, f"alias '{alias}' is the id of another concept", key="aliases", fix="remove the alias")
        elif key in alias_owner and alias_owner[key] != concept.id:
            out.add(
                raw,
                f"alias '{alias}' is also an alias of '{alias_owner[key]}'",
                key="aliases",
                fix="give each alias to one concept only",
            )
        alias_owner[key] = concept.id


def _strata(rules: list[Rule], unsure: set[str], out: _Collector) -> tuple[dict[str, int], set[str]]:
    """Each live rule's stratum; rules that conclude a fact from its own
    absence are reported. The rules with a problem are left out (they are
    not live), so a cycle through one of them is found once it is fixed;
    a cycle through a rule that a rule with a problem replaces, or might
    replace (``unsure``), is not reported, as fixing that rule may remove it.
    Returns the strata and the ids of the rules on such cycles (the strata
    are empty when there are any)."""
    strata, cycles = negation_strata(rules)
    cyclic = {rule.id for cycle in cycles for rule in cycle}
    for cycle in cycles:
        first = cycle[0]
        if any(rule.id in unsure for rule in cycle):
            continue
        out.append(
            Problem(
                path=first.path,
                kind="rule",
                ident=first.id,
                key="when",
                message="a 'not' condition depends on this rule's own conclusions through "
                + " -> ".join(r.id for r in cycle),
                fix="a fact cannot be concluded from its own absence; remove the 'not' condition or break the chain",
            ),
            LAST,  # after every table's own problems: it is a problem of several rules
        )
    return strata, cyclic


# ---------------------------------------------------------------------------
# Loops
# ---------------------------------------------------------------------------


def _loops(raws: list[_Raw], states: States, rules: list[Rule], any_broken: bool, out: _Collector) -> tuple[Loop, ...]:
    """The [[loop]] tables that name a cycle of the rule graph, sorted by id.
    Every table's keys are checked; when some rule table has a problem, a
    loop is not reported for naming no cycle, as that rule may close it."""
    loops: dict[str, Loop] = {}
    seen: dict[str, _Raw] = {}  # each loop id, with its first table
    components = concept_components(rules)
    for raw in raws:
        if raw.kind != "loop":
            continue
        keys_ok = _check_keys(raw, LOOP_KEYS, out)
        loop_id = raw.data.get("id")
        if loop_id is not None and not LOOP_ID.fullmatch(loop_id):
            out.add(
                raw,
                f"bad loop id '{loop_id}'{odd_character(loop_id)}",
                key="id",
                fix="use lower-case letters, digits, '-', '_' and '.', e.g. 'topic-loop'",
            )
            keys_ok = False
        elif loop_id is not None:
            if loop_id in seen:
                first = seen[loop_id]
                out.add(
                    raw,
                    f"duplicate loop id '{loop_id}' (also in {first.path})",
                    key="id",
                    fix="give each loop its own id",
                )
                keys_ok = False  # its 'through' is still checked, but the loop is not kept
            else:
                seen[loop_id] = raw
        if "through" not in raw.data:
            continue
        loop = _loop(raw, states, components, any_broken, out)
        if loop is not None and keys_ok:
            loops[loop.id] = loop
    return tuple(sorted(loops.values(), key=lambda lp: lp.id))


def _loop(raw: _Raw, states: States, components: dict[str, str], any_broken: bool, out: _Collector) -> Loop | None:
    """One loop, or None when its concepts are unknown, too few, or not on one cycle."""
    data = raw.data
    through = tuple(data["through"])
    unknown = [c for c in through if c not in states]
    for concept in unknown:
        out.add(
            raw,
            f"unknown concept '{concept}'",
            key="through",
            fix=did_you_mean(concept, states) or "name concepts defined in [[concept]] tables",
        )
    if unknown:
        return None
    if len(through) < 2:
        out.add(
            raw,
            "a loop runs through at least two concepts",
            key="through",
            fix="list the concepts the loop passes through",
        )
        return None
    if len({components.get(c, c) for c in through}) != 1 or through[0] not in components:
        if raw.builtin or any_broken:
            # the built-in loops close on the built-in rules alone (the tests
            # hold them to it), so a --rules file replaced a rule this one ran
            # through: in this knowledge base the loop no longer exists, and
            # explanations do not name it. And while a rule table has a
            # problem (reported), it is not in the graph: it may be the rule
            # that closes this loop, so the loop cannot be judged yet
            return None
        out.add(
            raw,
            "the rules have no loop through all of " + ", ".join(through),
            key="through",
            fix="list concepts that lie on one cycle of the rule graph",
        )
        return None
    return Loop(data.get("id", ""), data.get("title", ""), through, data.get("description", ""), raw.path)


# ---------------------------------------------------------------------------
# Tensions
# ---------------------------------------------------------------------------


def _tensions(
    raws: list[_Raw], rules: list[Rule], documents: dict[str, Document], out: _Collector
) -> tuple[Tension, ...]:
    """The [[tension]] tables, sorted by id. Each names rules that some rule
    table defines (a rule with a problem counts: it is reported there) and
    at least two sides, each citing a known document. A tension concerns the
    live rules it names, and the rule that replaces one it names; a rule
    that is disabled, or left out for a problem, drops out, and a tension
    left with no live rule is dropped, as a loop whose cycle is broken."""
    named = [raw.ident for raw in raws if raw.kind == "rule" and raw.ident]
    known = set(named)
    live = {rule.id for rule in rules}
    stand_in = {old: rule.id for rule in rules for old in rule.replaced}  # a replaced rule -> the live one
    tensions: dict[str, Tension] = {}
    seen: dict[str, _Raw] = {}  # each tension id, with its first table
    for raw in raws:
        if raw.kind != "tension":
            continue
        ok = _check_keys(raw, TENSION_KEYS, out)
        tension_id = raw.data.get("id")
        if tension_id is not None and not TENSION_ID.fullmatch(tension_id):
            out.add(
                raw,
                f"bad tension id '{tension_id}'{odd_character(tension_id)}",
                key="id",
                fix="use lower-case letters, digits, '-', '_' and '.', e.g. 'topic-tension'",
            )
            ok = False
        elif tension_id is not None and tension_id in seen:
            out.add(
                raw,
                f"duplicate tension id '{tension_id}' (also in {seen[tension_id].path})",
                key="id",
                fix="give each tension its own id",
            )
            ok = False  # its rules and sides are still checked, but it is not kept
        elif tension_id is not None:
            seen[tension_id] = raw
        listed, rules_ok = _tension_rules(raw, known, named, out)
        sides, sides_ok = _tension_sides(raw, documents, out)
        if not (ok and rules_ok and sides_ok):
            continue
        concerned = tuple(dict.fromkeys(stand_in.get(r, r) for r in listed if stand_in.get(r, r) in live))
        if not concerned:  # every rule it names is out of this knowledge base: so is the tension
            continue
        data = raw.data
        tensions[data["id"]] = Tension(data["id"], data["title"], data["statement"], concerned, sides, raw.path)
    return tuple(sorted(tensions.values(), key=lambda t: t.id))


def _tension_rules(raw: _Raw, known: set[str], named: list[str], out: _Collector) -> tuple[tuple[str, ...], bool]:
    """The rule ids a tension names, and whether all of them are fine: each
    the id of a rule table, named once; at least one."""
    if "rules" not in raw.data:  # missing or unusable (reported)
        return (), False
    listed: list[str] = raw.data["rules"]
    ok = True
    if not listed:
        out.add(raw, "'rules' is empty", key="rules", fix="name at least one rule the tension concerns")
        ok = False
    seen: set[str] = set()
    for rule_id in listed:
        if rule_id in seen:
            out.add(raw, f"'rules' lists '{rule_id}' twice", key="rules", fix="list each rule once")
            ok = False
        elif rule_id not in known:
            out.add(
                raw,
                f"unknown rule '{visible(rule_id)}'",
                key="rules",
                fix=did_you_mean(rule_id, named) or "name rules of the built-in knowledge or of a --rules file",
            )
            ok = False
        seen.add(rule_id)
    return tuple(listed), ok


def _tension_sides(raw: _Raw, documents: dict[str, Document], out: _Collector) -> tuple[tuple[SourceRef, ...], bool]:
    """A tension's sides, each a { document, quote } citing a known document
    (its quote's spacing made single), and whether all of them were fine:
    at least two, none the same as another."""
    if "sides" not in raw.data:  # missing or unusable (reported)
        return (), False
    listed: list[dict] = raw.data["sides"]
    ok = True
    if len(listed) < 2:
        out.add(
            raw,
            f"a tension has at least two sides, and this one has {len(listed)}",
            key="sides",
            fix='list each sentence that differs: { document = "...", quote = "..." }',
        )
        ok = False
    sides: list[SourceRef] = []
    for number, item in enumerate(listed, 1):
        sub = _Raw(raw.kind, {"id": raw.ident, **item}, raw.path, raw.builtin, raw.order, raw.index)
        where = f"sides[{number}]"
        keys_ok = _check_keys(sub, SOURCE_KEYS, _Prefixed(out, where), internal=("id",))
        document: str | None = sub.data.get("document")
        if document is not None and document not in documents:
            out.add(
                raw,
                f"unknown document '{visible(document)}'",
                key=where,
                fix=did_you_mean(document, documents) or "declare it in a [[document]] table",
            )
            ok = False
            continue
        if not keys_ok or document is None:
            ok = False
            continue
        side = SourceRef(document, " ".join(sub.data["quote"].split()))
        if side in sides:
            out.add(raw, f"repeats side {sides.index(side) + 1}", key=where, fix="give each side once")
            ok = False
            continue
        sides.append(side)
    return tuple(sides), ok


# ---------------------------------------------------------------------------
# Concepts
# ---------------------------------------------------------------------------


def _concept(raw: _Raw, own_states: tuple[str, ...], states: States, out: _Collector) -> Concept:
    """One concept, from its table; its problems are reported, in the order of
    its keys' checks. Keys that are missing or unusable (already reported)
    stand as empty: the knowledge base does not load then."""
    data = raw.data
    cid = data.get("id", "")
    question = data.get("question", "")
    kind = _kind(raw, question, out)
    _check_question_keys(raw, question, out)
    multi = data.get("multi", False)
    # with its 'states' unusable (reported), a concept's exclusive states cannot be checked
    exclusive = _exclusive(raw, multi, own_states if "states" in data else None, out)
    return Concept(
        id=cid,
        label=data.get("label") or cid.replace("_", " ").capitalize(),
        states=own_states,
        kind=kind,
        question=question,
        help=data.get("help", ""),
        description=data.get("description", ""),
        aliases=tuple(data.get("aliases", ())),
        ask_if=_ask_if(raw, states, out),
        multi=multi,
        exclusive=exclusive,
        order=data.get("order", 1000),
        path=raw.path,
    )


def _kind(raw: _Raw, question: str, out: _Collector) -> Kind:
    """The concept's kind (by default a question if it has a question text, else
    a mechanism); an unknown kind is reported (the knowledge base then does not
    load) and stands as a mechanism meanwhile."""
    text = raw.data.get("kind") or (Kind.QUESTION if question else Kind.MECHANISM)
    kind = KIND_NAMED.get(text)
    if kind is None:
        out.add(
            raw, f"unknown kind '{text}'", key="kind", fix=did_you_mean(text, Kind) or "use one of " + ", ".join(Kind)
        )
    if kind is Kind.QUESTION and not question:
        out.add(
            raw,
            "kind is 'question' but there is no question text",
            key="question",
            fix='add question = "..." or choose another kind',
        )
    if question and kind is not Kind.QUESTION:
        out.add(
            raw,
            f"a concept with a question has kind 'question', not '{text}'",
            key="kind",
            fix='remove kind, or set kind = "question"',
        )
    return Kind.MECHANISM if kind is None else kind


def _check_question_keys(raw: _Raw, question: str, out: _Collector) -> None:
    """Report keys that only a question may have, on a concept without one."""
    for key in ("ask_if", "help", "aliases", "order"):
        if key in raw.data and not question:
            out.add(
                raw, f"'{key}' only makes sense on a question", key=key, fix='add question = "..." or remove ' + key
            )


def _exclusive(raw: _Raw, multi: bool, own_states: tuple[str, ...] | None, out: _Collector) -> tuple[str, ...]:
    """The states that exclude the others of a multi-answer question."""
    exclusive = tuple(raw.data.get("exclusive", ()))
    if exclusive and not multi:
        out.add(raw, "'exclusive' needs multi = true", key="exclusive", fix="add multi = true or remove exclusive")
    if own_states is None:  # its 'states' key is unusable (reported): there is nothing to check against
        return exclusive
    for state in exclusive:
        if state not in own_states:
            out.add(
                raw,
                f"exclusive state '{state}' is not one of the states",
                key="exclusive",
                fix=did_you_mean(state, own_states) or "list it in states",
            )
    return exclusive


def _ask_if(raw: _Raw, states: States, out: _Collector) -> tuple[Condition, ...]:
    """The conditions under which the question is asked: those that resolve."""
    texts = raw.data.get("ask_if", ())
    if _too_many_conditions(raw, "ask_if", out):
        return ()
    ask_if = tuple(c for c in (_condition(raw, "ask_if", text, states, out) for text in texts) if c)
    for cond in ask_if:
        if cond.concept == raw.data.get("id"):
            out.add(
                raw, "'ask_if' refers to the question itself", key="ask_if", fix="ask_if should name other questions"
            )
    return ask_if


def _too_many_conditions(raw: _Raw, key: str, out: _Collector) -> bool:
    """Whether ``key`` lists more than ``MAX_CONDITIONS`` conditions (reported)."""
    count = len(raw.data.get(key, ()))
    if count <= MAX_CONDITIONS:
        return False
    out.add(
        raw,
        f"'{key}' has {count} conditions; at most {MAX_CONDITIONS} are allowed",
        key=key,
        fix="split the rule into several rules, each concluding an intermediate concept",
    )
    return True


def _condition(raw: _Raw, key: str, text: str, states: States, out: _Collector) -> Condition | None:
    """A condition read and resolved, or None (reported) when it cannot be."""
    try:
        cond = parse_condition(text)
    except SyntaxProblem as exc:
        out.add(raw, str(exc), key=key, fix='e.g. "some_concept = some_state" (ids and states in lower case)')
        return None
    return cond if _resolve(raw, key, cond.concept, cond.states, states, out) else None


def _resolve(raw: _Raw, key: str, concept: str, wanted: tuple[str, ...], states: States, out: _Collector) -> bool:
    """Whether ``concept`` is known and has every state ``wanted``; what is not is reported."""
    if concept not in states:
        out.add(
            raw,
            f"unknown concept '{concept}'",
            key=key,
            fix=did_you_mean(concept, states) or "define it in a [[concept]] table",
        )
        return False
    known = states[concept]
    if known is None:
        # the concept is declared, but its 'states' key is unusable (reported
        # there): whether it has these states cannot be known
        return False
    ok = True
    for state in wanted:
        if state not in known:
            out.add(
                raw,
                f"'{state}' is not a state of '{concept}'",
                key=key,
                fix=did_you_mean(state, known) or "its states are " + ", ".join(known),
            )
            ok = False
    return ok


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------


def _rules(
    raws: list[_Raw], states: States, concepts: dict[str, Concept], documents: dict[str, Document], out: _Collector
) -> tuple[list[Rule], set[str], bool, list[Disabled]]:
    """The live rules, once each; the ids of those among them whose place a
    rule with a problem might take; whether any rule table had a problem;
    and the rules that --rules files disable.
    A rule of a --rules file may replace another (``replaces``); which rules
    are live is decided by the graph of replacements, not by the order of
    files or of rules in them. Every rule table is checked in full, and takes
    its place in that graph by its id and ``replaces`` when they are usable,
    even when another of its keys has a problem."""
    nodes: list[tuple[_Raw, Rule | None]] = []
    for raw in raws:
        if raw.kind != "rule":
            continue
        keys_ok = _check_keys(raw, RULE_KEYS, out)
        rule = _rule(raw, states, concepts, documents, out)
        if raw.data.get("replaces") and raw.builtin:
            out.add(raw, "built-in rules cannot use 'replaces'", key="replaces", fix="edit the rule itself")
            rule = None
        nodes.append((raw, rule if keys_ok else None))
    replacements = _Replacements(nodes, out)
    live = replacements.live()
    disabled = _disabled(raws, replacements, out)
    if disabled:
        gone = {d.rule.id for d in disabled}
        live = [rule for rule in live if rule.id not in gone]
    return live, replacements.unsure(), any(rule is None for _, rule in nodes), disabled


def _disabled(raws: list[_Raw], replacements: _Replacements, out: _Collector) -> list[Disabled]:
    """The rules the files' ``disables`` take out, each once (by the first
    file, in load order, that disables it). A rule that disables name must
    be one of another file, and not one a --rules file replaces (reported).
    Disabling a rule that replaced others takes them out with it: they stay
    replaced."""
    nodes = replacements.nodes
    live = {rule.id: rule for rule in replacements.live()}
    replaced_by: dict[int, int] = {}  # a rule -> the first rule that replaces it
    for child in sorted(replacements.parent):
        replaced_by.setdefault(replacements.parent[child], child)
    disabled: dict[str, Disabled] = {}
    for raw in raws:
        if raw.kind != _FILE:
            continue
        listed: list[str] = raw.data[DISABLES]
        seen: set[str] = set()
        for rule_id in listed:
            target = replacements.named.get(rule_id)
            twice = rule_id in seen
            seen.add(rule_id)
            if twice:
                out.add(raw, f"'disables' lists '{rule_id}' twice", key=DISABLES, fix="list each rule once")
            elif target is None:
                out.add(
                    raw,
                    f"disables unknown rule '{rule_id}'",
                    key=DISABLES,
                    fix=did_you_mean(rule_id, replacements.named)
                    or "name a rule of the built-in knowledge or of another --rules file",
                )
            elif nodes[target][0].order == raw.order:
                out.add(
                    raw,
                    f"disables '{rule_id}', a rule of this same file",
                    key=DISABLES,
                    fix=f"remove the rule '{rule_id}' from this file instead",
                )
            elif target in replaced_by:
                other = nodes[replaced_by[target]][0]
                out.add(
                    raw,
                    f"disables '{rule_id}', which '{other.ident}' in {other.path} replaces",
                    key=DISABLES,
                    fix=f"either disable '{rule_id}' or replace it: remove it from disables, "
                    f"or remove replaces from '{other.ident}'",
                )
            elif rule_id not in disabled:
                rule = live.get(rule_id) or nodes[target][1]
                if rule is not None:  # a rule with a problem (reported) is out anyway
                    disabled[rule_id] = Disabled(rule, raw.path)
    return list(disabled.values())


class _Replacements:
    """The rules as a forest: each rule that ``replaces`` another hangs
    below it. Every tree has one live rule, at the end of its chain of
    replacements; where two rules replace the same rule, the one from the
    file named last wins (both in one file: reported, as no order can
    choose). A rule that replaces its own id replaces the rule first given
    that id. Iterative throughout: chains of any length.

    A rule table with a problem (its Rule is None) still has its id and
    ``replaces`` checked (duplicates, unknown rules, circles) when they are
    usable; it is never live, and neither is a rule that replaces it (that
    is not reported: it depends on the problem already reported)."""

    def __init__(self, nodes: list[tuple[_Raw, Rule | None]], out: _Collector):
        self.nodes = nodes
        self.out = out
        self._live: list[Rule] | None = None
        self.broken = {index for index, (_, rule) in enumerate(nodes) if rule is None}
        unusable = {nodes[index][0].ident for index in self.broken}  # ids of rule tables with a problem
        # each id's first rule that does not replace its own id: what 'replaces = id' means
        self.named: dict[str, int] = {}
        self.dropped: set[int] = set(self.broken)
        for index, (raw, _) in enumerate(nodes):
            rule_id, replaces = self.ident(index), self.replaces(index)
            if not rule_id or replaces == rule_id:
                continue
            if rule_id in self.named:
                first = nodes[self.named[rule_id]][0]
                out.add(
                    raw,
                    f"duplicate rule id '{rule_id}' (also in {first.path})",
                    key="id",
                    fix=f'choose another id, or add replaces = "{rule_id}" to change the existing rule',
                )
                self.dropped.add(index)
            else:
                self.named[rule_id] = index
        self.parent: dict[int, int] = {}
        for index, (raw, _) in enumerate(nodes):
            replaces = self.replaces(index)
            if not replaces or (index in self.dropped and index not in self.broken):
                continue
            target = self.named.get(replaces)
            if target is None or target == index:
                self.dropped.add(index)
                if replaces not in unusable:
                    hint = did_you_mean(replaces, list(self.named)) or (
                        "name a rule of the built-in knowledge or of a --rules file"
                    )
                    out.add(raw, f"replaces unknown rule '{replaces}'", key="replaces", fix=hint)
            else:
                self.parent[index] = target
        self._drop_cycles()

    def ident(self, index: int) -> str:
        """The id of a rule table, or "" when it has no usable one (reported)."""
        rule_id = self.nodes[index][0].data.get("id", "")
        return rule_id if RULE_ID.fullmatch(rule_id) else ""

    def replaces(self, index: int) -> str:
        """The id a rule table replaces, or "" (also for a built-in rule, which
        cannot replace: that is reported, and what it names is not checked)."""
        raw = self.nodes[index][0]
        replaces: str = "" if raw.builtin else raw.data.get("replaces", "")
        return replaces

    def _drop_cycles(self) -> None:
        """Report each circle of replacements once, and drop every rule on
        one or leading into one."""
        state: dict[int, int] = {}  # 1: on the path being followed, 2: done
        for start in range(len(self.nodes)):
            path: list[int] = []
            node: int | None = start
            while node is not None and node not in state:
                state[node] = 1
                path.append(node)
                node = self.parent.get(node)
            broken = node is not None and (state[node] == 1 or node in self.dropped)
            if node is not None and state[node] == 1:
                circle = path[path.index(node) :]
                self._report_circle(circle)
            for visited in path:
                state[visited] = 2
                if broken:
                    self.dropped.add(visited)

    def _report_circle(self, circle: list[int]) -> None:
        first = min(circle, key=self.ident)
        at = circle.index(first)
        ordered = circle[at:] + circle[:at]
        names = " -> ".join(self.ident(i) for i in [*ordered, first])
        self.out.add(
            self.nodes[first][0],
            f"rules replace one another in a circle: {names} (each replaces the next)",
            key="replaces",
            fix="remove 'replaces' from one of them",
        )

    def unsure(self) -> set[str]:
        """The ids of the live rules of trees that hold a rule table with a
        problem: once it is fixed, the tree's live rule may be another."""
        roots: set[int] = set()
        for index in self.broken:
            seen: set[int] = set()
            node = index
            while node in self.parent and node not in seen:
                seen.add(node)
                node = self.parent[node]
            roots.add(node)
        ids = {self.ident(root) for root in roots}
        return {rule.id for rule in self.live() if rule.id in ids or set(rule.replaced) & ids}

    def live(self) -> list[Rule]:
        """The live rules (worked out once: choosing among replacements reports problems)."""
        if self._live is None:
            self._live = self._find_live()
        return self._live

    def _find_live(self) -> list[Rule]:
        children: dict[int, list[int]] = {}
        for child, parent in self.parent.items():
            if child not in self.dropped:
                children.setdefault(parent, []).append(child)
        rules = []
        for root in range(len(self.nodes)):
            if root in self.dropped or root in self.parent:
                continue
            node: int | None = root
            chain: list[str] = []  # the ids replaced, the original first
            while node is not None and node in children:
                chain.append(self.ident(node))
                node = self._winner(node, children[node])
            if node is not None:
                rule = self.nodes[node][1]
                assert rule is not None  # rule tables with a problem are dropped
                rules.append(rule._replace(replaced=tuple(reversed(chain))) if chain else rule)
        return rules

    def _winner(self, replaced: int, candidates: list[int]) -> int | None:
        """Of the rules that replace the same rule, the one from the file
        named last; None (reported) when that file holds several of them."""
        last = max(self.nodes[i][0].order for i in candidates)
        latest = sorted((i for i in candidates if self.nodes[i][0].order == last), key=self.ident)
        if len(latest) == 1:
            return latest[0]
        raw = self.nodes[latest[-1]][0]
        names = [f"'{self.ident(i)}'" for i in latest]
        both = "both" if len(names) == 2 else "all"
        self.out.add(
            raw,
            f"rule '{self.ident(replaced)}' is replaced by {', '.join(names[:-1])} and {names[-1]}, "
            f"{both} in this file",
            key="replaces",
            fix="keep one, or let one replace the other",
        )
        return None


def _rule(
    raw: _Raw, states: States, concepts: dict[str, Concept], documents: dict[str, Document], out: _Collector
) -> Rule | None:
    """One rule, from its table, or None when any of its parts has a problem.
    Every part that is there is checked, so that every problem is reported:
    a key that is missing or unusable (reported by :func:`_check_keys`) is
    skipped, and the others are checked as usual. What depends on a missing
    part is not checked: a rule without 'when' cannot conclude its own
    condition, and conditions on unknown concepts are not resolved."""
    data = raw.data
    id_ok = "id" not in data or _check_rule_id(raw, out)
    sizes_ok = _check_not_empty(raw, out)
    when, when_ok = _when(raw, states, out)
    then, then_ok = _then(raw, states, out)
    strength = _strength(raw, out)
    sources, sources_ok = _sources(raw, documents, out)
    own_ok = _check_own_condition(raw, when, then, out)
    absence_ok = _check_absence(raw, when, then, out)
    stand_in, stand_in_ok = _stands_in_for(raw, states, concepts, when, out)
    # a bad example is reported, but leaves the rule in: the rule itself may be fine
    examples = _examples(raw, states, concepts, out)
    complete = all(key in data for key, (_, required, _) in RULE_KEYS.items() if required)
    if strength is None or not (
        complete and id_ok and sizes_ok and when_ok and then_ok and sources_ok and own_ok and absence_ok and stand_in_ok
    ):
        if sources_ok and id_ok and isinstance(data.get("id"), str) and sources:
            out.left_out.append(
                Rule(
                    id=data["id"],
                    title=data.get("title", ""),
                    when=(),
                    then=(),
                    strength=Strength.POSSIBLE,
                    sources=sources,
                    path=raw.path,
                    builtin=raw.builtin,
                )
            )
        return None
    return Rule(
        id=data["id"],
        title=data["title"],
        when=when,
        then=then,
        strength=strength,
        sources=sources,
        path=raw.path,
        replaces=data.get("replaces", ""),
        examples=examples,
        builtin=raw.builtin,
        stands_in_for=stand_in,
    )


def _stands_in_for(
    raw: _Raw, states: States, concepts: dict[str, Concept], when: tuple[Condition, ...], out: _Collector
) -> tuple[Condition | None, bool]:
    """The answer a rule only infers (``stands_in_for``), and whether it is
    usable: a condition, not a 'not' one, on a question the rule does not
    itself read."""
    text = raw.data.get("stands_in_for")
    if not isinstance(text, str):
        return None, True  # absent, or the wrong type (reported with the keys)
    cond = _condition(raw, "stands_in_for", text, states, out)
    if cond is None:
        return None, False
    fix = 'name the question the rule infers, e.g. "some_question in [a, b]"'
    if cond.negated:
        out.add(raw, "'stands_in_for' cannot be a 'not' condition", key="stands_in_for", fix=fix)
        return None, False
    concept = concepts.get(cond.concept)
    if concept is not None and not concept.is_question:
        out.add(
            raw,
            f"'stands_in_for' names '{cond.concept}', which is not a question: a rule can stand in only "
            "for what the user can answer",
            key="stands_in_for",
            fix=fix,
        )
        return None, False
    if any(c.concept == cond.concept for c in when):
        out.add(
            raw,
            f"the rule reads '{cond.concept}' in 'when', so it does not stand in for it",
            key="stands_in_for",
            fix=f"remove 'stands_in_for', or the condition on '{cond.concept}' from 'when'",
        )
        return None, False
    return cond, True


# ---------------------------------------------------------------------------
# Examples: [[rule.example]]
# ---------------------------------------------------------------------------


def _examples(raw: _Raw, states: States, concepts: dict[str, Concept], out: _Collector) -> tuple[Example, ...]:
    """The rule's [[rule.example]] tables that are fine; the problems of the
    others are reported under keys such as ``example[2].answers``."""
    tables = raw.data.get("example", ())
    if len(tables) > MAX_EXAMPLES:
        out.add(
            raw,
            f"the rule has {len(tables)} examples; at most {MAX_EXAMPLES} are allowed",
            key="example",
            fix="keep the examples that show different cases",
        )
        return ()
    examples: list[Example] = []
    names: set[str] = set()
    for number, table in enumerate(tables, 1):
        example = _example(raw, number, table, states, concepts, out)
        if example is None:
            continue
        if example.name in names:
            out.add(
                raw,
                f"two examples are named '{example.name}'",
                key=f"example[{number}].name",
                fix="give each example of a rule its own name",
            )
            continue
        names.add(example.name)
        examples.append(example)
    return tuple(examples)


def _example(
    raw: _Raw, number: int, table: dict, states: States, concepts: dict[str, Concept], out: _Collector
) -> Example | None:
    """One example, or None when any part of it has a problem (reported)."""
    where = f"example[{number}]"
    sub = _Raw(raw.kind, dict(table), raw.path, raw.builtin, raw.order, raw.index, raw.real)
    sub.ident = raw.ident  # its problems name the rule
    keys_ok = _check_keys(sub, EXAMPLE_KEYS, _Prefixed(out, where))
    data = sub.data
    answers, answers_ok = _example_answers(raw, f"{where}.answers", data.get("answers", {}), states, concepts, out)
    expect, expect_ok = _example_facts(raw, f"{where}.expect", data.get("expect", ()), states, out)
    absent, absent_ok = _example_facts(raw, f"{where}.absent", data.get("absent", ()), states, out)
    ok = keys_ok and answers_ok and expect_ok and absent_ok
    if not table.get("expect") and not table.get("absent"):
        out.add(
            raw,
            "the example expects nothing",
            key=where,
            fix='add expect = ["concept = state"] (facts that must follow) or absent = [...] (facts that must not)',
        )
        ok = False
    for fact in expect:
        if fact in absent:
            out.add(
                raw,
                f"'{fact}' is both expected and absent",
                key=f"{where}.absent",
                fix="keep it in expect or in absent, not both",
            )
            ok = False
    strengths, strengths_ok = _example_strengths(
        raw, f"{where}.strength", data.get("strength", {}), expect, expect_ok, out
    )
    if not (ok and strengths_ok and expect_ok):
        return None
    return Example(
        name=data.get("name") or f"example {number}",
        answers=answers,
        expect=expect,
        absent=absent,
        strengths=strengths,
    )


def _example_answers(
    raw: _Raw, key: str, given: dict, states: States, concepts: dict[str, Concept], out: _Collector
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], bool]:
    """An example's answers, by concept id, each question's states in the
    concept's order (``()`` for "unknown"), and whether all of them were fine."""
    ok = True
    answers: dict[str, tuple[str, ...]] = {}
    questions = [c.id for c in concepts.values() if c.is_question]
    for cid, value in given.items():
        concept = concepts.get(cid)
        if concept is None:
            out.add(
                raw,
                f"unknown question '{cid}'",
                key=key,
                fix=did_you_mean(cid, questions) or did_you_mean(cid, states) or "answer questions only",
            )
            ok = False
            continue
        if not concept.is_question:
            out.add(
                raw,
                f"'{cid}' is not a question: an example answers questions only",
                key=key,
                fix=f"to check a conclusion, write '{cid} = <state>' in expect",
            )
            ok = False
            continue
        found = _answer(raw, key, concept, value, states, out)
        if found is None:
            ok = False
        else:
            answers[cid] = found
    return tuple(sorted(answers.items())), ok


def _answer(
    raw: _Raw, key: str, concept: Concept, value: Any, states: States, out: _Collector
) -> tuple[str, ...] | None:
    """One answer of an example, its states in the concept's order (``()``
    for "unknown"), or None (reported) when it is not one the question takes."""
    cid = concept.id
    listed = isinstance(value, list)
    if not (isinstance(value, str) or (listed and all(isinstance(v, str) for v in value))):
        out.add(
            raw,
            f"the answer to '{cid}' has the wrong type ({_tname(value)})",
            key=key,
            fix='write a state, a list of states (for a question that allows several), or "unknown"',
        )
        return None
    values: list[str] = value if listed else [value]
    known = states.get(cid) or ()
    if listed and not concept.multi:
        out.add(
            raw,
            f"'{cid}' takes one answer, not a list",
            key=key,
            fix=f'write one state, e.g. {cid} = "{values[0]}"' if values else "write one state",
        )
        return None
    if not values:
        out.add(raw, f"the answer to '{cid}' is an empty list", key=key, fix='write "unknown" for no answer')
        return None
    if "unknown" in values:
        if len(values) == 1:
            return ()
        out.add(
            raw,
            f"'unknown' cannot stand beside other answers to '{cid}'",
            key=key,
            fix='write "unknown" alone, or leave it out',
        )
        return None
    counts = Counter(values)
    twice = next((v for v in values if counts[v] > 1), None)
    if twice is not None:
        out.add(raw, f"the answer to '{cid}' names '{twice}' twice", key=key, fix="name each state once")
        return None
    if not _resolve(raw, key, cid, tuple(values), states, out):
        return None
    alone = next((v for v in values if v in concept.exclusive), None)
    if alone is not None and len(values) > 1:
        out.add(
            raw,
            f"'{alone}' cannot stand beside other answers to '{cid}'",
            key=key,
            fix=f"answer '{alone}' alone",
        )
        return None
    return tuple(s for s in known if s in values)


def _example_facts(
    raw: _Raw, key: str, texts: Iterable[str], states: States, out: _Collector
) -> tuple[tuple[Fact, ...], bool]:
    """An example's ``expect`` or ``absent``: read and checked as ``then`` is."""
    facts: list[Fact] = []
    ok = True
    for text in texts:
        try:
            fact = parse_fact(text)
        except SyntaxProblem as exc:
            out.add(raw, str(exc), key=key, fix='a fact names one state: "concept = state"')
            ok = False
            continue
        if not _resolve(raw, key, fact.concept, (fact.state,), states, out):
            ok = False
        elif fact in facts:
            out.add(raw, f"'{fact}' is listed twice", key=key, fix="list each fact once")
            ok = False
        else:
            facts.append(fact)
    return tuple(facts), ok


def _example_strengths(
    raw: _Raw, key: str, given: dict, expect: tuple[Fact, ...], expect_ok: bool, out: _Collector
) -> tuple[tuple[tuple[Fact, Strength], ...], bool]:
    """The strengths an example expects, each for the one fact of its concept
    in ``expect``, and whether all of them were fine. A concept missing from
    ``expect`` is not reported while ``expect`` has a problem (reported)."""
    names = [s.label for s in Strength.for_rules()]
    strengths: list[tuple[Fact, Strength]] = []
    ok = True
    for cid, value in given.items():
        facts = [f for f in expect if f.concept == cid]
        if not isinstance(value, str) or value not in names:
            shown = f"'{value}'" if isinstance(value, str) else f"of the wrong type ({_tname(value)})"
            hint = did_you_mean(value, names) if isinstance(value, str) else ""
            out.add(
                raw,
                f"the strength of '{cid}' is {shown}",
                key=key,
                fix=hint or "use one of " + ", ".join(names),
            )
            ok = False
        elif not facts:
            if expect_ok:
                out.add(
                    raw,
                    f"'strength' names '{cid}', which 'expect' does not",
                    key=key,
                    fix=f"add '{cid} = <state>' to expect, or remove {cid} from strength",
                )
            ok = False
        elif len(facts) > 1:
            out.add(
                raw,
                f"'strength' names '{cid}', which 'expect' names {len(facts)} times: "
                + ", ".join(str(f) for f in facts),
                key=key,
                fix="expect one state of it in an example that gives its strength",
            )
            ok = False
        else:
            strengths.append((facts[0], Strength.parse(value)))
    return tuple(strengths), ok


def _check_rule_id(raw: _Raw, out: _Collector) -> bool:
    """Whether the rule's id has the shape of one (reported if not)."""
    if RULE_ID.fullmatch(raw.data["id"]):
        return True
    out.add(
        raw,
        f"bad rule id '{raw.data['id']}'{odd_character(raw.data['id'])}",
        key="id",
        fix="use lower-case letters, digits, '.', '-' and '_', e.g. 'topic.short-name'",
    )
    return False


def _check_not_empty(raw: _Raw, out: _Collector) -> bool:
    """Whether the rule has at least one condition and one conclusion (reported if not)."""
    ok = True
    if "when" in raw.data and not raw.data["when"]:
        out.add(raw, "'when' is empty", key="when", fix='add at least one condition, e.g. when = ["concept = state"]')
        ok = False
    if "then" in raw.data and not raw.data["then"]:
        out.add(raw, "'then' is empty", key="then", fix='add at least one conclusion, e.g. then = ["concept = state"]')
        ok = False
    return ok


def _when(raw: _Raw, states: States, out: _Collector) -> tuple[tuple[Condition, ...], bool]:
    """The rule's conditions that resolve, and whether all of them did."""
    if "when" not in raw.data:
        return (), True
    if _too_many_conditions(raw, "when", out):
        return (), False
    when = []
    ok = True
    for text in raw.data["when"]:
        cond = _condition(raw, "when", text, states, out)
        if cond is None:
            ok = False
        else:
            when.append(cond)
    return tuple(when), ok


def _then(raw: _Raw, states: States, out: _Collector) -> tuple[tuple[Fact, ...], bool]:
    """The rule's conclusions that resolve, and whether all of them did, once each."""
    then = []
    ok = True
    for text in raw.data.get("then", ()):
        try:
            fact = parse_fact(text)
        except SyntaxProblem as exc:
            out.add(raw, str(exc), key="then", fix='a conclusion names one state: "concept = state"')
            ok = False
            continue
        if _resolve(raw, "then", fact.concept, (fact.state,), states, out):
            then.append(fact)
        else:
            ok = False
    if len(set(then)) != len(then):
        out.add(raw, "'then' lists a conclusion twice", key="then", fix="list each conclusion once")
        ok = False
    return tuple(then), ok


def _strength(raw: _Raw, out: _Collector) -> Strength | None:
    """The rule's strength, or None (reported, unless the key is missing)
    when it is not one a rule may have."""
    if "strength" not in raw.data:
        return None
    text = raw.data["strength"]
    names = [s.label for s in Strength.for_rules()]
    if text == Strength.GIVEN.label:
        out.add(
            raw,
            "'given' is the strength of the user's answers; a rule cannot use it",
            key="strength",
            fix="use one of " + ", ".join(names),
        )
        return None
    if text not in names:
        out.add(
            raw,
            f"unknown strength '{text}'",
            key="strength",
            fix=did_you_mean(text, names) or "use one of " + ", ".join(names),
        )
        return None
    return Strength.parse(text)


def _sources(raw: _Raw, documents: dict[str, Document], out: _Collector) -> tuple[tuple[SourceRef, ...], bool]:
    """The rule's sources that cite a known document, and whether all of them did."""
    if "sources" not in raw.data:
        return (), True
    ok = True
    if not raw.data["sources"]:
        out.add(
            raw,
            "'sources' is empty",
            key="sources",
            fix='cite at least one sentence: { document = "...", quote = "..." }',
        )
        ok = False
    sources = []
    for item in raw.data["sources"]:
        source = _source(raw, item, documents, out)
        if source is None:
            ok = False
        else:
            sources.append(source)
    return tuple(sources), ok


def _source(raw: _Raw, item: dict, documents: dict[str, Document], out: _Collector) -> SourceRef | None:
    """One { document, quote } of a rule, its quote's spacing made single, or
    None (reported, under the key 'sources') when it cannot be used."""
    # the rule's id, so that problems name the rule, and its place, so that they come with its others
    sub = _Raw(raw.kind, {"id": raw.ident, **item}, raw.path, raw.builtin, raw.order, raw.index)
    keys_ok = _check_keys(sub, SOURCE_KEYS, _Prefixed(out, "sources"), internal=("id",))
    document: str | None = sub.data.get("document")
    if document is not None and document not in documents:  # checked even when the quote has a problem
        out.add(
            raw,
            f"unknown document '{document}'",
            key="sources",
            fix=did_you_mean(document, documents) or "declare it in a [[document]] table",
        )
        return None
    if not keys_ok or document is None:
        return None
    return SourceRef(document, " ".join(sub.data["quote"].split()))


def _check_own_condition(raw: _Raw, when: tuple[Condition, ...], then: tuple[Fact, ...], out: _Collector) -> bool:
    """Whether no conclusion is accepted by one of the rule's own (positive)
    conditions, which would let the rule justify it by itself (reported)."""
    ok = True
    for fact in then:
        own = next((c for c in when if not c.negated and fact in c.facts()), None)
        if own is None:
            continue
        ok = False
        if len(own.states) == 1:
            out.add(
                raw,
                f"concludes its own condition '{fact}'",
                key="then",
                fix="a rule cannot conclude what it needs; remove the conclusion or the condition",
            )
            continue
        others = ", ".join(s for s in own.states if s != fact.state)
        out.add(
            raw,
            f"concludes '{fact}', which its own condition '{own}' accepts",
            key="then",
            fix=f"it would justify the fact by itself; narrow the condition to {own.concept} in [{others}]"
            if "," in others
            else f"it would justify the fact by itself; write {own.concept} = {others}",
        )
    return ok


def _check_absence(raw: _Raw, when: tuple[Condition, ...], then: tuple[Fact, ...], out: _Collector) -> bool:
    """Whether no conclusion is one of the facts a 'not' condition of the rule
    requires to be absent (reported)."""
    negated = {f for c in when if c.negated for f in c.facts()}
    ok = True
    for fact in then:
        if fact in negated:
            out.add(
                raw,
                f"concludes '{fact}' from its absence",
                key="then",
                fix="remove the 'not' condition or the conclusion",
            )
            ok = False
    return ok


__all__ = ["build", "build_partial", "load", "load_partial"]
