"""Claim codes as people type them: Crockford base32 with a mod-37 check symbol. Pure, no Django.

A code is 13 random symbols (65 bits from `secrets`) and one check symbol, shown in groups of four:
``7K3M-Q9TX-2HJD-5W*`` style (the last symbol may be one of Crockford's ``*~$=U`` check symbols).
Reading is forgiving the way Crockford intends: case, hyphens and spaces are ignored, and O→0,
I/L→1 are read as the digits they look like. The check symbol (value mod 37) catches any single
mistyped symbol and most adjacent transpositions, so a typo is told apart from an unknown code
without a database look-up.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CHECK_ALPHABET = ALPHABET + "*~$=U"  # 37 check symbols
DATA_SYMBOLS = 13  # 13 × 5 = 65 bits of randomness
RANDOM_BITS = DATA_SYMBOLS * 5
_ALIASES = {"O": "0", "I": "1", "L": "1"}
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


class Malformed(ValueError):
    """Not a code: wrong length, a symbol outside the alphabet, or a check symbol that does not match."""


def check_symbol(data: str) -> str:
    value = 0
    for ch in data:
        value = value * 32 + _VALUE[ch]
    return CHECK_ALPHABET[value % 37]


def generate() -> str:
    """A new code in canonical form (no separators): 13 random symbols + the check symbol."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
    return data + check_symbol(data)


def normalise(text: str) -> str:
    """The canonical form of what someone typed, or Malformed (a typo, not a guess)."""
    if not isinstance(text, str):
        raise Malformed("a claim code is text")
    cleaned = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(cleaned) != DATA_SYMBOLS + 1:
        raise Malformed(f"a claim code has {DATA_SYMBOLS + 1} symbols (hyphens and spaces aside)")
    data = "".join(_ALIASES.get(ch, ch) for ch in cleaned[:-1])
    check = _ALIASES.get(cleaned[-1], cleaned[-1])
    bad = [ch for ch in data if ch not in _VALUE]
    if bad:
        raise Malformed(f"{bad[0]!r} is not a claim-code symbol")
    if check not in CHECK_ALPHABET:
        raise Malformed(f"{check!r} is not a claim-code check symbol")
    if check_symbol(data) != check:
        raise Malformed("the check symbol does not match: the code was mistyped")
    return data + check


def display(code: str) -> str:
    """Groups of four for printing: XXXX-XXXX-XXXX-XX."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def digest(code: str) -> str:
    """What is stored: the SHA-256 of the canonical code (the code itself is shown once, never stored)."""
    return hashlib.sha256(code.encode()).hexdigest()


def hint(code: str) -> str:
    """The last four symbols, for lists and receipts ("…5W7*")."""
    return code[-4:]
