"""Packaging: the declared lower bounds are the versions CI proves, and the
package ``cofactor`` is light to import.

CI installs the project into a second environment with every requirement
pinned to its lower bound (``.ci/minimums.txt``) and runs the suite there;
these tests keep that file and pyproject.toml from drifting apart. Which
files an install exposes is checked by installing, in test_install.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from conftest import PROJECT

PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
MINIMUMS = PROJECT / ".ci" / "minimums.txt"
# what the suite needs, so what the minimums environment proves: the
# dependencies and these extras (lint's tools are not imported by the suite;
# bench's clipspy is needed by the benchmark only)
PROVEN_EXTRAS = ("test",)

REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<specifiers>[<>=!~][^;]*)?")
SPECIFIER = re.compile(r"\s*(?P<op>==|>=|<=|!=|~=|<|>)\s*(?P<version>[0-9][0-9A-Za-z.]*)\s*")


def _name(name: str) -> str:
    """PEP 503's normal form: case and runs of - _ . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _specifiers(requirement: str) -> tuple[str, list[tuple[str, str]]]:
    match = REQUIREMENT.fullmatch(requirement.strip())
    assert match, f"not a plain 'name>=x' requirement: {requirement!r}"
    specifiers = []
    for part in (match["specifiers"] or "").split(","):
        spec = SPECIFIER.fullmatch(part)
        assert spec, f"{requirement!r}: cannot read {part!r}"
        specifiers.append((spec["op"], spec["version"]))
    return _name(match["name"]), specifiers


def _release(version: str) -> tuple[int, ...]:
    """A plain release number to compare: 8.4 and 8.4.0 are the same."""
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)*", version), f"a bound is a plain release (like 8.4.0), not {version!r}"
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _requirements(*extras: str) -> list[str]:
    project = PYPROJECT["project"]
    return list(project["dependencies"]) + [r for extra in extras for r in project["optional-dependencies"][extra]]


def _lower_bounds(requirements: list[str]) -> dict[str, tuple[int, ...]]:
    bounds = {}
    for requirement in requirements:
        name, specifiers = _specifiers(requirement)
        lower = [version for op, version in specifiers if op == ">="]
        assert len(lower) == 1, f"{requirement!r} needs exactly one '>=' lower bound"
        bounds[name] = _release(lower[0])
    return bounds


def _minimums() -> dict[str, tuple[int, ...]]:
    pins = {}
    for number, line in enumerate(MINIMUMS.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9.]*)", line)
        assert match, f"{MINIMUMS.name}:{number}: expected 'name==version', found {line!r}"
        name = _name(match["name"])
        assert name not in pins, f"{MINIMUMS.name}:{number}: {name} pinned twice"
        pins[name] = _release(match["version"])
    return pins


def test_the_minimums_file_pins_every_lower_bound_and_nothing_else():
    assert _minimums() == _lower_bounds(_requirements(*PROVEN_EXTRAS))


def test_every_requirement_has_a_lower_bound_and_none_is_pinned():
    extras = tuple(PYPROJECT["project"]["optional-dependencies"])
    for requirement in _requirements(*extras):
        _, specifiers = _specifiers(requirement)
        assert ">=" in {op for op, _ in specifiers}, f"{requirement!r} has no lower bound"
        assert "==" not in {op for op, _ in specifiers}, f"{requirement!r} is pinned: a bound belongs in pyproject"


def test_the_lower_bounds_parse_as_expected():
    """The readers above, on the shapes pyproject.toml uses."""
    assert _specifiers("experta>=1.9.4,<2") == ("experta", [(">=", "1.9.4"), ("<", "2")])
    assert _specifiers("Foo_Bar >= 1.0") == ("foo-bar", [(">=", "1.0")])
    assert _lower_bounds(["click>=8.4", "experta>=1.9.4,<2"]) == {"click": (8, 4), "experta": (1, 9, 4)}
    assert _release("8.4.0") == _release("8.4") != _release("8.4.1")


def test_importing_cofactor_imports_nothing_else():
    """``import cofactor`` (done by every ``cofactor.*`` import, so by the
    command's start-up) loads no dependency and no part of the engine; the
    version is read from the engine when asked for."""
    code = (
        "import sys\n"
        "import cofactor\n"
        "others = {'click', 'experta'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in others or m.startswith('cofactor.')))\n"
        "import cofactor.engine\n"
        "print(cofactor.__version__ == cofactor.engine.__version__, 'cofactor.engine' in sys.modules)\n"
    )
    # -I: nothing from the environment or the working folder on the path
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "True True"]
