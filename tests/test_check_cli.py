"""`cofactor check` and extensions, as a rule author uses them from the command line.

The engine's checks are tested in ``test_check.py`` and ``test_exhaustive.py``;
here: the report, the exit statuses, the folder of broken extensions read in
one pass, quotes verified or only unverified, and an extension that really
extends (a new concept and rule in consult and how, replaces and disables in
rules).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT, SHARED

from cofactor.cli import BUILTIN_RULES, cli

BROKEN = PROJECT / "tests" / "broken_extensions"


def run(*args: str, cwd: Path | None = None):
    """The command, in-process, with its streams apart; never an exception."""
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    assert "Traceback" not in result.stdout + result.stderr
    return result


# ---------------------------------------------------------------------------
# The built-in knowledge base
# ---------------------------------------------------------------------------


def test_check_passes_on_the_built_in_knowledge_base_with_its_exhaustive_summary():
    result = run("check")
    assert result.exit_code == 0, result.stdout
    assert result.stderr == ""
    out = result.stdout
    assert "Errors" not in out
    summary = re.search(
        r"^Exhaustive run: ([\d,]+) combinations of answers covered by ([\d,]+) cases in (\d+\.\d) s\.$", out, re.M
    )
    assert summary, out
    combinations, cases = (int(summary[i].replace(",", "")) for i in (1, 2))
    assert combinations == 3_343_680 and cases < combinations // 100
    assert "  Every rule fires in some case." in out
    assert re.search(r"^Examples: \d+ examples run, all pass\.$", out, re.M)
    assert re.search(r"\nResult: no errors, \d+ warnings?\.\n$", out)


def test_every_built_in_rule_has_an_example_and_they_all_pass():
    from cofactor.engine import load
    from cofactor.engine.check import check

    kb = load([BUILTIN_RULES])
    assert [r.id for r in kb.rules if not r.examples] == []
    report = check(kb, exhaustive=False)
    assert report.examples == sum(len(r.examples) for r in kb.rules) >= len(kb.rules)
    assert report.examples_failed == 0
    assert not [f for f in report.findings if f.code in ("example-failed", "no-example")]


def test_the_built_in_quotes_are_verified_when_the_shared_texts_are_beside_the_project():
    if not (SHARED / "sources").is_dir():
        # the texts live outside the project: without them the documents are only unverified
        out = run("check").stdout
        assert "[unverified]" in out and "0 verified" in out
        return
    out = run("check").stdout
    verified = re.search(r"^Quotes: (\d+) verified, 0 unverified, 0 not found\.$", out, re.M)
    assert verified and int(verified[1]) > 60, out


def test_strict_fails_on_warnings_with_one_line_on_standard_error():
    result = run("check", "--strict")
    assert "Warnings" in result.stdout  # the built-in knowledge has some (subsumed rules, the loop's conflict)
    assert result.exit_code == 1
    assert re.fullmatch(r"Error: the check found \d+ warnings, and --strict fails on them\.\n", result.stderr)


def test_check_json_is_one_document_and_ok():
    import json

    result = run("check", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["exhaustive"]["complete"] is True
    assert data["examples"]["failed"] == 0 and data["examples"]["run"] > 0


def test_a_progress_bar_shows_on_a_terminal_and_not_otherwise():
    import pty

    master, slave = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "cofactor.cli", "check"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
            check=False,
        )
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert process.returncode == 0
    bar = shown.decode("utf-8", errors="replace")
    assert "Exhaustive run" in bar and re.search(r"(\d+)/\1", bar), bar[-500:]
    assert b"Exhaustive run  [" not in process.stdout  # the bar is on the terminal, the report on the output
    piped = run("check")
    assert "[#" not in piped.stderr + piped.stdout and piped.stderr == ""


# ---------------------------------------------------------------------------
# A folder of broken extension files: one report, every problem, exit 1
# ---------------------------------------------------------------------------

# (file, id, code) of every problem the folder holds on purpose
EXPECTED = [
    ("load-errors.toml", "broken.misspelt-key", "load"),  # titel
    ("load-errors.toml", "broken.unknown-concept", "load"),  # magnesium_levels, very_high
    ("never-fires.toml", "broken.needs-two-states-at-once", "never-fires"),
    ("never-fires.toml", "broken.needs-what-nothing-gives", "never-fires"),
    ("unused.toml", "broken_unused_idea", "unused-concept"),
    ("unused.toml", "broken_unread_question", "unread-question"),
    ("unused.toml", "broken_dead_end", "dead-end"),
    ("subsumed.toml", "broken.general-again", "duplicate"),
    ("subsumed.toml", "broken.general-with-more", "subsumed"),
    ("cycle.toml", "broken_cycle_a", "cycle"),
    ("quotes.toml", "broken.made-up-quote", "quote-not-found"),
    ("quotes.toml", "broken.short-quote", "short-quote"),
    ("quotes.toml", "test-no-text", "unverified"),
    ("quotes.toml", "test-missing-text", "document-text"),
    ("examples.toml", "broken.examples", "example-failed"),
    ("extensions.toml", "disables", "load"),
    ("extensions.toml", "magnesium_stauts", "load"),
    ("extensions.toml", "broken.replaces-nothing", "load"),
]


def test_the_folder_of_broken_extensions_gives_one_report_of_every_problem_and_exit_1():
    result = run("check", "--rules", "tests/broken_extensions", cwd=PROJECT)
    assert result.exit_code == 1
    header = re.search(r"^Errors \((\d+)\)$", result.stdout, re.M)
    assert header, result.stdout
    errors = int(header[1])
    assert result.stderr == f"Error: the check found {errors} errors (see the report).\n"
    lines = result.stdout.splitlines()
    missing = []
    for name, ident, code in EXPECTED:
        head = f"  tests/broken_extensions/{name}: {ident}: "
        if not any(line.startswith(head) and line.endswith(f"[{code}]") for line in lines):
            missing.append((name, ident, code))
    assert missing == [], result.stdout
    # several problems in one file, none hidden behind another
    assert sum(line.startswith("  tests/broken_extensions/load-errors.toml: ") for line in lines) >= 5
    assert sum(line.startswith("  tests/broken_extensions/examples.toml: ") for line in lines) >= 3
    # every error has its fix; the exhaustive run still ran, beside the loader's errors
    assert "2 rules fire in no case: broken.needs-two-states-at-once, broken.needs-what-nothing-gives." in result.stdout


# ---------------------------------------------------------------------------
# Quotes: an error when the text is there, "unverified" when it is not
# ---------------------------------------------------------------------------

ARTICLE = "A short text for the tests. Magnesium may help the kidney keep calcium in balance.\n"


def extension(folder: Path, quote: str, *, text: bool) -> Path:
    (folder / "texts").mkdir(exist_ok=True)
    (folder / "texts" / "article.txt").write_text(ARTICLE, encoding="utf-8")
    local = 'text = "texts/article.txt"\n' if text else ""
    path = folder / "mine.toml"
    path.write_text(
        f"""
