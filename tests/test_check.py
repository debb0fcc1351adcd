"""``engine.check``: the domain-blind checks behind ``cofactor check``.

Most tests build small knowledge bases straight from the model's records,
so that each check is seen on exactly the shape it looks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import load
from cofactor.engine.check import Finding, Report, check, normalize_text
from cofactor.engine.errors import Problem
from cofactor.engine.model import (
    Concept,
    Document,
    Example,
    Kind,
    KnowledgeBase,
    Loop,
    Rule,
    SourceRef,
    Strength,
)
from cofactor.engine.syntax import parse_condition, parse_fact

FILE = "ext.toml"
QUOTE = "Every claim here comes from a sentence of the document."


def question(cid: str, states: str, *, multi: bool = False, exclusive: tuple[str, ...] = (), ask_if=()) -> Concept:
    return Concept(
        cid,
        cid,
        tuple(states.split()),
        Kind.QUESTION,
        question=f"{cid}?",
        multi=multi,
        exclusive=exclusive,
        ask_if=tuple(parse_condition(c) for c in ask_if),
        path=FILE,
    )


def derived(cid: str, states: str, kind: Kind = Kind.MECHANISM) -> Concept:
    return Concept(cid, cid, tuple(states.split()), kind, path=FILE)


def rule(
    rid: str,
    when: list[str],
    then: list[str],
    strength: str = "likely",
    *,
    quote: str = QUOTE,
    document: str = "doc",
    examples: tuple[Example, ...] = (),
    builtin: bool = False,
    path: str = FILE,
) -> Rule:
    return Rule(
        rid,
        rid,
        tuple(parse_condition(c) for c in when),
        tuple(parse_fact(f) for f in then),
        Strength.parse(strength),
        (SourceRef(document, quote),),
        path=path,
        examples=examples,
        builtin=builtin,
    )


def example(answers: dict[str, str | tuple[str, ...]], expect=(), absent=(), strengths=(), name="e1") -> Example:
    pairs = tuple(sorted((c, (s,) if isinstance(s, str) else s) for c, s in answers.items()))
    return Example(
        name,
        pairs,
        tuple(parse_fact(f) for f in expect),
        tuple(parse_fact(f) for f in absent),
        tuple((parse_fact(f), Strength.parse(s)) for f, s in strengths),
    )


def kb_of(concepts, rules, documents=None, loops=(), files=(FILE,)) -> KnowledgeBase:
    docs = documents if documents is not None else [Document("doc", "A document", path=FILE)]
    return KnowledgeBase(
        concepts={c.id: c for c in concepts},
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        documents={d.id: d for d in docs},
        files=tuple(files),
        loops=tuple(loops),
    )


def run(kb: KnowledgeBase, problems=()) -> Report:
    return check(kb, problems, exhaustive=False)


def found(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def by_ident(report: Report, code: str) -> dict[str, Finding]:
    return {f.ident: f for f in found(report, code)}


# a base every test can extend: one question read by one rule that fires
BASE_CONCEPTS = [question("q", "a b c"), derived("out", "yes no", Kind.OUTCOME)]
BASE_RULES = [rule("t.base", ["q = a"], ["out = yes"])]


def base(concepts=(), rules=(), **kw) -> KnowledgeBase:
    return kb_of([*BASE_CONCEPTS, *concepts], [*BASE_RULES, *rules], **kw)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def test_a_sound_knowledge_base_has_no_error_and_the_report_counts_it():
    kb = base()
    report = run(kb)
    assert [f.level for f in report.findings if f.level == "error"] == []
    assert (report.rules, report.concepts, report.documents, report.files) == (1, 2, 1, (FILE,))
    assert report.exhaustive is None
    assert [f.code for f in found(report, "exhaustive-skipped")] == ["exhaustive-skipped"]


def test_loader_problems_become_errors_keeping_file_id_key_and_fix():
    problems = [
        Problem("b.toml", "unknown key 'titel'", kind="rule", ident="x.r", key="titel", fix="did you mean 'title'?"),
        Problem("b.toml", "missing key 'id'", kind="rule", key="id", fix="add id = ..."),
        Problem("a.toml", "not valid TOML: oops", fix="see https://toml.io"),
    ]
    report = run(base(), problems)
    loads = found(report, "load")
    assert len(loads) == 3
    assert all(f.level == "error" for f in loads)
    assert loads[0] == Finding("error", "load", "a.toml", "", "not valid TOML: oops", "see https://toml.io")
    titel = next(f for f in loads if f.ident == "x.r")
    assert (titel.path, titel.message, titel.fix) == ("b.toml", "titel: unknown key 'titel'", "did you mean 'title'?")
    nameless = next(f for f in loads if f.path == "b.toml" and not f.ident)
    assert nameless.message == "rule: id: missing key 'id'"


def test_findings_are_sorted_by_level_file_id_and_code_and_given_once():
    kb = base(
        concepts=[derived("lonely", "x"), question("unread", "y n")],
        rules=[rule("t.never", ["ghost = x"], ["out = no"])],
    )
    kb = kb_of([*kb.concepts.values(), derived("ghost", "x")], list(kb.rules))
    problems = [Problem("z.toml", "bad"), Problem("z.toml", "bad")]
    report = run(kb, problems)
    levels = [f.level for f in report.findings]
    assert levels == sorted(levels, key=["error", "warning", "info"].index)
    keys = [(f.level, f.path, f.ident, f.code) for f in report.findings]
    rank = {"error": 0, "warning": 1, "info": 2}
    assert keys == sorted(keys, key=lambda k: (rank[k[0]], *k[1:]))
    assert len(report.findings) == len(set(report.findings))
    assert len(found(report, "load")) == 1


def test_text_from_files_is_made_visible():
    problems = [Problem("a\x1b[31m.toml", "bad \x07 value", ident="r\n1", fix="fix\x1b")]
    (finding,) = found(run(base(), problems), "load")
    assert "\x1b" not in finding.path + finding.message + finding.fix + finding.ident
    assert finding.path == "a\\x1b[31m.toml" and finding.ident == "r\\n1"


# ---------------------------------------------------------------------------
# Rules that can never fire
# ---------------------------------------------------------------------------


def test_two_states_of_a_single_valued_question_cannot_hold_together():
    kb = base(rules=[rule("t.both", ["q = a", "q = b"], ["out = no"])])
    finding = by_ident(run(kb), "never-fires")["t.both"]
    assert finding.level == "error" and finding.path == FILE
    assert "'q = a' and 'q = b' cannot hold together" in finding.message
    assert "one state at a time" in finding.message
    assert "conflict" not in finding.message  # no rule concludes q: it truly cannot
    assert finding.fix


def test_states_of_a_concluded_concept_together_only_in_a_conflict():
    kb = base(
        concepts=[derived("m", "hi lo")],
        rules=[
            rule("t.hi", ["q = a"], ["m = hi"]),
            rule("t.lo", ["q = b"], ["m = lo"]),
            rule("t.both", ["m = hi", "m in [lo]"], ["out = no"]),
        ],
    )
    never = by_ident(run(kb), "never-fires")
    assert set(never) == {"t.both"}
    assert "only a conflict could give it" in never["t.both"].message


def test_a_common_state_lets_conditions_on_one_concept_hold_together():
    kb = base(rules=[rule("t.narrow", ["q in [a, b]", "q in [b, c]", "not q = c"], ["out = no"])])
    assert "t.narrow" not in by_ident(run(kb), "never-fires")


def test_a_not_condition_that_excludes_every_state_of_a_positive_one():
    kb = base(rules=[rule("t.self", ["q in [a, b]", "not q in [a, b, c]"], ["out = no"])])
    finding = by_ident(run(kb), "never-fires")["t.self"]
    assert "'q in [a, b]' cannot hold with 'not q in [a, b, c]'" in finding.message
    # split across two 'not' conditions, the same
    kb = base(rules=[rule("t.split", ["q in [a, b]", "not q = a", "not q = b"], ["out = no"])])
    assert "t.split" in by_ident(run(kb), "never-fires")
    # excluding only some of its states leaves it able to hold
    kb = base(rules=[rule("t.some", ["q in [a, b]", "not q = a"], ["out = no"])])
    assert "t.some" not in by_ident(run(kb), "never-fires")


def test_an_exclusive_state_of_a_multi_valued_question_stands_alone():
    sym = question("sym", "none ache cough", multi=True, exclusive=("none",))
    kb = base(
        concepts=[sym],
        rules=[
            rule("t.none-and-ache", ["sym = none", "sym = ache"], ["out = no"]),
            rule("t.ache-and-cough", ["sym = ache", "sym = cough"], ["out = no"]),
            rule("t.none-or-ache", ["sym in [none, ache]", "sym = cough"], ["out = no"]),
        ],
    )
    never = by_ident(run(kb), "never-fires")
    assert set(never) == {"t.none-and-ache"}
    assert "'none' of 'sym' stands alone" in never["t.none-and-ache"].message


def test_a_fact_nothing_gives_and_the_rules_that_need_it_transitively():
    kb = base(
        concepts=[derived("ghost", "x"), derived("mid", "y"), derived("end", "z", Kind.OUTCOME)],
        rules=[
            rule("t.first", ["q = a", "ghost = x"], ["mid = y"]),
            rule("t.second", ["mid = y"], ["end = z"]),
            rule("t.other", ["q = b"], ["end = z"]),
        ],
    )
    never = by_ident(run(kb), "never-fires")
    assert set(never) == {"t.first", "t.second"}
    assert "'ghost = x' needs ghost=x, which no question asks and no rule concludes" in never["t.first"].message
    assert "'mid = y' needs a fact that only rules that never fire conclude (t.first)" in never["t.second"].message
    assert all(f.level == "error" for f in never.values())


def test_rules_fire_through_a_chain_and_with_only_not_conditions():
    kb = base(
        concepts=[derived("mid", "y"), derived("end", "z", Kind.OUTCOME)],
        rules=[
            rule("t.first", ["q = a"], ["mid = y"]),
            rule("t.second", ["mid = y", "not q = c"], ["end = z"]),
            rule("t.absent", ["not q = b"], ["out = no"]),
        ],
    )
    assert found(run(kb), "never-fires") == []


def test_a_cycle_with_no_way_in_never_fires():
    kb = base(
        concepts=[derived("m", "on"), derived("n", "on")],
        rules=[rule("t.m", ["n = on"], ["m = on"]), rule("t.n", ["m = on"], ["n = on", "out = no"])],
    )
    assert set(by_ident(run(kb), "never-fires")) == {"t.m", "t.n"}
    entered = base(
        concepts=[derived("m", "on"), derived("n", "on")],
        rules=[
            rule("t.m", ["n = on"], ["m = on"]),
            rule("t.n", ["m = on"], ["n = on", "out = no"]),
            rule("t.in", ["q = c"], ["m = on"]),
        ],
    )
    assert found(run(entered), "never-fires") == []


# ---------------------------------------------------------------------------
# Concepts, questions and mechanisms nothing uses
# ---------------------------------------------------------------------------


def test_unused_concepts_unread_questions_and_dead_ends():
    kb = base(
        concepts=[
            derived("lonely", "x"),
            question("unread", "y n"),
            question("gate", "y n", ask_if=["unread = y"]),
            derived("dead", "x"),
            derived("advice", "x", Kind.ADVICE),
        ],
        rules=[
            rule("t.dead", ["q = b", "gate = y"], ["dead = x"]),
            rule("t.advice", ["q = c"], ["advice = x"]),
        ],
    )
    report = run(kb)
    assert set(by_ident(report, "unused-concept")) == {"lonely"}
    unread = by_ident(report, "unread-question")
    assert set(unread) == {"unread"}  # 'gate' is read by t.dead
    assert "only the ask_if of gate names it" in unread["unread"].message
    dead = by_ident(report, "dead-end")
    assert set(dead) == {"dead"}  # outcomes and advice are ends by design
    assert "t.dead" in dead["dead"].message
    assert {f.level for f in report.findings if f.code in ("unused-concept", "unread-question", "dead-end")} == {
        "warning"
    }


def test_a_question_only_concluded_is_still_unread():
    kb = base(concepts=[question("told", "y n")], rules=[rule("t.tell", ["q = a"], ["told = y"])])
    assert set(by_ident(run(kb), "unread-question")) == {"told"}
    assert found(run(kb), "unused-concept") == []


# ---------------------------------------------------------------------------
# Redundant rules
# ---------------------------------------------------------------------------


def test_a_rule_with_more_conditions_and_no_more_strength_is_subsumed():
    kb = base(
        concepts=[question("r", "x y")],
        rules=[
            rule("t.wide", ["q in [a, b]"], ["out = no"], "likely"),
            rule("t.narrow", ["q = a", "r = x"], ["out = no"], "possible"),
        ],
    )
    report = run(kb)
    subsumed = by_ident(report, "subsumed")
    assert set(subsumed) == {"t.narrow"}
    assert "subsumed by 't.wide'" in subsumed["t.narrow"].message
    assert subsumed["t.narrow"].level == "warning"


def test_a_stronger_narrower_rule_or_one_concluding_more_is_not_subsumed():
    kb = base(
        concepts=[question("r", "x y"), derived("extra", "e", Kind.OUTCOME)],
        rules=[
            rule("t.wide", ["q in [a, b]"], ["out = no"], "possible"),
            rule("t.strong", ["q = a", "r = x"], ["out = no"], "established"),
            rule("t.more", ["q = a", "r = y"], ["out = no", "extra = e"], "possible"),
            rule("t.other", ["r = x"], ["out = no"], "possible"),  # a condition t.wide does not imply
        ],
    )
    assert found(run(kb), "subsumed") == []


def test_negated_conditions_imply_the_other_way():
    kb = base(
        rules=[
            rule("t.a", ["not q = a"], ["out = no"]),
            rule("t.b", ["not q in [a, b]"], ["out = no"]),  # excludes more: holds less often
        ],
    )
    assert set(by_ident(run(kb), "subsumed")) == {"t.b"}


def test_a_duplicate_is_reported_once_on_the_later_rule():
    kb = base(
        rules=[
            rule("t.one", ["q = b", "not q = c"], ["out = no"]),
            rule("t.two", ["not q = c", "q = b"], ["out = no"]),
        ],
    )
    report = run(kb)
    assert found(report, "subsumed") == []
    (dup,) = found(report, "duplicate")
    assert dup.ident == "t.two" and "'t.one'" in dup.message


def test_a_rule_covered_by_several_is_reported_once_naming_them_all():
    kb = base(
        concepts=[question("r", "x y")],
        rules=[
            rule("t.one", ["q = b"], ["out = no"]),
            rule("t.two", ["q = b"], ["out = no"]),
            rule("t.three", ["q = b"], ["out = no"]),
            rule("t.wide", ["q in [b, c]"], ["out = no"], "established"),
            rule("t.narrow", ["q = b", "r = x"], ["out = no"], "possible"),
        ],
    )
    report = run(kb)
    duplicates = found(report, "duplicate")
    assert [(f.ident, f.message) for f in duplicates] == [
        ("t.three", "duplicates 't.one': the same conditions, conclusions and strength"),
        ("t.two", "duplicates 't.one' and 't.three': the same conditions, conclusions and strength"),
    ]
    narrow = by_ident(report, "subsumed")["t.narrow"]
    assert narrow.message.startswith("is subsumed by 't.one', 't.three', 't.two' and 't.wide': each fires")
    assert [f.ident for f in found(report, "subsumed")].count("t.narrow") == 1


# ---------------------------------------------------------------------------
# Cycles and examples missing
# ---------------------------------------------------------------------------


def _loop_kb(loops=()):
    return base(
        concepts=[derived("m", "on"), derived("n", "on")],
        rules=[
            rule("t.in", ["q = c"], ["m = on"]),
            rule("t.m", ["n = on"], ["m = on"]),
            rule("t.n", ["m = on"], ["n = on", "out = no"]),
        ],
        loops=loops,
    )


def test_a_cycle_is_information_naming_its_concepts_and_loop():
    (cycle,) = found(run(_loop_kb()), "cycle")
    assert cycle.level == "info"
    assert "through m, n" in cycle.message and "no [[loop]] names it" in cycle.message
    named = _loop_kb([Loop("m-n", "The m-n loop", ("m", "n"), path="loops.toml")])
    (cycle,) = found(run(named), "cycle")
    assert (cycle.path, cycle.ident) == ("loops.toml", "m-n")
    assert "the loop 'The m-n loop'" in cycle.message
    assert found(run(base()), "cycle") == []


def test_a_rule_without_an_example_is_a_warning():
    kb = base(rules=[rule("t.tested", ["q = b"], ["out = no"], examples=(example({"q": "b"}, ["out = no"]),))])
    report = run(kb)
    (missing,) = found(report, "no-example")
    assert (missing.level, missing.ident) == ("warning", "t.base")
    assert "[[rule.example]]" in missing.fix


# ---------------------------------------------------------------------------
# Quotes
# ---------------------------------------------------------------------------

TEXT = """Title of the article

