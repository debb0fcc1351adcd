"""A cache of validated knowledge bases, so that a command starts fast.

Parsing and validating the rule files is most of what a command does before
it reasons; the result depends only on the files' names and texts and on
the engine's own loading code. :func:`load` reads the files (cheap), derives
a key from all of that, and either rebuilds the knowledge base from a cache
entry or validates the files and writes one.

It is safe to lose, to share between versions and to find damaged:

* the key covers every rule file's name, own path (which the paths of
  documents' texts are relative to), place (built-in or not) and whole
  text, and the size and time of every engine module that loading runs, so
  any change to any of them misses the cache;
* an entry is plain JSON (nothing in it is ever executed), with a checksum
  of its contents that is verified before it is used; an entry that does
  not verify, does not parse, or does not rebuild is ignored, and replaced;
* entries are written whole or not at all (a new file, then a rename), in
  the user's own cache folder; a folder that cannot be written only means
  no cache, never an error;
* only knowledge bases that load without a problem are cached: errors are
  always found by the loader itself.

``COFACTOR_CACHE_DIR`` names another folder; ``COFACTOR_NO_CACHE=1`` turns
the cache off.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import __version__, rulefiles
from .errors import Problem
from .model import (
    KIND_NAMED,
    Concept,
    Condition,
    Disabled,
    Document,
    Example,
    Fact,
    KnowledgeBase,
    Loop,
    Rule,
    SourceRef,
    Strength,
    Tension,
)

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

try:  # blake2b without importing hashlib, which loads OpenSSL (milliseconds at every start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

FORMAT = 6  # the layout of an entry; change it when the layout changes
KEEP = 8  # entries kept; the oldest beyond this are removed
# the modules whose code decides what a set of rule files loads as
_LOADING_CODE = (
    "kbcache.py",
    "loader.py",
    "model.py",
    "rulefiles.py",
    "syntax.py",
    "graph.py",
    "errors.py",
    "limits.py",
)


def cache_dir() -> str | None:
    """Where entries are kept, or None when the cache is off."""
    if os.environ.get("COFACTOR_NO_CACHE", "") not in ("", "0"):
        return None
    named = os.environ.get("COFACTOR_CACHE_DIR")
    if named:
        return named
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        return os.path.join(
            os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "cofactor", "Cache"
        )
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "cofactor")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "cofactor")


def load(
    builtin: Iterable[str | Path] = (),
    extra: Iterable[str | Path] = (),
    *,
    display_root: str | Path | None = None,
    folder: str | Path | None = None,
) -> KnowledgeBase:
    """As :func:`loader.load`, through the cache in ``folder`` (None: no
    cache). Raises :class:`KnowledgeBaseError` exactly as the loader does."""
    found = rulefiles.read(builtin, extra, display_root=display_root)
    files = [item for item in found if isinstance(item, rulefiles.RuleFile)]
    if folder is None or len(files) < len(found):  # a problem reading: the loader reports it
        return _validate(found)
    key = _key(files)
    folder = os.fspath(folder)
    entry = os.path.join(folder, f"kb-{key[:40]}.json")
    kb = _read(entry, key)
    if kb is None:
        kb = _validate(found)
        _write(folder, entry, key, kb)
    return kb


def _validate(found: list[rulefiles.RuleFile | Problem]) -> KnowledgeBase:
    from .loader import build  # noqa: PLC0415 - only a cache miss parses and validates

    return build(found)


def _key(files: list[rulefiles.RuleFile]) -> str:
    digest = blake2b(digest_size=32)
    here = os.path.dirname(__file__)
    code = []
    for name in _LOADING_CODE:
        try:
            stat = os.stat(os.path.join(here, name))
            code.append([name, stat.st_size, stat.st_mtime_ns])
        except OSError:
            code.append([name, None, None])
    # each file's own path too: a document's text is found relative to it
    head = json.dumps([FORMAT, __version__, code, [[f.shown, f.builtin, f.real, len(f.text)] for f in files]])
    digest.update(head.encode("utf-8"))
    for rule_file in files:
        digest.update(rule_file.text.encode("utf-8"))
    return digest.hexdigest()


def _read(entry: str, key: str) -> KnowledgeBase | None:
    try:
        with open(entry, "rb") as handle:
            raw = handle.read()
        header, _, body = raw.partition(b"\n")
        meta = json.loads(header)
        if meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        if blake2b(body, digest_size=32).hexdigest() != meta.get("checksum"):
            return None
        return from_data(json.loads(body))
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # missing, damaged or from another layout: validate again


def _write(folder: str, entry: str, key: str, kb: KnowledgeBase) -> None:
    body = json.dumps(to_data(kb), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header = json.dumps({"format": FORMAT, "key": key, "checksum": blake2b(body, digest_size=32).hexdigest()}).encode(
        "utf-8"
    )
    partial = f"{entry}.{os.getpid()}.partial"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(partial, "wb") as handle:
            handle.write(header + b"\n" + body)
        os.replace(partial, entry)
        _prune(folder, keep=entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def _prune(folder: str, keep: str) -> None:
    entries = [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("kb-") and n.endswith(".json")]
    entries.sort(key=lambda p: os.stat(p).st_mtime_ns, reverse=True)
    for old in [p for p in entries if p != keep][KEEP - 1 :]:
        with contextlib.suppress(OSError):
            os.unlink(old)


# ---------------------------------------------------------------------------
# A knowledge base as JSON data, and back
# ---------------------------------------------------------------------------


def to_data(kb: KnowledgeBase) -> dict:
    """A knowledge base as plain JSON data: lists, strings, numbers and booleans."""
    return {
        "concepts": [list(c) for c in kb.concepts.values()],
        "rules": [list(r) for r in kb.rules],
        "documents": [list(d) for d in kb.documents.values()],
        "files": list(kb.files),
        "strata": dict(kb.strata),
        "loops": [list(loop) for loop in kb.loops],
        "disabled": [[list(d.rule), d.by] for d in kb.disabled],
        "tensions": [
            [t.id, t.title, t.statement, list(t.rules), [list(s) for s in t.sides], t.path] for t in kb.tensions
        ],
    }


def from_data(data: dict) -> KnowledgeBase:
    """The knowledge base :func:`to_data` made ``data`` of (after a trip
    through JSON): equal to it, with the same types (Kind, Strength, tuples)."""
    concepts = {}
    for item in data["concepts"]:
        concept = _concept(item)
        concepts[concept.id] = concept
    documents = {d[0]: Document(*d) for d in data["documents"]}
    loops = tuple(
        Loop(lid, title, tuple(through), description, path) for lid, title, through, description, path in data["loops"]
    )
    return KnowledgeBase(
        concepts=concepts,
        rules=tuple(_rule(item) for item in data["rules"]),
        documents=documents,
        files=tuple(data["files"]),
        strata=dict(data["strata"]),
        loops=loops,
        disabled=tuple(Disabled(_rule(rule), by) for rule, by in data["disabled"]),
        tensions=tuple(
            Tension(tid, title, statement, tuple(rules), tuple(SourceRef(d, q) for d, q in sides), path)
            for tid, title, statement, rules, sides, path in data["tensions"]
        ),
    )


def _concept(item: list) -> Concept:
    (
        cid,
        label,
        states,
        kind,
        question,
        help_,
        description,
        aliases,
        ask_if,
        multi,
        exclusive,
        order,
        path,
        additions,
    ) = item
    return Concept(
        cid,
        label,
        tuple(states),
        KIND_NAMED[kind],
        question,
        help_,
        description,
        tuple(aliases),
        tuple(_condition(c) for c in ask_if),
        multi,
        tuple(exclusive),
        order,
        path,
        tuple((file, tuple(added)) for file, added in additions),
    )


def _rule(item: list) -> Rule:
    rid, title, when, then, strength, sources, path, replaces, replaced, examples, builtin, stand_in = item
    return Rule(
        rid,
        title,
        tuple(_condition(c) for c in when),
        tuple(Fact(c, s) for c, s in then),
        Strength(strength),
        tuple(SourceRef(d, q) for d, q in sources),
        path,
        replaces,
        tuple(replaced),
        tuple(_example(e) for e in examples),
        builtin,
        _condition(stand_in) if stand_in else None,
    )


def _example(item: list) -> Example:
    name, answers, expect, absent, strengths = item
    return Example(
        name,
        tuple((concept, tuple(states)) for concept, states in answers),
        tuple(Fact(c, s) for c, s in expect),
        tuple(Fact(c, s) for c, s in absent),
        tuple((Fact(*fact), Strength(strength)) for fact, strength in strengths),
    )


def _condition(item: list) -> Condition:
    concept, states, negated = item
    return Condition(concept, tuple(states), negated)
