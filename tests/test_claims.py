"""The claim table, tests/claims.toml: every causal, conditional and advice
claim of the two source articles, and the rules of the built-in knowledge base
that encode it (issue 11).

Checked here: the table parses; its ids are unique; every quote is verbatim in
its document; every hedge is from a fixed list, found in its quote, and caps the
claim's strength; every rule it names exists; and each status agrees with the
rules and note beside it.

And, since the knowledge base's second edition (issue 11), strictly: no claim is
missing, partial or wrong (each is encoded, with its rules, or not-encodable,
with a note saying why the sources support no rule); every built-in rule is
named by some claim; and a rule may be listed as [[unclaimed]] only with a note
giving the reason (today none is). A new rule therefore needs a claim that it
encodes, and a claim the knowledge base stops encoding fails this test.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED, needs_shared

CLAIMS = Path(__file__).with_name("claims.toml")
SOURCES = SHARED / "sources"

DOCUMENTS = {"mg-calcium", "mg-vitamin-d"}
STATUSES = {"encoded", "partial", "wrong", "missing", "not-encodable"}
# weakest first
STRENGTHS = ["possible", "likely", "established"]
# Each hedge, and the strongest strength its wording allows (vocabulary.md:
# "can", "leads to" -> likely; "may", "is linked to", "some studies suggest",
# "often recommended" -> possible). "" is a flat statement.
HEDGES = {
    "": "established",
    "can": "likely",
    "can help": "likely",
    "helps": "likely",
    "often": "likely",
    "partly": "likely",
    "may": "possible",
    "potentially": "possible",
    "is linked to": "possible",
    "is associated with": "possible",
    "often recommended": "possible",
    "some studies suggest": "possible",
    "some studies have found": "possible",
}
REQUIRED = {"id", "document", "quote", "claim", "hedge", "strength", "rules", "status"}
OPTIONAL = {"also", "note"}
NEEDS_NOTE = {"partial", "wrong", "not-encodable"}
MAX_QUOTE_WORDS = 32


def _load() -> dict[str, Any]:
    return tomllib.loads(CLAIMS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    return _load()


@pytest.fixture(scope="module")
def claims(table) -> list[dict[str, Any]]:
    return table["claim"]


@pytest.fixture(scope="module")
def unclaimed(table) -> list[dict[str, Any]]:
    return table.get("unclaimed", [])


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _quotes(claim: dict[str, Any]) -> list[str]:
    return [claim["quote"], *claim.get("also", [])]


def test_the_table_parses_with_the_expected_fields():
    data = _load()
    assert set(data) <= {"claim", "unclaimed"}, set(data)
    assert data["claim"], "no [[claim]] tables"
    for claim in data["claim"]:
        keys = set(claim)
        assert keys >= REQUIRED, (claim.get("id"), REQUIRED - keys)
        assert keys <= REQUIRED | OPTIONAL, (claim.get("id"), keys - REQUIRED - OPTIONAL)
        for key in ("id", "document", "quote", "claim", "hedge", "strength", "status"):
            assert isinstance(claim[key], str), (claim["id"], key)
        for key in ("id", "quote", "claim"):
            assert claim[key].strip(), (claim["id"], key)
        assert isinstance(claim["rules"], list) and all(isinstance(r, str) for r in claim["rules"]), claim["id"]
        assert isinstance(claim.get("also", []), list), claim["id"]
        assert all(isinstance(q, str) and q.strip() for q in claim.get("also", [])), claim["id"]
        assert isinstance(claim.get("note", ""), str), claim["id"]
    for entry in data.get("unclaimed", []):
        assert set(entry) == {"rule", "note"}, entry
        assert all(isinstance(v, str) for v in entry.values()), entry


def test_ids_are_unique_and_named_after_their_document(claims):
    ids = [c["id"] for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates
    misnamed = [c["id"] for c in claims if not c["id"].startswith(c["document"] + ".")]
    assert not misnamed, misnamed


def test_a_claim_names_a_rule_at_most_once(claims):
    repeated = [c["id"] for c in claims if len(set(c["rules"])) != len(c["rules"])]
    assert not repeated, repeated


def test_values_are_from_their_allowed_sets(claims):
    bad = [
        (c["id"], key, c[key])
        for c in claims
        for key, allowed in (("document", DOCUMENTS), ("status", STATUSES), ("strength", STRENGTHS), ("hedge", HEDGES))
        if c[key] not in allowed
    ]
    assert not bad, bad


def test_a_hedge_is_in_its_quote_and_caps_the_strength(claims):
    absent = [c["id"] for c in claims if c["hedge"] and c["hedge"].lower() not in c["quote"].lower()]
    assert not absent, f"hedge not found in its quote: {absent}"
    too_strong = [
        (c["id"], c["hedge"], c["strength"])
        for c in claims
        if c["hedge"] in HEDGES
        and c["strength"] in STRENGTHS
        and STRENGTHS.index(c["strength"]) > STRENGTHS.index(HEDGES[c["hedge"]])
    ]
    assert not too_strong, too_strong


def test_quotes_are_short_excerpts(claims):
    too_long = [(c["id"], len(q.split())) for c in claims for q in _quotes(c) if len(q.split()) > MAX_QUOTE_WORDS]
    assert not too_long, too_long


def test_every_quote_is_verbatim_in_its_document(claims, kb):
    texts = {
        doc: _collapse(needs_shared(SOURCES / kb.documents[doc].file).read_text(encoding="utf-8")) for doc in DOCUMENTS
    }
    missing = [
        f"{c['id']}: {c['document']}: {q!r}"
        for c in claims
        for q in _quotes(c)
        if _collapse(q) not in texts[c["document"]]
    ]
    assert not missing, "quotes not found verbatim:\n" + "\n".join(missing)


def test_every_named_rule_exists(claims, unclaimed, kb):
    known = {rule.id for rule in kb.rules}
    named = {(c["id"], r) for c in claims for r in c["rules"]} | {("[[unclaimed]]", u["rule"]) for u in unclaimed}
    unknown = sorted((where, r) for where, r in named if r not in known)
    assert not unknown, unknown


def test_no_claim_is_missing_partial_or_wrong(claims):
    open_claims = [f"{c['status']}: {c['id']}" for c in claims if c["status"] not in {"encoded", "not-encodable"}]
    assert not open_claims, "claims not encoded (encode them, or mark them not-encodable with a note):\n" + "\n".join(
        open_claims
    )


def test_every_builtin_rule_is_named_by_a_claim(claims, unclaimed, kb):
    claimed = {r for c in claims for r in c["rules"]}
    unexplained = [u["rule"] for u in unclaimed if not u["note"].strip()]
    assert not unexplained, f"[[unclaimed]] rules without a note giving the reason: {unexplained}"
    listed = {u["rule"] for u in unclaimed}
    orphans = sorted(rule.id for rule in kb.rules if rule.id not in claimed and rule.id not in listed)
    assert not orphans, f"built-in rules that no claim names: {orphans}"


def test_there_are_no_unclaimed_rules_today(unclaimed):
    # the second edition leaves none: every rule encodes a claim; a new [[unclaimed]] entry
    # is a decision to record (with its note), and this test is where it is noticed
    assert not unclaimed, [u["rule"] for u in unclaimed]


def test_every_builtin_rule_is_claimed_or_listed_as_unclaimed(claims, unclaimed, kb):
    accounted = {r for c in claims for r in c["rules"]} | {u["rule"] for u in unclaimed}
    orphans = sorted(rule.id for rule in kb.rules if rule.id not in accounted)
    assert not orphans, f"rules in no claim and not in [[unclaimed]]: {orphans}"


def test_an_unclaimed_rule_is_named_once_with_a_note_and_by_no_claim(claims, unclaimed):
    listed = [u["rule"] for u in unclaimed]
    assert len(listed) == len(set(listed)), listed
    claimed = {r for c in claims for r in c["rules"]}
    assert not claimed & set(listed), sorted(claimed & set(listed))
    assert all(u["note"].strip() for u in unclaimed), listed


def test_each_status_agrees_with_its_rules_and_note(claims):
    problems = []
    for c in claims:
        status, rules, note = c["status"], c["rules"], c.get("note", "").strip()
        if status in {"encoded", "partial", "wrong"} and not rules:
            problems.append(f"{c['id']}: {status} without a rule")
        if status in {"missing", "not-encodable"} and rules:
            problems.append(f"{c['id']}: {status} but names {rules}")
        if status in NEEDS_NOTE and not note:
            problems.append(f"{c['id']}: {status} without a note")
        if status == "wrong" and not any(r in note for r in rules):
            problems.append(f"{c['id']}: the note of a wrong claim names none of its rules")
    assert not problems, "\n".join(problems)


def test_both_documents_have_claims(claims):
    assert {c["document"] for c in claims} == DOCUMENTS
