"""The question-driven consultation, driven through its prompts.

Each test checks what the user sees: on standard error the questions and
their options in order, each prompt with the echo of what was read, and every
message in between ("why" levels, help, "Going back to ...", errors); on
standard output the conclusions, the explanations asked for afterwards, or
the JSON document.
"""

from __future__ import annotations

import json

import pytest
from conftest import ALL_ANSWERED, facts_of

# What the user sees of each question: the question, then its options line.
QUESTIONS = {
    "magnesium_status": (
        "What is your magnesium status (from a blood test, or your best estimate)?",
        "  1) severely_low  2) low  3) adequate  4) high  - or unknown; type help, why, how or back",
    ),
    "magnesium_deficiency_chronic": (
        "Has your magnesium deficiency lasted a long time?",
        "  1) yes  2) no  - or unknown; type help, why, how or back",
    ),
    "magnesium_rich_foods": (
        "How often do you eat magnesium-rich foods such as leafy greens, legumes, nuts, seeds, whole grains,"
        " bananas or dark chocolate?",
        "  1) rarely  2) sometimes  3) often  - or unknown; type help, why, how or back",
    ),
    "calcium_intake": (
        "How much calcium do you take in, counting both food and supplements?",
        "  1) low  2) adequate  3) high  - or unknown; type help, why, how or back",
    ),
    "calcium_supplement": (
        "Do you take calcium supplements?",
        "  1) yes  2) no  - or unknown; type help, why, how or back",
    ),
    "vitamin_d_supplement": (
        "Do you take a vitamin D supplement, and is it a standard or a high dose?",
        "  1) none  2) standard  3) high_dose  - or unknown; type help, why, how or back",
    ),
    "sun_exposure": (
        "Do you get regular, moderate sun exposure?",
        "  1) low  2) adequate  - or unknown; type help, why, how or back",
    ),
    "symptom": (
        "Do you have any of these symptoms: fatigue, loss of appetite, nausea, muscle weakness, muscle cramps,"
        " abnormal heart rhythm, numbness or tingling?",
        "  1) fatigue  2) loss_of_appetite  3) nausea  4) muscle_weakness  5) muscle_cramps"
        "  6) abnormal_heart_rhythm  7) numbness_tingling  8) none"
        "  - or unknown (several: separate with commas); type help, why, how or back",
    ),
}

EXPLAIN_HELP = (
    "Type a conclusion's number or CONCEPT=STATE to see how it was reached; "
    "'why-not CONCEPT=STATE' for one that was not; 'what-if CONCEPT=STATE ...' to change "
    "answers; Enter or 'quit' to finish."
)
DISCLAIMER = (
    "For learning only: cofactor shows what its two sources claim and how the claims connect; "
    "it does not diagnose or prescribe. Consult a healthcare provider about your own health."
)
END_OF_INPUT = (
    "Error: end of input before the consultation was finished; nothing was concluded "
    "(to run without questions, use --no-input with --answer or --answers).\n"
)
WHY_AGAIN = "(type why again to climb one step further)\n"
WHY_TOP = (
    "That is as far as it goes: what those rules conclude is not used by any further rule "
    "(they are outcomes or advice).\n"
)
PLEASE_ANSWER = "Please answer: a state, its number, 'unknown', 'help', 'why', 'how' or 'back'.\n"

# ANSI styles, for the tests that run with colour on
BOLD, RED, YELLOW, RESET = "\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[0m"


def asked(number: int, concept: str) -> str:
    """A question as shown: a blank line, 'Question N: ...', its options."""
    question, options = QUESTIONS[concept]
    return f"\nQuestion {number}: {question}\n{options}\n"


def options(concept: str) -> str:
    return QUESTIONS[concept][1] + "\n"


def typed(text: str, prompt: str = "> ") -> str:
    """A prompt and the echo of the line read there (input is not a terminal)."""
    return f"{prompt}{text}\n"


def explain_typed(text: str) -> str:
    return typed(text, "explain> ")


EXPLAIN_START = "\n" + EXPLAIN_HELP + "\n"


def until_end_of_input(stderr: str) -> str:
    """What was shown before the end of input, which must end in the one-line
    error; the prompt that met the end of input stays at the end. Whether a
    newline separates that prompt from the error is deliberately not pinned:
    today the error follows the prompt on its line ('> Error: ...'), which
    looks unintended."""
    assert stderr.endswith(END_OF_INPUT), stderr[-300:]
    return stderr[: -len(END_OF_INPUT)].removesuffix("\n")


def answers_block(*lines: str) -> str:
    return "Answers\n" + "".join(f"  {line}\n" for line in lines)


# Everything but the symptom question, so that one question is asked. Magnesium
# status is answered unknown: answered adequate, the symptom rules (which only
# stand in for a low status) would be set aside and the question no longer
# matter (issue 11).
ALL_BUT_SYMPTOM = ["-a", "magnesium_status=unknown", *ALL_ANSWERED[2:-2]]
assert ALL_ANSWERED[1].startswith("magnesium_status=")
assert ALL_ANSWERED[-1].startswith("symptom=")


# --- the questions -----------------------------------------------------------------


