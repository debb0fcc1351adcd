"""Load rule files into a validated :class:`KnowledgeBase`.

Everything is checked before anything runs, and every problem found is
reported, not only the first: unknown keys, wrong types, unknown concepts,
states and documents (with a "did you mean"), duplicate ids, empty
conditions or conclusions, bad strengths, rules that conclude their own
condition, and ``not`` conditions that depend on their own conclusions.
Nothing in a rule file is ever executed: files are parsed as TOML data.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import rulefiles
from .errors import KnowledgeBaseError, Problem
from .graph import concept_components, negation_strata
from .limits import MAX_CONDITIONS, MAX_RULES, MAX_STATES
from .model import KIND_NAMED, Concept, Condition, Document, Fact, Kind, KnowledgeBase, Loop, Rule, SourceRef, Strength
from .suggest import did_you_mean
from .syntax import (
    CONCEPT_ID,
    DOCUMENT_ID,
    RULE_ID,
    STATE_NAME,
    SyntaxProblem,
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
}
RULE_KEYS = {
    "id": (str, True, "a rule id such as 'topic.short-name'"),
    "title": (str, True, "a one-line statement of the claim"),
    "when": (list, True, "a list of conditions"),
    "then": (list, True, "a list of 'concept = state'"),
    "strength": (str, True, "one of established, likely, possible"),
    "sources": (list, True, 'a list of { document = "...", quote = "..." }'),
    "replaces": (str, False, "the id of the rule this one replaces"),
}
DOCUMENT_KEYS = {
    "id": (str, True, "a short key such as 'my-article'"),
    "title": (str, True, "the document's title"),
    "file": (str, False, "the file name of the document"),
}
SOURCE_KEYS = {"document": (str, True, "a document id"), "quote": (str, True, "a verbatim quote")}
LOOP_KEYS = {
    "id": (str, True, "a short id such as 'topic-loop'"),
    "title": (str, True, "the loop's name, as explanations will say it"),
    "through": (list, True, "a list of the concept ids on the loop"),
    "description": (str, False, "a text"),
}
TABLES = {"concept": CONCEPT_KEYS, "rule": RULE_KEYS, "document": DOCUMENT_KEYS, "loop": LOOP_KEYS}


@dataclass
class _Raw:
    """A table read from a file, with where it came from."""

    kind: str
    data: dict
    path: str
    builtin: bool
    order: int = 0  # the file's place in the load order: built-in files, then --rules in the order named
    index: int = 0  # the table's place in its file
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

    ``builtin`` files may not use ``replaces``; ``extra`` files (a rule
    author's ``--rules``) may, to change a built-in rule. Raises
    :class:`KnowledgeBaseError` with every problem found.
    """
    return build(rulefiles.read(builtin, extra, display_root=display_root))


def build(found: Iterable[rulefiles.RuleFile | Problem]) -> KnowledgeBase:
    """Parse and validate rule files already read (as :func:`rulefiles.read`
    returns them, with the problems met reading them, in order). Raises
    :class:`KnowledgeBaseError` with every problem."""
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
    if out.problems:
        raise KnowledgeBaseError(out.ordered())
    return kb


