"""Many cases at once, for a class: reading them, reasoning over them in
input order (on every core when there are enough of them), with memory that
does not grow with the input.

Cases come as

* ``csv``: a header of concept ids (or their aliases), then one case per
  row; a cell holds a state, or several separated by commas for a concept
  that takes several; an empty cell or ``unknown`` is unknown. Rows are
  numbered as a spreadsheet numbers them: the header is row 1.
* ``jsonl``: one JSON object per line, mapping concept ids to a state or a
  list of states, as an answers file does; numbered by line.
* ``toml`` or ``json``: one document of named cases (``[alice]`` tables, or
  an object of objects), each mapping concept ids to states.

Each case becomes one consultation's JSON object on one line (JSON Lines),
with its ``row`` or ``case`` first, or one row of a CSV table: the case,
its answers, then one column per derived concept. A case that cannot be
read or answered is reported with its row or name; the others go on.
"""

from __future__ import annotations

import csv
import itertools
import os
import stat
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, NamedTuple

from . import answers as answer_io
from . import jsontext, kbcache, render_json, rulefiles
from .consultation import summarize
from .errors import AnswerError, ReasoningError
from .limits import MAX_FILE_BYTES, MAX_LINE
from .model import KnowledgeBase
from .reasoning import Case, Reasoner

INPUT_FORMATS = ("csv", "jsonl", "toml", "json")
OUTPUT_FORMATS = ("jsonl", "csv")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".toml": "toml", ".json": "json"}
CHUNK = 250  # cases sent to a worker at a time
PARALLEL_AFTER = 2 * CHUNK  # fewer cases than this are reasoned over in this process


class RawCase(NamedTuple):
    """A case as read: its label and its answers, or why it could not be read."""

    label: int | str  # the row or line number, or the case's name
    answers: Mapping[str, object] | None  # as an answers file maps them
    error: str = ""


class Outcome(NamedTuple):
    """A case's output (a JSON line, or a CSV row's cells), or its error."""

    label: int | str
    output: str | list[str] | None
    error: str = ""


def input_format(path: str, given: str | None) -> str:
    """The format of the input: as given, or by the file's ending."""
    if given:
        return given
    found = _SUFFIXES.get(os.path.splitext(path)[1].lower())
    if found is None:
        name = "standard input" if path == "-" else f"'{answer_io.shown_path(path)}'"
        raise AnswerError(
            f"cannot tell the format of {name}; name it with --input-format ({', '.join(INPUT_FORMATS)})", value=path
        )
    return found


def output_format(path: str | None, given: str | None) -> str:
    """The format of the output: as given, CSV for a .csv name, else JSON Lines."""
    if given:
        return given
    return "csv" if path and path.lower().endswith(".csv") else "jsonl"


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_cases(kb: KnowledgeBase, stream: IO[str], fmt: str) -> Iterator[RawCase]:
    """The cases of ``stream``, one at a time. A problem with the whole input
    (an unknown column, a document that does not parse) raises
    :class:`AnswerError` here, before any case is read; a problem with one
    case is that case's error."""
    if fmt == "csv":
        return _csv_cases(kb, stream)
    if fmt == "jsonl":
        return _jsonl_cases(stream)
    return _named_cases(stream, fmt)


def _csv_cases(kb: KnowledgeBase, stream: IO[str]) -> Iterator[RawCase]:
    """Checks the header now; the rows are read as they are asked for."""
    rows = csv.reader(_lines(stream))
    try:
        header = next(rows, None)
    except csv.Error as exc:
        raise AnswerError(f"the CSV header is not valid CSV: {exc}", value="") from None
    if header and not _utf8("".join(header)):
        raise NotUtf8
    if not header:
        raise AnswerError(
            "the CSV input is empty: its first row names the questions, e.g. "
            f"{','.join(q.id for q in kb.questions[:3])}",
            value="",
        )
    columns = []
    for number, title in enumerate(header, 1):
        try:
            concept = answer_io.find_concept(kb, title, questions_only=True)
        except AnswerError as exc:
            raise AnswerError(f"CSV header, column {number}: {exc.render()}", value=title) from None
        if concept.id in columns:
            raise AnswerError(f"CSV header, column {number}: '{concept.id}' is named twice", value=title)
        columns.append(concept.id)
    return _csv_rows(rows, columns)


