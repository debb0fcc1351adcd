"""cofactor's command line: options, prompts and output, nothing more.

The knowledge lives in ``rules/``, the reasoning in ``engine/``; this module
parses options, asks questions, and prints what the engine returns. Engine
errors are translated here, at the boundary, into messages and exit codes:
2 for a bad value typed by the user, 1 for rule files that do not load, 130
for an interruption.

Every line it writes goes through :func:`engine.errors.visible`: what the
user typed, a file's name or content, is shown with its control characters
made visible, never acted on by the terminal. A failure to write the output
(a full disk, a closed pipe) and Ctrl-C at any moment end the program with
one line, or none for a closed pipe, never a traceback.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Callable
from functools import cached_property
from typing import cast

import click

from .engine import __version__ as VERSION
from .engine import answers as answer_io
from .engine import kbcache
from .engine.answers import Answers, find_fact, normalize
from .engine.errors import AnswerError, CofactorError, KnowledgeBaseError, ReasoningError, visible, visible_lines
from .engine.limits import MAX_LINE  # characters of one line of input: a reply, as a line of batch input
from .engine.model import Concept, KnowledgeBase
from .engine.reasoning import DEFAULT_FIRING_LIMIT, Case, Reasoner

# The explanation modules (explain, counterfactual, questions, consultation)
# and the renderers (render_text, render_json) are
# imported inside the commands that use them: a command pays at start-up
# only for the code it runs.

# The built-in rule files. A plain string, for start-up (pathlib takes
# milliseconds to import); BUILTIN_RULES is the same folder as a Path.
RULES_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "rules")
DISCLAIMER = (
    "For learning only: cofactor shows what its two sources claim and how the claims "
    "connect; it does not diagnose or prescribe. Consult a healthcare provider about "
    "your own health."
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class BadValue(click.ClickException):
    """A value the user typed is not acceptable (exit 2, one line)."""

    exit_code = 2


class RulesDidNotLoad(click.ClickException):
    exit_code = 1


class Interrupted(click.ClickException):
    exit_code = 130


class _OutputFailed(Exception):
    """Writing the output failed (carries the OSError): reported by
    CofactorGroup.main, which knows what was written and what was not."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


# ---------------------------------------------------------------------------
# Shared state and options
# ---------------------------------------------------------------------------


class Session:
    """What the group's options set up for every command: the knowledge base
    is loaded, and compiled for reasoning, only when a command needs it."""

    def __init__(self):
        self.rules: list[str] = []
        self.as_json = False
        self.firing_limit = DEFAULT_FIRING_LIMIT
        self._kb: KnowledgeBase | None = None
        self._reasoner: Reasoner | None = None

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = kbcache.load(
                [RULES_DIR], self.rules, display_root=os.path.dirname(RULES_DIR), folder=kbcache.cache_dir()
            )
        return self._kb

    def reasoner(self) -> Reasoner:
        if self._reasoner is None:
            self._reasoner = Reasoner(self.kb, firing_limit=self.firing_limit)
        return self._reasoner


def _session(ctx: click.Context, rules: tuple[str, ...] = (), as_json: bool = False) -> Session:
    session = ctx.ensure_object(Session)
    if rules:
        session.rules.extend(rules)
        session._kb = session._reasoner = None
    session.as_json = session.as_json or as_json
    return session


def rules_option(f):
    return click.option(
        "--rules",
        "rules",
        multiple=True,
        metavar="PATH",
        help="A rule file or a folder of rule files to add to the built-in knowledge base (repeatable).",
    )(f)


def json_option(f):
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document on standard output and nothing else."
    )(f)


def answer_options(f):
    f = click.option(
        "--answers",
        "answers_file",
        metavar="FILE",
        help="A TOML or JSON file mapping concept ids to a state or a list of states.",
    )(f)
    f = click.option(
        "-a",
        "--answer",
        "answer",
        multiple=True,
        metavar="CONCEPT=STATE",
        help="An answer, e.g. magnesium_status=low (repeatable; a comma list for "
        "several states; 'unknown' is the same as not answering). "
        "Overrides --answers.",
    )(f)
    return f


def case_options(f):
    """The options of every command that reasons over a case: its answers,
    --json and --rules."""
    return answer_options(json_option(rules_option(f)))


def _prepare(ctx: click.Context, as_json: bool, rules) -> tuple[Session, Reasoner]:
    """The session the options ask for, and its reasoner."""
    session = _session(ctx, rules, as_json)
    return session, session.reasoner()


def _answers(reasoner: Reasoner, pairs, answers_file) -> Answers:
    """The case's answers, from --answers and then --answer."""
    _decodable(pairs, "the answer")
    from_file = answer_io.read_file(answers_file) if answers_file is not None else None
    return answer_io.build(reasoner.kb, pairs, from_file)


