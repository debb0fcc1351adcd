"""cofactor's engine: a domain-blind forward-chaining expert system shell.

Rule files are loaded and validated (:mod:`.loader`), compiled once into an
experta engine (:mod:`._experta`, the only module that imports experta), and
run over a case's answers (:mod:`.reasoning`); explanations are built from the
recorded firings (:mod:`.explain`).
"""

from .answers import Answers
from .errors import AnswerError, CofactorError, FiringLimitExceeded, KnowledgeBaseError, Problem, ReasoningError
from .loader import load
from .model import Concept, Condition, Document, Fact, KnowledgeBase, Rule, SourceRef, Strength
from .reasoning import Case, Conflict, Justification, Reasoner, Step, Support

__all__ = [
    "AnswerError", "Answers", "Case", "CofactorError", "Concept", "Condition", "Conflict",
    "Document", "Fact", "FiringLimitExceeded", "Justification", "KnowledgeBase",
    "KnowledgeBaseError", "Problem", "Reasoner", "ReasoningError", "Rule", "SourceRef",
    "Step", "Strength", "Support", "load",
]