def test_asks_in_order_only_what_matters_then_concludes(invoke):
    result = invoke("consult", input="low\nyes\nrarely\nhigh\nyes\nstandard\n\n")
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_status"),
            typed("low"),
            asked(2, "magnesium_deficiency_chronic"),
            typed("yes"),
            asked(3, "magnesium_rich_foods"),
            typed("rarely"),
            asked(4, "calcium_intake"),
            typed("high"),
            asked(5, "calcium_supplement"),
            typed("yes"),
            asked(6, "vitamin_d_supplement"),
            typed("standard"),
            EXPLAIN_START,
            explain_typed(""),
        ]
    )
    out = result.stdout
    assert out.startswith(
        answers_block(
            "Magnesium status: low",
            "Long-standing magnesium deficiency: yes",
            "Magnesium-rich foods in the diet: rarely",
            "Calcium intake: high",
            "Takes calcium supplements: yes",
            "Vitamin D supplement: standard",
        )
        + "\nConclusions\n  Mechanisms\n    1. "
    )
    assert out.index("\n  Outcomes\n") < out.index("\n  Advice\n") < out.index("\nNot asked\n")
    assert "\n   30. Blood calcium: low  [likely]\n" in out
    # the questions whose answers could no longer change anything are reported, in
    # the knowledge base's order, and the disclaimer ends the output
    not_asked = out.split("\nNot asked\n")[1]
    reported = [line.split(" (", 1)[0] for line in not_asked.split("\n\n")[0].splitlines()]
    assert reported == [
        "  weight_status: no longer matters",
        "  sun_exposure: no longer matters",
        "  symptom: no longer matters",
    ]
    assert "  weight_status: no longer matters (no rule using it can still change a conclusion: " in not_asked
    assert out.endswith("\n\n" + DISCLAIMER + "\n")


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
    assert result.stderr == "".join(
        [
            asked(1, "calcium_supplement"),
            typed("yes"),
            asked(2, "vitamin_d_supplement"),
            typed("none"),
            asked(3, "sun_exposure"),
            typed("adequate"),
        ]
    )
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
        input="standard\n",
    )
    assert result.stderr == "".join([asked(1, "vitamin_d_supplement"), typed("standard")])
    data = json.loads(result.stdout)
    assert data["answers"] == {
        "magnesium_status": "high",
        "magnesium_rich_foods": "often",
        "vitamin_d_supplement": "standard",
    }
    skipped = {s["concept"]: s for s in data["not_asked"]}
    assert list(skipped) == [
        "magnesium_deficiency_chronic",
        "calcium_intake",
        "calcium_supplement",
        "weight_status",
        "sun_exposure",
        "symptom",
    ]
    assert skipped["calcium_intake"] == {
        "concept": "calcium_intake",
        "reason": "no longer matters",
        "detail": "no rule using it can still change a conclusion: diet.high-calcium-low-magnesium-high-ratio needs "
        "magnesium_rich_foods = rarely but you answered magnesium_rich_foods=often",
    }
    assert skipped["magnesium_deficiency_chronic"]["reason"] == "ask_if"
    # a standard vitamin D dose makes the weight question apply, but with high
    # magnesium its one rule cannot fire: not asked either
    assert skipped["weight_status"]["reason"] == "no longer matters"
    assert skipped["weight_status"]["detail"].endswith("but you answered magnesium_status=high")
    # the symptom rules only stand in for a low magnesium status: answered high, they are set aside (issue 11)
    assert skipped["symptom"] == {
        "concept": "symptom",
        "reason": "no longer matters",
        "detail": "no rule using it can still change a conclusion: diet.early-symptoms-suggest-deficiency stands in "
        "for magnesium_status in [low, severely_low], which you answered otherwise; "
        "diet.later-symptoms-suggest-deficiency stands in for magnesium_status in [low, severely_low], "
        "which you answered otherwise",
    }


def test_ask_if_skips_questions_that_do_not_apply(invoke):
    result = invoke(
        "consult",
        "--json",
        "-a",
        "magnesium_status=adequate",
        "-a",
        "vitamin_d_supplement=none",
        input="often\nadequate\n",
    )
    # the symptom question is not asked either: its rules only stand in for a low
    # magnesium status, answered otherwise here, so they are set aside (issue 11)
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_rich_foods"),
            typed("often"),
            asked(2, "sun_exposure"),
            typed("adequate"),
        ]
    )
    skipped = {s["concept"]: s for s in json.loads(result.stdout)["not_asked"]}
    assert skipped["magnesium_deficiency_chronic"] == {
        "concept": "magnesium_deficiency_chronic",
        "reason": "ask_if",
        "detail": "asked only if magnesium_status in [low, severely_low]",
    }
    assert skipped["weight_status"] == {
        "concept": "weight_status",
        "reason": "ask_if",
        "detail": "asked only if vitamin_d_supplement in [standard, high_dose]",
    }


