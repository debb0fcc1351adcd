"""The question-driven consultation, driven through its prompts."""

from __future__ import annotations

import json

from conftest import facts_of

# Everything but the symptom question, so that one question is asked.
ALL_BUT_SYMPTOM = [
    "-a",
    "magnesium_status=adequate",
    "-a",
    "magnesium_rich_foods=often",
    "-a",
    "calcium_intake=adequate",
    "-a",
    "calcium_supplement=no",
    "-a",
    "vitamin_d_supplement=none",
    "-a",
    "sun_exposure=adequate",
]


def _questions(stderr: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in stderr.splitlines() if line.startswith("Question ")]


def test_asks_in_order_only_what_matters_then_concludes(invoke):
    result = invoke("consult", input="low\nyes\nrarely\nhigh\nyes\nstandard\n")
    asked = _questions(result.stderr)
    assert len(asked) == 6
    assert "magnesium status" in asked[0] and "lasted a long time" in asked[1]
    assert "vitamin D supplement" in asked[-1]
    out = result.stdout
    assert "Conclusions" in out and "Advice" in out
    assert "does not diagnose or prescribe" in out
    assert "Question" not in out  # prompts go to standard error
    # the questions whose answers could no longer change anything are reported
    not_asked = out.split("Not asked")[1]
    for skipped in [
        "weight_status: no longer matters",
        "sun_exposure: no longer matters",
        "symptom: no longer matters",
    ]:
        assert skipped in not_asked


def test_a_question_that_can_only_strengthen_a_conclusion_is_still_asked(invoke):
    # the ratio already recommends balancing (likely); a calcium supplement with low
    # magnesium would make it established, so the supplement question still matters
    result = invoke(
        "consult",
        "--json",
        "-a",
        "magnesium_status=low",
        "-a",
        "magnesium_deficiency_chronic=no",
        "-a",
        "magnesium_rich_foods=rarely",
        "-a",
        "calcium_intake=high",
        input="yes\nnone\nadequate\n",
    )
    assert "Do you take calcium supplements?" in result.stderr
    data = json.loads(result.stdout)
    advice = next(c for c in data["conclusions"] if c["concept"] == "advice_balance_calcium_magnesium")
    assert advice["strength"] == "established"


def test_a_question_that_no_longer_matters_is_skipped_and_reported(invoke):
    # high magnesium and magnesium-rich foods often: calcium intake can change nothing
    result = invoke(
        "consult",
        "--json",
        "-a",
        "magnesium_status=high",
        "-a",
        "magnesium_rich_foods=often",
        input="standard\nhealthy\nfatigue\n",
    )
    asked = _questions(result.stderr)
    assert not any("calcium" in q for q in asked)
    data = json.loads(result.stdout)
    skipped = {s["concept"]: s for s in data["not_asked"]}
    assert skipped["calcium_intake"]["reason"] == "no longer matters"
    assert (
        "diet.high-calcium-low-magnesium-high-ratio needs magnesium_rich_foods = rarely"
        in skipped["calcium_intake"]["detail"]
    )
    assert "you answered magnesium_rich_foods=often" in skipped["calcium_intake"]["detail"]
    assert skipped["magnesium_deficiency_chronic"]["reason"] == "ask_if"


def test_ask_if_skips_questions_that_do_not_apply(invoke):
    result = invoke(
        "consult",
        "--json",
        "-a",
        "magnesium_status=adequate",
        "-a",
        "vitamin_d_supplement=none",
        input="often\nadequate\nnone\n",
    )
    assert "lasted a long time" not in result.stderr and "overweight" not in result.stderr
    skipped = {s["concept"]: s["reason"] for s in json.loads(result.stdout)["not_asked"]}
    assert skipped["magnesium_deficiency_chronic"] == "ask_if"
    assert skipped["weight_status"] == "ask_if"


def test_flags_are_not_asked_again(invoke):
    result = invoke(
        "consult",
        "-a",
        "magnesium_status=severely_low",
        "-a",
        "symptom=none",
        input="no\nsometimes\nno\nnone\nadequate\n",
    )
    assert "What is your magnesium status" not in result.stderr
    assert "symptoms" not in result.stderr
    assert "Blood calcium: low" in result.stdout


def test_help_why_and_an_invalid_answer_then_a_number(invoke):
    result = invoke(
        "consult", "--json", *ALL_BUT_SYMPTOM[2:], "-a", "symptom=none", input="help\nwhy\nseverly low\n1\nno\n"
    )
    err = result.stderr
    assert "over half of the U.S. population" in err  # the question's help text
    assert "pth.severe-deficiency-impairs-secretion" in err  # why: the rules this answer feeds
    assert "'severly low' is not a state of 'magnesium_status'; did you mean 'severely_low'?" in err
    data = json.loads(result.stdout)
    assert data["answers"]["magnesium_status"] == "severely_low"
    assert "blood_calcium=low" in facts_of(data)


def test_why_climbs_one_step_at_a_time_to_the_loop(invoke):
    result = invoke("consult", input="why\n" * 6, expect=130)
    err = result.stderr
    for level in range(1, 6):
        assert f"[why {level}]" in err
    first = err.split("[why 1]")[1].split("[why 2]")[0]
    second = err.split("[why 2]")[1].split("[why 3]")[0]
    third = err.split("[why 3]")[1].split("[why 4]")[0]
    assert "vitd.low-magnesium-impairs-hepatic-hydroxylation" in first
    assert '"Magnesium is required as a cofactor' in first  # each link with its quote
    assert "vitd.impaired-liver-step-impairs-activation" in second
    assert "vitd.impaired-activation-lowers-active-vitamin-d" in third
    assert "LOOP: this comes back to magnesium_status: the magnesium-vitamin D loop" in err


