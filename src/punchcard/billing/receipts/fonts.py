"""The receipt PDF's fonts: Unicode TrueType fonts embedded (subset) in the PDF, chosen per script.

DejaVu Sans (Debian's fonts-dejavu-core) covers Latin, "₹", Arabic, Cyrillic, Greek and most symbols;
it has no Devanagari, so Devanagari letters fall back to Noto Sans Devanagari (fonts-noto-core). Each
string is cut into runs of one font: a character goes to the first font that has it, and a space or
combining mark stays with the run it is in. `make run` and `make test` install both packages when a
file is missing (scripts/fonts.sh).

Right-to-left words (Arabic, Hebrew) are drawn in visual order, right to left, as PDF text is stored,
so they read correctly and extract back in their logical order. Glyphs are not shaped: every letter is
present and the text extracts back exactly, but Devanagari conjuncts and the pre-base vowel sign ि,
and Arabic's joined letter forms, show in their separate forms (reportlab shapes only through the
uharfbuzz package, which the project does not install).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
NOTO = Path("/usr/share/fonts/truetype/noto")


@dataclass(frozen=True)
class Face:
    name: str  # the name reportlab knows it by
    path: Path
    package: str  # the Debian package that ships it


# In order of preference, regular and bold.
FACES = {
    False: [
        Face("PunchcardSans", DEJAVU / "DejaVuSans.ttf", "fonts-dejavu-core"),
        Face("PunchcardDevanagari", NOTO / "NotoSansDevanagari-Regular.ttf", "fonts-noto-core"),
    ],
    True: [
        Face("PunchcardSans-Bold", DEJAVU / "DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
        Face("PunchcardDevanagari-Bold", NOTO / "NotoSansDevanagari-Bold.ttf", "fonts-noto-core"),
    ],
}
STAY_IN_RUN = {"Zs", "Mn", "Mc", "Me", "Cf"}  # spaces, combining marks, joiners
RTL = {"R", "AL"}  # bidirectional classes of right-to-left letters
INSIDE_RTL = RTL | {"NSM", "WS", "ON", "CS", "ES", "ET", "BN"}  # marks and neutrals between them


@cache
def _registered(bold: bool) -> tuple[tuple[str, frozenset[int]], ...]:
    """Register the faces with reportlab once; each face's name and the code points it has glyphs for."""
    faces = []
    for face in FACES[bold]:
        if not face.path.is_file():
            raise ImproperlyConfigured(f"{face.path} is missing: install {face.package} (make fonts)")
        font = TTFont(face.name, str(face.path))
        pdfmetrics.registerFont(font)
        faces.append((face.name, frozenset(font.face.charToGlyph)))
    return tuple(faces)


def primary(*, bold: bool = False) -> str:
    """The name of the first face (registered), for the canvas's initial font."""
    return _registered(bold)[0][0]


def visual(text: str) -> str:
    """Each right-to-left stretch (right-to-left letters and the marks and neutrals between them)
    reversed into the order it is drawn in; a left-to-right line otherwise (no full bidi algorithm)."""
    out, i = [], 0
    while i < len(text):
        if unicodedata.bidirectional(text[i]) not in RTL:
            out.append(text[i])
            i += 1
            continue
        end = last = i
        while end < len(text) and unicodedata.bidirectional(text[end]) in INSIDE_RTL:
            if unicodedata.bidirectional(text[end]) in RTL or unicodedata.category(text[end]).startswith("M"):
                last = end
            end += 1
        out.append(text[i : last + 1][::-1])
        i = last + 1
    return "".join(out)


def runs(text: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """`text` in drawing order (`visual`) cut into (font name, text) runs, each drawn in one font."""
    faces = _registered(bold)
    out: list[tuple[str, str]] = []
    for ch in visual(text):
        point = ord(ch)
        current = out[-1][0] if out else None
        chosen = None
        if current and unicodedata.category(ch) in STAY_IN_RUN:
            chosen = next((name for name, points in faces if name == current and point in points), None)
        if chosen is None:
            chosen = next((name for name, points in faces if point in points), None)
        if chosen is None:
            if unicodedata.category(ch) == "Cf":
                continue  # an invisible mark no font draws (e.g. a direction mark in formatted money)
            chosen = faces[0][0]  # drawn as the font's "missing glyph" box
        if out and out[-1][0] == chosen:
            out[-1] = (chosen, out[-1][1] + ch)
        else:
            out.append((chosen, ch))
    return out


def width(parts: list[tuple[str, str]], size: float) -> float:
    return sum(pdfmetrics.stringWidth(part, name, size) for name, part in parts)
