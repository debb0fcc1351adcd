"""cofactor's command line: options, prompts and output, nothing more.

The knowledge lives in ``rules/``, the reasoning in ``engine/``; this module
parses options, asks questions, and prints what the engine returns. Engine
errors are translated here, at the boundary, into messages and exit codes:
2 for a bad value typed by the user, 1 for rule files that do not load, 130
for an interruption.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import click

from .engine import answers as answer_io
from .engine import explain, questions, render
from .engine.answers import Answers, normalize
from .engine.errors import AnswerError, CofactorError, KnowledgeBaseError, ReasoningError
from .engine.loader import load
from .engine.model import Concept, Fact
from .engine.reasoning import Case, Reasoner

BUILTIN_RULES = Path(__file__).resolve().with_name("rules")
DISCLAIMER = ("For learning only: cofactor shows what its two sources claim and how the claims "
              "connect; it does not diagnose or prescribe. Consult a healthcare provider about "
              "your own health.")
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

try:
    VERSION = metadata.version("cofactor")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0+unknown"


class BadValue(click.ClickException):
    """A value the user typed is not acceptable (exit 2, one line)."""

    exit_code = 2


class RulesDidNotLoad(click.ClickException):
    exit_code = 1


class Interrupted(click.ClickException):
    exit_code = 130


# ---------------------------------------------------------------------------
# Shared state and options
# ---------------------------------------------------------------------------

@dataclass
class Session:
    """What the group's options set up for every command."""

    rules: list[str] = field(default_factory=list)
    as_json: bool = False
    _reasoner: Reasoner | None = None

    def reasoner(self) -> Reasoner:
        if self._reasoner is None:
            kb = load([BUILTIN_RULES], self.rules, display_root=BUILTIN_RULES.parent)
            self._reasoner = Reasoner(kb)
        return self._reasoner

    @property
    def kb(self):
        return self.reasoner().kb


def _session(ctx: click.Context, rules: tuple[str, ...] = (), as_json: bool = False) -> Session:
    session = ctx.ensure_object(Session)
    if rules:
        session.rules.extend(rules)
        session._reasoner = None
    session.as_json = session.as_json or as_json
    return session


def rules_option(f):
    return click.option("--rules", "rules", multiple=True, metavar="PATH",
                        help="A rule file or a folder of rule files to add to the built-in "
                             "knowledge base (repeatable).")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON document on standard output and nothing else.")(f)


def answer_options(f):
    f = click.option("--answers", "answers_file", metavar="FILE",
                     help="A TOML or JSON file mapping concept ids to a state or a list of states.")(f)
    f = click.option("-a", "--answer", "answer", multiple=True, metavar="CONCEPT=STATE",
                     help="An answer, e.g. magnesium_status=low (repeatable; a comma list for "
                          "several states; 'unknown' is the same as not answering). "
                          "Overrides --answers.")(f)
    return f


def _answers(session: Session, pairs, answers_file) -> Answers:
    kb = session.kb
    from_file = answer_io.read_file(answers_file) if answers_file else None
    return answer_io.build(kb, pairs, from_file)


def _emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def _say(text: str = "", **style) -> None:
    """Prompts, notes and progress: standard error, coloured on a terminal."""
    if style and not _no_color():
        text = click.style(text, **style)
    click.echo(text, err=True, color=None if not _no_color() else False)


def _out(text: str = "") -> None:
    click.echo(text, color=None if not _no_color() else False)


# ---------------------------------------------------------------------------
# The group
# ---------------------------------------------------------------------------

