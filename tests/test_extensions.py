"""What --rules files may do beyond adding tables: take rules of other files
out (``disables``), add states to a concept another file defines
(``add_states``), declare documents with a citation, a web address and a
local text, and carry examples ([[rule.example]]); and the loader's partial
knowledge base (``load_partial``), which ``cofactor check`` builds on.

Each mistake is made once, in an extension of a small built-in knowledge
base written by the tests (``base()``), so that each test shows the message
a rule author gets: the file, the id, the key, the bad value and the fix.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from test_loader import check, failure, only_problem, to_toml, write

from cofactor.engine import kbcache, loader
from cofactor.engine.errors import KnowledgeBaseError
from cofactor.engine.loader import build, build_partial, load, load_partial
from cofactor.engine.model import Condition, Disabled, Example, Fact, Strength
from cofactor.engine.rulefiles import RuleFile

PROJECT = Path(__file__).resolve().parents[1]

QUOTE = {"document": "notes", "quote": "A sentence of the notes."}


def rule(rule_id: str, when: list[str], then: list[str], **more) -> dict:
    return {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "when": when,
        "then": then,
        "strength": "likely",
        "sources": [QUOTE],
        **more,
    }


def base() -> dict[str, list[dict]]:
    """The built-in knowledge of these tests: two questions (one of them
    multi-valued), a feedback loop between two mechanisms, an outcome."""
    return copy.deepcopy(
        {
            "document": [{"id": "notes", "title": "Teaching notes"}],
            "concept": [
                {"id": "level", "question": "What is the level?", "states": ["low", "normal", "high"], "order": 1},
                {
                    "id": "signs",
                    "question": "Which signs?",
                    "states": ["ache", "fatigue", "none"],
                    "multi": True,
                    "exclusive": ["none"],
                    "order": 2,
                },
                {"id": "output", "kind": "mechanism", "states": ["impaired", "normal"]},
                {"id": "store", "kind": "mechanism", "states": ["depleted", "full"]},
                {"id": "result", "kind": "outcome", "states": ["weak", "strong"]},
            ],
            "rule": [
                rule("topic.low-level-impairs-output", ["level = low"], ["output = impaired"]),
                rule("topic.impaired-output-depletes-store", ["output = impaired"], ["store = depleted"]),
                rule("topic.depleted-store-impairs-output", ["store = depleted"], ["output = impaired"]),
                rule("topic.depleted-store-weakens", ["store = depleted", "signs = ache"], ["result = weak"]),
            ],
            "loop": [{"id": "output-store", "title": "the output-store loop", "through": ["output", "store"]}],
        }
    )


@pytest.fixture
def builtin(tmp_path) -> Path:
    folder = tmp_path / "builtin"
    folder.mkdir()
    return write(folder, base(), "topic.toml")


def extension(tmp_path: Path, tables: dict | str, name: str = "mine.toml") -> Path:
    """An extension file: a dict of tables (with 'disables' as a top-level list) or TOML text."""
    if isinstance(tables, str):
        return write(tmp_path, tables, name)
    tables = dict(tables)
    head = ""
    if "disables" in tables:
        head = "disables = [" + ", ".join(f'"{d}"' for d in tables.pop("disables")) + "]\n\n"
    return write(tmp_path, head + to_toml(tables), name)


def one(builtin: Path, *extra: Path, **expected):
    """The only problem of loading ``extra`` on ``builtin``, checked field by field."""
    problem = only_problem(failure([builtin], list(extra)))
    check(problem, **expected)
    return problem


# ---------------------------------------------------------------------------
# disables
# ---------------------------------------------------------------------------


def test_disables_takes_a_rule_of_another_file_out(tmp_path, builtin):
    path = extension(tmp_path, {"disables": ["topic.depleted-store-weakens"]})
    kb = load([builtin], [path])
    gone = load([builtin]).rules
    removed = next(r for r in gone if r.id == "topic.depleted-store-weakens")
    assert "topic.depleted-store-weakens" not in {r.id for r in kb.rules}
    assert len(kb.rules) == len(gone) - 1
    assert kb.disabled == (Disabled(removed, str(path)),)
    assert kb.files == (str(builtin), str(path))


def test_rules_from_rules_files_are_not_builtin(tmp_path, builtin):
    path = extension(tmp_path, {"rule": [rule("mine.high-level", ["level = high"], ["result = strong"])]})
    kb = load([builtin], [path])
    assert {r.id: r.builtin for r in kb.rules} == {
        "mine.high-level": False,
        "topic.low-level-impairs-output": True,
        "topic.impaired-output-depletes-store": True,
        "topic.depleted-store-impairs-output": True,
        "topic.depleted-store-weakens": True,
    }


def test_disables_takes_out_a_rule_of_another_rules_file_named_before_or_after(tmp_path, builtin):
    mine = extension(tmp_path, {"rule": [rule("mine.high-level", ["level = high"], ["result = strong"])]})
    other = extension(tmp_path, {"disables": ["mine.high-level"]}, "other.toml")
    for order in ([mine, other], [other, mine]):
        kb = load([builtin], order)
        assert "mine.high-level" not in {r.id for r in kb.rules}
        assert [(d.rule.id, d.by) for d in kb.disabled] == [("mine.high-level", str(other))]


def test_disabling_a_replacement_leaves_the_rule_it_replaced_out_too(tmp_path, builtin):
    mine = extension(
        tmp_path,
        {
            "rule": [
                rule("mine.weakens", ["store = depleted"], ["result = weak"], replaces="topic.depleted-store-weakens")
            ]
        },
    )
    other = extension(tmp_path, {"disables": ["mine.weakens"]}, "other.toml")
    kb = load([builtin], [mine, other])
    assert not {"mine.weakens", "topic.depleted-store-weakens"} & {r.id for r in kb.rules}
    [disabled] = kb.disabled
    assert disabled.rule.id == "mine.weakens" and disabled.rule.replaced == ("topic.depleted-store-weakens",)


def test_two_files_disabling_one_rule_take_it_out_once(tmp_path, builtin):
    first = extension(tmp_path, {"disables": ["topic.depleted-store-weakens"]}, "a.toml")
    second = extension(tmp_path, {"disables": ["topic.depleted-store-weakens"]}, "b.toml")
    kb = load([builtin], [first, second])
    assert [(d.rule.id, d.by) for d in kb.disabled] == [("topic.depleted-store-weakens", str(first))]


def test_a_builtin_loop_broken_by_disabling_is_left_out_and_rules_that_needed_the_rule_stay(tmp_path, builtin):
    assert [lp.id for lp in load([builtin]).loops] == ["output-store"]
    path = extension(tmp_path, {"disables": ["topic.depleted-store-impairs-output"]})
    kb = load([builtin], [path])  # no error: the loop is simply not there
    assert kb.loops == ()
    # a rule whose condition the disabled rule concluded is still there (it may no longer fire)
    assert "topic.impaired-output-depletes-store" in {r.id for r in kb.rules}


@pytest.mark.parametrize(
    "listed, fix",
    [
        ("topic.depleted-store-weaken", "did you mean 'topic.depleted-store-weakens'?"),
        ("elsewhere.nothing-like-it", "name a rule of the built-in knowledge or of another --rules file"),
    ],
)
def test_disables_an_unknown_rule(tmp_path, builtin, listed, fix):
    path = extension(tmp_path, {"disables": [listed]})
    one(
        builtin,
        path,
        path=path,
        kind="",
        ident="",
        key="disables",
        message=f"disables unknown rule '{listed}'",
        fix=fix,
    )


def test_disables_a_rule_of_the_same_file(tmp_path, builtin):
    path = extension(
        tmp_path,
        {"disables": ["mine.high-level"], "rule": [rule("mine.high-level", ["level = high"], ["result = strong"])]},
    )
    one(
        builtin,
        path,
        path=path,
        kind="",
        ident="",
        key="disables",
        message="disables 'mine.high-level', a rule of this same file",
        fix="remove the rule 'mine.high-level' from this file instead",
    )


@pytest.mark.parametrize(
    "value, found",
    [('"topic.depleted-store-weakens"', "a string"), ("[1, 2]", "a list holding a number"), ("{}", "a table")],
)
def test_disables_that_is_not_a_list_of_rule_ids(tmp_path, builtin, value, found):
    path = extension(tmp_path, f"disables = {value}\n")
    one(
        builtin,
        path,
        path=path,
        kind="",
        ident="",
        key="disables",
        message=f"'disables' has the wrong type ({found})",
        fix='write a list of rule ids, e.g. disables = ["topic.rule-id"]',
    )


def test_a_rule_both_disabled_and_replaced(tmp_path, builtin):
    mine = extension(
        tmp_path,
        {
            "rule": [
                rule("mine.weakens", ["store = depleted"], ["result = weak"], replaces="topic.depleted-store-weakens")
            ]
        },
    )
    other = extension(tmp_path, {"disables": ["topic.depleted-store-weakens"]}, "other.toml")
    one(
        builtin,
        mine,
        other,
        path=other,
        kind="",
        ident="",
        key="disables",
        message=f"disables 'topic.depleted-store-weakens', which 'mine.weakens' in {mine} replaces",
        fix="either disable 'topic.depleted-store-weakens' or replace it: remove it from disables, "
        "or remove replaces from 'mine.weakens'",
    )


def test_disables_listing_a_rule_twice(tmp_path, builtin):
    path = extension(tmp_path, {"disables": ["topic.depleted-store-weakens", "topic.depleted-store-weakens"]})
    one(
        builtin,
        path,
        path=path,
        kind="",
        ident="",
        key="disables",
        message="'disables' lists 'topic.depleted-store-weakens' twice",
        fix="list each rule once",
    )


def test_disables_written_below_a_table_belongs_to_that_table(tmp_path, builtin):
    path = extension(tmp_path, {"rule": [rule("mine.x", ["level = high"], ["result = strong"])]})
    path.write_text(path.read_text(encoding="utf-8") + 'disables = ["topic.depleted-store-weakens"]\n')
    one(
        builtin,
        path,
        path=path,
        kind="rule",
        ident="mine.x",
        key="disables",
        message="unknown key 'disables'",
        fix="write disables = [...] at the top of the file, before its first table",
    )


def test_builtin_files_cannot_use_disables(tmp_path, builtin):
    other = write(tmp_path, 'disables = ["topic.depleted-store-weakens"]\n', "other-builtin.toml")
    problem = only_problem(failure([builtin, other]))
    check(
        problem,
        path=other,
        kind="",
        ident="",
        key="disables",
        message="built-in rule files cannot use 'disables'",
        fix="remove the rule from its file instead",
    )


# ---------------------------------------------------------------------------
# add_states
# ---------------------------------------------------------------------------


def test_add_states_extends_a_concept_of_another_file_for_every_file(tmp_path, builtin):
    # a rule file named before the one that adds the state may use it already, in
    # 'when', in 'then', in an ask_if and in an example
    user = extension(
        tmp_path,
        {
            "concept": [
                {"id": "detail", "question": "Any detail?", "states": ["yes", "no"], "ask_if": ["level = borderline"]}
            ],
            "rule": [
                rule(
                    "mine.borderline",
                    ["level = borderline"],
                    ["output = reduced"],
                    example=[{"answers": {"level": "borderline"}, "expect": ["output = reduced"]}],
                )
            ],
        },
        "a-user.toml",
    )
    adder = extension(
        tmp_path,
        {
            "concept": [
                {"id": "level", "add_states": ["borderline"]},
                {"id": "output", "add_states": ["reduced"]},
            ]
        },
        "b-adder.toml",
    )
    kb = load([builtin], [user, adder])
    assert kb.concepts["level"].states == ("low", "normal", "high", "borderline")
    assert kb.concepts["level"].additions == ((str(adder), ("borderline",)),)
    assert kb.concepts["output"].states == ("impaired", "normal", "reduced")
    assert kb.concepts["detail"].ask_if == (Condition("level", ("borderline",)),)
    assert next(r for r in kb.rules if r.id == "mine.borderline").then == (Fact("output", "reduced"),)
    # the rest of the concept is its own file's
    assert kb.concepts["level"].question == "What is the level?" and kb.concepts["level"].path == str(builtin)


def test_two_files_add_states_in_the_order_named(tmp_path, builtin):
    first = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["very_low"]}]}, "a.toml")
    second = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["very_high", "extreme"]}]}, "b.toml")
    kb = load([builtin], [second, first])
    assert kb.concepts["level"].states == ("low", "normal", "high", "very_high", "extreme", "very_low")
    assert kb.concepts["level"].additions == ((str(second), ("very_high", "extreme")), (str(first), ("very_low",)))


def test_aliases_beside_add_states_are_added_to_a_question(tmp_path, builtin):
    path = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"], "aliases": ["amount"]}]})
    assert load([builtin], [path]).concepts["level"].aliases == ("amount",)


def test_aliases_beside_add_states_on_a_concept_that_is_no_question(tmp_path, builtin):
    path = extension(tmp_path, {"concept": [{"id": "output", "add_states": ["reduced"], "aliases": ["out"]}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="output",
        key="aliases",
        message="'aliases' only makes sense on a question, and 'output' is not one",
        fix="remove aliases",
    )


@pytest.mark.parametrize(
    "cid, fix",
    [("levels", "did you mean 'level'?"), ("zzz", "name a concept that another rule file defines")],
)
def test_add_states_to_an_unknown_concept(tmp_path, builtin, cid, fix):
    path = extension(tmp_path, {"concept": [{"id": cid, "add_states": ["borderline"]}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident=cid,
        key="id",
        message=f"adds states to unknown concept '{cid}'",
        fix=fix,
    )


def test_add_states_to_a_concept_of_the_same_file(tmp_path, builtin):
    path = extension(
        tmp_path,
        {"concept": [{"id": "mood", "states": ["good"]}, {"id": "mood", "add_states": ["bad"]}]},
    )
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="mood",
        key="add_states",
        message="adds states to 'mood', a concept of this same file",
        fix="list the states in its own [[concept]] table",
    )


def test_builtin_files_cannot_use_add_states(tmp_path, builtin):
    other = write(tmp_path, '[[concept]]\nid = "level"\nadd_states = ["borderline"]\n', "other-builtin.toml")
    problem = only_problem(failure([builtin, other]))
    check(
        problem,
        path=other,
        kind="concept",
        ident="level",
        key="add_states",
        message="built-in rule files cannot use 'add_states'",
        fix="list the states in the concept's own table",
    )


@pytest.mark.parametrize(
    "states, message, fix",
    [
        (["low"], "'low' is already a state of 'level'", "remove it from add_states"),
        (["Borderline"], "bad state 'Borderline'", "use lower-case letters, digits and '_'"),
        (["bord erline"], "bad state 'bord erline'", "use lower-case letters, digits and '_'"),
        (
            ["unknown"],
            "'unknown' cannot be a state: every question already accepts it",
            "remove 'unknown' from add_states",
        ),
        (["borderline", "borderline"], "state 'borderline' is listed twice", "list each state once"),
        ([], "'add_states' is empty", "list the states to add, or remove the table"),
    ],
)
def test_a_bad_state_to_add(tmp_path, builtin, states, message, fix):
    path = extension(tmp_path, {"concept": [{"id": "level", "add_states": states}]})
    one(builtin, path, path=path, kind="concept", ident="level", key="add_states", message=message, fix=fix)


def test_a_state_another_file_already_added(tmp_path, builtin):
    first = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"]}]}, "a.toml")
    second = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"]}]}, "b.toml")
    one(
        builtin,
        first,
        second,
        path=second,
        kind="concept",
        ident="level",
        key="add_states",
        message=f"'borderline' is already a state of 'level' (added by {first})",
        fix="remove it from add_states",
    )


@pytest.mark.parametrize(
    "key, value",
    [("label", "Level"), ("question", "What now?"), ("states", ["x"]), ("multi", True), ("kind", "outcome")],
)
def test_add_states_beside_a_key_that_defines_a_concept(tmp_path, builtin, key, value):
    path = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"], key: value}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="level",
        key=key,
        message=f"'{key}' cannot be set by a table that adds states to a concept",
        fix=f"remove {key}: a table with add_states holds only id, add_states, aliases",
    )


def test_an_unknown_key_beside_add_states(tmp_path, builtin):
    path = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"], "alias": ["x"]}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="level",
        key="alias",
        message="unknown key 'alias'",
        fix="did you mean 'aliases'?",
    )


def test_add_states_over_the_limit_of_states(tmp_path, builtin, monkeypatch):
    monkeypatch.setattr(loader, "MAX_STATES", 4)
    path = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline", "extreme"]}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="level",
        key="add_states",
        message="with these states 'level' would have 5 states; at most 4 are allowed",
        fix="add fewer states, or make a new concept",
    )


def test_a_concept_defined_again_without_add_states_is_a_duplicate_whose_fix_names_add_states(tmp_path, builtin):
    path = extension(tmp_path, {"concept": [{"id": "level", "states": ["borderline"]}]})
    one(
        builtin,
        path,
        path=path,
        kind="concept",
        ident="level",
        key="id",
        message=f"duplicate concept id 'level' (also in {builtin})",
        fix='define each concept once; to add states to it, keep only id and write add_states = ["new_state"] '
        "in this table",
    )


def test_a_rule_using_a_state_whose_addition_failed_is_reported_too(tmp_path, builtin):
    """An added state that is refused is not there: a rule using it names it."""
    path = extension(
        tmp_path,
        {
            "concept": [{"id": "level", "add_states": ["Borderline"]}],
            "rule": [rule("mine.x", ["level = borderline"], ["result = weak"])],
        },
    )
    messages = [p.message for p in failure([builtin], [path]).problems]
    assert messages == ["bad state 'Borderline'", "'borderline' is not a state of 'level'"]


# ---------------------------------------------------------------------------
# Documents: citation, url, text
# ---------------------------------------------------------------------------


def test_a_document_with_a_citation_an_address_and_a_local_text(tmp_path, builtin):
    folder = tmp_path / "ext"
    folder.mkdir()
    path = extension(
        folder,
        {
            "document": [
                {
                    "id": "smith-2024",
                    "title": "An article",
                    "citation": "Smith J. (2024). A journal 12:34-56.",
                    "url": "https://example.org/article",
                    "text": "../texts/./smith-2024.txt",
                },
                {"id": "plain", "title": "No text"},
            ]
        },
    )
    kb = load([builtin], [path])
    doc = kb.documents["smith-2024"]
    assert doc.citation == "Smith J. (2024). A journal 12:34-56."
    assert doc.url == "https://example.org/article"
    assert doc.text == "../texts/./smith-2024.txt"
    assert doc.text_path == os.path.join(os.path.realpath(tmp_path), "texts", "smith-2024.txt")
    assert kb.documents["plain"].text == kb.documents["plain"].text_path == ""


def test_a_documents_text_is_found_from_the_rule_files_own_folder_not_a_link_to_it(tmp_path, builtin):
    folder = tmp_path / "real"
    folder.mkdir()
    target = extension(folder, {"document": [{"id": "d", "title": "D", "text": "d.txt"}]})
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    kb = load([builtin], [link])
    assert kb.documents["d"].text_path == os.path.join(os.path.realpath(folder), "d.txt")
    assert kb.documents["d"].path == str(link)  # shown as named


def test_a_rule_file_built_without_its_own_path_finds_texts_from_its_shown_name(tmp_path, monkeypatch, builtin):
    monkeypatch.chdir(tmp_path)
    found = [RuleFile("sub/mine.toml", '[[document]]\nid = "d"\ntitle = "D"\ntext = "d.txt"\n', False)]
    kb = build(found)
    assert kb.documents["d"].text_path == os.path.join(os.path.abspath("sub"), "d.txt")


@pytest.mark.parametrize("value", ["a\x00b.txt", "a\nb.txt", "texts/\u200bx.txt"])
def test_a_documents_text_holding_a_control_character(tmp_path, builtin, value):
    path = extension(tmp_path, {"document": [{"id": "d", "title": "D", "text": value}]})
    problem = one(
        builtin,
        path,
        path=path,
        kind="document",
        ident="d",
        key="text",
        message=only_problem(failure([builtin], [path])).message,
        fix="write the path of a plain-text file, relative to this rule file",
    )
    assert problem.message.startswith("the text path '")
    assert problem.message.isprintable()  # the bad character is shown as an escape, never as itself
    assert f"U+{ord(next(ch for ch in value if not ch.isprintable())):04X}" in problem.message


@pytest.mark.parametrize("key", ["text", "citation", "url"])
def test_a_documents_empty_text_citation_or_address(tmp_path, builtin, key):
    path = extension(tmp_path, {"document": [{"id": "d", "title": "D", key: " "}]})
    want = loader.DOCUMENT_KEYS[key][2]
    one(builtin, path, path=path, kind="document", ident="d", key=key, message=f"'{key}' is empty", fix=f"write {want}")


def test_the_builtin_documents_point_to_the_shared_texts():
    from cofactor.cli import BUILTIN_RULES

    kb = load([BUILTIN_RULES])
    # counted from the rule file's real folder; the text's own path is not resolved
    # further (../shared may be a link, as in CI)
    shared = os.path.normpath(os.path.join(os.path.realpath(BUILTIN_RULES), "..", "..", "shared", "sources"))
    for doc in kb.documents.values():
        assert doc.text == f"../../shared/sources/{doc.file}"
        assert doc.text_path == os.path.join(shared, doc.file)


def test_the_cache_key_covers_where_a_rule_file_is(tmp_path):
    """The same file under the same shown name, in two places: its text lies
    beside each, so the cached knowledge base of one is not the other's."""
    cache = tmp_path / "cache"
    built: list = []
    for place in ("one", "two"):
        root = tmp_path / place
        root.mkdir()
        write(root, '[[document]]\nid = "d"\ntitle = "D"\ntext = "d.txt"\n', "mine.toml")
        kb = kbcache.load([root / "mine.toml"], display_root=root, folder=cache)
        assert kb.files == ("mine.toml",)
        built.append(kb.documents["d"].text_path)
    assert built == [os.path.join(os.path.realpath(tmp_path / p), "d.txt") for p in ("one", "two")]