def _parse(rule_file: rulefiles.RuleFile, out: _Collector, order: int = 0) -> list[_Raw]:
    """The tables of one rule file, or none when it is not TOML or is over
    a limit on its shape (nesting, numbers)."""
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
    raws: list[_Raw] = []
    for key, value in data.items():
        if key not in TABLES:
            hint = (
                did_you_mean(key, TABLES)
                or "a rule file holds only [[concept]], [[rule]], [[document]] and [[loop]] tables"
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
        raws.extend(_Raw(key, table, shown, rule_file.builtin, order, len(raws) + i) for i, table in enumerate(value))
    return raws


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
            good = all(isinstance(v, dict if key == "sources" else str) for v in value)
        if not good:
            out.add(raw, f"'{key}' has the wrong type ({_tname(value)})", key=key, fix=f"write {want}")
            bad.add(key)
        elif kind is str and key != "replaces" and not value.strip():
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
    concepts = _concepts(concept_tables, own_states, states, out)
    if _too_many_rules(raws, out):
        rules: list[Rule] = []
        loops: tuple[Loop, ...] = ()
        strata: dict[str, int] = {}
    else:
        # the later stages run on the rules that are fine, so that a broken
        # rule hides nothing they can still find
        rules, unsure, any_broken = _rules(raws, states, documents, out)
        loops = _loops(raws, states, rules, any_broken, out)
        strata = _strata(rules, unsure, out)
    return KnowledgeBase(
        concepts=concepts,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        documents=documents,
        files=files,
        strata=strata,
        loops=loops,
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
            documents[doc_id] = Document(doc_id, raw.data.get("title", ""), raw.data.get("file", ""), raw.path)
    return documents


def _concept_tables(raws: list[_Raw], out: _Collector) -> list[tuple[_Raw, bool]]:
    """Every [[concept]] table, its keys checked, each with whether it defines
    its concept (a usable id, not defined before); bad and duplicate ids are
    reported. A table that defines nothing still has its other keys checked."""
    found: dict[str, _Raw] = {}
    tables: list[tuple[_Raw, bool]] = []
    for raw in raws:
        if raw.kind != "concept":
            continue
        _check_keys(raw, CONCEPT_KEYS, out)
        cid = raw.data.get("id")
        tables.append((raw, cid is not None and CONCEPT_ID.fullmatch(cid) is not None and cid not in found))
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
                fix="define each concept once; rules in any file may use it",
            )
        else:
            found[cid] = raw
    return tables


def _states(concept_tables: list[tuple[_Raw, bool]], out: _Collector) -> tuple[States, list[tuple[str, ...] | None]]:
    """Each defined concept's states, listed once each, and each table's own
    (None where its 'states' key is unusable); bad states are reported, in
    every table, whether it defines its concept or not."""
    states: States = {}
    own: list[tuple[str, ...] | None] = []
    for raw, defines in concept_tables:
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
    concept_tables: list[tuple[_Raw, bool]], own_states: list[tuple[str, ...] | None], states: States, out: _Collector
) -> dict[str, Concept]:
    """Every concept, each followed by the check of its aliases against the
    concepts before it. Every table is checked; those that define their
    concept are kept."""
    concepts: dict[str, Concept] = {}
    alias_owner: dict[str, str] = {}  # an alias, lower case -> the concept that has it
    for (raw, defines), own in zip(concept_tables, own_states, strict=True):
        concept = _concept(raw, own or (), states, out)
        _check_aliases(raw, concept, states, alias_owner if defines else dict(alias_owner), out)
        if defines:
            concepts[concept.id] = concept
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


def _strata(rules: list[Rule], unsure: set[str], out: _Collector) -> dict[str, int]:
    """Each live rule's stratum; rules that conclude a fact from its own
    absence are reported. The rules with a problem are left out (they are
    not live), so a cycle through one of them is found once it is fixed;
    a cycle through a rule that a rule with a problem replaces, or might
    replace (``unsure``), is not reported, as fixing that rule may remove it."""
    strata, cycles = negation_strata(rules)
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
    return strata


# ---------------------------------------------------------------------------
# Loops
# ---------------------------------------------------------------------------


def _loops(raws: list[_Raw], states: States, rules: list[Rule], any_broken: bool, out: _Collector) -> tuple[Loop, ...]:
    """The [[loop]] tables that name a cycle of the rule graph, sorted by id.
    Every table's keys are checked; when some rule table has a problem, a
    loop is not reported for naming no cycle, as that rule may close it."""
    loops: dict[str, Loop] = {}
    seen: set[str] = set()
    components = concept_components(rules)
    for raw in raws:
        if raw.kind != "loop":
            continue
        keys_ok = _check_keys(raw, LOOP_KEYS, out)
        loop_id = raw.data.get("id")
        if loop_id is not None:
            if loop_id in seen:
                out.add(raw, f"duplicate loop id '{loop_id}'", key="id", fix="give each loop its own id")
                continue
            seen.add(loop_id)
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
    raws: list[_Raw], states: States, documents: dict[str, Document], out: _Collector
) -> tuple[list[Rule], set[str], bool]:
    """The live rules, once each; the ids of those among them whose place a
    rule with a problem might take; and whether any rule table had a problem.
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
        rule = _rule(raw, states, documents, out)
        if raw.data.get("replaces") and raw.builtin:
            out.add(raw, "built-in rules cannot use 'replaces'", key="replaces", fix="edit the rule itself")
            rule = None
        nodes.append((raw, rule if keys_ok else None))
    replacements = _Replacements(nodes, out)
    return replacements.live(), replacements.unsure(), any(rule is None for _, rule in nodes)


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


def _rule(raw: _Raw, states: States, documents: dict[str, Document], out: _Collector) -> Rule | None:
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
    complete = all(key in data for key, (_, required, _) in RULE_KEYS.items() if required)
    if strength is None or not (
        complete and id_ok and sizes_ok and when_ok and then_ok and sources_ok and own_ok and absence_ok
    ):
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
    )


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


__all__ = ["build", "load"]
