"""``cofactor check``: everything that can be found wrong with a knowledge
base, in one pass, without a consultation.

Domain-blind: every check looks at the shape of the rules, the concepts and
the documents, never at what they are about.

* the loader's problems (each an error, code ``load``);
* the rule graph, statically: rules that can never fire (their conditions
  cannot hold together, or need a fact that nothing gives, directly or
  through rules that never fire), concepts and questions nothing uses,
  mechanisms that lead nowhere, rules that another makes redundant, and the
  cycles of the graph (as information);
* the quotes, against the local text of the document each cites, when that
  text is available;
* the examples the rule files carry, each reasoned over like a test;
* the exhaustive run (:mod:`.exhaustive`): every combination of answers.

Each finding names its file, its id, what is wrong and how to put it right.
Anything the reasoning raises becomes a finding: no traceback reaches a user.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from . import rulefiles
from .answers import Answers
from .errors import CofactorError, Problem, visible
from .graph import concept_components
from .model import Concept, Condition, Document, Example, Fact, Kind, KnowledgeBase, Rule

if TYPE_CHECKING:  # pragma: no cover
    from .exhaustive import Exhaustive
    from .reasoning import Case, Reasoner

ERROR = "error"
WARNING = "warning"
INFO = "info"
LEVELS = (ERROR, WARNING, INFO)

SHORT_QUOTE_WORDS = 4  # a quote of fewer words is too short to identify a sentence
QUOTE_SHOWN = 100  # characters of a quote shown in a message
CHAIN_SHOWN = 12  # rules shown in an example's chain


class Finding(NamedTuple):
    level: str  # "error" | "warning" | "info"
    code: str  # kebab-case kind, e.g. "load", "never-fires", "quote-not-found"
    path: str  # the rule file (shown path) or ""
    ident: str  # the rule / concept / document id, or ""
    message: str  # what is wrong, one line
    fix: str = ""  # how to put it right
    details: tuple[str, ...] = ()  # more lines: an example failure's expected / got / chain


class Report(NamedTuple):
    findings: tuple[Finding, ...]  # sorted: level (error, warning, info), then file, then id, then code
    files: tuple[str, ...]
    rules: int
    concepts: int
    documents: int
    examples: int  # examples run
    examples_failed: int
    exhaustive: Exhaustive | None  # None when not run (a finding says why)
    quotes: int = 0  # every quote of every rule: verified + unverified + not found
    quotes_verified: int = 0  # found in their document's local text
    quotes_unverified: int = 0  # citing a document whose text is not declared or not available
    quotes_not_found: int = 0  # not in their document's text (each an error)
    texts: int = 0  # documents whose local text was read (the quotes were verified against them)

    @property
    def errors(self) -> int:
        return sum(f.level == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.level == WARNING for f in self.findings)


def _finding(
    level: str, code: str, path: str, ident: str, message: str, fix: str = "", details: Iterable[str] = ()
) -> Finding:
    """A finding whose text is safe to print (control characters made visible)."""
    return Finding(
        level, code, visible(path), visible(ident), visible(message), visible(fix), tuple(visible(d) for d in details)
    )


def check(
    kb: KnowledgeBase,
    problems: Iterable[Problem] = (),
    *,
    progress: Callable[[int, int], None] | None = None,
    exhaustive: bool = True,
    left_out: Sequence[Rule] = (),
) -> Report:
    """Every check on ``kb`` (a knowledge base, possibly built from only the
    parts of its files that are fine) and the ``problems`` the loader found.
    ``left_out`` are the stand-ins of rules the loader left out for a
    problem (see :func:`loader.build_partial`): their quotes are checked
    too, so that a broken key hides no made-up quote."""
    findings = [_load_finding(p) for p in problems]
    never = _never_firing(kb)
    findings.extend(never.values())
    findings.extend(_usage(kb))
    findings.extend(_subsumed(kb))
    findings.extend(_cycles(kb))
    findings.extend(_no_example(kb))
    quotes = _quotes(kb, left_out)
    findings.extend(quotes.findings)
    reasoner, problem = _reasoner(kb)
    if problem is not None:
        findings.append(problem)
    examples = _examples(kb, reasoner) if reasoner is not None else _Examples([], 0, 0)
    findings.extend(examples.findings)
    run: Exhaustive | None = None
    if not exhaustive:
        findings.append(
            _finding(INFO, "exhaustive-skipped", "", "", "the exhaustive run was not asked for: nothing is claimed")
        )
    elif reasoner is not None:
        run, more = _exhaustive(kb, reasoner, progress, set(never))
        findings.extend(more)
    return Report(
        findings=_ordered(findings),
        files=tuple(kb.files),
        rules=len(kb.rules),
        concepts=len(kb.concepts),
        documents=len(kb.documents),
        examples=examples.run,
        examples_failed=examples.failed,
        exhaustive=run,
        quotes=quotes.total,
        quotes_verified=quotes.verified,
        quotes_unverified=quotes.total - quotes.verified - quotes.not_found,
        quotes_not_found=quotes.not_found,
        texts=quotes.texts,
    )


def _ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Each finding once, by level, file, id and code (a stable sort: the
    loader's problems of one table keep the order of its checks)."""
    unique = list(dict.fromkeys(findings))
    rank = {level: index for index, level in enumerate(LEVELS)}
    return tuple(sorted(unique, key=lambda f: (rank.get(f.level, len(LEVELS)), f.path, f.ident, f.code)))