# ---------------------------------------------------------------------------
# Examples: [[rule.example]]
# ---------------------------------------------------------------------------


def with_examples(*examples: dict, when: list[str] | None = None, **rule_changes) -> dict:
    """An extension with one rule carrying ``examples``."""
    when = when or ["signs = ache", "level in [low, normal]"]
    return {"rule": [rule("mine.ache-weakens", when, ["result = weak"], **rule_changes) | {"example": list(examples)}]}


def example_problem(tmp_path, builtin, example: dict, *, key: str, message: str, fix: str, number: int = 1):
    path = extension(tmp_path, with_examples(example))
    return one(
        builtin,
        path,
        path=path,
        kind="rule",
        ident="mine.ache-weakens",
        key=f"example[{number}].{key}" if key else f"example[{number}]",
        message=message,
        fix=fix,
    )


def test_examples_are_read_into_the_rule(tmp_path, builtin):
    path = extension(
        tmp_path,
        with_examples(
            {
                "name": "an ache at a low level",
                "answers": {"signs": ["fatigue", "ache"], "level": "low"},
                "expect": ["result = weak", "output = impaired"],
                "absent": ["result = strong"],
                "strength": {"result": "likely", "output": "established"},
            },
            {"answers": {"level": "unknown", "signs": "ache"}, "absent": ["result = weak"]},
            {"answers": {}, "absent": ["result = weak"]},
        ),
    )
    [mine] = [r for r in load([builtin], [path]).rules if r.id == "mine.ache-weakens"]
    assert mine.examples == (
        Example(
            name="an ache at a low level",
            answers=(("level", ("low",)), ("signs", ("ache", "fatigue"))),  # by concept; states in the concept's order
            expect=(Fact("result", "weak"), Fact("output", "impaired")),
            absent=(Fact("result", "strong"),),
            strengths=(
                (Fact("result", "weak"), Strength.LIKELY),
                (Fact("output", "impaired"), Strength.ESTABLISHED),
            ),
        ),
        Example(name="example 2", answers=(("level", ()), ("signs", ("ache",))), absent=(Fact("result", "weak"),)),
        Example(name="example 3", answers=(), absent=(Fact("result", "weak"),)),
    )


