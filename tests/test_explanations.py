"""The explanation commands, in text and JSON: why-not, what-if, trace,
strength along a chain, conflicts side by side, and the loop."""

from __future__ import annotations

import pytest
from conftest import facts_of

# --- why-not ---------------------------------------------------------------------


def test_why_not_points_at_the_pth_step_and_the_answer_that_would_make_it_hold(invoke):
    out = invoke("why-not", "blood_calcium=low", "-a", "magnesium_status=low").stdout
    assert "blood_calcium=low (Blood calcium: low) was not concluded" in out
    assert "[NO] functional_hypoparathyroidism = present: not concluded" in out
    assert "[NO] pth_secretion = impaired: not concluded" in out  # blocked two steps up
    assert "[NO] magnesium_status = severely_low: answered otherwise (you answered low)" in out
    assert "[NO] magnesium_deficiency_chronic = yes: not answered" in out
    changes = out.split("The smallest change of answers that would make it hold:")[1]
    assert "magnesium_status=severely_low (instead of low)" in changes
    assert "magnesium_deficiency_chronic=yes (not answered now)" in changes


def test_why_not_json(invoke_json):
    data = invoke_json("why-not", "blood_calcium=low", "-a", "magnesium_status=low")
    assert data["concluded"] is False
    [rule] = data["rules"]
    assert rule["rule"] == "pth.functional-hypoparathyroidism-lowers-blood-calcium"
    [cond] = rule["conditions"]
    assert (cond["condition"], cond["status"]) == ("functional_hypoparathyroidism = present", "not_concluded")
    [step] = cond["why_not"]
    pth = step["conditions"][0]
    assert pth["status"] == "not_concluded"
    below = {r["rule"]: r for r in pth["why_not"]}
    severe = below["pth.severe-deficiency-impairs-secretion"]["conditions"][0]
    assert severe["status"] == "answered_otherwise" and severe["known"] == [
        {"concept": "magnesium_status", "state": "low"}
    ]
    chronic = below["pth.chronic-deficiency-impairs-secretion"]["conditions"]
    assert [c["status"] for c in chronic] == ["holds", "not_answered"]
    assert {"concept": "magnesium_status", "states": ["severely_low"], "was": ["low"]} in [
        option[0] for option in data["smallest_changes"]
    ]
    assert {"concept": "magnesium_deficiency_chronic", "states": ["yes"], "was": None} in [
        option[0] for option in data["smallest_changes"]
    ]
    assert all(len(option) == 1 for option in data["smallest_changes"])


def test_why_not_distinguishes_not_answered_from_answered_otherwise(invoke_json):
    data = invoke_json("why-not", "calcium_magnesium_ratio=high", "-a", "calcium_intake=high")
    conds = {c["condition"]: c["status"] for c in data["rules"][0]["conditions"]}
    assert conds == {"calcium_intake = high": "holds", "magnesium_rich_foods = rarely": "not_answered"}
    data = invoke_json(
        "why-not", "calcium_magnesium_ratio=high", "-a", "calcium_intake=high", "-a", "magnesium_rich_foods=often"
    )
    conds = {c["condition"]: c["status"] for c in data["rules"][0]["conditions"]}
    assert conds["magnesium_rich_foods = rarely"] == "answered_otherwise"
    assert data["smallest_changes"] == [[{"concept": "magnesium_rich_foods", "states": ["rarely"], "was": ["often"]}]]


def test_why_not_a_fact_that_holds_points_at_how(invoke, invoke_json):
    out = invoke("why-not", "pth_secretion=impaired", "-a", "magnesium_status=severely_low").stdout
    assert "was concluded (established)" in out and "cofactor how pth_secretion=impaired" in out
    data = invoke_json("why-not", "pth_secretion=impaired", "-a", "magnesium_status=severely_low")
    assert data["concluded"] is True and data["see"] == "cofactor how pth_secretion=impaired"


def test_why_not_when_no_answer_could_make_it_hold(invoke):
    # an answer is never overridden: with adequate magnesium given, the loop cannot make it low
    out = invoke("why-not", "blood_calcium=low", "-a", "magnesium_status=adequate").stdout
    assert "[NO] magnesium_status = severely_low: answered otherwise (you answered adequate)" in out
    # changing the answer itself would
    assert (
        "\nThe smallest change of answers that would make it hold:\n"
        "  - magnesium_status=severely_low (instead of adequate)\n\n"
    ) in out
    out = invoke("why-not", "magnesium_status=high").stdout
    assert out == (
        "magnesium_status=high (Magnesium status: high) was not concluded from these answers.\n"
        "It is a question, not a conclusion: answer it with -a magnesium_status=high.\n"
        "\n"
        "The smallest change of answers that would make it hold:\n"
        "  - magnesium_status=high (not answered now)\n"
    )


def test_why_not_finds_a_change_through_a_not_condition(invoke_json):
    # the unknown-magnesium route needs magnesium unanswered; the low-magnesium route needs it low
    data = invoke_json(
        "why-not",
        "advice_check_magnesium=recommended",
        "-a",
        "vitamin_d_supplement=standard",
        "-a",
        "magnesium_status=adequate",
    )
    options = [[(c["concept"], c["states"]) for c in option] for option in data["smallest_changes"]]
    assert [("magnesium_status", [])] in options  # unknown again
    assert [("magnesium_status", ["low"])] in options


