"""JSON text safe to print: every character that is not printable (a
terminal control sequence from a rule file or an input file, say) is
written as a ``\\u`` escape, so the text can neither move the cursor nor
change the terminal, and still parses to the same data."""

from __future__ import annotations

import json


def dumps(data, *, indent: int | None = None) -> str:
    """``data`` as JSON; with ``indent``, laid out on several lines, else on one."""
    if indent is None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, ensure_ascii=False, indent=indent)
    if not text.replace("\n", "").isprintable():  # the layout's own newlines stay
        text = "".join(ch if ch.isprintable() or ch == "\n" else json.dumps(ch)[1:-1] for ch in text)
    return text
