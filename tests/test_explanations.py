"""The explanation commands, in text and JSON: why-not, what-if, trace,
strength along a chain, conflicts side by side, and the loop."""

from __future__ import annotations

import pytest
from conftest import facts_of

# --- why-not ---------------------------------------------------------------------


# Since any deficiency impairs PTH (issue 11), a low magnesium status concludes low
# blood calcium: the why-not tests below answer adequate, which blocks every PTH route.


def test_why_not_points_at_the_pth_step_and_the_answer_that_would_make_it_hold(invoke):
    out = invoke("why-not", "blood_calcium=low", "-a", "magnesium_status=adequate").stdout
    assert "blood_calcium=low (Blood calcium: low) was not concluded" in out
    assert "[NO] functional_hypoparathyroidism = present: not concluded" in out
    assert "[NO] pth_secretion = impaired: not concluded" in out  # blocked two steps up
    assert "[NO] magnesium_status = severely_low: answered otherwise (you answered adequate)" in out
    assert "[NO] magnesium_status in [low, severely_low]: answered otherwise (you answered adequate)" in out
    assert "[NO] magnesium_deficiency_chronic = yes: not answered" in out
    changes = out.split("The smallest change of answers that would make it hold:")[1]
    assert "magnesium_status=low (instead of adequate)" in changes
    assert "magnesium_status=severely_low (instead of adequate)" in changes
    # the chronic route needs a deficiency too: answering the chronic question alone is not enough
    assert "magnesium_deficiency_chronic" not in changes


def test_why_not_json(invoke_json):
    data = invoke_json("why-not", "blood_calcium=low", "-a", "magnesium_status=adequate")
    assert data["concluded"] is False
    [rule] = data["rules"]
    assert rule["rule"] == "pth.functional-hypoparathyroidism-lowers-blood-calcium"
    [cond] = rule["conditions"]
    assert (cond["condition"], cond["status"]) == ("functional_hypoparathyroidism = present", "not_concluded")
    [step] = cond["why_not"]
    pth = step["conditions"][0]
    assert pth["status"] == "not_concluded"
    below = {r["rule"]: r for r in pth["why_not"]}
    adequate = [{"concept": "magnesium_status", "state": "adequate"}]
    severe = below["pth.severe-deficiency-impairs-secretion"]["conditions"][0]
    assert severe["status"] == "answered_otherwise" and severe["known"] == adequate
    [any_deficiency] = below["pth.deficiency-impairs-secretion"]["conditions"]
    assert any_deficiency["status"] == "answered_otherwise" and any_deficiency["known"] == adequate
    chronic = below["pth.chronic-deficiency-impairs-secretion"]["conditions"]
    assert [c["status"] for c in chronic] == ["answered_otherwise", "not_answered"]
    assert data["smallest_changes"] == [
        [{"concept": "magnesium_status", "states": ["low"], "was": ["adequate"]}],
        [{"concept": "magnesium_status", "states": ["severely_low"], "was": ["adequate"]}],
    ]


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
        "  - magnesium_status=low (instead of adequate)\n"
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
    # low magnesium already disrupts PTH regulation through impaired PTH secretion (issue 11),
    # so high magnesium only strengthens that; little sun is what brings a gain here
    out = invoke(
        "what-if",
        "-a",
        "magnesium_status=low",
        "-a",
        "vitamin_d_supplement=none",
        "--change",
        "magnesium_status=high",
        "--change",
        "sun_exposure=low",
    ).stdout
    gained, rest = out.split("Gained")[1].split("Lost")
    lost, changed = rest.split("Strength changed")
    assert "Vitamin D status: low" in gained
    assert "by vitd.little-sun-no-supplement-low-status using sun_exposure=low" in gained
    assert "Vitamin D activation: impaired" in lost
    assert "magnesium_status=low no longer holds" in lost
    assert "~ PTH regulation of blood calcium: disrupted: likely -> established" in changed


