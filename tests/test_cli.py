"""The command line as a user meets it: output, JSON, exit codes, errors."""

from __future__ import annotations

import json
import re

import pytest
from conftest import facts_of

from cofactor.cli import cli

COMMANDS = ["consult", "how", "why-not", "what-if", "trace", "rules", "concepts", "batch", "check", "reference"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_of_every_command_ends_with_examples(invoke, command, flag):
    result = invoke(command, flag)
    assert result.stdout.startswith(f"Usage: cofactor {command} [OPTIONS]")
    assert result.stderr == ""
    # the description's last paragraph: "Examples:", then only examples of this command
    description, options = result.stdout.split("\n\nOptions:\n")
    head, examples = description.split("\n\n  Examples:\n")
    assert "Examples:" not in head
    lines = examples.splitlines()
    assert len(lines) >= 2
    # each an indented command line running this command, e.g. "cofactor --rules my.toml rules"
    for line in lines:
        assert line.startswith("    ") and not line.startswith("     "), line
        words = line.split()
        assert "cofactor" in words and command in words[words.index("cofactor") + 1 :], line
    assert options.rstrip().endswith("Show this message and exit.")  # and nothing after the options


def test_group_help_lists_every_command(invoke):
    result = invoke("--help")
    listed = result.stdout.split("\nCommands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed] == sorted(COMMANDS)
    examples = result.stdout.split("\n  Examples:\n")[1].split("\n\n")[0].splitlines()
    assert examples[0] == "    cofactor consult"
    assert all(line.startswith("    cofactor ") for line in examples)


def test_every_command_is_registered():
    assert sorted(cli.commands) == sorted(COMMANDS)


def test_version(invoke):
    from cofactor.engine import __version__

    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)
    result = invoke("--version")
    assert (result.stdout, result.stderr) == (f"cofactor {__version__}\n", "")


def test_consult_json_shape(invoke_json):
    data = invoke_json("consult", "--no-input", "-a", "magnesium_status=low")
    assert data["answers"] == {"magnesium_status": "low"}
    assert data["conflicts"] == []
    by_fact = {(c["concept"], c["state"]): c for c in data["conclusions"]}
    activation = by_fact[("vitamin_d_activation", "impaired")]
    assert activation["label"] == "Vitamin D activation"
    assert activation["strength"] == "established"
    assert activation["derivations"]
    for derivation in activation["derivations"]:
        assert set(derivation) == {"rule", "file", "premises"}
        assert derivation["file"].startswith("rules/") and derivation["file"].endswith(".toml")
        assert all(set(p) == {"concept", "state"} for p in derivation["premises"])
    # every derived fact once, answers not among them
    assert len(by_fact) == len(data["conclusions"])
    assert ("magnesium_status", "low") not in by_fact


def test_consult_acceptance_severely_low(invoke_json):
    data = invoke_json("consult", "--no-input", "-a", "magnesium_status=severely_low")
    assert {"pth_secretion=impaired", "blood_calcium=low"} <= facts_of(data)


def test_consult_json_is_the_only_output(invoke):
    result = invoke("consult", "--no-input", "--json", "-a", "magnesium_status=low")
    json.loads(result.stdout)
    assert result.stderr == ""


def test_json_flag_on_the_group_too(invoke):
    result = invoke("--json", "consult", "--no-input", "-a", "magnesium_status=low")
    assert json.loads(result.stdout)["answers"] == {"magnesium_status": "low"}


def test_consult_text_groups_conclusions(invoke):
    out = invoke(
        "consult", "--no-input", "-a", "magnesium_status=severely_low", "-a", "vitamin_d_supplement=standard"
    ).stdout
    assert out.index("Mechanisms") < out.index("Outcomes") < out.index("Advice")
    assert "Blood calcium: low  [established]" in out
    assert "because Functional hypoparathyroidism" in out
    assert "does not diagnose or prescribe" in out


def test_multi_valued_answers_as_comma_list_or_repeated(invoke_json):
    a = invoke_json("consult", "--no-input", "-a", "symptom=fatigue,nausea")
    b = invoke_json("consult", "--no-input", "-a", "symptom=nausea", "-a", "symptom=fatigue")
    assert a["answers"] == b["answers"] == {"symptom": ["fatigue", "nausea"]}
    assert a["conclusions"] == b["conclusions"]


def test_aliases_and_case_are_accepted(invoke_json):
    data = invoke_json("consult", "--no-input", "-a", "Magnesium=Severely-Low")
    assert data["answers"] == {"magnesium_status": "severely_low"}


def test_unknown_is_the_same_as_not_answering(invoke_json):
    a = invoke_json("consult", "--no-input", "-a", "magnesium_status=unknown")
    b = invoke_json("consult", "--no-input")
    assert a["conclusions"] == b["conclusions"] and a["answers"] == {}


@pytest.mark.parametrize(
    "suffix,content",
    [
        (".toml", 'magnesium_status = "low"\nsymptom = ["fatigue"]\n'),
        (".json", '{"magnesium_status": "low", "symptom": ["fatigue"]}'),
    ],
)
def test_answers_file_and_flags_override_it(invoke_json, tmp_path, suffix, content):
    path = tmp_path / f"case{suffix}"
    path.write_text(content, encoding="utf-8")
    data = invoke_json("consult", "--no-input", "--answers", str(path))
    assert data["answers"] == {"magnesium_status": "low", "symptom": ["fatigue"]}
    data = invoke_json("consult", "--no-input", "--answers", str(path), "-a", "magnesium_status=high")
    assert data["answers"]["magnesium_status"] == "high"
    data = invoke_json("consult", "--no-input", "--answers", str(path), "-a", "magnesium_status=unknown")
    assert "magnesium_status" not in data["answers"]


def test_how_shows_the_chain_through_pth_with_quotes(invoke):
    out = invoke("how", "blood_calcium=low", "-a", "magnesium_status=severely_low").stdout
    for step in [
        "blood_calcium=low",
        "functional_hypoparathyroidism=present",
        "pth_secretion=impaired",
        "magnesium_status=severely_low",
        "pth.severe-deficiency-impairs-secretion",
    ]:
        assert step in out
    assert '"Severe magnesium deficiency impairs PTH production and release"' in out
    # from the conclusion down to the answer, in that order
    lines = out.splitlines()
    assert lines[0] == "blood_calcium=low  (Blood calcium: low)  [established]"
    facts = [line.split("└─ ")[1].split("  ")[0] for line in lines if "└─ " in line and "by rule" not in line]
    # two routes to impaired PTH (any deficiency, and the severe one), each from the answer
    assert facts == [
        "functional_hypoparathyroidism=present",
        "pth_secretion=impaired",
        "magnesium_status=severely_low",
        "magnesium_status=severely_low",
    ]
    assert "               └─ magnesium_status=severely_low  [your answer]" in out


def test_how_json_tree(invoke_json):
    data = invoke_json("how", "blood_calcium=low", "-a", "magnesium_status=severely_low")
    assert data["concluded"] is True and data["strength"] == "established"
    node, chain = data["tree"], []
    while node["derivations"]:
        # the last route: impaired PTH has two (any deficiency, then the severe one)
        route = node["derivations"][-1]
        assert route["sources"] and route["sources"][0]["quote"]
        chain.append(route["rule"])
        node = route["premises"][0]
    assert (node["concept"], node["state"], node["given"]) == ("magnesium_status", "severely_low", True)
    assert "pth.severe-deficiency-impairs-secretion" in chain


def test_how_shows_every_route(invoke_json):
    data = invoke_json("how", "vitamin_d_activation=impaired", "-a", "magnesium_status=low")
    rules = {d["rule"] for d in data["tree"]["derivations"]}
    assert rules == {"vitd.impaired-liver-step-impairs-activation", "vitd.impaired-kidney-step-impairs-activation"}


def test_how_marks_the_loop_and_terminates(invoke, invoke_json):
    out = invoke("how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low").stdout
    assert "LOOP" in out and "loop.reduced-magnesium-absorption-lowers-magnesium" in out
    data = invoke_json("how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low")

    def loops(node):
        found = [node["loop"]] if "loop" in node else []
        for route in node["derivations"]:
            for premise in route["premises"]:
                found += loops(premise)
        return found

    found = loops(data["tree"])
    assert found and all(loop[0] == loop[-1] for loop in found)


def test_how_of_a_fact_not_concluded(invoke, invoke_json):
    # (a low status now reaches low blood calcium: any deficiency can impair PTH)
    out = invoke("how", "blood_calcium=low", "-a", "magnesium_status=adequate").stdout
    assert "blood_calcium=low was not concluded" in out
    assert invoke_json("how", "blood_calcium=low")["concluded"] is False


def test_rules_json_lists_the_whole_knowledge_base(invoke_json, kb):
    data = invoke_json("rules")
    assert isinstance(data, list) and len(data) == len(kb.rules)
    for rule in data:
        assert {"id", "conditions", "conclusions", "strength", "sources"} <= set(rule)
        assert rule["strength"] in ("established", "likely", "possible")
        assert all(set(s) == {"document", "quote"} for s in rule["sources"])
        assert all(s["document"] in ("mg-calcium", "mg-vitamin-d") for s in rule["sources"])


def test_rules_text_and_filter(invoke, invoke_json):
    out = invoke("rules", "--concept", "pth_secretion").stdout
    # exactly the rules that use or conclude pth_secretion, each headed by id, strength and file
    every = invoke_json("rules")
    expected = sorted(
        (r["id"], r["strength"], r["file"])
        for r in every
        if "pth_secretion" in {c["concept"] for c in r["conditions"] + r["conclusions"]}
    )
    *blocks, count = out.strip().split("\n\n")
    assert count == f"{len(expected)} rules"
    headers = [block.splitlines()[0].split("  ") for block in blocks]
    assert sorted((h[0], h[1].strip("[]"), h[2]) for h in headers) == expected
    assert ("pth.severe-deficiency-impairs-secretion", "established", "rules/pth.toml") in expected
    assert len(expected) < len(every)
    assert (
        "pth.severe-deficiency-impairs-secretion  [established]  rules/pth.toml\n"
        "  Severe magnesium deficiency impairs PTH secretion\n"
        "  when  magnesium_status = severely_low\n"
        "  then  pth_secretion=impaired\n"
    ) in out


def test_concepts_text_and_json(invoke, invoke_json):
    out = invoke("concepts").stdout
    assert out.startswith(
        "Questions (asked in this order)\n"
        "  magnesium_status  Magnesium status: severely_low, low, adequate, high\n"
        "      asks: What is your magnesium status (from a blood test, or your best estimate)?\n"
    )
    data = invoke_json("concepts")
    by_id = {c["id"]: c for c in data}
    assert by_id["magnesium_status"]["kind"] == "question"
    assert by_id["blood_calcium"]["kind"] == "outcome"
    assert by_id["symptom"]["multi"] is True
    assert data[0]["id"] == "magnesium_status"


# --- the contract's error table --------------------------------------------------


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["consult", "--no-input", "-a", "magnesium_stauts=low"],
            ["unknown concept 'magnesium_stauts'", "did you mean 'magnesium_status'"],
        ),
        (
            ["consult", "--no-input", "-a", "magnesium_status=lwo"],
            [
                "'lwo' is not a state of 'magnesium_status'",
                "did you mean 'low'",
                "Allowed: severely_low, low, adequate, high, unknown",
            ],
        ),
        (["consult", "--no-input", "-a", "magnesium_status"], ["malformed answer 'magnesium_status'", "CONCEPT=STATE"]),
        (["consult", "--no-input", "-a", "=low"], ["malformed answer '=low'"]),
        (["consult", "--no-input", "-a", "magnesium_status="], ["malformed answer", "state is missing"]),
        (["consult", "--no-input", "-a", "magnesium_status=low,high"], ["takes one state"]),
        (
            ["consult", "--no-input", "-a", "magnesium_status=low", "-a", "magnesium_status=high"],
            ["answered more than once"],
        ),
        (["consult", "--no-input", "-a", "symptom=none,fatigue"], ["'none' cannot be combined"]),
        (["consult", "--no-input", "-a", "blood_calcium=low"], ["concluded by the rules, not asked"]),
        (["consult", "--no-input", "--answers", "does-not-exist.toml"], ["does-not-exist.toml", "does not exist"]),
        (["how", "blood_calcium=lo"], ["'lo' is not a state of 'blood_calcium'", "did you mean 'low'"]),
        (["how", "bloodcalcium=low"], ["unknown concept 'bloodcalcium'", "did you mean 'blood_calcium'"]),
        (["rules", "--concept", "pth_secretoin"], ["did you mean 'pth_secretion'"]),
    ],
)
def test_bad_values_exit_2_with_one_clear_line(invoke, args, expected):
    result = invoke(*args, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in result.stderr


def test_unknown_command_and_option_exit_2(invoke):
    result = invoke("consul", expect=2)
    # click suggests the command; one line
    assert result.stderr == "Error: No such command 'consul'. Did you mean 'consult'? (see 'cofactor --help')\n"
    result = invoke("consult", "--no-such-option", expect=2)
    assert result.stderr == "Error: No such option '--no-such-option'. (see 'cofactor consult --help')\n"


@pytest.mark.parametrize(
    "content,expected",
    [
        ("magnesium_status = \n", "not valid TOML"),
        ('{"magnesium_status": 3}', "must be a state or a list of states"),
        ('["magnesium_status"]', "must hold a mapping"),
    ],
)
def test_bad_answers_files_exit_2(invoke, tmp_path, content, expected):
    path = tmp_path / ("case.json" if content.startswith(("{", "[")) else "case.toml")
    path.write_text(content, encoding="utf-8")
    result = invoke("consult", "--no-input", "--answers", str(path), expect=2)
    assert result.stderr.startswith("Error: answers file")
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_answers_file_that_is_a_folder_exits_2(invoke, tmp_path):
    result = invoke("consult", "--no-input", "--answers", str(tmp_path), expect=2)
    assert result.stderr == f"Error: answers file '{tmp_path}' is a folder; name a .toml or .json file\n"


def test_bad_rule_file_exits_1_naming_file_rule_and_fix(invoke, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        """
[[rule]]
id = "mine.typo"
title = "A typo"
when = ["magnesium_stauts = low"]
then = ["blood_calcium = low"]
strength = "likely"
sources = [{ document = "mg-calcium", quote = "Severe magnesium deficiency impairs PTH production and release" }]
""",
        encoding="utf-8",
    )
    result = invoke("--rules", str(path), "consult", "--no-input", "-a", "magnesium_status=low", expect=1)
    assert "mine.toml: rule 'mine.typo': when: unknown concept 'magnesium_stauts'" in result.stderr
    assert "did you mean 'magnesium_status'" in result.stderr


def test_rules_extension_is_used(invoke_json, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        """
[[concept]]
id = "teaching_note"
kind = "outcome"
states = ["shown"]

[[rule]]
id = "mine.note"
title = "Low magnesium gets a teaching note"
when = ["magnesium_status = low"]
then = ["teaching_note = shown"]
strength = "possible"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]
""",
        encoding="utf-8",
    )
    data = invoke_json("consult", "--rules", str(path), "--no-input", "-a", "magnesium_status=low")
    assert "teaching_note=shown" in facts_of(data)
