"""Finding and reading rule files, before anything is parsed.

The loader (:mod:`.loader`) parses and validates what this returns, and the
cache (:mod:`.kbcache`) keys a validated knowledge base on it: the names the
files are shown under, whether they are built-in, and their text. Only the
files named are read, or ``*.toml`` directly inside a named folder, never a
link that leads out of that folder.

This runs at every start, so it works on plain strings with ``os.path``;
``pathlib`` (milliseconds to import) is only needed to show a path given on
the command line the way a user wrote it.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .errors import Problem
from .limits import MAX_FILE_BYTES, MAX_INT_DIGITS, MAX_NESTING, MAX_VALUES

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path


class RuleFile(NamedTuple):
    """One rule file, read."""

    shown: str  # the name messages use
    text: str
    builtin: bool  # built-in knowledge (may not use 'replaces', 'disables' or 'add_states')
    # the file's own path, resolved: what a document's 'text' is relative to
    # ("" when not known: then the shown name is taken, from the working folder)
    real: str = ""


def _toml_in(folder: str) -> list[str]:
    """The ``*.toml`` entries of ``folder``, sorted by name (none when it
    cannot be listed: reading the folder is reported then)."""
    try:
        names = os.listdir(folder)
    except (OSError, ValueError):
        return []
    return sorted(os.path.join(folder, name) for name in names if fnmatch.fnmatch(name, "*.toml"))


def _is_dir(path: str) -> bool:
    """Whether ``path`` leads to a folder; False for anything that cannot be
    looked at (a link loop, a name with a NUL byte): reading it reports why."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def rule_files(paths: Iterable[str | Path]) -> list[str]:
    """Expand folders into the ``*.toml`` entries directly inside them, sorted
    by name. Nothing else is read: no subfolders, and no links that lead out
    of the folder (they are reported by :func:`read`); folders and links to
    folders are passed over. Other entries that are not regular files (a
    FIFO, a device, a link loop) are kept, so that reading them reports them."""
    found: list[str] = []
    for given in paths:
        path = os.fspath(given)
        if not path.strip():
            continue  # reported by read()
        if _is_dir(path):
            found.extend(p for p in _toml_in(path) if not _is_dir(p))
        else:
            found.append(path)
    return found


def read(
    builtin: Iterable[str | Path] = (), extra: Iterable[str | Path] = (), *, display_root: str | Path | None = None
) -> list[RuleFile | Problem]:
    """The rule files named (built-in first, then a rule author's), read,
    and every problem met on the way, in the order met."""
    found: list[RuleFile | Problem] = []
    seen: set[str] = set()
    root = os.path.realpath(display_root) if display_root is not None else None
    folder_of: dict[str, str] = {}  # each folder resolved once

    def resolved(path: str) -> tuple[str, str]:
        """The path resolved, and its folder resolved."""
        folder = os.path.dirname(path)
        if folder not in folder_of:
            folder_of[folder] = _realpath(folder)
        parent = folder_of[folder]
        real = _realpath(path) if os.path.islink(path) else os.path.join(parent, os.path.basename(path))
        return real, parent

    for is_builtin, group in ((True, builtin), (False, extra)):
        named = [os.fspath(g) for g in group]
        expanded = rule_files(named)
        folders = [_realpath(g) for g in named if g.strip() and _is_dir(g)]
        for given in named:
            if not given.strip():
                found.append(
                    Problem(
                        path="--rules", message="empty rule file name", fix="name a .toml rule file or a folder of them"
                    )
                )
                continue
            if _is_dir(given) and not _toml_in(given):
                found.append(
                    Problem(
                        path=given,
                        message="the folder holds no .toml rule files",
                        fix="name a folder with rule files, or a .toml file",
                    )
                )
        for path in expanded:
            real, parent = resolved(path)
            if real in seen:
                continue  # named twice (or a file inside a folder also named): read it once
            seen.add(real)
            shown = display(path, root, real)
            if parent in folders and os.path.dirname(real) != parent and not _loops(path):
                found.append(
                    Problem(
                        path=shown,
                        message=f"links to {real}, outside the folder given",
                        fix="name that file itself with --rules if you mean to load it",
                    )
                )
                continue
            text = _read_text(path, shown, found)
            if text is not None:
                found.append(RuleFile(shown, text, is_builtin, real))
    return found


def display(path: str, root: str | None, real: str) -> str:
    """How a rule file is named in messages: relative to ``root`` (resolved)
    if it is inside it, else as given; ``real`` is the file's own path,
    resolved."""
    if root is not None and real.startswith(root.rstrip(os.sep) + os.sep):
        return real[len(root.rstrip(os.sep)) + 1 :]  # normalized already
    return _as_given(path)


def _as_given(path: str) -> str:
    from pathlib import PurePath  # noqa: PLC0415 - a path as pathlib spells it (no './', no '//')

    return str(PurePath(path))


