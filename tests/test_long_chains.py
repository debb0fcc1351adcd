"""Long chains of rules (A1 -> A2 -> ... -> An) are explained whole, by every
command, without recursion that grows with the chain: the how tree has a step
per link, the why-not goes down to the missing first answer, the trace lists
every firing, and the layout stays shallow (a branch deeper than the
renderers' TREE_DEPTH goes on below, as a numbered part in text and in the
document's "continued" array in JSON).

The 10,000-rule runs are real processes under the contract's memory cap
(tests/harness.py) and are marked slow; the same commands on a 300-rule
chain (beyond the 250 links that once overflowed Python's stack) run in the
test process, which keeps its default recursion limit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import assert_clean, run_cofactor

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import Reasoner, load, render_json, render_text
from cofactor.engine import answers as answer_io
from cofactor.engine.counterfactual import Env, Labels
from cofactor.engine.loops import closes_loop
from cofactor.engine.model import Fact

QUOTE = "Severe magnesium deficiency impairs PTH production and release"
LONG = 10_000
SHORT = 300


def fact(i: int) -> str:
    return f"c{i:05d}"


def rule_id(i: int) -> str:
    return f"chain.r{i:05d}"


def chain_rules(n: int, *, second_route: bool = False, back_edge: bool = False, descending: bool = False) -> str:
    """A rule file: the question c00000 (yes/no), then n rules, rule i
    concluding c_i = yes from c_(i-1) = yes. ``second_route`` adds a second
    rule from c_(n-1) to c_n; ``back_edge`` a rule from c_n back to c00001
    (a loop as long as the chain); ``descending`` numbers the rules from the
    end, so that their ids run against the chain."""
    out = [
        '[[concept]]\nid = "c00000"\nlabel = "Chain start"\nkind = "question"\nstates = ["yes", "no"]\n'
        'question = "Does the chain start?"\norder = 900\n'
    ]
    out += [
        f'[[concept]]\nid = "{fact(i)}"\nlabel = "Link {i}"\nkind = "mechanism"\nstates = ["yes"]\n'
        for i in range(1, n + 1)
    ]

    def rule(rid: str, title: str, when: str, then: str, strength: str = "established") -> str:
        return (
            f'[[rule]]\nid = "{rid}"\ntitle = "{title}"\nwhen = ["{when} = yes"]\nthen = ["{then} = yes"]\n'
            f'strength = "{strength}"\nsources = [{{ document = "mg-calcium", quote = "{QUOTE}" }}]\n'
        )

    out += [rule(rule_id(n + 1 - i if descending else i), f"Link {i}", fact(i - 1), fact(i)) for i in range(1, n + 1)]
    if second_route:
        out.append(rule("chain.second", "A second last link", fact(n - 1), fact(n), "possible"))
    if back_edge:
        out.append(rule("chain.back", "Back to the first link", fact(n), fact(1), "likely"))
    return "\n".join(out)


@pytest.fixture(scope="module")
def long_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chains") / "long.toml"
    path.write_text(chain_rules(LONG), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def short_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chains") / "short.toml"
    path.write_text(chain_rules(SHORT), encoding="utf-8")
    return path


def run_ok(*args: str | Path) -> str:
    """A real run that must succeed cleanly; its standard output."""
    result = run_cofactor(list(args))
    assert_clean(result, 0)
    return result.stdout.decode("utf-8")


# --- walking the documents ----------------------------------------------------------------


def how_rules(doc: dict[str, Any]) -> list[str]:
    """The rules of a how document's tree, depth first, each continued part
    taken where its stub stands."""
    found: list[str] = []
    stack = [doc["tree"]]
    while stack:
        node = stack.pop()
        if "rule" in node:  # a route: its rule, then its premises
            found.append(node["rule"])
            stack.extend(reversed(node["premises"]))
            continue
        if "continued" in node:
            assert node["derivations"] == []
            node = doc["continued"][node["continued"]]
        stack.extend(reversed(node["derivations"]))
    return found


def why_not_rules(doc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The rules a why-not document checks, depth first, and the conditions
    at the bottom (those with nothing further below)."""
    rules: list[str] = []
    bottom: list[dict[str, Any]] = []
    stack = list(reversed(doc["rules"]))
    while stack:
        check = stack.pop()
        rules.append(check["rule"])
        for cond in reversed(check["conditions"]):
            below = doc["continued"][cond["continued"]] if "continued" in cond else cond.get("why_not")
            if below:
                stack.extend(reversed(below))
            else:
                bottom.append(cond)
    return rules, bottom