def _csv_rows(rows: Iterator[list[str]], columns: list[str]) -> Iterator[RawCase]:
    number = 1
    read = False  # a case read yet
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawCase(number, None, f"not valid CSV: {exc}")
            return
        if not row:
            continue  # a blank line
        if not _utf8("".join(row)):
            if not read:  # from its first case on: the wrong file, not one bad case
                raise NotUtf8
            yield RawCase(number, None, NOT_UTF8)
            continue
        read = True
        if len(row) != len(columns):
            yield RawCase(number, None, f"{len(row)} cells, but the header names {len(columns)} questions")
            continue
        answers: dict[str, object] = {}
        for concept, cell in zip(columns, row, strict=True):
            states = [part.strip() for part in cell.split(",")]
            if states == [""]:
                continue  # unknown
            answers[concept] = states if len(states) > 1 else states[0]
        yield RawCase(number, answers)


# Input is read keeping bytes that are not UTF-8 (as lone surrogates), so
# that one bad line of a stream is that case's error, not the end of the run.
NOT_UTF8 = "not UTF-8 text (save the file as UTF-8)"


class NotUtf8(AnswerError):
    """The input as a whole is not UTF-8 text (its header, its first line, or
    its one document): the wrong file, rather than one bad case."""

    def __init__(self) -> None:
        super().__init__(f"the input is {NOT_UTF8}", value="")


def _utf8(text: str) -> bool:
    """Does ``text`` hold only what UTF-8 decoded (no kept-back bytes)?"""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lines(stream: IO[str]) -> Iterator[str]:
    """The lines of ``stream``, each read with a bound: a line longer than
    MAX_LINE (a file that is not CSV or JSON Lines at all, /dev/zero...)
    ends the input with an error, before it can fill memory."""
    number = 0
    while line := stream.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise AnswerError(
                f"line {number:,} of the input is longer than {MAX_LINE:,} characters; "
                "is it a CSV or JSON Lines file? Split very long lines, or name the right --input-format",
                value="",
            )
        yield line


def _jsonl_cases(stream: IO[str]) -> Iterator[RawCase]:
    read = False  # a case read yet
    for number, line in enumerate(_lines(stream), 1):
        if not line.strip():
            continue
        if not _utf8(line):
            if not read:  # from its first case on: the wrong file, not one bad case
                raise NotUtf8
            yield RawCase(number, None, NOT_UTF8)
            continue
        read = True
        try:
            # the guarded reader answers files go through: no key twice, and
            # nesting and numbers within the limits (no RecursionError)
            data = rulefiles.parse_json(line)
        except rulefiles.FileRefused as exc:
            yield RawCase(number, None, f"{exc.message}; {exc.fix}" if exc.fix else exc.message)
            continue
        except ValueError as exc:
            yield RawCase(number, None, f"not valid JSON: {exc}")
            continue
        if not isinstance(data, dict):
            yield RawCase(number, None, 'a line must be a JSON object of answers, e.g. {"concept": "state"}')
            continue
        yield RawCase(number, data)


def _named_cases(stream: IO[str], fmt: str) -> Iterator[RawCase]:
    text = stream.read(MAX_FILE_BYTES + 1)  # characters: at least as many bytes
    if len(text) > MAX_FILE_BYTES:
        raise AnswerError(
            f"the input is larger than {MAX_FILE_BYTES // 1048576} MiB, the most a {fmt.upper()} document "
            "may be; split it into several files, or use CSV or JSON Lines, which are read a case at a time",
            value="",
        )
    if not _utf8(text):
        raise NotUtf8
    data = _document(text, fmt)
    return (
        RawCase(name, answers)
        if isinstance(answers, dict)
        else RawCase(name, None, "a case must be a table (or object) of answers")
        for name, answers in data.items()
    )


def _document(text: str, fmt: str) -> dict:
    try:
        data = rulefiles.parse_json(text) if fmt == "json" else rulefiles.parse_toml(text)
    except rulefiles.FileRefused as exc:
        fix = f"; {exc.fix}" if exc.fix else ""
        raise AnswerError(f"the input is refused: {exc.message}{fix}", value="") from None
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise AnswerError(f"the input is not valid {fmt.upper()}: {exc}", value="") from None
    if not isinstance(data, dict):
        raise AnswerError("the input must name its cases: a table (or object) per case, e.g. [alice]", value="")
    return data