def _load_finding(problem: Problem) -> Finding:
    """A loader problem, as an error: its key and, for a table with no usable
    id, what kind of table it is, lead its message."""
    parts = []
    if problem.kind and not problem.ident:
        parts.append(problem.kind)
    if problem.key:
        parts.append(problem.key)
    return _finding(ERROR, "load", problem.path, problem.ident, ": ".join([*parts, problem.message]), problem.fix)


def _q(text: str) -> str:
    """A value inside a message: quoted, visible."""
    return f"'{visible(text)}'"


def _short(text: str, limit: int = QUOTE_SHOWN) -> str:
    safe = visible(text)
    return safe if len(safe) <= limit else safe[: limit - 3].rstrip() + "..."


def _listed(items: Sequence[str], limit: int = 6) -> str:
    shown = [visible(i) for i in items[:limit]]
    if len(items) > limit:
        shown.append(f"and {len(items) - limit} more")
    return ", ".join(shown)


# ---------------------------------------------------------------------------
# Rules that can never fire
# ---------------------------------------------------------------------------


def _given_facts(kb: KnowledgeBase) -> set[Fact]:
    """The facts an answer can give: every state of every question."""
    return {Fact(q.id, s) for q in kb.questions for s in q.states}


def _concluded_concepts(kb: KnowledgeBase) -> set[str]:
    return {f.concept for rule in kb.rules for f in rule.then}


def _cannot_hold(kb: KnowledgeBase, rule: Rule, concluded: set[str]) -> tuple[str, str] | None:
    """Why the rule's conditions cannot hold together, and the fix, or None
    when some facts would satisfy all of them.

    Conditions on one concept hold together when some set of its states is
    in every positive condition's states, in no 'not' condition's, and can
    be held at once: one state of a single-valued concept; for a multi-valued
    one, one state, or any number of its non-exclusive states."""
    by_concept: dict[str, list[Condition]] = {}
    for cond in rule.when:
        by_concept.setdefault(cond.concept, []).append(cond)
    for concept_id, conds in by_concept.items():
        positive = [c for c in conds if not c.negated]
        if not positive:
            continue  # 'not' conditions alone hold when the concept is not known
        concept = kb.concepts.get(concept_id)
        excluded = {s for c in conds if c.negated for s in c.states}
        for cond in positive:
            if set(cond.states) <= excluded:
                negs = [str(c) for c in conds if c.negated and set(c.states) & set(cond.states)]
                return (
                    f"its condition {_q(str(cond))} cannot hold with {' and '.join(_q(n) for n in negs)}, "
                    "which exclude every state it accepts",
                    "remove one of these conditions, or let them accept a state in common",
                )
        common = set.intersection(*(set(c.states) for c in positive)) - excluded
        if common or len(positive) < 2:
            continue
        multi = concept is not None and concept.multi
        exclusive = set(concept.exclusive) if concept is not None else set()
        if multi and all(set(c.states) - excluded - exclusive for c in positive):
            continue  # several non-exclusive states held at once
        names = " and ".join(_q(str(c)) for c in positive)
        if multi:
            alone = sorted(exclusive & {s for c in positive for s in c.states})
            named = ", ".join(_q(s) for s in alone)
            why = f"{named} of {_q(concept_id)} stand{'s' if len(alone) == 1 else ''} alone (exclusive)"
        else:
            why = f"{_q(concept_id)} holds one state at a time"
        if concept_id in concluded:
            why += ", so only a conflict could give it these states together"
        return (
            f"its conditions {names} cannot hold together: {why}",
            f"keep one condition on {_q(concept_id)}, or let them accept a state in common",
        )
    return None