def test_the_examples_of_a_builtin_rule(tmp_path):
    tables = base()
    tables["rule"][0]["example"] = [{"answers": {"level": "low"}, "expect": ["output = impaired"]}]
    path = write(tmp_path, tables)
    [first] = [r for r in load([path]).rules if r.id == "topic.low-level-impairs-output"]
    assert first.builtin and first.examples == (
        Example("example 1", (("level", ("low",)),), expect=(Fact("output", "impaired"),)),
    )


def test_the_toml_of_an_example_as_an_author_writes_it(tmp_path, builtin):
    text = """
[[rule]]
id = "mine.ache-weakens"
title = "An ache weakens"
when = ["signs = ache"]
then = ["result = weak"]
strength = "possible"
sources = [{ document = "notes", quote = "A sentence of the notes." }]

[[rule.example]]
name = "an ache"
answers = { signs = ["ache"] }
expect = ["result = weak"]
strength = { result = "possible" }

[[rule.example]]
answers = { signs = "none" }
absent = ["result = weak"]
"""
    [mine] = [r for r in load([builtin], [extension(tmp_path, text)]).rules if r.id == "mine.ache-weakens"]
    assert [e.name for e in mine.examples] == ["an ache", "example 2"]
    assert mine.examples[0].strengths == ((Fact("result", "weak"), Strength.POSSIBLE),)


