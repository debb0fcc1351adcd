"""Tensions: where the sources differ, declared in [[tension]] tables, loaded
and checked like the rest of a rule file, kept by the cache, and shown by
every explanation that uses one of their rules (text and JSON), by `rules`
and by the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ALL_ANSWERED

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import KnowledgeBaseError, kbcache, kbdoc, load
from cofactor.engine.check import check
from cofactor.engine.model import SourceRef, Tension

ROOT = BUILTIN_RULES.parent
PTH = "pth-severe-or-any-deficiency"
SEVERE = "pth.severe-deficiency-impairs-secretion"
CHRONIC = "pth.chronic-deficiency-impairs-secretion"
ANY = "pth.deficiency-impairs-secretion"
# the tension the second edition of the knowledge base added beside PTH's (issue 11)
NEEDED = "magnesium-needed-for-pth-or-suppressing-pth"
BUILT_IN = ["intake-as-evidence-of-status", NEEDED, PTH, "ratio-2-to-1-or-no-agreed-ratio"]
SEVERE_QUOTE = "Severe magnesium deficiency impairs PTH production and release"
ANY_QUOTE = "If magnesium levels are deficient, the body cannot produce or secrete PTH effectively"
# the "Done when" command
ACCEPTANCE = ("how", "pth_secretion=impaired", "-a", "magnesium_status=low", "-a", "magnesium_deficiency_chronic=yes")

GOOD = f"""
[[tension]]
id = "mine-tension"
title = "A tension of my own"
statement = "one says chronic, the other severe"
rules = ["{CHRONIC}"]
sides = [
  {{ document = "mg-vitamin-d", quote = "Chronic magnesium deficiency can impair PTH synthesis and secretion" }},
  {{ document = "mg-calcium", quote = "{SEVERE_QUOTE}" }},
]
"""


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as caught:
        load([BUILTIN_RULES], [write(tmp_path, text)], display_root=ROOT)
    return [p.render() for p in caught.value.problems]


def tension_table(**keys: str) -> str:
    """A [[tension]] table, each value written as TOML as given."""
    return "[[tension]]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items())


SIDES = (
    f'[{{ document = "mg-calcium", quote = "{SEVERE_QUOTE}" }}, {{ document = "mg-vitamin-d", quote = "{ANY_QUOTE}" }}]'
)


def good(**changed: str) -> str:
    keys = {
        "id": '"mine-t"',
        "title": '"T"',
        "statement": '"they differ"',
        "rules": f'["{SEVERE}"]',
        "sides": SIDES,
    }
    keys.update(changed)
    return tension_table(**{k: v for k, v in keys.items() if v})


# ---------------------------------------------------------------------------
# The built-in tension, and loading
# ---------------------------------------------------------------------------


def test_the_built_in_tension(kb):
    (tension,) = [t for t in kb.tensions if t.id == PTH]
    assert tension.rules == (SEVERE, CHRONIC, ANY)
    assert tension.sides == (SourceRef("mg-calcium", SEVERE_QUOTE), SourceRef("mg-vitamin-d", ANY_QUOTE))
    assert tension.path == "rules/tensions.toml"
    assert kb.tensions_of(SEVERE) == kb.tensions_of(CHRONIC) == (tension,)
    assert [t.id for t in kb.tensions_of(ANY)] == [NEEDED, PTH]
    assert [t.id for t in kb.tensions] == BUILT_IN
    assert kb.tensions_of("pth.impaired-secretion-disrupts-regulation") == ()
    assert kb.tensions_among([CHRONIC, SEVERE, "nothing"]) == (tension,)


def test_the_built_in_tension_s_quotes_are_verified_by_check(kb):
    report = check(kb, exhaustive=False)
    assert not [f for f in report.findings if f.code == "quote-not-found"]
    assert report.quotes == sum(len(r.sources) for r in kb.rules) + sum(len(t.sides) for t in kb.tensions)


def test_a_made_up_quote_in_a_tension_is_not_found_by_check(tmp_path):
    # a document of the test's own, with its local text: the check does not depend on ../shared
    write(tmp_path, "An article. Magnesium deficiency can impair PTH in some people.\n", "article.txt")
    document = '[[document]]\nid = "my-article"\ntitle = "An article"\ntext = "article.txt"\n\n'
    text = document + good(
        sides='[{ document = "my-article", quote = "Magnesium deficiency can impair PTH in some people." }, '
        '{ document = "my-article", quote = "Magnesium deficiency never matters to PTH at all" }]'
    )
    kb = load([BUILTIN_RULES], [write(tmp_path, text)], display_root=ROOT)
    (finding,) = [f for f in check(kb, exhaustive=False).findings if f.code == "quote-not-found"]
    assert (finding.ident, finding.path, finding.level) == ("mine-t", str(tmp_path / "mine.toml"), "error")


def test_a_tension_in_a_rules_file_is_added(tmp_path):
    kb = load([BUILTIN_RULES], [write(tmp_path, GOOD)], display_root=ROOT)
    assert [t.id for t in kb.tensions] == sorted([*BUILT_IN, "mine-tension"])
    assert [t.id for t in kb.tensions_of(CHRONIC)] == ["mine-tension", PTH]
    assert kb.tensions_of(SEVERE)[0].id == PTH


def test_unknown_rules_and_documents_with_did_you_mean(tmp_path):
    text = good(
        rules=f'["{SEVERE[:-1]}", "{CHRONIC}", "{CHRONIC}"]',
        sides=f'[{{ document = "mg-calcum", quote = "{SEVERE_QUOTE}" }}, '
        '{ document = "mg-vitamin-d", qoute = "x y z w" }]',
    )
    path = tmp_path / "mine.toml"
    assert problems_of(tmp_path, text) == [
        f"{path}: tension 'mine-t': rules: unknown rule '{SEVERE[:-1]}' (did you mean '{SEVERE}'?)",
        f"{path}: tension 'mine-t': rules: 'rules' lists '{CHRONIC}' twice (list each rule once)",
        f"{path}: tension 'mine-t': sides[1]: unknown document 'mg-calcum' (did you mean 'mg-calcium'?)",
        f"{path}: tension 'mine-t': sides[2].qoute: unknown key 'qoute' (did you mean 'quote'?)",
        f"{path}: tension 'mine-t': sides[2].quote: missing key 'quote' (add quote = a verbatim quote)",
    ]


def test_too_few_sides_no_rules_and_a_repeated_side(tmp_path):
    one = f'[{{ document = "mg-calcium", quote = "{SEVERE_QUOTE}" }}]'
    side = f'{{ document = "mg-calcium", quote = "{SEVERE_QUOTE}" }}'
    twice = f"[{side}, {side}]"
    path = tmp_path / "mine.toml"
    assert problems_of(tmp_path, good(rules="[]", sides=one)) == [
        f"{path}: tension 'mine-t': rules: 'rules' is empty (name at least one rule the tension concerns)",
        f"{path}: tension 'mine-t': sides: a tension has at least two sides, and this one has 1 "
        '(list each sentence that differs: { document = "...", quote = "..." })',
    ]
    assert problems_of(tmp_path, good(sides=twice)) == [
        f"{path}: tension 'mine-t': sides[2]: repeats side 1 (give each side once)"
    ]


def test_missing_keys_wrong_types_and_bad_ids(tmp_path):
    path = tmp_path / "mine.toml"
    assert problems_of(tmp_path, good(title="", statement="", sides="")) == [
        f"{path}: tension 'mine-t': title: missing key 'title' (add title = the tension's short name)",
        f"{path}: tension 'mine-t': statement: missing key 'statement' "
        "(add statement = a one-line statement of how the sources differ)",
        f"{path}: tension 'mine-t': sides: missing key 'sides' "
        '(add sides = a list of at least two { document = "...", quote = "..." })',
    ]
    assert problems_of(tmp_path, good(id='"Mine T"', rules='"pth.x"', sides='"mg-calcium"', colour='"red"')) == [
        f"{path}: tension 'Mine T': colour: unknown key 'colour' (allowed keys: id, title, statement, rules, sides)",
        f"{path}: tension 'Mine T': rules: 'rules' has the wrong type (a string) "
        "(write a list of the ids of the rules it concerns)",
        f"{path}: tension 'Mine T': sides: 'sides' has the wrong type (a string) "
        '(write a list of at least two { document = "...", quote = "..." })',
        f"{path}: tension 'Mine T': id: bad tension id 'Mine T' (use lower-case letters, digits, '-', '_' and '.', "
        "e.g. 'topic-tension')",
    ]


def test_duplicate_ids_in_a_file_and_against_the_built_in_one(tmp_path):
    path = tmp_path / "mine.toml"
    assert problems_of(tmp_path, good() + good() + good(id=f'"{PTH}"')) == [
        f"{path}: tension 'mine-t': id: duplicate tension id 'mine-t' (also in {path}) (give each tension its own id)",
        f"{path}: tension '{PTH}': id: duplicate tension id '{PTH}' (also in rules/tensions.toml) "
        "(give each tension its own id)",
    ]


def test_a_tension_in_a_built_in_file_is_checked_the_same_way(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    for source in BUILTIN_RULES.glob("*.toml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = (folder / "tensions.toml").read_text(encoding="utf-8").replace(SEVERE, SEVERE + "x")
    (folder / "tensions.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as caught:
        load([folder], display_root=tmp_path)
    (problem,) = caught.value.problems
    assert problem.kind == "tension" and problem.ident == PTH and problem.key == "rules"
    assert problem.message == f"unknown rule '{SEVERE}x'" and problem.fix == f"did you mean '{SEVERE}'?"


def test_control_characters_in_a_tension_are_made_visible(tmp_path):
    message = problems_of(tmp_path, good(rules='["pth.x\\u001b[31m"]'))[0]
    assert "\x1b" not in message and "\\x1b" in message


# ---------------------------------------------------------------------------
# Disabled and replaced rules
# ---------------------------------------------------------------------------


def test_a_disabled_rule_drops_out_and_a_tension_left_with_none_is_dropped(tmp_path):
    one = write(tmp_path, f'disables = ["{SEVERE}"]\n', "one.toml")
    kb = load([BUILTIN_RULES], [one], display_root=ROOT)
    assert [t.rules for t in kb.tensions if t.id == PTH] == [(CHRONIC, ANY)]
    every = write(tmp_path, f'disables = ["{SEVERE}", "{CHRONIC}", "{ANY}"]\n', "every.toml")
    kb = load([BUILTIN_RULES], [every], display_root=ROOT)
    assert PTH not in [t.id for t in kb.tensions] and kb.tensions_of(SEVERE) == ()
    # the other tension ANY was in keeps its other rules
    assert [t.rules for t in kb.tensions if t.id == NEEDED] == [
        ("calc.low-magnesium-lifts-pth-suppression", "calc.unsuppressed-pth-soft-tissue-risk")
    ]


def test_a_rule_that_replaces_one_of_its_rules_takes_its_place(tmp_path):
    text = f"""
