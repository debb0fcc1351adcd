"""The worked examples: the contract's (../shared/spec/scenarios.toml) and ours."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from conftest import SHARED, facts_of, needs_shared

OURS = Path(__file__).with_name("scenarios.toml")
CONTRACT = SHARED / "spec" / "scenarios.toml"


def _load(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["scenario"]


# Read while collecting, where a test cannot be skipped: without ../shared there
# are no contract cases below, and test_the_contract_scenarios_are_present says
# so (skipped, or failed under CI) through needs_shared.
CONTRACT_SCENARIOS = _load(CONTRACT) if CONTRACT.exists() else []


def _args(answers: dict) -> list[str]:
    args = []
    for concept, value in answers.items():
        values = value if isinstance(value, list) else [value]
        args += ["-a", f"{concept}={','.join(values)}"]
    return args


def test_the_contract_scenarios_are_present():
    assert len(_load(needs_shared(CONTRACT))) >= 5


SCENARIOS = [pytest.param(s, id=f"contract: {s['name']}") for s in CONTRACT_SCENARIOS] + [
    pytest.param(s, id=s["name"]) for s in _load(OURS)
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(invoke, scenario):
    result = invoke("consult", "--no-input", "--json", *_args(scenario["answers"]))
    data = json.loads(result.stdout)
    found = facts_of(data)
    for fact in scenario.get("include", []):
        assert fact in found, f"{fact} missing from {sorted(found)}"
    for fact in scenario.get("exclude", []):
        assert fact not in found, f"{fact} should not be concluded"
    assert sorted(c["concept"] for c in data["conflicts"]) == sorted(scenario.get("conflicts", []))


def test_every_rule_fires_in_some_scenario(kb, reason):
    # some rules fire only in the contract's scenarios
    fired = set()
    for scenario in _load(needs_shared(CONTRACT)) + _load(OURS):
        case = reason(*[f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in scenario["answers"].items()])
        fired |= {step.rule.id for step in case.steps}
    assert sorted(r.id for r in kb.rules if r.id not in fired) == []