[[document]]
id = "my-article"
title = "An article for the tests"
{local}
[[concept]]
id = "kidney_calcium_balance"
label = "Kidney calcium balance"
states = ["helped"]
kind = "outcome"

[[rule]]
id = "mine.magnesium-helps-kidney"
title = "Adequate magnesium may help the kidney keep calcium in balance"
when = ["magnesium_status = adequate"]
then = ["kidney_calcium_balance = helped"]
strength = "possible"
sources = [{{ document = "my-article", quote = "{quote}" }}]

[[rule.example]]
name = "adequate magnesium"
answers = {{ magnesium_status = "adequate" }}
expect = ["kidney_calcium_balance = helped"]
strength = {{ kidney_calcium_balance = "possible" }}
""",
        encoding="utf-8",
    )
    return path


def test_a_verbatim_quote_with_local_text_passes(tmp_path):
    path = extension(tmp_path, "Magnesium may help the kidney keep calcium in balance.", text=True)
    result = run("check", "--rules", str(path))
    assert result.exit_code == 0, result.stdout
    assert "mine" not in "".join(line for line in result.stdout.splitlines() if line.endswith("]"))


def test_a_made_up_quote_with_local_text_is_an_error(tmp_path):
    path = extension(tmp_path, "Low magnesium causes kidney stones.", text=True)
    result = run("check", "--rules", str(path))
    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if "[quote-not-found]" in line)
    assert line.startswith(f"  {path}: mine.magnesium-helps-kidney: ") and "Low magnesium causes kidney stones." in line


def test_a_quote_of_a_document_without_local_text_is_unverified_never_verified(tmp_path):
    path = extension(tmp_path, "Low magnesium causes kidney stones.", text=False)
    result = run("check", "--rules", str(path))
    assert result.exit_code == 0, result.stdout  # a warning, not an error
    line = next(line for line in result.stdout.splitlines() if line.endswith("[unverified]"))
    assert line.startswith(f"  {path}: my-article: ") and "unverified" in line
    assert "[quote-not-found]" not in result.stdout
    assert run("check", "--rules", str(path), "--strict").exit_code == 1


# ---------------------------------------------------------------------------
# Extensions that really extend
# ---------------------------------------------------------------------------


def test_a_new_concept_and_rule_change_consult_and_show_in_how_with_file_and_source(tmp_path):
    path = extension(tmp_path, "Magnesium may help the kidney keep calcium in balance.", text=True)
    before = run("consult", "--no-input", "-a", "magnesium_status=adequate").stdout
    after = run("--rules", str(path), "consult", "--no-input", "-a", "magnesium_status=adequate").stdout
    assert "Kidney calcium balance" not in before
    assert "Kidney calcium balance: helped  [possible]" in after
    assert f"[mine.magnesium-helps-kidney (from {path})]" in after
    how = run("how", "kidney_calcium_balance=helped", "--rules", str(path), "-a", "magnesium_status=adequate").stdout
    assert "by rule mine.magnesium-helps-kidney [possible]: Adequate magnesium may help the kidney" in how
    assert f"(from {path})" in how
    assert '"Magnesium may help the kidney keep calcium in balance." (my-article)' in how


def test_replaces_and_disables_work_and_show_in_rules(tmp_path):
    path = tmp_path / "changes.toml"
    path.write_text(
        """