def _never_firing(kb: KnowledgeBase) -> dict[str, Finding]:
    """Each rule that can never fire, by id, with why.

    The facts that can hold are found by a fixed point: the questions'
    states, then the conclusions of every rule each of whose positive
    conditions accepts a fact that can hold, and whose conditions can hold
    together. This overestimates what holds (conditions are looked at one
    at a time), so a rule it leaves out can never fire, whatever the answers.
    """
    concluded = _concluded_concepts(kb)
    impossible: dict[str, tuple[str, str]] = {}
    for rule in kb.rules:
        reason = _cannot_hold(kb, rule, concluded)
        if reason is not None:
            impossible[rule.id] = reason
    can_hold = _given_facts(kb)
    users: dict[Fact, list[tuple[Rule, int]]] = {}  # a fact -> the positive conditions that accept it
    waiting: dict[str, set[int]] = {}  # rule id -> its positive conditions no fact has met yet
    ready: list[Rule] = []
    for rule in kb.rules:
        if rule.id in impossible:
            continue
        positive = rule.positive
        waiting[rule.id] = set(range(len(positive)))
        for index, cond in enumerate(positive):
            for fact in cond.facts():
                users.setdefault(fact, []).append((rule, index))
        if not positive:
            ready.append(rule)

    def arrive(fact: Fact) -> None:
        for user, index in users.get(fact, ()):
            unmet = waiting[user.id]
            if index in unmet:
                unmet.discard(index)
                if not unmet:
                    ready.append(user)

    for fact in sorted(can_hold):
        arrive(fact)
    fires: set[str] = set()
    while ready:
        rule = ready.pop()
        if rule.id in fires:
            continue
        fires.add(rule.id)
        for fact in rule.then:
            if fact not in can_hold:
                can_hold.add(fact)
                arrive(fact)
    found: dict[str, Finding] = {}
    for rule in kb.rules:
        if rule.id in fires:
            continue
        if rule.id in impossible:
            message, fix = impossible[rule.id]
        else:
            message, fix = _unmet(kb, rule, can_hold)
        found[rule.id] = _finding(ERROR, "never-fires", rule.path, rule.id, f"can never fire: {message}", fix)
    return found


def _unmet(kb: KnowledgeBase, rule: Rule, can_hold: set[Fact]) -> tuple[str, str]:
    """Why a rule whose conditions could hold together never fires: the
    first positive condition no fact that can hold satisfies."""
    cond = next(c for c in rule.positive if not any(f in can_hold for f in c.facts()))
    concluders = sorted({r.id for f in cond.facts() for r in kb.rules_concluding(f)})
    if not concluders:
        concept = kb.concepts.get(cond.concept)
        asked = "a question" if concept is not None and concept.is_question else "no question"
        facts = " or ".join(str(f) for f in cond.facts())
        return (
            f"its condition {_q(str(cond))} needs {visible(facts)}, which {asked} asks and no rule concludes",
            f"add a rule that concludes {visible(facts)}, make {_q(cond.concept)} a question, or change the condition",
        )
    return (
        f"its condition {_q(str(cond))} needs a fact that only rules that never fire conclude ({_listed(concluders)})",
        "make those rules able to fire (each is reported), or change the condition",
    )


# ---------------------------------------------------------------------------
# Concepts nothing uses, questions nothing reads, mechanisms that lead nowhere
# ---------------------------------------------------------------------------


