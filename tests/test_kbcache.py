"""The cache of validated knowledge bases: used when it may be, never when
it may not, and never a reason for a command to fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cofactor.cli import BUILTIN_RULES
from cofactor.engine import KnowledgeBaseError, kbcache, load
from cofactor.engine import loader as loader_module
from cofactor.engine.model import (
    Concept,
    Condition,
    Disabled,
    Document,
    Example,
    Fact,
    Kind,
    KnowledgeBase,
    Rule,
    SourceRef,
    Strength,
)

ROOT = BUILTIN_RULES.parent


@pytest.fixture
def rules(tmp_path) -> Path:
    """A copy of the built-in rule files, free to change."""
    folder = tmp_path / "rules"
    shutil.copytree(BUILTIN_RULES, folder)
    return folder


@pytest.fixture
def validations(monkeypatch) -> list:
    """Counts the times rule files are parsed and validated."""
    calls: list = []
    original = loader_module.build

    def build(found):
        calls.append(1)
        return original(found)

    monkeypatch.setattr(loader_module, "build", build)
    return calls


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("kb-*.json"))


def test_a_cached_knowledge_base_is_the_one_the_loader_builds(tmp_path, validations):
    cache = tmp_path / "cache"
    first = kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    second = kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    assert len(validations) == 1  # the second came from the cache
    assert second == first == load([BUILTIN_RULES], display_root=ROOT)
    assert len(_entries(cache)) == 1


def test_the_round_trip_keeps_every_field(kb):
    assert kbcache.from_data(json.loads(json.dumps(kbcache.to_data(kb)))) == kb
    again = kbcache.from_data(json.loads(json.dumps(kbcache.to_data(kb))))
    assert [type(r.strength) for r in again.rules] == [type(r.strength) for r in kb.rules]
    assert {type(c.kind) for c in again.concepts.values()} == {Kind}
    assert again.loops == kb.loops and again.strata == kb.strata and again.files == kb.files


def test_the_round_trip_keeps_the_fields_of_extensions_examples_and_documents():
    question = Concept("level", "Level", ("low", "high", "borderline"), Kind.QUESTION, question="Level?")
    question = question._replace(additions=(("mine.toml", ("borderline",)),), aliases=("amount",))
    outcome = Concept("result", "Result", ("weak",), Kind.OUTCOME)
    example = Example(
        "a borderline level",
        (("level", ("borderline",)), ("other", ())),
        expect=(Fact("result", "weak"),),
        absent=(Fact("result", "strong"),),
        strengths=((Fact("result", "weak"), Strength.LIKELY),),
    )
    rule = Rule(
        "mine.r",
        "R",
        (Condition("level", ("borderline", "low")),),
        (Fact("result", "weak"),),
        Strength.POSSIBLE,
        (SourceRef("d", "A quote."),),
        path="mine.toml",
        examples=(example,),
        builtin=False,
    )
    gone = rule._replace(id="topic.gone", builtin=True, examples=(), replaced=("topic.older",))
    document = Document("d", "D", "d.txt", "mine.toml", "Smith (2024).", "https://example.org", "d.txt", "/x/d.txt")
    kb = KnowledgeBase(
        concepts={"level": question, "result": outcome},
        rules=(rule,),
        documents={"d": document},
        files=("mine.toml",),
        strata={"mine.r": 0},
        disabled=(Disabled(gone, "other.toml"),),
    )
    again = kbcache.from_data(json.loads(json.dumps(kbcache.to_data(kb))))
    assert again == kb
    assert again.rules[0].examples[0].strengths[0][1] is Strength.LIKELY
    assert isinstance(again.concepts["level"].additions[0][1], tuple)
    assert again.disabled[0].rule.strength is Strength.POSSIBLE and again.disabled[0].by == "other.toml"


def test_any_change_to_any_rule_file_misses_the_cache(tmp_path, rules, validations):
    cache = tmp_path / "cache"
    kbcache.load([rules], display_root=tmp_path, folder=cache)
    pth = rules / "pth.toml"
    text = pth.read_text(encoding="utf-8")
    stat = pth.stat()
    # the same size and the same modification time: only the text differs
    changed = text.replace('strength = "established"', 'strength = "possible"   ', 1)
    assert len(changed) == len(text) and changed != text
    pth.write_text(changed, encoding="utf-8")
    os.utime(pth, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert pth.stat().st_size == stat.st_size and pth.stat().st_mtime_ns == stat.st_mtime_ns
    kb = kbcache.load([rules], display_root=tmp_path, folder=cache)
    assert len(validations) == 2
    assert kb == load([rules], display_root=tmp_path)
    assert kb != load([BUILTIN_RULES], display_root=ROOT)


def test_a_new_file_in_the_folder_misses_the_cache(tmp_path, rules, validations):
    cache = tmp_path / "cache"
    kbcache.load([rules], display_root=tmp_path, folder=cache)
    (rules / "extra.toml").write_text('[[document]]\nid = "mine"\ntitle = "Mine"\n', encoding="utf-8")
    kb = kbcache.load([rules], display_root=tmp_path, folder=cache)
    assert len(validations) == 2 and "mine" in kb.documents


def test_a_change_to_the_loading_code_misses_the_cache(tmp_path, validations, monkeypatch):
    cache = tmp_path / "cache"
    kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    real_stat = os.stat
    loader_file = os.path.join(os.path.dirname(kbcache.__file__), "loader.py")

    class Edited:
        def __init__(self, stat):
            self.st_size = stat.st_size + 1
            self.st_mtime_ns = stat.st_mtime_ns

    monkeypatch.setattr(
        kbcache.os,
        "stat",
        lambda p, *a, **k: Edited(real_stat(p)) if os.fspath(p) == loader_file else real_stat(p, *a, **k),
    )
    kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    assert len(validations) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-40],  # cut short
        lambda raw: raw.replace(b'"magnesium_status"', b'"magnesium_statux"', 1),  # a changed byte
        lambda raw: b"not json\n" + raw,  # a broken header
        lambda raw: b"",  # empty
        lambda raw: raw.replace(f'"format": {kbcache.FORMAT}'.encode(), b'"format": 99', 1),  # another layout
    ],
)
def test_a_damaged_entry_is_never_trusted(tmp_path, validations, kb, damage):
    cache = tmp_path / "cache"
    kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    [entry] = _entries(cache)
    entry.write_bytes(damage(entry.read_bytes()))
    again = kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    assert len(validations) == 2
    assert again == kb
    # and the entry was written anew, whole
    assert kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache) == kb
    assert len(validations) == 2


def test_a_checksummed_entry_that_does_not_rebuild_is_ignored(tmp_path, validations, kb):
    cache = tmp_path / "cache"
    kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache)
    [entry] = _entries(cache)
    header, _, _ = entry.read_bytes().partition(b"\n")
    meta = json.loads(header)
    body = json.dumps(
        {"concepts": [["only", "one"]], "rules": [], "documents": [], "files": [], "strata": {}, "loops": []}
    ).encode()
    meta["checksum"] = kbcache.blake2b(body, digest_size=32).hexdigest()
    entry.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    assert kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=cache) == kb
    assert len(validations) == 2


def test_problems_are_never_cached(tmp_path):
    cache = tmp_path / "cache"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\n', encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError):
            kbcache.load([BUILTIN_RULES], [bad], display_root=ROOT, folder=cache)
    assert _entries(cache) == []


def test_a_folder_that_cannot_be_written_means_no_cache_not_an_error(tmp_path, kb):
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("", encoding="utf-8")
    assert kbcache.load([BUILTIN_RULES], display_root=ROOT, folder=blocked / "cache") == kb


def test_old_entries_are_pruned(tmp_path, rules):
    cache = tmp_path / "cache"
    for i in range(kbcache.KEEP + 3):
        (rules / "extra.toml").write_text(f'[[document]]\nid = "d{i}"\ntitle = "D"\n', encoding="utf-8")
        kbcache.load([rules], display_root=tmp_path, folder=cache)
    assert len(_entries(cache)) == kbcache.KEEP
    assert not list(cache.glob("*.partial"))


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv("COFACTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert kbcache.cache_dir() == str(tmp_path / "mine")
    monkeypatch.setenv("COFACTOR_NO_CACHE", "1")
    assert kbcache.cache_dir() is None
    monkeypatch.delenv("COFACTOR_NO_CACHE")
    monkeypatch.delenv("COFACTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform not in ("win32", "darwin"):
        assert kbcache.cache_dir() == str(tmp_path / "xdg" / "cofactor")


def test_the_command_line_uses_the_cache_and_says_nothing_of_it(tmp_path):
    env = {**os.environ, "COFACTOR_CACHE_DIR": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "cofactor.cli", "consult", "--no-input", "--json", "-a", "magnesium_status=low"]
    first = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    second = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout and first.stderr == second.stderr == ""
    assert len(_entries(tmp_path / "cache")) == 1