Every claim here comes from a
sentence of the document. The reader’s “favourite” sentence is this one.
Short.
"""


def _text_kb(tmp_path: Path, quotes: list[str], *, text: str | bytes | None = TEXT, builtin=False):
    target = tmp_path / "texts" / "doc.txt"
    if text is not None:
        target.parent.mkdir(exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
    doc = Document("doc", "A document", path=FILE, text="texts/doc.txt", text_path=str(target), builtin=builtin)
    rules = [rule(f"t.q{i}", ["q = a"], ["out = yes"], quote=q, builtin=builtin) for i, q in enumerate(quotes)]
    return kb_of(BASE_CONCEPTS, rules, documents=[doc])


def test_quotes_are_verified_up_to_white_space_and_typographic_quotes(tmp_path):
    kb = _text_kb(tmp_path, [QUOTE, 'The reader\'s "favourite" sentence', "the  document.\tThe reader’s"])
    report = run(kb)
    assert found(report, "quote-not-found") == [] and found(report, "document-text") == []
    assert (report.quotes, report.quotes_verified, report.texts) == (3, 3, 1)
    assert found(report, "unverified") == []


def test_a_made_up_quote_is_an_error_with_where_the_text_parts_from_it(tmp_path):
    kb = _text_kb(tmp_path, [QUOTE, "Every claim here comes from a dream of the author."])
    report = run(kb)
    (missing,) = found(report, "quote-not-found")
    assert (missing.level, missing.ident, missing.path) == ("error", "t.q1", FILE)
    assert "Every claim here comes from a dream" in missing.message and "'doc'" in missing.message
    assert missing.details[0].startswith('the text has: "Every claim here comes from a sentence')
    assert missing.details[1] == "they part at word 7 of the quote: 'dream'"
    assert (report.quotes, report.quotes_verified, report.quotes_not_found, report.quotes_unverified) == (2, 1, 1, 0)


def test_a_case_change_is_not_verbatim(tmp_path):
    report = run(_text_kb(tmp_path, ["every claim here comes from a sentence"]))
    assert len(found(report, "quote-not-found")) == 1


def test_a_long_quote_is_shortened_in_the_message(tmp_path):
    quote = "word " * 60
    (missing,) = found(run(_text_kb(tmp_path, [quote])), "quote-not-found")
    assert len(missing.message) < 200 and "..." in missing.message
    assert "is it the right document?" in missing.details[0]


def test_a_quote_of_fewer_than_four_words_is_a_warning(tmp_path):
    report = run(_text_kb(tmp_path, ["Short.", "sentence of the document"]))
    short = found(report, "short-quote")
    assert [f.ident for f in short] == ["t.q0"]
    assert short[0].level == "warning" and "1 word:" in short[0].message
    assert report.quotes_verified == 2  # short, but there


def test_a_document_without_text_is_unverified_once_never_verified():
    kb = kb_of(BASE_CONCEPTS, [rule(f"t.q{i}", ["q = a"], ["out = yes"]) for i in range(3)])
    report = run(kb)
    (unverified,) = found(report, "unverified")
    assert (unverified.level, unverified.ident) == ("warning", "doc")
    assert "3 quotes citing 'doc' are unverified" in unverified.message
    assert 'text = "' in unverified.fix
    assert (report.quotes, report.quotes_verified, report.quotes_unverified, report.texts) == (3, 0, 3, 0)


def test_a_missing_text_is_an_error_in_an_authors_file(tmp_path):
    report = run(_text_kb(tmp_path, [QUOTE], text=None))
    (error,) = found(report, "document-text")
    assert error.level == "error" and error.ident == "doc"
    assert "'texts/doc.txt'" in error.message and "does not exist" in error.message
    assert found(report, "unverified") == []
    assert (report.quotes_verified, report.quotes_unverified, report.quotes_not_found) == (0, 1, 0)


def test_a_missing_text_of_the_built_in_knowledge_is_unverified(tmp_path):
    # an installed copy has no texts beside it: its quotes are unverified, not wrong
    report = run(_text_kb(tmp_path, [QUOTE], text=None, builtin=True))
    assert found(report, "document-text") == []
    (unverified,) = found(report, "unverified")
    assert "is not on this machine" in unverified.message


def test_an_authors_rule_citing_a_built_in_document_whose_text_is_not_installed(tmp_path):
    doc = Document("doc", "A document", path="sources.toml", text="t.txt", text_path=str(tmp_path / "t.txt"))
    rules = [
        rule("t.ext", ["q = a"], ["out = yes"]),
        rule("t.own", ["q = b"], ["out = no"], builtin=True, path="a.toml"),
    ]
    kb = kb_of(BASE_CONCEPTS, rules, documents=[doc], files=("a.toml", "sources.toml", FILE))
    report = run(kb)
    assert found(report, "document-text") == []
    (unverified,) = found(report, "unverified")
    assert unverified.message.startswith("the 2 quotes citing 'doc' are unverified: its text 't.txt' is not on")
    # the same document declared in the author's file: a missing text is the author's mistake
    mine = doc._replace(path=FILE, builtin=False)
    kb = kb_of(BASE_CONCEPTS, rules, documents=[mine], files=("a.toml", "sources.toml", FILE))
    assert [f.ident for f in found(run(kb), "document-text")] == ["doc"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"caf\xe9 au lait", "not UTF-8 text (byte 3)"), (None, "is a folder")],
)
def test_an_unreadable_text_is_an_error(tmp_path, content, reason):
    kb = _text_kb(tmp_path, [QUOTE], text=content, builtin=True)
    if content is None:
        (tmp_path / "texts" / "doc.txt").mkdir(parents=True)
    (error,) = found(run(kb), "document-text")
    assert reason in error.message


def test_normalize_text():
    assert normalize_text("  a\u00a0 b\n\t‘c’ “d” „e‟ ‚f‛ ") == "a b 'c' \"d\" \"e\" 'f'"


# ---------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------


def _chain_kb(*examples: Example) -> KnowledgeBase:
    return base(
        concepts=[derived("mid", "up down"), derived("end", "z", Kind.OUTCOME), question("r", "x y")],
        rules=[
            rule("t.mid", ["q = b"], ["mid = up"], "possible"),
            rule("t.end", ["mid = up", "r = x"], ["end = z"], "established", examples=examples),
        ],
    )


def test_passing_examples_are_counted():
    ok = example({"q": "b", "r": "x"}, ["end = z"], ["out = yes"], [("end = z", "possible")])
    unknown = example({"q": "b", "r": ()}, absent=["end = z"], name="r unknown")
    report = run(_chain_kb(ok, unknown))
    assert found(report, "example-failed") == []
    assert (report.examples, report.examples_failed) == (2, 0)


def test_a_missing_fact_says_which_rules_could_and_what_did_not_hold():
    report = run(_chain_kb(example({"q": "b", "r": "y"}, ["end = z"], name="r is y")))
    (failed,) = found(report, "example-failed")
    assert (failed.level, failed.ident, failed.path) == ("error", "t.end", FILE)
    assert "example 'r is y' failed: 1 of its 1 expectation not met" in failed.message
    assert failed.details == (
        "answers: q = b, r = y",
        "expected: end = z",
        "got: not concluded",
        "t.end did not fire: 'r = x' does not hold (answered y)",
    )
    assert (report.examples, report.examples_failed) == (1, 1)


def test_a_fact_with_the_wrong_strength_shows_its_chain_and_weakest_link():
    report = run(_chain_kb(example({"q": "b", "r": "x"}, ["end = z"], strengths=[("end = z", "established")])))
    (failed,) = found(report, "example-failed")
    assert failed.details[1:] == (
        "expected: end = z (established)",
        "got: end = z (possible)",
        "chain: t.end <- t.mid",
        "weakest link: t.mid (possible)",
    )


def test_an_unexpected_fact_shows_the_rules_that_led_there():
    report = run(_chain_kb(example({"q": "b", "r": "x"}, absent=["end = z", "mid = up"])))
    (failed,) = found(report, "example-failed")
    assert "2 of its 2 expectations" in failed.message
    assert failed.details[1:] == (
        "expected absent: end = z",
        "got: end = z (possible)",
        "chain: t.end <- t.mid",
        "expected absent: mid = up",
        "got: mid = up (possible)",
        "chain: t.mid",
    )


def test_a_missing_intermediate_fact_and_an_unanswered_question():
    report = run(_chain_kb(example({"q": "a"}, ["end = z"])))
    (failed,) = found(report, "example-failed")
    assert failed.details[-1] == (
        "t.end did not fire: 'mid = up' does not hold (not concluded); 'r = x' does not hold (not answered)"
    )


def test_a_fact_no_rule_concludes():
    report = run(_chain_kb(example({"q": "b"}, ["mid = down"])))
    (failed,) = found(report, "example-failed")
    assert failed.details[-1] == "no rule concludes mid = down"


def test_reasoning_that_stops_is_a_finding_not_a_traceback():
    # sixteen conditions answered with both states: more routes than a run may hold
    concepts = [question(f"k{i}", "x y", multi=True) for i in range(16)]
    wide = example({f"k{i}": ("x", "y") for i in range(16)}, ["out = yes"])
    rules = [rule("t.wide", [f"k{i} in [x, y]" for i in range(16)], ["out = yes"], examples=(wide,))]
    report = run(kb_of([*concepts, *BASE_CONCEPTS], rules))
    (failed,) = found(report, "example-failed")
    assert failed.message == "example 'e1': the reasoning stopped"
    assert failed.details[0].startswith("rule t.wide matches ") and "combinations" in failed.details[0]
    assert (report.examples, report.examples_failed) == (1, 1)


def test_an_example_naming_a_concept_that_did_not_load_is_not_run():
    kb = base(rules=[rule("t.b", ["q = b"], ["out = no"], examples=(example({"gone": "x"}, ["out = no"]),))])
    report = run(kb)
    (skipped,) = found(report, "example-not-run")
    assert "gone did not load" in skipped.message
    assert report.examples == 0


# ---------------------------------------------------------------------------
# The built-in knowledge base
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin_report():
    return check(load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent))


def test_the_built_in_knowledge_base_has_no_error(builtin_report):
    errors = [f for f in builtin_report.findings if f.level == "error"]
    assert errors == []
    assert builtin_report.exhaustive is not None and builtin_report.exhaustive.complete
    assert builtin_report.exhaustive.combinations > 1_000_000
    assert builtin_report.examples_failed == 0
    assert builtin_report.rules > 50 and builtin_report.quotes >= builtin_report.rules
    # its one deliberate loop is information, and named
    assert any(f.code == "cycle" and f.ident for f in builtin_report.findings)


def test_the_built_in_quotes_are_verified_when_the_texts_are_there(builtin_report):
    if not (SHARED / "sources").is_dir() or any(not d.text_path for d in _builtin_documents()):
        # without the texts, or before sources.toml names them: unverified, never verified
        assert builtin_report.quotes_verified == 0
        assert found(builtin_report, "unverified")
        return
    assert builtin_report.quotes_verified == builtin_report.quotes
    assert builtin_report.texts == builtin_report.documents
    assert found(builtin_report, "unverified") == []


def _builtin_documents():
    return load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent).documents.values()


# ---------------------------------------------------------------------------
# The exhaustive run
# ---------------------------------------------------------------------------


def test_a_rule_that_fires_in_no_case_and_a_conflict_some_case_produces():
    kb = base(
        concepts=[derived("m", "on off"), question("r", "x y")],
        rules=[
            rule("t.on", ["q = a"], ["m = on"]),
            rule("t.off", ["r = x"], ["m = off"]),
            # each condition can hold, but never together: only the exhaustive run sees it
            rule("t.never", ["m = on", "q = b"], ["out = no"]),
        ],
    )
    report = check(kb)
    assert report.exhaustive is not None and report.exhaustive.complete
    assert report.exhaustive.combinations == 4 * 3  # three states or unknown, two states or unknown
    assert "t.never" not in by_ident(report, "never-fires")
    unfired = by_ident(report, "fires-in-no-case")
    assert set(unfired) == {"t.never"} and unfired["t.never"].level == "warning"
    assert "none of the 12 combinations" in unfired["t.never"].message
    (conflict,) = found(report, "conflict")
    assert (conflict.level, conflict.ident) == ("warning", "m")
    assert "the conflicting states on, off (rules t.off, t.on)" in conflict.message
    assert conflict.details == ("for example: q = a, r = x",)
    assert found(report, "exhaustive-skipped") == []


def test_a_rule_never_firing_statically_is_not_reported_again_by_the_exhaustive_run():
    kb = base(rules=[rule("t.both", ["q = a", "q = b"], ["out = no"])])
    report = check(kb)
    assert set(by_ident(report, "never-fires")) == {"t.both"}
    assert found(report, "fires-in-no-case") == []


def test_an_exhaustive_run_that_stops_or_is_incomplete_is_a_finding(monkeypatch):
    from cofactor.engine import exhaustive
    from cofactor.engine.errors import FiringLimitExceeded

    stopped = exhaustive.Exhaustive(12, 3, "none", (), (), 0.1, complete=False, error="the rules fired too often")
    monkeypatch.setattr(exhaustive, "run", lambda *a, **k: stopped)
    report = check(base())
    (finding,) = found(report, "exhaustive")
    assert finding.level == "error" and "the rules fired too often" in finding.message
    assert report.exhaustive == stopped

    partial = stopped._replace(error="", cases=10**6)
    monkeypatch.setattr(exhaustive, "run", lambda *a, **k: partial)
    (finding,) = found(check(base()), "exhaustive-incomplete")
    assert finding.level == "warning" and "nothing is claimed" in finding.message

    def raises(*args, **kwargs):
        raise FiringLimitExceeded(10, ["t.a", "t.b"])

    monkeypatch.setattr(exhaustive, "run", raises)
    report = check(base())
    (finding,) = found(report, "exhaustive")
    assert "fired more than 10 times" in finding.message and report.exhaustive is None


def test_progress_is_passed_to_the_exhaustive_run():
    calls: list[tuple[int, int]] = []
    check(base(), progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]


# ---------------------------------------------------------------------------
# Rule files, loaded as `cofactor check` loads them
# ---------------------------------------------------------------------------

EXTENSION = """
[[document]]
id = "note"
title = "A teaching note"
text = "texts/note.txt"

