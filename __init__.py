"""cofactor: a teaching expert system about how magnesium governs calcium
metabolism and vitamin D activation.

The package is the command line, :mod:`cofactor.cli` (the ``cofactor``
command), over a domain-blind engine, :mod:`cofactor.engine`, that reads the
knowledge in :mod:`cofactor.rules` (TOML rule files, data only).

Importing ``cofactor`` imports nothing else: ``cofactor.__version__`` is read
from :mod:`cofactor.engine`, the one place it is written, on first use.

Ctrl-C, from the very start: when the package is imported by the
``cofactor`` command (the console script, or ``python -m cofactor.cli``),
Ctrl-C is caught here, before anything else is imported, so an interruption
during start-up ends the program with one line and exit 130, never a
traceback. :func:`cofactor.cli.main` then arms the handler: while the
command runs, the first Ctrl-C raises ``KeyboardInterrupt`` (so the command
can say what it had done) and a second one ends the program at once; once
the command has finished, Ctrl-C is ignored (Python would otherwise give the
signal back to the system as it shuts down, and the program would die of it
with no word and its own exit status lost). Imported as a library, the
package touches no signal.
"""

from __future__ import annotations

import _signal  # the built-in behind `signal`: free, where `signal` costs an import of enum
import os as _os  # already loaded by Python's start-up: free
import sys as _sys

__all__ = ["__version__"]

_armed = False  # True while a running command wants a KeyboardInterrupt


def _on_interrupt(signum, frame) -> None:
    """SIGINT: a KeyboardInterrupt for an armed command (once: it disarms),
    else one line and exit 130 at once."""
    global _armed
    if _armed:
        _armed = False
        raise KeyboardInterrupt
    _exit_interrupted()


def _exit_interrupted() -> None:
    """One line on standard error, exit 130, now."""
    try:  # noqa: SIM105 - contextlib is not loaded yet this early
        # a blank line first on a terminal closes the ^C it echoed
        _os.write(2, b"\nError: interrupted.\n" if _os.isatty(2) else b"Error: interrupted.\n")
    except OSError:
        pass
    _os._exit(130)


def _unraisable(unraisable) -> None:
    """A KeyboardInterrupt raised where Python can only print it and go on
    (a destructor, a weak reference's callback: the signal lands on any
    line) ends the program as an interruption; anything else is Python's."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _exit_interrupted()
    _sys.__unraisablehook__(unraisable)


def _catch_interrupts(*, armed: bool) -> bool:
    """Handle SIGINT with :func:`_on_interrupt`, armed or not; False when
    this thread cannot set a signal handler (then Python's stays), or when
    whoever started the program ignores SIGINT (``nohup``, a background
    job): it stays ignored."""
    global _armed
    try:
        if _signal.getsignal(_signal.SIGINT) is _signal.SIG_IGN:
            return False
        _signal.signal(_signal.SIGINT, _on_interrupt)
    except (ValueError, OSError):  # not the main thread, or no signals here
        return False
    _armed = armed
    _sys.unraisablehook = _unraisable
    return True


def _ignore_interrupts() -> None:
    """The command is over: Ctrl-C no longer changes how it ends."""
    global _armed
    _armed = False
    try:  # noqa: SIM105 - as above
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    # A KeyboardInterrupt that left code run by eval() or exec() of a string
    # (collections.namedtuple builds its classes that way, so an interrupt
    # during a late import can land there) marks CPython's "unhandled
    # KeyboardInterrupt" flag even when the command then handles it; Python
    # would end the program by SIGINT at exit, its status lost. The next
    # eval() of a string clears the flag: this one.
    eval("None")


def _started_as_the_command() -> bool:
    """Is this import the start of the ``cofactor`` command? The console
    script is named ``cofactor``; ``python -m cofactor.cli`` imports this
    package while ``sys.argv[0]`` is still ``-m``."""
    argv = getattr(_sys, "argv", None) or [""]
    if argv[0] == "-m":
        return "cofactor.cli" in getattr(_sys, "orig_argv", ())
    name = _os.path.basename(argv[0]).lower()
    return name in ("cofactor", "cofactor.exe", "cofactor-script.py")


# Only the command's own start-up, and only if nobody (an embedding program,
# a test runner) has put a handler of their own in place of Python's.
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler and _started_as_the_command():
    _catch_interrupts(armed=False)


def __getattr__(name: str) -> str:
    if name == "__version__":
        from .engine import __version__  # noqa: PLC0415 - on first use: importing cofactor stays free

        globals()["__version__"] = __version__
        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
