"""cofactor: a teaching expert system about how magnesium governs calcium
metabolism and vitamin D activation.

The package is the command line, :mod:`cofactor.cli` (the ``cofactor``
command), over a domain-blind engine, :mod:`cofactor.engine`, that reads the
knowledge in :mod:`cofactor.rules` (TOML rule files, data only).

Importing ``cofactor`` imports nothing else: ``cofactor.__version__`` is read
from :mod:`cofactor.engine`, the one place it is written, on first use.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from .engine import __version__  # noqa: PLC0415 - on first use: importing cofactor stays free

        globals()["__version__"] = __version__
        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