[[concept]]
id = "mood"
states = ["calm", "tense"]
question = "How do you feel?"

[[concept]]
id = "verdict"
states = ["rest"]
kind = "advice"

[[rule]]
id = "note.tense-rest"
title = "Tension calls for rest"
when = ["mood = tense"]
then = ["verdict = rest"]
strength = "possible"
sources = [{ document = "note", quote = "A tense reader should rest for a while." }]

[[rule.example]]
name = "tense"
answers = { mood = "tense" }
expect = ["verdict = rest"]
strength = { verdict = "possible" }

[[rule.example]]
name = "calm"
answers = { mood = "calm" }
absent = ["verdict = rest"]

[[rule]]
id = "note.made-up"
title = "A claim the note does not make"
when = ["mood = calm"]
then = ["verdict = rest"]
strength = "possible"
sources = [{ document = "note", quote = "Low magnesium causes kidney stones." }]

[[rule]]
id = "note.misspelt"
titel = "A misspelt key"
when = ["mood = tense"]
then = ["verdict = rest"]
strength = "certain"
sources = [{ document = "note", quote = "A tense reader should rest for a while." }]
"""


def test_every_kind_of_problem_of_a_rule_file_in_one_report(tmp_path):
    from cofactor.engine.loader import load_partial

    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "note.txt").write_text("Notes.\nA tense reader should\nrest for a while.\n", "utf-8")
    (tmp_path / "ext.toml").write_text(EXTENSION, "utf-8")
    kb, problems = load_partial([], [tmp_path / "ext.toml"], display_root=tmp_path)
    report = check(kb, problems)
    errors = {(f.code, f.ident) for f in report.findings if f.level == "error"}
    assert errors == {
        ("load", "note.misspelt"),
        ("quote-not-found", "note.made-up"),
        ("example-failed", "note.tense-rest"),
    }
    assert all(f.path == "ext.toml" for f in report.findings if f.level == "error")
    loads = [f.message for f in found(report, "load")]
    assert any("titel" in m for m in loads) and any("certain" in m for m in loads)
    (failed,) = found(report, "example-failed")
    assert "example 'calm'" in failed.message
    assert failed.details == (
        "answers: mood = calm",
        "expected absent: verdict = rest",
        "got: verdict = rest (possible)",
        "chain: note.made-up",
    )
    assert (report.examples, report.examples_failed) == (2, 1)
    assert (report.quotes, report.quotes_verified, report.quotes_not_found, report.texts) == (2, 1, 1, 1)
    # the extension's rules carry examples except the made-up one
    assert {f.ident for f in found(report, "no-example")} == {"note.made-up"}


BROKEN = Path(__file__).parent / "broken_extensions"
# each file of the folder of broken extensions, with the problems it holds on purpose
BROKEN_CODES = {
    "cycle.toml": {"cycle"},
    "examples.toml": {"example-failed"},
    "extensions.toml": {"load"},
    "load-errors.toml": {"load"},
    "never-fires.toml": {"never-fires"},
    "quotes.toml": {"quote-not-found", "document-text", "short-quote", "unverified"},
    "subsumed.toml": {"subsumed", "duplicate"},
    "unused.toml": {"unused-concept", "unread-question", "dead-end"},
}


def test_the_folder_of_broken_extensions_reports_every_kind_of_problem_with_file_and_id():
    from cofactor.engine.loader import load_partial

    kb, problems = load_partial([BUILTIN_RULES], [BROKEN], display_root=BUILTIN_RULES.parent)
    report = check(kb, problems)
    codes: dict[str, set[str]] = {}
    for finding in report.findings:
        codes.setdefault(Path(finding.path).name, set()).add(finding.code)
    assert {name for name in BROKEN_CODES if not BROKEN_CODES[name] <= codes.get(name, set())} == set()
    assert all(f.path and f.message and f.fix for f in report.findings if f.level == "error")
    assert all(f.ident for f in report.findings if f.level == "error" and f.code != "load")
    assert len(found(report, "load")) >= 2 * 2  # several problems per file, none hidden behind another
