"""Run cofactor as a real process, the way a user's shell does, under the
limits the reliability contract sets: a memory cap and a time limit that
only catches hangs (speed is the benchmark's business, not the tests').

Used by the tests of input that must fail cleanly whatever its size or
shape: the process ends with a documented exit code, prints no traceback and
puts no raw control byte on the terminal."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

MEMORY_CAP = 3 * 1024**3  # bytes of address space, as the contract says
HANG = 120  # seconds: far beyond any honest run; reaching it means a hang
EXIT_CODES = (0, 1, 2, 130)
# C0 controls other than tab and newline, DEL, and the C1 range: what a
# terminal would act on rather than show
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cofactor(
    args: Sequence[str | os.PathLike[str]],
    *,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: int | None = subprocess.PIPE,
    timeout: float = HANG,
) -> subprocess.CompletedProcess[bytes]:
    """`cofactor ARGS` in a child process capped at MEMORY_CAP, with bytes
    out (so undecodable output is seen, not hidden). `stdin` may be text
    (encoded as UTF-8) or bytes; None gives an empty standard input."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else (stdin or b"")
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cofactor.cli", *map(str, args)],
        input=data,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=cwd,
        timeout=timeout,
        preexec_fn=_limit_memory,
        check=False,
    )


def assert_clean(result: subprocess.CompletedProcess[bytes], code: int, *, stderr: Sequence[str] = ()) -> str:
    """The run ended with `code`, no traceback, no raw control byte on
    either stream, and (for a failure) nothing on standard output and every
    text of `stderr` in its message. Returns standard error, decoded."""
    assert code in EXIT_CODES
    err = result.stderr.decode("utf-8", errors="replace")
    out = (result.stdout or b"").decode("utf-8", errors="replace")
    assert result.returncode == code, (result.returncode, err[-2000:], out[-500:])
    assert "Traceback" not in err + out, err[-3000:]
    assert not RAW_CONTROL.search(err), f"raw control byte on standard error: {err[-500:]!r}"
    assert not RAW_CONTROL.search(out), f"raw control byte on standard output: {out[-500:]!r}"
    if code not in (0, 130):
        assert out == "", out[-500:]
    for text in stderr:
        assert text in err, (text, err[-2000:])
    return err
