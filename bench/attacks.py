"""The reliability goals, measured: ``python -m bench.attacks``.

Each case of the reliability contract (huge, deep, strange or endless input,
and knowledge bases that grow by long chains), and ``check`` with its
exhaustive run, runs as a whole ``cofactor``
process under a 3 GiB address-space cap, as a user's shell would run it.
Every case must end with the exit code the contract gives it, with no
traceback, within its time budget (10 s) and without reaching the cap.

Figures are medians of interleaved rounds; each is also given as a ratio to
the import floor (``import experta, click``) measured in the same run, since
the machine is shared and its absolute speed varies. Peak memory is each
process's own maximum resident set (from ``wait4``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

from .__main__ import FLOOR, PROJECT

MEMORY_CAP = 3 * 1024**3
BUDGET = 10.0  # seconds, the contract's bound for every case
HANG = 60.0  # seconds after which a run is stopped and counted a failure
CHAIN = 10_000


class Case(NamedTuple):
    name: str
    args: list[str]
    exit: int
    stdin: bytes = b""


def _document_rule(i: int, when: str, then: str) -> str:
    return (
        f'[[rule]]\nid = "bench.r{i:05d}"\ntitle = "Step {i}"\nwhen = [{when}]\nthen = ["{then}"]\n'
        'strength = "likely"\nsources = [{ document = "mg-calcium", quote = "q" }]\n'
    )


def chain(links: int) -> str:
    """c00000 (a question) -> c00001 -> ... -> c{links}: one rule a link."""
    parts = [
        '[[concept]]\nid = "c00000"\nlabel = "Link 0"\nkind = "question"\nstates = ["yes", "no"]\n'
        'question = "Link 0?"\norder = 1\n'
    ]
    for i in range(1, links + 1):
        parts.append(f'[[concept]]\nid = "c{i:05d}"\nlabel = "Link {i}"\nkind = "mechanism"\nstates = ["yes"]\n')
    for i in range(1, links + 1):
        parts.append(_document_rule(i, f'"c{i - 1:05d} = yes"', f"c{i:05d} = yes"))
    return "\n".join(parts)


def wide_rule(prefix: str, conditions: int, *, multi: bool) -> str:
    """One rule whose every condition is `<prefix>NN in [a, b]`, over
    questions of states a, b, c. Answered with one state each, it is
    alternatives costing linear, not 2**n, time; over multi-valued questions
    answered with both, 2**conditions combinations, each a route."""
    several = "multi = true\n" if multi else ""
    parts = [
        f'[[concept]]\nid = "{prefix}{i:02d}"\nlabel = "{prefix} {i}"\nkind = "question"\nstates = ["a", "b", "c"]\n'
        f'{several}question = "{prefix} {i}?"\norder = {i + 1}\n'
        for i in range(conditions)
    ]
    parts.append('[[concept]]\nid = "wide_rule_holds"\nlabel = "Holds"\nkind = "outcome"\nstates = ["yes"]\n')
    when = ", ".join(f'"{prefix}{i:02d} in [a, b]"' for i in range(conditions))
    parts.append(_document_rule(0, when, "wide_rule_holds = yes"))
    return "\n".join(parts)


def answering(prefix: str, conditions: int, states: str) -> list[str]:
    """``-a <prefix>NN=<states>`` for each question of :func:`wide_rule`."""
    return [arg for i in range(conditions) for arg in ("-a", f"{prefix}{i:02d}={states}")]


def independent(count: int) -> str:
    """`count` rules on the built-in questions, each its own conclusion."""
    parts = []
    for i in range(count):
        parts.append(f'[[concept]]\nid = "out{i:05d}"\nlabel = "Out {i}"\nkind = "outcome"\nstates = ["yes"]\n')
        parts.append(_document_rule(i, '"magnesium_status = low", "calcium_intake = high"', f"out{i:05d} = yes"))
    return "\n".join(parts)


def many_states(count: int) -> str:
    states = ", ".join(f'"s{i}"' for i in range(count))
    return (
        f'[[concept]]\nid = "wide"\nlabel = "Wide"\nkind = "question"\nstates = [{states}]\n'
        'question = "Which?"\norder = 1\n'
        '[[concept]]\nid = "wide_out"\nlabel = "Wide out"\nkind = "outcome"\nstates = ["yes"]\n'
        + _document_rule(0, f'"wide = s{count - 1}"', "wide_out = yes")
    )


def cases(folder: Path) -> list[Case]:
    def write(name: str, text: str) -> str:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    end = f"c{CHAIN:05d}=yes"
    long_chain = write("chain.toml", chain(CHAIN))
    fifo = folder / "fifo.toml"
    os.mkfifo(fifo)
    return [
        # the rule authors' check, exhaustive run included (its goal: 30 s at most)
        Case("check, the built-in knowledge base", ["check"], 0),
        Case("check, the broken extensions", ["check", "--rules", str(PROJECT / "tests" / "broken_extensions")], 1),
        Case("load a 10,000-rule chain", ["--rules", long_chain, "rules", "--json"], 0),
        Case("how, end of the chain", ["--rules", long_chain, "how", end, "-a", "c00000=yes"], 0),
        Case("how --json, end of the chain", ["--rules", long_chain, "how", end, "-a", "c00000=yes", "--json"], 0),
        Case("why-not, end of the chain", ["--rules", long_chain, "why-not", end], 0),
        Case("trace, the chain", ["--rules", long_chain, "trace", "-a", "c00000=yes"], 0),
        Case("what-if, the chain", ["--rules", long_chain, "what-if", "-a", "c00000=no", "-c", "c00000=yes"], 0),
        Case(
            "consult --json, the chain",
            ["--rules", long_chain, "consult", "--no-input", "--json", "-a", "c00000=yes"],
            0,
        ),
        Case(
            "14 conditions 'in [a, b]'",
            ["--rules", write("alt14.toml", wide_rule("q", 14, multi=False)), "consult", "--no-input", "--json"]
            + answering("q", 14, "a"),
            0,
        ),
        Case(
            "64 conditions 'in [a, b]'",
            ["--rules", write("alt64.toml", wide_rule("q", 64, multi=False)), "consult", "--no-input", "--json"]
            + answering("q", 64, "b"),
            0,
        ),
        Case(
            "how --json, 8,192 routes",
            ["--rules", write("multi13.toml", wide_rule("m", 13, multi=True)), "how", "wide_rule_holds=yes", "--json"]
            + answering("m", 13, "a,b"),
            0,
        ),
        Case(
            "65,536 routes of 16 facts",
            ["--rules", write("multi16.toml", wide_rule("m", 16, multi=True)), "how", "wide_rule_holds=yes", "--json"]
            + answering("m", 16, "a,b"),
            1,
        ),
        Case(
            "a concept of 1,000 states",
            [
                "--rules",
                write("states1k.toml", many_states(1_000)),
                "consult",
                "--no-input",
                "--json",
                "-a",
                "wide=s999",
            ],
            0,
        ),
        Case(
            "a concept of 100,000 states",
            ["--rules", write("states100k.toml", many_states(100_000)), "consult", "--no-input"],
            1,
        ),
        Case(
            "5,000 independent rules",
            ["--rules", write("independent.toml", independent(5_000)), "consult", "--no-input", "--json"]
            + ["-a", "magnesium_status=low", "-a", "calcium_intake=high"],
            0,
        ),
        Case(
            "an 8 MiB rule file of empty arrays",
            ["--rules", write("arrays.toml", "x = [" + "[]," * ((8 * 1024 * 1024 - 20) // 3) + "]\n"), "rules"],
            1,
        ),
        Case(
            "rules nested 10,000 deep",
            ["--rules", write("deep.toml", "x = " + "[" * 10_000 + "]" * 10_000), "rules"],
            1,
        ),
        Case(
            "answers nested 100,000 deep",
            ["consult", "--no-input", "--answers", write("deep.json", "[" * 100_000 + "]" * 100_000)],
            2,
        ),
        Case("a 5,000-digit integer", ["--rules", write("int.toml", "order = " + "1" * 5_000), "rules"], 1),
        Case("--rules /dev/zero", ["--rules", "/dev/zero", "rules"], 1),
        Case("--answers /dev/zero", ["consult", "--no-input", "--answers", "/dev/zero"], 2),
        Case("--rules naming a FIFO", ["--rules", str(fifo), "rules"], 1),
        Case("consult, replies from /dev/zero", ["consult"], 2, b"\0" * 1_100_000),
        Case("batch /dev/zero", ["batch", "/dev/zero", "--input-format", "jsonl"], 2),
        Case("batch, a 2 MB line on stdin", ["batch", "-", "--input-format", "jsonl"], 2, b"{" * 2_000_000),
    ]


class Run(NamedTuple):
    seconds: float
    peak_mib: float
    code: int | None
    traceback: bool


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(argv: list[str], stdin: bytes, env: dict[str, str]) -> Run:
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, preexec_fn=_cap
    )
    assert child.stdin is not None and child.stderr is not None
    # standard input fed and standard error drained beside the wait, so that
    # neither pipe can fill and stall the child (or this program, when the
    # child stops reading early)
    err = bytearray()
    feeder = threading.Thread(target=_feed, args=(child.stdin, stdin))
    drainer = threading.Thread(target=lambda: err.extend(child.stderr.read()))  # type: ignore[union-attr]
    feeder.start()
    drainer.start()
    deadline = start + HANG
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            child.kill()
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = -9
            feeder.join()
            drainer.join()
            child.stderr.close()
            return Run(HANG, usage.ru_maxrss / 1024, None, False)
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    feeder.join()
    drainer.join()
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    return Run(elapsed, usage.ru_maxrss / 1024, child.returncode, b"Traceback" in err)


def _feed(pipe, data: bytes) -> None:
    """Write ``data`` to the child and close; a child that stops reading
    (refusing the input) closes the pipe first, which is its right."""
    try:
        pipe.write(data)
        pipe.close()
    except BrokenPipeError:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def measure(rounds: int) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="cofactor-attacks-") as tmp:
        env["COFACTOR_CACHE_DIR"] = str(Path(tmp) / "cache")
        all_cases = cases(Path(tmp))
        command = [sys.executable, "-m", "cofactor.cli"]
        jobs: dict[str, tuple[list[str], bytes]] = {"import floor": ([sys.executable, "-c", FLOOR], b"")}
        for case in all_cases:
            jobs[case.name] = ([*command, *case.args], case.stdin)
        samples: dict[str, list[Run]] = {name: [] for name in jobs}
        names = list(jobs)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(run(*jobs[name], env))
                print(".", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    floor = statistics.median(r.seconds for r in samples["import floor"])
    results = []
    for case in all_cases:
        runs = samples[case.name]
        median = statistics.median(r.seconds for r in runs)
        codes = sorted({r.code for r in runs}, key=str)
        results.append(
            {
                "case": case.name,
                "exit": codes,
                "expected": case.exit,
                "median_s": round(median, 3),
                "x_floor": round(median / floor, 1),
                "peak_mib": round(max(r.peak_mib for r in runs), 1),
                "traceback": any(r.traceback for r in runs),
                "ok": codes == [case.exit] and median < BUDGET and not any(r.traceback for r in runs),
            }
        )
    return {"rounds": rounds, "floor_s": round(floor, 3), "budget_s": BUDGET, "cases": results}


def report(results: dict) -> None:
    print(f"import floor {results['floor_s'] * 1000:.0f} ms; budget {results['budget_s']:.0f} s a case; 3 GiB cap")
    print(f"{'case':38} {'exit':>6} {'median':>9} {'x floor':>8} {'peak':>9}  verdict")
    for row in results["cases"]:
        codes = ",".join(str(c) for c in row["exit"])
        verdict = "ok" if row["ok"] else f"FAIL (expected exit {row['expected']})"
        print(
            f"{row['case']:38} {codes:>6} {row['median_s']:>8.2f}s {row['x_floor']:>8.1f} "
            f"{row['peak_mib']:>7.0f}MB  {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: %(default)s)")
    parser.add_argument(
        "--json",
        default=str(PROJECT / "bench" / "attacks.json"),
        metavar="PATH",
        help="where to write the results (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    results = measure(args.rounds)
    report(results)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 0 if all(row["ok"] for row in results["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