class CofactorGroup(click.Group):
    """Translates engine errors and interruptions at the boundary."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AnswerError as exc:
            raise BadValue(exc.render()) from exc
        except KnowledgeBaseError as exc:
            count = len(exc.problems)
            lines = [f"the rule files did not load ({count} problem{'s' if count > 1 else ''}):"]
            lines += [f"  {render.visible(p.render())}" for p in exc.problems]
            raise RulesDidNotLoad("\n".join(lines)) from exc
        except ReasoningError as exc:
            raise click.ClickException(str(exc)) from exc
        except CofactorError as exc:
            raise click.ClickException(str(exc)) from exc
        except (KeyboardInterrupt, click.Abort) as exc:
            raise Interrupted("interrupted; nothing was concluded.") from exc


@click.group("cofactor", cls=CofactorGroup, context_settings=CONTEXT)
@click.version_option(VERSION, "--version", prog_name="cofactor", message="%(prog)s %(version)s")
@rules_option
@json_option
@click.pass_context
def cli(ctx: click.Context, rules, as_json):
    """cofactor: a teaching expert system on how magnesium governs calcium
    metabolism and vitamin D activation.

    It asks about a case, reasons forward over rules drawn from two source
    articles, and explains every conclusion down to your answers and the
    sentences that support each step. For learning only: it does not
    diagnose or prescribe.

    \b
    Examples:
      cofactor consult
      cofactor consult --no-input --json -a magnesium_status=severely_low
      cofactor how blood_calcium=low -a magnesium_status=severely_low
      cofactor rules --json
    """
    _session(ctx, rules, as_json)


# ---------------------------------------------------------------------------
# consult
# ---------------------------------------------------------------------------

@cli.command(context_settings=CONTEXT)
@answer_options
@click.option("--no-input", is_flag=True, help="Ask nothing: unanswered questions count as unknown.")
@json_option
@rules_option
@click.pass_context
def consult(ctx, answer, answers_file, no_input, as_json, rules):
    """Consult: answer questions about a case, get explained conclusions.

    On a terminal it asks one question at a time; at every prompt you can
    type a state (or its number), 'unknown', 'help' or 'why'. Answers given
    with --answer/--answers are not asked again. Without a terminal the
    answers are read from standard input, one per line.

    \b
    Examples:
      cofactor consult
      cofactor consult -a magnesium_status=low -a calcium_supplement=yes
      cofactor consult --no-input --json -a magnesium_status=severely_low
      cofactor consult --answers case.toml --no-input
    """
    session = _session(ctx, rules, as_json)
    reasoner = session.reasoner()
    answers = _answers(session, answer, answers_file)
    if not no_input:
        answers = _interview(reasoner, answers)
    case = reasoner.reason(answers)
    if session.as_json:
        data = case.as_json()
        data["not_asked"] = [q.id for q in questions.not_asked(case)]
        data["disclaimer"] = DISCLAIMER
        _emit_json(data)
        return
    _out(render.case_text(case))
    skipped = questions.not_asked(case)
    if skipped:
        _out("")
        _out("Not asked (their conditions do not hold): "
             + ", ".join(f"{q.id} (only if {'; '.join(str(c) for c in q.ask_if)})" for q in skipped))
    _out("")
    _out(DISCLAIMER)
    if not no_input and case.conclusions:
        _explain_loop(case)


def _options_line(concept: Concept) -> str:
    numbered = "  ".join(f"{i}) {s}" for i, s in enumerate(concept.states, 1))
    several = " (several: separate with commas)" if concept.multi else ""
    return f"  {numbered}  - or unknown{several}; type help or why"


def _read_line(prompt: str) -> str:
    """One line from standard input; the prompt goes to standard error."""
    click.echo(prompt, nl=False, err=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    if not sys.stdin.isatty():
        click.echo(line.rstrip("\n"), err=True)  # show what was read, as a terminal would
    return line.rstrip("\r\n")


def _interview(reasoner: Reasoner, answers: Answers) -> Answers:
    kb = reasoner.kb
    number = 0
    while True:
        case = reasoner.reason(answers)
        concept = questions.next_question(case)
        if concept is None:
            return answers
        number += 1
        _say("")
        _say(f"Question {number}: {render.visible(concept.question)}", bold=True)
        _say(_options_line(concept))
        while True:
            try:
                text = _read_line("> ")
            except EOFError:
                raise Interrupted("end of input before the consultation was finished; nothing was "
                                  "concluded (to run without questions, use --no-input with "
                                  "--answer or --answers).") from None
            word = normalize(text)
            if word in ("help", "h", "?"):
                _say(render.visible(concept.help or concept.description or "No help for this question."))
                _say(_options_line(concept))
                continue
            if word == "why":
                _say(_why_text(case, concept))
                continue
            if not word:
                _say("Please answer: a state, its number, 'unknown', 'help' or 'why'.", fg="yellow")
                continue
            try:
                states = _parse_reply(concept, text)
            except AnswerError as exc:
                _say(exc.render(), fg="red")
                continue
            answers = answers.with_answer(kb, concept.id, states)
            break


def _parse_reply(concept: Concept, text: str) -> list[str]:
    parts = [p for p in text.split(",")] if concept.multi else [text]
    states = []
    for part in parts:
        word = normalize(part)
        if word.isdigit() and 1 <= int(word) <= len(concept.states):
            states.append(concept.states[int(word) - 1])
        else:
            states.append(answer_io.find_state(concept, part))
    return answer_io.check_states(concept, states, text)


def _why_text(case: Case, concept: Concept) -> str:
    rules = questions.rules_fed(case, concept.id)
    if not rules:
        return "No rule uses this answer; it is asked for the record."
    lines = [f"Your answer to {concept.id} is used by {len(rules)} rule{'s' if len(rules) > 1 else ''}:"]
    for rule in rules:
        when = " and ".join(str(c) for c in rule.when)
        then = " and ".join(str(f) for f in rule.then)
        lines.append(f"  - {render.visible(rule.id)} [{rule.strength.label}]: if {when} then {then}")
    return "\n".join(lines)


def _explain_loop(case: Case) -> None:
    shown = render.numbered_conclusions(case)
    while True:
        try:
            text = _read_line("\nExplain a conclusion? Type its number or concept=state (Enter to finish): ")
        except EOFError:
            return
        word = text.strip()
        if not word or normalize(word) in ("q", "quit", "exit", "done"):
            return
        fact = None
        if word.isdigit():
            if 1 <= int(word) <= len(shown):
                fact = shown[int(word) - 1].fact
            else:
                _say(f"There is no conclusion {word}; choose 1 to {len(shown)}.", fg="yellow")
                continue
        else:
            try:
                fact = _pick_fact(case, word)
            except AnswerError as exc:
                _say(exc.render(), fg="red")
                continue
        node = explain.how(case, fact)
        if node is None:
            _say(f"{fact} was not concluded from these answers.", fg="yellow")
            continue
        _out("")
        _out(render.how_text(case.kb, node))


def _pick_fact(case: Case, text: str) -> Fact:
    if "=" in text:
        return answer_io.parse_fact(case.kb, text)
    concept = answer_io.find_concept(case.kb, text)
    states = [s.fact for s in case.support.values() if s.fact.concept == concept.id]
    if len(states) == 1:
        return states[0]
    raise AnswerError(f"name a state of '{concept.id}' too, e.g. {concept.id}={concept.states[0]}",
                      value=text)


# ---------------------------------------------------------------------------
# how
# ---------------------------------------------------------------------------

@cli.command(context_settings=CONTEXT)
@click.argument("fact", metavar="CONCEPT=STATE")
@answer_options
@json_option
@rules_option
@click.pass_context
def how(ctx, fact, answer, answers_file, as_json, rules):
    """How a conclusion was reached: every route down to the answers.

    Each step shows its rule, the rule's strength and the source sentences
    it rests on; a loop is shown as a loop, not followed forever.

    \b
    Examples:
      cofactor how blood_calcium=low -a magnesium_status=severely_low
      cofactor how intestinal_magnesium_absorption=reduced -a magnesium_status=low
      cofactor how vitamin_d_activation=impaired --answers case.toml --json
    """
    session = _session(ctx, rules, as_json)
    reasoner = session.reasoner()
    target = answer_io.parse_fact(reasoner.kb, fact)
    answers = _answers(session, answer, answers_file)
    case = reasoner.reason(answers)
    node = explain.how(case, target)
    if session.as_json:
        _emit_json({
            "fact": target.as_json(),
            "concluded": node is not None,
            "given": bool(node and node.given),
            "strength": node.strength.label if node and node.strength else None,
            "tree": node.as_json() if node else None,
            "answers": answers.as_json(reasoner.kb),
        })
        return
    if node is None:
        _out(f"{target} was not concluded from these answers.")
        return
    _out(render.how_text(reasoner.kb, node))
    weakest = render.weakest_text(case, target)
    if weakest:
        _out("")
        _out(f"Strength {weakest}")


# ---------------------------------------------------------------------------
# rules and concepts
# ---------------------------------------------------------------------------

@cli.command("rules", context_settings=CONTEXT)
@click.option("--concept", "concept", metavar="CONCEPT",
              help="Only the rules that use or conclude this concept.")
@json_option
@rules_option
@click.pass_context
def rules_command(ctx, concept, as_json, rules):
    """The rules: id, conditions, conclusions, strength and sources.

    \b
    Examples:
      cofactor rules
      cofactor rules --concept pth_secretion
      cofactor rules --json
      cofactor --rules my-rules.toml rules
    """
    session = _session(ctx, rules, as_json)
    kb = session.kb
    chosen = list(kb.rules)
    if concept:
        cid = answer_io.find_concept(kb, concept).id
        chosen = [r for r in kb.rules
                  if any(c.concept == cid for c in r.when) or any(f.concept == cid for f in r.then)]
    if session.as_json:
        _emit_json([r.as_json() for r in chosen])
    else:
        _out(render.rules_text(kb, chosen))


@cli.command(context_settings=CONTEXT)
@json_option
@rules_option
@click.pass_context
def concepts(ctx, as_json, rules):
    """The concepts, with their states, kinds and questions.

    \b
    Examples:
      cofactor concepts
      cofactor concepts --json
    """
    session = _session(ctx, rules, as_json)
    kb = session.kb
    if session.as_json:
        ordered = list(kb.questions) + sorted((c for c in kb.concepts.values() if not c.is_question),
                                              key=lambda c: c.id)
        _emit_json([c.as_json() for c in ordered])
    else:
        _out(render.concepts_text(kb))


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="cofactor")


if __name__ == "__main__":  # pragma: no cover
    main()
