"""Every command's --json output validates against schema/cofactor.schema.json.

The schema has one entry in ``$defs`` per document (consult, batch_line, how,
why_not, what_if, trace, rules, concepts). Each case below runs a command
in-process and checks its output against its entry, and also checks that the
output really shows the variant the case is there for (a loop, a conflict, an
agenda...), so that a change of knowledge base cannot quietly leave a part
of the schema untried. The last tests make sure the schema can fail.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import PROJECT
from jsonschema import Draft202012Validator

SCHEMA_PATH = PROJECT / "schema" / "cofactor.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
DOCUMENTS = ("consult", "batch_line", "how", "why_not", "what_if", "trace", "rules", "concepts", "check")

# the knowledge base's own conflict: a rule concludes magnesium_status=low against the answer
CONFLICT = ["-a", "magnesium_status=adequate", "-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"]
# the built-in tension between the sources (severe or any deficiency impairing PTH)
TENSION = "pth-severe-or-any-deficiency"
EXTRA = "<extra rules>"  # replaced by the path of the file EXTRA_RULES is written to

# Rules added with --rules for what the built-in ones never show: a concept
# derived in two states (both sides added), a loop the knowledge base does
# not name, a rule with only a 'not' condition (a derivation without
# premises), and a rule that replaces a built-in one.
EXTRA_RULES = """
[[concept]]
id = "teaching_flag"
kind = "outcome"
states = ["up", "down"]

[[concept]]
id = "echo_a"
kind = "mechanism"
states = ["on"]

[[concept]]
id = "echo_b"
kind = "mechanism"
states = ["on"]

[[rule]]
id = "schema.flag-up"
title = "Low magnesium raises the flag"
when = ["magnesium_status = low"]
then = ["teaching_flag = up"]
strength = "possible"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.flag-down"
title = "Low magnesium without calcium supplements lowers the flag"
when = ["magnesium_status = low", "not calcium_supplement = yes"]
then = ["teaching_flag = down"]
strength = "likely"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.a-from-flag"
title = "A raised flag starts an unnamed loop"
when = ["teaching_flag = up"]
then = ["echo_a = on"]
strength = "likely"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.b-from-a"
title = "The unnamed loop, one way"
when = ["echo_a = on"]
then = ["echo_b = on"]
strength = "likely"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.a-from-b"
title = "The unnamed loop, back"
when = ["echo_b = on"]
then = ["echo_a = on"]
strength = "established"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.only-not"
title = "Only a negated condition"
when = ["not sun_exposure = low"]
then = ["echo_b = on"]
strength = "possible"
sources = [{ document = "mg-calcium", quote = "Magnesium is essential for activating vitamin D." }]

