"""The fuzzing harness: generated input of every kind cofactor reads, in
every shape, must end cleanly.

It generates, from the grammar of the real formats (tests/fuzz_grammar.py),
then mutates:

* rule files: valid knowledge bases (concepts, rules with ``when``/``then``,
  strengths, sources), then wrong types, missing and unknown keys, duplicate
  ids, ids with a control character, a trailing newline or a look-alike
  letter, ``replaces``, cycles, a rule concluding its own condition, deep
  nesting, huge integers, and changed bytes (BOM, UTF-16, Latin-1, a cut,
  CRLF, NUL); many states and many conditions run as real processes;
* answers files (TOML and JSON: unknown ids, wrong types, duplicate keys,
  deep nesting, huge integers) and ``cofactor batch`` input (CSV, JSON
  Lines, TOML and JSON files of named cases);
* what is typed at the prompts of ``cofactor consult`` (states, numbers,
  ``why``, ``help``, ``back``, ``how X=Y``, garbage, escape sequences, very
  long lines, end of input), and, in a real process, undecodable bytes and
  other input encodings;
* command-line values (``-a``, ``--change``, CONCEPT=STATE), paths that are
  not regular files, and a standard output that is full.

Every run must end with an exit code of the contract (0, 1, 2 or 130), show
no traceback, write no raw control byte (C0 but tab and newline, DEL, C1),
write nothing on standard output when it fails, and finish. A generated
knowledge base that is valid must also give what it says: ``rules --json``
lists its rules, and a consultation concludes exactly what forward chaining
over its rules concludes.

Most examples run in this process through click's CliRunner; the ones that
need a memory cap, a time limit, bytes or a real terminal's streams run as
processes through tests/harness.py.

The CI run is deterministic (``derandomize``) and takes about a minute:
COFACTOR_FUZZ_EXAMPLES examples per in-process test (default 200; half as
many for the two on valid and spoiled knowledge bases), a tenth as many per
process test. A longer run, to look for new crashes:

    COFACTOR_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py

The examples stay deterministic: a larger count draws more of them, the same
first ones every time. To draw others, give a seed as well (any integer; a
failure prints the seed that found it):

    COFACTOR_FUZZ_SEED=7 COFACTOR_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py

Every crash it finds becomes a case in tests/bad_input/fuzz.toml (or a test
beside it), shrunk, with the exit code and message it should have: the fixed
budget here explores, the corpus keeps what was found.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import tomllib
import traceback
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import fuzz_grammar as fg
import pytest
from click.testing import CliRunner, Result
from harness import EXIT_CODES, RAW_CONTROL, assert_clean, run_cofactor
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from cofactor.cli import cli

EXAMPLES = int(os.environ.get("COFACTOR_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("COFACTOR_FUZZ_SEED")  # unset: derandomized, the CI run
PROCESS_EXAMPLES = max(1, EXAMPLES // 10)
# a process that has not ended after this long is hung (an honest run takes
# well under a second; the contract allows ten)
HANG = 30

BUILTIN_RULE_IDS = set(fg.RULE_IDS)


def fuzz(examples: int, *, shrink: bool = True):
    """Hypothesis settings of this harness: deterministic, no deadline (speed
    is not asserted), no example database. Without ``shrink``, a failure is
    reported as found (a hang, shrunk, would cost a time limit per step)."""
    phases = (Phase.explicit, Phase.generate, Phase.target) + ((Phase.shrink,) if shrink else ())
    chosen = settings(
        max_examples=examples,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )

    def apply(test):
        test = chosen(test)
        return test if SEED is None else seed(int(SEED))(test)

    return apply


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cofactor-fuzz-") as name:
        yield Path(name)


def invoke(args: list[str], stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=True)


def check(result: Result, allowed: Collection[int], args: list[str], *, partial_output: bool = False) -> None:
    """The contract for one in-process run. ``partial_output``: a failure
    may have written results already (batch writes every case it could)."""
    shown = f"cofactor {' '.join(map(repr, args))}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"{shown} crashed:\n{crash[-4000:]}")
    assert result.exit_code in allowed, (shown, result.exit_code, result.stderr[-2000:])
    assert result.exit_code in EXIT_CODES
    assert "Traceback" not in result.stderr + result.stdout, (shown, result.stderr[-2000:])
    assert not RAW_CONTROL.search(result.stderr), (shown, "raw control on stderr", result.stderr[-500:])
    assert not RAW_CONTROL.search(result.stdout), (shown, "raw control on stdout", result.stdout[-500:])
    if result.exit_code not in (0, 130) and not partial_output:
        assert result.stdout == "", (shown, "output on a failure", result.stdout[-500:])


def run_process(args: list[str], allowed: Collection[int], **kw) -> str:
    """The contract for one run as a process; returns standard error."""
    try:
        result = run_cofactor(args, timeout=HANG, **kw)
    except subprocess.TimeoutExpired:
        pytest.fail(f"cofactor {' '.join(map(repr, args))} hung (no end after {HANG} s)")
    assert result.returncode in allowed, (args, result.returncode, result.stderr[-2000:])
    return assert_clean(result, result.returncode)


# ---------------------------------------------------------------------------
# Rule files
# ---------------------------------------------------------------------------


@fuzz(EXAMPLES // 2)
@given(fg.knowledge_bases(), st.data())
def test_a_generated_knowledge_base_loads_and_concludes_what_its_rules_say(kb, data):
    answers = data.draw(fg.answers_for(kb))
    with folder() as where:
        path = where / "rules.toml"
        path.write_text(kb.text(), encoding="utf-8")
        args = ["--rules", str(path), "rules", "--json"]
        result = invoke(args)
        check(result, {0}, args)
        assert {r["id"] for r in json.loads(result.stdout)} == BUILTIN_RULE_IDS | set(kb.rules)
        given = [a for q, s in answers.items() for a in ("-a", f"{q}={s}")]
        args = ["--rules", str(path), "consult", "--no-input", "--json", *given]
        result = invoke(args)
        check(result, {0}, args)
        concluded = {f"{c['concept']}={c['state']}" for c in json.loads(result.stdout)["conclusions"]}
        assert {f for f in concluded if f.startswith("fz_")} == kb.conclusions(answers)
        for fact in sorted(kb.conclusions(answers))[:1]:
            args = ["--rules", str(path), "how", fact, *given]
            result = invoke(args)
            check(result, {0}, args)
            assert fact.replace("=", " = ") in result.stdout or fact in result.stdout, result.stdout[:500]


RULE_COMMANDS = [
    ["rules", "--json"],
    ["rules"],
    ["concepts"],
    ["consult", "--no-input", "-a", "fz_q0=s0"],
    ["how", "fz_d0=v0", "-a", "fz_q0=s1"],
    ["why-not", "fz_d0=v0", "-a", "fz_q0=s0"],
    ["trace", "-a", "fz_q0=s0", "--json"],
    ["what-if", "-a", "fz_q0=s0", "--change", "fz_q0=s1"],
]


@fuzz(EXAMPLES)
@given(fg.knowledge_bases(), st.data())
def test_a_mutated_rule_file_is_refused_cleanly_or_works(kb, data):
    inside = tuple(m for m in fg.MUTATIONS if m not in fg.SIZED)
    tables = data.draw(fg.mutated_tables(kb, inside))
    text = fg.toml_tables(tables)
    content = data.draw(fg.mutated_bytes(text)) if data.draw(st.booleans()) else text.encode("utf-8", "surrogatepass")
    command = data.draw(st.sampled_from(RULE_COMMANDS))
    with folder() as where:
        path = where / "rules.toml"
        path.write_bytes(content)
        args = ["--rules", str(path), *command]
        result = invoke(args)
        # 2: the mutation removed or renamed what the command names
        check(result, {0, 1, 2}, args)
        if result.exit_code == 1 and command[0] in ("rules", "concepts"):
            assert "rules.toml" in result.stderr, result.stderr[-1000:]


@fuzz(EXAMPLES // 2)
@given(fg.knowledge_bases(max_rules=4), st.data())
def test_an_id_with_a_control_character_newline_or_look_alike_is_refused(kb, data):
    tables, old, new = data.draw(fg.spoiled_tables(kb))
    with folder() as where:
        path = where / "rules.toml"
        path.write_text(fg.toml_tables(tables), encoding="utf-8")
        args = ["--rules", str(path), "rules", "--json"]
        result = invoke(args)
        check(result, {1}, args)
        assert "rules.toml" in result.stderr, result.stderr[-1000:]


@fuzz(PROCESS_EXAMPLES, shrink=False)
@given(fg.knowledge_bases(max_rules=3), st.data())
def test_a_large_or_deep_rule_file_ends_cleanly_in_a_process(kb, data):
    tables = data.draw(fg.mutated_tables(kb, (*fg.SIZED, "deep", "huge-int")))
    with folder() as where:
        path = where / "rules.toml"
        path.write_text(fg.toml_tables(tables), encoding="utf-8")
        command = data.draw(st.sampled_from(RULE_COMMANDS[:5]))
        run_process(["--rules", str(path), *command], {0, 1, 2})


# ---------------------------------------------------------------------------
# Answers files and batch input
# ---------------------------------------------------------------------------


@fuzz(EXAMPLES)
@given(fg.answers_documents(), st.data())
def test_an_answers_file_is_read_or_refused_cleanly(document, data):
    (name, text), valid = document
    content = data.draw(fg.mutated_bytes(text)) if data.draw(st.integers(0, 3)) == 0 else text.encode()
    with folder() as where:
        path = where / name
        path.write_bytes(content)
        args = ["consult", "--no-input", "--json", "--answers", str(path)]
        result = invoke(args)
        check(result, {0, 2}, args)
        if valid and content == text.encode():
            assert result.exit_code == 0, result.stderr
            given = json.loads(text) if text.startswith("{") else tomllib.loads(text)
            assert set(json.loads(result.stdout)["answers"]) == set(given)


@fuzz(EXAMPLES)
@given(fg.batch_inputs(), st.data())
def test_batch_input_is_reasoned_over_or_refused_cleanly(batch, data):
    name, text, count = batch
    mutate = data.draw(st.integers(0, 3)) == 0
    content = data.draw(fg.mutated_bytes(text)) if mutate else text.encode()
    table = data.draw(st.booleans())
    with folder() as where:
        path = where / name
        path.write_bytes(content)
        args = ["batch", str(path), "--jobs", "1"] + (["--output-format", "csv"] if table else [])
        result = invoke(args)
        check(result, {0, 1, 2}, args, partial_output=result.exit_code == 1)
        if count is not None and not mutate:
            assert result.exit_code == 0, result.stderr[-2000:]
            assert len(result.stdout.splitlines()) == count + (1 if table else 0), result.stdout[-2000:]


# ---------------------------------------------------------------------------
# The prompts and the command line
# ---------------------------------------------------------------------------


@fuzz(EXAMPLES)
@given(fg.prompt_input())
def test_whatever_is_typed_at_the_prompts_ends_cleanly(typed):
    args, stdin = typed
    args = ["consult", *args]
    # 0: the consultation ended; 130: end of input before it did
    check(invoke(args, stdin), {0, 130}, args)


UNDECODABLE = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9", b"\x00", b"\x1b]0;t\x07", b"\x9b2J"]


@fuzz(PROCESS_EXAMPLES, shrink=False)
@given(fg.prompt_input(), st.data())
def test_undecodable_replies_end_cleanly_in_a_process(typed, data):
    args, stdin = typed
    lines = stdin.encode("utf-8", "surrogatepass").split(b"\n")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(lines) - 1))
        lines[at] += data.draw(st.sampled_from(UNDECODABLE))
    encoding = data.draw(st.sampled_from(["utf-8", "ascii", "latin-1", "utf-8:strict"]))
    # 2 for a reply that cannot be read as text, should the program refuse it
    run_process(["consult", *args], {0, 2, 130}, stdin=b"\n".join(lines), env={"PYTHONIOENCODING": encoding})


@fuzz(EXAMPLES)
@given(fg.command_lines())
def test_any_command_line_value_ends_cleanly(args):
    # 1 for why-not/how of what was not concluded, should a command say so by its status
    check(invoke(args, "unknown\n" * 20), {0, 1, 2}, args)


@fuzz(PROCESS_EXAMPLES, shrink=False)
@given(fg.command_lines())
def test_a_full_standard_output_is_reported_in_a_process(args):
    args = [a.replace("\x00", "") for a in args]  # no argument of a process can hold a NUL
    with open("/dev/full", "wb") as full:
        stderr = run_process(args, {1, 2}, stdout=full.fileno())
    assert len(stderr.strip().splitlines()) == 1, stderr


def _special_paths(where: Path) -> dict[str, str]:
    (where / "folder").mkdir()
    loop = where / "loop.toml"
    loop.symlink_to(where / "loop.toml")
    looping = where / "looping"
    looping.mkdir()
    (looping / "a.toml").symlink_to(looping / "a.toml")
    fifo = where / "fifo.toml"
    os.mkfifo(fifo)
    odd = where / "odd\x1b[2J\nname.toml"
    odd.write_text('magnesium_status = "low"\n', encoding="utf-8")
    paths = {"folder": where / "folder", "missing": where / "missing.toml", "null": Path("/dev/null")}
    paths |= {"loop": loop, "looping folder": looping, "fifo": fifo, "odd name": odd}
    return {**{k: str(v) for k, v in paths.items()}, "empty name": ""}


@fuzz(PROCESS_EXAMPLES, shrink=False)
@given(
    st.sampled_from(["folder", "missing", "null", "loop", "looping folder", "fifo", "odd name", "empty name"]),
    st.sampled_from(["--rules", "--answers", "batch"]),
)
def test_a_path_that_is_no_regular_file_is_refused_at_once_in_a_process(name, option):
    with folder() as where:
        path = _special_paths(where)[name]
        if option == "--rules":
            args = ["--rules", path, "rules"]
        elif option == "--answers":
            args = ["consult", "--no-input", "--answers", path]
        elif name == "fifo":
            return  # batch reads a pipe, as `cofactor batch <(...)` gives it: waiting for a writer is right
        else:
            args = ["batch", path, "--input-format", "jsonl"]
        run_process(args, {0, 1, 2})
