"""Input files of any size or shape: refused at once and cleanly, in a real
process under the contract's memory cap (tests/harness.py), when they are
over a limit of engine/limits.py or are not files at all.

What click's CliRunner can show is in tests/bad_input/files.toml; here are
the cases that need a real process or files too large to write there:
parsers' stacks, Python's limit on converting long integers, devices,
FIFOs, sockets and link loops."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from harness import assert_clean, run_cofactor

from cofactor.engine import rulefiles
from cofactor.engine.limits import MAX_FILE_BYTES, MAX_INT_DIGITS, MAX_LINE, MAX_NESTING, MAX_VALUES

NESTED = f"arrays and tables are nested more than {MAX_NESTING} deep"
LONG_NUMBER = "a number has 5000 digits"
QUICK = 30  # seconds: refusing any of these takes well under one; reaching it means a hang


def rules(path: Path | str) -> list[str]:
    return ["--rules", str(path), "rules"]


def answers(path: Path | str) -> list[str]:
    return ["consult", "--no-input", "--answers", str(path)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Nesting and numbers: the parsers' limits become the documented ones
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 10_000 + "]" * 10_000 + "\n",
        "x = " + "{ a = " * 10_000 + "1" + " }" * 10_000 + "\n",
        "x = " + "[" * 10_000 + "\n",  # never closed
        "a." * 10_000 + "b = 1\n",  # dotted keys nest without a bracket
    ],
    ids=["arrays", "inline tables", "unclosed", "dotted keys"],
)
def test_a_rule_file_nested_ten_thousand_deep(tmp_path, text):
    path = _write(tmp_path, "deep.toml", text)
    assert_clean(run_cofactor(rules(path), timeout=QUICK), 1, stderr=["deep.toml: " + NESTED, "flatten the data"])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.json", '{"magnesium_status": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001),
        ("deep.toml", "magnesium_status = " + "[" * 10_000 + "]" * 10_000 + "\n"),
        ("deep.toml", "magnesium_status = " + "{ a = " * 10_000 + "1" + " }" * 10_000 + "\n"),
    ],
    ids=["JSON arrays", "JSON objects", "TOML arrays", "TOML inline tables"],
)
def test_an_answers_file_nested_deep(tmp_path, name, text):
    path = _write(tmp_path, name, text)
    assert_clean(run_cofactor(answers(path), timeout=QUICK), 2, stderr=[f"{name}': {NESTED}"])


def test_a_five_thousand_digit_integer_in_a_rule_file(tmp_path):
    path = _write(
        tmp_path,
        "big.toml",
        '[[concept]]\nid = "mine_q"\nstates = ["a"]\nquestion = "q?"\norder = ' + "1" * 5000 + "\n",
    )
    err = assert_clean(run_cofactor(rules(path), timeout=QUICK), 1, stderr=[f"big.toml: {LONG_NUMBER} (line 5)"])
    assert f"at most {MAX_INT_DIGITS} are allowed" in err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("big.json", '{"magnesium_status": ' + "1" * 5000 + "}"),
        ("big.json", '{"magnesium_status": [-' + "9" * 5000 + "]}"),
        ("big.toml", "magnesium_status = " + "1" * 5000 + "\n"),
    ],
    ids=["JSON", "JSON negative", "TOML"],
)
def test_a_five_thousand_digit_integer_in_an_answers_file(tmp_path, name, text):
    path = _write(tmp_path, name, text)
    assert_clean(run_cofactor(answers(path), timeout=QUICK), 2, stderr=[f"{name}': {LONG_NUMBER}"])


def test_the_shape_of_parsed_data_is_checked_without_recursion():
    deep: list = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(rulefiles.FileRefused, match=NESTED):
        rulefiles.check_shape({"x": deep})
    with pytest.raises(rulefiles.FileRefused, match="too many digits"):
        rulefiles.check_shape({"x": [1, {"y": -(10**MAX_INT_DIGITS)}]})
    rulefiles.check_shape({"x": [10**MAX_INT_DIGITS - 1, True, "1" * 5000]})  # within the limits


def test_data_exactly_at_the_nesting_limit_is_read():
    text = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert rulefiles.parse_json(text) == rulefiles.parse_toml("x = " + text)["x"]
    with pytest.raises(rulefiles.FileRefused, match=NESTED):
        rulefiles.parse_json("[" + text + "]")


# ---------------------------------------------------------------------------
# Not files: devices, FIFOs, sockets, folders, link loops
# ---------------------------------------------------------------------------


def test_dev_zero_as_a_rule_file_or_an_answers_file():
    assert_clean(
        run_cofactor(rules("/dev/zero"), timeout=QUICK), 1, stderr=["/dev/zero: is a character device, not a file"]
    )
    assert_clean(
        run_cofactor(answers("/dev/zero"), timeout=QUICK),
        2,
        stderr=["answers file '/dev/zero': is a character device, not a file"],
    )


@pytest.fixture
def fifo(tmp_path) -> Path:
    """A FIFO that nobody ever writes: opening it to read would wait forever."""
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    return path


def test_a_fifo_nobody_writes_is_refused_at_once(fifo):
    assert_clean(run_cofactor(rules(fifo), timeout=QUICK), 1, stderr=["pipe.toml: is a FIFO (named pipe), not a file"])
    assert_clean(
        run_cofactor(answers(fifo), timeout=QUICK), 2, stderr=["pipe.toml': is a FIFO (named pipe), not a file"]
    )


def test_a_fifo_in_a_rules_folder_is_refused(fifo):
    assert_clean(
        run_cofactor(rules(fifo.parent), timeout=QUICK), 1, stderr=["pipe.toml: is a FIFO (named pipe), not a file"]
    )


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "sock.toml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert_clean(run_cofactor(rules(path), timeout=QUICK), 1, stderr=["sock.toml: is a socket, not a file"])
        assert_clean(run_cofactor(answers(path), timeout=QUICK), 2, stderr=["sock.toml': is a socket, not a file"])


def test_a_file_swapped_for_a_fifo_after_stat_is_refused_without_blocking(fifo, monkeypatch):
    """stat() said a regular file; once open (without blocking), fstat() says otherwise."""
    real_stat = os.stat
    regular = real_stat(__file__)
    monkeypatch.setattr(rulefiles.os, "stat", lambda p, *a, **k: regular if p == str(fifo) else real_stat(p, *a, **k))
    with pytest.raises(rulefiles.FileRefused, match="FIFO"):
        rulefiles.read_bytes(str(fifo))


def test_no_more_than_the_limit_is_read_whatever_stat_says(tmp_path, monkeypatch):
    path = tmp_path / "grows.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    real_stat = os.stat
    small = real_stat(__file__)  # a file that was small when looked at, and grew
    monkeypatch.setattr(rulefiles.os, "stat", lambda p, *a, **k: small if p == str(path) else real_stat(p, *a, **k))
    with pytest.raises(rulefiles.FileRefused, match=r"too large \(more than 8\.0 MiB; rule files may be at most 8 MiB"):
        rulefiles.read_bytes(str(path), "rule files")
    path.write_bytes(b"#" * MAX_FILE_BYTES)
    monkeypatch.undo()
    assert len(rulefiles.read_bytes(str(path))) == MAX_FILE_BYTES  # exactly the limit is read


def test_a_folder_as_an_answers_file(tmp_path):
    assert_clean(run_cofactor(answers(tmp_path), timeout=QUICK), 2, stderr=["is a folder; name a .toml or .json file"])


@pytest.fixture
def loops(tmp_path) -> Path:
    """A folder holding a link to itself and two links to each other."""
    folder = tmp_path / "loops"
    folder.mkdir()
    (folder / "self.toml").symlink_to("self.toml")
    (folder / "a.toml").symlink_to("b.toml")
    (folder / "b.toml").symlink_to("a.toml")
    return folder


LOOP = "is a symbolic link that leads round in a loop (point the link at a real file)"


def test_a_symbolic_link_loop_as_a_rule_file(loops):
    assert_clean(run_cofactor(rules(loops / "self.toml"), timeout=QUICK), 1, stderr=[f"self.toml: {LOOP}"])
    assert_clean(run_cofactor(rules(loops / "a.toml"), timeout=QUICK), 1, stderr=[f"a.toml: {LOOP}"])


def test_a_folder_holding_symbolic_link_loops(loops):
    result = run_cofactor(rules(loops), timeout=QUICK)
    err = assert_clean(result, 1, stderr=[f"a.toml: {LOOP}", f"b.toml: {LOOP}", f"self.toml: {LOOP}"])
    assert "3 problems" in err


def test_a_symbolic_link_loop_as_an_answers_file(loops):
    assert_clean(
        run_cofactor(answers(loops / "self.toml"), timeout=QUICK),
        2,
        stderr=["self.toml': is a symbolic link that leads round in a loop; point the link at a real file"],
    )


def test_a_link_in_a_rules_folder_back_to_the_folder_is_passed_over(tmp_path):
    """Subfolders are not searched, links to folders neither: no loop."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "back.toml").symlink_to(folder)
    (folder / "real.toml").write_text('[[document]]\nid = "mine-doc"\ntitle = "t"\n', encoding="utf-8")
    result = run_cofactor([*rules(folder), "--json"], timeout=QUICK)
    assert_clean(result, 0)