[[rule]]
id = "schema.severe-deficiency"
title = "Severe magnesium deficiency impairs PTH secretion (my version)"
replaces = "pth.severe-deficiency-impairs-secretion"
when = ["magnesium_status = severely_low"]
then = ["pth_secretion = impaired"]
strength = "likely"
sources = [{ document = "mg-calcium", quote = "Severe magnesium deficiency impairs PTH production and release" }]
"""


@functools.cache
def validator(document: str | None = None) -> Draft202012Validator:
    """A validator for one document of the schema (an entry of its $defs),
    or with None for the whole schema (any one of them)."""
    Draft202012Validator.check_schema(SCHEMA)
    if document is None:
        return Draft202012Validator(SCHEMA)
    root = {key: value for key, value in SCHEMA.items() if key != "anyOf"}
    return Draft202012Validator({**root, "$ref": f"#/$defs/{document}"})


def problems(document: str, data: Any) -> list[str]:
    found = sorted(validator(document).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in found]


def assert_valid(document: str, data: Any) -> None:
    found = problems(document, data)
    assert not found, f"not a valid {document} document:\n" + "\n".join(found[:10])


def nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON document, depth first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from nodes(value)
    elif isinstance(data, list):
        for value in data:
            yield from nodes(value)


def anywhere(data: Any, test: Callable[[dict[str, Any]], bool]) -> bool:
    return any(test(node) for node in nodes(data))


def both_sides(kinds: set[str]) -> Callable[[Any], bool]:
    """A how whose conflict has sides explained as ``kinds`` ("tree", "trees")."""

    def shows(d: Any) -> bool:
        sides = d["conflict"]["sides"] if d["conflict"] else []
        return {"tree" if "tree" in s else "trees" if "trees" in s else "neither" for s in sides} == kinds

    return shows


class Case(NamedTuple):
    name: str
    document: str  # its entry in the schema's $defs
    args: tuple[str, ...]  # the command line, without --json
    shows: Callable[[Any], bool]  # the variant this case is there for


def case(name: str, document: str, args: list[str], shows: Callable[[Any], bool]) -> Case:
    return Case(name, document, tuple(args), shows)


CASES = [
    # --- consult
    case("consult-nothing-answered", "consult", ["consult", "--no-input"], lambda d: d["answers"] == {}),
    case(
        "consult-weakest-link",
        "consult",
        ["consult", "--no-input", "-a", "magnesium_rich_foods=rarely"],
        lambda d: any(c.get("weakest_link", {}).get("strength") == "possible" for c in d["conclusions"]),
    ),
    case(
        "consult-multi-valued-answer-and-not-asked",
        "consult",
        [
            "consult",
            "--no-input",
            "-a",
            "magnesium_status=low",
            "-a",
            "calcium_supplement=yes",
            "-a",
            "symptom=fatigue,nausea",
        ],
        lambda d: d["answers"]["symptom"] == ["fatigue", "nausea"] and d["not_asked"],
    ),
    case(
        "consult-named-loop",
        "consult",
        ["consult", "--no-input", "-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"],
        lambda d: any(loop["loop"] == "magnesium-vitamin-d" for loop in d["loops"]),
    ),
    case(
        "consult-conflict-with-an-answer",
        "consult",
        ["consult", "--no-input", *CONFLICT],
        lambda d: any(not s["added"] for c in d["conflicts"] for s in c["sides"]),
    ),
    case(
        "consult-two-derived-states-unnamed-loop-no-premises",
        "consult",
        ["--rules", EXTRA, "consult", "--no-input", "-a", "magnesium_status=low"],
        lambda d: (
            any(all(s["added"] for s in c["sides"]) for c in d["conflicts"])
            and any(loop["loop"] is None for loop in d["loops"])
            and any(j["premises"] == [] for c in d["conclusions"] for j in c["derivations"])
        ),
    ),
    case(
        "consult-a-tension",
        "consult",
        ["consult", "--no-input", "-a", "magnesium_status=severely_low"],
        lambda d: any(t["id"] == TENSION for t in d["tensions"]),
    ),
    # --- how
    case(
        "how-a-tension-with-both-quotes",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=low", "-a", "magnesium_deficiency_chronic=yes"],
        lambda d: any(t["id"] == TENSION and len(t["sides"]) == 2 for t in d["tensions"]),
    ),
    case(
        "how-a-conclusion",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d["concluded"] and d["tree"]["derivations"],
    ),
    case(
        "how-round-the-loop",
        "how",
        ["how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low"],
        lambda d: (
            anywhere(d["tree"], lambda n: "loop" in n and n["loop_name"] == "the magnesium-vitamin D loop")
            and anywhere(d["tree"], lambda n: n.get("given") is True and bool(n.get("derivations")))
        ),
    ),
    case(
        "how-see-above",
        "how",
        ["how", "calcium_treatment_response=poor", "-a", "magnesium_status=severely_low"],
        lambda d: anywhere(d["tree"], lambda n: n.get("see_above") is True),
    ),
    case(
        "how-an-answer",
        "how",
        ["how", "magnesium_status=low", "-a", "magnesium_status=low"],
        lambda d: d["given"] and d["strength"] == "given" and d["tree"]["given"],
    ),
    case(
        "consult-set-aside-stand-in",
        "consult",
        ["consult", "--no-input", "-a", "calcium_supplement=yes"]
        + ["-a", "magnesium_status=adequate", "-a", "magnesium_rich_foods=rarely"],
        lambda d: (
            d["set_aside"]
            and any(x.get("set_aside") for c in d["conflicts"] for side in c["sides"] for x in side["derivations"])
        ),
    ),
    case(
        "trace-set-aside",
        "trace",
        ["trace", "-a", "magnesium_status=adequate", "-a", "magnesium_rich_foods=rarely"],
        lambda d: any(s.get("set_aside") for s in d["steps"]),
    ),
    case(
        "why-not-set-aside",
        "why_not",
        ["why-not", "magnesium_deficiency_suspected=possible", "-a", "magnesium_status=adequate"]
        + ["-a", "symptom=fatigue"],
        lambda d: any(r.get("set_aside") for r in d["rules"]),
    ),
    case(
        "how-conflict-set-aside-side",
        "how",
        ["how", "magnesium_status=low", "-a", "magnesium_status=adequate", "-a", "magnesium_rich_foods=rarely"],
        lambda d: anywhere(d["conflict"], lambda n: n.get("set_aside") is True and "trees" not in n),
    ),
    case(
        "how-not-concluded",
        "how",
        ["how", "blood_calcium=low", "-a", "magnesium_status=adequate"],
        lambda d: not d["holds"] and d["tree"] is None and d["strength"] is None,
    ),
    case(
        "how-conflict-blocked-side",
        "how",
        ["how", "magnesium_status=low", *CONFLICT],
        lambda d: not d["holds"] and both_sides({"tree", "trees"})(d),
    ),
    case(
        "how-conflict-answered-side",
        "how",
        ["how", "magnesium_status=adequate", *CONFLICT],
        lambda d: d["given"] and both_sides({"tree", "trees"})(d),
    ),
    case(
        "how-conflict-two-derived-states",
        "how",
        ["--rules", EXTRA, "how", "teaching_flag=up", "-a", "magnesium_status=low"],
        both_sides({"tree"}),
    ),
    case(
        "how-unnamed-loop",
        "how",
        ["--rules", EXTRA, "how", "echo_a=on", "-a", "magnesium_status=low", "-a", "sun_exposure=low"],
        lambda d: anywhere(d["tree"], lambda n: "loop" in n and n["loop_name"] is None),
    ),
    # --- why-not
    case(
        "why-not-a-tension",
        "why_not",
        ["why-not", "pth_secretion=impaired", "-a", "magnesium_status=adequate"],
        lambda d: any(t["id"] == TENSION for t in d["tensions"]),
    ),
    case(
        "why-not-holds",
        "why_not",
        ["why-not", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d["concluded"] and d["see"] == "cofactor how pth_secretion=impaired",
    ),
    case(
        "why-not-given",
        "why_not",
        ["why-not", "magnesium_status=low", "-a", "magnesium_status=low"],
        lambda d: d["given"] and d["strength"] == "given",
    ),
    case(
        "why-not-blocked-by-an-answer",
        "why_not",
        ["why-not", "magnesium_status=low", *CONFLICT],
        lambda d: d["blocked_by_answer"] is True and d["conflict"] is not None,
    ),
    case(
        "why-not-smallest-changes",
        "why_not",
        ["why-not", "advice_combined_supplement=worth_discussing", "-a", "magnesium_status=adequate"],
        lambda d: (
            any(c["was"] is None for option in d["smallest_changes"] for c in option)
            and any(c["was"] == ["adequate"] for option in d["smallest_changes"] for c in option)
            and anywhere(d["rules"], lambda n: n.get("status") == "answered_otherwise")
        ),
    ),
    case(
        "why-not-loop-and-see-above",
        "why_not",
        ["why-not", "active_vitamin_d=low"],
        lambda d: (
            anywhere(d["rules"], lambda n: n.get("loop") is True)
            and anywhere(d["rules"], lambda n: n.get("see_above") is True)
        ),
    ),
    case(
        "why-not-unknown",
        "why_not",
        ["why-not", "bone_crystal_structure=altered", "-a", "magnesium_rich_foods=unknown"],
        lambda d: anywhere(d["rules"], lambda n: n.get("status") == "unknown"),
    ),
    case(
        "why-not-present",
        "why_not",
        ["why-not", "magnesium_status=low", "-a", "magnesium_status=severely_low"],
        lambda d: anywhere(d["rules"], lambda n: n.get("status") == "present"),
    ),
    case(
        "why-not-change-to-unknown",
        "why_not",
        ["why-not", "advice_check_magnesium=recommended", "-a", "vitamin_d_supplement=standard"]
        + ["-a", "magnesium_status=adequate"],
        lambda d: any(c["states"] == [] for option in d["smallest_changes"] for c in option),
    ),
    case(
        "why-not-unnamed-loop",
        "why_not",
        ["--rules", EXTRA, "why-not", "echo_a=on", "-a", "magnesium_status=adequate", "-a", "sun_exposure=low"],
        lambda d: anywhere(d["rules"], lambda n: n.get("loop") is True and n["loop_name"] is None),
    ),
    # --- what-if
    case(
        "what-if-gained-lost-strength-changed-note",
        "what_if",
        ["what-if", "-a", "calcium_supplement=yes", "-a", "magnesium_rich_foods=rarely"]
        + ["--change", "magnesium_status=high"],
        lambda d: d["gained"] and d["lost"] and d["strength_changed"] and anywhere(d["lost"], lambda n: "note" in n),
    ),
    case(
        "what-if-an-answer-made-unknown",
        "what_if",
        ["what-if", "-a", "calcium_intake=high", "-a", "magnesium_rich_foods=rarely"]
        + ["--change", "magnesium_rich_foods=unknown", "--change", "calcium_intake=low"],
        lambda d: d["lost"] and not d["gained"],
    ),
    case(
        "what-if-conflict-before",
        "what_if",
        ["what-if", *CONFLICT, "--change", "magnesium_status=low"],
        lambda d: d["before"]["conflicts"] and not d["after"]["conflicts"],
    ),
    # --- trace
    case(
        "trace",
        "trace",
        ["trace", "-a", "magnesium_status=low"],
        lambda d: d["steps"] and all("agenda" not in s for s in d["steps"]),
    ),
    case(
        "trace-agenda",
        "trace",
        ["trace", "--agenda", "-a", "magnesium_status=low"],
        lambda d: d["steps"] and all("agenda" in s for s in d["steps"]) and d["steps"][0]["agenda"],
    ),
    case(
        "trace-blocked",
        "trace",
        ["trace", *CONFLICT],
        lambda d: any(s["blocked"] for s in d["steps"]),
    ),
    case("trace-nothing-fires", "trace", ["trace"], lambda d: d["steps"] == []),
    # --- rules and concepts
    case("rules", "rules", ["rules"], lambda d: any(c["negated"] for r in d for c in r["conditions"])),
    case(
        "rules-concept",
        "rules",
        ["rules", "--concept", "pth_secretion"],
        lambda d: (
            bool(d) and all("pth_secretion" in {c["concept"] for c in r["conditions"] + r["conclusions"]} for r in d)
        ),
    ),
    case(
        "rules-in-a-tension",
        "rules",
        ["rules", "--concept", "pth_secretion"],
        lambda d: any(r["tensions"] == [TENSION] for r in d) and any(r["tensions"] == [] for r in d),
    ),
    case(
        "rules-extended-and-replaced",
        "rules",
        ["--rules", EXTRA, "rules"],
        lambda d: any(r.get("replaces") == "pth.severe-deficiency-impairs-secretion" for r in d),
    ),
    case(
        "concepts",
        "concepts",
        ["concepts"],
        lambda d: (
            {c["kind"] for c in d} == {"question", "mechanism", "outcome", "advice"} and any(c["multi"] for c in d)
        ),
    ),
    case(
        "concepts-extended", "concepts", ["--rules", EXTRA, "concepts"], lambda d: any(c["id"] == "echo_a" for c in d)
    ),
    # --- check (a knowledge base with errors is tried below: it exits 1)
    case(
        "check",
        "check",
        ["check"],
        lambda d: (
            d["ok"]
            and d["exhaustive"]["complete"]
            and d["exhaustive"]["conflicts"]
            and {f["level"] for f in d["findings"]} >= {"warning", "info"}
        ),
    ),
]


@pytest.fixture(scope="module")
def extra_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema-rules") / "extra.toml"
    path.write_text(EXTRA_RULES, encoding="utf-8")
    return path


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(DOCUMENTS) <= set(SCHEMA["$defs"])
    # the version: in the object documents, and in the schema's own id for the lists
    assert SCHEMA["$defs"]["format_version"]["const"] == 1
    assert "/1/" in SCHEMA["$id"]
    for document in DOCUMENTS:
        if document not in ("rules", "concepts", "batch_line", "consult"):
            assert "format_version" in SCHEMA["$defs"][document]["required"], document
    assert "format_version" in SCHEMA["$defs"]["consultation"]["required"]


def test_every_command_with_json_output_is_covered() -> None:
    from cofactor.cli import cli

    with_json = {
        name
        for name, command in cli.commands.items()
        if any("--json" in getattr(p, "opts", ()) for p in command.params) and not command.hidden
    }
    assert with_json, "no command has --json?"
    covered = {next(a for a in c.args if not a.startswith("-") and a != EXTRA) for c in CASES} | {"batch"}
    assert with_json <= covered, f"no schema test for: {sorted(with_json - covered)}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_json_output_matches_the_schema(invoke: Any, extra_rules: Path, case: Case) -> None:
    args = [str(extra_rules) if a == EXTRA else a for a in case.args]
    data = json.loads(invoke(*args, "--json").stdout)
    assert case.shows(data), f"{case.name}: the output no longer shows what this case is for"
    assert_valid(case.document, data)
    assert validator().is_valid(data)  # and so the schema as a whole accepts it


@pytest.mark.parametrize(
    ("name", "text", "labels"),
    [
        (
            "class.csv",
            'magnesium_status,symptom\nlow,"fatigue,nausea"\nadequate,\n,\n',
            [("row", 2), ("row", 3), ("row", 4)],
        ),
        ("cases.jsonl", '{"magnesium_status": "severely_low"}\n{"calcium_intake": "high"}\n', [("row", 1), ("row", 2)]),
        (
            "cases.toml",
            '[alice]\nmagnesium_status = "low"\n\n[bob]\ncalcium_intake = "high"\n',
            [("case", "alice"), ("case", "bob")],
        ),
    ],
    ids=["csv", "jsonl", "toml"],
)
def test_batch_json_lines_match_the_schema(
    invoke: Any, tmp_path: Path, name: str, text: str, labels: list[tuple[str, object]]
) -> None:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    out = invoke("batch", str(source), "--json").stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(labels), out
    assert [(key, line.get(key)) for (key, _), line in zip(labels, lines, strict=True)] == labels
    for line in lines:
        assert_valid("batch_line", line)


# --- the schema can fail -----------------------------------------------------------


def _output(invoke: Any, *args: str) -> Any:
    """A real output as the deliberate starting point of a broken copy: with
    format_version set, so that only the breakage makes it invalid."""
    data = json.loads(invoke(*args, "--json").stdout)
    if isinstance(data, dict):
        data["format_version"] = 1
    return data


def _broken(data: Any, breakage: Callable[[Any], object]) -> Any:
    copied = copy.deepcopy(data)
    breakage(copied)
    return copied


def _first_node(data: Any, key: str) -> dict[str, Any]:
    return next(n for n in nodes(data) if key in n)


BREAKAGES: list[tuple[str, str, list[str], Callable[[Any], object]]] = [
    ("format_version-missing", "consult", ["consult", "--no-input"], lambda d: d.pop("format_version")),
    ("format_version-2", "how", ["how", "magnesium_status=low"], lambda d: d.update(format_version=2)),
    ("format_version-a-string", "trace", ["trace"], lambda d: d.update(format_version="1")),
    (
        "conclusion-strength-outside-the-enum",
        "consult",
        ["consult", "--no-input", "-a", "magnesium_status=low"],
        lambda d: d["conclusions"][0].update(strength="certain"),
    ),
    (
        "conclusion-strength-given",
        "consult",
        ["consult", "--no-input", "-a", "magnesium_status=low"],
        lambda d: d["conclusions"][0].update(strength="given"),
    ),
    (
        "how-node-strength-outside-the-enum",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d["tree"]["derivations"][0]["premises"][0].update(strength="strong"),
    ),
    (
        "how-node-unknown-key",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d["tree"].update(depth=1),
    ),
    (
        "how-holds-without-a-tree",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d.update(tree=None),
    ),
    (
        "how-loop-without-its-name",
        "how",
        ["how", "intestinal_magnesium_absorption=reduced", "-a", "magnesium_status=low"],
        lambda d: _first_node(d["tree"], "loop").pop("loop_name"),
    ),
    (
        "why-not-status-outside-the-enum",
        "why_not",
        ["why-not", "blood_calcium=low", "-a", "magnesium_status=adequate"],
        lambda d: d["rules"][0]["conditions"][0].update(status="failed"),
    ),
    (
        "why-not-missing-smallest-changes",
        "why_not",
        ["why-not", "blood_calcium=low", "-a", "magnesium_status=adequate"],
        lambda d: d.pop("smallest_changes"),
    ),
    (
        "why-not-holds-with-rules",
        "why_not",
        ["why-not", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d.update(rules=[]),
    ),
    (
        "what-if-strength-changed-outside-the-enum",
        "what_if",
        [
            "what-if",
            "-a",
            "calcium_intake=high",
            "-a",
            "magnesium_rich_foods=rarely",
            "--change",
            "magnesium_status=low",
        ],
        lambda d: d["strength_changed"][0].update(after="very likely"),
    ),
    (
        "trace-agenda-on-some-steps-only",
        "trace",
        ["trace", "--agenda", "-a", "magnesium_status=low"],
        lambda d: d["steps"][0].pop("agenda"),
    ),
    (
        "rule-strength-given",
        "rules",
        ["rules"],
        lambda d: d[0].update(strength="given"),
    ),
    ("concept-kind-unknown", "concepts", ["concepts"], lambda d: d[0].update(kind="symptom")),
    (
        "how-tension-with-one-side",
        "how",
        ["how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low"],
        lambda d: d["tensions"][0].update(sides=d["tensions"][0]["sides"][:1]),
    ),
    (
        "consult-tension-without-rules",
        "consult",
        ["consult", "--no-input", "-a", "magnesium_status=severely_low"],
        lambda d: d["tensions"][0].update(rules=[]),
    ),
    (
        "rule-tension-not-an-id",
        "rules",
        ["rules", "--concept", "pth_secretion"],
        lambda d: next(r for r in d if r["tensions"])["tensions"].append({"id": TENSION}),
    ),
    (
        "batch-line-with-row-and-case",
        "batch_line",
        ["consult", "--no-input"],
        lambda d: d.update(row=2, case="alice"),
    ),
    ("consult-is-not-a-batch-line", "batch_line", ["consult", "--no-input"], lambda d: None),
    ("batch-line-is-not-a-consult", "consult", ["consult", "--no-input"], lambda d: d.update(row=2)),
]


@pytest.mark.parametrize(("name", "document", "args", "breakage"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_the_schema_rejects_a_broken_document(
    invoke: Any, name: str, document: str, args: list[str], breakage: Callable[[Any], object]
) -> None:
    data = _output(invoke, *args)
    start = "consult" if document == "batch_line" else document
    assert_valid(start, data)  # the starting point is valid...
    assert problems(document, _broken(data, breakage)), f"{name}: the schema accepted it"  # ...its breakage not


# ---------------------------------------------------------------------------
# Long chains (parts continued below) and chains of replacements
# ---------------------------------------------------------------------------


def test_long_chains_continue_in_parts_that_match_the_schema(invoke: Any, tmp_path: Path) -> None:
    """A how-tree or why-not deeper than the renderer nests goes on in the
    document's "continued" array, and still matches the schema."""
    from test_long_chains import chain_rules, fact

    path = tmp_path / "chain.toml"
    path.write_text(chain_rules(60), encoding="utf-8")
    end = f"{fact(60)}=yes"
    how = json.loads(invoke("--rules", str(path), "how", end, "-a", f"{fact(0)}=yes", "--json").stdout)
    stub = lambda node: isinstance(node.get("continued"), int) and node["derivations"] == []  # noqa: E731
    assert how["continued"] and anywhere(how, stub)
    assert_valid("how", how)
    why_not = json.loads(invoke("--rules", str(path), "why-not", end, "--json").stdout)
    assert why_not["continued"] and anywhere(why_not, lambda check: isinstance(check.get("continued"), int))
    assert_valid("why_not", why_not)