def test_flags_are_not_asked_again(invoke):
    result = invoke(
        "consult",
        "-a",
        "magnesium_status=severely_low",
        "-a",
        "symptom=none",
        input="no\nsometimes\nno\nnone\nadequate\nq\n",
    )
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_deficiency_chronic"),
            typed("no"),
            asked(2, "magnesium_rich_foods"),
            typed("sometimes"),
            asked(3, "calcium_supplement"),
            typed("no"),
            asked(4, "vitamin_d_supplement"),
            typed("none"),
            asked(5, "sun_exposure"),
            typed("adequate"),
            EXPLAIN_START,
            explain_typed("q"),
        ]
    )
    assert result.stdout.startswith(
        answers_block(
            "Magnesium status: severely low",
            "Long-standing magnesium deficiency: no",
            "Magnesium-rich foods in the diet: sometimes",
            "Takes calcium supplements: no",
            "Vitamin D supplement: none",
            "Sun exposure: adequate",
            "Symptoms: none",
        )
        + "\nConclusions\n"
    )
    assert "\n   22. Blood calcium: low  [established]\n" in result.stdout
    not_asked = result.stdout.split("\nNot asked\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(" (", 1)[0] for line in not_asked] == [
        "  calcium_intake: no longer matters",
        "  weight_status: ask_if",
    ]


def test_no_input_asks_nothing(invoke):
    result = invoke("consult", "--no-input", input="low\n")
    assert result.stderr == ""
    assert result.stdout.startswith("Answers\n  (none)\n\nConclusions: none follow from these answers.\n")
    assert result.stdout.endswith("\n\n" + DISCLAIMER + "\n")  # and no explain loop


# --- help, why and how at a prompt ---------------------------------------------------

MAGNESIUM_HELP = (
    "Low magnesium is common: over half of the U.S. population consumes less than the required amount daily. "
    "Choose severely_low only for a severe deficiency.\n"
)


def test_help_why_and_an_invalid_answer_then_a_number(invoke):
    result = invoke(
        "consult", "--json", *ALL_BUT_SYMPTOM[2:], "-a", "symptom=none", input="help\nwhy\nseverly low\n1\nno\n"
    )
    err = result.stderr
    before_why, why_and_after = err.split(typed("why"))
    why, after_why = why_and_after.split(typed("severly low"))
    # help: the question's help text, then its options again
    assert before_why == asked(1, "magnesium_status") + typed("help") + MAGNESIUM_HELP + options("magnesium_status")
    # why: the rules the answer feeds, each with its quote
    assert why.startswith("[why 1] Your answer to magnesium_status is needed by 19 rules:\n")
    assert (
        "  - if magnesium_status = severely_low then PTH secretion: impaired"
        "  [pth.severe-deficiency-impairs-secretion, established]\n"
        '      "Severe magnesium deficiency impairs PTH production and release" (mg-calcium)\n'
    ) in why
    assert why.endswith(WHY_AGAIN)
    # a misspelt state: one line with a suggestion, the question stays; then a number
    assert after_why == "".join(
        [
            "'severly low' is not a state of 'magnesium_status'; did you mean 'severely_low'? "
            "Allowed: severely_low, low, adequate, high, unknown.\n",
            typed("1"),
            asked(2, "magnesium_deficiency_chronic"),
            typed("no"),
        ]
    )
    data = json.loads(result.stdout)
    assert data["answers"]["magnesium_status"] == "severely_low"
    assert data["answers"]["magnesium_deficiency_chronic"] == "no"
    assert "blood_calcium=low" in facts_of(data)


def test_help_falls_back_when_a_question_has_none(invoke, tmp_path):
    # a rule author's question without help or description
    path = tmp_path / "mine.toml"
    path.write_text(
        """
[[concept]]
id = "teaching_level"
kind = "question"
states = ["beginner", "advanced"]
question = "Is this for beginners or advanced students?"

[[concept]]
id = "teaching_note"
kind = "outcome"
states = ["shown"]

[[rule]]
id = "mine.note"
title = "Beginners get a teaching note"
when = ["teaching_level = beginner"]
then = ["teaching_note = shown"]
strength = "possible"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]
""",
        encoding="utf-8",
    )
    level_options = "  1) beginner  2) advanced  - or unknown; type help, why, how or back\n"
    result = invoke(
        "consult",
        "--rules",
        str(path),
        "--json",
        *ALL_BUT_SYMPTOM,
        "-a",
        "symptom=none",
        input="help\nwhy\nwhy\n2\n",
    )
    assert result.stderr == "".join(
        [
            "\nQuestion 1: Is this for beginners or advanced students?\n",
            level_options,
            typed("help"),
            "No help for this question.\n",
            level_options,
            typed("why"),
            "[why 1] Your answer to teaching_level is needed by 1 rule:\n",
            f"  - if teaching_level = beginner then Teaching note: shown  [mine.note, possible] (from {path})\n",
            '      "Magnesium is essential for activating vitamin D." (mg-calcium)\n',
            typed("why"),
            WHY_TOP,
            typed("2"),
        ]
    )
    assert json.loads(result.stdout)["answers"]["teaching_level"] == "advanced"


SUN_EXPOSURE_WHY = [
    "[why 1] Your answer to sun_exposure is needed by 2 rules:\n"
    "  - if sun_exposure = low and vitamin_d_supplement = none then Vitamin D status: low"
    "  [vitd.little-sun-no-supplement-low-status, possible]\n"
    '      "getting natural sunlight is the primary source of vitamin D synthesis for most people." (mg-vitamin-d)\n'
    "  - if vitamin_d_status = low and sun_exposure = low then Get consistent, moderate sun exposure: recommended"
    "  [advice.low-vitamin-d-little-sun-get-sun, likely]\n"
    '      "getting natural sunlight is the primary source of vitamin D synthesis for most people." (mg-vitamin-d)\n'
    + WHY_AGAIN,
    "[why 2] because what those rules conclude leads further:\n"
    "  - if vitamin_d_status = low then Bone strength: reduced  [bone.low-vitamin-d-weakens-bones, likely]\n"
    '      "Can lead to weakened bones (rickets, osteomalacia), fatigue, and increased infection risk."'
    " (mg-vitamin-d)\n" + WHY_AGAIN,
    "[why 3] because what those rules conclude leads further:\n"
    "  - if bone_strength = reduced then Osteoporosis risk: increased"
    "  [bone.weak-bones-raise-osteoporosis-risk, likely]\n"
    '      "Brittle bones, compromised bone density, and increased risk of osteoporosis." (mg-calcium)\n' + WHY_AGAIN,
    # the top: no "why again" invitation
    "[why 4] because what those rules conclude leads further:\n"
    "  - if osteoporosis_risk = increased then Consult a healthcare provider: recommended"
    "  [advice.osteoporosis-risk-consult, established]\n"
    '      "This content is for informational purposes only and should not replace professional medical advice."'
    " (mg-calcium)\n",
    WHY_TOP,
    WHY_TOP,
]


def test_why_again_and_again_climbs_to_the_top_and_says_so(invoke):
    # magnesium status unknown (not high, whose disrupted PTH regulation already
    # recommends consulting, so the last level would be left out as decided, and which
    # sets aside the symptom rules that stand in for a low status, so the symptom
    # question would not be asked); foods sometimes, so the symptom rules still lead
    # further (issue 11)
    result = invoke(
        "consult",
        "--json",
        "-a",
        "vitamin_d_supplement=none",
        "-a",
        "magnesium_status=unknown",
        "-a",
        "magnesium_rich_foods=sometimes",
        input="why\n" * 6 + "low\nnone\n",
    )
    assert result.stderr == "".join(
        [
            asked(1, "sun_exposure"),
            *(typed("why") + level for level in SUN_EXPOSURE_WHY),
            typed("low"),
            asked(2, "symptom"),
            typed("none"),
        ]
    )
    assert json.loads(result.stdout)["answers"]["sun_exposure"] == "low"


def test_why_starts_again_at_the_next_question(invoke):
    # the answers of the test above: the symptom question is still asked after sun_exposure
    result = invoke(
        "consult",
        "--json",
        "-a",
        "vitamin_d_supplement=none",
        "-a",
        "magnesium_status=unknown",
        "-a",
        "magnesium_rich_foods=sometimes",
        input="why\nwhy\nlow\nwhy\nnone\n",
    )
    question_2 = result.stderr.split(asked(2, "symptom"))[1]
    assert question_2.startswith(typed("why") + "[why 1] Your answer to symptom is needed by ")
    assert question_2.endswith(WHY_AGAIN + typed("none"))
    assert "[why 2]" not in question_2


def _why_levels(stderr: str) -> list[str]:
    """The text shown after each 'why' typed at the first question."""
    assert stderr.startswith(asked(1, "magnesium_status") + typed("why"))
    return stderr.split(typed("why"))[1:]


def test_why_climbs_one_step_at_a_time_to_the_loop(invoke):
    result = invoke("consult", input="why\n" * 7, expect=130)
    levels = _why_levels(until_end_of_input(result.stderr).removesuffix("> "))
    assert len(levels) == 7
    assert [level.splitlines()[0] for level in levels] == [
        "[why 1] Your answer to magnesium_status is needed by 29 rules:",
        *[f"[why {n}] because what those rules conclude leads further:" for n in range(2, 7)],
        WHY_TOP.strip(),
    ]
    # every level but the top ones invites another why
    assert [level.endswith(WHY_AGAIN) for level in levels] == [True] * 5 + [False] * 2
    # each level lists the rules, each with its quote, one step further up the chain
    first, second, third = levels[:3]
    assert (
        "  - if magnesium_status in [low, severely_low] then Liver step of vitamin D activation: impaired"
        "  [vitd.low-magnesium-impairs-hepatic-hydroxylation, established]\n"
        '      "Magnesium is required as a cofactor for these enzymatic reactions in both the liver and kidneys."'
        " (mg-vitamin-d)\n"
    ) in first
    assert (
        "  - if hepatic_25_hydroxylation = impaired then Vitamin D activation: impaired"
        "  [vitd.impaired-liver-step-impairs-activation, established]\n"
    ) in second
    assert "vitd.impaired-activation-lowers-active-vitamin-d" not in first + second
    assert (
        "  - if vitamin_d_activation = impaired then Active vitamin D (calcitriol): low"
        "  [vitd.impaired-activation-lowers-active-vitamin-d, established]\n"
    ) in third
    # the loop is named under the rule that closes it, and not followed
    assert levels[4] == (
        "[why 5] because what those rules conclude leads further:\n"
        "  - if intestinal_calcium_absorption = reduced then Calcium balance: negative"
        "  [vitd.reduced-calcium-absorption-negative-balance, likely]\n"
        '      "This can lead to a negative calcium balance, requiring calcium to be drawn from bones." (mg-calcium)\n'
        "  - if intestinal_magnesium_absorption = reduced and not magnesium_status = severely_low"
        " then Magnesium status: low  [loop.reduced-magnesium-absorption-lowers-magnesium, possible]\n"
        '      "This creates a powerful positive feedback mechanism: sufficient magnesium enables vitamin D activation,'
        ' and activated vitamin D then promotes better magnesium absorption." (mg-vitamin-d)\n'
        "      <- LOOP: this comes back to magnesium_status: the magnesium-vitamin D loop\n" + WHY_AGAIN
    )
    assert levels[5] == (
        "[why 6] because what those rules conclude leads further:\n"
        "  - if calcium_balance = negative then Calcium drawn from bone: increased"
        "  [vitd.negative-balance-draws-calcium-from-bone, likely]\n"
        '      "This can lead to a negative calcium balance, requiring calcium to be drawn from bones." (mg-calcium)\n'
    )
    assert levels[6] == WHY_TOP
    assert result.stdout == ""


def test_why_leaves_out_rules_already_decided(invoke):
    # with no vitamin D supplement, the supplement rules are blocked: why does not list them
    result = invoke("consult", "-a", "vitamin_d_supplement=none", input="why\n", expect=130)
    [why] = _why_levels(until_end_of_input(result.stderr).removesuffix("> "))
    assert why.startswith("[why 1] Your answer to magnesium_status is needed by 22 rules:\n")
    assert "vitd.supplement-less-effective-without-magnesium" not in why
    assert "advice.vitamin-d-supplement-low-magnesium-check" not in why
    assert "[vitd.low-magnesium-impairs-hepatic-hydroxylation, established]\n" in why
    assert why.endswith(WHY_AGAIN)


# the tensions between the sources that the PTH rules are in, as how shows them after a tree
PTH_TENSION = (
    "\n"
    "Tension: Magnesium needed for PTH, or magnesium suppressing PTH [magnesium-needed-for-pth-or-suppressing-pth]\n"
    "  the sources differ: mg-calcium says magnesium is required to make and release PTH, so low magnesium impairs"
    " PTH; and that magnesium suppresses PTH, so low magnesium leaves PTH unsuppressed\n"
    '  mg-calcium: "Magnesium is required for the synthesis and release of parathyroid hormone (PTH), which regulates'
    ' blood calcium levels; a deficiency can impair PTH function."\n'
    '  mg-calcium: "and suppresses PTH, which can release calcium into soft tissues."\n'
    '  mg-vitamin-d: "If magnesium levels are deficient, the body cannot produce or secrete PTH effectively"\n'
    "  rules: pth.deficiency-impairs-secretion, calc.low-magnesium-lifts-pth-suppression,"
    " calc.unsuppressed-pth-soft-tissue-risk\n"
    "\n"
    "Tension: Severe or any magnesium deficiency impairing PTH [pth-severe-or-any-deficiency]\n"
    "  the sources differ: mg-calcium ties impaired PTH to severe deficiency; mg-vitamin-d to any deficiency\n"
    '  mg-calcium: "Severe magnesium deficiency impairs PTH production and release"\n'
    '  mg-vitamin-d: "If magnesium levels are deficient, the body cannot produce or secrete PTH effectively"\n'
    "  rules: pth.severe-deficiency-impairs-secretion, pth.chronic-deficiency-impairs-secretion,"
    " pth.deficiency-impairs-secretion\n"
)
# both routes hold with severely low magnesium: any deficiency (likely) and severe (established)
PTH_SECRETION_TREE = (
    "pth_secretion=impaired  (PTH secretion: impaired)  [established]\n"
    "├─ by rule pth.deficiency-impairs-secretion [likely]: A magnesium deficiency can impair PTH secretion\n"
    '│     "Magnesium is required for the synthesis and release of parathyroid hormone (PTH), which\n'
    '│      regulates blood calcium levels; a deficiency can impair PTH function." (mg-calcium)\n'
    '│     "If magnesium levels are deficient, the body cannot produce or secrete PTH effectively"\n'
    "│      (mg-vitamin-d)\n"
    "│  └─ magnesium_status=severely_low  [your answer]\n"
    "└─ by rule pth.severe-deficiency-impairs-secretion [established]: Severe magnesium deficiency impairs PTH"
    " secretion\n"
    '      "Severe magnesium deficiency impairs PTH production and release" (mg-calcium)\n'
    "   └─ magnesium_status=severely_low  [your answer]\n" + PTH_TENSION
)


def test_how_at_a_prompt_for_what_is_concluded_so_far(invoke, invoke_json):
    so_far = invoke_json("consult", "--no-input", "-a", "magnesium_status=severely_low")["conclusions"]
    result = invoke(
        "consult",
        "-a",
        "magnesium_status=severely_low",
        input="how\nhow pth_secretion=impaired\nhow pth_secretion\nhow bone_magnesium_reserve=depleted\n",
        expect=130,
    )
    shown = until_end_of_input(result.stderr)
    assert shown == "".join(
        [
            asked(1, "magnesium_deficiency_chronic"),
            typed("how"),
            # everything concluded from the answers so far, as the conclusions list it
            "Concluded so far (type how CONCEPT=STATE for one):\n",
            *(f"  {c['concept']}={c['state']}  [{c['strength']}]\n" for c in so_far),
            typed("how pth_secretion=impaired"),
            PTH_SECRETION_TREE,
            typed("how pth_secretion"),  # the one state concluded
            PTH_SECRETION_TREE,
            typed("how bone_magnesium_reserve=depleted"),
            "bone_magnesium_reserve=depleted is not concluded (yet).\n",
            "> ",
        ]
    )
    assert "  blood_calcium=low  [established]\n" in shown
    assert result.stdout == ""


def test_how_at_the_first_prompt_and_a_misspelt_concept(invoke):
    result = invoke("consult", input="how\nhow blood_calcium=low\nhow bloodcalcium=low\n", expect=130)
    shown = until_end_of_input(result.stderr)
    before, error = shown.split(typed("how bloodcalcium=low"))
    assert before == "".join(
        [
            asked(1, "magnesium_status"),
            typed("how"),
            "Nothing is concluded yet.\n",
            typed("how blood_calcium=low"),
            "blood_calcium=low is not concluded (yet).\n",
        ]
    )
    assert error.startswith("unknown concept 'bloodcalcium'; did you mean 'blood_calcium'? Allowed: active_vitamin_d, ")
    assert error.endswith(", weight_status.\n> ")
    assert error.count("\n") == 1  # one line, and the question stays


# --- back, unknown, several states, bad and empty answers ---------------------------------


def test_back_changes_the_previous_answer_and_recomputes(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM[2:], "-a", "symptom=none", input="severely_low\nback\nhigh\n")
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_status"),
            typed("severely_low"),
            asked(2, "magnesium_deficiency_chronic"),
            typed("back"),
            "Going back to magnesium_status; everything is recomputed.\n",
            asked(1, "magnesium_status"),  # asked again, as question 1
            typed("high"),
        ]
    )
    data = json.loads(result.stdout)
    assert data["answers"]["magnesium_status"] == "high"
    assert "magnesium_deficiency_chronic" not in data["answers"]
    assert "blood_calcium=low" not in facts_of(data)  # nothing stale survives
    assert "pth_regulation=disrupted" in facts_of(data)


