"""The engines the benchmark compares, each behind the same three calls.

* ``cofactor``: cofactor's reasoner (experta with cofactor's matcher and
  strategy), the whole ``Reasoner.reason``: derivations, strengths and
  conflicts included.
* ``experta``: stock experta 1.9.4 (its ``ReteMatcher`` and
  ``DepthStrategy``) running the very same experta rules.
* ``clips``: CLIPS through clipspy, on a translation of the knowledge base
  into CLIPS constructs (this file; it is bench-only, and clipspy is never a
  dependency of cofactor itself).

Each engine: ``build(kb)`` returns something that ``run(built, answers)``
reasons with, and ``run`` returns the set of derived facts as
``(concept, state)`` pairs, so that every engine can be checked against the
others on every case.
"""

from __future__ import annotations

from cofactor.engine import Reasoner
from cofactor.engine import _experta
from cofactor.engine.answers import Answers
from cofactor.engine.model import Fact, KnowledgeBase
from cofactor.engine.reasoning import contradicts


# ---------------------------------------------------------------------------
# cofactor
# ---------------------------------------------------------------------------

class CofactorEngine:
    name = "cofactor"

    @staticmethod
    def build(kb: KnowledgeBase) -> Reasoner:
        return Reasoner(kb)

    @staticmethod
    def run(reasoner: Reasoner, answers: Answers) -> frozenset[tuple[str, str]]:
        # the derived facts, as the other engines give them back (case.conclusions
        # would also sort them for display)
        case = reasoner.reason(answers)
        return frozenset(fact for fact, support in case.support.items() if not support.given)

    @staticmethod
    def firings(reasoner: Reasoner, answers: Answers) -> int:
        return len(reasoner.reason(answers).steps)


# ---------------------------------------------------------------------------
# stock experta
# ---------------------------------------------------------------------------

