"""Interleaved, repeated timing: the machine is shared and noisy, so the
things compared are run in turn (A B C, B C A, ...) in every round, and each
figure is the median of its rounds. A ratio is taken between figures of the
same run."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def interleaved(
    candidates: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    calls: int = 1,
    setup: Mapping[str, Callable[[], object]] | None = None,
) -> dict:
    """Seconds per call of each candidate: ``rounds`` rounds, each candidate
    ``calls`` times in a row per round, the order rotated each round;
    ``setup[name]``, if given, runs (untimed) before each of its rounds.
    Returns ``{name: {"median": s, "samples": [s, ...]}}``.

    A candidate made in a loop binds the loop's value as a default argument
    (``lambda e=e: ...``); the callers build such a mapping in a local first,
    since mypy infers a lambda with default arguments on its own but cannot
    fit it to the ``Callable[[], object]`` expected here."""
    names = list(candidates)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            if setup and name in setup:
                setup[name]()
            fn = candidates[name]
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: summary(values) for name, values in samples.items()}


def processes(
    commands: Mapping[str, Sequence[str]], *, rounds: int, env: Mapping[str, str] | None = None, warmup: int = 1
) -> dict:
    """Wall seconds of whole processes, interleaved like :func:`interleaved`;
    each command runs ``warmup`` times first, uncounted."""

    def run(argv) -> float:
        start = time.perf_counter()
        done = subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        return elapsed

    for argv in commands.values():
        for _ in range(warmup):
            run(argv)
    candidates = {name: (lambda argv=argv: run(argv)) for name, argv in commands.items()}  # a local: see interleaved
    return interleaved(candidates, rounds=rounds)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "samples": values}


def ratio(a: dict, b: dict) -> float:
    return a["median"] / b["median"]