def test_back_twice_goes_back_two_questions(invoke):
    result = invoke(
        "consult",
        "--json",
        "-a",
        "magnesium_status=low",
        "-a",
        "calcium_intake=adequate",
        "-a",
        "vitamin_d_supplement=none",
        "-a",
        "sun_exposure=adequate",
        "-a",
        "symptom=none",
        input="yes\nrarely\nback\nback\nno\nsometimes\nno\n",
    )
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_deficiency_chronic"),
            typed("yes"),
            asked(2, "magnesium_rich_foods"),
            typed("rarely"),
            asked(3, "calcium_supplement"),
            typed("back"),
            "Going back to magnesium_rich_foods; everything is recomputed.\n",
            asked(2, "magnesium_rich_foods"),
            typed("back"),
            "Going back to magnesium_deficiency_chronic; everything is recomputed.\n",
            asked(1, "magnesium_deficiency_chronic"),
            typed("no"),
            asked(2, "magnesium_rich_foods"),
            typed("sometimes"),
            asked(3, "calcium_supplement"),
            typed("no"),
        ]
    )
    answers = json.loads(result.stdout)["answers"]
    assert [answers[q] for q in ("magnesium_deficiency_chronic", "magnesium_rich_foods", "calcium_supplement")] == [
        "no",
        "sometimes",
        "no",
    ]