def test_why_not_changes_of_a_multi_valued_answer_replace_it(invoke, invoke_json):
    data = invoke_json("why-not", "magnesium_deficiency_suspected=possible", "-a", "symptom=none")
    options = [option[0] for option in data["smallest_changes"] if option[0]["concept"] == "symptom"]
    assert options and all(o["was"] == ["none"] and "none" not in o["states"] for o in options)
    after = invoke_json("consult", "--no-input", "-a", f"symptom={options[0]['states'][0]}")
    assert any(c["concept"] == "magnesium_deficiency_suspected" for c in after["conclusions"])


def test_why_not_meets_the_loop_and_stops(invoke):
    out = invoke("why-not", "intestinal_magnesium_absorption=reduced").stdout
    assert "comes back to a fact already being explained: the magnesium-vitamin D loop" in out


# --- what-if ---------------------------------------------------------------------


def test_what_if_gains_and_loses_with_the_rule_that_made_the_difference(invoke):
    out = invoke("what-if", "-a", "magnesium_status=low", "--change", "magnesium_status=high").stdout
    gained, lost = out.split("Gained")[1].split("Lost")
    assert "PTH regulation of blood calcium: disrupted" in gained
    assert "by pth.high-magnesium-disrupts-regulation using magnesium_status=high" in gained
    assert "Vitamin D activation: impaired" in lost
    assert "magnesium_status=low no longer holds" in lost


def test_what_if_json(invoke_json):
    data = invoke_json("what-if", "-a", "magnesium_status=low", "--change", "magnesium_status=severely_low")
    gained = {g["concept"]: g for g in data["gained"]}
    assert gained["blood_calcium"]["rule"] == "pth.functional-hypoparathyroidism-lowers-blood-calcium"
    assert gained["pth_secretion"]["premises"] == [{"concept": "magnesium_status", "state": "severely_low"}]
    assert data["lost"] == []
    assert data["before"]["answers"] == {"magnesium_status": "low"}
    assert data["after"]["answers"] == {"magnesium_status": "severely_low"}


def test_what_if_strength_changes_and_unknown_removes_an_answer(invoke_json):
    base = ["-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"]
    data = invoke_json("what-if", *base, "--change", "magnesium_status=low")
    changed = {c["concept"]: c for c in data["strength_changed"]}
    assert changed["vitamin_d_activation"]["before"] == "likely"
    assert changed["vitamin_d_activation"]["after"] == "established"
    data = invoke_json("what-if", *base, "--change", "magnesium_rich_foods=unknown", "--change", "calcium_intake=low")
    lost = {d["concept"] for d in data["lost"]}
    assert {"calcium_magnesium_ratio", "functional_magnesium_deficiency"} <= lost
    assert data["gained"] == []


def test_what_if_needs_a_change(invoke):
    result = invoke("what-if", "-a", "magnesium_status=low", expect=2)
    assert result.stderr == "Error: Missing option '-c' / '--change'. (see 'cofactor what-if --help')\n"


def test_what_if_with_a_bad_change_exits_2(invoke):
    result = invoke("what-if", "--change", "magnesium_status=lwo", expect=2)
    assert result.stderr == (
        "Error: 'lwo' is not a state of 'magnesium_status'; did you mean 'low'? "
        "Allowed: severely_low, low, adequate, high, unknown.\n"
    )


# --- trace -----------------------------------------------------------------------


def test_trace_shows_firings_in_order_with_matched_and_added_facts(invoke):
    out = invoke("trace", "-a", "magnesium_status=severely_low").stdout
    lines = out.splitlines()
    fires = [line for line in lines if line.startswith("FIRE")]
    assert len(fires) > 10
    pth = next(i for i, line in enumerate(lines) if "pth.severe-deficiency-impairs-secretion" in line)
    assert lines[pth].endswith(": magnesium_status=severely_low")
    assert lines[pth + 1].strip() == "==> pth_secretion=impaired"
    order = [line.split()[2] for line in fires]
    # a rule fires only after the facts it matched were added
    assert order.index("pth.severe-deficiency-impairs-secretion") < order.index(
        "pth.impaired-secretion-functional-hypoparathyroidism"
    )


def test_trace_json_and_agenda(invoke_json, invoke):
    data = invoke_json("trace", "-a", "magnesium_status=low", "--agenda")
    steps = data["steps"]
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))
    first = steps[0]
    assert first["matched"] == [{"concept": "magnesium_status", "state": "low"}]
    assert first["agenda"] and all({"rule", "facts"} <= set(a) for a in first["agenda"])
    assert steps[-1]["agenda"] == []
    # after a firing that added nothing, the rule that fires next was waiting at
    # the head of the agenda (there are such firings here: the check is not empty)
    pairs = [(a["agenda"][0]["rule"], b["rule"]) for a, b in zip(steps, steps[1:], strict=False) if not a["added"]]
    assert pairs
    assert [head for head, _ in pairs] == [fired for _, fired in pairs]
    assert "agenda (" in invoke("trace", "-a", "magnesium_status=low", "--agenda").stdout


