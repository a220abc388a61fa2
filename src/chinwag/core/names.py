"""How names are compared: one key for usernames and room names (no I/O).

Two names that a person could not tell apart must not both be in use.
:func:`name_key` maps a name to the key that uniqueness is decided on; the
name itself is kept and shown as its owner typed it.
"""

from __future__ import annotations

import unicodedata

__all__ = ["name_key"]


def name_key(name: str) -> str:
    """The comparison key of a (valid) username or room name: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()