@pytest.mark.parametrize(
    "answers, message, fix",
    [
        ({"levl": "low"}, "unknown question 'levl'", "did you mean 'level'?"),
        ({"stor": "low"}, "unknown question 'stor'", "did you mean 'store'?"),
        ({"zzz": "low"}, "unknown question 'zzz'", "answer questions only"),
        (
            {"store": "depleted"},
            "'store' is not a question: an example answers questions only",
            "to check a conclusion, write 'store = <state>' in expect",
        ),
        ({"level": "lo"}, "'lo' is not a state of 'level'", "did you mean 'low'?"),
        ({"level": ["low"]}, "'level' takes one answer, not a list", 'write one state, e.g. level = "low"'),
        ({"signs": []}, "the answer to 'signs' is an empty list", 'write "unknown" for no answer'),
        (
            {"signs": ["ache", "unknown"]},
            "'unknown' cannot stand beside other answers to 'signs'",
            'write "unknown" alone, or leave it out',
        ),
        ({"signs": ["none", "ache"]}, "'none' cannot stand beside other answers to 'signs'", "answer 'none' alone"),
        ({"signs": ["ache", "ache"]}, "the answer to 'signs' names 'ache' twice", "name each state once"),
        (
            {"level": 3},
            "the answer to 'level' has the wrong type (a number)",
            'write a state, a list of states (for a question that allows several), or "unknown"',
        ),
    ],
)
def test_a_bad_answer_in_an_example(tmp_path, builtin, answers, message, fix):
    example = {"answers": answers, "expect": ["result = weak"]}
    example_problem(tmp_path, builtin, example, key="answers", message=message, fix=fix)