[[rule]]
id = "mine.chronic"
replaces = "{CHRONIC}"
title = "Chronic magnesium deficiency can impair PTH secretion"
when = ["magnesium_status in [low, severely_low]", "magnesium_deficiency_chronic = yes"]
then = ["pth_secretion = impaired"]
strength = "possible"
sources = [
  {{ document = "mg-vitamin-d", quote = "Chronic magnesium deficiency can impair PTH synthesis and secretion" }},
]
"""
    kb = load([BUILTIN_RULES], [write(tmp_path, text)], display_root=ROOT)
    (tension,) = [t for t in kb.tensions if t.id == PTH]
    assert tension.rules == (SEVERE, "mine.chronic", ANY)
    # and a tension may name the replaced rule from a --rules file too
    kb = load([BUILTIN_RULES], [write(tmp_path, text), write(tmp_path, GOOD, "t.toml")], display_root=ROOT)
    assert [t.rules for t in kb.tensions_of("mine.chronic")] == [("mine.chronic",), (SEVERE, "mine.chronic", ANY)]


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------


def test_the_cache_round_trip_keeps_the_tensions(kb, tmp_path):
    assert kb.tensions
    again = kbcache.from_data(json.loads(json.dumps(kbcache.to_data(kb))))
    assert again == kb and again.tensions == kb.tensions
    assert all(isinstance(t, Tension) and isinstance(t.sides[0], SourceRef) for t in again.tensions)
    assert again.tensions_of(CHRONIC) == kb.tensions_of(CHRONIC)
    # a cached knowledge base with a tension of a --rules file is the loader's
    extra = write(tmp_path, GOOD)
    first = kbcache.load([BUILTIN_RULES], [extra], display_root=ROOT, folder=tmp_path / "cache")
    second = kbcache.load([BUILTIN_RULES], [extra], display_root=ROOT, folder=tmp_path / "cache")
    assert second == first and [t.id for t in second.tensions] == sorted([*BUILT_IN, "mine-tension"])


def test_knowledge_bases_that_differ_only_in_a_tension_are_not_equal(kb):
    from cofactor.engine.model import KnowledgeBase

    other = KnowledgeBase(kb.concepts, kb.rules, kb.documents, kb.files, kb.strata, kb.loops, kb.disabled)
    assert other != kb


# ---------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------

TENSION_TEXT = (
    "Tension: Severe or any magnesium deficiency impairing PTH [pth-severe-or-any-deficiency]\n"
    "  the sources differ: mg-calcium ties impaired PTH to severe deficiency; mg-vitamin-d to any deficiency\n"
    f'  mg-calcium: "{SEVERE_QUOTE}"\n'
    f'  mg-vitamin-d: "{ANY_QUOTE}"\n'
    f"  rules: {SEVERE}, {CHRONIC}, {ANY}\n"
)
NEEDS_QUOTE = (
    "Magnesium is required for the synthesis and release of parathyroid hormone (PTH), which regulates blood "
    "calcium levels; a deficiency can impair PTH function."
)
SUPPRESSES_QUOTE = "and suppresses PTH, which can release calcium into soft tissues."
NEEDED_STATEMENT = (
    "mg-calcium says magnesium is required to make and release PTH, so low magnesium impairs PTH; "
    "and that magnesium suppresses PTH, so low magnesium leaves PTH unsuppressed"
)
NEEDED_RULES = [ANY, "calc.low-magnesium-lifts-pth-suppression", "calc.unsuppressed-pth-soft-tissue-risk"]
# any deficiency now impairs PTH too (issue 11), so the PTH conclusions touch both tensions
NEEDED_TEXT = (
    "Tension: Magnesium needed for PTH, or magnesium suppressing PTH [magnesium-needed-for-pth-or-suppressing-pth]\n"
    f"  the sources differ: {NEEDED_STATEMENT}\n"
    f'  mg-calcium: "{NEEDS_QUOTE}"\n'
    f'  mg-calcium: "{SUPPRESSES_QUOTE}"\n'
    f'  mg-vitamin-d: "{ANY_QUOTE}"\n'
    f"  rules: {', '.join(NEEDED_RULES)}\n"
)
BOTH_TEXT = NEEDED_TEXT + "\n" + TENSION_TEXT


def test_how_shows_the_pth_tension_with_both_quotes(invoke):
    """The issue's "Done when": this very command shows the tension with both quotes."""
    out = invoke(*ACCEPTANCE).stdout
    assert out.endswith("\n\n" + BOTH_TEXT)
    assert out.count("the sources differ:") == 2


