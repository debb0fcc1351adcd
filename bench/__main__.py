"""cofactor's benchmark suite: ``python -m bench`` from the project's folder.

Measures, in one run, with every comparison between figures of that run:

* start-up: a whole ``cofactor consult --no-input --json`` process against
  the import floor (``import experta, click``, with experta's one fix) and
  against ``python -c pass``;
* the built-in knowledge base: the build of the compiled knowledge base,
  and one consultation (one answer, six answers), cofactor beside stock
  experta and CLIPS (clipspy);
* seeded synthetic knowledge bases of 50, 200, 1,000 and 5,000 rules:
  build, time per case, firings per case, cost per firing, the same three
  engines side by side;
* ``cofactor batch`` over 5,000 generated cases, and each engine's
  throughput over the same cases in one process;
* the whole test suite, once (``--no-tests`` leaves it out).

Every figure is the median of interleaved rounds. Every engine must derive
the same facts on every case it runs, or the suite stops: a fast wrong
answer is not a speed-up. Prints a table and the goals of the performance
issue, and writes everything to ``--json`` (default bench/results.json).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import engines, synthetic
from bench.timing import interleaved, processes, ratio
from cofactor.cli import BUILTIN_RULES
from cofactor.engine import answers as answer_io
from cofactor.engine import load

PROJECT = Path(__file__).resolve().parents[1]
FLOOR = (
    "import collections, collections.abc\n"
    "for name in ('Callable', 'Container', 'Hashable', 'ItemsView', 'Iterable', 'Iterator', 'KeysView',\n"
    "             'Mapping', 'MappingView', 'MutableMapping', 'MutableSequence', 'MutableSet', 'Sequence',\n"
    "             'Set', 'Sized', 'ValuesView'):\n"
    "    hasattr(collections, name) or setattr(collections, name, getattr(collections.abc, name))\n"
    "import experta, click\n"
)
CONSULT = ["consult", "--no-input", "--json", "-a", "magnesium_status=severely_low"]
ONE_ANSWER = ["magnesium_status=severely_low"]
SIX_ANSWERS = [
    "magnesium_status=low",
    "magnesium_rich_foods=rarely",
    "calcium_intake=high",
    "calcium_supplement=yes",
    "vitamin_d_supplement=high_dose",
    "sun_exposure=low",
]
SIX_QUESTIONS = [
    "magnesium_status",
    "magnesium_deficiency_chronic",
    "magnesium_rich_foods",
    "calcium_intake",
    "calcium_supplement",
    "vitamin_d_supplement",
]
SIZES = (50, 200, 1000, 5000)


class Disagreement(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and cases (a rough look, not a result)")
    parser.add_argument("--no-tests", action="store_true", help="leave out timing the test suite")
    parser.add_argument(
        "--json",
        default=str(PROJECT / "bench" / "results.json"),
        metavar="PATH",
        help="where to write the results (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    available = engines.available()
    if engines.ClipsEngine not in available:
        print("clipspy is not installed: CLIPS is left out (pip install '.[bench]')", file=sys.stderr)
    rounds = 3 if args.quick else 7
    results: dict = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "sections": {},
    }
    started = time.perf_counter()
    try:
        results["sections"]["startup"] = startup(rounds=2 * rounds)
        results["sections"]["builtin"] = builtin(available, rounds=rounds)
        results["sections"]["synthetic"] = synthetic_sizes(available, rounds=max(3, rounds - 2), quick=args.quick)
        results["sections"]["batch"] = batch(available, rounds=max(3, rounds - 4), quick=args.quick)
        if not args.no_tests:
            results["sections"]["tests"] = test_suite()
    except Disagreement as exc:
        print(f"\nENGINES DISAGREE: {exc}", file=sys.stderr)
        return 1
    results["goals"] = goals(results["sections"])
    results["seconds"] = round(time.perf_counter() - started, 1)
    report(results)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json} ({results['seconds']} s)")
    return 0


def machine() -> dict:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    versions: dict[str, str | None] = {}
    for name in ("cofactor", "experta", "click", "clipspy"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    import cofactor.cli  # noqa: PLC0415

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "versions": versions,
        "editable_install": Path(cofactor.cli.__file__).resolve().parent == PROJECT,
    }


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------


def startup(*, rounds: int) -> dict:
    """Whole processes, the cache of validated knowledge bases warm and the
    bytecode written (as pip writes it at install)."""
    import cofactor.cli  # noqa: PLC0415

    package = Path(cofactor.cli.__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], env=env, check=False, stdout=subprocess.DEVNULL
    )
    script = shutil.which("cofactor", path=str(Path(sys.executable).parent)) or "cofactor"
    with tempfile.TemporaryDirectory() as cache:
        env["COFACTOR_CACHE_DIR"] = cache
        figures = processes(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "import floor": [sys.executable, "-c", FLOOR],
                "consult": [script, *CONSULT],
            },
            rounds=rounds,
            env=env,
            warmup=2,
        )
    return {
        "figures": figures,
        "command": f"cofactor {' '.join(CONSULT)}",
        "consult/floor": ratio(figures["consult"], figures["import floor"]),
        "consult/pass": ratio(figures["consult"], figures["python -c pass"]),
        "floor/pass": ratio(figures["import floor"], figures["python -c pass"]),
    }


# ---------------------------------------------------------------------------
# The built-in knowledge base
# ---------------------------------------------------------------------------


def builtin(available, *, rounds: int) -> dict:
    kb = load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent)
    build = {e.name: (lambda e=e, kb=kb: e.build(kb)) for e in available}  # a local: see interleaved
    builds = interleaved(build, rounds=rounds, calls=3)
    built = {e.name: e.build(kb) for e in available}
    out: dict = {"rules": len(kb.rules), "build": builds}
    for label, pairs in (("one answer", ONE_ANSWER), ("six answers", SIX_ANSWERS)):
        answers = answer_io.build(kb, pairs)
        agree([answers], available, built)
        consult = {e.name: (lambda e=e, answers=answers: built[e.name].run(answers)) for e in available}
        figures = interleaved(
            consult,  # a local: see interleaved
            rounds=rounds,
            calls=200,
            setup=fresh(available, built, kb),
        )
        out[label] = {
            "answers": pairs,
            "figures": figures,
            "firings": built["cofactor"].firings(answers),
            "cofactor/clips": ratio(figures["cofactor"], figures["clips"]) if "clips" in figures else None,
            "cofactor/experta": ratio(figures["cofactor"], figures["experta"]),
        }
    out["build cofactor/experta"] = ratio(builds["cofactor"], builds["experta"])
    return out


def fresh(available, built: dict, kb) -> dict:
    """Before each round, a fresh CLIPS environment (see ClipsEngine)."""
    if engines.ClipsEngine not in available:
        return {}
    return {"clips": lambda: built.__setitem__("clips", engines.ClipsEngine.build(kb))}


def agree(cases, available, built) -> int:
    """Every engine derives the same facts on every case."""
    for index, answers in enumerate(cases):
        found = {e.name: built[e.name].run(answers) for e in available}
        if len(set(found.values())) != 1:
            first = found["cofactor"]
            raise Disagreement(
                f"case {index} ({dict(answers.given)}): "
                + "; ".join(
                    f"{name} has {sorted(facts ^ first)[:5]} otherwise"
                    for name, facts in found.items()
                    if facts != first
                )
            )
    return len(cases)


# ---------------------------------------------------------------------------
# Synthetic knowledge bases
# ---------------------------------------------------------------------------


def synthetic_sizes(available, *, rounds: int, quick: bool) -> dict:
    """Per case, cofactor and CLIPS run every case in every round; stock
    experta, which takes seconds a case at 5,000 rules, runs beside cofactor
    on the first few cases only, and its ratio comes from that measurement."""
    out = {}
    for size in SIZES:
        kb = synthetic.knowledge_base(size)
        cases = synthetic.cases(kb, 40 if size <= 200 else 24)[: (12 if quick else None)]
        few = cases[: {50: 40, 200: 40, 1000: 8, 5000: 3}[size]]
        slow = size >= 1000
        build = {e.name: (lambda e=e, kb=kb: e.build(kb)) for e in available}  # a local: see interleaved
        builds = interleaved(build, rounds=3 if slow else rounds)
        built = {e.name: e.build(kb) for e in available}
        checked = agree(few, available, built) + agree(
            cases[len(few) :], [e for e in available if e.name != "experta"], built
        )
        fast = [e for e in available if e.name != "experta"]
        per_case = _per_case(fast, built, kb, cases, rounds)
        beside = _per_case([engines.CofactorEngine, engines.StockExpertaEngine], built, kb, few, 3 if slow else rounds)
        per_case["experta"] = beside["experta"]
        firings = sum(built["cofactor"].firings(c) for c in cases) / len(cases)
        row = {
            "rules": size,
            "cases": len(cases),
            "experta cases": len(few),
            "agreed cases": checked,
            "build": builds,
            "per case": per_case,
            "firings per case": firings,
            "cost per firing": {name: f["median"] / firings for name, f in per_case.items()},
        }
        if "clips" in per_case:
            row["clips firings per case"] = sum(built["clips"].firings(c) for c in cases) / len(cases)
            row["per case cofactor/clips"] = ratio(per_case["cofactor"], per_case["clips"])
        row["per case cofactor/experta"] = ratio(beside["cofactor"], beside["experta"])
        row["build cofactor/experta"] = ratio(builds["cofactor"], builds["experta"])
        out[str(size)] = row
        print(f"  synthetic {size} rules: done", file=sys.stderr)
    small, large = out["200"]["cost per firing"]["cofactor"], out["5000"]["cost per firing"]["cofactor"]
    out["cost per firing 5000/200"] = large / small
    return out


def _per_case(chosen, built: dict, kb, cases, rounds: int) -> dict:
    """Seconds per case of each engine, running all ``cases`` each round."""
    run_all = {e.name: (lambda e=e: [built[e.name].run(c) for c in cases]) for e in chosen}
    figures = interleaved(
        run_all,  # a local: see interleaved
        rounds=rounds,
        setup=fresh(chosen, built, kb),
    )
    for figure in figures.values():
        for key in ("median", "min", "max"):
            figure[key] /= len(cases)
        figure["samples"] = [s / len(cases) for s in figure["samples"]]
    return figures


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------


def batch(available, *, rounds: int, quick: bool) -> dict:
    kb = load([BUILTIN_RULES], display_root=BUILTIN_RULES.parent)
    rows = 5000
    rng = random.Random(11)
    table = [[rng.choice([*kb.concepts[q].states, "", "unknown"]) for q in SIX_QUESTIONS] for _ in range(rows)]
    script = shutil.which("cofactor", path=str(Path(sys.executable).parent)) or "cofactor"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "class.csv", Path(folder) / "results.jsonl"
        with source.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(SIX_QUESTIONS)
            writer.writerows(table)
        env["COFACTOR_CACHE_DIR"] = folder
        figures = processes(
            {"cofactor batch": [script, "batch", str(source), "-o", str(out)]}, rounds=rounds, env=env, warmup=1
        )
        lines = out.read_text(encoding="utf-8").splitlines()
        if len(lines) != rows or [json.loads(line)["row"] for line in lines] != list(range(2, rows + 2)):
            raise Disagreement(f"cofactor batch wrote {len(lines)} lines for {rows} rows, or not in order")
    # the same cases, one engine at a time in this process, 500 a round (stock experta 200: it takes
    # milliseconds each; CLIPS on a fresh environment each round, see ClipsEngine)
    cases = [
        answer_io.build(kb, [f"{q}={cell}" for q, cell in zip(SIX_QUESTIONS, row, strict=True) if cell])
        for row in table
    ]
    built = {e.name: e.build(kb) for e in available}
    sample = {e.name: cases[: (200 if e.name == "experta" else 500) // (4 if quick else 1)] for e in available}
    agree(sample["experta"], available, built)
    run_sample = {e.name: (lambda e=e: [built[e.name].run(c) for c in sample[e.name]]) for e in available}
    throughput = interleaved(
        run_sample,  # a local: see interleaved
        rounds=rounds,
        setup=fresh(available, built, kb),
    )
    per_second = {name: len(sample[name]) / f["median"] for name, f in throughput.items()}
    return {
        "rows": rows,
        "command": figures["cofactor batch"],
        "cases per second": rows / figures["cofactor batch"]["median"],
        "one process, cases per second": per_second,
    }


# ---------------------------------------------------------------------------
# The test suite
# ---------------------------------------------------------------------------


def test_suite() -> dict:
    try:
        import pytest  # noqa: F401, PLC0415
    except ImportError:
        return {"skipped": "pytest is not installed (pip install '.[test]')"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    seconds = time.perf_counter() - start
    summary = done.stdout.decode(errors="replace").strip().splitlines()[-1:]
    return {"seconds": seconds, "passed": done.returncode == 0, "summary": summary[0] if summary else ""}


# ---------------------------------------------------------------------------
# Goals and the table
# ---------------------------------------------------------------------------


def goals(sections: dict) -> list[dict]:
    found = []

    def goal(text, value, limit, at_most=True):
        if value is not None:
            found.append(
                {"goal": text, "value": value, "limit": limit, "met": value <= limit if at_most else value >= limit}
            )

    builtin_ = sections["builtin"]
    for label in ("one answer", "six answers"):
        goal(f"consultation ({label}) / clips", builtin_[label]["cofactor/clips"], 2.0)
    synth = sections["synthetic"]
    goal("cost per firing, 5,000 rules / 200 rules", synth["cost per firing 5000/200"], 1.5)
    goal("per case at 5,000 rules / clips", synth["5000"].get("per case cofactor/clips"), 20.0)
    goal("build (built-in) / stock experta", builtin_["build cofactor/experta"], 1.0)
    for size in SIZES:
        goal(f"build ({size} rules) / stock experta", synth[str(size)]["build cofactor/experta"], 1.0)
    goal("start-up / import floor", sections["startup"]["consult/floor"], 1.3)
    goal("batch, cases per second", sections["batch"]["cases per second"], 2000, at_most=False)
    tests = sections.get("tests", {})
    if "seconds" in tests:
        goal("full test suite, seconds", tests["seconds"], 90)
    return found


def _t(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def report(results: dict) -> None:
    m = results["machine"]
    print(
        f"cofactor benchmark, {results['date']}: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
        f"{m['platform']}; experta {m['versions']['experta']}, clipspy {m['versions']['clipspy']}"
        f"{' (editable install)' if m['editable_install'] else ''}{' [quick]' if results['quick'] else ''}"
    )
    print("every figure a median of interleaved rounds; ratios within this run\n")
    s = results["sections"]
    st = s["startup"]["figures"]
    print("start-up (whole processes)")
    for name in ("python -c pass", "import floor", "consult"):
        print(f"  {name:<16} {_t(st[name]['median']):>10}")
    print(
        f"  consult / floor {s['startup']['consult/floor']:.2f}x   consult / pass "
        f"{s['startup']['consult/pass']:.2f}x   floor / pass {s['startup']['floor/pass']:.2f}x\n"
    )
    b = s["builtin"]
    names = list(b["build"])
    print(f"{'built-in knowledge base (' + str(b['rules']) + ' rules)':<42}" + "".join(f"{n:>12}" for n in names))
    print(f"  {'build':<40}" + "".join(f"{_t(b['build'][n]['median']):>12}" for n in names))
    for label in ("one answer", "six answers"):
        print(
            f"  {'consultation, ' + label + ' (' + str(b[label]['firings']) + ' firings)':<40}"
            + "".join(f"{_t(b[label]['figures'][n]['median']):>12}" for n in names)
        )
    print(
        f"  cofactor/clips: one answer {b['one answer']['cofactor/clips'] or 0:.2f}x, six answers "
        f"{b['six answers']['cofactor/clips'] or 0:.2f}x; build cofactor/experta {b['build cofactor/experta']:.2f}x\n"
    )
    print("synthetic knowledge bases")
    print(
        f"  {'rules':>6} {'firings':>8} "
        + "".join(f"{'build ' + n:>15}" for n in names)
        + "".join(f"{'case ' + n:>15}" for n in names)
        + "".join(f"{'firing ' + n:>16}" for n in names)
    )
    for size in SIZES:
        r = s["synthetic"][str(size)]
        print(
            f"  {size:>6} {r['firings per case']:>8.0f} "
            + "".join(f"{_t(r['build'][n]['median']):>15}" for n in names)
            + "".join(f"{_t(r['per case'][n]['median']):>15}" for n in names)
            + "".join(f"{_t(r['cost per firing'][n]):>16}" for n in names)
        )
    print(f"  cofactor cost per firing, 5,000 / 200 rules: {s['synthetic']['cost per firing 5000/200']:.2f}x\n")
    bt = s["batch"]
    print(
        f"batch: cofactor batch of {bt['rows']} cases {_t(bt['command']['median'])}, "
        f"{bt['cases per second']:.0f} cases/s; one process: "
        + ", ".join(f"{n} {v:.0f}/s" for n, v in bt["one process, cases per second"].items())
    )
    tests = s.get("tests")
    if tests:
        print(f"test suite: {tests.get('skipped') or _t(tests['seconds']) + ', ' + tests['summary']}")
    print("\ngoals")
    for g in results["goals"]:
        mark = "met" if g["met"] else "NOT MET"
        bound = "at most" if g["limit"] != 2000 else "at least"
        print(f"  {g['goal']:<44} {g['value']:>9.2f}  ({bound} {g['limit']:g})  {mark}")


if __name__ == "__main__":
    sys.exit(main())
