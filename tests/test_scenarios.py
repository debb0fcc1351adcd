"""The worked examples: the contract's (../shared/spec/scenarios.toml) and ours."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from conftest import SHARED, facts_of

OURS = Path(__file__).with_name("scenarios.toml")
CONTRACT = SHARED / "spec" / "scenarios.toml"


def _load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return tomllib.loads(path.read_text(encoding="utf-8"))["scenario"]


def _args(answers: dict) -> list[str]:
    args = []
    for concept, value in answers.items():
        values = value if isinstance(value, list) else [value]
        args += ["-a", f"{concept}={','.join(values)}"]
    return args


def _require_contract() -> None:
    """The contract's scenarios: CI must have them; elsewhere (a clone of the
    project alone) the tests that need them are skipped."""
    if not CONTRACT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CONTRACT} is missing: CI must have ../shared beside the project")
        pytest.skip("../shared is not beside the project here")


def test_the_contract_scenarios_are_present():
    _require_contract()
    assert len(_load(CONTRACT)) >= 5


SCENARIOS = [pytest.param(s, id=f"contract: {s['name']}") for s in _load(CONTRACT)] + [
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
    _require_contract()  # some rules fire only in the contract's scenarios
    fired = set()
    for scenario in _load(CONTRACT) + _load(OURS):
        case = reason(*[f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in scenario["answers"].items()])
        fired |= {step.rule.id for step in case.steps}
    assert sorted(r.id for r in kb.rules if r.id not in fired) == []