def _emit_json(data) -> None:
    """One JSON document, safe to print (see engine/jsontext.py)."""
    from .engine import jsontext  # noqa: PLC0415 - only JSON output needs it

    click.echo(jsontext.dumps(data, indent=2))


def _undecodable(text: str) -> bool:
    """Does ``text`` hold bytes that were not valid in their encoding (kept
    by Python as lone surrogates)?"""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _typed(text: str, limit: int = 60) -> str:
    """What the user typed, safe to print: visible, and cut at ``limit``."""
    safe = visible(text)
    return safe if len(safe) <= limit else safe[:limit] + "..."


def _decodable(values, what: str) -> None:
    """Refuses a value from the command line that was not valid text in
    its encoding (a concept or state is text; a file name may be any bytes,
    so paths are not checked here)."""
    for value in values:
        if _undecodable(value):
            encoding = sys.getfilesystemencoding()
            raise BadValue(
                f"{what} '{_typed(value)}' is not valid {encoding} text (the command line's encoding); "
                f"type it again in {encoding}"
            )


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def _say(text: str = "", **style) -> None:
    """Prompts, notes and progress: standard error, coloured on a terminal.
    Control characters in ``text`` are shown, not sent (the styles are added
    after)."""
    text = visible_lines(text)
    if style and not _no_color():
        text = click.style(text, **style)
    click.echo(text, err=True, color=None if not _no_color() else False)


def _out(text: str = "") -> None:
    click.echo(visible_lines(text), color=None if not _no_color() else False)


# ---------------------------------------------------------------------------
# The group
# ---------------------------------------------------------------------------


def _usage_line(exc: click.UsageError) -> str:
    where = exc.ctx.command_path if exc.ctx else "cofactor"
    return f"{exc.format_message()} (see '{where} --help')"


