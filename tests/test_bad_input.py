"""The corpus of bad input (tests/bad_input/cases.toml) and a few cases
that are made rather than written: huge rule files, unreadable files,
Ctrl-C, and random argument lists."""

from __future__ import annotations

import builtins
import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ALL_ANSWERED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofactor.cli import cli

# every *.toml in tests/bad_input/ is part of the corpus (cases.toml, and one
# file per family of cases); a case's id is its file and its name
CORPUS_FILES = sorted((Path(__file__).parent / "bad_input").glob("*.toml"))
CORPUS = [
    {**case, "name": f"{path.stem}: {case['name']}"}
    for path in CORPUS_FILES
    for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]
]


def run(args, stdin=None):
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=True)


def assert_clean_failure(result, code):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    if code:
        assert result.stdout == ""


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_corpus(case, tmp_path):
    for name, content in case.get("files", {}).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    for name, content in case.get("files_hex", {}).items():
        (tmp_path / name).write_bytes(bytes.fromhex(content))
    args = [a.replace("{dir}", str(tmp_path)) for a in case["args"]]
    result = run(args, case.get("stdin"))
    assert_clean_failure(result, case["exit"])
    for text in case.get("stderr", []):
        assert text in result.stderr, result.stderr
    for text in case.get("not_stderr", []):
        assert text not in result.stderr
    lines = case.get("lines", 1)
    if lines:
        assert len(result.stderr.strip().splitlines()) == lines, result.stderr


def test_very_long_values_are_cut_in_messages():
    value = "magnesium_status=" + "x" * 10_000
    result = run(["consult", "--no-input", "-a", value])
    assert_clean_failure(result, 2)
    assert len(result.stderr) < 500 and "..." in result.stderr


@pytest.fixture
def unreadable(monkeypatch):
    """Make a path unreadable (as root, permission bits would not stop a read),
    whichever way it is read: pathlib or open()."""
    refused: set[Path] = set()
    original = Path.read_bytes
    original_open = builtins.open

    def read_bytes(self):
        if self in refused:
            raise PermissionError(13, "Permission denied")
        return original(self)

    def open_(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) in refused:
            raise PermissionError(13, "Permission denied")
        return original_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(builtins, "open", open_)
    return refused.add


def test_an_unreadable_answers_file(tmp_path, unreadable):
    path = tmp_path / "case.toml"
    path.write_text('magnesium_status = "low"\n', encoding="utf-8")
    unreadable(path)
    result = run(["consult", "--no-input", "--answers", str(path)])
    assert_clean_failure(result, 2)
    assert "cannot read answers file" in result.stderr and "Permission denied" in result.stderr


def test_an_unreadable_rule_file(tmp_path, unreadable):
    path = tmp_path / "mine.toml"
    path.write_text("", encoding="utf-8")
    unreadable(path)
    result = run(["--rules", str(path), "rules"])
    assert_clean_failure(result, 1)
    assert "mine.toml: cannot read the file: Permission denied" in result.stderr


def _rules(count: int) -> str:
    out = []
    for i in range(count):
        out.append(
            f'[[rule]]\nid = "bulk.r{i:05d}"\ntitle = "Rule {i}"\n'
            f'when = ["magnesium_status = low", "calcium_intake = high"]\n'
            f'then = ["{"bone_strength = reduced" if i % 2 else "osteoporosis_risk = increased"}"]\n'
            'strength = "possible"\nsources = [{ document = "mg-calcium", quote = "q" }]\n'
        )
    return "\n".join(out)


def test_ten_thousand_rules_load(tmp_path):
    path = tmp_path / "bulk.toml"
    path.write_text(_rules(10_000), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--rules", str(path), "rules", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.count('"id": "bulk.r') == 10_000


def test_a_ten_megabyte_rule_file_is_refused_clearly(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * 1_100_000, encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    result = run(["--rules", str(path), "rules"])
    assert_clean_failure(result, 1)
    assert "huge.toml: the file is too large (10.5 MiB; rule files may be at most 8 MiB)" in result.stderr


def test_a_link_out_of_a_rules_folder_is_not_followed(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    outside = tmp_path / "secret.toml"
    outside.write_text("[[rule]]\n", encoding="utf-8")
    (folder / "evil.toml").symlink_to(outside)
    result = run(["--rules", str(folder), "rules"])
    assert_clean_failure(result, 1)
    assert "links to" in result.stderr and "outside the folder given" in result.stderr


def test_ctrl_c_while_reasoning_exits_130(monkeypatch):
    from cofactor.engine.reasoning import Reasoner

    def interrupted(self, answers, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Reasoner, "reason", interrupted)
    result = run(["consult", "--no-input", "-a", "magnesium_status=low"])
    assert_clean_failure(result, 130)
    assert result.stderr.strip() == "Error: interrupted; nothing was concluded."


WORDS = [
    "consult",
    "how",
    "why-not",
    "what-if",
    "trace",
    "rules",
    "concepts",
    "--json",
    "--no-input",
    "-a",
    "--answer",
    "--answers",
    "--change",
    "-c",
    "--agenda",
    "--concept",
    "--rules",
    "--version",
    "-h",
    "--firing-limit",
    "magnesium_status=low",
    "symptom=fatigue,nausea",
    "blood_calcium=low",
    "magnesium_status",
    "=",
    "unknown",
    "low",
    "1",
    "-1",
    "",
    " ",
    "\x1b[31m",
    "é",
    "nowhere.toml",
]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=6))
def test_random_argument_lists_never_show_a_traceback(args):
    # enough "unknown" lines to finish any consultation the arguments start
    result = CliRunner().invoke(cli, args, input="unknown\n" * 12)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout


def test_a_rules_file_named_twice_is_read_once(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[[rule]]\nid = "mine.replacement"\nreplaces = "pth.severe-deficiency-impairs-secretion"\n'
        'title = "t"\nwhen = ["magnesium_status = severely_low"]\nthen = ["pth_secretion = impaired"]\n'
        'strength = "established"\nsources = [{ document = "mg-calcium", quote = "q" }]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--rules", str(path), "--rules", str(tmp_path), "rules", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    ids = [r["id"] for r in __import__("json").loads(result.stdout)]
    assert "mine.replacement" in ids and "pth.severe-deficiency-impairs-secretion" not in ids


def test_ctrl_c_at_the_explain_prompt_keeps_the_conclusions(monkeypatch):
    import cofactor.cli

    def read(prompt):
        if prompt.startswith("explain"):
            raise KeyboardInterrupt
        raise AssertionError("no question should be asked")

    monkeypatch.setattr(cofactor.cli, "_read_line", read)
    args = ["consult", *ALL_ANSWERED]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130
    assert "Conclusions" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "Error: interrupted (the conclusions above stand)."