def test_back_with_nothing_to_go_back_to(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="back\nnone\n")
    assert result.stderr == "".join(
        [
            asked(1, "symptom"),
            typed("back"),
            "There is no earlier answer to change here (answers given as options stay).\n",
            typed("none"),
        ]
    )
    assert json.loads(result.stdout)["answers"]["symptom"] == ["none"]


def test_unknown_at_a_prompt(invoke):
    result = invoke("consult", "--json", input="unknown\n" * 4)
    assert result.stderr == "".join(
        [
            asked(1, "magnesium_status"),
            typed("unknown"),
            # magnesium unknown: the chronic question does not apply
            asked(2, "magnesium_rich_foods"),
            typed("unknown"),
            asked(3, "vitamin_d_supplement"),
            typed("unknown"),
            asked(4, "symptom"),
            typed("unknown"),
        ]
    )
    data = json.loads(result.stdout)
    assert data["answers"] == {}
    assert data["conclusions"] == []
    assert [(s["concept"], s["reason"]) for s in data["not_asked"]] == [
        ("magnesium_deficiency_chronic", "ask_if"),
        ("calcium_intake", "no longer matters"),
        ("calcium_supplement", "no longer matters"),
        ("weight_status", "ask_if"),
        ("sun_exposure", "no longer matters"),
    ]