disables = ["pth.severe-deficiency-impairs-secretion"]

[[rule]]
id = "mine.hypoparathyroidism-blood-calcium"
replaces = "pth.functional-hypoparathyroidism-lowers-blood-calcium"
title = "Functional hypoparathyroidism can lower blood calcium (my wording)"
when = ["functional_hypoparathyroidism = present"]
then = ["blood_calcium = low"]
strength = "possible"
sources = [{ document = "mg-calcium", quote = "Severe magnesium deficiency impairs PTH production and release" }]
""",
        encoding="utf-8",
    )
    rules = run("--rules", str(path), "rules").stdout
    assert f"mine.hypoparathyroidism-blood-calcium  [possible]  {path}  (added by --rules)" in rules
    assert "  replaces  pth.functional-hypoparathyroidism-lowers-blood-calcium" in rules
    assert "Disabled by --rules files" in rules
    assert f"  pth.severe-deficiency-impairs-secretion  rules/pth.toml, disabled by {path}: " in rules
    assert "\npth.severe-deficiency-impairs-secretion  [" not in rules
    assert "\npth.functional-hypoparathyroidism-lowers-blood-calcium  [" not in rules
    # and the reasoning follows: severely low magnesium no longer impairs PTH secretion by that rule
    plain = run("how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low").stdout
    changed = run("--rules", str(path), "how", "pth_secretion=impaired", "-a", "magnesium_status=severely_low")
    assert "pth.severe-deficiency-impairs-secretion" in plain
    assert "pth.severe-deficiency-impairs-secretion" not in changed.stdout


@pytest.mark.parametrize("command", ["rules", "concepts"])
def test_json_marks_the_origin_of_extension_rules_and_states(tmp_path, command):
    import json

    path = tmp_path / "states.toml"
    path.write_text('[[concept]]\nid = "sun_exposure"\nadd_states = ["high"]\n', encoding="utf-8")
    data = json.loads(run("--rules", str(path), command, "--json").stdout)
    if command == "concepts":
        sun = next(c for c in data if c["id"] == "sun_exposure")
        assert sun["added_states"] == [{"file": str(path), "states": ["high"]}]
        assert sun["states"][-1] == "high"
    else:
        assert all(r["builtin"] is True and r["file"].startswith("rules/") for r in data)


def test_a_rule_that_does_not_load_still_has_its_quote_checked(tmp_path):
    path = extension(tmp_path, "Low magnesium causes kidney stones.", text=True)
    path.write_text(
        path.read_text(encoding="utf-8").replace('title = "Adequate', 'titel = "Adequate'), encoding="utf-8"
    )
    result = run("check", "--rules", str(path))
    assert result.exit_code == 1
    ours = [line for line in result.stdout.splitlines() if line.startswith(f"  {path}: mine.magnesium-helps-kidney: ")]
    assert any(line.endswith("[load]") and "titel" in line for line in ours), result.stdout
    assert any(line.endswith("[quote-not-found]") for line in ours), result.stdout


def test_a_missing_text_is_an_error_in_an_extension_even_in_a_file_of_documents_only(tmp_path):
    # the document is an author's, though its file holds no rule: its missing text is an error
    (tmp_path / "documents.toml").write_text(
        '[[document]]\nid = "my-article"\ntitle = "An article"\ntext = "texts/gone.txt"\n', encoding="utf-8"
    )
    rules = extension(tmp_path, "Magnesium may help the kidney keep calcium in balance.", text=False)
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text[text.index("[[concept]]") :], encoding="utf-8")  # its own document taken out
    result = run("check", "--rules", str(tmp_path / "documents.toml"), "--rules", str(rules))
    assert result.exit_code == 1, result.stdout
    line = next(line for line in result.stdout.splitlines() if line.endswith("[document-text]"))
    assert line.startswith(f"  {tmp_path / 'documents.toml'}: my-article: ") and "does not exist" in line
