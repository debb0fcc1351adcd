"""cofactor's engine: a domain-blind forward-chaining expert system shell.

Rule files are loaded and validated (:mod:`.loader`), compiled once into an
experta engine (:mod:`._experta`, the only module that imports experta), and
run over a case's answers (:mod:`.reasoning`); explanations are built from the
recorded firings (:mod:`.explain`).

The names below are imported from their modules on first use, so that
importing one module of the engine does not import all of them.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

# The project's version: the one place it is written (pyproject.toml reads it).
__version__ = "0.1.0"

_EXPORTS = {
    "Answers": "answers",
    "AnswerError": "errors",
    "CofactorError": "errors",
    "FiringLimitExceeded": "errors",
    "KnowledgeBaseError": "errors",
    "Problem": "errors",
    "ReasoningError": "errors",
    "TooManyCombinations": "errors",
    "load": "loader",
    "Concept": "model",
    "Condition": "model",
    "Document": "model",
    "Fact": "model",
    "KnowledgeBase": "model",
    "Rule": "model",
    "SourceRef": "model",
    "Strength": "model",
    "Case": "reasoning",
    "Conflict": "reasoning",
    "Justification": "reasoning",
    "Reasoner": "reasoning",
    "Step": "reasoning",
    "Support": "reasoning",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    """``from cofactor.engine import Reasoner`` imports the module that
    defines it, and only that one (and what it needs)."""
    where = _EXPORTS.get(name)
    module: ModuleType
    if where == "answers":
        from . import answers

        module = answers
    elif where == "errors":
        from . import errors

        module = errors
    elif where == "loader":
        from . import loader

        module = loader
    elif where == "model":
        from . import model

        module = model
    elif where == "reasoning":
        from . import reasoning

        module = reasoning
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover - for type checkers and readers
    from .answers import Answers
    from .errors import (
        AnswerError,
        CofactorError,
        FiringLimitExceeded,
        KnowledgeBaseError,
        Problem,
        ReasoningError,
        TooManyCombinations,
    )
    from .loader import load
    from .model import Concept, Condition, Document, Fact, KnowledgeBase, Rule, SourceRef, Strength
    from .reasoning import Case, Conflict, Justification, Reasoner, Step, Support
