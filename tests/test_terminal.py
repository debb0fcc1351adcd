"""The command line against its terminal, as a real process: standard output
that cannot be written (a full disk, a closed pipe), replies and arguments
that are not valid in their encoding, text that would act on the terminal,
and Ctrl-C at any moment. The corpus of such text is tests/bad_input/terminal.toml.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import ALL_ANSWERED
from harness import RAW_CONTROL, assert_clean, run_cofactor

import cofactor
from cofactor.engine.errors import visible, visible_lines

FULL_DISK = "Error: cannot write the output: No space left on device"
CONSULT = ["consult", "--no-input", "--json", "-a", "magnesium_status=severely_low"]
COMMANDS = {
    "rules": ["rules"],
    "rules --json": ["rules", "--json"],
    "concepts": ["concepts"],
    "consult --json": CONSULT,
    "consult": ["consult", "--no-input", "-a", "magnesium_status=low"],
    "how": ["how", "blood_calcium=low", "-a", "magnesium_status=severely_low"],
    "why-not --json": ["why-not", "blood_calcium=low", "--json", "-a", "magnesium_status=low"],
    "trace": ["trace", "-a", "magnesium_status=severely_low"],
    "what-if": ["what-if", "-a", "magnesium_status=low", "--change", "magnesium_status=severely_low"],
    "--version": ["--version"],
    "--help": ["--help"],
    "consult --help": ["consult", "--help"],
}


def _lines(err: str) -> list[str]:
    return err.strip().splitlines()


# ---------------------------------------------------------------------------
# visible: the one function every message goes through
# ---------------------------------------------------------------------------


def test_visible_shows_every_control_character_and_keeps_the_rest():
    assert visible("magnesium_status=lów") == "magnesium_status=lów"
    assert visible("\x1b]0;title\x07\x1b[2J\x07\b") == "\\x1b]0;title\\x07\\x1b[2J\\x07\\x08"
    assert visible("a\tb\nc\rd\x7f\x85\u200b\xa0") == "a\\tb\\nc\\rd\\x7f\\x85\\u200b\\xa0"
    # a byte that was not valid in its encoding shows as that byte
    assert visible("low\udcff\udcc3") == "low\\xff\\xc3"
    assert visible("\ud800") == "\\ud800"
    # shown twice is shown once: messages made of shown parts stay as they are
    text = "\x1b[31m\udcff\n"
    assert visible(visible(text)) == visible(text)


def test_one_visible_for_messages_renderers_and_answers():
    """Messages, the text renderer and the answers' echo make text visible
    by one function, so they cannot drift apart."""
    from cofactor.engine import answers, render_text

    every = "".join(map(chr, range(0x250))) + "\u2028\u2029\u200b\u200e\ufeff\U000e0001\U0001f600"
    assert render_text.visible is visible
    assert answers.shown(every, limit=None) == visible(every)
    assert not RAW_CONTROL.search(visible(every))


def test_a_message_of_several_lines_keeps_its_line_breaks():
    assert visible_lines("first \x1b[2J\n  second\x07\n") == "first \\x1b[2J\n  second\\x07\n"
    assert visible_lines("one line") == "one line"


# ---------------------------------------------------------------------------
# standard output that cannot be written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_full_disk_is_one_line_and_exit_1(args):
    with open("/dev/full", "wb") as full:
        result = run_cofactor(args, stdout=full.fileno())
    err = assert_clean(result, 1, stderr=[FULL_DISK])
    assert _lines(err) == [FULL_DISK]


def test_a_full_disk_under_batch(tmp_path):
    cases = tmp_path / "class.csv"
    cases.write_text("magnesium_status\n" + "low\nseverely_low\nadequate\n" * 50, encoding="utf-8")
    with open("/dev/full", "wb") as full:
        result = run_cofactor(["batch", str(cases), "--jobs", "1"], stdout=full.fileno())
    err = assert_clean(result, 1, stderr=[FULL_DISK])
    assert FULL_DISK in _lines(err)


def _closed_pipe(args, *, read: int) -> subprocess.CompletedProcess[bytes]:
    """Runs cofactor with its standard output a pipe whose reader takes
    ``read`` bytes (none: closed before the start) and goes away."""
    reader, writer = os.pipe()
    if not read:
        os.close(reader)
        try:
            return run_cofactor(args, stdout=writer)
        finally:
            os.close(writer)

    def take() -> None:
        os.read(reader, read)
        os.close(reader)

    taker = threading.Thread(target=take)
    taker.start()
    try:
        return run_cofactor(args, stdout=writer)
    finally:
        os.close(writer)
        taker.join()


@pytest.mark.parametrize("read", [0, 10], ids=["closed before the start", "closed after 10 bytes"])
@pytest.mark.parametrize("args", [["rules", "--json"], ["rules"], CONSULT, ["--help"]], ids=" ".join)
def test_a_closed_pipe_ends_silently_with_exit_0(args, read):
    result = _closed_pipe(args, read=read)
    err = assert_clean(result, 0)
    assert err == ""


def test_a_closed_pipe_under_batch_is_silent(tmp_path):
    cases = tmp_path / "class.csv"
    cases.write_text("magnesium_status\n" + "low\nadequate\n" * 200, encoding="utf-8")
    result = _closed_pipe(["batch", str(cases), "--jobs", "1"], read=0)
    assert assert_clean(result, 0) == ""


def test_an_error_is_still_reported_when_standard_output_is_full():
    with open("/dev/full", "wb") as full:
        result = run_cofactor(["consult", "--no-input", "-a", "magnesum_status=low"], stdout=full.fileno())
    err = assert_clean(result, 2, stderr=["unknown concept 'magnesum_status'"])
    assert len(_lines(err)) == 1


# ---------------------------------------------------------------------------
# input that is not valid in its encoding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "reply", "shown"),
    [("utf-8", b"\xff", "\\xff"), ("ascii", "ló".encode(), "l\\xc3\\xb3"), ("utf-8", b"lo\xc3w", "lo\\xc3w")],
    ids=["0xff under utf-8", "ló under ascii", "a cut sequence under utf-8"],
)
def test_a_reply_not_in_the_inputs_encoding_is_asked_again(encoding, reply, shown):
    # strict decoding (PYTHONIOENCODING names no error handler), as on a UTF-8 locale
    result = run_cofactor(
        ["consult", *ALL_ANSWERED[:-2]], stdin=reply + b"\nfatigue\n", env={"PYTHONIOENCODING": encoding}
    )
    err = assert_clean(
        result,
        0,
        stderr=[
            f"> {shown}\n",
            f"the reply '{shown}' could not be read as {encoding} text (the encoding of standard input); "
            f"type it again in {encoding}",
            "> fatigue\n",
        ],
    )
    assert "Conclusions" in result.stdout.decode()
    assert ("PYTHONIOENCODING=utf-8" in err) == (encoding != "utf-8")


def test_a_reply_not_in_the_inputs_encoding_at_the_explain_prompt():
    result = run_cofactor(["consult", *ALL_ANSWERED], stdin=b"\xfe\xff\n1\n", env={"PYTHONIOENCODING": "utf-8"})
    assert_clean(result, 0, stderr=["the reply '\\xfe\\xff' could not be read as utf-8 text"])
    assert "Conclusions" in result.stdout.decode()


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["consult", "--no-input", "-a", "magnesium_status=\udcff"], "the answer 'magnesium_status=\\xff'"),
        (["how", "blood_calcium=l\udce9w"], "the fact 'blood_calcium=l\\xe9w'"),
        (["what-if", "--change", "magnesium_status=\udcff"], "the change 'magnesium_status=\\xff'"),
        (["rules", "--concept", "pth\udcff"], "the concept 'pth\\xff'"),
    ],
    ids=["-a", "how", "--change", "--concept"],
)
def test_an_argument_not_in_the_command_lines_encoding(args, what):
    # a lone surrogate in an argument is passed as the byte it stands for
    result = run_cofactor(args)
    err = assert_clean(result, 2, stderr=[what, "is not valid utf-8 text (the command line's encoding)"])
    assert len(_lines(err)) == 1


# ---------------------------------------------------------------------------
# text that would act on the terminal
# ---------------------------------------------------------------------------


def test_a_pasted_escape_sequence_is_shown_not_obeyed():
    reply = "\x1b]0;title\x07\x1b[2J\x07\b\b"
    result = run_cofactor(["consult"], stdin=reply + "\n")
    shown = "\\x1b]0;title\\x07\\x1b[2J\\x07\\x08\\x08"
    assert_clean(result, 130, stderr=[f"> {shown}\n", f"'{shown}' is not a state of 'magnesium_status'"])


def test_escape_sequences_in_every_kind_of_value(tmp_path):
    answers = tmp_path / "case\x1b]0;t\x07.toml"
    answers.write_text('magnesium_status = "\\u001b[2Jlow"\n', encoding="utf-8")
    result = run_cofactor(["what-if", "--answers", str(answers), "--change", "sun_exposure=\x9b2J"])
    assert_clean(result, 2, stderr=["\\x1b[2Jlow"])
    result = run_cofactor(["--rules", str(tmp_path / "r\x1b[2J.toml"), "how", "x\x07=y"])
    assert_clean(result, 1, stderr=["r\\x1b[2J.toml"])


# ---------------------------------------------------------------------------
# Ctrl-C at any moment
# ---------------------------------------------------------------------------

# When the package `cofactor` has been imported, its handler is in place.
# `python -X importtime` reports each import as it completes, on standard
# error: the test waits for the package's line, which costs normal runs
# nothing. Python's own start-up before that line is out of our hands.
READY = b"| cofactor\n"


def _as_from_a_terminal() -> None:
    """In the child, before Python starts: Ctrl-C as a terminal's shell
    gives it. A test run started in the background (``pytest &``) ignores
    SIGINT, its children inherit that, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(args: list[str], delay_ms: float) -> tuple[int, str, bytes]:
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "cofactor.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_as_from_a_terminal,
    )
    assert process.stderr is not None
    before = []
    while True:
        line = process.stderr.readline()
        before.append(line)
        if not line or line.endswith(READY):
            break
    time.sleep(delay_ms / 1000)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    text = (b"".join(before) + err).decode("utf-8", "replace")
    shown = "\n".join(line for line in text.splitlines() if not line.startswith("import time:"))
    return process.returncode, shown, out