def test_multi_valued_answer_at_a_prompt(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="fatigue, 3\n")
    assert result.stderr == asked(1, "symptom") + typed("fatigue, 3")
    data = json.loads(result.stdout)
    assert data["answers"]["symptom"] == ["fatigue", "nausea"]
    assert "magnesium_deficiency_suspected=possible" in facts_of(data)


def test_none_cannot_be_combined_at_a_prompt(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="none, fatigue\nnone\n")
    assert result.stderr == "".join(
        [
            asked(1, "symptom"),
            typed("none, fatigue"),
            "'none' cannot be combined with other states of 'symptom'\n",
            typed("none"),
        ]
    )
    assert json.loads(result.stdout)["answers"]["symptom"] == ["none"]


def test_a_number_out_of_range_is_not_a_state(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="9\n2\n")
    assert result.stderr == "".join(
        [
            asked(1, "symptom"),
            typed("9"),
            "'9' is not a state of 'symptom'. Allowed: fatigue, loss_of_appetite, nausea, muscle_weakness,"
            " muscle_cramps, abnormal_heart_rhythm, numbness_tingling, none, unknown.\n",
            typed("2"),
        ]
    )
    assert json.loads(result.stdout)["answers"]["symptom"] == ["loss_of_appetite"]


def test_empty_answer_is_asked_again(invoke):
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="\nnausea\n")
    assert result.stderr == asked(1, "symptom") + typed("") + PLEASE_ANSWER + typed("nausea")
    assert json.loads(result.stdout)["answers"]["symptom"] == ["nausea"]


def test_messages_at_a_prompt_are_styled_on_a_terminal(invoke, monkeypatch):
    # the question in bold, a note in yellow, an error in red
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="back\n\nnone, fatigue\nnone\n", color=True)
    question, symptom_options = QUESTIONS["symptom"]
    assert result.stderr == "".join(
        [
            f"\n{BOLD}Question 1: {question}{RESET}\n",
            symptom_options + "\n",
            typed("back"),
            f"{YELLOW}There is no earlier answer to change here (answers given as options stay).{RESET}\n",
            typed(""),
            f"{YELLOW}{PLEASE_ANSWER.strip()}{RESET}\n",
            typed("none, fatigue"),
            f"{RED}'none' cannot be combined with other states of 'symptom'{RESET}\n",
            typed("none"),
        ]
    )


