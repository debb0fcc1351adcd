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

import fnmatch
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .errors import Problem

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

MAX_FILE_BYTES = 8 * 1024 * 1024


class RuleFile(NamedTuple):
    """One rule file, read."""

    shown: str  # the name messages use
    text: str
    builtin: bool  # built-in knowledge (may not use 'replaces')


def _toml_in(folder: str) -> list[str]:
    """The ``*.toml`` entries of ``folder``, sorted by name."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if fnmatch.fnmatch(name, "*.toml"))


def rule_files(paths: Iterable[str | Path]) -> list[str]:
    """Expand folders into the ``*.toml`` files directly inside them, sorted
    by name. Nothing else is read: no subfolders, and no links that lead out
    of the folder (they are reported by :func:`read`)."""
    found: list[str] = []
    for given in paths:
        path = os.fspath(given)
        if not path.strip():
            continue  # reported by read()
        if os.path.isdir(path):
            found.extend(p for p in _toml_in(path) if os.path.isfile(p) or os.path.islink(p))
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
            folder_of[folder] = os.path.realpath(folder)
        parent = folder_of[folder]
        real = os.path.realpath(path) if os.path.islink(path) else os.path.join(parent, os.path.basename(path))
        return real, parent

    for is_builtin, group in ((True, builtin), (False, extra)):
        named = [os.fspath(g) for g in group]
        expanded = rule_files(named)
        folders = [os.path.realpath(g) for g in named if g.strip() and os.path.isdir(g)]
        for given in named:
            if not given.strip():
                found.append(
                    Problem(
                        path="--rules", message="empty rule file name", fix="name a .toml rule file or a folder of them"
                    )
                )
                continue
            if os.path.isdir(given) and not _toml_in(given):
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
            if parent in folders and os.path.dirname(real) != parent:
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
                found.append(RuleFile(shown, text, is_builtin))
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


def _read_text(path: str, shown: str, found: list) -> str | None:
    if not os.path.exists(path):
        found.append(Problem(path=shown, message="no such file", fix="check the path given to --rules"))
        return None
    if os.path.isdir(path):
        return ""  # a link to a folder, inside the folder named: nothing to read
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            found.append(
                Problem(
                    path=shown,
                    message=f"the file is too large ({size / 1048576:.1f} MiB; rule files may be at most "
                    f"{MAX_FILE_BYTES // 1048576} MiB)",
                    fix="split the knowledge into several files, one per topic",
                )
            )
            return None
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
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
