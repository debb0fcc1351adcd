"""The limits on input, in one place: each is checked before the work it
bounds starts, and each refusal names the limit and how to stay within it.

Generous for any real knowledge base (the built-in one is far inside every
limit); they exist so that no file, however large or strange, can make
cofactor crash, hang or exhaust memory."""

from __future__ import annotations

# bytes in one rule file or answers file, checked with stat() before reading
# and enforced again by reading at most this many plus one
MAX_FILE_BYTES = 8 * 1024 * 1024
# arrays and tables inside one another in a TOML or JSON file
MAX_NESTING = 32
# digits in an integer in a rule file or answers file
MAX_INT_DIGITS = 18
# values in one rule file or answers file, counted before parsing as the
# arrays and tables opened and the commas between items (outside strings and
# comments): a knowledge base of 8 MiB holds about 300,000; more, packed into
# the size limit, would only make the parser slow
MAX_VALUES = 500_000
# states of one concept
MAX_STATES = 1_000
# conditions in one rule's `when`
MAX_CONDITIONS = 64
# rules in one knowledge base, the built-in rules and every --rules file together
MAX_RULES = 50_000
# facts held by the extra routes that rules matching several combinations of
# facts make in one run (a rule of n conditions, each answered with two states
# of a multi-valued concept, has 2**n routes of n facts each, and every route
# is kept and explained): beyond it a run is stopped before they are built
MAX_ROUTE_FACTS = 250_000
# characters in one line of batch input (a CSV row, a JSON Lines case): CSV
# and JSON Lines are read a case at a time, so only a line is bounded
MAX_LINE = 1024 * 1024
# examples ([[rule.example]]) of one rule
MAX_EXAMPLES = 100