def _usage(kb: KnowledgeBase) -> list[Finding]:
    read = {c.concept for rule in kb.rules for c in rule.when}
    concluded = _concluded_concepts(kb)
    asked_after: dict[str, list[str]] = {}  # a question -> the questions whose ask_if names it
    for question in kb.questions:
        for cond in question.ask_if:
            asked_after.setdefault(cond.concept, []).append(question.id)
    found = []
    for concept in kb.concepts_in_order():
        if concept.id in read:
            continue
        if concept.is_question:
            found.append(_unread(concept, asked_after.get(concept.id, [])))
        elif concept.id not in concluded:
            found.append(
                _finding(
                    WARNING,
                    "unused-concept",
                    concept.path,
                    concept.id,
                    f"no rule uses {_q(concept.id)}: no rule's 'when' or 'then' names it",
                    "use it in a rule, or remove it",
                )
            )
        elif concept.kind is Kind.MECHANISM:
            by = sorted({r.id for r in kb.rules if any(f.concept == concept.id for f in r.then)})
            found.append(
                _finding(
                    WARNING,
                    "dead-end",
                    concept.path,
                    concept.id,
                    f"mechanism {_q(concept.id)} is concluded (by {_listed(by)}) but feeds no rule: it leads nowhere",
                    "use it in the 'when' of a rule, or give it kind = \"outcome\" if it is an end in itself",
                )
            )
    return found


def _unread(concept: Concept, asked_after: list[str]) -> Finding:
    also = f" (only the ask_if of {_listed(asked_after)} names it)" if asked_after else ""
    return _finding(
        WARNING,
        "unread-question",
        concept.path,
        concept.id,
        f"no rule reads the question {_q(concept.id)}{also}: its answer changes no conclusion",
        "use it in the 'when' of a rule, or remove the question",
    )


# ---------------------------------------------------------------------------
# Rules made redundant by another
# ---------------------------------------------------------------------------


def _implies(narrow: Condition, wide: Condition) -> bool:
    """Whenever ``narrow`` holds, ``wide`` holds."""
    if narrow.concept != wide.concept or narrow.negated != wide.negated:
        return False
    if narrow.negated:
        return set(wide.states) <= set(narrow.states)
    return set(narrow.states) <= set(wide.states)


def _covers(a: Rule, b: Rule) -> bool:
    """Does ``a`` make ``b`` redundant: it concludes everything ``b`` does,
    fires whenever ``b`` does, and is at least as strong?"""
    return (
        set(b.then) <= set(a.then)
        and b.strength <= a.strength
        and all(any(_implies(cb, ca) for cb in b.when) for ca in a.when)
    )


def _subsumed(kb: KnowledgeBase) -> list[Finding]:
    """Rules another makes redundant: one finding for each such rule,
    naming every rule that covers it (a duplicate pair on the later id)."""
    found = []
    for b in kb.rules:
        candidates = {r.id: r for r in kb.rules_concluding(b.then[0])} if b.then else {}
        covering = [a for _, a in sorted(candidates.items()) if a.id != b.id and _covers(a, b)]
        earlier = [a for a in covering if a.id < b.id and _covers(b, a)]
        wider = [a for a in covering if not _covers(b, a)]
        if earlier:
            first = earlier[0]
            found.append(
                _finding(
                    WARNING,
                    "duplicate",
                    b.path,
                    b.id,
                    f"duplicates {_names(earlier, b)}: the same conditions, conclusions and strength",
                    f"remove one of them, or cite all their sources in {_q(first.id)}",
                )
            )
        if wider:
            first = wider[0]
            one = len(wider) == 1
            found.append(
                _finding(
                    WARNING,
                    "subsumed",
                    b.path,
                    b.id,
                    f"is subsumed by {_names(wider, b)}: {'that rule fires' if one else 'each fires'} whenever "
                    "this one does and concludes as much, at least as strongly",
                    f"remove this rule (citing its sources in {_q(first.id)} instead), or give it the conclusion "
                    "or strength that sets it apart",
                )
            )
    return found


def _names(rules: list[Rule], rule: Rule, limit: int = 4) -> str:
    """Rules named in a message, each with its file when it is not ``rule``'s."""
    named = [f"{_q(r.id)}{_where(r, rule)}" for r in rules[:limit]]
    if len(rules) > limit:
        named.append(f"{len(rules) - limit} more")
    return ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]