def test_how_json_lists_the_tension(invoke_json):
    data = invoke_json(*ACCEPTANCE)
    assert data["tensions"] == [
        {
            "id": NEEDED,
            "title": "Magnesium needed for PTH, or magnesium suppressing PTH",
            "statement": NEEDED_STATEMENT,
            "sides": [
                {"document": "mg-calcium", "quote": NEEDS_QUOTE},
                {"document": "mg-calcium", "quote": SUPPRESSES_QUOTE},
                {"document": "mg-vitamin-d", "quote": ANY_QUOTE},
            ],
            "rules": NEEDED_RULES,
            "file": "rules/tensions.toml",
        },
        {
            "id": PTH,
            "title": "Severe or any magnesium deficiency impairing PTH",
            "statement": "mg-calcium ties impaired PTH to severe deficiency; mg-vitamin-d to any deficiency",
            "sides": [
                {"document": "mg-calcium", "quote": SEVERE_QUOTE},
                {"document": "mg-vitamin-d", "quote": ANY_QUOTE},
            ],
            "rules": [SEVERE, CHRONIC, ANY],
            "file": "rules/tensions.toml",
        },
    ]


def test_how_shows_a_tension_once_however_many_of_its_rules_the_tree_uses(invoke, invoke_json):
    args = ("how", "blood_calcium=low", "-a", "magnesium_status=severely_low", "-a", "magnesium_deficiency_chronic=yes")
    out = invoke(*args).stdout
    assert SEVERE in out and CHRONIC in out and ANY in out
    # three of PTH's rules, one of the other's: each tension once
    assert out.count("the sources differ:") == 2
    assert [t["id"] for t in invoke_json(*args)["tensions"]] == [NEEDED, PTH]