def test_an_example_may_answer_with_a_state_another_file_adds(tmp_path, builtin):
    adder = extension(tmp_path, {"concept": [{"id": "signs", "add_states": ["cramp"]}]}, "adder.toml")
    path = extension(tmp_path, with_examples({"answers": {"signs": ["cramp", "ache"]}, "absent": ["store = full"]}))
    [mine] = [r for r in load([builtin], [path, adder]).rules if r.id == "mine.ache-weakens"]
    assert mine.examples[0].answers == (("signs", ("ache", "cramp")),)


@pytest.mark.parametrize("key", ["expect", "absent"])
@pytest.mark.parametrize(
    "fact, message, fix",
    [
        (
            "result in [weak]",
            "cannot read conclusion 'result in [weak]': expected 'concept = state'",
            'a fact names one state: "concept = state"',
        ),
        ("reslt = weak", "unknown concept 'reslt'", "did you mean 'result'?"),
        ("result = weakk", "'weakk' is not a state of 'result'", "did you mean 'weak'?"),
    ],
)
def test_a_bad_fact_in_an_example(tmp_path, builtin, key, fact, message, fix):
    example = {"answers": {"level": "low"}, key: [fact]}
    example_problem(tmp_path, builtin, example, key=key, message=message, fix=fix)


def test_a_fact_listed_twice_in_an_example(tmp_path, builtin):
    example = {"answers": {"level": "low"}, "expect": ["result = weak", "result=weak"]}
    example_problem(
        tmp_path, builtin, example, key="expect", message="'result=weak' is listed twice", fix="list each fact once"
    )