def test_no_color_turns_the_styles_off(invoke, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    result = invoke("consult", "--json", *ALL_BUT_SYMPTOM, input="none, fatigue\nnone\n", color=True)
    assert "\x1b[" not in result.stderr
    assert "\n'none' cannot be combined with other states of 'symptom'\n" in result.stderr


# --- the end of input and interruptions --------------------------------------------------


def test_end_of_input_at_a_question_exits_130_without_traceback(invoke):
    result = invoke("consult", input="low\n", expect=130)
    assert until_end_of_input(result.stderr) == "".join(
        [asked(1, "magnesium_status"), typed("low"), asked(2, "magnesium_deficiency_chronic"), "> "]
    )


def test_end_of_input_before_any_answer(invoke):
    result = invoke("consult", input="", expect=130)
    assert until_end_of_input(result.stderr) == asked(1, "magnesium_status") + "> "


def test_ctrl_c_at_a_prompt_exits_130_without_traceback(invoke, monkeypatch):
    import cofactor.cli

    def interrupted(prompt):
        raise KeyboardInterrupt

    monkeypatch.setattr(cofactor.cli, "_read_line", interrupted)
    result = invoke("consult", expect=130)
    assert result.stderr == asked(1, "magnesium_status") + "Error: interrupted; nothing was concluded.\n"


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

BONE_CRYSTAL_TREE = (
    "bone_crystal_structure=altered  (Bone crystal structure: altered)  [likely]\n"
    "└─ by rule bone.low-magnesium-alters-crystal-structure [likely]: Insufficient magnesium can alter bone crystal"
    " structure\n"
    '      "Insufficient magnesium can also alter bone crystal structure, making bones brittle."\n'
    "       (mg-calcium)\n"
    "   └─ magnesium_status=severely_low  [your answer]\n"
)


def _explained(stdout: str) -> str:
    """What the explain> prompt printed: everything after the conclusions' disclaimer."""
    conclusions, explained = stdout.split(DISCLAIMER + "\n", 1)
    assert conclusions.startswith("Answers\n")
    return explained


def _how_tree(invoke, fact: str, answers: list[str]) -> str:
    """`cofactor how`'s tree for the same answers (without its strength line)."""
    out = invoke("how", fact, *answers).stdout
    return out.split("\n\nStrength ")[0].removesuffix("\n") + "\n"


def test_explain_a_conclusion_by_number_and_by_name(invoke):
    result = invoke("consult", *SEVERE, input="1\nblood_calcium=low\nhow pth_secretion=impaired\nblood_calcium\n\n")
    assert "\n    1. Bone crystal structure: altered  [likely]\n" in result.stdout
    assert result.stderr == "".join(
        [
            EXPLAIN_START,
            explain_typed("1"),
            explain_typed("blood_calcium=low"),
            explain_typed("how pth_secretion=impaired"),
            explain_typed("blood_calcium"),
            explain_typed(""),
        ]
    )
    blood_calcium = _how_tree(invoke, "blood_calcium=low", SEVERE)
    assert blood_calcium.startswith("blood_calcium=low  (Blood calcium: low)  [established]\n")
    assert blood_calcium.endswith("\n               └─ magnesium_status=severely_low  [your answer]\n")
    assert _explained(result.stdout) == "".join(
        [
            "\n" + BONE_CRYSTAL_TREE,  # conclusion 1
            "\n" + blood_calcium + PTH_TENSION,  # the tree's PTH rule is in a tension
            "\n" + PTH_SECRETION_TREE,
            "\n" + blood_calcium + PTH_TENSION,  # the concept alone: its one concluded state
        ]
    )


def test_explain_an_answer_and_a_fact_not_concluded(invoke):
    result = invoke("consult", *SEVERE, input="magnesium_status=severely_low\nadvice_sun_exposure=recommended\nq\n")
    why_not = invoke("why-not", "advice_sun_exposure=recommended", *SEVERE).stdout
    assert why_not.startswith(
        "advice_sun_exposure=recommended (Get consistent, moderate sun exposure: recommended) was not concluded"
    )
    assert _explained(result.stdout) == "".join(
        [
            "\nmagnesium_status=severely_low  (Magnesium status: severely low)  [your answer]\n",
            "  This is one of your answers.\n",
            "\n" + why_not,  # not concluded: why not, as the why-not command says it
        ]
    )


def test_explain_why_not_and_what_if_after_the_conclusions(invoke):
    result = invoke(
        "consult", *SEVERE, input="why-not osteoporosis_risk=increased\nwhat-if magnesium_status=adequate\nquit\n1\n"
    )
    assert result.stderr == "".join(
        [
            EXPLAIN_START,
            explain_typed("why-not osteoporosis_risk=increased"),
            explain_typed("what-if magnesium_status=adequate"),
            explain_typed("quit"),  # and nothing is read after quit
        ]
    )
    what_if = invoke("what-if", *SEVERE, "--change", "magnesium_status=adequate").stdout
    assert what_if.startswith("Changing magnesium_status=adequate:\nLost\n")
    assert (
        "\n  - Blood calcium: low  [established]  pth.functional-hypoparathyroidism-lowers-blood-calcium: " in what_if
    )
    assert "Gained" not in what_if
    assert _explained(result.stdout) == "".join(
        [
            "\nosteoporosis_risk=increased was concluded (likely); see how: cofactor how osteoporosis_risk=increased\n",
            "\n" + what_if.removeprefix("Changing magnesium_status=adequate:\n"),
        ]
    )


def test_explain_why_not_in_the_consultation(invoke):
    # adequate magnesium: since any deficiency impairs PTH (issue 11), a low status
    # would already conclude low blood calcium
    adequate = [
        "-a",
        "magnesium_status=adequate",
        *ALL_BUT_SYMPTOM[2:],
        "-a",
        "symptom=none",
    ]
    result = invoke("consult", *adequate, input="why-not blood_calcium=low\nq\n")
    assert result.stderr == EXPLAIN_START + explain_typed("why-not blood_calcium=low") + explain_typed("q")
    why_not = invoke("why-not", "blood_calcium=low", *adequate).stdout
    assert why_not.startswith("blood_calcium=low (Blood calcium: low) was not concluded from these answers.\n")
    assert (
        "\n  - magnesium_status=low (instead of adequate)\n  - magnesium_status=severely_low (instead of adequate)\n"
    ) in why_not
    assert _explained(result.stdout) == "\n" + why_not


def test_explain_help_repeats_the_instructions(invoke):
    result = invoke("consult", *SEVERE, input="help\nexit\n")
    assert result.stderr == EXPLAIN_START + explain_typed("help") + EXPLAIN_HELP + "\n" + explain_typed("exit")
    assert _explained(result.stdout) == ""


def test_explain_loop_ends_cleanly_at_end_of_input(invoke):
    result = invoke("consult", *SEVERE)
    # the instructions, then the prompt that met the end of input: exit 0, no error
    assert result.stderr.removesuffix("\n") == EXPLAIN_START + "explain> "
    assert result.stdout.endswith(DISCLAIMER + "\n")
    assert _explained(result.stdout) == ""


def test_explain_rejects_a_bad_choice_and_goes_on(invoke):
    result = invoke("consult", *SEVERE, input="999\nbloodcalcium=low\nwhat-if\nwhat-if magnesium_status=lwo\n1\nq\n")
    err = result.stderr
    before, misspelt = err.split(explain_typed("bloodcalcium=low"))
    misspelt, after = misspelt.split(explain_typed("what-if"))
    assert before == EXPLAIN_START + explain_typed("999") + "There is no conclusion 999; choose 1 to 27.\n"
    assert misspelt.startswith("unknown concept 'bloodcalcium'; did you mean 'blood_calcium'? Allowed: ")
    assert misspelt.count("\n") == 1
    assert after == "".join(
        [
            "what-if needs at least one CONCEPT=STATE\n",
            explain_typed("what-if magnesium_status=lwo"),
            "'lwo' is not a state of 'magnesium_status'; did you mean 'low'? "
            "Allowed: severely_low, low, adequate, high, unknown.\n",
            explain_typed("1"),
            explain_typed("q"),
        ]
    )
    # it went on: the last choice was explained, and nothing else was printed
    assert _explained(result.stdout) == "\n" + BONE_CRYSTAL_TREE


def test_explain_why_not_without_a_fact(invoke):
    result = invoke("consult", *SEVERE, input="why-not\nq\n")
    assert result.stderr == "".join(
        [
            EXPLAIN_START,
            explain_typed("why-not"),
            "malformed answer '': expected CONCEPT=STATE, e.g. magnesium_status=severely_low\n",
            explain_typed("q"),
        ]
    )
    # no explanation (today a stray blank line reaches standard output before the
    # error, which looks unintended, so it is not pinned here)
    assert _explained(result.stdout).strip("\n") == ""


def test_explain_a_number_when_nothing_was_concluded(invoke):
    result = invoke("consult", *ALL_BUT_SYMPTOM, "-a", "symptom=none", input="1\nq\n")
    assert "\nConclusions: none follow from these answers.\n" in result.stdout
    assert result.stderr == "".join(
        [
            EXPLAIN_START,
            explain_typed("1"),
            "There is no conclusion 1; nothing was concluded (try why-not CONCEPT=STATE).\n",
            explain_typed("q"),
        ]
    )
    assert _explained(result.stdout) == ""


def test_explain_errors_are_styled_on_a_terminal(invoke, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = invoke("consult", *SEVERE, input="999\nwhat-if\nq\n", color=True)
    assert result.stderr == "".join(
        [
            EXPLAIN_START,
            explain_typed("999"),
            f"{YELLOW}There is no conclusion 999; choose 1 to 27.{RESET}\n",
            explain_typed("what-if"),
            f"{RED}what-if needs at least one CONCEPT=STATE{RESET}\n",
            explain_typed("q"),
        ]
    )


def test_ctrl_c_at_the_explain_prompt_keeps_the_conclusions(runner, monkeypatch):
    import cofactor.cli
    from cofactor.cli import cli

    def interrupted(prompt):
        assert prompt == "explain> "  # no question is left to ask
        raise KeyboardInterrupt

    monkeypatch.setattr(cofactor.cli, "_read_line", interrupted)
    result = runner.invoke(cli, ["consult", *SEVERE])
    assert result.exit_code == 130, result.output
    assert result.stderr == EXPLAIN_START + "Error: interrupted (the conclusions above stand).\n"
    assert "\n   22. Blood calcium: low  [established]\n" in result.stdout
    assert result.stdout.endswith(DISCLAIMER + "\n")


@pytest.mark.parametrize("word", ["", "q", "quit", "exit", "done"])
def test_each_way_to_finish_explaining(invoke, word):
    result = invoke("consult", *SEVERE, input=f"{word}\n1\n")
    assert result.stderr == EXPLAIN_START + explain_typed(word)
    assert _explained(result.stdout) == ""  # the 1 after it is never read