def test_why_leaves_out_rules_already_decided(invoke):
    # with no vitamin D supplement, the supplement rules are blocked: why does not list them
    result = invoke("consult", "-a", "vitamin_d_supplement=none", input="why\n", expect=130)
    assert "vitd.supplement-less-effective-without-magnesium" not in result.stderr
    assert "vitd.low-magnesium-impairs-hepatic-hydroxylation" in result.stderr


def test_how_at_a_prompt_for_what_is_concluded_so_far(invoke):
    result = invoke(
        "consult",
        "-a",
        "magnesium_status=severely_low",
        input="how\nhow blood_calcium=low\nhow bone_magnesium_reserve=depleted\n",
        expect=130,
    )
    err = result.stderr
    assert "Concluded so far" in err and "pth_secretion=impaired" in err
    assert "blood_calcium=low  (Blood calcium: low)  [established]" in err
    assert "by rule pth.severe-deficiency-impairs-secretion" in err
    assert "bone_magnesium_reserve=depleted is not concluded (yet)" in err


def test_back_changes_the_previous_answer_and_recomputes(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM[2:], "-a", "symptom=none", input="severely_low\nback\nhigh\n")
    assert "Going back to magnesium_status" in result.stderr
    data = json.loads(result.stdout)
    assert data["answers"]["magnesium_status"] == "high"
    assert "blood_calcium=low" not in facts_of(data)  # nothing stale survives
    assert "pth_regulation=disrupted" in facts_of(data)


def test_back_with_nothing_to_go_back_to(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="back\nnone\n")
    assert "There is no earlier answer to change" in result.stderr


def test_unknown_at_a_prompt(invoke):
    result = invoke("consult", "--json", input="unknown\n" * 9)
    data = json.loads(result.stdout)
    assert data["answers"] == {}
    assert "lasted a long time" not in result.stderr  # magnesium unknown: never asked


def test_multi_valued_answer_at_a_prompt(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="fatigue, 3\n")
    assert json.loads(result.stdout)["answers"]["symptom"] == ["fatigue", "nausea"]


def test_none_cannot_be_combined_at_a_prompt(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="none, fatigue\nnone\n")
    assert "'none' cannot be combined" in result.stderr
    assert json.loads(result.stdout)["answers"]["symptom"] == ["none"]


def test_empty_answer_is_asked_again(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="\nnausea\n")
    assert "Please answer" in result.stderr
    assert json.loads(result.stdout)["answers"]["symptom"] == ["nausea"]


def test_end_of_input_at_a_question_exits_130_without_traceback(invoke):
    result = invoke("consult", input="low\n", expect=130)
    assert "end of input" in result.stderr.strip().splitlines()[-1]


def test_ctrl_c_at_a_prompt_exits_130_without_traceback(invoke, monkeypatch):
    import cofactor.cli

    def interrupted(prompt):
        raise KeyboardInterrupt

    monkeypatch.setattr(cofactor.cli, "_read_line", interrupted)
    result = invoke("consult", expect=130)
    assert result.stderr.strip().splitlines()[-1] == "Error: interrupted; nothing was concluded."


# --- explaining after the conclusions -------------------------------------------

SEVERE = [
    "-a",
    "magnesium_status=severely_low",
    "-a",
    "magnesium_deficiency_chronic=no",
    *ALL_BUT_SYMPTOM[2:],
    "-a",
    "symptom=none",
]


def test_explain_a_conclusion_by_number_and_by_name(invoke):
    result = invoke("consult", *SEVERE, input="1\nblood_calcium=low\n\n")
    out = result.stdout
    first = out.split("Conclusions")[1].split("\n")[2].split(". ", 1)[1].split(":")[0]
    assert out.count("by rule") >= 2
    assert "blood_calcium=low  (Blood calcium: low)" in out
    assert first  # the first numbered conclusion was explained
    assert "Type a conclusion's number" in result.stderr


def test_explain_why_not_and_what_if_after_the_conclusions(invoke):
    result = invoke(
        "consult", *SEVERE, input="why-not osteoporosis_risk=increased\nwhat-if magnesium_status=adequate\nquit\n"
    )
    out = result.stdout
    assert "osteoporosis_risk=increased was concluded" in out or "osteoporosis_risk=increased (" in out
    assert "Lost" in out and "Blood calcium: low" in out.split("Lost")[1]


def test_explain_why_not_in_the_consultation(invoke):
    low = [
        "-a",
        "magnesium_status=low",
        "-a",
        "magnesium_deficiency_chronic=no",
        *ALL_BUT_SYMPTOM[2:],
        "-a",
        "symptom=none",
    ]
    result = invoke("consult", *low, input="why-not blood_calcium=low\nq\n")
    assert "blood_calcium=low (Blood calcium: low) was not concluded" in result.stdout
    assert "magnesium_status=severely_low (instead of low)" in result.stdout


def test_explain_loop_ends_cleanly_at_end_of_input(invoke):
    result = invoke("consult", *SEVERE)
    assert "explain> " in result.stderr


def test_explain_rejects_a_bad_choice_and_goes_on(invoke):
    result = invoke("consult", *SEVERE, input="999\nbloodcalcium=low\nwhat-if\nq\n")
    assert "There is no conclusion 999" in result.stderr
    assert "did you mean 'blood_calcium'" in result.stderr
    assert "what-if needs at least one CONCEPT=STATE" in result.stderr


def test_no_input_asks_nothing(invoke):
    result = invoke("consult", "--no-input", input="low\n")
    assert "Question" not in result.stderr
    assert "Conclusions: none follow" in result.stdout