# --- batch input: read a case at a time, each line bounded ------------------------------


def test_batch_refuses_a_device_before_opening_it():
    result = run_cofactor(["batch", "/dev/zero", "--input-format", "jsonl"])
    assert_clean(result, 2, stderr=["batch file '/dev/zero' is a character device, not a file"])


def test_batch_reads_a_fifo_as_it_comes(tmp_path):
    fifo = tmp_path / "cases.csv"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as handle:
            handle.write("magnesium_status\nseverely_low\n")

    writer = threading.Thread(target=write)
    writer.start()
    result = run_cofactor(["batch", fifo, "--input-format", "csv", "--output-format", "csv"])
    writer.join()
    assert_clean(result, 0)
    header, row = result.stdout.decode().splitlines()
    assert row.split(",")[header.split(",").index("pth_secretion")] == "impaired"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_refuses_a_line_longer_than_the_limit(fmt):
    line = '{"magnesium_status": "' + "x" * (MAX_LINE + 10) + '"}\n' if fmt == "jsonl" else "a" * (MAX_LINE + 10)
    result = run_cofactor(["batch", "-", "--input-format", fmt], stdin=line)
    assert_clean(result, 2, stderr=[f"line 1 of the input is longer than {MAX_LINE:,} characters"])


def test_batch_refuses_a_named_document_larger_than_the_limit(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[alice]\nmagnesium_status = "' + "x" * MAX_FILE_BYTES + '"\n', encoding="utf-8")
    result = run_cofactor(["batch", path])
    assert_clean(result, 2, stderr=["the input is larger than 8 MiB", "use CSV or JSON Lines"])


def test_running_out_of_memory_is_one_line_and_exit_1(monkeypatch):
    from click.testing import CliRunner

    from cofactor.cli import cli
    from cofactor.engine.reasoning import Reasoner

    def exhausted(self, answers, **kw):
        raise MemoryError

    monkeypatch.setattr(Reasoner, "reason", exhausted)
    result = CliRunner().invoke(cli, ["consult", "--no-input", "-a", "magnesium_status=low"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "Error: cofactor ran out of memory; give it a smaller input (the README's reliability section lists "
        "the limits), or run it where more memory is free."
    )


# --- values packed into the size limit ---------------------------------------------------


def test_a_file_of_more_values_than_the_limit_is_refused_before_parsing():
    text = "x = [" + "[]," * MAX_VALUES + "]\n"
    with pytest.raises(rulefiles.FileRefused, match=f"more than {MAX_VALUES:,} values"):
        rulefiles.parse_toml(text)
    with pytest.raises(rulefiles.FileRefused, match=f"more than {MAX_VALUES:,} values"):
        rulefiles.parse_json("[" + "1," * MAX_VALUES + "1]")


def test_values_up_to_the_limit_and_commas_in_strings_do_not_count():
    # one array opened, MAX_VALUES - 1 commas: exactly the limit
    assert len(rulefiles.parse_toml("x = [" + "1," * (MAX_VALUES - 1) + "1]\n")["x"]) == MAX_VALUES
    assert rulefiles.parse_toml('x = "' + "," * (2 * MAX_VALUES) + '"\n')["x"] == "," * (2 * MAX_VALUES)


def test_an_eight_mebibyte_rule_file_of_empty_arrays_is_refused_quickly(tmp_path):
    path = tmp_path / "arrays.toml"
    path.write_text("x = [" + "[]," * ((MAX_FILE_BYTES - 20) // 3) + "]\n", encoding="utf-8")
    result = run_cofactor(["--rules", path, "rules"])
    assert_clean(result, 1, stderr=["arrays.toml: the file holds more than 500,000 values", "split it"])