class CofactorGroup(click.Group):
    """Translates engine errors, usage errors and interruptions at the
    boundary: each becomes one line on standard error and its exit code.
    Its ``main`` is the one place an error is printed, control characters
    made visible, and the one place a failed write of the output is seen."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            try:
                code = self._run(args, prog_name, complete_var, extra)
            except KeyboardInterrupt:
                code = _fail(Interrupted("interrupted."))
        except KeyboardInterrupt:  # a second one, while the first was reported
            code = Interrupted.exit_code
        sys.exit(code)

    def _run(self, args, prog_name, complete_var, extra) -> int:
        """Runs the command; its exit code, once every failure is reported."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = _flush_output()  # here, not at exit, so a failure is seen
        except click.ClickException as exc:
            code = _fail(exc)
        except click.Abort:  # Ctrl-C or end of input while the options were read
            code = _fail(Interrupted("interrupted."))
        except _OutputFailed as exc:
            code = _output_failed(exc.error)
        except OSError as exc:
            code = _output_failed(exc)
        except SystemExit as exc:  # click's own ending (shell completion, a broken pipe)
            return exc.code if isinstance(exc.code, int) else 1
        except MemoryError:  # the last guard: every input has its limit, but a machine may have less
            code = _fail(
                click.ClickException(
                    "cofactor ran out of memory; give it a smaller input (the README's reliability section "
                    "lists the limits), or run it where more memory is free."
                )
            )
        else:
            return code or (result if isinstance(result, int) else 0)
        return code

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise BadValue(_usage_line(exc)) from exc
        except OSError as exc:  # --version or --help could not be written
            raise _OutputFailed(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise BadValue(_usage_line(exc)) from exc
        except AnswerError as exc:
            raise BadValue(exc.render()) from exc
        except KnowledgeBaseError as exc:
            from .engine.render_text import problems  # noqa: PLC0415

            raise RulesDidNotLoad(problems(exc.problems)) from exc
        except ReasoningError as exc:
            raise click.ClickException(str(exc)) from exc
        except CofactorError as exc:
            raise click.ClickException(str(exc)) from exc
        except (KeyboardInterrupt, click.Abort) as exc:
            raise Interrupted("interrupted; nothing was concluded.") from exc
        except OSError as exc:  # the output could not be written
            raise _OutputFailed(exc) from None


def _fail(exc: click.ClickException) -> int:
    """Reports an error (after what was written so far): its exit code."""
    failed = _flush_output()
    if failed:
        return failed
    _error(exc.format_message())
    return exc.exit_code


def _error(message: str) -> None:
    """THE place an error is printed: one ``Error:`` message on standard
    error, control characters made visible, line breaks kept."""
    with contextlib.suppress(OSError, ValueError):  # standard error itself may be gone
        click.echo(f"Error: {visible_lines(message)}", err=True)


def _flush_output() -> int:
    """Writes what standard output still holds: 0, or the exit code of the
    failure to write it (reported)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        return _output_failed(exc)
    return 0


def _output_failed(exc: Exception) -> int:
    """Standard output cannot be written. Anything but a closed pipe (a full
    disk) is a failure: one line, exit 1. A closed pipe is the reader having
    read all it wanted (``cofactor rules | head``): silent, exit 0. Not 1:
    Python's buffered writer drops the rest of a large write to a pipe
    closed meanwhile without any error, so whether a closed pipe is even
    seen depends on timing, and a status that depends on timing would be
    worse than none. What is still buffered is then sent nowhere, so that
    Python's own flush at exit does not fail again."""
    _discard_output()
    if isinstance(exc, BrokenPipeError):
        return 0
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        _error(f"cannot write '{answer_io.shown_path(exc.filename)}': {reason}")
    else:
        _error(f"cannot write the output: {reason}")
    return 1


def _discard_output() -> None:
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


@click.group("cofactor", cls=CofactorGroup, context_settings=CONTEXT)
@click.version_option(VERSION, "--version", prog_name="cofactor", message="%(prog)s %(version)s")
@rules_option
@json_option
@click.option(
    "--firing-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_FIRING_LIMIT,
    show_default=True,
    metavar="N",
    help="Stop a run that fires more rules than this (a runaway knowledge base).",
)
@click.pass_context
def cli(ctx: click.Context, rules, as_json, firing_limit):
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
    _session(ctx, rules, as_json).firing_limit = firing_limit


# ---------------------------------------------------------------------------
# consult
# ---------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@case_options
@click.option("--no-input", is_flag=True, help="Ask nothing: unanswered questions count as unknown.")
@click.pass_context
def consult(ctx, answer, answers_file, as_json, rules, no_input):
    """Consult: answer questions about a case, get explained conclusions.

    On a terminal it asks one question at a time, and only the questions
    whose answer can still change a conclusion. At every prompt you can type
    a state (or its number), 'unknown', 'help', 'why' (again and again, to
    climb the chain toward the outcomes), 'how CONCEPT=STATE' for anything
    concluded so far, or 'back' to change the previous answer. Answers given
    with --answer/--answers are not asked again. Without a terminal the
    answers are read from standard input, one per line.

    Afterwards, pick a conclusion by number or name to see how it was
    reached, or ask 'why-not CONCEPT=STATE' or 'what-if CONCEPT=STATE'.

    \b
    Examples:
      cofactor consult
      cofactor consult -a magnesium_status=low -a calcium_supplement=yes
      cofactor consult --no-input --json -a magnesium_status=severely_low
      cofactor consult --answers case.toml --no-input
    """
    from .engine.consultation import summarize  # noqa: PLC0415

    session, reasoner = _prepare(ctx, as_json, rules)
    answers = _answers(reasoner, answer, answers_file)
    if not no_input:
        answers = _interview(reasoner, answers)
    summary = summarize(reasoner.reason(answers))
    if session.as_json:
        from .engine import render_json  # noqa: PLC0415

        _emit_json(render_json.consultation(summary, disclaimer=DISCLAIMER))
        return
    from .engine import render_text  # noqa: PLC0415

    _out(render_text.consultation(summary, asked=not no_input, disclaimer=DISCLAIMER))
    if not no_input:
        _prompt_loop(
            "explain> ", _Explaining(reasoner, summary), interrupted="interrupted (the conclusions above stand)."
        )


# ---------------------------------------------------------------------------
# The prompts: one loop, for the questions and for the explain prompt
# ---------------------------------------------------------------------------

AGAIN = object()  # a prompt's handler returns it to read another line
QUIT = ("q", "quit", "exit", "done")
HELP = ("help", "h", "?")
EXPLAIN_HELP = (
    "Type a conclusion's number or CONCEPT=STATE to see how it was reached; "
    "'why-not CONCEPT=STATE' for one that was not; 'what-if CONCEPT=STATE ...' to change "
    "answers; Enter or 'quit' to finish."
)


ECHO_LIMIT = 200  # characters of a piped reply shown back: a longer one is cut


def _read_line(prompt: str) -> str:
    """One line from standard input; the prompt goes to standard error.
    Bytes that are not valid in the input's encoding are kept (as lone
    surrogates: see _prompt_loop), not an error that ends the program."""
    click.echo(prompt, nl=False, err=True)
    _keep_undecodable_bytes(sys.stdin)
    try:
        line = sys.stdin.readline(MAX_LINE + 1)
    except UnicodeDecodeError:  # standard input could not be set to keep them
        raise BadValue(
            f"standard input is not valid {_input_encoding()} text; give the replies in {_input_encoding()}"
        ) from None
    if not line:
        raise EOFError
    if len(line) > MAX_LINE:  # no reply is this long: the input is not replies (a file, /dev/zero...)
        raise BadValue(
            f"a reply of more than {MAX_LINE:,} characters; standard input does not look like replies "
            "(to answer from a file, use --no-input with --answers FILE)"
        )
    reply = line.rstrip("\r\n")
    if not sys.stdin.isatty():
        click.echo(_typed(reply, limit=ECHO_LIMIT), err=True)  # show what was read, as a terminal would
    return reply


def _keep_undecodable_bytes(stream) -> None:
    """Reads ``stream`` with ``surrogateescape``, once, if it can still be
    set (before its first read)."""
    if getattr(stream, "errors", "") in ("surrogateescape", None):
        return
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(OSError, ValueError, TypeError):
            reconfigure(errors="surrogateescape")


def _input_encoding() -> str:
    return str(getattr(sys.stdin, "encoding", None) or "utf-8")


def _undecodable_reply(text: str) -> str:
    """The message for a reply that was not valid in the input's encoding."""
    encoding = _input_encoding()
    utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    hint = "" if utf8 else ", or set PYTHONIOENCODING=utf-8 if your terminal sends UTF-8"
    return (
        f"the reply '{_typed(text)}' could not be read as {encoding} text (the encoding of standard input); "
        f"type it again in {encoding}{hint}"
    )


def _prompt_loop(prompt: str, handle: Callable[[str], object], *, interrupted: str | None = None) -> object:
    """Reads lines at ``prompt`` and hands each to ``handle`` until it
    returns something other than AGAIN, which is returned; at the end of
    input, ``handle.at_end()`` decides. A value the user typed wrong is
    shown in red and asked again; ``interrupted`` is the message for a
    Ctrl-C at the prompt (otherwise it ends the consultation)."""
    while True:
        try:
            text = _read_line(prompt)
        except EOFError:
            return handle.at_end()  # type: ignore[attr-defined]
        except KeyboardInterrupt:
            if interrupted is None:
                raise
            raise Interrupted(interrupted) from None
        if _undecodable(text):
            _say(_undecodable_reply(text), fg="red")
            continue
        try:
            result = handle(text)
        except AnswerError as exc:
            _say(exc.render(), fg="red")
            continue
        if result is not AGAIN:
            return result


def _interview(reasoner: Reasoner, answers: Answers) -> Answers:
    """Ask the questions that still matter, one at a time; returns the answers."""
    from .engine import questions, render_text  # noqa: PLC0415

    history: list[tuple[str, Answers]] = []  # (question, answers before it) for 'back'
    while True:
        case = reasoner.reason(answers)
        concept = questions.next_question(case)
        if concept is None:
            return answers
        _say("")
        _say(f"Question {len(history) + 1}: {render_text.visible(concept.question)}", bold=True)
        _say(render_text.options_line(concept))
        answers = cast(Answers, _prompt_loop("> ", _Asking(reasoner, case, concept, answers, history)))


class _Asking:
    """The replies to one question: a state, or help, why, how or back.
    Returns the answers to go on with."""

    def __init__(self, reasoner: Reasoner, case: Case, concept: Concept, answers: Answers, history: list):
        self.reasoner, self.case, self.concept, self.answers, self.history = reasoner, case, concept, answers, history
        self.why_depth = 0

    def __call__(self, text: str) -> object:
        from .engine import render_text  # noqa: PLC0415

        word = normalize(text)
        command, _, rest = text.strip().partition(" ")
        if word in HELP:
            concept = self.concept
            _say(render_text.visible(concept.help or concept.description or "No help for this question."))
            _say(render_text.options_line(concept, every=True))
        elif word == "why":
            self.why_depth += 1
            _say(render_text.why_level(self._why, self.case.kb, self.why_depth))
        elif normalize(command) == "how":
            _say(_how_at_prompt(self.case, rest))
        elif word == "back":
            return self._back()
        elif not word:
            _say("Please answer: a state, its number, 'unknown', 'help', 'why', 'how' or 'back'.", fg="yellow")
        else:
            states = _parse_reply(self.concept, text)
            self.history.append((self.concept.id, self.answers))
            return self.answers.with_answer(self.case.kb, self.concept.id, states)
        return AGAIN

    @cached_property
    def _why(self):
        from .engine import explain, questions  # noqa: PLC0415

        return explain.why(self.case, self.concept.id, questions.Outlook(self.case).live_rules)

    def _back(self) -> object:
        if not self.history:
            _say("There is no earlier answer to change here (answers given as options stay).", fg="yellow")
            return AGAIN
        previous, answers = self.history.pop()
        _say(f"Going back to {previous}; everything is recomputed.")
        return answers

    def at_end(self) -> object:
        raise Interrupted(
            "end of input before the consultation was finished; nothing was "
            "concluded (to run without questions, use --no-input with "
            "--answer or --answers)."
        )


def _how_at_prompt(case: Case, rest: str) -> str:
    from .engine import explain, render_text  # noqa: PLC0415

    if not rest.strip():
        return render_text.concluded_so_far(case)
    try:
        fact = explain.fact_named(case, rest.strip())
    except AnswerError as exc:
        return exc.render()
    tree = explain.how_tree(case, fact)
    if tree is None:
        return f"{fact} is not concluded (yet)."
    return render_text.tree_text(case.kb, tree, explain.tree_tensions(case.kb, [tree]))


def _number(word: str) -> int | None:
    """``word`` as a choice's number, if it is one: ASCII digits only (int()
    also takes other scripts' digits, not superscripts), and few enough
    that no conversion limit is reached."""
    if word.isascii() and word.isdigit() and len(word) <= 9:
        return int(word)
    return None


def _parse_reply(concept: Concept, text: str) -> list[str]:
    parts = text.split(",") if concept.multi else [text]
    states = []
    for part in parts:
        word = normalize(part)
        number = _number(word)
        if number is not None and 1 <= number <= len(concept.states):
            states.append(concept.states[number - 1])
        else:
            states.append(answer_io.find_state(concept, part))
    return answer_io.check_states(concept, states, text)


class _Explaining:
    """The explain prompt after the conclusions: a number or CONCEPT=STATE
    (how), why-not, what-if, help; Enter or quit ends it."""

    def __init__(self, reasoner: Reasoner, summary):
        self.reasoner, self.summary, self.case = reasoner, summary, summary.case
        _say("")
        _say(EXPLAIN_HELP)

    def __call__(self, text: str) -> object:
        from .engine import counterfactual, explain, render_text  # noqa: PLC0415

        kb = self.case.kb
        word = text.strip()
        command, _, rest = word.partition(" ")
        command = normalize(command)
        if not word or command in QUIT:
            return None
        if command in HELP:
            _say(EXPLAIN_HELP)
        elif command in ("why_not", "whynot"):
            self._show(render_text.why_not(explain.why_not(self.reasoner, self.case, find_fact(kb, rest.strip())), kb))
        elif command in ("what_if", "whatif"):
            changes = rest.split()
            if not changes:
                raise AnswerError("what-if needs at least one CONCEPT=STATE")
            after = self.reasoner.reason(answer_io.build(kb, changes, base=self.case.answers))
            self._show(render_text.what_if(counterfactual.what_if(self.case, after), kb))
        elif word.isascii() and word.isdigit():
            self._numbered(word)
        else:
            fact = explain.fact_named(self.case, word[4:] if command == "how" else word)
            tree = explain.how_tree(self.case, fact)
            if tree is not None:
                self._show(render_text.tree_text(kb, tree, explain.tree_tensions(kb, [tree])))
            else:
                self._show(render_text.why_not(explain.why_not(self.reasoner, self.case, fact), kb))
        return AGAIN

    def _numbered(self, word: str) -> None:
        from .engine import explain, render_text  # noqa: PLC0415

        shown = self.summary.conclusions
        number = _number(word)
        if number is None or not 1 <= number <= len(shown):
            choose = f"choose 1 to {len(shown)}." if shown else "nothing was concluded (try why-not CONCEPT=STATE)."
            _say(f"There is no conclusion {_typed(word)}; " + choose, fg="yellow")
            return
        kb = self.case.kb
        tree = explain.how_tree(self.case, shown[number - 1].fact)
        self._show(render_text.tree_text(kb, tree, explain.tree_tensions(kb, [tree])) if tree else "")

    @staticmethod
    def _show(text: str) -> None:
        _out("")
        _out(text)

    def at_end(self) -> None:
        return None


# ---------------------------------------------------------------------------
# how, why-not, what-if, trace
# ---------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("fact", metavar="CONCEPT=STATE")
@case_options
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
    from .engine import explain  # noqa: PLC0415

    _decodable([fact], "the fact")
    session, reasoner = _prepare(ctx, as_json, rules)
    target = find_fact(reasoner.kb, fact)
    answers = _answers(reasoner, answer, answers_file)
    _render(session, explain.how(reasoner.reason(answers), target), "how")


@cli.command("why-not", context_settings=CONTEXT)
@click.argument("fact", metavar="CONCEPT=STATE")
@case_options
@click.pass_context
def why_not_command(ctx, fact, answer, answers_file, as_json, rules):
    """Why a conclusion was not reached, and what would make it hold.

    For each rule that could conclude it: each condition, and whether it
    failed because it was answered otherwise, not answered, or not concluded
    (then why not, one level down, to the answers). Ends with the smallest
    change of answers that would make it hold, when there is one.

    \b
    Examples:
      cofactor why-not blood_calcium=low -a magnesium_status=low
      cofactor why-not calcium_magnesium_ratio=high -a calcium_intake=high
      cofactor why-not vitamin_d_status=low --answers case.toml --json
    """
    from .engine import explain  # noqa: PLC0415

    _decodable([fact], "the fact")
    session, reasoner = _prepare(ctx, as_json, rules)
    target = find_fact(reasoner.kb, fact)
    answers = _answers(reasoner, answer, answers_file)
    _render(session, explain.why_not(reasoner, reasoner.reason(answers), target), "why_not")


@cli.command("what-if", context_settings=CONTEXT)
@case_options
@click.option(
    "-c",
    "--change",
    "changes",
    multiple=True,
    required=True,
    metavar="CONCEPT=STATE",
    help="An answer to change, add, or remove with 'unknown' (repeatable).",
)
@click.pass_context
def what_if_command(ctx, answer, answers_file, as_json, rules, changes):
    """The conclusions before and after changing answers, as a difference.

    Shows the conclusions gained and lost, with the rule that made each
    difference, and those whose strength changed.

    \b
    Examples:
      cofactor what-if -a magnesium_status=low --change magnesium_status=severely_low
      cofactor what-if -a calcium_intake=high --change magnesium_rich_foods=rarely
      cofactor what-if --answers case.toml --change magnesium_rich_foods=often --json
    """
    from .engine import counterfactual  # noqa: PLC0415

    _decodable(changes, "the change")
    session, reasoner = _prepare(ctx, as_json, rules)
    before = _answers(reasoner, answer, answers_file)
    after = answer_io.build(reasoner.kb, changes, base=before)
    result = counterfactual.what_if(reasoner.reason(before), reasoner.reason(after), asked=tuple(changes))
    _render(session, result, "what_if")


@cli.command(context_settings=CONTEXT)
@case_options
@click.option("--agenda", is_flag=True, help="Also show the activations waiting on the agenda at each step.")
@click.pass_context
def trace(ctx, answer, answers_file, as_json, rules, agenda):
    """The rules in the order the engine fired them, with the facts each
    matched and the facts each added (like CLIPS's watch rules and facts).

    \b
    Examples:
      cofactor trace -a magnesium_status=severely_low
      cofactor trace -a magnesium_status=low --agenda
      cofactor trace --answers case.toml --json
    """
    from .engine import explain  # noqa: PLC0415

    session, reasoner = _prepare(ctx, as_json, rules)
    answers = _answers(reasoner, answer, answers_file)
    _render(session, explain.trace(reasoner.reason(answers, agenda=agenda), agenda=agenda), "trace")


def _render(session: Session, explanation: object, name: str) -> None:
    """Print an explanation with the renderer the session asks for; each
    renderer has a function of the explanation's name, taking it and the
    knowledge base."""
    if session.as_json:
        from .engine import render_json  # noqa: PLC0415

        _emit_json(getattr(render_json, name)(explanation, session.kb))
    else:
        from .engine import render_text  # noqa: PLC0415

        _out(getattr(render_text, name)(explanation, session.kb))


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("file", metavar="FILE")
@click.option(
    "-o",
    "--output",
    "output",
    metavar="OUT",
    help="Write the results to OUT instead of standard output; a name ending in .csv writes a CSV table.",
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "jsonl", "toml", "json"]),
    help="The input's format, when its name does not tell (standard input, '-', always).",
)
@click.option(
    "--output-format",
    type=click.Choice(["jsonl", "csv"]),
    help="JSON Lines (one consultation's JSON per case; the default) or a CSV table (one column per derived concept).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Processes for a large batch (default: every core this process may use; 1: this one only).",
)
@json_option
@rules_option
@click.pass_context
def batch(ctx, file, output, input_format, output_format, jobs, as_json, rules):
    """Reason over many cases at once (a class's, say) and write what each concludes.

    FILE is a CSV file (a header of question ids, then one case per row; a
    cell holds a state, several separated by commas, or nothing for
    unknown), a JSON Lines file (an answers object per line), or a TOML or
    JSON file of named cases ([alice] tables); '-' reads standard input.

    The results keep the input's order: one consultation's JSON object per
    line, naming its row or case, or a CSV table of each case's answers and
    conclusions. A case that cannot be read is reported on standard error
    with its row, the others are still written, and the exit status is 1.
    A large batch uses every core; progress shows on a terminal.

    \b
    Examples:
      cofactor batch class.csv -o results.jsonl
      cofactor batch class.csv -o table.csv
      cofactor batch cases.toml --output-format csv
      cat cases.jsonl | cofactor batch - --input-format jsonl
    """
    from .engine import batch as batching  # noqa: PLC0415

    session = _session(ctx, rules, as_json)
    if session.as_json and output_format == "csv":
        raise BadValue("--json writes JSON Lines; leave it out to write --output-format csv")
    reasoner = session.reasoner()
    write_as = batching.output_format(output, output_format)
    writer = batching.Writer(reasoner.kb, write_as, DISCLAIMER if write_as == "jsonl" else None)
    with _batch_input(file) as source:
        read_as = batching.input_format(file, input_format)
        cases = batching.read_cases(reasoner.kb, source, read_as)
        # the first case is read before anything is written, so an input that
        # cannot be read at all (not UTF-8, say) leaves no header behind
        first = next(cases, None)
        if first is not None:
            cases = itertools.chain((first,), cases)
        with _batch_output(output, file) as sink:
            table = None
            if write_as == "csv":
                import csv  # noqa: PLC0415

                table = csv.writer(sink, lineterminator="\n")
                table.writerow(writer.header())
            outcomes = batching.run(reasoner, writer, cases, jobs=jobs)
            done, failed = _write_batch(outcomes, sink, table, batching.count_cases(file, read_as))
    if not done:
        _say("The input holds no cases.", fg="yellow")
    if failed:
        rest = done - failed
        written = (
            "none was written"
            if not rest
            else "the other case was written"
            if rest == 1
            else f"the other {rest} were written"
        )
        raise click.ClickException(f"{failed} of {done} cases could not be reasoned over (see above); {written}.")