class _StockRun:
    """Stock experta, with the same policy as cofactor's reasoner: a
    conclusion that contradicts an answer is not declared."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        rules = _experta.compile_rules(kb)
        self.engine = type("StockRules", (_experta.experta.KnowledgeEngine,), rules)()
        self.engine._cofactor_on_fire = self._fire
        self.engine.datum = _experta._Datum.of  # a new fact each time: stock experta hashes its facts
        self.given: dict[str, tuple[str, ...]] = {}
        self.known: set[Fact] = set()

    def _fire(self, rule, matched):
        new = []
        for fact in rule.then:
            if fact in self.known or contradicts(self.kb, fact, self.given.get(fact.concept, ())):
                continue
            self.known.add(fact)
            new.append(_experta._Datum.of(fact))
        if new:
            self.engine.declare(*new)

    def run(self, answers: Answers) -> frozenset[tuple[str, str]]:
        self.given = dict(answers.given)
        facts = sorted(answers.facts())
        self.known = set(facts)
        self.engine.reset()
        if facts:
            self.engine.declare(*[_experta._Datum.of(f) for f in facts])
        self.engine.run()
        return frozenset((f.concept, f.state) for f in self.known - set(facts))


class StockExpertaEngine:
    name = "experta"

    @staticmethod
    def build(kb: KnowledgeBase) -> _StockRun:
        return _StockRun(kb)

    @staticmethod
    def run(built: _StockRun, answers: Answers) -> frozenset[tuple[str, str]]:
        return built.run(answers)


# ---------------------------------------------------------------------------
# CLIPS, through clipspy
# ---------------------------------------------------------------------------

def _sym(prefix: str, text: str) -> str:
    # a prefix keeps every id a CLIPS symbol (a state such as "25" would
    # otherwise be read as a number)
    return f"{prefix}{text}"


def clips_constructs(kb: KnowledgeBase) -> list[str]:
    """The knowledge base as CLIPS constructs.

    Facts are ``(datum (concept c_X) (state s_Y))``; answers are also
    asserted as ``(answer ...)`` facts, which a rule's right-hand side reads
    to leave out a conclusion that contradicts an answer (cofactor's
    policy). Salience is minus the rule's stratum, as in cofactor.
    """
    out = [
        "(deftemplate datum (slot concept) (slot state))",
        "(deftemplate answer (slot concept) (slot state))",
        "(deffunction derived () (bind ?out (create$)) "
        "(do-for-all-facts ((?f datum)) (not (any-factp ((?a answer)) "
        "(and (eq ?a:concept ?f:concept) (eq ?a:state ?f:state)))) "
        "(bind ?out (create$ ?out ?f:concept ?f:state))) ?out)",
    ]
    for index, rule in enumerate(kb.rules):
        lhs = []
        for cond in rule.when:
            states = "|".join(_sym("s_", s) for s in cond.states)
            pattern = f"(datum (concept {_sym('c_', cond.concept)}) (state {states}))"
            lhs.append(f"(not {pattern})" if cond.negated else pattern)
        rhs = [_clips_conclusion(kb, fact) for fact in rule.then]
        salience = -kb.strata.get(rule.id, 0)
        out.append(f"(defrule r{index} (declare (salience {salience})) {' '.join(lhs)} => {' '.join(rhs)})")
    return out


def _clips_conclusion(kb: KnowledgeBase, fact: Fact) -> str:
    concept = kb.concepts[fact.concept]
    c, s = _sym("c_", fact.concept), _sym("s_", fact.state)
    # blocked when the concept is answered, not in this state, and in a state
    # this one contradicts (see cofactor.engine.reasoning.contradicts)
    if concept.multi and fact.state not in concept.exclusive:
        against = [x for x in concept.states if x in concept.exclusive]
    else:
        against = [x for x in concept.states if x != fact.state]
    assert_it = f"(assert (datum (concept {c}) (state {s})))"
    if not against:
        return assert_it
    test = " ".join(f"(eq ?a:state {_sym('s_', x)})" for x in against)
    blocked = (f"(and (not (any-factp ((?a answer)) (and (eq ?a:concept {c}) (eq ?a:state {s})))) "
               f"(any-factp ((?a answer)) (and (eq ?a:concept {c}) (or {test}))))")
    return f"(if (not {blocked}) then {assert_it})"


class _ClipsRun:
    def __init__(self, kb: KnowledgeBase):
        import clips  # noqa: PLC0415 - only the bench needs clipspy

        self.env = clips.Environment()
        for construct in clips_constructs(kb):
            self.env.build(construct)
        self.datum = self.env.find_template("datum")
        self.answer = self.env.find_template("answer")
        self.derived = self.env.find_function("derived")
        self.symbol = clips.Symbol

    def run(self, answers: Answers) -> frozenset[tuple[str, str]]:
        env, sym = self.env, self.symbol
        env.reset()
        for fact in sorted(answers.facts()):
            c, s = sym(_sym("c_", fact.concept)), sym(_sym("s_", fact.state))
            self.answer.assert_fact(concept=c, state=s)
            self.datum.assert_fact(concept=c, state=s)
        env.run()
        flat = self.derived()
        return frozenset((str(flat[i])[2:], str(flat[i + 1])[2:]) for i in range(0, len(flat), 2))

    def firings(self, answers: Answers) -> int:
        env, sym = self.env, self.symbol
        env.reset()
        for fact in sorted(answers.facts()):
            c, s = sym(_sym("c_", fact.concept)), sym(_sym("s_", fact.state))
            self.answer.assert_fact(concept=c, state=s)
            self.datum.assert_fact(concept=c, state=s)
        return env.run()


class ClipsEngine:
    """CLIPS through clipspy. A clipspy environment gets slower with every
    case it runs (garbage that CLIPS collects at its own prompt, and that
    clipspy's calls never let it collect: seen here, a case's time doubles
    within a thousand cases), so the suite times CLIPS on a fresh
    environment in every round, built outside the timing: CLIPS at its best.
    """

    name = "clips"

    @staticmethod
    def build(kb: KnowledgeBase) -> _ClipsRun:
        return _ClipsRun(kb)

    @staticmethod
    def run(built: _ClipsRun, answers: Answers) -> frozenset[tuple[str, str]]:
        return built.run(answers)


def available() -> list:
    """The engines this machine can run (clipspy is an optional extra)."""
    engines = [CofactorEngine, StockExpertaEngine]
    try:
        import clips  # noqa: F401, PLC0415
    except ImportError:
        return engines
    return engines + [ClipsEngine]