def test_what_if_json(invoke_json):
    # from adequate: from low, severely low only strengthens the PTH route (issue 11)
    data = invoke_json("what-if", "-a", "magnesium_status=adequate", "--change", "magnesium_status=severely_low")
    gained = {g["concept"]: g for g in data["gained"]}
    assert gained["blood_calcium"]["rule"] == "pth.functional-hypoparathyroidism-lowers-blood-calcium"
    assert gained["pth_secretion"]["premises"] == [{"concept": "magnesium_status", "state": "severely_low"}]
    assert data["lost"] == []
    assert data["before"]["answers"] == {"magnesium_status": "adequate"}
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
    # any deficiency impairs PTH (issue 11): that rule fires first and adds the fact
    pth = next(i for i, line in enumerate(lines) if "pth.deficiency-impairs-secretion" in line)
    assert lines[pth].endswith(": magnesium_status=severely_low")
    assert lines[pth + 1].strip() == "==> pth_secretion=impaired"
    # the severe rule, firing later on the same answer, adds nothing new
    severe = next(i for i, line in enumerate(lines) if "pth.severe-deficiency-impairs-secretion" in line)
    assert lines[severe].endswith(": magnesium_status=severely_low")
    assert lines[severe + 1].strip() == "(nothing new: already known)"
    order = [line.split()[2] for line in fires]
    # a rule fires only after the facts it matched were added
    assert order.index("pth.deficiency-impairs-secretion") < order.index(
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


# The foods rarely eaten also stand in for magnesium status (issue 11): with adequate
# magnesium answered, those rules are set aside and are sides of the conflict as well,
# for both states they stand in for.
SET_ASIDE_RULES = [
    "diet.few-magnesium-rich-foods-compromise-calcium-metabolism",
    "diet.few-magnesium-rich-foods-suggest-deficiency",
]


def test_conflict_side_by_side_in_consult(invoke):
    out = invoke("consult", "--no-input", *CONFLICT).stdout
    block = out.split("Conflict: Magnesium status (magnesium_status)")[1]
    header = block.splitlines()[1]
    # one row, three columns
    assert header.split() == ["magnesium_status=severely_low", "magnesium_status=low", "magnesium_status=adequate"]
    assert "loop.reduced-magnesium-" in block and "absorption-lowers-magnesium" in block
    assert "your answer (never overridden)" in block
    # each set-aside rule, in both columns of the states it stands in for
    rows = block.split("\n\n")[0].splitlines()[1:]
    starts = [header.index(f"magnesium_status={state}") for state in ("severely_low", "low", "adequate")]
    columns = [
        " ".join(" ".join(row[start:end] for row in rows).split())
        for start, end in zip(starts, [*starts[1:], None], strict=True)
    ]
    for column in columns[:2]:
        assert (
            "not added: contradicts your answer"
            " by diet.few-magnesium-rich- foods-compromise-calcium- metabolism [likely],"
            " set aside: it stands in for your answer from magnesium_rich_foods=rarely"
            " by diet.few-magnesium-rich- foods-suggest-deficiency [possible],"
            " set aside: it stands in for your answer from magnesium_rich_foods=rarely"
        ) in column
    assert "loop." not in columns[0] and "by loop.reduced-magnesium-" in columns[1]
    assert "set aside" not in columns[2]


def test_conflict_in_how_and_json(invoke, invoke_json):
    out = invoke("how", "magnesium_status=adequate", *CONFLICT).stdout
    assert "Conflict: Magnesium status" in out
    data = invoke_json("how", "magnesium_status=low", *CONFLICT)
    assert data["concluded"] is False
    sides = {s["state"]: s for s in data["conflict"]["sides"]}
    assert sides["adequate"]["given"] is True
    assert sides["low"]["added"] is False
    *set_aside, tree = sides["low"]["trees"]
    assert [t["rule"] for t in set_aside] == SET_ASIDE_RULES
    assert all(t["set_aside"] is True for t in set_aside)
    assert [[(p["concept"], p["state"], p["given"]) for p in t["premises"]] for t in set_aside] == [
        [("magnesium_rich_foods", "rarely", True)]
    ] * 2
    assert tree["rule"] == "loop.reduced-magnesium-absorption-lowers-magnesium"
    assert "set_aside" not in tree
    assert tree["premises"][0]["concept"] == "intestinal_magnesium_absorption"
    assert [t["rule"] for t in sides["severely_low"]["trees"]] == SET_ASIDE_RULES
    consult = invoke_json("consult", "--no-input", *CONFLICT)
    [conflict] = consult["conflicts"]
    assert {s["state"] for s in conflict["sides"]} == {"severely_low", "low", "adequate"}
    assert "magnesium_status=low" not in facts_of(consult)
    assert "magnesium_status=severely_low" not in facts_of(consult)


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