def _where(other: Rule, rule: Rule) -> str:
    return f" (in {visible(other.path)})" if other.path and other.path != rule.path else ""


# ---------------------------------------------------------------------------
# Cycles and missing examples
# ---------------------------------------------------------------------------


def _cycles(kb: KnowledgeBase) -> list[Finding]:
    groups: dict[str, list[str]] = {}
    for concept, name in concept_components(kb.rules).items():
        groups.setdefault(name, []).append(concept)
    found = []
    for name in sorted(groups):
        members = sorted(groups[name])
        loop = kb.loop_through(members)
        through = _listed(members, limit=20)
        if loop is not None:
            found.append(
                _finding(
                    INFO,
                    "cycle",
                    loop.path,
                    loop.id,
                    f"the rules go round a cycle through {through}: the loop {_q(loop.title)}",
                )
            )
        else:
            first = kb.concepts.get(members[0])
            found.append(
                _finding(
                    INFO,
                    "cycle",
                    first.path if first is not None else "",
                    members[0],
                    f"the rules go round a cycle through {through}; no [[loop]] names it",
                    "if it is meant, name it in a [[loop]] table so explanations say which loop it is",
                )
            )
    return found


def _no_example(kb: KnowledgeBase) -> list[Finding]:
    return [
        _finding(
            WARNING,
            "no-example",
            rule.path,
            rule.id,
            "the rule has no example",
            'add a [[rule.example]] with answers and the facts expected to follow, e.g. expect = ["concept = state"]',
        )
        for rule in kb.rules
        if not rule.examples
    ]


# ---------------------------------------------------------------------------
# Quotes
# ---------------------------------------------------------------------------

_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
    }
)


def normalize_text(text: str) -> str:
    """Text as quotes are matched: runs of white space one space, typographic
    quotation marks plain ones."""
    return " ".join(text.translate(_TYPOGRAPHIC).split())


class _Quotes(NamedTuple):
    findings: list[Finding]
    total: int
    verified: int
    not_found: int
    texts: int


def _quotes(kb: KnowledgeBase, left_out: Sequence[Rule] = ()) -> _Quotes:
    """Every quote of every rule and of every tension's sides, verified
    against its document's local text where there is one."""
    # each document's quotes, each with where it is cited: (file, rule or tension id, quote)
    citing: dict[str, list[tuple[str, str, str]]] = {}
    found: list[Finding] = []
    total = 0
    quoting = [(rule.path, rule.id, rule.sources) for rule in (*kb.rules, *left_out)]
    quoting += [(tension.path, tension.id, tension.sides) for tension in kb.tensions]
    for path, ident, sources in quoting:
        for source in sources:
            total += 1
            citing.setdefault(source.document, []).append((path, ident, source.quote))
            words = len(source.quote.split())
            if words < SHORT_QUOTE_WORDS:
                found.append(
                    _finding(
                        WARNING,
                        "short-quote",
                        path,
                        ident,
                        f'the quote "{_short(source.quote)}" from {_q(source.document)} has {words} '
                        f"word{'s' if words != 1 else ''}: too short to identify the sentence it comes from",
                        "quote the whole sentence (or the clause) that supports the rule",
                    )
                )
    verified = not_found = 0
    texts = 0
    for doc_id in sorted(citing):
        doc = kb.documents.get(doc_id)
        if doc is None:
            continue  # the loader reported it
        cites = citing[doc_id]
        text, problem = _document_text(kb, doc, cites)
        if problem is not None:
            found.append(problem)
        if text is None:
            continue
        texts += 1
        for path, ident, quote in cites:
            wanted = normalize_text(quote)
            if wanted and wanted in text:
                verified += 1
            else:
                not_found += 1
                found.append(_not_found(path, ident, doc, quote, text))
    return _Quotes(found, total, verified, not_found, texts)