def test_trace_names_the_loop_only_where_a_firing_goes_round_it(invoke):
    out = invoke("trace", "-a", "magnesium_status=low").stdout
    rounds = [part for part in out.split("FIRE") if "goes round" in part]
    assert len(rounds) == 1  # second routes to a known fact (diamonds) are not loops
    assert "loop.reduced-magnesium-absorption-lowers-magnesium" in rounds[0]
    assert "goes round the magnesium-vitamin D loop" in rounds[0]


def test_trace_is_the_same_every_time(invoke):
    first = invoke("trace", "-a", "magnesium_status=low", "-a", "calcium_supplement=yes").stdout
    assert invoke("trace", "-a", "calcium_supplement=yes", "-a", "magnesium_status=low").stdout == first


# --- strength along a chain --------------------------------------------------------


def test_a_conclusion_names_its_weakest_link_with_the_hedged_quote(invoke, invoke_json):
    out = invoke("consult", "--no-input", "-a", "magnesium_rich_foods=rarely").stdout
    density = out.split("Bone mineral density: reduced  [possible]\n")[1].splitlines()[:2]
    assert density == [
        "       because Magnesium-rich foods in the diet: rarely [bone.low-magnesium-intake-lower-density]",
        '       possible, because "low intake is linked to lower bone mineral density." (mg-calcium)'
        " [bone.low-magnesium-intake-lower-density]",
    ]
    data = invoke_json("consult", "--no-input", "-a", "magnesium_rich_foods=rarely")
    by = {c["concept"]: c for c in data["conclusions"]}
    link = by["osteoporosis_risk"]["weakest_link"]
    assert link["strength"] == "possible" and link["rule"] == "bone.low-magnesium-intake-lower-density"


def test_how_shows_each_links_strength_and_the_weakest(invoke):
    out = invoke("how", "osteoporosis_risk=increased", "-a", "magnesium_rich_foods=rarely").stdout
    assert "[likely]" in out and "[possible]" in out
    assert "Strength possible: the weakest link is bone.low-magnesium-intake-lower-density [possible]" in out


# --- conflicts and the loop ----------------------------------------------------------

CONFLICT = ["-a", "magnesium_status=adequate", "-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"]


def test_conflict_side_by_side_in_consult(invoke):
    out = invoke("consult", "--no-input", *CONFLICT).stdout
    block = out.split("Conflict: Magnesium status (magnesium_status)")[1]
    header = block.splitlines()[1]
    assert "magnesium_status=low" in header and "magnesium_status=adequate" in header  # one row, two columns
    assert "loop.reduced-magnesium-absorption-lowers-" in block and "your answer (never overridden)" in block


def test_conflict_in_how_and_json(invoke, invoke_json):
    out = invoke("how", "magnesium_status=adequate", *CONFLICT).stdout
    assert "Conflict: Magnesium status" in out
    data = invoke_json("how", "magnesium_status=low", *CONFLICT)
    assert data["concluded"] is False
    sides = {s["state"]: s for s in data["conflict"]["sides"]}
    assert sides["adequate"]["given"] is True
    assert sides["low"]["added"] is False
    [tree] = sides["low"]["trees"]
    assert tree["rule"] == "loop.reduced-magnesium-absorption-lowers-magnesium"
    assert tree["premises"][0]["concept"] == "intestinal_magnesium_absorption"
    consult = invoke_json("consult", "--no-input", *CONFLICT)
    [conflict] = consult["conflicts"]
    assert {s["state"] for s in conflict["sides"]} == {"low", "adequate"}
    assert "magnesium_status=low" not in facts_of(consult)


def test_the_loop_is_named_in_how(invoke, invoke_json):
    out = invoke("how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low").stdout
    assert "LOOP: the magnesium-vitamin D loop" in out
    data = invoke_json("how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low")

    def names(node):
        found = [node["loop_name"]] if "loop" in node else []
        for route in node["derivations"]:
            for premise in route["premises"]:
                found += names(premise)
        return found

    assert set(names(data["tree"])) == {"the magnesium-vitamin D loop"}


@pytest.mark.parametrize("answers", [["-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"]])
def test_the_loop_is_named_in_consult(invoke, invoke_json, answers):
    out = invoke("consult", "--no-input", *answers).stdout
    assert "Loop: these conclusions go round the magnesium-vitamin D loop" in out
    chain = out.split("the magnesium-vitamin D loop: ")[1].splitlines()[0].split(" -> ")
    # round the loop once, from where these answers enter it (the ratio impairs
    # vitamin D activation) back to it
    assert chain == [
        "vitamin_d_activation=impaired",
        "active_vitamin_d=low",
        "intestinal_magnesium_absorption=reduced",
        "magnesium_status=low",
        "hepatic_25_hydroxylation=impaired",
        "vitamin_d_activation=impaired",
    ]
    data = invoke_json("consult", "--no-input", *answers)
    assert data["loops"][0]["loop"] == "magnesium-vitamin-d"