def test_how_of_a_fact_no_tension_touches_shows_none(invoke, invoke_json):
    # (vitamin D activation now has a route through PTH, which any deficiency impairs: issue 11)
    args = ("how", "hepatic_25_hydroxylation=impaired", "-a", "magnesium_status=low")
    assert "the sources differ" not in invoke(*args).stdout
    assert invoke_json(*args)["tensions"] == []


def test_why_not_shows_the_tensions_of_the_rules_it_checks(invoke, invoke_json):
    # (a low status now impairs PTH: any deficiency can, issue 11)
    args = ("why-not", "pth_secretion=impaired", "-a", "magnesium_status=adequate")
    out = invoke(*args).stdout
    assert out.endswith("\n\n" + BOTH_TEXT)
    assert [t["id"] for t in invoke_json(*args)["tensions"]] == [NEEDED, PTH]
    # a fact that holds: nothing is checked, nothing shown
    held = ("why-not", "pth_secretion=impaired", "-a", "magnesium_status=severely_low")
    assert "the sources differ" not in invoke(*held).stdout
    assert invoke_json(*held)["tensions"] == []


def test_the_consultation_names_each_tension_it_touches(invoke, invoke_json):
    args = ("consult", "--no-input", "-a", "magnesium_status=severely_low")
    out = invoke(*args).stdout
    assert (
        "\nWhere the sources differ (how, on a conclusion they touch, shows both sides)\n"
        "  Magnesium needed for PTH, or magnesium suppressing PTH [magnesium-needed-for-pth-or-suppressing-pth]\n"
        "  Severe or any magnesium deficiency impairing PTH [pth-severe-or-any-deficiency]\n"
    ) in out
    assert [t["id"] for t in invoke_json(*args)["tensions"]] == [NEEDED, PTH]
    quiet = ("consult", "--no-input", "-a", "sun_exposure=low")
    assert "Where the sources differ" not in invoke(*quiet).stdout
    assert invoke_json(*quiet)["tensions"] == []