def _assert_interrupted_cleanly(code: int, err: str, args: list[str], delay_ms: float) -> None:
    where = (args, delay_ms, code, err[-1500:])
    assert "Traceback" not in err and "Exception ignored" not in err, where
    assert not RAW_CONTROL.search(err), where
    if code == 130:
        assert len(_lines(err)) == 1 and err.strip().startswith("Error: interrupted"), where
    else:
        assert code == 0, where  # it had finished


def test_ctrl_c_once_cofactor_is_imported_exits_130_with_one_line():
    codes = set()
    for delay_ms in [0, 1, 2, 5, 10, 20, 50]:
        code, err, _ = _interrupt(CONSULT, delay_ms)
        _assert_interrupted_cleanly(code, err, CONSULT, delay_ms)
        codes.add(code)
    assert 130 in codes  # a consultation takes far longer than 50 ms to start


@pytest.mark.slow
@pytest.mark.parametrize(
    "args", [CONSULT, ["rules", "--json"], ["--version"], ["how", "blood_calcium=low"]], ids=" ".join
)
def test_ctrl_c_at_any_moment_of_a_command(args):
    """From the first instant after the package's import to the end of the
    run and beyond, many times: 130 and one line, or 0 if it had finished."""
    codes = set()
    for _ in range(3):
        for delay_ms in [0, 1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 75, 100, 125, 150, 175, 200, 250, 300, 400, 600]:
            code, err, _ = _interrupt(args, delay_ms)
            _assert_interrupted_cleanly(code, err, args, delay_ms)
            codes.add(code)
    assert 130 in codes


