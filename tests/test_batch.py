"""cofactor batch: many cases at once, in input order, a bad row reported
and the rest still written."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random

import pytest

from cofactor.cli import DISCLAIMER, cli
from cofactor.engine import answers as answer_io
from cofactor.engine import batch, render_json
from cofactor.engine.consultation import summarize

SIX = [
    "magnesium_status",
    "magnesium_deficiency_chronic",
    "magnesium_rich_foods",
    "calcium_intake",
    "calcium_supplement",
    "vitamin_d_supplement",
]


def _class_csv(kb, rows: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(SIX)
    for _ in range(rows):
        table.writerow([rng.choice([*kb.concepts[q].states, "", "unknown"]) for q in SIX])
    return out.getvalue()


def _partly(runner, *args, input=None):
    """A batch in which some cases fail: the others' results on standard
    output, the failures on standard error, exit 1, and no traceback."""
    result = runner.invoke(cli, list(args), input=input)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    return result


def _expected(reasoner, kb, row: list[str]) -> dict:
    pairs = [f"{q}={cell}" for q, cell in zip(SIX, row, strict=True) if cell]
    return render_json.consultation(summarize(reasoner.reason(answer_io.build(kb, pairs))))


def test_five_thousand_rows_give_five_thousand_lines_in_input_order(tmp_path, invoke, kb, reasoner):
    source = tmp_path / "class.csv"
    source.write_text(_class_csv(kb, 5000), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    result = invoke("batch", str(source), "-o", str(out))
    assert result.stdout == "" and result.stderr == ""
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["row"] for line in lines] == list(range(2, 5002))  # the header is row 1
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))[1:]
    for index in range(0, 5000, 97):  # each line is that row's consultation
        line = dict(lines[index])
        assert line.pop("row") == index + 2
        assert line.pop("disclaimer") == DISCLAIMER
        assert line == _expected(reasoner, kb, rows[index])


def test_a_bad_cell_reports_its_row_and_the_rest_is_still_written(tmp_path, invoke, kb):
    rows = _class_csv(kb, 1200).splitlines()
    cells = rows[5].split(",")
    cells[0] = "sevrely_low"
    rows[5] = ",".join(cells)
    source = tmp_path / "class.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    result = invoke("batch", str(source), "-o", str(out), expect=1)
    assert "row 6: 'sevrely_low' is not a state of 'magnesium_status'; did you mean 'severely_low'?" in result.stderr
    assert "1 of 1200 cases could not be reasoned over" in result.stderr
    written = [json.loads(line)["row"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == [r for r in range(2, 1202) if r != 6]


def test_workers_and_one_process_write_the_same(tmp_path, invoke, kb):
    source = tmp_path / "class.csv"
    source.write_text(_class_csv(kb, batch.PARALLEL_AFTER * 3 + 17), encoding="utf-8")
    single = invoke("batch", str(source), "--jobs", "1").stdout
    several = invoke("batch", str(source), "--jobs", "2").stdout
    assert single == several
    assert len(single.splitlines()) == batch.PARALLEL_AFTER * 3 + 17


def test_memory_does_not_grow_with_the_input(reasoner, kb):
    """The cases are read as the results are taken: an endless input still
    gives its first results, in one process and in several."""
    writer = batch.Writer(kb, "jsonl", {})
    endless = (batch.RawCase(n, {"magnesium_status": "low"}) for n in itertools.count(1))
    for jobs in (1, 2):
        taken = list(itertools.islice(batch.run(reasoner, writer, endless, jobs=jobs), batch.PARALLEL_AFTER * 2))
        assert [o.label for o in taken] == list(range(taken[0].label, taken[0].label + len(taken)))


def test_named_cases_in_toml_and_json(tmp_path, invoke):
    toml = tmp_path / "cases.toml"
    toml.write_text(
        '[alice]\nmagnesium_status = "low"\nsymptom = ["fatigue", "nausea"]\n\n'
        '[bob]\nmagnesium_status = "severely_low"\n',
        encoding="utf-8",
    )
    lines = [json.loads(line) for line in invoke("batch", str(toml)).stdout.splitlines()]
    assert [line["case"] for line in lines] == ["alice", "bob"]
    assert lines[0]["answers"] == {"magnesium_status": "low", "symptom": ["fatigue", "nausea"]}
    as_json = tmp_path / "cases.json"
    as_json.write_text(
        json.dumps({"bob": {"magnesium_status": "severely_low"}, "alice": {"magnesium_status": "low"}}),
        encoding="utf-8",
    )
    assert [json.loads(line)["case"] for line in invoke("batch", str(as_json)).stdout.splitlines()] == ["bob", "alice"]


def test_json_lines_in_and_a_csv_table_out(tmp_path, invoke, kb):
    source = tmp_path / "cases.jsonl"
    source.write_text(
        '{"magnesium_status": "low"}\n\n{"magnesium_status": "adequate", "symptom": ["fatigue"]}\n[1, 2]\n',
        encoding="utf-8",
    )
    out = tmp_path / "table.csv"
    result = invoke("batch", str(source), "-o", str(out), expect=1)
    assert "row 4: a line must be a JSON object of answers" in result.stderr
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    header = table[0]
    assert header[0] == "case" and header[1 : 1 + len(kb.questions)] == [q.id for q in kb.questions]
    derived = sorted(c.id for c in kb.concepts.values() if not c.is_question)
    assert header[1 + len(kb.questions) :] == derived
    low, adequate = (dict(zip(header, row, strict=True)) for row in table[1:])
    assert low["case"] == "1" and low["magnesium_status"] == "low"
    assert low["vitamin_d_activation"] == "impaired" and adequate["vitamin_d_activation"] == ""
    assert adequate["case"] == "3" and adequate["symptom"] == "fatigue"


def test_standard_input(invoke):
    result = invoke("batch", "-", "--input-format", "csv", input='magnesium_status,symptom\nlow,"fatigue,nausea"\n')
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["row"] == 2 and line["answers"]["symptom"] == ["fatigue", "nausea"]


def test_what_is_read_from_files_cannot_drive_the_terminal(tmp_path, runner):
    source = tmp_path / "cases.toml"
    source.write_text(
        '["eve\\u001b[2J"]\nmagnesium_status = "low"\n["mallory\\u001b]0;x\\u0007"]\nmagnesium_status = "nope"\n',
        encoding="utf-8",
    )
    for fmt in ("jsonl", "csv"):
        result = _partly(runner, "batch", str(source), "--output-format", fmt)
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr
        assert "case 'mallory\\x1b]0;x\\x07'" in result.stderr
    assert json.loads(_partly(runner, "batch", str(source)).stdout)["case"] == "eve\x1b[2J"


@pytest.mark.parametrize(
    "args, message",
    [
        (["/no/such/class.csv"], "batch file '/no/such/class.csv' does not exist"),
        (["{txt}"], "cases.txt'; name it with --input-format (csv, jsonl, toml, json)"),
        (["-"], "cannot tell the format of standard input"),
        (["{dir}"], "is a folder"),
        (["{latin1}"], "is not UTF-8 text"),
        (["{unknown_column}"], "CSV header, column 2: unknown concept 'calcium_intak'; did you mean 'calcium_intake'?"),
        (["{twice}"], "CSV header, column 2: 'magnesium_status' is named twice"),
        (["{empty}"], "the CSV input is empty"),
        (["{broken_toml}"], "the input is not valid TOML"),
        (["{same}", "-o", "{same}"], "is the input; name another file"),
        (["{same}", "--json", "--output-format", "csv"], "--json writes JSON Lines"),
    ],
)
def test_bad_batch_input_is_one_line_and_exit_2(tmp_path, invoke, args, message):
    files = {
        "dir": tmp_path,
        "latin1": tmp_path / "latin1.csv",
        "unknown_column": tmp_path / "unknown.csv",
        "twice": tmp_path / "twice.csv",
        "empty": tmp_path / "empty.csv",
        "broken_toml": tmp_path / "broken.toml",
        "same": tmp_path / "same.csv",
        "txt": tmp_path / "cases.txt",
    }
    (tmp_path / "cases.txt").write_text("magnesium_status\nlow\n", encoding="utf-8")
    (tmp_path / "latin1.csv").write_bytes("magnesium_status\nlów\n".encode("latin-1"))
    (tmp_path / "unknown.csv").write_text("magnesium_status,calcium_intak\nlow,high\n", encoding="utf-8")
    (tmp_path / "twice.csv").write_text("magnesium_status,Magnesium\nlow,low\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    (tmp_path / "broken.toml").write_text("[alice\n", encoding="utf-8")
    (tmp_path / "same.csv").write_text("magnesium_status\nlow\n", encoding="utf-8")
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    result = invoke("batch", *args, expect=2)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_cases_is_said_and_is_not_an_error(tmp_path, invoke):
    source = tmp_path / "header-only.csv"
    source.write_text("magnesium_status,calcium_intake\n", encoding="utf-8")
    result = invoke("batch", str(source))
    assert result.stdout == "" and "The input holds no cases." in result.stderr


def test_a_row_of_the_wrong_width_is_that_rows_error(tmp_path, runner):
    source = tmp_path / "ragged.csv"
    source.write_text("magnesium_status,calcium_intake\nlow,high\nlow\nadequate,low\n", encoding="utf-8")
    result = _partly(runner, "batch", str(source))
    assert "row 3: 1 cells, but the header names 2 questions" in result.stderr
    assert [json.loads(line)["row"] for line in result.stdout.splitlines()] == [2, 4]


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_later_case_that_is_not_utf8_is_that_cases_error(runner, tmp_path, source):
    """A file whose first case is not UTF-8 is the wrong file (exit 2, see
    above); a bad line further on is one bad case, and the others are read."""
    data = b'{"magnesium_status": "low"}\n{"magnesium_status": "l\xf3w"}\n{"magnesium_status": "severely_low"}\n'
    path = tmp_path / "cases.jsonl"
    path.write_bytes(data)
    args = ["batch", str(path)] if source == "file" else ["batch", "-", "--input-format", "jsonl"]
    result = _partly(runner, *args, input=data if source == "stdin" else None)
    assert [json.loads(line)["row"] for line in result.stdout.splitlines()] == [1, 3]
    assert "row 2: not UTF-8 text (save the file as UTF-8)" in result.stderr