def test_a_fact_both_expected_and_absent(tmp_path, builtin):
    example = {"answers": {"level": "low"}, "expect": ["result = weak"], "absent": ["result = weak"]}
    example_problem(
        tmp_path,
        builtin,
        example,
        key="absent",
        message="'result=weak' is both expected and absent",
        fix="keep it in expect or in absent, not both",
    )


@pytest.mark.parametrize("example", [{"answers": {"level": "low"}}, {"answers": {}, "expect": [], "absent": []}])
def test_an_example_that_expects_nothing(tmp_path, builtin, example):
    example_problem(
        tmp_path,
        builtin,
        example,
        key="",
        message="the example expects nothing",
        fix='add expect = ["concept = state"] (facts that must follow) or absent = [...] (facts that must not)',
    )


def test_an_example_without_answers(tmp_path, builtin):
    example_problem(
        tmp_path,
        builtin,
        {"expect": ["result = weak"]},
        key="answers",
        message="missing key 'answers'",
        fix='add answers = a table of answers, e.g. { some_question = "some_state" }',
    )


@pytest.mark.parametrize(
    "strength, message, fix",
    [
        ({"result": "likly"}, "the strength of 'result' is 'likly'", "did you mean 'likely'?"),
        (
            {"result": "given"},
            "the strength of 'result' is 'given'",
            "use one of established, likely, possible",
        ),
        (
            {"result": 2},
            "the strength of 'result' is of the wrong type (a number)",
            "use one of established, likely, possible",
        ),
        (
            {"store": "likely"},
            "'strength' names 'store', which 'expect' does not",
            "add 'store = <state>' to expect, or remove store from strength",
        ),
    ],
)
def test_a_bad_strength_in_an_example(tmp_path, builtin, strength, message, fix):
    example = {"answers": {"level": "low"}, "expect": ["result = weak"], "strength": strength}
    example_problem(tmp_path, builtin, example, key="strength", message=message, fix=fix)


