"""The question-driven consultation, driven through its prompts."""

from __future__ import annotations

import json

from conftest import facts_of

# The questions in their order, for an answer that asks them all.
ALL_LOW = ["low", "yes", "rarely", "high", "yes", "standard", "healthy", "low", "fatigue, nausea"]


def test_asks_every_question_in_order_then_concludes(invoke):
    result = invoke("consult", input="\n".join(ALL_LOW) + "\n")
    assert result.stderr.count("Question ") == len(ALL_LOW)
    prompts = [line for line in result.stderr.splitlines() if line.startswith("Question ")]
    assert "magnesium status" in prompts[0] and "symptoms" in prompts[-1]
    assert "Conclusions" in result.stdout and "Advice" in result.stdout
    assert "does not diagnose or prescribe" in result.stdout
    assert "Question" not in result.stdout  # prompts go to standard error


def test_ask_if_skips_questions_that_do_not_apply(invoke):
    # adequate magnesium: no "how long"; no vitamin D supplement: no weight question
    answers = ["adequate", "often", "adequate", "no", "none", "adequate", "none"]
    result = invoke("consult", input="\n".join(answers) + "\n")
    assert result.stderr.count("Question ") == len(answers)
    assert "lasted a long time" not in result.stderr
    assert "overweight" not in result.stderr
    assert "magnesium_deficiency_chronic" in result.stdout  # reported as not asked


def test_flags_are_not_asked_again(invoke):
    result = invoke("consult", "-a", "magnesium_status=severely_low", "-a", "symptom=none",
                    input="no\nsometimes\nadequate\nno\nnone\nadequate\n")
    assert "What is your magnesium status" not in result.stderr
    assert "symptoms" not in result.stderr
    assert "Blood calcium: low" in result.stdout


def test_help_why_and_an_invalid_answer_then_numbers(invoke):
    result = invoke("consult", "--json", "-a", "symptom=none",
                    input="help\nwhy\nseverly low\n1\n2\n3\n2\n2\n1\n2\n")
    err = result.stderr
    assert "over half of the U.S. population" in err  # the question's help text
    assert "pth.severe-deficiency-impairs-secretion" in err  # why: the rules this answer feeds
    assert "'severly low' is not a state of 'magnesium_status'; did you mean 'severely_low'?" in err
    data = json.loads(result.stdout)
    assert data["answers"]["magnesium_status"] == "severely_low"
    assert data["answers"]["magnesium_deficiency_chronic"] == "no"
    assert "blood_calcium=low" in facts_of(data)


def test_unknown_at_a_prompt(invoke):
    result = invoke("consult", "--json", input="unknown\n" + "unknown\n" * 6)
    data = json.loads(result.stdout)
    assert data["answers"] == {}
    # with magnesium unknown, the chronic question is never asked
    assert "lasted a long time" not in result.stderr


def test_multi_valued_answer_at_a_prompt(invoke):
    result = invoke("consult", "--json", "-a", "magnesium_status=adequate", "-a", "magnesium_rich_foods=often",
                    "-a", "calcium_intake=adequate", "-a", "calcium_supplement=no",
                    "-a", "vitamin_d_supplement=none", "-a", "sun_exposure=adequate",
                    input="fatigue, 3\n")
    assert json.loads(result.stdout)["answers"]["symptom"] == ["fatigue", "nausea"]


def test_none_cannot_be_combined_at_a_prompt(invoke):
    base = ["-a", "magnesium_status=adequate", "-a", "magnesium_rich_foods=often", "-a", "calcium_intake=adequate",
            "-a", "calcium_supplement=no", "-a", "vitamin_d_supplement=none", "-a", "sun_exposure=adequate"]
    result = invoke("consult", "--json", *base, input="none, fatigue\nnone\n")
    assert "'none' cannot be combined" in result.stderr
    assert json.loads(result.stdout)["answers"]["symptom"] == ["none"]


def test_empty_answer_is_asked_again(invoke):
    result = invoke("consult", "--json", "-a", "symptom=none", input="\nlow\nno\n" + "unknown\n" * 5)
    assert "Please answer" in result.stderr
    assert json.loads(result.stdout)["answers"]["magnesium_status"] == "low"


def test_end_of_input_at_a_question_exits_130_without_traceback(invoke):
    result = invoke("consult", input="low\n", expect=130)
    assert "end of input" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 200


def test_explain_a_conclusion_by_number_and_by_name(invoke):
    answers = "severely_low\nno\n" + "unknown\n" * 6
    result = invoke("consult", "-a", "symptom=none", input=answers + "1\nblood_calcium=low\n\n")
    out = result.stdout
    assert out.count("by rule") >= 2
    assert "blood_calcium=low  (Blood calcium: low)" in out


def test_explain_loop_ends_cleanly_at_end_of_input(invoke):
    result = invoke("consult", "-a", "symptom=none", input="low\nno\n" + "unknown\n" * 5)
    assert "Explain a conclusion?" in result.stderr


def test_explain_rejects_a_bad_choice_and_goes_on(invoke):
    answers = "severely_low\nno\n" + "unknown\n" * 6
    result = invoke("consult", "-a", "symptom=none", input=answers + "999\nbloodcalcium=low\nq\n")
    assert "There is no conclusion 999" in result.stderr
    assert "did you mean 'blood_calcium'" in result.stderr


def test_no_input_asks_nothing(invoke):
    result = invoke("consult", "--no-input", input="low\n")
    assert "Question" not in result.stderr
    assert "Conclusions: none follow" in result.stdout


def test_ctrl_c_at_a_prompt_exits_130_without_traceback(invoke, monkeypatch):
    import cofactor.cli

    def interrupted(prompt):
        raise KeyboardInterrupt

    monkeypatch.setattr(cofactor.cli, "_read_line", interrupted)
    result = invoke("consult", expect=130)
    assert result.stderr.strip().splitlines()[-1] == "Error: interrupted; nothing was concluded."