def test_a_chain_of_replacements_is_listed_and_matches_the_schema(invoke: Any, tmp_path: Path) -> None:
    severe = "pth.severe-deficiency-impairs-secretion"
    rule = (
        '[[rule]]\nid = "{id}"\nreplaces = "{replaces}"\ntitle = "My version"\n'
        'when = ["magnesium_status = severely_low"]\nthen = ["pth_secretion = impaired"]\nstrength = "likely"\n'
        'sources = [{{ document = "mg-calcium", quote = "Severe magnesium deficiency impairs PTH production" }}]\n'
    )
    # the later replacement is named first: order does not matter
    (tmp_path / "a.toml").write_text(rule.format(id="mine.second", replaces="mine.first"), encoding="utf-8")
    (tmp_path / "b.toml").write_text(rule.format(id="mine.first", replaces=severe), encoding="utf-8")
    files = ["--rules", str(tmp_path / "a.toml"), "--rules", str(tmp_path / "b.toml")]
    listed = json.loads(invoke(*files, "rules", "--json").stdout)
    assert_valid("rules", listed)
    mine = {r["id"]: r for r in listed if r["id"].startswith("mine.") or r["id"] == severe}
    assert list(mine) == ["mine.second"]
    assert mine["mine.second"]["replaces"] == "mine.first"
    assert mine["mine.second"]["replaced"] == ["mine.first", severe]
    text = invoke(*files, "rules").stdout
    assert f"  replaces  mine.first, which replaced {severe}\n" in text


def test_a_check_that_finds_errors_matches_the_schema() -> None:
    from click.testing import CliRunner

    from cofactor.cli import cli

    broken = PROJECT / "tests" / "broken_extensions"
    result = CliRunner().invoke(cli, ["check", "--rules", str(broken), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert not data["ok"]
    assert {f["level"] for f in data["findings"]} == {"error", "warning", "info"}
    assert data["exhaustive"]["never_fired"] and any(f["details"] for f in data["findings"])
    assert_valid("check", data)
    assert validator().is_valid(data)
