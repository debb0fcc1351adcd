"""Every rule cites its sources verbatim, and keeps to the vocabulary."""

from __future__ import annotations

import re

import pytest
from conftest import SHARED, needs_shared

SOURCES = SHARED / "sources"


def _document_text(kb, doc_id: str) -> str:
    """The source text, whitespace collapsed (skipped without ../shared, failed in CI)."""
    path = needs_shared(SOURCES / kb.documents[doc_id].file)
    return " ".join(path.read_text(encoding="utf-8").split())


def test_every_rule_has_a_source_found_verbatim(kb):
    missing = []
    for rule in kb.rules:
        assert rule.sources, rule.id
        for source in rule.sources:
            text = _document_text(kb, source.document)
            quote = " ".join(source.quote.split())
            if quote not in text:
                missing.append(f"{rule.id}: {source.document}: {quote!r}")
    assert not missing, "quotes not found verbatim:\n" + "\n".join(missing)


def test_quotes_are_short_excerpts(kb):
    too_long = [(r.id, len(s.quote.split())) for r in kb.rules for s in r.sources if len(s.quote.split()) > 32]
    assert not too_long


def test_the_quote_checker_catches_a_changed_quote(kb):
    rule = kb.rules[0]
    text = _document_text(kb, rule.sources[0].document)
    quote = " ".join(rule.sources[0].quote.split())
    altered = " ".join(rule.sources[0].quote.replace(" ", "  x ", 1).split())
    assert quote in text and altered != quote
    assert altered not in text


def test_documents_are_the_two_sources(kb):
    assert set(kb.documents) == {"mg-calcium", "mg-vitamin-d"}
    for doc in kb.documents.values():
        assert len(_document_text(kb, doc.id).split()) > 100, doc.file


def test_hedged_quotes_are_not_established(kb):
    """A rule quoting only hedged sentences ("may", "some studies suggest",
    "is linked to", "is associated with") is never `established`."""
    hedges = re.compile(r"\b(may|some studies suggest|is linked to|is associated with|potentially)\b", re.I)
    offenders = [
        r.id for r in kb.rules if r.strength.label == "established" and all(hedges.search(s.quote) for s in r.sources)
    ]
    assert not offenders


VOCABULARY_QUESTIONS = {
    "magnesium_status": ["severely_low", "low", "adequate", "high"],
    "magnesium_deficiency_chronic": ["yes", "no"],
    "magnesium_rich_foods": ["rarely", "sometimes", "often"],
    "calcium_intake": ["low", "adequate", "high"],
    "calcium_supplement": ["yes", "no"],
    "vitamin_d_supplement": ["none", "standard", "high_dose"],
    "sun_exposure": ["low", "adequate"],
    "weight_status": ["healthy", "overweight_or_obese"],
    "symptom": [
        "fatigue",
        "loss_of_appetite",
        "nausea",
        "muscle_weakness",
        "muscle_cramps",
        "abnormal_heart_rhythm",
        "numbness_tingling",
    ],
}

VOCABULARY_DERIVED = {
    "hepatic_25_hydroxylation": "impaired",
    "renal_1a_hydroxylation": "impaired",
    "vitamin_d_activation": "impaired",
    "active_vitamin_d": "low",
    "intestinal_calcium_absorption": "reduced",
    "calcium_balance": "negative",
    "bone_calcium_release": "increased",
    "pth_secretion": "impaired",
    "pth_regulation": "disrupted",
    "functional_hypoparathyroidism": "present",
    "blood_calcium": "low",
    "calcium_treatment_response": "poor",
    "bone_magnesium_reserve": "depleted",
    "bone_strength": "reduced",
    "osteoblast_function": "impaired",
    "bone_mineral_density": "reduced",
    "osteoporosis_risk": "increased",
    "soft_tissue_calcification_risk": "increased",
    "arterial_calcification_risk": "increased",
    "calcium_magnesium_ratio": "high",
    "functional_magnesium_deficiency": "present",
    "vitamin_d_supplement_effectiveness": "reduced",
    "vitamin_d_resistance": "present",
    "intestinal_magnesium_absorption": "reduced",
    "vitamin_d_status": "low",
    "magnesium_deficiency_suspected": "possible",
    "advice_magnesium_rich_foods": "recommended",
    "advice_check_magnesium": "recommended",
    "advice_balance_calcium_magnesium": "recommended",
    "advice_combined_supplement": "worth_discussing",
    "advice_sun_exposure": "recommended",
    "advice_consult_provider": "recommended",
}


@pytest.mark.parametrize("concept,states", sorted(VOCABULARY_QUESTIONS.items()))
def test_questions_keep_the_vocabulary(kb, concept, states):
    found = kb.concepts[concept]
    assert found.is_question
    assert [s for s in found.states if s != "none" or concept != "symptom"] == states


@pytest.mark.parametrize("concept,state", sorted(VOCABULARY_DERIVED.items()))
def test_every_key_derived_concept_is_concluded_by_some_rule(kb, concept, state):
    from cofactor.engine import Fact

    assert state in kb.concepts[concept].states
    assert kb.rules_concluding(Fact(concept, state)), f"no rule concludes {concept}={state}"


def test_ask_if_as_in_the_vocabulary(kb):
    [chronic] = kb.concepts["magnesium_deficiency_chronic"].ask_if
    assert (chronic.concept, set(chronic.states), chronic.negated) == (
        "magnesium_status",
        {"low", "severely_low"},
        False,
    )
    [weight] = kb.concepts["weight_status"].ask_if
    assert (weight.concept, set(weight.states)) == ("vitamin_d_supplement", {"standard", "high_dose"})


def test_size_of_the_knowledge_base(kb):
    assert 40 <= len(kb.rules) <= 100
    assert {r.path for r in kb.rules} >= {
        "rules/vitamin-d.toml",
        "rules/pth.toml",
        "rules/bone.toml",
        "rules/calcification.toml",
        "rules/diet-and-balance.toml",
        "rules/advice.toml",
    }
