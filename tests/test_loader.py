"""The rule-file loader's errors: one test per kind of mistake.

Every bad file is built from a small, valid knowledge base (``base()``) with
exactly one thing changed, so that each test shows the message a rule author
gets for that one mistake: the file, the rule or concept id, the key, what
is wrong, and the fix or "did you mean" where there is one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import cofactor.cli
from cofactor.engine.errors import KnowledgeBaseError, Problem
from cofactor.engine.loader import load
from cofactor.engine.model import Condition, Fact, KnowledgeBase, SourceRef, Strength

# the folder the command reads (the checkout's own, in an editable install)
BUILTIN_RULES = cofactor.cli.BUILTIN_RULES

RULE_ID = "topic.low-mineral-impairs-hormone"
CONDITION_FORMS = "expected 'concept = state', 'concept in [a, b]' or 'not concept = state'"
CONDITION_FIX = 'e.g. "some_concept = some_state" (ids and states in lower case)'


# ---------------------------------------------------------------------------
# A small valid knowledge base, written as TOML by the tests themselves
# ---------------------------------------------------------------------------


def base() -> dict[str, list[dict]]:
    """A fresh copy of the valid base: change one thing, then ``write`` it."""
    return copy.deepcopy(
        {
            "document": [
                {"id": "notes", "title": "Teaching notes", "file": "notes.txt"},
            ],
            "concept": [
                {
                    "id": "mineral_level",
                    "label": "Mineral level",
                    "states": ["low", "adequate", "high"],
                    "question": "What is the mineral level?",
                    "help": "A blood test, or your best estimate.",
                    "aliases": ["mineral", "mineral status"],
                    "order": 10,
                },
                {
                    "id": "hormone_output",
                    "label": "Hormone output",
                    "kind": "mechanism",
                    "states": ["impaired", "normal"],
                },
                {
                    "id": "bone_health",
                    "label": "Bone health",
                    "kind": "outcome",
                    "states": ["weakened", "normal"],
                },
            ],
            "rule": [
                {
                    "id": RULE_ID,
                    "title": "A low mineral level impairs hormone output",
                    "when": ["mineral_level = low"],
                    "then": ["hormone_output = impaired"],
                    "strength": "established",
                    "sources": [{"document": "notes", "quote": "A low mineral level impairs hormone output."}],
                },
            ],
        }
    )


def extra_rule(rule_id: str, when: list[str], then: list[str], **more) -> dict:
    """Another valid-looking rule citing the base document."""
    return {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "when": when,
        "then": then,
        "strength": "likely",
        "sources": [{"document": "notes", "quote": "Some sentence of the notes."}],
        **more,
    }


def concept(kb: dict, cid: str) -> dict:
    return next(c for c in kb["concept"] if c["id"] == cid)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def to_toml(tables: dict[str, list[dict]]) -> str:
    lines: list[str] = []
    for kind, items in tables.items():
        for item in items:
            lines.append(f"[[{kind}]]")
            lines.extend(f"{key} = {_value(value)}" for key, value in item.items())
            lines.append("")
    return "\n".join(lines)


def write(tmp_path: Path, tables: dict | str, name: str = "topic.toml") -> Path:
    path = tmp_path / name
    path.write_text(tables if isinstance(tables, str) else to_toml(tables), encoding="utf-8")
    return path


def failure(builtin, extra=()) -> KnowledgeBaseError:
    with pytest.raises(KnowledgeBaseError) as info:
        load(builtin, extra)
    error = info.value
    assert error.problems, "a KnowledgeBaseError must carry its problems"
    assert str(error) == "\n".join(p.render() for p in error.problems)
    return error


def only_problem(error: KnowledgeBaseError) -> Problem:
    """Exactly one mistake was made, so exactly one problem is reported."""
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def check(problem: Problem, *, path, kind: str, ident: str, key: str, message: str, fix: str):
    """Every field, and the compiler-style line the user reads."""
    assert problem.path == str(path)
    assert problem.kind == kind
    assert problem.ident == ident
    assert problem.key == key
    assert problem.message == message
    assert problem.fix == fix
    where = str(path)
    if kind:
        where += f": {kind} '{ident}'" if ident else f": {kind}"
    if key:
        where += f": {key}"
    assert problem.render() == f"{where}: {message}" + (f" ({fix})" if fix else "")


def one_mistake(tmp_path: Path, kb: dict, **expected) -> Problem:
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    check(problem, path=path, **expected)
    return problem


# ---------------------------------------------------------------------------
# The base itself
# ---------------------------------------------------------------------------


def test_base_loads_cleanly(tmp_path):
    path = write(tmp_path, base())
    kb = load([path])
    assert isinstance(kb, KnowledgeBase)
    assert [r.id for r in kb.rules] == [RULE_ID]
    rule = kb.rules[0]
    assert rule.title == "A low mineral level impairs hormone output"
    assert rule.when == (Condition("mineral_level", ("low",)),)
    assert rule.then == (Fact("hormone_output", "impaired"),)
    assert rule.strength is Strength.ESTABLISHED
    assert rule.sources == (SourceRef("notes", "A low mineral level impairs hormone output."),)
    assert rule.path == str(path)
    assert set(kb.concepts) == {"mineral_level", "hormone_output", "bone_health"}
    assert kb.concepts["mineral_level"].is_question
    assert kb.concepts["mineral_level"].kind == "question"
    assert kb.concepts["mineral_level"].states == ("low", "adequate", "high")
    assert kb.concepts["bone_health"].kind == "outcome"
    assert set(kb.documents) == {"notes"}
    assert kb.files == (str(path),)


def test_a_folder_loads_every_toml_file_in_it(tmp_path):
    kb = base()
    rules = {"rule": kb.pop("rule")}
    write(tmp_path, kb, "a-concepts.toml")
    write(tmp_path, rules, "b-rules.toml")
    (tmp_path / "README.txt").write_text("not a rule file", encoding="utf-8")
    loaded = load([tmp_path])
    assert [r.id for r in loaded.rules] == [RULE_ID]
    assert loaded.files == (str(tmp_path / "a-concepts.toml"), str(tmp_path / "b-rules.toml"))


# ---------------------------------------------------------------------------
# The file as a whole
# ---------------------------------------------------------------------------


def test_invalid_toml_syntax(tmp_path):
    text = to_toml(base()).replace('title = "Teaching notes"', "title = Teaching notes")
    path = write(tmp_path, text)
    problem = only_problem(failure([path]))
    assert problem.path == str(path)
    assert (problem.kind, problem.ident, problem.key) == ("", "", "")
    assert problem.message.startswith("not valid TOML: ")
    assert "line 3" in problem.message  # where the mistake is
    assert problem.fix == "see https://toml.io for the syntax; strings need double quotes"
    assert problem.render().startswith(f"{path}: not valid TOML: ")


@pytest.mark.parametrize(
    "table, suggestion",
    [
        ("rules", "did you mean 'rule'?"),
        ("concepts", "did you mean 'concept'?"),
        (
            "fact",
            "a rule file holds only [[concept]], [[rule]], [[document]], [[loop]] and [[tension]] tables, "
            "and (a --rules file) a list 'disables'",
        ),
        ("disable", "did you mean 'disables'?"),
    ],
)
def test_unknown_top_level_table(tmp_path, table, suggestion):
    kb = base()
    kb[table] = kb.pop("rule") if table == "rules" else [kb["concept"].pop()]
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    check(problem, path=path, kind="", ident="", key="", message=f"unknown table '{table}'", fix=suggestion)


def test_table_written_once_instead_of_as_an_array(tmp_path):
    text = to_toml(base()).replace("[[rule]]", "[rule]")
    path = write(tmp_path, text)
    problem = only_problem(failure([path]))
    check(
        problem,
        path=path,
        kind="",
        ident="",
        key="",
        message="'rule' must be an array of tables, written [[rule]]",
        fix="write each rule under its own [[rule]] header",
    )


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(to_toml(base()).replace("Teaching notes", "Notes de cours \u00e9t\u00e9").encode("latin-1"))
    problem = only_problem(failure([path]))
    assert problem.path == str(path)
    assert problem.message.startswith("not UTF-8 text (byte ")
    assert problem.fix == "save the file as UTF-8"
    assert problem.render().startswith(f"{path}: not UTF-8 text")


def test_rules_path_that_does_not_exist(tmp_path):
    good = write(tmp_path, base())
    missing = tmp_path / "no-such-rules.toml"
    problem = only_problem(failure([good], [missing]))
    check(
        problem, path=missing, kind="", ident="", key="", message="no such file", fix="check the path given to --rules"
    )


def test_folder_with_no_toml_files(tmp_path):
    good = write(tmp_path, base())
    folder = tmp_path / "my-rules"
    folder.mkdir()
    (folder / "rules.txt").write_text("[[rule]]\n", encoding="utf-8")
    problem = only_problem(failure([good], [folder]))
    check(
        problem,
        path=folder,
        kind="",
        ident="",
        key="",
        message="the folder holds no .toml rule files",
        fix="name a folder with rule files, or a .toml file",
    )


# ---------------------------------------------------------------------------
# Keys and types
# ---------------------------------------------------------------------------


def test_unknown_key_in_a_rule(tmp_path):
    kb = base()
    rule = kb["rule"][0]
    rule["strenght"] = rule.pop("strength")
    path = write(tmp_path, kb)
    error = failure([path])
    # The typo is reported with a suggestion, and the key it should have been is missing.
    assert len(error.problems) == 2, str(error)
    unknown, missing = error.problems
    check(
        unknown,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="strenght",
        message="unknown key 'strenght'",
        fix="did you mean 'strength'?",
    )
    check(
        missing,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="strength",
        message="missing key 'strength'",
        fix="add strength = one of established, likely, possible",
    )


@pytest.mark.parametrize(
    "key, fix",
    [
        ("lable", "did you mean 'label'?"),
        (
            "colour",
            "allowed keys: id, label, states, kind, question, help, description, aliases, "
            "ask_if, multi, exclusive, order, add_states",
        ),
    ],
)
def test_unknown_key_in_a_concept(tmp_path, key, fix):
    kb = base()
    concept(kb, "bone_health")[key] = "x"
    one_mistake(tmp_path, kb, kind="concept", ident="bone_health", key=key, message=f"unknown key '{key}'", fix=fix)


def test_unknown_key_in_a_source(tmp_path):
    kb = base()
    source = kb["rule"][0]["sources"][0]
    source["qoute"] = source.pop("quote")
    path = write(tmp_path, kb)
    error = failure([path])
    assert len(error.problems) == 2, str(error)
    unknown, missing = error.problems
    check(
        unknown,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="sources.qoute",
        message="unknown key 'qoute'",
        fix="did you mean 'quote'?",
    )
    check(
        missing,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="sources.quote",
        message="missing key 'quote'",
        fix="add quote = a verbatim quote",
    )


@pytest.mark.parametrize(
    "key, fix",
    [
        ("sources", 'add sources = a list of { document = "...", quote = "..." }'),
        ("title", "add title = a one-line statement of the claim"),
        ("when", "add when = a list of conditions"),
        ("then", "add then = a list of 'concept = state'"),
        ("strength", "add strength = one of established, likely, possible"),
    ],
)
def test_missing_required_key_in_a_rule(tmp_path, key, fix):
    kb = base()
    del kb["rule"][0][key]
    one_mistake(tmp_path, kb, kind="rule", ident=RULE_ID, key=key, message=f"missing key '{key}'", fix=fix)


def test_missing_required_key_in_a_concept(tmp_path):
    kb = base()
    del concept(kb, "bone_health")["states"]
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="bone_health",
        key="states",
        message="missing key 'states'",
        fix="add states = a list of states",
    )


@pytest.mark.parametrize(
    "kind, ident, key, value, message, fix",
    [
        ("concept", "mineral_level", "lable", "Mineral", "unknown key 'lable'", "did you mean 'label'?"),
        ("concept", "mineral_level", "order", "ten", "'order' has the wrong type (a string)", "write a whole number"),
        (
            "document",
            "notes",
            "year",
            "2024",
            "unknown key 'year'",
            "allowed keys: id, title, file, citation, url, text",
        ),
    ],
)
def test_mistake_in_a_used_concept_or_document_is_reported_once(tmp_path, kind, ident, key, value, message, fix):
    """The concept or document is declared: a slip in one of its other keys must not
    also be reported at every rule that uses it as "unknown ... define it"."""
    kb = base()
    table = concept(kb, ident) if kind == "concept" else kb["document"][0]
    table[key] = value
    one_mistake(tmp_path, kb, kind=kind, ident=ident, key=key, message=message, fix=fix)


def test_source_missing_its_quote(tmp_path):
    kb = base()
    del kb["rule"][0]["sources"][0]["quote"]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="sources.quote",
        message="missing key 'quote'",
        fix="add quote = a verbatim quote",
    )


@pytest.mark.parametrize(
    "kind, ident, key, value, found, want",
    [
        ("rule", RULE_ID, "when", "mineral_level = low", "a string", "a list of conditions"),
        ("rule", RULE_ID, "then", "hormone_output = impaired", "a string", "a list of 'concept = state'"),
        ("rule", RULE_ID, "strength", 3, "a number", "one of established, likely, possible"),
        ("rule", RULE_ID, "sources", ["notes"], "a list", 'a list of { document = "...", quote = "..." }'),
        ("concept", "bone_health", "order", "ten", "a string", "a whole number"),
        ("concept", "bone_health", "order", True, "true/false", "a whole number"),
        ("concept", "bone_health", "states", "weakened, normal", "a string", "a list of states"),
        ("concept", "bone_health", "multi", "yes", "a string", "true or false"),
        ("concept", "bone_health", "label", 7, "a number", "a short text"),
    ],
)
def test_wrong_type(tmp_path, kind, ident, key, value, found, want):
    kb = base()
    table = kb["rule"][0] if kind == "rule" else concept(kb, ident)
    table[key] = value
    one_mistake(
        tmp_path,
        kb,
        kind=kind,
        ident=ident,
        key=key,
        message=f"'{key}' has the wrong type ({found})",
        fix=f"write {want}",
    )


# ---------------------------------------------------------------------------
# Conditions and conclusions
# ---------------------------------------------------------------------------


def test_unknown_concept_in_when(tmp_path):
    kb = base()
    kb["rule"][0]["when"] = ["mineral_levle = low"]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message="unknown concept 'mineral_levle'",
        fix="did you mean 'mineral_level'?",
    )


@pytest.mark.parametrize(
    "condition", ["mineral_level = lwo", "mineral_level in [lwo, high]", "not mineral_level = lwo"]
)
def test_unknown_state_in_when(tmp_path, condition):
    kb = base()
    kb["rule"][0]["when"] = [condition]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message="'lwo' is not a state of 'mineral_level'",
        fix="did you mean 'low'?",
    )


def test_unknown_state_without_a_close_match_lists_the_states(tmp_path):
    kb = base()
    kb["rule"][0]["when"] = ["mineral_level = zzz"]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message="'zzz' is not a state of 'mineral_level'",
        fix="its states are low, adequate, high",
    )


@pytest.mark.parametrize(
    "conclusion, message, fix",
    [
        ("hormone_outptu = impaired", "unknown concept 'hormone_outptu'", "did you mean 'hormone_output'?"),
        ("hormone_output = impared", "'impared' is not a state of 'hormone_output'", "did you mean 'impaired'?"),
    ],
)
def test_unknown_concept_or_state_in_then(tmp_path, conclusion, message, fix):
    kb = base()
    kb["rule"][0]["then"] = [conclusion]
    one_mistake(tmp_path, kb, kind="rule", ident=RULE_ID, key="then", message=message, fix=fix)


@pytest.mark.parametrize(
    "condition",
    [
        "mineral_level == low",
        "mineral_level low",
        "Mineral_Level = low",
        "mineral_level = low and hormone_output = normal",
        "mineral_level in (low, high)",
    ],
)
def test_malformed_condition(tmp_path, condition):
    kb = base()
    kb["rule"][0]["when"] = [condition]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message=f"cannot read condition '{condition}': {CONDITION_FORMS}",
        fix=CONDITION_FIX,
    )


@pytest.mark.parametrize(
    "conclusion",
    [
        "hormone_output in [impaired, normal]",
        "not hormone_output = normal",
        "hormone_output == impaired",
    ],
)
def test_then_using_in_or_not(tmp_path, conclusion):
    kb = base()
    kb["rule"][0]["then"] = [conclusion]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="then",
        message=f"cannot read conclusion '{conclusion}': expected 'concept = state'",
        fix='a conclusion names one state: "concept = state"',
    )


def test_empty_when(tmp_path):
    kb = base()
    kb["rule"][0]["when"] = []
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message="'when' is empty",
        fix='add at least one condition, e.g. when = ["concept = state"]',
    )


def test_empty_then(tmp_path):
    kb = base()
    kb["rule"][0]["then"] = []
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="then",
        message="'then' is empty",
        fix='add at least one conclusion, e.g. then = ["concept = state"]',
    )


def test_rule_that_concludes_its_own_condition(tmp_path):
    kb = base()
    kb["rule"][0]["when"] = ["mineral_level = low", "hormone_output = impaired"]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="then",
        message="concludes its own condition 'hormone_output=impaired'",
        fix="a rule cannot conclude what it needs; remove the conclusion or the condition",
    )


def test_rule_that_concludes_what_its_not_condition_forbids(tmp_path):
    kb = base()
    kb["rule"][0]["when"] = ["mineral_level = low", "not hormone_output = impaired"]
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="then",
        message="concludes 'hormone_output=impaired' from its absence",
        fix="remove the 'not' condition or the conclusion",
    )


def test_cycle_through_not_across_two_rules(tmp_path):
    kb = base()
    kb["rule"] += [
        extra_rule("topic.a-sound-bones-normal-hormone", ["not bone_health = weakened"], ["hormone_output = normal"]),
        extra_rule("topic.b-normal-hormone-weakens-bones", ["hormone_output = normal"], ["bone_health = weakened"]),
    ]
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    check(
        problem,
        path=path,
        kind="rule",
        ident="topic.a-sound-bones-normal-hormone",
        key="when",
        message="a 'not' condition depends on this rule's own conclusions through "
        "topic.a-sound-bones-normal-hormone -> topic.b-normal-hormone-weakens-bones",
        fix="a fact cannot be concluded from its own absence; remove the 'not' condition or break the chain",
    )


def test_a_not_condition_without_a_cycle_loads(tmp_path):
    kb = base()
    kb["rule"].append(extra_rule("topic.sound-bones", ["not hormone_output = impaired"], ["bone_health = normal"]))
    loaded = load([write(tmp_path, kb)])
    assert loaded.strata["topic.sound-bones"] > loaded.strata[RULE_ID]


# ---------------------------------------------------------------------------
# Strength, sources and documents
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "strength, fix",
    [
        ("certain", "use one of established, likely, possible"),
        ("likley", "did you mean 'likely'?"),
        ("establised", "did you mean 'established'?"),
    ],
)
def test_bad_strength(tmp_path, strength, fix):
    kb = base()
    kb["rule"][0]["strength"] = strength
    one_mistake(
        tmp_path, kb, kind="rule", ident=RULE_ID, key="strength", message=f"unknown strength '{strength}'", fix=fix
    )


def test_given_is_not_a_strength_for_rules(tmp_path):
    kb = base()
    kb["rule"][0]["strength"] = "given"
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    assert (problem.path, problem.kind, problem.ident, problem.key) == (str(path), "rule", RULE_ID, "strength")
    assert problem.fix == "use one of established, likely, possible"
    # vocabulary.md defines 'given' (the strength of the user's answers), so the message
    # should say why it is refused rather than call it unknown.
    assert "'given'" in problem.message
    assert "unknown" not in problem.message
    assert "answer" in problem.message


def test_empty_sources(tmp_path):
    kb = base()
    kb["rule"][0]["sources"] = []
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=RULE_ID,
        key="sources",
        message="'sources' is empty",
        fix='cite at least one sentence: { document = "...", quote = "..." }',
    )


@pytest.mark.parametrize(
    "document, fix",
    [
        ("note", "did you mean 'notes'?"),
        ("textbook", "declare it in a [[document]] table"),
    ],
)
def test_unknown_document(tmp_path, document, fix):
    kb = base()
    kb["rule"][0]["sources"][0]["document"] = document
    one_mistake(
        tmp_path, kb, kind="rule", ident=RULE_ID, key="sources", message=f"unknown document '{document}'", fix=fix
    )


# ---------------------------------------------------------------------------
# Duplicate ids
# ---------------------------------------------------------------------------


def test_duplicate_rule_id_within_a_file(tmp_path):
    kb = base()
    kb["rule"].append(extra_rule(RULE_ID, ["mineral_level = high"], ["hormone_output = impaired"]))
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    check(
        problem,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="id",
        message=f"duplicate rule id '{RULE_ID}' (also in {path})",
        fix=f'choose another id, or add replaces = "{RULE_ID}" to change the existing rule',
    )


def test_duplicate_rule_id_across_two_files(tmp_path):
    first = write(tmp_path, base(), "a.toml")
    second = write(
        tmp_path, {"rule": [extra_rule(RULE_ID, ["mineral_level = high"], ["hormone_output = impaired"])]}, "b.toml"
    )
    problem = only_problem(failure([first, second]))
    check(
        problem,
        path=second,
        kind="rule",
        ident=RULE_ID,
        key="id",
        message=f"duplicate rule id '{RULE_ID}' (also in {first})",
        fix=f'choose another id, or add replaces = "{RULE_ID}" to change the existing rule',
    )


def test_duplicate_concept_id(tmp_path):
    kb = base()
    kb["concept"].append({"id": "bone_health", "states": ["weak", "strong"]})
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="bone_health",
        key="id",
        message=f"duplicate concept id 'bone_health' (also in {tmp_path / 'topic.toml'})",
        fix="define each concept once; rules in any file may use it",
    )


def test_duplicate_document_id(tmp_path):
    kb = base()
    kb["document"].append({"id": "notes", "title": "Other notes"})
    one_mistake(
        tmp_path,
        kb,
        kind="document",
        ident="notes",
        key="id",
        message=f"duplicate document id 'notes' (also in {tmp_path / 'topic.toml'})",
        fix="give each document its own id",
    )


# ---------------------------------------------------------------------------
# Concepts
# ---------------------------------------------------------------------------


def test_exclusive_without_multi(tmp_path):
    kb = base()
    concept(kb, "mineral_level")["exclusive"] = ["adequate"]
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="mineral_level",
        key="exclusive",
        message="'exclusive' needs multi = true",
        fix="add multi = true or remove exclusive",
    )


def test_ask_if_naming_an_unknown_concept(tmp_path):
    kb = base()
    concept(kb, "mineral_level")["ask_if"] = ["bone_healht = weakened"]
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="mineral_level",
        key="ask_if",
        message="unknown concept 'bone_healht'",
        fix="did you mean 'bone_health'?",
    )


def test_alias_that_is_another_concepts_id(tmp_path):
    kb = base()
    concept(kb, "mineral_level")["aliases"] = ["mineral", "bone_health"]
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="mineral_level",
        key="aliases",
        message="alias 'bone_health' is the id of another concept",
        fix="remove the alias",
    )


def test_unknown_used_as_a_state(tmp_path):
    kb = base()
    concept(kb, "mineral_level")["states"] = ["low", "adequate", "high", "unknown"]
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="mineral_level",
        key="states",
        message="'unknown' cannot be a state: every question already accepts it",
        fix="remove 'unknown' from states",
    )


def test_question_with_kind_mechanism(tmp_path):
    kb = base()
    concept(kb, "mineral_level")["kind"] = "mechanism"
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident="mineral_level",
        key="kind",
        message="a concept with a question has kind 'question', not 'mechanism'",
        fix='remove kind, or set kind = "question"',
    )


@pytest.mark.parametrize("bad_id", ["Bone_Health", "bone-health", "2bone_health", "bone health"])
def test_bad_concept_id(tmp_path, bad_id):
    kb = base()
    concept(kb, "bone_health")["id"] = bad_id
    one_mistake(
        tmp_path,
        kb,
        kind="concept",
        ident=bad_id,
        key="id",
        message=f"bad concept id '{bad_id}'",
        fix="use snake_case: lower-case letters, digits and '_', starting with a letter",
    )


@pytest.mark.parametrize("bad_id", ["Topic.Low", "topic low", "-topic.low"])
def test_bad_rule_id(tmp_path, bad_id):
    kb = base()
    kb["rule"][0]["id"] = bad_id
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident=bad_id,
        key="id",
        message=f"bad rule id '{bad_id}'",
        fix="use lower-case letters, digits, '.', '-' and '_', e.g. 'topic.short-name'",
    )


# ---------------------------------------------------------------------------
# Every problem is reported; nothing is executed
# ---------------------------------------------------------------------------


def test_several_problems_in_one_file_are_all_reported(tmp_path):
    kb = base()
    rule = kb["rule"][0]
    rule["strength"] = "likley"
    rule["when"] = ["mineral_levle = low"]
    rule["sources"][0]["document"] = "note"
    concept(kb, "bone_health")["lable"] = "Bone health"
    path = write(tmp_path, kb)
    error = failure([path])
    assert len(error.problems) >= 3
    rendered = [p.render() for p in error.problems]
    assert f"{path}: concept 'bone_health': lable: unknown key 'lable' (did you mean 'label'?)" in rendered
    assert (
        f"{path}: rule '{RULE_ID}': when: unknown concept 'mineral_levle' (did you mean 'mineral_level'?)"
    ) in rendered
    assert f"{path}: rule '{RULE_ID}': strength: unknown strength 'likley' (did you mean 'likely'?)" in rendered
    assert f"{path}: rule '{RULE_ID}': sources: unknown document 'note' (did you mean 'notes'?)" in rendered
    for line in rendered:
        assert line in str(error)


def test_problems_in_several_files_are_all_reported(tmp_path):
    first = base()
    first["rule"][0]["strength"] = "certain"
    second = base()
    del second["rule"]
    second["concept"] = [{"id": "Bad-Id", "states": ["yes"]}]
    second["document"] = [{"id": "other", "title": "Other"}]
    a = write(tmp_path, first, "a.toml")
    b = write(tmp_path, second, "b.toml")
    error = failure([a], [b])
    assert {(p.path, p.key) for p in error.problems} == {(str(a), "strength"), (str(b), "id")}


def test_nothing_in_a_rule_file_is_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = "__import__('os').system('touch X')"
    kb = base()
    kb["rule"][0]["title"] = payload
    concept(kb, "mineral_level")["question"] = payload
    concept(kb, "hormone_output")["label"] = payload
    loaded = load([write(tmp_path, kb)])
    assert loaded.rules[0].title == payload
    assert loaded.concepts["mineral_level"].question == payload
    assert loaded.concepts["hormone_output"].label == payload
    assert not (tmp_path / "X").exists()


# ---------------------------------------------------------------------------
# --rules files on top of the real built-in knowledge base
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin_kb() -> KnowledgeBase:
    return load([BUILTIN_RULES])


def test_builtin_rules_folder_is_the_repositorys(builtin_kb):
    assert BUILTIN_RULES.is_dir()
    assert "magnesium_status" in builtin_kb.concepts
    assert "mg-calcium" in builtin_kb.documents
    assert any(r.id == "pth.severe-deficiency-impairs-secretion" for r in builtin_kb.rules)


def test_extra_file_can_use_builtin_concepts_and_documents(tmp_path, builtin_kb):
    extra = write(
        tmp_path,
        {
            "concept": [{"id": "teaching_note", "label": "Teaching note", "kind": "outcome", "states": ["shown"]}],
            "rule": [
                {
                    "id": "mine.low-magnesium-note",
                    "title": "Low magnesium earns a teaching note",
                    "when": ["magnesium_status in [low, severely_low]", "pth_secretion = impaired"],
                    "then": ["teaching_note = shown"],
                    "strength": "possible",
                    "sources": [
                        {
                            "document": "mg-calcium",
                            "quote": "Severe magnesium deficiency impairs PTH production and release",
                        }
                    ],
                }
            ],
        },
        "mine.toml",
    )
    kb = load([BUILTIN_RULES], [extra])
    assert len(kb.rules) == len(builtin_kb.rules) + 1
    mine = next(r for r in kb.rules if r.id == "mine.low-magnesium-note")
    assert mine.path == str(extra)
    assert mine.sources[0].document == "mg-calcium"
    assert "teaching_note" in kb.concepts and "magnesium_status" in kb.concepts
    assert kb.files[-1] == str(extra)


def _severe_rule(**changes) -> dict:
    rule = {
        "id": "pth.severe-deficiency-impairs-secretion",
        "title": "Severe magnesium deficiency impairs PTH secretion (my version)",
        "when": ["magnesium_status = severely_low"],
        "then": ["pth_secretion = impaired"],
        "strength": "likely",
        "sources": [
            {"document": "mg-calcium", "quote": "Severe magnesium deficiency impairs PTH production and release"}
        ],
    }
    rule.update(changes)
    return rule


def test_extra_file_reusing_a_builtin_rule_id_is_an_error(tmp_path):
    extra = write(tmp_path, {"rule": [_severe_rule()]}, "mine.toml")
    problem = only_problem(failure([BUILTIN_RULES], [extra]))
    rule_id = "pth.severe-deficiency-impairs-secretion"
    check(
        problem,
        path=extra,
        kind="rule",
        ident=rule_id,
        key="id",
        message=f"duplicate rule id '{rule_id}' (also in {BUILTIN_RULES / 'pth.toml'})",
        fix=f'choose another id, or add replaces = "{rule_id}" to change the existing rule',
    )
    assert "replaces" in problem.render()


@pytest.mark.parametrize("new_id", ["pth.severe-deficiency-impairs-secretion", "mine.severe-deficiency"])
def test_replaces_changes_a_builtin_rule(tmp_path, builtin_kb, new_id):
    old_id = "pth.severe-deficiency-impairs-secretion"
    extra = write(tmp_path, {"rule": [_severe_rule(id=new_id, replaces=old_id)]}, "mine.toml")
    kb = load([BUILTIN_RULES], [extra])
    assert len(kb.rules) == len(builtin_kb.rules)
    ids = [r.id for r in kb.rules]
    assert ids.count(new_id) == 1
    if new_id != old_id:
        assert old_id not in ids
    rule = next(r for r in kb.rules if r.id == new_id)
    assert rule.replaces == old_id
    assert rule.path == str(extra)
    assert rule.strength is Strength.LIKELY
    assert rule.title.endswith("(my version)")


def test_replaces_an_unknown_rule(tmp_path):
    extra = write(
        tmp_path,
        {"rule": [_severe_rule(id="mine.severe", replaces="pth.severe-deficiency-impair-secretion")]},
        "mine.toml",
    )
    problem = only_problem(failure([BUILTIN_RULES], [extra]))
    check(
        problem,
        path=extra,
        kind="rule",
        ident="mine.severe",
        key="replaces",
        message="replaces unknown rule 'pth.severe-deficiency-impair-secretion'",
        fix="did you mean 'pth.severe-deficiency-impairs-secretion'?",
    )


def test_builtin_rules_cannot_use_replaces(tmp_path):
    kb = base()
    kb["rule"].append(
        extra_rule("topic.other", ["mineral_level = high"], ["hormone_output = impaired"], replaces=RULE_ID)
    )
    one_mistake(
        tmp_path,
        kb,
        kind="rule",
        ident="topic.other",
        key="replaces",
        message="built-in rules cannot use 'replaces'",
        fix="edit the rule itself",
    )


# ---------------------------------------------------------------------------
# Replacements: decided by the graph of 'replaces', not by any order
# ---------------------------------------------------------------------------

SEVERE = "pth.severe-deficiency-impairs-secretion"


def _replacing(rule_id: str, replaces: str) -> dict:
    return _severe_rule(id=rule_id, replaces=replaces, title=f"{rule_id} (my version)")


def _live(kb: KnowledgeBase, *ids: str) -> dict[str, tuple[str, ...]]:
    """Which of ``ids`` are live rules, with the chain each stands in for."""
    return {r.id: r.replaced for r in kb.rules if r.id in ids}


@pytest.mark.parametrize("files_order", [("a.toml", "b.toml"), ("b.toml", "a.toml")])
def test_a_chain_of_replacements_across_files_in_any_order(tmp_path, builtin_kb, files_order):
    write(tmp_path, {"rule": [_replacing("mine.second", "mine.first")]}, "a.toml")
    write(tmp_path, {"rule": [_replacing("mine.first", SEVERE)]}, "b.toml")
    kb = load([BUILTIN_RULES], [tmp_path / name for name in files_order])
    assert _live(kb, SEVERE, "mine.first", "mine.second") == {"mine.second": ("mine.first", SEVERE)}
    assert len(kb.rules) == len(builtin_kb.rules)
    rule = next(r for r in kb.rules if r.id == "mine.second")
    assert rule.replaces == "mine.first"


def test_a_replacing_rule_above_the_rule_it_replaces_in_one_file(tmp_path):
    path = write(
        tmp_path, {"rule": [_replacing("mine.third", "mine.second"), _replacing("mine.second", SEVERE)]}, "mine.toml"
    )
    kb = load([BUILTIN_RULES], [path])
    assert _live(kb, SEVERE, "mine.second", "mine.third") == {"mine.third": ("mine.second", SEVERE)}


@pytest.mark.parametrize(("first", "last"), [("a.toml", "b.toml"), ("b.toml", "a.toml")])
def test_two_files_replacing_the_same_rule_the_last_named_wins(tmp_path, first, last):
    write(tmp_path, {"rule": [_replacing("mine.from-a", SEVERE)]}, "a.toml")
    write(tmp_path, {"rule": [_replacing("mine.from-b", SEVERE)]}, "b.toml")
    kb = load([BUILTIN_RULES], [tmp_path / first, tmp_path / last])
    winner = "mine.from-a" if last == "a.toml" else "mine.from-b"
    assert _live(kb, SEVERE, "mine.from-a", "mine.from-b") == {winner: (SEVERE,)}


def test_two_files_replacing_a_rule_under_its_own_id_the_last_named_wins(tmp_path):
    for name in ("a.toml", "b.toml"):
        write(tmp_path, {"rule": [_severe_rule(id=SEVERE, replaces=SEVERE, title=name)]}, name)
    for order in (["a.toml", "b.toml"], ["b.toml", "a.toml"]):
        kb = load([BUILTIN_RULES], [tmp_path / name for name in order])
        [rule] = [r for r in kb.rules if r.id == SEVERE]
        assert (rule.title, rule.replaced, rule.path) == (order[-1], (SEVERE,), str(tmp_path / order[-1]))


def test_the_winner_of_two_replacements_keeps_its_own_chain(tmp_path):
    # a.toml: x replaces the built-in rule, and y replaces x; b.toml (named last): z replaces the built-in rule
    write(tmp_path, {"rule": [_replacing("mine.y", "mine.x"), _replacing("mine.x", SEVERE)]}, "a.toml")
    write(tmp_path, {"rule": [_replacing("mine.z", SEVERE)]}, "b.toml")
    kb = load([BUILTIN_RULES], [tmp_path / "a.toml", tmp_path / "b.toml"])
    assert _live(kb, SEVERE, "mine.x", "mine.y", "mine.z") == {"mine.z": (SEVERE,)}
    kb = load([BUILTIN_RULES], [tmp_path / "b.toml", tmp_path / "a.toml"])
    assert _live(kb, SEVERE, "mine.x", "mine.y", "mine.z") == {"mine.y": ("mine.x", SEVERE)}


def test_rules_replacing_one_another_in_a_circle(tmp_path):
    path = write(
        tmp_path,
        {"rule": [_replacing("mine.b", "mine.c"), _replacing("mine.a", "mine.b"), _replacing("mine.c", "mine.a")]},
        "mine.toml",
    )
    problem = only_problem(failure([BUILTIN_RULES], [path]))
    check(
        problem,
        path=path,
        kind="rule",
        ident="mine.a",
        key="replaces",
        message="rules replace one another in a circle: mine.a -> mine.b -> mine.c -> mine.a (each replaces the next)",
        fix="remove 'replaces' from one of them",
    )


def test_a_rule_replacing_itself_alone_replaces_an_unknown_rule(tmp_path):
    path = write(tmp_path, {"rule": [_replacing("mine.alone", "mine.alone")]}, "mine.toml")
    problem = only_problem(failure([BUILTIN_RULES], [path]))
    assert problem.message == "replaces unknown rule 'mine.alone'"


def test_two_rules_of_one_file_replacing_the_same_rule(tmp_path):
    path = write(tmp_path, {"rule": [_replacing("mine.b", SEVERE), _replacing("mine.a", SEVERE)]}, "mine.toml")
    problem = only_problem(failure([BUILTIN_RULES], [path]))
    check(
        problem,
        path=path,
        kind="rule",
        ident="mine.b",
        key="replaces",
        message=f"rule '{SEVERE}' is replaced by 'mine.a' and 'mine.b', both in this file",
        fix="keep one, or let one replace the other",
    )


def test_replacing_a_rule_that_has_a_problem_reports_only_that_problem(tmp_path):
    broken = _replacing("mine.broken", SEVERE)
    broken["strength"] = "certain"
    path = write(tmp_path, {"rule": [broken, _replacing("mine.fix", "mine.broken")]}, "mine.toml")
    problem = only_problem(failure([BUILTIN_RULES], [path]))
    assert (problem.ident, problem.key) == ("mine.broken", "strength")


def test_the_chain_survives_the_cache(tmp_path):
    from cofactor.engine import kbcache

    write(tmp_path, {"rule": [_replacing("mine.second", "mine.first"), _replacing("mine.first", SEVERE)]}, "a.toml")
    first = kbcache.load([BUILTIN_RULES], [tmp_path / "a.toml"], folder=tmp_path / "cache")
    again = kbcache.load([BUILTIN_RULES], [tmp_path / "a.toml"], folder=tmp_path / "cache")
    assert first == again == load([BUILTIN_RULES], [tmp_path / "a.toml"])
    assert _live(again, "mine.second") == {"mine.second": ("mine.first", SEVERE)}
    # the cache keys on the order of the files, which decides between rival replacements
    write(tmp_path, {"rule": [_replacing("mine.rival", SEVERE)]}, "b.toml")
    one = kbcache.load([BUILTIN_RULES], [tmp_path / "a.toml", tmp_path / "b.toml"], folder=tmp_path / "cache")
    two = kbcache.load([BUILTIN_RULES], [tmp_path / "b.toml", tmp_path / "a.toml"], folder=tmp_path / "cache")
    assert set(_live(one, "mine.second", "mine.rival")) == {"mine.rival"}
    assert set(_live(two, "mine.second", "mine.rival")) == {"mine.second"}


# ---------------------------------------------------------------------------
# Limits (engine/limits.py): at the limit loads, one past it is refused
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 1])
def test_states_per_concept_limit(tmp_path, extra):
    from cofactor.engine.limits import MAX_STATES

    kb = base()
    concept(kb, "bone_health")["states"] = ["weakened", "normal"] + [f"s{i}" for i in range(MAX_STATES - 2 + extra)]
    path = write(tmp_path, kb)
    if not extra:
        assert len(load([path]).concepts["bone_health"].states) == MAX_STATES
        return
    check(
        only_problem(failure([path])),
        path=path,
        kind="concept",
        ident="bone_health",
        key="states",
        message=f"the concept has {MAX_STATES + 1} states; at most {MAX_STATES} are allowed",
        fix="split it into several concepts, each with fewer states",
    )


def _many_questions(count: int) -> list[dict]:
    return [{"id": f"q{i}", "states": ["yes", "no"], "question": f"Q{i}?"} for i in range(count)]


@pytest.mark.parametrize("extra", [0, 1])
def test_conditions_per_rule_limit(tmp_path, extra):
    from cofactor.engine.limits import MAX_CONDITIONS

    kb = base()
    count = MAX_CONDITIONS + extra
    kb["concept"].extend(_many_questions(count))
    kb["rule"][0]["when"] = [f"q{i} = yes" for i in range(count)]
    path = write(tmp_path, kb)
    if not extra:
        assert len(load([path]).rules[0].when) == MAX_CONDITIONS
        return
    check(
        only_problem(failure([path])),
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="when",
        message=f"'when' has {count} conditions; at most {MAX_CONDITIONS} are allowed",
        fix="split the rule into several rules, each concluding an intermediate concept",
    )


def test_conditions_per_ask_if_limit(tmp_path):
    from cofactor.engine.limits import MAX_CONDITIONS

    kb = base()
    kb["concept"].extend(_many_questions(MAX_CONDITIONS + 1))
    concept(kb, "mineral_level")["ask_if"] = [f"q{i} = yes" for i in range(MAX_CONDITIONS + 1)]
    problem = only_problem(failure([write(tmp_path, kb)]))
    assert (problem.key, problem.message) == (
        "ask_if",
        f"'ask_if' has {MAX_CONDITIONS + 1} conditions; at most {MAX_CONDITIONS} are allowed",
    )


@pytest.mark.parametrize("extra", [0, 1])
def test_rules_per_knowledge_base_limit(tmp_path, monkeypatch, extra):
    from cofactor.engine import loader

    monkeypatch.setattr(loader, "MAX_RULES", 3)  # the real limit's 50,000 rules, as three
    kb = base()
    kb["rule"].append(extra_rule("topic.two", ["mineral_level = high"], ["hormone_output = normal"]))
    first = write(tmp_path, kb)
    more = [
        extra_rule(f"topic.more{i}", ["mineral_level = adequate"], ["bone_health = normal"]) for i in range(1 + extra)
    ]
    second = write(tmp_path, {"rule": more}, "more.toml")
    if not extra:
        assert len(load([first], [second]).rules) == 3
        return
    check(
        only_problem(failure([first], [second])),
        path=second,
        kind="",
        ident="",
        key="",
        message="the knowledge base has 4 rules; at most 3 are allowed (the built-in rules and every --rules "
        "file together), and this file goes over",
        fix="load fewer rule files at once, or split the knowledge into separate knowledge bases",
    )


def test_a_concept_with_a_hundred_thousand_states_is_refused_at_once(tmp_path):
    states = ", ".join(f'"state{i}"' for i in range(100_000))
    path = write(tmp_path, f'[[concept]]\nid = "huge"\nstates = [{states}]\n')
    assert path.stat().st_size > 1_000_000
    problem = only_problem(failure([path]))
    assert problem.message == "the concept has 100000 states; at most 1000 are allowed"


def test_a_replacement_that_breaks_a_builtin_loop_leaves_the_loop_out(tmp_path, builtin_kb):
    """A built-in [[loop]] names a cycle of the built-in rules; a --rules
    file that replaces a rule of that cycle with one concluding something
    else breaks it. That is the author's knowledge, not an error in the
    built-in file: the loop is simply not there to be named."""
    looped = "loop.low-active-vitamin-d-reduces-magnesium-absorption"
    assert "magnesium-vitamin-d" in {lp.id for lp in builtin_kb.loops}
    path = write(tmp_path, {"rule": [_severe_rule(id="mine.no-loop", replaces=looped)]}, "mine.toml")
    kb = load([BUILTIN_RULES], [path])
    assert "magnesium-vitamin-d" not in {lp.id for lp in kb.loops}
    assert {r.id for r in kb.rules} == {r.id for r in builtin_kb.rules} - {looped} | {"mine.no-loop"}


def test_a_loop_of_a_rules_file_that_names_no_cycle_is_still_an_error(tmp_path):
    path = write(
        tmp_path,
        {"loop": [{"id": "mine", "title": "Mine", "through": ["magnesium_status", "blood_calcium"]}]},
        "mine.toml",
    )
    problem = failure([BUILTIN_RULES], [path]).problems[0]
    assert problem.path.endswith("mine.toml") and "the rules have no loop through all of" in problem.message


# ---------------------------------------------------------------------------
# Every problem at once: none hidden behind another
# ---------------------------------------------------------------------------


def fields(error: KnowledgeBaseError) -> list[tuple[str, str, str, str, str]]:
    return [(p.path, p.kind, p.ident, p.key, p.message) for p in error.problems]


def test_a_misspelt_key_hides_no_other_problem_of_the_rule(tmp_path):
    kb = base()
    rule = kb["rule"][0]
    rule["titel"] = rule.pop("title")
    rule["strength"] = "strong"
    rule["when"] = ["mineral_levle = low", "hormone_output = impared"]
    rule["sources"] = [{"document": "note"}]
    path = write(tmp_path, kb)
    error = failure([path])
    p = str(path)
    assert fields(error) == [
        (p, "rule", RULE_ID, "titel", "unknown key 'titel'"),
        (p, "rule", RULE_ID, "title", "missing key 'title'"),
        (p, "rule", RULE_ID, "when", "unknown concept 'mineral_levle'"),
        (p, "rule", RULE_ID, "when", "'impared' is not a state of 'hormone_output'"),
        (p, "rule", RULE_ID, "strength", "unknown strength 'strong'"),
        (p, "rule", RULE_ID, "sources.quote", "missing key 'quote'"),
        (p, "rule", RULE_ID, "sources", "unknown document 'note'"),
    ]


def test_a_wrong_type_hides_no_other_problem_of_the_rule(tmp_path):
    kb = base()
    rule = kb["rule"][0]
    rule["id"] = "Topic.Bad"
    rule["when"] = "mineral_level = low"
    del rule["then"]
    rule["strength"] = "given"
    path = write(tmp_path, kb)
    p = str(path)
    assert fields(failure([path])) == [
        (p, "rule", "Topic.Bad", "when", "'when' has the wrong type (a string)"),
        (p, "rule", "Topic.Bad", "then", "missing key 'then'"),
        (p, "rule", "Topic.Bad", "id", "bad rule id 'Topic.Bad'"),
        (p, "rule", "Topic.Bad", "strength", "'given' is the strength of the user's answers; a rule cannot use it"),
    ]


def test_a_concept_with_several_problems_reports_all_of_them(tmp_path):
    kb = base()
    bone = concept(kb, "bone_health")
    bone["lable"] = bone.pop("label")
    bone["states"] = ["weakened", "Normal", "unknown"]
    bone["kind"] = "outcom"
    bone["exclusive"] = ["normal"]
    bone["order"] = "first"
    path = write(tmp_path, kb)
    p = str(path)
    assert fields(failure([path])) == [
        (p, "concept", "bone_health", "lable", "unknown key 'lable'"),
        (p, "concept", "bone_health", "order", "'order' has the wrong type (a string)"),
        (p, "concept", "bone_health", "states", "bad state 'Normal'"),
        (p, "concept", "bone_health", "states", "'unknown' cannot be a state: every question already accepts it"),
        (p, "concept", "bone_health", "kind", "unknown kind 'outcom'"),
        (p, "concept", "bone_health", "exclusive", "'exclusive' needs multi = true"),
        (p, "concept", "bone_health", "exclusive", "exclusive state 'normal' is not one of the states"),
    ]


def test_a_concept_without_a_usable_id_or_states_still_has_its_other_keys_checked(tmp_path):
    kb = base()
    kb["concept"].append({"states": ["Yes"], "question": "Why?", "kind": "mechanism"})
    hormone = concept(kb, "hormone_output")
    hormone["states"] = "impaired, normal"
    hormone["exclusive"] = ["whatever"]
    path = write(tmp_path, kb)
    p = str(path)
    # the rule concluding hormone_output = impaired is not reported: the
    # concept is declared, and its states cannot be checked until they are fixed
    assert fields(failure([path])) == [
        (p, "concept", "hormone_output", "states", "'states' has the wrong type (a string)"),
        (p, "concept", "hormone_output", "exclusive", "'exclusive' needs multi = true"),
        (p, "concept", "", "id", "missing key 'id'"),
        (p, "concept", "", "states", "bad state 'Yes'"),
        (p, "concept", "", "kind", "a concept with a question has kind 'question', not 'mechanism'"),
    ]


def test_a_document_with_several_problems_reports_all_of_them(tmp_path):
    kb = base()
    kb["document"][0].update({"title": 3, "year": "2024"})
    kb["document"].append({"id": "Bad Id", "titel": "Other", "file": ["x"]})
    path = write(tmp_path, kb)
    p = str(path)
    # the rule citing 'notes' is not reported: the document is declared
    assert fields(failure([path])) == [
        (p, "document", "notes", "year", "unknown key 'year'"),
        (p, "document", "notes", "title", "'title' has the wrong type (a number)"),
        (p, "document", "Bad Id", "titel", "unknown key 'titel'"),
        (p, "document", "Bad Id", "title", "missing key 'title'"),
        (p, "document", "Bad Id", "file", "'file' has the wrong type (a list)"),
        (p, "document", "Bad Id", "id", "bad document id 'Bad Id'"),
    ]


def test_one_broken_rule_hides_no_problem_of_another_rule_or_file(tmp_path):
    kb = base()
    kb["rule"][0]["titel"] = kb["rule"][0].pop("title")
    kb["rule"].append(extra_rule("topic.second", ["mineral_level = low"], ["bone_health = weak"]))
    kb["rule"].append(extra_rule(RULE_ID, ["mineral_level = high"], ["bone_health = normal"]))
    kb["rule"].append(extra_rule("topic.third", ["mineral_level = low"], ["hormone_output = normal"], replaces="x.y"))
    other = {"rule": [extra_rule("other.rule", ["mineral_level = low"], ["hormone_output = normal"], strength="sure")]}
    a, b = write(tmp_path, kb, "a.toml"), write(tmp_path, other, "b.toml")
    error = failure([], [a, b])
    assert fields(error) == [
        (str(a), "rule", RULE_ID, "titel", "unknown key 'titel'"),
        (str(a), "rule", RULE_ID, "title", "missing key 'title'"),
        (str(a), "rule", "topic.second", "then", "'weak' is not a state of 'bone_health'"),
        (str(a), "rule", RULE_ID, "id", f"duplicate rule id '{RULE_ID}' (also in {a})"),
        (str(a), "rule", "topic.third", "replaces", "replaces unknown rule 'x.y'"),
        (str(b), "rule", "other.rule", "strength", "unknown strength 'sure'"),
    ]


def test_a_broken_rule_hides_no_cycle_through_not_among_the_rules_that_are_fine(tmp_path):
    kb = base()
    kb["rule"][0]["strength"] = "strong"
    kb["rule"] += [
        extra_rule("topic.a", ["not bone_health = weakened"], ["hormone_output = normal"]),
        extra_rule("topic.b", ["hormone_output = normal"], ["bone_health = weakened"]),
    ]
    path = write(tmp_path, kb)
    error = failure([path])
    assert [(p.ident, p.key) for p in error.problems] == [(RULE_ID, "strength"), ("topic.a", "when")]
    assert error.problems[-1].message.startswith("a 'not' condition depends on this rule's own conclusions")


def test_a_cycle_through_a_rule_a_broken_rule_replaces_is_left_out(tmp_path):
    """Fixing the broken rule may remove the cycle: it is not reported yet."""
    first = base()
    first["rule"] += [
        extra_rule("topic.a", ["not bone_health = weakened"], ["hormone_output = normal"]),
        extra_rule("topic.b", ["hormone_output = normal"], ["bone_health = weakened"]),
    ]
    broken = extra_rule("mine.b", ["hormone_output = normal"], ["bone_health = normal"], replaces="topic.b")
    broken["strength"] = "sure"
    a, b = write(tmp_path, first, "a.toml"), write(tmp_path, {"rule": [broken]}, "b.toml")
    assert [(p.ident, p.key) for p in failure([a], [b]).problems] == [("mine.b", "strength")]


def test_the_header_counts_every_problem_listed(tmp_path):
    from click.testing import CliRunner

    kb = base()
    rule = kb["rule"][0]
    rule["titel"] = rule.pop("title")
    rule["strength"] = "strong"
    rule["when"] = ["mineral_levle = low"]
    concept(kb, "bone_health")["lable"] = "x"
    path = write(tmp_path, kb)
    result = CliRunner().invoke(cofactor.cli.cli, ["--rules", str(path), "rules"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if "did not load" in line)
    listed = [line for line in lines[header + 1 :] if line.startswith("  ")]
    assert f"({len(listed)} problems)" in lines[header]
    assert len(listed) == 5


# ---------------------------------------------------------------------------
# Loops, empty values and blank ids: one problem each, none left out
# ---------------------------------------------------------------------------

LOOP_RULES = [
    extra_rule("topic.impaired-output-weakens-bone", ["hormone_output = impaired"], ["bone_health = weakened"]),
    extra_rule("topic.weak-bone-impairs-output", ["bone_health = weakened"], ["hormone_output = impaired"]),
]


def _loop(loop_id, through=("hormone_output", "bone_health"), **more) -> dict:
    return {"id": loop_id, "title": f"Loop {loop_id}", "through": list(through), **more}


def test_a_loop_loads(tmp_path):
    kb = base()
    kb["rule"] += LOOP_RULES
    kb["loop"] = [_loop("bone-loop")]
    assert [lp.id for lp in load([write(tmp_path, kb)]).loops] == ["bone-loop"]


@pytest.mark.parametrize("bad_id", ["Bone Loop", "bone loop", "-loop", "lооp"])
def test_bad_loop_id(tmp_path, bad_id):
    kb = base()
    kb["rule"] += LOOP_RULES
    kb["loop"] = [_loop(bad_id)]
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    assert problem.message.startswith(f"bad loop id '{bad_id}'")
    check(
        problem,
        path=path,
        kind="loop",
        ident=bad_id,
        key="id",
        message=problem.message,
        fix="use lower-case letters, digits, '-', '_' and '.', e.g. 'topic-loop'",
    )
    if bad_id == "lооp":  # Cyrillic 'о': named, as it cannot be seen
        assert "(U+043E CYRILLIC SMALL LETTER O) at position 2 is not allowed" in problem.message


@pytest.mark.parametrize(
    "first",
    [
        _loop("bone-loop", through=("hormone_output",)),  # too short
        _loop("bone-loop", through=("hormone_outpt", "bone_health")),  # an unknown concept
        {"id": "bone-loop", "through": ["hormone_output", "bone_health"]},  # no title
    ],
)
def test_a_duplicate_loop_id_after_a_broken_loop(tmp_path, first):
    kb = base()
    kb["rule"] += LOOP_RULES
    kb["loop"] = [first, _loop("bone-loop", through=("hormone_output", "bone_healt"))]
    path = write(tmp_path, kb)
    problems = failure([path]).problems
    assert len(problems) == 3, problems
    assert [(p.ident, p.key, p.message) for p in problems[1:]] == [
        ("bone-loop", "id", f"duplicate loop id 'bone-loop' (also in {path})"),
        # the duplicate's own problem is not hidden behind it
        ("bone-loop", "through", "unknown concept 'bone_healt'"),
    ]


def test_replaces_that_is_empty(tmp_path):
    kb = base()
    kb["rule"][0]["replaces"] = ""
    path = write(tmp_path, {"rule": kb.pop("rule")}, "mine.toml")
    problem = only_problem(failure([write(tmp_path, kb)], [path]))
    check(
        problem,
        path=path,
        kind="rule",
        ident=RULE_ID,
        key="replaces",
        message="'replaces' is empty",
        fix="write the id of the rule this one replaces",
    )


@pytest.mark.parametrize("blank", ["", " ", "  \t "])
@pytest.mark.parametrize("table", ["concept", "rule", "document", "loop"])
def test_a_blank_id_is_one_problem(tmp_path, table, blank):
    kb = base()
    kb["rule"] += LOOP_RULES
    kb["loop"] = [_loop("bone-loop")]
    kb[table].append({**kb[table][-1], "id": blank})  # a copy of a table with no aliases, under a blank id
    path = write(tmp_path, kb)
    problem = only_problem(failure([path]))
    want = {"concept": "a snake_case id", "rule": "a rule id such as 'topic.short-name'"}
    want |= {"document": "a short key such as 'my-article'", "loop": "a short id such as 'topic-loop'"}
    check(
        problem,
        path=path,
        kind=table,
        ident=blank,
        key="id",
        message="'id' is empty",
        fix=f"write {want[table]}",
    )
