"""Cells bound for a spreadsheet: text that a spreadsheet would run as a formula is neutralised.

OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
is read by Excel, LibreOffice and Google Sheets as a formula (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3`), so
a patient named "=cmd|' /C calc'!A0" would run in the accountant's spreadsheet. Such text is
prefixed with a single quote, which spreadsheets show as text and do not evaluate.

Numbers stay numbers: an integer, or text that is exactly a decimal number ("-1500", "-15.00"), is a
value, not a formula, and is written unchanged so a negative amount still sums. Everything else that
starts with a trigger gets the quote, including "+91 98200 00000" (shown as typed) and "-1+1".

Every CSV the product writes goes through `writer`.
"""

from __future__ import annotations

import csv
import re
from typing import Any, TextIO

TRIGGERS = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(value: Any) -> Any:
    """The value as a spreadsheet should receive it: formula-like text quoted, everything else unchanged."""
    if isinstance(value, str) and value[:1] in TRIGGERS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Writer:
    def __init__(self, out: TextIO):
        self._csv = csv.writer(out)

    def writerow(self, row) -> None:
        self._csv.writerow([neutralise(v) for v in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: TextIO) -> _Writer:
    """csv.writer with every cell passed through `neutralise`."""
    return _Writer(out)


def restore(value: str) -> str:
    """A cell read back from one of our own CSVs: the quote `neutralise` put before a trigger is taken off."""
    if value[:1] == "'" and value[1:2] in TRIGGERS and not _NUMBER.fullmatch(value[1:]):
        return value[1:]
    return value