def test_how_at_the_explain_prompt_shows_the_tension(invoke):
    answers = [*ALL_ANSWERED[2:], "-a", "magnesium_status=low", "-a", "magnesium_deficiency_chronic=yes"]
    out = invoke("consult", *answers, input="how pth_secretion=impaired\nquit\n").stdout
    assert TENSION_TEXT in out
    out = invoke("consult", *answers, input="pth_secretion=impaired\nquit\n").stdout
    assert TENSION_TEXT in out


def test_rules_marks_each_rule_in_a_tension(invoke, invoke_json):
    out = invoke("rules", "--concept", "pth_secretion").stdout
    line = "  tension: Severe or any magnesium deficiency impairing PTH [pth-severe-or-any-deficiency]\n"
    assert out.count(line) == 3
    block = out.split(f"{SEVERE}  [established]")[1].split("\n\n")[0]
    assert line.rstrip("\n") in block
    data = {r["id"]: r["tensions"] for r in invoke_json("rules", "--concept", "pth_secretion")}
    assert data[SEVERE] == data[CHRONIC] == [PTH]
    assert data[ANY] == [NEEDED, PTH]
    assert data["pth.impaired-secretion-disrupts-regulation"] == []


def test_the_reference_lists_the_tensions_and_marks_their_rules(kb):
    doc = kbdoc.markdown(kb)
    assert "- [Tensions](#tensions)" in doc and "\n## Tensions\n" in doc
    assert f'<a id="tension-{PTH}"></a>' in doc
    assert doc.count(f"- **Tension:** [Severe or any magnesium deficiency impairing PTH](#tension-{PTH})") == 3
    section = doc.split("\n## Tensions\n")[1]
    assert f'  - `mg-calcium`: "{SEVERE_QUOTE}"' in section and f'  - `mg-vitamin-d`: "{ANY_QUOTE}"' in section
    assert f"[`{SEVERE}`](#rule-pth-severe-deficiency-impairs-secretion)" in section
    assert f"{len(BUILT_IN)} tensions between the sources" in doc