def _realpath(path: str) -> str:
    """``path`` resolved as far as it can be (a link loop stays as it is)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _loops(path: str) -> bool:
    """Whether ``path`` is a symbolic link that leads round in a loop."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return False
    return False


def _read_text(path: str, shown: str, found: list) -> str | None:
    """The text of one rule file, or None with its problem added to ``found``."""
    try:
        return decode(read_bytes(path, "rule files"))
    except FileNotFoundError:
        found.append(Problem(path=shown, message="no such file", fix="check the path given to --rules"))
    except IsADirectoryError:
        return ""  # a link to a folder, inside the folder named: nothing to read
    except FileRefused as exc:
        found.append(Problem(path=shown, message=exc.message, fix=exc.fix or "name a .toml rule file"))
    except UnicodeDecodeError as exc:
        found.append(Problem(path=shown, message=f"not UTF-8 text (byte {exc.start})", fix="save the file as UTF-8"))
    except OSError as exc:
        found.append(
            Problem(
                path=shown,
                message=f"cannot read the file: {exc.strerror or exc}",
                fix="check that the file exists and is readable",
            )
        )
    return None


# ---------------------------------------------------------------------------
# Reading any input file (rule files, answers files) within the limits
# ---------------------------------------------------------------------------


class FileRefused(Exception):
    """A file that is not read, or whose content is refused, and why: one
    line (``message``) and how to put it right (``fix``)."""

    def __init__(self, message: str, fix: str = ""):
        self.message = message
        self.fix = fix
        super().__init__(message + (f" ({fix})" if fix else ""))


_SPECIAL = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _check_kind(mode: int) -> None:
    """Refuse anything but a regular file (a folder is IsADirectoryError)."""
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory")
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _SPECIAL if test(mode)), "not a regular file")
    raise FileRefused(f"is {kind}, not a file: it is not read", "name a regular file")


def check_stream(path: str | Path) -> None:
    """For input read as a stream (batch's CSV and JSON Lines): a regular
    file, a FIFO or a pipe (``<(...)``) may be read as it comes; a device or
    a socket is refused (:class:`FileRefused`) before it is opened. Raises
    OSError for a path that cannot be examined."""
    mode = os.stat(path).st_mode
    if stat.S_ISFIFO(mode):
        return
    _check_kind(mode)


def _open_without_blocking(name: str, flags: int) -> int:
    """Open so that nothing can block: a FIFO swapped in after ``stat`` is
    opened without waiting for a writer, and then refused."""
    return os.open(name, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))


