"""Reading an import file: UTF-8 CSV with a header row naming the kind's columns, row by row.

A cell that one of our own exports neutralised for spreadsheets (`'=…`) is read back as it was, so an
export imports again unchanged. Line numbers are the file's own (the header is line 1), so a clinic
finds a refused row in its spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from punchcard.domain import spreadsheet
from punchcard.domain.errors import InvalidInput

from .columns import Column

MAX_CELL = 2000


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, code="import_file_invalid", field="file")


def decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(f"the file is not UTF-8 text (byte {exc.start} cannot be read); save it as CSV UTF-8") from None
    if "\x00" in text:
        raise _refuse("the file holds NUL characters: it is not a CSV text file")
    return text


def rows(
    text: str, columns: tuple[Column, ...], ignored: frozenset[str] = frozenset()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped text}) for each row that is not blank; refuses a wrong header.

    `ignored` columns (an export's balances) may be present and are left out of the row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise _refuse("the file is empty: the first line must name the columns") from None
    except csv.Error as exc:
        raise _refuse(f"line 1 is not CSV: {exc}") from None
    names = [h.strip().lower() for h in header]
    known = {c.name for c in columns}
    unknown = [n for n in names if n not in known and n not in ignored]
    if unknown:
        raise _refuse(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)}; the columns are {', '.join(sorted(known))}"
        )
    if len(set(names)) != len(names):
        raise _refuse("a column is named twice in the header")
    missing = [c.name for c in columns if c.required and c.name not in names]
    if missing:
        raise _refuse(f"the header lacks the required column(s) {', '.join(missing)}")
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _refuse(f"line {start} is not CSV: {exc}") from None
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            cells = cells[: len(names)] + [",".join(cells[len(names) :])]  # reported as too many cells below
        values = {
            name: spreadsheet.restore(cell.strip())[:MAX_CELL]
            for name, cell in zip(names, cells, strict=False)
            if name not in ignored
        }
        if len(cells) > len(names):
            values["__extra__"] = "x"
        yield start, values
