"""Load rule files into a validated :class:`KnowledgeBase`.

Everything is checked before anything runs, and every problem found is
reported, not only the first: unknown keys, wrong types, unknown concepts,
states and documents (with a "did you mean"), duplicate ids, empty
conditions or conclusions, bad strengths, rules that conclude their own
condition, and ``not`` conditions that depend on their own conclusions.
Nothing in a rule file is ever executed: files are parsed as TOML data.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rulefiles
from .errors import KnowledgeBaseError, Problem
from .graph import concept_components, negation_strata
from .model import Concept, Condition, Document, KnowledgeBase, Loop, Rule, SourceRef, Strength
from .suggest import did_you_mean
from .syntax import SyntaxProblem, parse_condition, parse_fact

KINDS = ("question", "mechanism", "outcome", "advice")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_STATE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DOC_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# key -> (python type, required, what a rule author should write)
CONCEPT_KEYS = {
    "id": (str, True, "a snake_case id"),
    "label": (str, False, "a short text"),
    "states": (list, True, "a list of states"),
    "kind": (str, False, "one of " + ", ".join(KINDS)),
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

    @property
    def ident(self) -> str:
        value = self.data.get("id")
        return value if isinstance(value, str) else ""


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)

    def add(self, raw: _Raw | None, message: str, *, key: str = "", fix: str = "", path: str = ""):
        if raw is None:
            self.problems.append(Problem(path=path, message=message, key=key, fix=fix))
        else:
            self.problems.append(
                Problem(path=raw.path, kind=raw.kind, ident=raw.ident, key=key, message=message, fix=fix)
            )


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
    shown = []
    for item in found:
        if isinstance(item, Problem):
            out.problems.append(item)
            continue
        shown.append(item.shown)
        raws.extend(_parse(item, out))
    kb = _build(raws, out, tuple(shown))
    if out.problems:
        raise KnowledgeBaseError(out.problems)
    return kb


def _parse(rule_file: rulefiles.RuleFile, out: _Collector) -> list[_Raw]:
    shown = rule_file.shown
    try:
        data = tomllib.loads(rule_file.text)
    except tomllib.TOMLDecodeError as exc:
        out.add(
            None,
            f"not valid TOML: {exc}",
            path=shown,
            fix="see https://toml.io for the syntax; strings need double quotes",
        )
        return []
    raws = []
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
        raws.extend(_Raw(key, table, shown, rule_file.builtin) for table in value)
    return raws


def _check_keys(raw: _Raw, spec: dict, out: _Collector, internal: tuple[str, ...] = ()) -> bool:
    """Report unknown keys, missing keys and wrong types.

    Keys with a problem are removed from ``raw.data``, so that the rest of
    the table can still be used (a concept with one bad key still defines
    its id and states, and rules that use it are not reported as well).
    Returns False when a required key is missing or unusable.
    """
    usable = True
    bad = set()
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
    ident = raw.ident
    raw.data = {k: v for k, v in raw.data.items() if k not in bad}
    if ident and "id" not in raw.data:
        raw.data["id"] = ident
    return usable


def _tname(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _build(raws: list[_Raw], out: _Collector, files: tuple[str, ...]) -> KnowledgeBase:
    documents: dict[str, Document] = {}
    concept_raws: dict[str, _Raw] = {}
    for raw in raws:
        if raw.kind == "document" and _check_keys(raw, DOCUMENT_KEYS, out):
            doc_id = raw.data["id"]
            if not _DOC_ID.match(doc_id):
                out.add(
                    raw, f"bad document id '{doc_id}'", key="id", fix="use lower-case letters, digits, '-', '_' and '.'"
                )
            elif doc_id in documents:
                out.add(
                    raw,
                    f"duplicate document id '{doc_id}' (also in {documents[doc_id].path})",
                    key="id",
                    fix="give each document its own id",
                )
            else:
                documents[doc_id] = Document(doc_id, raw.data["title"], raw.data.get("file", ""), raw.path)

    for raw in raws:
        if raw.kind == "concept" and _check_keys(raw, CONCEPT_KEYS, out):
            cid = raw.data["id"]
            if not _ID.match(cid):
                out.add(
                    raw,
                    f"bad concept id '{cid}'",
                    key="id",
                    fix="use snake_case: lower-case letters, digits and '_', starting with a letter",
                )
            elif cid in concept_raws:
                out.add(
                    raw,
                    f"duplicate concept id '{cid}' (also in {concept_raws[cid].path})",
                    key="id",
                    fix="define each concept once; rules in any file may use it",
                )
            else:
                concept_raws[cid] = raw

    # States first, so that ask_if and rules can be resolved against them.
    states: dict[str, tuple[str, ...]] = {}
    for cid, raw in concept_raws.items():
        listed = raw.data["states"]
        if not listed:
            out.add(raw, "'states' is empty", key="states", fix="list at least one state")
        for state in listed:
            if not _STATE.match(state):
                out.add(raw, f"bad state '{state}'", key="states", fix="use lower-case letters, digits and '_'")
        dupes = sorted({s for s in listed if listed.count(s) > 1})
        if dupes:
            out.add(raw, f"state '{dupes[0]}' is listed twice", key="states", fix="list each state once")
        if "unknown" in listed:
            out.add(
                raw,
                "'unknown' cannot be a state: every question already accepts it",
                key="states",
                fix="remove 'unknown' from states",
            )
        states[cid] = tuple(dict.fromkeys(listed))

    concepts: dict[str, Concept] = {}
    alias_owner: dict[str, str] = {}
    for cid, raw in concept_raws.items():
        concept = _concept(raw, states, out)
        for alias in concept.aliases:
            key = alias.lower()
            if key in states and key != cid:
                out.add(raw, f"alias '{alias}' is the id of another concept", key="aliases", fix="remove the alias")
            elif key in alias_owner and alias_owner[key] != cid:
                out.add(
                    raw,
                    f"alias '{alias}' is also an alias of '{alias_owner[key]}'",
                    key="aliases",
                    fix="give each alias to one concept only",
                )
            alias_owner[key] = cid
        concepts[cid] = concept

    rules = _rules(raws, states, documents, out)
    loops = _loops(raws, states, rules, out)
    strata = {}
    if not out.problems:
        strata, cycles = negation_strata(rules)
        for cycle in cycles:
            first = cycle[0]
            out.problems.append(
                Problem(
                    path=first.path,
                    kind="rule",
                    ident=first.id,
                    key="when",
                    message="a 'not' condition depends on this rule's own conclusions through "
                    + " -> ".join(r.id for r in cycle),
                    fix="a fact cannot be concluded from its own absence; remove the 'not' condition "
                    "or break the chain",
                )
            )
    return KnowledgeBase(
        concepts=concepts,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        documents=documents,
        files=files,
        strata=strata,
        loops=loops,
    )


def _loops(raws: list[_Raw], states: dict, rules: list[Rule], out: _Collector) -> tuple[Loop, ...]:
    loops: dict[str, Loop] = {}
    components = concept_components(rules)
    for raw in raws:
        if raw.kind != "loop" or not _check_keys(raw, LOOP_KEYS, out):
            continue
        data = raw.data
        if data["id"] in loops:
            out.add(raw, f"duplicate loop id '{data['id']}'", key="id", fix="give each loop its own id")
            continue
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
            continue
        if len(through) < 2:
            out.add(
                raw,
                "a loop runs through at least two concepts",
                key="through",
                fix="list the concepts the loop passes through",
            )
            continue
        if len({components.get(c, c) for c in through}) != 1 or through[0] not in components:
            out.add(
                raw,
                "the rules have no loop through all of " + ", ".join(through),
                key="through",
                fix="list concepts that lie on one cycle of the rule graph",
            )
            continue
        loops[data["id"]] = Loop(data["id"], data["title"], through, data.get("description", ""), raw.path)
    return tuple(sorted(loops.values(), key=lambda lp: lp.id))


def _concept(raw: _Raw, states: dict[str, tuple[str, ...]], out: _Collector) -> Concept:
    data = raw.data
    cid = data["id"]
    question = data.get("question", "")
    kind = data.get("kind") or ("question" if question else "mechanism")
    if kind not in KINDS:
        out.add(
            raw, f"unknown kind '{kind}'", key="kind", fix=did_you_mean(kind, KINDS) or "use one of " + ", ".join(KINDS)
        )
    if kind == "question" and not question:
        out.add(
            raw,
            "kind is 'question' but there is no question text",
            key="question",
            fix='add question = "..." or choose another kind',
        )
    if question and kind != "question":
        out.add(
            raw,
            f"a concept with a question has kind 'question', not '{kind}'",
            key="kind",
            fix='remove kind, or set kind = "question"',
        )
    for key in ("ask_if", "help", "aliases", "order"):
        if key in data and not question:
            out.add(
                raw, f"'{key}' only makes sense on a question", key=key, fix='add question = "..." or remove ' + key
            )
    multi = data.get("multi", False)
    exclusive = tuple(data.get("exclusive", ()))
    if exclusive and not multi:
        out.add(raw, "'exclusive' needs multi = true", key="exclusive", fix="add multi = true or remove exclusive")
    for state in exclusive:
        if state not in states[cid]:
            out.add(
                raw,
                f"exclusive state '{state}' is not one of the states",
                key="exclusive",
                fix=did_you_mean(state, states[cid]) or "list it in states",
            )
    ask_if = tuple(c for c in (_condition(raw, "ask_if", text, states, out) for text in data.get("ask_if", ())) if c)
    for cond in ask_if:
        if cond.concept == cid:
            out.add(
                raw, "'ask_if' refers to the question itself", key="ask_if", fix="ask_if should name other questions"
            )
    label = data.get("label") or cid.replace("_", " ").capitalize()
    return Concept(
        id=cid,
        label=label,
        states=states[cid],
        kind=kind,
        question=question,
        help=data.get("help", ""),
        description=data.get("description", ""),
        aliases=tuple(data.get("aliases", ())),
        ask_if=ask_if,
        multi=multi,
        exclusive=exclusive,
        order=data.get("order", 1000),
        path=raw.path,
    )


def _condition(raw: _Raw, key: str, text: str, states: dict, out: _Collector) -> Condition | None:
    try:
        cond = parse_condition(text)
    except SyntaxProblem as exc:
        out.add(raw, str(exc), key=key, fix='e.g. "some_concept = some_state" (ids and states in lower case)')
        return None
    return cond if _resolve(raw, key, cond.concept, cond.states, states, out) else None


def _resolve(raw: _Raw, key: str, concept: str, wanted: tuple[str, ...], states: dict, out: _Collector) -> bool:
    if concept not in states:
        out.add(
            raw,
            f"unknown concept '{concept}'",
            key=key,
            fix=did_you_mean(concept, states) or "define it in a [[concept]] table",
        )
        return False
    ok = True
    for state in wanted:
        if state not in states[concept]:
            out.add(
                raw,
                f"'{state}' is not a state of '{concept}'",
                key=key,
                fix=did_you_mean(state, states[concept]) or "its states are " + ", ".join(states[concept]),
            )
            ok = False
    return ok


def _rules(raws: list[_Raw], states: dict, documents: dict, out: _Collector) -> list[Rule]:
    rules: dict[str, Rule] = {}
    replaced: dict[str, str] = {}  # replaced id -> the rule that replaces it
    for raw in raws:
        if raw.kind != "rule" or not _check_keys(raw, RULE_KEYS, out):
            continue
        rule = _rule(raw, states, documents, out)
        if rule is None:
            continue
        if rule.replaces:
            if raw.builtin:
                out.add(raw, "built-in rules cannot use 'replaces'", key="replaces", fix="edit the rule itself")
                continue
            target = rules.get(rule.replaces)
            if target is None:
                hint = did_you_mean(rule.replaces, list(rules)) or "name a rule loaded before this file"
                out.add(raw, f"replaces unknown rule '{rule.replaces}'", key="replaces", fix=hint)
                continue
            if rule.replaces in replaced:
                out.add(
                    raw,
                    f"rule '{rule.replaces}' is already replaced by '{replaced[rule.replaces]}'",
                    key="replaces",
                    fix="replace a rule once",
                )
                continue
            del rules[rule.replaces]
            replaced[rule.replaces] = rule.id
        if rule.id in rules:
            other = rules[rule.id]
            out.add(
                raw,
                f"duplicate rule id '{rule.id}' (also in {other.path})",
                key="id",
                fix=f'choose another id, or add replaces = "{rule.id}" to change the existing rule',
            )
            continue
        rules[rule.id] = rule
    return list(rules.values())


def _rule(raw: _Raw, states: dict, documents: dict, out: _Collector) -> Rule | None:
    data = raw.data
    ok = True
    if not _RULE_ID.match(data["id"]):
        out.add(
            raw,
            f"bad rule id '{data['id']}'",
            key="id",
            fix="use lower-case letters, digits, '.', '-' and '_', e.g. 'topic.short-name'",
        )
        ok = False
    if not data["when"]:
        out.add(raw, "'when' is empty", key="when", fix='add at least one condition, e.g. when = ["concept = state"]')
        ok = False
    if not data["then"]:
        out.add(raw, "'then' is empty", key="then", fix='add at least one conclusion, e.g. then = ["concept = state"]')
        ok = False
    when = []
    for text in data["when"]:
        cond = _condition(raw, "when", text, states, out)
        ok = ok and cond is not None
        if cond is not None:
            when.append(cond)
    then = []
    for text in data["then"]:
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
    names = [s.label for s in Strength.for_rules()]
    strength = Strength.POSSIBLE
    if data["strength"] == Strength.GIVEN.label:
        out.add(
            raw,
            "'given' is the strength of the user's answers; a rule cannot use it",
            key="strength",
            fix="use one of " + ", ".join(names),
        )
        ok = False
    elif data["strength"] not in names:
        out.add(
            raw,
            f"unknown strength '{data['strength']}'",
            key="strength",
            fix=did_you_mean(data["strength"], names) or "use one of " + ", ".join(names),
        )
        ok = False
    else:
        strength = Strength.parse(data["strength"])
    sources = []
    if not data["sources"]:
        out.add(
            raw,
            "'sources' is empty",
            key="sources",
            fix='cite at least one sentence: { document = "...", quote = "..." }',
        )
        ok = False
    for item in data["sources"]:
        sub = _Raw(raw.kind, dict(item), raw.path, raw.builtin)
        sub.data.setdefault("id", raw.ident)  # so problems name the rule
        if not _check_keys(sub, SOURCE_KEYS, _Prefixed(out, "sources"), internal=("id",)):
            ok = False
            continue
        if item["document"] not in documents:
            out.add(
                raw,
                f"unknown document '{item['document']}'",
                key="sources",
                fix=did_you_mean(item["document"], documents) or "declare it in a [[document]] table",
            )
            ok = False
            continue
        sources.append(SourceRef(item["document"], " ".join(item["quote"].split())))
    for fact in then:
        own = next((c for c in when if not c.negated and fact in c.facts()), None)
        if own is not None and len(own.states) == 1:
            out.add(
                raw,
                f"concludes its own condition '{fact}'",
                key="then",
                fix="a rule cannot conclude what it needs; remove the conclusion or the condition",
            )
            ok = False
        elif own is not None:
            others = ", ".join(s for s in own.states if s != fact.state)
            out.add(
                raw,
                f"concludes '{fact}', which its own condition '{own}' accepts",
                key="then",
                fix=f"it would justify the fact by itself; narrow the condition to {own.concept} in [{others}]"
                if "," in others
                else f"it would justify the fact by itself; write {own.concept} = {others}",
            )
            ok = False
    negated = {f for c in when if c.negated for f in c.facts()}
    for fact in then:
        if fact in negated:
            out.add(
                raw,
                f"concludes '{fact}' from its absence",
                key="then",
                fix="remove the 'not' condition or the conclusion",
            )
            ok = False
    if not ok:
        return None
    return Rule(
        id=data["id"],
        title=data["title"],
        when=tuple(when),
        then=tuple(then),
        strength=strength,
        sources=tuple(sources),
        path=raw.path,
        replaces=data.get("replaces", ""),
    )


class _Prefixed:
    """Adds problems found in a sub-table under the parent's key."""

    def __init__(self, out: _Collector, prefix: str):
        self.out = out
        self.prefix = prefix

    def add(self, raw, message, *, key="", fix="", path=""):
        self.out.add(raw, message, key=f"{self.prefix}.{key}" if key else self.prefix, fix=fix, path=path)


__all__ = ["build", "load"]
