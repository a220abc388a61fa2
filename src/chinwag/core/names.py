"""How names are compared: one key for usernames and room names (no I/O).

Two names that a person could not tell apart must not both be in use.
:func:`name_key` maps a name to the key that uniqueness is decided on; the
name itself is kept and shown as its owner typed it.
"""

from __future__ import annotations

import unicodedata

__all__ = ["FORBIDDEN_NAME_CHARS", "name_key", "unsafe_characters"]

#: Characters no username or room name may have (markup), besides control characters.
FORBIDDEN_NAME_CHARS = frozenset("<>&\"'")


def name_key(name: str) -> str:
    """The comparison key of a (valid) username or room name: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def unsafe_characters(name: str) -> str | None:
    """The forbidden characters in ``name``, shown readably (``U+0009`` for a tab); None if none."""
    bad = sorted({c for c in name if c in FORBIDDEN_NAME_CHARS or not c.isprintable()})
    return " ".join(c if c.isprintable() else f"U+{ord(c):04X}" for c in bad) or None
