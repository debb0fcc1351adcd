"""The engines the benchmark compares, each behind the same three calls.

* ``cofactor``: cofactor's reasoner (experta with cofactor's matcher and
  strategy), the whole ``Reasoner.reason``: derivations, strengths and
  conflicts included.
* ``experta``: stock experta 1.9.4 (its ``ReteMatcher`` and
  ``DepthStrategy``) running the very same experta rules.
* ``clips``: CLIPS through clipspy, on a translation of the knowledge base
  into CLIPS constructs (this file; it is bench-only, and clipspy is never a
  dependency of cofactor itself).

Each engine: ``Engine.build(kb)`` is ready to ``run(answers)``, which
returns the set of derived facts as ``(concept, state)`` pairs, so that
every engine can be checked against the others on every case.
"""

from __future__ import annotations

from cofactor.engine import Reasoner, _experta
from cofactor.engine.answers import Answers
from cofactor.engine.model import Fact, KnowledgeBase
from cofactor.engine.reasoning import contradicts


class Engine:
    """``Engine.build(kb)`` is ready to ``run(answers)``, which returns the
    derived facts as ``(concept, state)`` pairs."""

    name = ""

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Engine:
        return cls(kb)

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def run(self, answers: Answers) -> frozenset[tuple[str, str]]:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# cofactor
# ---------------------------------------------------------------------------


class CofactorEngine(Engine):
    name = "cofactor"

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
        self.reasoner = Reasoner(kb)

    def run(self, answers: Answers) -> frozenset[tuple[str, str]]:
        # the derived facts, as the other engines give them back (case.conclusions
        # would also sort them for display)
        case = self.reasoner.reason(answers)
        return frozenset(fact for fact, support in case.support.items() if not support.given)

    def firings(self, answers: Answers) -> int:
        return len(self.reasoner.reason(answers).firings)


# ---------------------------------------------------------------------------
# stock experta
# ---------------------------------------------------------------------------


class StockExpertaEngine(Engine):
    """Stock experta (its ReteMatcher and DepthStrategy) on the same experta
    rules, with the same policy as cofactor's reasoner: a conclusion that
    contradicts an answer is not declared."""

    name = "experta"

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
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
    blocked = (
        f"(and (not (any-factp ((?a answer)) (and (eq ?a:concept {c}) (eq ?a:state {s})))) "
        f"(any-factp ((?a answer)) (and (eq ?a:concept {c}) (or {test}))))"
    )
    return f"(if (not {blocked}) then {assert_it})"


class ClipsEngine(Engine):
    """CLIPS through clipspy. A clipspy environment gets slower with every
    case it runs (garbage that CLIPS collects at its own prompt, and that
    clipspy's calls never let it collect: seen here, a case's time doubles
    within a thousand cases), so the suite times CLIPS on a fresh
    environment in every round, built outside the timing: CLIPS at its best.
    """

    name = "clips"

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
        import clips  # noqa: PLC0415 - only the bench needs clipspy

        self.env = clips.Environment()
        for construct in clips_constructs(kb):
            self.env.build(construct)
        self.datum = self.env.find_template("datum")
        self.answer = self.env.find_template("answer")
        self.derived = self.env.find_function("derived")
        self.symbol = clips.Symbol

    def _start(self, answers: Answers) -> None:
        """Reset, and assert the answers."""
        self.env.reset()
        for fact in sorted(answers.facts()):
            c, s = self.symbol(_sym("c_", fact.concept)), self.symbol(_sym("s_", fact.state))
            self.answer.assert_fact(concept=c, state=s)
            self.datum.assert_fact(concept=c, state=s)

    def run(self, answers: Answers) -> frozenset[tuple[str, str]]:
        self._start(answers)
        self.env.run()
        flat = self.derived()
        return frozenset((str(flat[i])[2:], str(flat[i + 1])[2:]) for i in range(0, len(flat), 2))

    def firings(self, answers: Answers) -> int:
        self._start(answers)
        return self.env.run()


def available() -> list[type[Engine]]:
    """The engines this machine can run (clipspy is an optional extra)."""
    engines: list[type[Engine]] = [CofactorEngine, StockExpertaEngine]
    try:
        import clips  # noqa: F401, PLC0415
    except ImportError:
        return engines
    return engines + [ClipsEngine]
