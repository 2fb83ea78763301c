"""A report as JSON or CSV, and one value as text (SPEC §11: every report exportable as CSV).

JSON keeps amounts in integer minor units (with the currency); CSV and text give money in major units.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import asdict
from decimal import Decimal

from punchcard.domain import spreadsheet
from punchcard.domain.money import currency_exponent, format_money

from .registry import Report


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_json(report: Report) -> dict:
    """Amounts stay integer minor units (with the currency); dates are ISO strings."""
    return {
        "report": report.name,
        "title": report.title,
        "currency": report.currency,
        "filters": _plain(report.filters),
        "columns": [asdict(c) for c in report.columns],
        "rows": _plain(report.rows),
        "totals": _plain(report.totals),
        "notes": report.notes,
        "extra": _plain(report.extra),
    }


def major(amount: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def cell(value, kind: str, currency: str, *, locale: str | None = None) -> str:
    """One value as text: money in major units (or formatted for a locale), basis points as a percentage."""
    if value is None:
        return ""
    if kind == "money":
        return format_money(value, currency, locale) if locale else major(value, currency)
    if kind == "bp":
        return f"{Decimal(value) / 100:.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def to_csv(report: Report) -> str:
    """One row per table row; money in major units as exact decimals (the currency in its own column)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    money = any(c.kind == "money" for c in report.columns)
    writer.writerow([c.key for c in report.columns] + (["currency"] if money else []))
    for row in report.rows:
        writer.writerow(
            [cell(row.get(c.key), c.kind, report.currency) for c in report.columns]
            + ([report.currency] if money else [])
        )
    return out.getvalue()
