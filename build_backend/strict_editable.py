"""setuptools' build backend, with editable installs in its strict mode.

The repository's root is the package ``cofactor`` (``package-dir`` in
pyproject.toml). setuptools' default, lenient, editable install maps the
package to that folder, so everything in the checkout would import as part of
it (``cofactor.tests``, ``cofactor.bench``, ``cofactor.build``...). Its strict
mode links exactly the files a regular install ships into
``build/__editable__.*`` and puts that on the path instead: the editable
install then holds what the wheel holds, nothing more. Edits to those files
show at once; a new module needs ``pip install -e .`` again.

setuptools takes the mode only as a config setting
(``pip install -e . --config-settings editable_mode=strict``); this in-tree
backend makes it the default, so the plain ``pip install -e .`` gets it. An
explicit ``--config-settings editable_mode=...`` still wins. Everything else
is setuptools' own backend, unchanged.
"""

from __future__ import annotations

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - the rest of the PEP 517/660 hooks, as setuptools has them


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, str | list[str]] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' hook, with ``editable_mode=strict`` unless the caller chose a mode."""
    settings = dict(config_settings or {})
    settings.setdefault("editable_mode", "strict")
    return _setuptools.build_editable(wheel_directory, settings, metadata_directory)