def depth(data: Any) -> int:
    """How deeply a JSON document's arrays and objects nest."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((x, level + 1) for x in (item.values() if isinstance(item, dict) else item))
    return deepest


def by_rule_lines(text: str) -> Iterator[str]:
    return (m.group(1) for m in re.finditer(r"by rule (\S+) \[", text))


def check_how_text(out: str, n: int) -> None:
    assert out.startswith(f"{fact(n)}=yes  (Link {n}: yes)  [established]\n")
    assert list(by_rule_lines(out)) == [rule_id(i) for i in range(n, 0, -1)]
    assert f"{fact(0)}=yes  [your answer]" in out
    parts = re.findall(r"\(continued below at \[(\d+)\]\)", out)
    assert parts == [str(k) for k in range(1, len(parts) + 1)]
    for k in parts:  # each part is shown once, below
        assert len(re.findall(rf"^\[{k}\] c\d{{5}}=yes ", out, re.MULTILINE)) == 1
    assert max(map(len, out.splitlines())) < 200  # shallow: the tree goes on below


def check_how_json(doc: dict[str, Any], n: int) -> None:
    assert doc["holds"] and doc["concluded"] and doc["strength"] == "established"
    assert how_rules(doc) == [rule_id(i) for i in range(n, 0, -1)]
    assert depth(doc) < 100  # any JSON reader can take it


def check_why_not_text(out: str, n: int) -> None:
    assert out.startswith(f"{fact(n)}=yes (Link {n}: yes) was not concluded from these answers.\n1 rule could")
    assert re.findall(r"^ *(chain\.r\d{5}) \[", out, re.MULTILINE) == [rule_id(i) for i in range(n, 0, -1)]
    assert "[NO] c00000 = yes: not answered (a question: -a c00000=...)" in out
    assert out.endswith("The smallest change of answers that would make it hold:\n  - c00000=yes (not answered now)\n")
    assert max(map(len, out.splitlines())) < 200


def check_why_not_json(doc: dict[str, Any], n: int) -> None:
    rules, bottom = why_not_rules(doc)
    assert rules == [rule_id(i) for i in range(n, 0, -1)]
    assert [(c["condition"], c["status"]) for c in bottom] == [("c00000 = yes", "not_answered")]
    assert doc["smallest_changes"] == [[{"concept": "c00000", "states": ["yes"], "was": None}]]
    assert depth(doc) < 100


# --- 10,000 rules, each command in a real process -------------------------------------------


@pytest.mark.slow
def test_how_explains_every_link_of_a_10000_rule_chain(long_chain: Path) -> None:
    check_how_text(run_ok("--rules", long_chain, "how", f"{fact(LONG)}=yes", "-a", "c00000=yes"), LONG)


@pytest.mark.slow
def test_how_json_of_a_10000_rule_chain_is_whole_and_shallow(long_chain: Path) -> None:
    out = run_ok("--rules", long_chain, "how", f"{fact(LONG)}=yes", "-a", "c00000=yes", "--json")
    check_how_json(json.loads(out), LONG)


@pytest.mark.slow
def test_why_not_goes_down_a_10000_rule_chain_to_the_missing_answer(long_chain: Path) -> None:
    check_why_not_text(run_ok("--rules", long_chain, "why-not", f"{fact(LONG)}=yes"), LONG)


@pytest.mark.slow
def test_why_not_json_of_a_10000_rule_chain(long_chain: Path) -> None:
    check_why_not_json(json.loads(run_ok("--rules", long_chain, "why-not", f"{fact(LONG)}=yes", "--json")), LONG)


@pytest.mark.slow
def test_trace_of_a_10000_rule_chain_lists_every_firing_in_order(long_chain: Path) -> None:
    out = run_ok("--rules", long_chain, "trace", "-a", "c00000=yes")
    fired = re.findall(r"^FIRE +\d+ (chain\.r\d{5}) ", out, re.MULTILINE)
    assert fired == [rule_id(i) for i in range(1, LONG + 1)]
    assert f"  ==> {fact(LONG)}=yes" in out
    doc = json.loads(run_ok("--rules", long_chain, "trace", "-a", "c00000=yes", "--json"))
    steps = [s for s in doc["steps"] if s["rule"].startswith("chain.")]
    assert [s["rule"] for s in steps] == fired
    assert steps[-1]["added"] == [{"concept": fact(LONG), "state": "yes"}]


@pytest.mark.slow
def test_what_if_on_a_10000_rule_chain_gains_every_link(long_chain: Path) -> None:
    out = run_ok("--rules", long_chain, "what-if", "-a", "c00000=no", "--change", "c00000=yes")
    gained = re.findall(r"^  \+ Link (\d+): yes  \[established\]  by (chain\.r\d{5})", out, re.MULTILINE)
    assert gained == [(str(i), rule_id(i)) for i in range(1, LONG + 1)]
    doc = json.loads(run_ok("--rules", long_chain, "what-if", "-a", "c00000=yes", "--change", "c00000=no", "--json"))
    lost = [d for d in doc["lost"] if d["concept"].startswith("c")]
    assert [d["rule"] for d in lost] == [rule_id(i) for i in range(1, LONG + 1)]


@pytest.mark.slow
def test_consult_json_on_a_10000_rule_chain(long_chain: Path) -> None:
    doc = json.loads(run_ok("--rules", long_chain, "consult", "--no-input", "--json", "-a", "c00000=yes"))
    chain = {c["concept"]: c for c in doc["conclusions"] if re.fullmatch(r"c\d{5}", c["concept"])}
    assert len(chain) == LONG
    assert chain[fact(LONG)]["derivations"] == [
        {"rule": rule_id(LONG), "file": str(long_chain), "premises": [{"concept": fact(LONG - 1), "state": "yes"}]}
    ]


# --- 1,200 rules: a second route, a loop as long as the chain -------------------------------


def test_trace_of_a_1200_rule_chain_with_a_second_route(tmp_path: Path) -> None:
    path = tmp_path / "two-routes.toml"
    path.write_text(chain_rules(1200, second_route=True), encoding="utf-8")
    out = run_ok("--rules", path, "trace", "-a", "c00000=yes")
    assert re.findall(r"^FIRE +\d+ (chain\.\S+) ", out, re.MULTILINE)[-2:] == [rule_id(1200), "chain.second"]
    last = out.split(f"chain.second [possible]: c01199=yes (from {path})\n")[1]  # marked: from a --rules file
    assert last.startswith("      (nothing new: already known)\n")  # a second route, not a loop
    assert "goes round" not in out
    how = json.loads(run_ok("--rules", path, "how", "c01200=yes", "-a", "c00000=yes", "--json"))
    assert [r["rule"] for r in how["tree"]["derivations"]] == [rule_id(1200), "chain.second"]
    assert how_rules(how).count(rule_id(1)) == 1  # the second route meets the first: "see above"


def test_trace_names_a_loop_as_long_as_a_1200_rule_chain(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(chain_rules(1200, back_edge=True), encoding="utf-8")
    out = run_ok("--rules", path, "trace", "-a", "c00000=yes")
    back = out.split(f"chain.back [likely]: c01200=yes (from {path})\n")[1]
    assert back.startswith("      (this firing goes round a loop: it reaches a fact its premises were built on)\n")
    assert out.count("goes round") == 1
    consult = run_ok("--rules", path, "consult", "--no-input", "-a", "c00000=yes")
    loop = consult.split("Loop: these conclusions go round a loop: ")[1].splitlines()[0].split(" -> ")
    assert loop == [f"{fact(i)}=yes" for i in range(1, 1201)] + ["c00001=yes"]


# --- 300 rules, in the test process (its recursion limit is Python's default) --------------


def test_how_of_a_300_rule_chain_in_process(invoke, short_chain: Path) -> None:
    check_how_text(invoke("--rules", str(short_chain), "how", f"{fact(SHORT)}=yes", "-a", "c00000=yes").stdout, SHORT)
    out = invoke("--rules", str(short_chain), "how", f"{fact(SHORT)}=yes", "-a", "c00000=yes", "--json").stdout
    check_how_json(json.loads(out), SHORT)


def test_why_not_of_a_300_rule_chain_in_process(invoke, short_chain: Path) -> None:
    check_why_not_text(invoke("--rules", str(short_chain), "why-not", f"{fact(SHORT)}=yes").stdout, SHORT)
    out = invoke("--rules", str(short_chain), "why-not", f"{fact(SHORT)}=yes", "--json").stdout
    check_why_not_json(json.loads(out), SHORT)


def test_a_continued_part_is_laid_out_like_the_top_of_the_tree(invoke, short_chain: Path) -> None:
    """Each part starts at the margin with its fact, and goes on with the
    same layout; the deepest level of one part is TREE_DEPTH."""
    out = invoke("--rules", str(short_chain), "how", f"{fact(SHORT)}=yes", "-a", "c00000=yes").stdout
    first = out.split("\n\n")[1].splitlines()
    assert re.fullmatch(r"\[1\] c\d{5}=yes  \(Link \d+: yes\)  \[established\], continued", first[0])
    assert first[1].startswith("└─ by rule chain.r")
    top = out.split("\n\n")[0].splitlines()
    premise_lines = [line for line in top if re.search(r"└─ c\d{5}=yes", line)]
    assert len(premise_lines) == render_text.TREE_DEPTH
    doc = json.loads(
        invoke("--rules", str(short_chain), "how", f"{fact(SHORT)}=yes", "-a", "c00000=yes", "--json").stdout
    )
    node, levels = doc["tree"], 0
    while "continued" not in node:
        node = node["derivations"][0]["premises"][0]
        levels += 1
    assert levels == render_json.TREE_DEPTH


def test_closes_loop_on_a_chain_longer_than_the_recursion_limit(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(chain_rules(3000, back_edge=True), encoding="utf-8")
    kb = load([BUILTIN_RULES, path], display_root=BUILTIN_RULES.parent)
    case = Reasoner(kb).reason(answer_io.build(kb, ["c00000=yes"]))
    closing = closes_loop(case)
    assert [case.steps[n - 1].rule.id for n in closing] == ["chain.back"]


@pytest.mark.slow
def test_why_not_of_a_10000_rule_chain_whose_ids_run_against_it(tmp_path: Path) -> None:
    """The smallest-change search once went over every rule once per link
    when the rules' order ran against the chain (minutes at 10,000)."""
    path = tmp_path / "descending.toml"
    path.write_text(chain_rules(LONG, descending=True), encoding="utf-8")
    out = run_ok("--rules", path, "why-not", f"{fact(LONG)}=yes")
    assert re.findall(r"^ *(chain\.r\d{5}) \[", out, re.MULTILINE) == [rule_id(i) for i in range(1, LONG + 1)]
    assert out.endswith("would make it hold:\n  - c00000=yes (not answered now)\n")


def test_the_labels_of_a_chain_whose_ids_run_against_it(tmp_path: Path) -> None:
    path = tmp_path / "descending.toml"
    path.write_text(chain_rules(1000, descending=True), encoding="utf-8")
    kb = load([BUILTIN_RULES, path], display_root=BUILTIN_RULES.parent)
    table = Labels(kb).table
    start = Fact("c00000", "yes")
    assert all(table[Fact(fact(i), "yes")] == [Env(frozenset({start}))] for i in range(1, 1001))