@contextlib.contextmanager
def _batch_input(file: str):
    if file == "-":
        _keep_undecodable_bytes(sys.stdin)  # a line that is not UTF-8 is that case's error
        yield sys.stdin
        return
    from .engine import batch as batching  # noqa: PLC0415
    from .engine import rulefiles  # noqa: PLC0415

    try:
        rulefiles.check_stream(file)  # a device or a socket is never opened
    except rulefiles.FileRefused as exc:
        raise BadValue(f"batch file '{answer_io.shown_path(file)}' {exc.message} ({exc.fix})") from None
    except OSError:
        pass  # opening it says what is wrong
    try:
        # bytes that are not UTF-8 are kept, so a bad line is that case's error
        handle = open(file, encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        shown = answer_io.shown_path(file)
        if isinstance(exc, FileNotFoundError):
            raise BadValue(f"batch file '{shown}' does not exist") from None
        if isinstance(exc, IsADirectoryError):
            raise BadValue(f"batch file '{shown}' is a folder; name a .csv, .jsonl, .toml or .json file") from None
        raise BadValue(f"cannot read batch file '{shown}': {exc.strerror or exc}") from None
    with handle:
        try:
            yield handle
        except (UnicodeDecodeError, batching.NotUtf8):
            raise BadValue(f"batch file '{answer_io.shown_path(file)}' is not UTF-8 text") from None


@contextlib.contextmanager
def _batch_output(output: str | None, file: str):
    if output is None:
        yield sys.stdout
        return
    if file != "-" and os.path.exists(output) and os.path.exists(file) and os.path.samefile(output, file):
        raise BadValue(f"the output '{answer_io.shown_path(output)}' is the input; name another file")
    try:
        handle = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BadValue(f"cannot write '{answer_io.shown_path(output)}': {exc.strerror or exc}") from None
    with handle:
        yield handle


def _write_batch(outcomes, sink, table, total: int | None) -> tuple[int, int]:
    """Writes each outcome as it comes, reports each failure; (cases, failures)."""
    shown = sys.stderr.isatty()
    progress: contextlib.AbstractContextManager = (
        click.progressbar(
            length=total,
            label="Reasoning",
            file=sys.stderr,
            show_pos=True,
            update_min_steps=max(1, (total or 0) // 100),
        )
        if shown
        else contextlib.nullcontext()
    )
    done = failed = 0
    with progress as bar:
        try:
            for outcome in outcomes:
                done += 1
                if outcome.error:
                    failed += 1
                    where = (
                        f"row {outcome.label}"
                        if isinstance(outcome.label, int)
                        else f"case '{answer_io.shown(str(outcome.label))}'"
                    )
                    if shown:
                        click.echo("\r\033[K", nl=False, err=True)  # clear the bar's line first
                    _say(f"{where}: {outcome.error}", fg="red")
                elif table is not None:
                    table.writerow(outcome.output)
                else:
                    sink.write(outcome.output + "\n")
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted after {done} cases; those were written.") from None
        except OSError as exc:
            if sink is sys.stdout:
                raise _OutputFailed(exc) from None
            raise click.ClickException(f"cannot write the results: {exc.strerror or exc}") from None
    return done, failed


# ---------------------------------------------------------------------------
# check and reference: for rule authors
# ---------------------------------------------------------------------------


class CheckFailed(click.ClickException):
    """check found errors (or, with --strict, warnings): the report is
    already written; this is the one line on standard error."""

    exit_code = 1


@cli.command(context_settings=CONTEXT)
@click.option("--strict", is_flag=True, help="Warnings fail the check too (exit 1), not only errors.")
@json_option
@rules_option
@click.pass_context
def check(ctx, strict, as_json, rules):
    """Check a knowledge base: the built-in one plus any --rules files.

    Reports every problem in one pass, each with its file, id, what is wrong
    and how to fix it: everything the loader rejects; rules that can never
    fire; concepts and questions no rule uses; dead ends; duplicated or
    subsumed rules; quotes not found in their document's text (a document
    with no local text is "unverified"); failing examples; and an
    exhaustive run over every combination of answers, which reports the
    rules that fire in no case and the conflicts some case produces. Cycles
    are listed for information.

    The report is written to standard output (--json: one JSON document).
    Exit status: 0 without errors; 1 with errors, or with warnings under
    --strict. A progress bar shows on a terminal during the exhaustive run.

    \b
    Examples:
      cofactor check
      cofactor check --rules my-rules.toml
      cofactor check --rules my-folder/ --strict
      cofactor check --json
    """
    from .engine import check as checking  # noqa: PLC0415
    from .engine import loader  # noqa: PLC0415

    session = _session(ctx, rules, as_json)
    left_out: list = []  # rules that did not load, whose quotes are checked all the same
    kb, problems = loader.load_partial(
        [RULES_DIR], session.rules, display_root=os.path.dirname(RULES_DIR), left_out=left_out
    )
    with _progress("Exhaustive run") as progress:
        report = checking.check(kb, problems, progress=progress, left_out=left_out)
    if session.as_json:
        from .engine import render_json  # noqa: PLC0415

        _emit_json(render_json.check(report))
    else:
        from .engine import render_text  # noqa: PLC0415

        _out(render_text.check_text(report))
    errors, warnings = report.errors, report.warnings
    if errors:
        raise CheckFailed(f"the check found {errors} error{'s' if errors > 1 else ''} (see the report).")
    if strict and warnings:
        raise CheckFailed(
            f"the check found {warnings} warning{'s' if warnings > 1 else ''}, and --strict fails on them."
        )


@contextlib.contextmanager
def _progress(label: str):
    """A ``progress(done, total)`` callback that draws a bar on standard
    error when it is a terminal, and does nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
            bars.append(bar)
        bar = bars[0]
        bar.update(done - bar.pos)

    try:
        yield progress
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@cli.command(context_settings=CONTEXT)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the reference to FILE instead of standard output.",
)
@rules_option
@click.pass_context
def reference(ctx, output, rules):
    """The knowledge base as a Markdown reference, generated from the rule files.

    Every concept with its states and question, every rule with its
    conditions, conclusions, strength and quotes, grouped by topic (the
    file each rule comes from), each topic's causal network as a Mermaid
    diagram.

    \b
    Examples:
      cofactor reference -o docs/knowledge-base.md
      cofactor reference --rules my-rules.toml -o my-knowledge-base.md
    """
    from .engine import kbdoc  # noqa: PLC0415

    session = _session(ctx, rules)
    command = kbdoc.REGENERATE
    if session.rules or output != "docs/knowledge-base.md":
        import shlex  # noqa: PLC0415

        words = ["cofactor", "reference", *(f"--rules={path}" for path in session.rules)]
        command = shlex.join([*words, *(["-o", output] if output else [])])
    text = kbdoc.markdown(session.kb, command=command)
    if output is None:
        _out(text.rstrip("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise BadValue(f"cannot write '{answer_io.shown_path(output)}': {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------
# rules and concepts
# ---------------------------------------------------------------------------


@cli.command("rules", context_settings=CONTEXT)
@click.option("--concept", "concept", metavar="CONCEPT", help="Only the rules that use or conclude this concept.")
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
    _decodable([concept or ""], "the concept")
    session = _session(ctx, rules, as_json)
    kb = session.kb
    chosen, disabled = kb.rules, kb.disabled
    if concept is not None:  # the rules that use or conclude it, and the disabled ones that did
        concept_id = answer_io.find_concept(kb, concept).id
        chosen = kb.rules_about(concept_id)
        disabled = tuple(d for d in disabled if _mentions(d.rule, concept_id))
    if session.as_json:
        from .engine import render_json  # noqa: PLC0415

        _emit_json(render_json.rules(chosen, disabled, kb))
    else:
        from .engine import render_text  # noqa: PLC0415

        _out(render_text.rules_text(chosen, disabled, kb.tensions_of))


def _mentions(rule, concept: str) -> bool:
    return any(c.concept == concept for c in rule.when) or any(f.concept == concept for f in rule.then)


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
    if session.as_json:
        from .engine import render_json  # noqa: PLC0415

        _emit_json(render_json.concepts(session.kb))
    else:
        from .engine import render_text  # noqa: PLC0415

        _out(render_text.concepts_text(session.kb))


def __getattr__(name: str):
    if name == "BUILTIN_RULES":
        from pathlib import Path  # noqa: PLC0415

        return Path(RULES_DIR)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The console script's entry point.

    The first Ctrl-C while the command runs raises KeyboardInterrupt, which
    the command reports (exit 130); before it (during the imports: see
    ``__init__.py``), or at a second Ctrl-C, the program ends at once with
    one line and exit 130; once the command is over, Ctrl-C is ignored."""
    package = sys.modules[__package__ or "cofactor"]  # imported first, by Python: __init__.py holds the handler
    package._catch_interrupts(armed=True)
    try:
        try:
            cli(prog_name="cofactor")  # always ends with SystemExit
        finally:
            package._ignore_interrupts()
    except KeyboardInterrupt:  # as the command ended, before Ctrl-C was set aside
        package._ignore_interrupts()
        _error("interrupted.")
        sys.exit(Interrupted.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