def test_ctrl_c_while_the_command_runs_says_what_was_done(tmp_path):
    """Armed: the first Ctrl-C during the command is the command's to
    report. A consultation that waits at its prompt is interrupted there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cofactor.cli", "consult"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_as_from_a_terminal,
    )
    assert process.stderr is not None
    seen = b""
    while not seen.endswith(b"> "):  # the first question's prompt: the command runs
        chunk = process.stderr.read1(4096)  # type: ignore[attr-defined]
        assert chunk, seen
        seen += chunk
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.decode().strip() == "Error: interrupted; nothing was concluded."
    assert out == b""


def test_importing_cofactor_as_a_library_leaves_ctrl_c_alone():
    code = "import signal, cofactor.cli\nprint(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, preexec_fn=_as_from_a_terminal
    )
    assert result.stdout.strip() == "True", result.stderr


def test_ctrl_c_ignored_by_whoever_started_cofactor_stays_ignored():
    """``nohup cofactor ...`` or a background job: SIGINT is ignored on
    purpose, and the command leaves it so: a Ctrl-C at the prompt changes
    nothing, and the consultation ends when its input does."""
    with subprocess.Popen(
        [sys.executable, "-m", "cofactor.cli", "consult"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    ) as process:
        assert process.stderr is not None
        seen = b""
        while not seen.endswith(b"> "):
            chunk = process.stderr.read1(4096)  # type: ignore[attr-defined]
            assert chunk, seen
            seen += chunk
        process.send_signal(signal.SIGINT)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=1)  # still at its question
        out, err = process.communicate(b"", timeout=120)  # end of input
    assert process.returncode == 130 and out == b""
    assert err.decode().strip().startswith("Error: end of input before the consultation was finished")


@pytest.mark.parametrize(
    ("argv", "orig", "expected"),
    [
        (["/usr/local/bin/cofactor", "rules"], None, True),
        (["-m"], ["python", "-X", "importtime", "-m", "cofactor.cli", "rules"], True),
        (["-m"], ["python", "-m", "other.tool"], False),
        (["/usr/bin/pytest"], None, False),
        (["-c"], None, False),
        ([], None, False),
    ],
)
def test_the_handler_is_set_only_by_the_command_itself(monkeypatch, argv, orig, expected):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig or ["python", *argv])
    assert cofactor._started_as_the_command() is expected


def test_a_reply_longer_than_any_reply_ends_the_consultation():
    # standard input that is not replies at all: one endless line of NULs
    with open("/dev/zero", "rb") as zeros:
        result = subprocess.run(
            [sys.executable, "-m", "cofactor.cli", "consult"], stdin=zeros, capture_output=True, timeout=120
        )
    assert_clean(result, 2, stderr=["a reply of more than 1,048,576 characters", "--no-input with --answers FILE"])
