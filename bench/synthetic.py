"""Seeded synthetic knowledge bases, the same on every run.

Ten questions of three states each; derived concepts of three states,
about one for every four rules; each rule has one to three conditions on
the questions and on derived concepts earlier in the chain (so knowledge
bases are deep as well as wide), some of them alternatives (``x in [a, b]``)
or ``not`` on a question, and concludes one state of a later derived
concept. Cases answer each question with a random state, or leave it
unknown.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from cofactor.engine import load
from cofactor.engine.answers import Answers
from cofactor.engine.model import KnowledgeBase

QUESTIONS = 10
STATES = ("s0", "s1", "s2")


def knowledge_base_text(rules: int, seed: int = 1) -> str:
    """A knowledge base of ``rules`` rules, as rule-file TOML."""
    rng = random.Random(seed * 100_003 + rules)
    derived = max(5, rules // 4)
    questions = [f"q{i}" for i in range(QUESTIONS)]
    lines = ['[[document]]\nid = "synthetic"\ntitle = "Synthetic"\n']
    for q in questions:
        lines.append(f'[[concept]]\nid = "{q}"\nstates = {json.dumps(STATES)}\nquestion = "{q}?"\n')
    for d in range(derived):
        lines.append(f'[[concept]]\nid = "d{d}"\nstates = {json.dumps(STATES)}\n')
    for r in range(rules):
        target = rng.randrange(derived)
        when = []
        used = set()
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            if target == 0 or rng.random() < 0.45:
                concept = rng.choice(questions)
            else:
                concept = f"d{rng.randrange(max(0, target - 40), target)}"
            if concept in used:
                continue
            used.add(concept)
            form = rng.random()
            if form < 0.2:
                a, b = rng.sample(STATES, 2)
                when.append(f"{concept} in [{a}, {b}]")
            elif form < 0.28 and concept.startswith("q"):
                when.append(f"not {concept} = {rng.choice(STATES)}")
            else:
                when.append(f"{concept} = {rng.choice(STATES)}")
        if all(w.startswith("not ") for w in when):
            when.append(f"{rng.choice(questions)} = {rng.choice(STATES)}")
        then = f"d{target} = {rng.choice(STATES)}"
        lines.append(
            f'[[rule]]\nid = "r{r:05d}"\ntitle = "r{r}"\nwhen = {json.dumps(when)}\n'
            f'then = ["{then}"]\nstrength = "{rng.choice(("established", "likely", "possible"))}"\n'
            'sources = [{ document = "synthetic", quote = "q" }]\n'
        )
    return "\n".join(lines)


def knowledge_base(rules: int, seed: int = 1) -> KnowledgeBase:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"synthetic-{rules}.toml"
        path.write_text(knowledge_base_text(rules, seed), encoding="utf-8")
        return load([path])


def cases(kb: KnowledgeBase, count: int, seed: int = 2) -> list[Answers]:
    """``count`` cases: each question answered (at random) or unknown."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        answers = Answers()
        for q in kb.questions:
            if rng.random() < 0.85:
                answers = answers.with_answer(kb, q.id, [rng.choice(q.states)])
        out.append(answers)
    return out