def _document_text(
    kb: KnowledgeBase, doc: Document, cites: list[tuple[str, str, str]]
) -> tuple[str | None, Finding | None]:
    """The document's local text, normalized, or None with the finding that
    says why its quotes are not verified.

    A text declared but missing is an error in a rule author's file; in
    the built-in knowledge it is a copy installed without the texts beside
    it, and the quotes are unverified."""
    count = len(cites)
    quotes = f"{count} quote{'s' if count != 1 else ''}"
    are = "are" if count != 1 else "is"
    if not doc.text_path:
        return None, _finding(
            WARNING,
            "unverified",
            doc.path,
            doc.id,
            f"the {quotes} citing {_q(doc.id)} {are} unverified: the document declares no local text",
            'add text = "<path of a plain-text copy, relative to the rule file>" to the [[document]]',
        )
    where = visible(doc.text or doc.text_path)
    try:
        raw = rulefiles.read_bytes(doc.text_path, "document texts")
        return normalize_text(rulefiles.decode(raw)), None
    except FileNotFoundError:
        if doc.builtin:
            return None, _finding(
                WARNING,
                "unverified",
                doc.path,
                doc.id,
                f"the {quotes} citing {_q(doc.id)} {are} unverified: its text {_q(where)} is not on this machine",
                f"put the text at {visible(doc.text_path)} to verify them",
            )
        reason = "does not exist"
    except IsADirectoryError:
        reason = "is a folder"
    except rulefiles.FileRefused as exc:
        reason = exc.message
    except UnicodeDecodeError as exc:
        reason = f"is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        reason = f"cannot be read: {exc.strerror or exc}"
    return None, _finding(
        ERROR,
        "document-text",
        doc.path,
        doc.id,
        f"the text {_q(where)} of {_q(doc.id)} {reason} ({visible(doc.text_path)}); its {quotes} cannot be verified",
        "point text at a plain UTF-8 copy of the document, relative to the rule file, or remove the text key",
    )


def _not_found(path: str, ident: str, doc: Document, quote: str, text: str) -> Finding:
    return _finding(
        ERROR,
        "quote-not-found",
        path,
        ident,
        f'the quote "{_short(quote)}" is not in the text of {_q(doc.id)}',
        "copy the sentence from the document exactly (white space and typographic quotes may differ)",
        _closest(normalize_text(quote), text),
    )


def _closest(quote: str, text: str) -> tuple[str, ...]:
    """Where the text parts from the quote: the longest start of the quote
    found in the text, and the passage that follows it there (or, failing
    that, the longest end of the quote)."""
    words = quote.split()
    start = _longest(words, text, lambda k: " ".join(words[:k]))
    if start:
        prefix = " ".join(words[:start])
        at = text.find(prefix)
        passage = text[at : at + len(quote) + 20]
        return (
            f'the text has: "{_short(passage, len(quote) + 20)}"',
            f"they part at word {start + 1} of the quote: {_q(words[start])}",
        )
    end = _longest(words, text, lambda k: " ".join(words[len(words) - k :]))
    if end:
        suffix = " ".join(words[len(words) - end :])
        at = text.find(suffix)
        passage = text[max(0, at - 40) : at + len(suffix)]
        return (f'its end is in the text: "...{_short(passage, 160)}"',)
    return ("no word of its start or end is in the text: is it the right document?",)


def _longest(words: list[str], text: str, part: Callable[[int], str]) -> int:
    """The largest k < len(words) with ``part(k)`` in ``text`` (0 if none):
    a binary search, as a part in the text has its shorter parts in it too."""
    low, high = 0, len(words) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if part(mid) in text:
            low = mid
        else:
            high = mid - 1
    return low


# ---------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------


class _Examples(NamedTuple):
    findings: list[Finding]
    run: int
    failed: int


def _reasoner(kb: KnowledgeBase) -> tuple[Reasoner | None, Finding | None]:
    from .reasoning import Reasoner  # noqa: PLC0415 - compiling the rules needs experta: only when checked

    try:
        return Reasoner(kb), None
    except CofactorError as exc:
        return None, _finding(
            ERROR,
            "reasoning",
            "",
            "",
            f"the rules cannot be compiled: {exc}; the examples and the exhaustive run were not run",
            "fix the rules named above",
        )


