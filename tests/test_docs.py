"""The README documents every command and keeps the quick start that CI runs."""

from __future__ import annotations

import re

from conftest import PROJECT

from cofactor.cli import cli

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def test_readme_mentions_every_command():
    for name in cli.commands:
        assert f"cofactor {name}" in README, name


def test_ci_runs_the_readme_test_command():
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command.strip() in ci


def test_quick_start_starts_a_consultation():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert any(b.strip().endswith("cofactor consult") and "pip install" in b for b in blocks)


def test_the_readme_minimum_versions_run_is_the_one_ci_makes():
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    minimums = next(b for b in blocks if "minimums.txt" in b)
    for line in minimums.splitlines():
        assert line.strip() in ci, line