def test_a_strength_for_a_concept_expected_in_two_states(tmp_path, builtin):
    example = {"answers": {"signs": ["ache", "fatigue"]}, "expect": ["signs = ache", "signs = fatigue"]}
    example["strength"] = {"signs": "likely"}
    example_problem(
        tmp_path,
        builtin,
        example,
        key="strength",
        message="'strength' names 'signs', which 'expect' names 2 times: signs=ache, signs=fatigue",
        fix="expect one state of it in an example that gives its strength",
    )


def test_a_strength_for_a_fact_that_does_not_resolve_is_not_reported_twice(tmp_path, builtin):
    example = {"answers": {"level": "low"}, "expect": ["reslt = weak"], "strength": {"reslt": "likely"}}
    example_problem(
        tmp_path, builtin, example, key="expect", message="unknown concept 'reslt'", fix="did you mean 'result'?"
    )


def test_an_unknown_key_in_an_example(tmp_path, builtin):
    example = {"answers": {"level": "low"}, "expected": ["result = weak"], "absent": ["store = full"]}
    example_problem(
        tmp_path, builtin, example, key="expected", message="unknown key 'expected'", fix="did you mean 'expect'?"
    )


def test_two_examples_with_one_name(tmp_path, builtin):
    example = {"name": "twice", "answers": {"level": "low"}, "absent": ["result = strong"]}
    path = extension(tmp_path, with_examples(example, example))
    one(
        builtin,
        path,
        path=path,
        kind="rule",
        ident="mine.ache-weakens",
        key="example[2].name",
        message="two examples are named 'twice'",
        fix="give each example of a rule its own name",
    )


def test_example_written_as_a_string(tmp_path, builtin):
    path = extension(
        tmp_path, {"rule": [rule("mine.x", ["level = low"], ["result = weak"], example="level = low gives weak")]}
    )
    one(
        builtin,
        path,
        path=path,
        kind="rule",
        ident="mine.x",
        key="example",
        message="'example' has the wrong type (a string)",
        fix="write [[rule.example]] tables",
    )


def test_the_number_of_examples_of_a_rule_is_limited(tmp_path, builtin, monkeypatch):
    monkeypatch.setattr(loader, "MAX_EXAMPLES", 2)
    example = {"answers": {"level": "low"}, "absent": ["result = strong"]}
    path = extension(tmp_path, with_examples(*[{**example, "name": f"n{i}"} for i in range(3)]))
    one(
        builtin,
        path,
        path=path,
        kind="rule",
        ident="mine.ache-weakens",
        key="example",
        message="the rule has 3 examples; at most 2 are allowed",
        fix="keep the examples that show different cases",
    )


def test_a_bad_example_is_reported_with_every_other_problem_of_its_rule(tmp_path, builtin):
    path = extension(
        tmp_path,
        with_examples(
            {"answers": {"levl": "low"}, "expect": ["result = weak"]},
            {"answers": {"level": "low"}, "expect": ["result = weak"]},
            strength="certain",
        ),
    )
    problems = failure([builtin], [path]).problems
    assert [(p.key, p.message) for p in problems] == [
        ("strength", "unknown strength 'certain'"),
        ("example[1].answers", "unknown question 'levl'"),
    ]


# ---------------------------------------------------------------------------
# The partial knowledge base: everything that is fine, and every problem
# ---------------------------------------------------------------------------