def _examples(kb: KnowledgeBase, reasoner: Reasoner) -> _Examples:
    found: list[Finding] = []
    run = failed = 0
    for rule in kb.rules:
        for example in rule.examples:
            missing = _missing_concepts(kb, example)
            if missing:
                found.append(
                    _finding(
                        WARNING,
                        "example-not-run",
                        rule.path,
                        rule.id,
                        f"example {_q(example.name)} was not run: {_listed(missing)} did not load",
                        "fix the errors reported for those concepts",
                    )
                )
                continue
            run += 1
            finding = _run_example(kb, reasoner, rule, example)
            if finding is not None:
                failed += 1
                found.append(finding)
    return _Examples(found, run, failed)


def _missing_concepts(kb: KnowledgeBase, example: Example) -> list[str]:
    named = [c for c, _ in example.answers]
    named += [f.concept for f in (*example.expect, *example.absent)]
    return sorted({c for c in named if c not in kb.concepts})


def _answers(kb: KnowledgeBase, example: Example) -> Answers:
    answers = Answers()
    for concept, states in example.answers:
        answers = answers.with_answer(kb, concept, states)
    return answers


def _run_example(kb: KnowledgeBase, reasoner: Reasoner, rule: Rule, example: Example) -> Finding | None:
    """The example's failure, or None when everything it expects follows."""
    name = _q(example.name)
    fix = "correct the example, or the rules it exercises"
    try:
        case = reasoner.reason(_answers(kb, example))
    except CofactorError as exc:
        return _finding(
            ERROR, "example-failed", rule.path, rule.id, f"example {name}: the reasoning stopped", fix, (f"{exc}",)
        )
    wanted = dict(example.strengths)
    details: list[str] = []
    failures = 0
    expected = [*example.expect, *(f for f in wanted if f not in example.expect)]
    for fact in expected:
        strength = wanted.get(fact)
        support = case.support.get(fact)
        if support is not None and (strength is None or support.strength == strength):
            continue
        failures += 1
        details.append(f"expected: {_fact(fact)}" + (f" ({strength.label})" if strength else ""))
        details.append(f"got: {_got(case, fact.concept)}")
        if support is None:
            details.extend(_why_missing(case, fact))
        else:
            details.append(f"chain: {_chain(case, fact)}")
            if support.weakest is not None:
                details.append(f"weakest link: {support.weakest.id} ({support.weakest.strength.label})")
    for fact in example.absent:
        if not case.holds(fact):
            continue
        failures += 1
        details.append(f"expected absent: {_fact(fact)}")
        details.append(f"got: {_got(case, fact.concept)}")
        details.append(f"chain: {_chain(case, fact)}")
    if not failures:
        return None
    checks = len(expected) + len(example.absent)
    return _finding(
        ERROR,
        "example-failed",
        rule.path,
        rule.id,
        f"example {name} failed: {failures} of its {checks} expectation{'s' if checks != 1 else ''} not met",
        fix,
        [f"answers: {_answers_text(example)}", *details],
    )


def _fact(fact: Fact) -> str:
    return f"{fact.concept} = {fact.state}"


def _answers_text(example: Example) -> str:
    if not example.answers:
        return "none"
    return ", ".join(f"{c} = {', '.join(states) if states else 'unknown'}" for c, states in example.answers)


def _got(case: Case, concept_id: str) -> str:
    """What the case holds of a concept, each state with its strength."""
    concept = case.kb.concepts[concept_id]
    held = [s for s in case.support.values() if s.fact.concept == concept_id]
    held.sort(key=lambda s: concept.states.index(s.fact.state) if s.fact.state in concept.states else 0)
    if not held:
        return "unknown (answered so)" if concept_id in case.answers.unknown else "not concluded"
    return ", ".join(f"{_fact(s.fact)} ({s.strength.label})" for s in held)


def _chain(case: Case, fact: Fact) -> str:
    """The rules of the fact's best route, nearest first, down to the answers."""
    rules: list[str] = []
    queue = deque([fact])
    seen = {fact}
    while queue:
        current = queue.popleft()
        support = case.support.get(current)
        if support is None or support.given or support.best is None:
            continue
        if support.best.rule.id not in rules:
            rules.append(support.best.rule.id)
        for premise in support.best.premises:
            if premise not in seen:
                seen.add(premise)
                queue.append(premise)
    if not rules:
        return "given as an answer"
    shown = rules[:CHAIN_SHOWN] + (["..."] if len(rules) > CHAIN_SHOWN else [])
    return " <- ".join(shown)


