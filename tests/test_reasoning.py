"""The engine's reasoning: justifications, strengths, conflicts, loops,
negation, limits and determinism."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofactor.engine import (
    Fact,
    FiringLimitExceeded,
    Reasoner,
    ReasoningError,
    Strength,
    load,
    render_json,
    render_text,
)
from cofactor.engine import answers as answer_io
from cofactor.engine.consultation import summarize
from cofactor.engine.explain import how_tree


def _kb(tmp_path, text):
    path = tmp_path / "kb.toml"
    path.write_text('[[document]]\nid = "d"\ntitle = "D"\n' + text, encoding="utf-8")
    return load([path])


def _rule(rid, when, then, strength="established"):
    when_s = ", ".join(f'"{w}"' for w in when)
    then_s = ", ".join(f'"{t}"' for t in then)
    return (
        f'\n[[rule]]\nid = "{rid}"\ntitle = "{rid}"\nwhen = [{when_s}]\nthen = [{then_s}]\n'
        f'strength = "{strength}"\nsources = [{{ document = "d", quote = "q" }}]\n'
    )


def _concept(cid, states, question=True, multi=False):
    q = f'question = "{cid}?"\n' if question else ""
    m = "multi = true\n" if multi else ""
    return f'\n[[concept]]\nid = "{cid}"\nstates = {json.dumps(states)}\n{q}{m}'


def test_every_firing_is_recorded_with_the_facts_it_matched(reason):
    case = reason("magnesium_status=severely_low")
    # any deficiency impairs PTH (issue 11): that rule fires first and adds the fact; the
    # severe rule, firing after it, matches the same answer and adds nothing new
    step = next(s for s in case.steps if s.rule.id == "pth.deficiency-impairs-secretion")
    assert step.matched == (Fact("magnesium_status", "severely_low"),)
    assert step.added == (Fact("pth_secretion", "impaired"),)
    severe = next(s for s in case.steps if s.rule.id == "pth.severe-deficiency-impairs-secretion")
    assert severe.matched == (Fact("magnesium_status", "severely_low"),)
    assert severe.added == ()


def test_every_justification_that_holds_is_kept(reason):
    case = reason("magnesium_status=severely_low", "magnesium_deficiency_chronic=yes")
    rules = {j.rule.id for j in case.support[Fact("pth_secretion", "impaired")].justifications}
    assert rules == {
        "pth.severe-deficiency-impairs-secretion",
        "pth.chronic-deficiency-impairs-secretion",
        "pth.deficiency-impairs-secretion",
    }


def test_strength_is_the_weakest_link_of_the_best_derivation(tmp_path):
    kb = _kb(
        tmp_path,
        _concept("a", ["y"])
        + _concept("b", ["y"])
        + _concept("m", ["y"], question=False)
        + _concept("z", ["y"], question=False)
        + _rule("r.a-m", ["a = y"], ["m = y"], "possible")
        + _rule("r.b-m", ["b = y"], ["m = y"], "likely")
        + _rule("r.m-z", ["m = y"], ["z = y"], "established"),
    )
    reasoner = Reasoner(kb)
    only_a = reasoner.reason(answer_io.build(kb, ["a=y"]))
    both = reasoner.reason(answer_io.build(kb, ["a=y", "b=y"]))
    assert only_a.support[Fact("z", "y")].strength is Strength.POSSIBLE
    assert both.support[Fact("z", "y")].strength is Strength.LIKELY  # the better of two routes
    assert both.support[Fact("a", "y")].strength is Strength.GIVEN


def test_builtin_strengths_follow_the_hedging(reason):
    case = reason("magnesium_status=low", "calcium_supplement=yes")
    assert case.support[Fact("vitamin_d_activation", "impaired")].strength is Strength.ESTABLISHED
    assert case.support[Fact("calcium_balance", "negative")].strength is Strength.LIKELY
    assert case.support[Fact("intestinal_magnesium_absorption", "reduced")].strength is Strength.LIKELY


def test_an_answer_is_never_overridden_and_the_conflict_is_reported(reason):
    case = reason("magnesium_status=adequate", "calcium_intake=high", "magnesium_rich_foods=rarely")
    assert Fact("magnesium_status", "low") not in case.known
    assert Fact("hepatic_25_hydroxylation", "impaired") not in case.known  # nothing built on it
    [conflict] = case.conflicts
    assert conflict.concept == "magnesium_status"
    sides = {s.state: s for s in conflict.sides}
    assert sides["adequate"].given and not sides["adequate"].blocked
    assert sides["low"].blocked
    # besides the loop, the rules that only stand in for magnesium status (inferring it
    # from the foods rarely eaten) are set aside and are sides too, for both states they
    # stand in for (issue 11)
    stand_ins = [
        "diet.few-magnesium-rich-foods-compromise-calcium-metabolism",
        "diet.few-magnesium-rich-foods-suggest-deficiency",
    ]
    assert [j.rule.id for j in sides["low"].justifications] == [
        *stand_ins,
        "loop.reduced-magnesium-absorption-lowers-magnesium",
    ]
    assert sides["severely_low"].blocked and not sides["severely_low"].given
    assert [j.rule.id for j in sides["severely_low"].justifications] == stand_ins
    assert list(sides) == ["severely_low", "low", "adequate"]
    assert [(s.rule.id, s.answer) for s in case.set_aside] == [(rule, ("adequate",)) for rule in stand_ins]
    assert Fact("magnesium_status", "severely_low") not in case.known
    # three columns now, so "contradicts your answer" wraps within each derived side's column
    assert (
        "    not added: contradicts your       not added: contradicts your       your answer (never overridden)\n"
        "        answer                            answer\n"
    ) in render_text.case_text(summarize(case))


def test_two_derived_states_are_a_conflict_with_both_derivations(tmp_path):
    kb = _kb(
        tmp_path,
        _concept("a", ["y"])
        + _concept("b", ["y"])
        + _concept("m", ["up", "down"], question=False)
        + _rule("r.up", ["a = y"], ["m = up"])
        + _rule("r.down", ["b = y"], ["m = down"]),
    )
    case = Reasoner(kb).reason(answer_io.build(kb, ["a=y", "b=y"]))
    assert {Fact("m", "up"), Fact("m", "down")} <= case.known
    [conflict] = case.conflicts
    assert [(s.state, [j.rule.id for j in s.justifications]) for s in conflict.sides] == [
        ("up", ["r.up"]),
        ("down", ["r.down"]),
    ]
    assert json.loads(json.dumps(render_json.case(case)))["conflicts"][0]["concept"] == "m"


def test_multi_valued_concepts_do_not_conflict(tmp_path):
    kb = _kb(
        tmp_path, _concept("s", ["p", "q"], multi=True) + _concept("a", ["y"]) + _rule("r.q", ["a = y"], ["s = q"])
    )
    case = Reasoner(kb).reason(answer_io.build(kb, ["s=p", "a=y"]))
    assert Fact("s", "q") in case.known and not case.conflicts


def test_in_conditions_fire_once_per_matching_fact(tmp_path):
    kb = _kb(
        tmp_path,
        _concept("s", ["p", "q", "r"], multi=True)
        + _concept("m", ["y"], question=False)
        + _rule("r.m", ["s in [p, q]"], ["m = y"]),
    )
    case = Reasoner(kb).reason(answer_io.build(kb, ["s=p,q,r"]))
    premises = [j.premises for j in case.support[Fact("m", "y")].justifications]
    assert premises == [(Fact("s", "p"),), (Fact("s", "q"),)]


def test_not_waits_for_everything_that_could_conclude_its_fact(tmp_path):
    # r.late could fire early (its 'not' holds at first) unless negation is stratified
    kb = _kb(
        tmp_path,
        _concept("a", ["y"])
        + _concept("m", ["y"], question=False)
        + _concept("n", ["y"], question=False)
        + _concept("z", ["y"], question=False)
        + _rule("r.a-m", ["a = y"], ["m = y"])
        + _rule("r.m-n", ["m = y"], ["n = y"])
        + _rule("r.late", ["a = y", "not n = y"], ["z = y"]),
    )
    reasoner = Reasoner(kb)
    for _ in range(5):
        case = reasoner.reason(answer_io.build(kb, ["a=y"]))
        assert Fact("n", "y") in case.known and Fact("z", "y") not in case.known


def test_not_holds_when_unanswered(reason):
    case = reason("vitamin_d_supplement=standard")
    assert case.holds(Fact("advice_check_magnesium", "recommended"))


def test_the_loop_terminates_and_every_derivation_is_well_founded(reason):
    case = reason("calcium_intake=high", "magnesium_rich_foods=rarely")
    assert case.holds(Fact("magnesium_status", "low"))  # derived through the loop
    seen = set(case.answers.facts())
    for step in case.steps:  # every premise existed before the rule fired
        assert set(step.matched) <= seen
        seen |= set(step.added)
    assert len(case.steps) < 200


def test_firing_limit_stops_a_runaway_with_a_clear_error(reason, reasoner, kb):
    small = Reasoner(kb, firing_limit=3)
    with pytest.raises(FiringLimitExceeded, match="fired more than 3 times"):
        small.reason(answer_io.build(kb, ["magnesium_status=low"]))
    # the engine is left clean: the next case in the same process is unaffected
    after = small.reason(answer_io.build(kb, ["magnesium_status=high"]))
    assert after.holds(Fact("pth_regulation", "disrupted"))
    assert reason("magnesium_status=low").holds(Fact("vitamin_d_activation", "impaired"))


def test_firing_limit_is_a_reasoning_error(kb):
    assert issubclass(FiringLimitExceeded, ReasoningError)


def test_nothing_stale_survives_a_changed_answer(reasoner, kb):
    low = reasoner.reason(answer_io.build(kb, ["magnesium_status=severely_low"]))
    adequate = reasoner.reason(answer_io.build(kb, ["magnesium_status=adequate"]))
    assert low.holds(Fact("blood_calcium", "low"))
    assert not adequate.conclusions


def test_the_same_case_fires_in_the_same_order_in_a_new_engine(kb):
    answers = answer_io.build(kb, ["magnesium_status=low", "calcium_supplement=yes", "vitamin_d_supplement=high_dose"])
    first = [render_json.step(s) for s in Reasoner(kb).reason(answers).steps]
    for _ in range(3):
        assert [render_json.step(s) for s in Reasoner(kb).reason(answers).steps] == first


ANSWERABLE = [
    "magnesium_status=severely_low",
    "magnesium_status=low",
    "magnesium_status=adequate",
    "magnesium_deficiency_chronic=yes",
    "magnesium_rich_foods=rarely",
    "magnesium_rich_foods=often",
    "calcium_intake=high",
    "calcium_supplement=yes",
    "vitamin_d_supplement=standard",
    "vitamin_d_supplement=high_dose",
    "sun_exposure=low",
    "weight_status=overweight_or_obese",
    "symptom=fatigue",
    "symptom=muscle_cramps",
    "symptom=nausea",
]


def _explanations(case):
    return {str(s.fact): render_text.how_text(case.kb, how_tree(case, s.fact)) for s in case.conclusions}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(ANSWERABLE), unique_by=lambda p: p.split("=")[0] if "symptom" not in p else p, max_size=8
    ).flatmap(lambda pairs: st.tuples(st.just(pairs), st.permutations(pairs)))
)
def test_answer_order_changes_nothing(reasoner, kb, pairs_and_shuffled):
    pairs, shuffled = pairs_and_shuffled
    a = reasoner.reason(answer_io.build(kb, pairs))
    b = reasoner.reason(answer_io.build(kb, shuffled))
    assert render_json.consultation(summarize(a)) == render_json.consultation(summarize(b))
    assert _explanations(a) == _explanations(b)
    assert render_text.case_text(summarize(a)) == render_text.case_text(summarize(b))


def test_weakest_link_does_not_go_round_a_loop(tmp_path, invoke):
    # r0 closes a loop a -> b -> a; its justification of a sorts first, but a's
    # strength comes from r1: following the wrong route would never end
    text = (
        _concept("q", ["yes"])
        + _concept("a", ["on"], question=False)
        + _concept("b", ["on"], question=False)
        + _rule("r1", ["q = yes"], ["a = on"], "possible")
        + _rule("r2", ["a = on"], ["b = on"])
        + _rule("r0", ["b = on"], ["a = on"])
    )
    kb = _kb(tmp_path, text)
    case = Reasoner(kb).reason(answer_io.build(kb, ["q=yes"]))
    for fact in (Fact("a", "on"), Fact("b", "on")):
        support = case.support[fact]
        assert support.strength is Strength.POSSIBLE
        assert support.weakest.id == "r1"
        assert support.best.rule.id == ("r1" if fact.concept == "a" else "r2")
    path = tmp_path / "kb.toml"
    out = invoke("--rules", str(path), "how", "b=on", "-a", "q=yes").stdout
    assert "the weakest link is r1 [possible]" in out and "LOOP" in out
    assert "possible, because" in invoke("--rules", str(path), "consult", "--no-input", "-a", "q=yes").stdout


def test_an_exclusive_state_is_never_added_next_to_an_answer(tmp_path):
    text = (
        _concept("q", ["yes"])
        + _concept("s", ["p", "q", "none"], multi=True).replace(
            "multi = true\n", 'multi = true\nexclusive = ["none"]\n'
        )
        + _rule("r.none", ["q = yes"], ["s = none"])
    )
    kb = _kb(tmp_path, text)
    case = Reasoner(kb).reason(answer_io.build(kb, ["q=yes", "s=p"]))
    assert Fact("s", "none") not in case.known
    [conflict] = case.conflicts
    sides = {side.state: side for side in conflict.sides}
    assert sides["p"].given and sides["none"].blocked