def read_bytes(path: str | Path, noun: str = "files") -> bytes:
    """The bytes of the regular file ``path``, at most ``MAX_FILE_BYTES``.

    Looked at with ``stat`` before anything is opened: a folder raises
    :class:`IsADirectoryError`, and a device, FIFO or socket, a link that
    loops, or a file over the limit raise :class:`FileRefused` without
    being opened (so a FIFO nobody writes cannot block). The file is opened
    without blocking and looked at again once open, so that a file swapped
    for something else in between is refused too, and at most the limit
    plus one byte is ever read. A missing file raises
    :class:`FileNotFoundError`; other failures, :class:`OSError`.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRefused(
                "is a symbolic link that leads round in a loop", "point the link at a real file"
            ) from None
        raise
    except ValueError:  # a NUL byte in the name
        raise FileRefused("the name holds a NUL byte", "check the file name") from None
    _check_kind(info.st_mode)
    too_large = f"{noun} may be at most {MAX_FILE_BYTES // 1048576} MiB"
    fix = "split it into several files, one per topic"
    if info.st_size > MAX_FILE_BYTES:
        raise FileRefused(f"the file is too large ({_mib(info.st_size)}; {too_large})", fix)
    with open(name, "rb", buffering=0, opener=_open_without_blocking) as handle:
        _check_kind(os.fstat(handle.fileno()).st_mode)
        chunks = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(f"the file is too large (more than {_mib(MAX_FILE_BYTES)}; {too_large})", fix)
    return data


BOM = "\ufeff"


def decode(data: bytes) -> str:
    """UTF-8 text; a byte-order mark at the start (as some Windows editors
    write) is accepted and dropped. Raises :class:`UnicodeDecodeError`."""
    text = data.decode("utf-8")
    return text[1:] if text.startswith(BOM) else text


# strings and comments, whose brackets and digits are not structure
_TOML_SKIP = (
    r'"""[\s\S]*?"""(?!")'  # a multi-line basic string
    r"|'''[\s\S]*?'''(?!')"  # a multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # a basic string
    r"|'[^'\n]*'"  # a literal string
    r"|#[^\n]*"  # a comment
)
_JSON_SKIP = r'"(?:[^"\\\n]|\\.)*"'
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}\n")  # bytes to delete
_LONG_NUMBER = rf"[0-9][0-9_]{{{MAX_INT_DIGITS},}}"

NESTING_FIX = "flatten the data: rule files and answers files need only a few levels"


def _nesting_refused(line: int | None) -> FileRefused:
    where = f" (line {line})" if line else ""
    return FileRefused(f"arrays and tables are nested more than {MAX_NESTING} deep{where}", NESTING_FIX)


def _number_refused(digits: int | None, line: int | None) -> FileRefused:
    size = f"{digits} digits" if digits else "too many digits"
    where = f" (line {line})" if line else ""
    return FileRefused(f"a number has {size}{where}; at most {MAX_INT_DIGITS} are allowed", "write a smaller number")


def _scan(text: str, skip: str, numbers: bool) -> None:
    """Refuse, before parsing, text whose brackets nest deeper than
    ``MAX_NESTING`` (which would exhaust a parser's stack), and (with
    ``numbers``) a run of more than ``MAX_INT_DIGITS`` digits outside
    strings and comments. Brackets of table headers count too: a header
    nests two deep at most."""
    import itertools  # noqa: PLC0415
    import re  # noqa: PLC0415

    long_number = re.compile(_LONG_NUMBER)
    numbers = numbers and long_number.search(text) is not None
    opened = text.count("[") + text.count("{")
    deep = opened > MAX_NESTING
    many = opened + text.count(",") > MAX_VALUES
    if not (numbers or deep or many):
        return  # the common case: nothing to look at closely
    bare = re.sub(skip, lambda m: "\n" * m.group().count("\n"), text)
    if many and bare.count("[") + bare.count("{") + bare.count(",") > MAX_VALUES:
        raise FileRefused(
            f"the file holds more than {MAX_VALUES:,} values (arrays, tables and the items of lists)",
            "split it into several files",
        )
    if numbers:
        for match in long_number.finditer(bare):
            digits = sum(ch.isdigit() for ch in match.group())
            if digits > MAX_INT_DIGITS:
                raise _number_refused(digits, bare.count("\n", 0, match.start()) + 1)
    if bare.count("[") + bare.count("{") <= MAX_NESTING:
        return
    # only the brackets and newlines, as bytes (UTF-8 keeps ASCII as it is)
    brackets = bare.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET)
    depths = itertools.accumulate(memoryview(brackets.translate(_STEPS)).cast("b"))
    if max(depths, default=0) <= MAX_NESTING:
        return
    depth = 0
    for index, byte in enumerate(brackets):
        depth += 1 if byte in b"[{" else -1 if byte in b"]}" else 0
        if depth > MAX_NESTING:
            raise _nesting_refused(brackets.count(b"\n", 0, index) + 1)


# +1 for an opening bracket, -1 (0xff as a signed byte) for a closing one, 0 for a newline
_STEPS = bytes.maketrans(b"[{]}\n", b"\x01\x01\xff\xff\x00")


def check_shape(data: object) -> None:
    """Refuse parsed data nested more than ``MAX_NESTING`` deep (dotted
    keys nest without brackets) or holding an integer of more than
    ``MAX_INT_DIGITS`` digits. Iterative: no recursion, whatever the depth."""
    bound = 10**MAX_INT_DIGITS
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value  # type: ignore[assignment]
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= bound:
            raise _number_refused(None, None)
        else:
            continue
        if depth > MAX_NESTING:
            raise _nesting_refused(None)
        stack.extend((child, depth + 1) for child in children)


def parse_toml(text: str) -> dict:
    """TOML text as data, within the limits. Raises :class:`FileRefused`
    for what is over a limit, ``tomllib.TOMLDecodeError`` for what is not TOML."""
    import tomllib  # noqa: PLC0415

    _scan(text, _TOML_SKIP, numbers=True)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _nesting_refused(None) from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # Python's limit on converting long integers
        raise _number_refused(None, None) from None
    check_shape(data)
    return data


def parse_json(text: str) -> object:
    """JSON text as data, within the limits, with no key given twice in one
    object. Raises :class:`FileRefused` for what is over a limit or a key
    given twice, ``json.JSONDecodeError`` for what is not JSON."""
    import json  # noqa: PLC0415

    _scan(text, _JSON_SKIP, numbers=False)

    def number(digits: str) -> int:
        count = len(digits.lstrip("-"))
        if count > MAX_INT_DIGITS:
            raise _number_refused(count, None)
        return int(digits)

    def unique(pairs: list[tuple[str, object]]) -> dict:
        data = dict(pairs)
        if len(data) < len(pairs):
            seen: set[str] = set()
            twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
            raise FileRefused(f"the key '{twice}' is given twice in one object", "give each key once")
        return data

    try:
        data = json.loads(text, parse_int=number, object_pairs_hook=unique)
    except RecursionError:
        raise _nesting_refused(None) from None
    check_shape(data)
    return data