def _why_missing(case: Case, fact: Fact) -> list[str]:
    """For a fact that did not follow: each rule that could conclude it and
    the conditions of it that did not hold (or the answer that blocked it)."""
    from .explain import Status, rule_checks  # noqa: PLC0415 - only a failed example needs it

    checks = rule_checks(case, fact)
    if not checks:
        return [f"no rule concludes {_fact(fact)}"]
    lines = []
    for check_ in checks:
        failing = [c for c in check_.conditions if not c.holds]
        if not failing:
            lines.append(f"{check_.rule.id}: its conditions hold, but {_fact(fact)} contradicts an answer")
            continue
        reasons = []
        for cond in failing:
            known = ", ".join(f.state for f in cond.known)
            if cond.status is Status.PRESENT:
                why = "what it excludes is present"
            elif cond.status is Status.ANSWERED_OTHERWISE:
                why = f"answered {known}"
            elif cond.status is Status.UNKNOWN:
                why = "answered unknown"
            elif cond.status is Status.NOT_ANSWERED:
                why = "not answered"
            else:
                why = f"concluded {known} instead" if known else "not concluded"
            reasons.append(f"'{cond.condition}' does not hold ({why})")
        lines.append(f"{check_.rule.id} did not fire: {'; '.join(reasons)}")
    return lines


# ---------------------------------------------------------------------------
# The exhaustive run
# ---------------------------------------------------------------------------


def _exhaustive(
    kb: KnowledgeBase, reasoner: Reasoner, progress: Callable[[int, int], None] | None, never: set[str]
) -> tuple[Exhaustive | None, list[Finding]]:
    from . import exhaustive as exhaustive_run  # noqa: PLC0415 - only check runs it

    try:
        run = exhaustive_run.run(kb, reasoner, progress=progress)
    except CofactorError as exc:
        return None, [
            _finding(
                ERROR,
                "exhaustive",
                "",
                "",
                f"the exhaustive run stopped: {exc}",
                "fix the rules it names, then check again",
            )
        ]
    found: list[Finding] = []
    if run.error:  # a reasoning error ends the run: set, not raised
        found.append(
            _finding(
                ERROR,
                "exhaustive",
                "",
                "",
                f"the exhaustive run stopped: {run.error}",
                "fix the rules it names, then check again",
            )
        )
        return run, found
    if not run.complete:
        found.append(
            _finding(
                WARNING,
                "exhaustive-incomplete",
                "",
                "",
                f"the exhaustive run needs more cases than it may reason over ({run.combinations:,} combinations): "
                "nothing is claimed about rules that never fire or conflicts",
                "ask fewer questions, or give the questions fewer states",
            )
        )
        return run, found
    rules = {r.id: r for r in kb.rules}
    for rule_id in run.never_fired:
        if rule_id in never or rule_id not in rules:
            continue
        rule = rules[rule_id]
        found.append(
            _finding(
                WARNING,
                "fires-in-no-case",
                rule.path,
                rule.id,
                f"the rule fires in none of the {run.combinations:,} combinations of answers",
                "check its conditions against the questions' states and the other rules' conclusions",
            )
        )
    for conflict in run.conflicts:
        concept = kb.concepts.get(conflict.concept)
        example = ", ".join(f"{c} = {', '.join(s) if s else 'unknown'}" for c, s in conflict.example) or "no answers"
        found.append(
            _finding(
                WARNING,
                "conflict",
                concept.path if concept is not None else "",
                conflict.concept,
                f"some answers give {_q(conflict.concept)} the conflicting states {_listed(conflict.states)} "
                f"(rule{'s' if len(conflict.rules) != 1 else ''} {_listed(conflict.rules)})",
                "add a condition that keeps the rules apart, or accept the conflict as the sources' disagreement",
                (f"for example: {example}",),
            )
        )
    return run, found


__all__ = ["ERROR", "INFO", "WARNING", "Finding", "Report", "check", "normalize_text"]
