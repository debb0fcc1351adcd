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


# ---------------------------------------------------------------------------
# docs/rule-format.md: every key, every limit, every shown output
# ---------------------------------------------------------------------------

RULE_FORMAT = PROJECT / "docs" / "rule-format.md"


def _rule_format() -> str:
    return RULE_FORMAT.read_text(encoding="utf-8")


def test_rule_format_names_every_key():
    from cofactor.engine import loader

    text = _rule_format()
    tables = [value for name, value in vars(loader).items() if name.endswith("_KEYS")]
    assert tables, "no *_KEYS tables found in engine/loader.py"
    for table in tables:
        for key in table:
            assert f"`{key}`" in text, f"docs/rule-format.md does not name the key `{key}`"


def test_rule_format_states_every_limit():
    from cofactor.engine import limits

    text = _rule_format()
    for name, value in vars(limits).items():
        if not name.startswith("MAX_"):
            continue
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}`")), "")
        assert row, f"docs/rule-format.md has no row for {name}"
        shown = {str(value), f"{value:,}"}
        if value % (1024 * 1024) == 0:
            shown.add(f"{value // (1024 * 1024)} MiB")
        assert any(s in row for s in shown), f"the row for {name} does not state {value}"


def _example_files(text: str) -> dict[str, str]:
    """The example rule files: toml blocks whose first line is '# NAME.toml'."""
    files = {}
    for body in re.findall(r"```toml\n(.*?)```", text, re.S):
        name = re.fullmatch(r"# ([\w.-]+\.toml)", body.splitlines()[0])
        if name:
            files[name[1]] = body
    return files


def _shown_runs(text: str) -> list[tuple[str, str]]:
    """Each one-line 'cofactor ...' sh block followed by a text block, with that text."""
    return re.findall(r"```sh\n(cofactor [^\n]*)\n```\n\n```text\n(.*?)```", text, re.S)


def test_rule_format_outputs_are_what_the_commands_print(tmp_path, monkeypatch):
    import shlex

    from click.testing import CliRunner

    text = _rule_format()
    for name, body in _example_files(text).items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    runs = _shown_runs(text)
    assert len(runs) >= 5
    monkeypatch.chdir(tmp_path)
    for command, shown in runs:
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.output.rstrip("\n") == shown.rstrip("\n"), (
            f"docs/rule-format.md: the output shown for `{command}` is out of date; run it and paste its output"
        )