def count_cases(path: str, fmt: str) -> int | None:
    """About how many cases a file holds (for a progress bar), or None. Only
    a regular file is counted: a FIFO or a pipe can be read once, by the run."""
    if path == "-" or fmt not in ("csv", "jsonl"):
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
    return max(0, lines - (1 if fmt == "csv" else 0))


# ---------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------


class Writer:
    """Turns a reasoned case into its output; the same in every process."""

    def __init__(self, kb: KnowledgeBase, fmt: str, disclaimer: str | None = None):
        self.fmt = fmt
        self.disclaimer = disclaimer  # ends every JSON object
        self.questions = [q.id for q in kb.questions]
        self.derived = sorted(c.id for c in kb.concepts.values() if not c.is_question)

    def header(self) -> list[str]:
        return ["case", *self.questions, *self.derived]

    def output(self, label: int | str, case: Case) -> str | list[str]:
        if self.fmt == "jsonl":
            key = "row" if isinstance(label, int) else "case"
            return jsontext.dumps(render_json.consultation(summarize(case), {key: label}, self.disclaimer))
        states: dict[str, list[str]] = {}
        for support in case.support.values():
            states.setdefault(support.fact.concept, []).append(support.fact.state)
        return [
            answer_io.shown(str(label), limit=None),
            *(",".join(case.answers.given.get(q, ())) for q in self.questions),
            *(",".join(states.get(c, ())) for c in self.derived),
        ]


def solve(reasoner: Reasoner, writer: Writer, raw: RawCase) -> Outcome:
    """One case, reasoned over and written; or why it could not be."""
    if raw.error:
        return Outcome(raw.label, None, raw.error)
    try:
        answers = answer_io.build(reasoner.kb, (), raw.answers)
        return Outcome(raw.label, writer.output(raw.label, reasoner.reason(answers)))
    except AnswerError as exc:
        return Outcome(raw.label, None, exc.render())
    except ReasoningError as exc:
        return Outcome(raw.label, None, str(exc))


def run(reasoner: Reasoner, writer: Writer, cases: Iterable[RawCase], *, jobs: int | None = None) -> Iterator[Outcome]:
    """Every case's outcome, in input order. With more than
    ``PARALLEL_AFTER`` cases and more than one core (or ``jobs``), the cases
    go to worker processes a chunk at a time, a few chunks ahead of the
    output, so memory does not grow with the input."""
    cases = iter(cases)
    first = list(itertools.islice(cases, PARALLEL_AFTER))
    workers = cores() if jobs is None else jobs
    if workers <= 1 or len(first) < PARALLEL_AFTER:
        for raw in itertools.chain(first, cases):
            yield solve(reasoner, writer, raw)
        return
    yield from _in_workers(reasoner, writer, _chunks(first, cases), workers)


def cores() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _chunks(first: list[RawCase], rest: Iterator[RawCase]) -> Iterator[list[RawCase]]:
    for start in range(0, len(first), CHUNK):
        yield first[start : start + CHUNK]
    while True:
        chunk = list(itertools.islice(rest, CHUNK))
        if not chunk:
            return
        yield chunk


def _in_workers(reasoner: Reasoner, writer: Writer, chunks: Iterator[list[RawCase]], workers: int) -> Iterator[Outcome]:
    import multiprocessing  # noqa: PLC0415 - only a large batch starts processes
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    # fork shares what this process has built already; elsewhere each worker
    # builds the knowledge base again, from plain data
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    setup = (kbcache.to_data(reasoner.kb), reasoner.firing_limit, writer.fmt, writer.disclaimer)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context(method), initializer=_start_worker, initargs=setup
    )
    waiting: deque = deque()
    try:
        for chunk in chunks:
            waiting.append(pool.submit(_work, chunk))
            if len(waiting) >= 2 * workers:
                yield from waiting.popleft().result()
        while waiting:
            yield from waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_worker: tuple[Reasoner, Writer] | None = None


def _start_worker(kb_data: dict, firing_limit: int, fmt: str, disclaimer: str | None) -> None:
    import signal  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    global _worker
    kb = kbcache.from_data(kb_data)
    _worker = (Reasoner(kb, firing_limit=firing_limit), Writer(kb, fmt, disclaimer))


def _work(chunk: list[RawCase]) -> list[Outcome]:
    assert _worker is not None, "a worker is started with _start_worker"
    reasoner, writer = _worker
    return [solve(reasoner, writer, raw) for raw in chunk]
