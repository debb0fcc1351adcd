"""docs/authoring.md, the rule authors' tutorial: every command it shows prints what it shows.

The tutorial is read as a story, in document order, and replayed in a fresh folder:

- a ```toml block whose first line is `# NAME` writes the file NAME, whole (the line is a
  TOML comment and stays in it); `# NAME (continued)` appends the block to NAME instead;
- a ```text block whose first line is `# PATH` writes the file PATH, without that line,
  unless it comes directly after a ```sh block: then it is that command's output (an
  output may well begin with '# ', so the position decides, never the content);
- every ```sh block is one line, `cofactor ...`, run with click's CliRunner in the folder
  (result.output: standard output, then standard error, as a terminal shows them); the
  ```text block directly after it is its output, and a command shown without one must
  print nothing; a shown output whose last line begins with 'Error:' means exit status 1,
  any other exit status 0;
- a ```mermaid block must appear, verbatim, in the Markdown file the last `-o FILE` wrote;
- any other block (a ```toml snippet without a file name) is only illustration.

Files are written and commands run in the order they appear, so a later block for the same
file changes it at that point of the story. The only thing masked before comparing is the
run time of `check`'s exhaustive run ("in 3.6 s."), which varies. The finished files must
also equal the copies in docs/tutorial/.

When the knowledge base or a message changes, refresh every shown output (and the copies in
docs/tutorial/) in place with

    COFACTOR_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_authoring.py

and read the diff before committing it. Without that variable any difference fails.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT, SHARED, needs_shared

from cofactor.cli import cli

TUTORIAL = PROJECT / "docs" / "authoring.md"
FINISHED = PROJECT / "docs" / "tutorial"
REFRESH = "COFACTOR_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_authoring.py"
UPDATING = os.environ.get("COFACTOR_UPDATE_DOCS") == "1"

# ```info\nbody```: a fenced block, its info string and its body (ending in a newline or empty)
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
FILE_MARKER = re.compile(r"# ((?:[\w-]+/)*[\w.-]+\.\w+)( \(continued\))?")
RUN_TIME = re.compile(r"^(Exhaustive run: .* cases in )\d+\.\d( s\.)$", re.M)


@dataclass
class Block:
    info: str
    body: str
    start: int  # offset of the body in the tutorial
    end: int
    line: int  # line of the opening fence
    after_command: bool  # directly after a ```sh block


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    previous_end, previous_info = None, None
    for match in FENCE.finditer(text):
        info = match[1].strip()
        adjacent = previous_info == "sh" and text[previous_end : match.start()].strip() == ""
        blocks.append(
            Block(info, match[2], match.start(2), match.end(2), text.count("\n", 0, match.start()) + 1, adjacent)
        )
        previous_end, previous_info = match.end(), info
    return blocks


def _masked(output: str) -> str:
    return RUN_TIME.sub(r"\1<time>\2", output.rstrip("\n"))


def _output_file(command: list[str]) -> str | None:
    for i, arg in enumerate(command):
        if arg in ("-o", "--output") and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith("--output="):
            return arg.split("=", 1)[1]
    return None


def _diff(shown: str, got: str) -> str:
    lines = difflib.unified_diff(shown.splitlines(), got.splitlines(), "shown", "printed", lineterm="", n=1)
    return "\n".join(list(lines)[:40])


def _mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```", markdown, re.S | re.M)


@dataclass
class Replay:
    commands: list[tuple[str, str]]  # (command, its shown output)
    files: dict[str, str]  # the files as the story leaves them
    stale: list[str]  # what is out of date, each with how to refresh it
    edits: list[tuple[int, int, str]]  # (start, end, new body) for COFACTOR_UPDATE_DOCS


def _replay(text: str, folder: Path) -> Replay:
    replay = Replay([], {}, [], [])
    blocks = _blocks(text)
    last_output_file: str | None = None
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        first, _, rest = block.body.partition("\n")
        marker = FILE_MARKER.fullmatch(first)
        if block.info == "sh":
            command = block.body.strip()
            assert "\n" not in command and command.startswith("cofactor "), (
                f"docs/authoring.md line {block.line}: a ```sh block holds one `cofactor ...` command, "
                f"which the test runs; this one holds {block.body!r}"
            )
            shown_block = following if following and following.info == "text" and following.after_command else None
            shown = shown_block.body if shown_block else ""
            args = shlex.split(command)[1:]
            result = CliRunner().invoke(cli, args)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"`{command}` raised {result.exception!r}"
            )
            replay.commands.append((command, shown))
            lines = shown.rstrip("\n").splitlines()
            expected_status = 1 if lines and lines[-1].startswith("Error:") else 0
            if _masked(result.output) != _masked(shown):
                if shown_block is None:
                    replay.stale.append(
                        f"line {block.line}: `{command}` is shown without an output block, but it prints:\n"
                        f"{result.output}\n(add a ```text block with that output after it)"
                    )
                else:
                    replay.stale.append(
                        f"line {block.line}: the output shown for `{command}` is out of date:\n"
                        f"{_diff(_masked(shown), _masked(result.output))}"
                    )
                    replay.edits.append((shown_block.start, shown_block.end, result.output))
            elif result.exit_code != expected_status:
                replay.stale.append(
                    f"line {block.line}: `{command}` exits with status {result.exit_code}, but its shown output "
                    f"implies {expected_status} (1 exactly when the last line shown begins with 'Error:')"
                )
            last_output_file = _output_file(args) or last_output_file
        elif block.info == "toml" and marker:
            name, continued = marker[1], bool(marker[2])
            assert ".." not in name.split("/"), name
            if continued:
                assert name in replay.files, f"line {block.line}: {name} is continued before it is begun"
                replay.files[name] += block.body
            else:
                replay.files[name] = block.body
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(replay.files[name], encoding="utf-8")
        elif block.info == "text" and marker and not block.after_command:
            name = marker[1]
            assert not marker[2] and ".." not in name.split("/"), name
            replay.files[name] = rest
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rest, encoding="utf-8")
        elif block.info == "mermaid":
            assert last_output_file, f"line {block.line}: a Mermaid excerpt with no `-o FILE` before it"
            generated = (folder / last_output_file).read_text(encoding="utf-8")
            if block.body not in _mermaid_blocks(generated):
                # the nearest diagram, among those of the topics that --rules files add if any
                topics = re.split(r"^### ", generated, flags=re.M)
                added = [
                    diagram
                    for topic in topics
                    if re.search(r"^\d+ rules? from .*\(added with `--rules`\)", topic, re.M)
                    for diagram in _mermaid_blocks(topic)
                ]
                best = max(
                    added or _mermaid_blocks(generated),
                    key=lambda b: difflib.SequenceMatcher(None, b, block.body).ratio(),
                    default="",
                )
                replay.stale.append(
                    f"line {block.line}: the Mermaid diagram shown is not one of those in {last_output_file}:\n"
                    f"{_diff(block.body, best)}"
                )
                replay.edits.append((block.start, block.end, best))
    return replay


def _rewrite(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, body in sorted(edits, reverse=True):
        if body and not body.endswith("\n"):
            body += "\n"
        text = text[:start] + body + text[end:]
    return text


def _needs_the_sources() -> None:
    # check's report counts the built-in quotes as verified only when their texts are there
    for name in ("magnesium-calcium-metabolism.txt", "magnesium-vitamin-d-metabolism.txt"):
        needs_shared(SHARED / "sources" / name)


def _replay_in(folder: Path, text: str) -> Replay:
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return _replay(text, folder)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Replay:
    """The tutorial replayed once for the tests of this module (with COFACTOR_UPDATE_DOCS=1,
    its shown outputs rewritten first, then replayed again to confirm them)."""
    _needs_the_sources()
    root = tmp_path_factory.mktemp("authoring")
    text = TUTORIAL.read_text(encoding="utf-8")
    replay = _replay_in(root / "first", text)
    if UPDATING and replay.edits:
        TUTORIAL.write_text(_rewrite(text, replay.edits), encoding="utf-8")
        replay = _replay_in(root / "again", TUTORIAL.read_text(encoding="utf-8"))
    return replay


def test_the_tutorial_commands_print_what_it_shows(story):
    assert not story.stale, (
        f"docs/authoring.md is out of date ({len(story.stale)} difference(s)); refresh every shown output with\n"
        f"    {REFRESH}\nand review the diff.\n\n" + "\n\n".join(story.stale)
    )


def test_the_tutorial_shows_every_step(story):
    commands = story.commands
    assert len(commands) >= 8, [c for c, _ in commands]

    def shown(pattern_command: str, pattern_output: str) -> bool:
        return any(re.search(pattern_command, c) and re.search(pattern_output, out, re.M) for c, out in commands)

    steps = {
        "a check with errors": shown(r"^cofactor check --rules", r"^Result: \d+ errors?"),
        "a check with no errors": shown(r"^cofactor check --rules", r"^Result: no errors"),
        "a quote not found": shown(r"^cofactor check", r"\[quote-not-found\]"),
        "an example failing": shown(r"^cofactor check", r"\[example-failed\]"),
        "a consultation using the extension": shown(r" consult ", r"\(from sleep\.toml\)"),
        "how, with the file and the quote": shown(r"^cofactor how ", r"\(from sleep\.toml\)[\s\S]*\(sleep-note\)"),
        "rules from the extension": shown(r" rules ", r"\(added by --rules\)"),
        "a replacement": shown(r" rules ", r"^  replaces  diet\."),
        "disabled rules": shown(r" rules ", r"^Disabled by --rules files"),
        "a reference with -o": shown(r"^cofactor reference .*-o ", r""),
    }
    missing = [name for name, present in steps.items() if not present]
    assert not missing, f"docs/authoring.md no longer shows: {', '.join(missing)}"
    # the invented article is labelled as such, in the tutorial and in its own text
    assert "invented" in story.files["texts/sleep-note.txt"].splitlines()[1]


def test_the_finished_files_are_in_docs_tutorial(story):
    stale = []
    for name, body in story.files.items():
        copy = FINISHED / name
        if UPDATING:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(body, encoding="utf-8")
        if not copy.exists() or copy.read_text(encoding="utf-8") != body:
            stale.append(name)
    kept = {p.relative_to(FINISHED).as_posix() for p in FINISHED.rglob("*") if p.is_file()}
    extra = sorted(kept - set(story.files))
    assert not stale and not extra, (
        f"docs/tutorial/ differs from the files docs/authoring.md builds (out of date: {stale}; "
        f"not built by it: {extra}); refresh with\n    {REFRESH}"
    )


def test_the_finished_extension_checks_clean_from_its_own_folder():
    """docs/tutorial/sleep.toml is usable where it is: cofactor check --rules docs/tutorial/sleep.toml."""
    _needs_the_sources()
    result = CliRunner().invoke(cli, ["check", "--rules", str(FINISHED / "sleep.toml")])
    assert result.exit_code == 0, result.output
    assert "0 unverified, 0 not found" in result.output


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as '-'."""
    heading = heading.strip().lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def test_the_tutorial_links_to_anchors_that_exist():
    text = TUTORIAL.read_text(encoding="utf-8")
    for target, anchor in re.findall(r"\]\(([\w./-]+\.md)#([\w-]+)\)", text):
        document = (TUTORIAL.parent / target).read_text(encoding="utf-8")
        outside_code = re.sub(r"^```.*?^```", "", document, flags=re.S | re.M)
        anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", outside_code, re.M)}
        assert anchor in anchors, f"docs/authoring.md links to {target}#{anchor}, which has no such heading"
    for target in re.findall(r"\]\(([\w./-]+)\)", text):
        assert (TUTORIAL.parent / target).exists(), f"docs/authoring.md links to {target}, which does not exist"