def test_load_partial_of_files_that_load_is_load(tmp_path, builtin):
    path = extension(tmp_path, {"disables": ["topic.depleted-store-weakens"]})
    kb, problems = load_partial([builtin], [path])
    assert problems == [] and kb == load([builtin], [path])


def test_load_partial_gives_every_problem_and_what_is_fine(tmp_path, builtin):
    path = extension(
        tmp_path,
        {
            "disables": ["topic.nothing"],
            "concept": [{"id": "level", "add_states": ["borderline"]}, {"id": "mood", "states": ["Bad"]}],
            "rule": [
                rule("mine.fine", ["level = borderline"], ["result = weak"]),
                rule("mine.broken", ["level = lowish"], ["result = weak"]),
                rule(
                    "mine.bad-example",
                    ["level = high"],
                    ["result = strong"],
                    example=[
                        {"answers": {"level": "high"}, "expect": ["result = strong"]},
                        {"answers": {"levl": "high"}, "expect": ["result = strong"]},
                    ],
                ),
            ],
        },
    )
    kb, problems = load_partial([builtin], [path])
    with pytest.raises(KnowledgeBaseError) as info:
        load([builtin], [path])
    assert problems == info.value.problems
    assert [p.message for p in problems] == [
        "disables unknown rule 'topic.nothing'",
        "bad state 'Bad'",
        "'lowish' is not a state of 'level'",
        "unknown question 'levl'",
    ]
    ids = {r.id for r in kb.rules}
    assert {"mine.fine", "mine.bad-example"} <= ids and "mine.broken" not in ids
    # a rule with a bad example is kept, with its good examples
    [bad_example] = [r for r in kb.rules if r.id == "mine.bad-example"]
    assert [e.name for e in bad_example.examples] == ["example 1"]
    assert kb.concepts["level"].states[-1] == "borderline"


def test_load_partial_leaves_out_rules_that_conclude_a_fact_from_its_absence(tmp_path, builtin):
    path = extension(
        tmp_path,
        {
            "rule": [
                rule("mine.a", ["level = high", "not store = full"], ["result = strong"]),
                rule("mine.b", ["result = strong"], ["store = full"]),
            ]
        },
    )
    kb, problems = load_partial([builtin], [path])
    assert [p.ident for p in problems] == ["mine.a"]
    assert not {"mine.a", "mine.b"} & {r.id for r in kb.rules}
    assert set(kb.strata) == {r.id for r in kb.rules}  # every rule left has its stratum


def test_load_partial_of_unreadable_files_never_raises(tmp_path, builtin):
    broken = extension(tmp_path, "this is = = not toml")
    kb, problems = load_partial([builtin], [broken, tmp_path / "missing.toml"])
    assert [p.path for p in problems] == [str(broken), str(tmp_path / "missing.toml")]
    assert {r.id for r in kb.rules} == {r.id for r in load([builtin]).rules}


def test_build_partial_and_build_report_the_same_problems(tmp_path, builtin):
    found = [
        RuleFile(str(builtin), builtin.read_text(encoding="utf-8"), True),
        RuleFile("mine.toml", 'disables = ["topic.low-level-impairs-outpt"]\n', False),
    ]
    kb, problems = build_partial(found)
    with pytest.raises(KnowledgeBaseError) as info:
        build(found)
    assert info.value.problems == problems
    assert problems[0].fix == "did you mean 'topic.low-level-impairs-output'?"
    assert len(kb.rules) == 4


# ---------------------------------------------------------------------------
# Through the cache
# ---------------------------------------------------------------------------


def test_a_cached_knowledge_base_with_extensions_and_examples_is_the_loaded_one(tmp_path, builtin):
    adder = extension(tmp_path, {"concept": [{"id": "level", "add_states": ["borderline"]}]}, "adder.toml")
    mine = extension(
        tmp_path,
        {
            "disables": ["topic.depleted-store-weakens"],
            "document": [{"id": "d", "title": "D", "citation": "C.", "url": "https://example.org", "text": "d.txt"}],
        }
        | with_examples(
            {
                "answers": {"signs": ["ache", "fatigue"], "level": "borderline"},
                "expect": ["result = weak"],
                "absent": ["store = full"],
                "strength": {"result": "possible"},
            },
            when=["signs = ache", "level = borderline"],
        ),
    )
    cache = tmp_path / "cache"
    first = kbcache.load([builtin], [adder, mine], folder=cache)
    second = kbcache.load([builtin], [adder, mine], folder=cache)
    loaded = load([builtin], [adder, mine])
    assert first == second == loaded
    assert len(list(cache.glob("kb-*.json"))) == 1
    assert second.disabled and second.concepts["level"].additions and second.documents["d"].text_path
    [with_example] = [r for r in second.rules if r.id == "mine.ache-weakens"]
    assert with_example.examples[0].strengths == ((Fact("result", "weak"), Strength.POSSIBLE),)
    assert type(with_example.examples[0].strengths[0][1]) is Strength and not with_example.builtin
