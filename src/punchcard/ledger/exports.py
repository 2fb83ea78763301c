"""The journal for a period, as CSV (one row per posting) and as a beancount ledger (SPEC §8.5).

Amounts leave in major units as exact decimals ("615.39"); account names come from the tenant's chart.
Both say which accounting periods are closed: a CSV column per row, a comment and entry metadata in
beancount; a late entry carries the day it belongs to (`original_date`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TextIO

from punchcard.domain import spreadsheet
from punchcard.domain.money import currency_exponent
from punchcard.tenancy.models import Tenant

from . import periods
from .models import Account, JournalEntry

CSV_COLUMNS = [
    "date",
    "entry",
    "kind",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
    "memo",
    "event",
    "package",
    "patient_ref",
    "centre",
    "period_status",  # closed | open: the entry's accounting period (closed: final, nothing posts into it)
    "original_date",  # a late entry: the day it belongs to, in a period closed before it was posted
]


def major(amount: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def entries(tenant: Tenant, date_from: dt.date, date_to: dt.date):
    return (
        JournalEntry.objects.filter(tenant=tenant, date__gte=date_from, date__lte=date_to)
        .prefetch_related("postings__account", "postings__patient")
        .select_related("centre")
        .order_by("date", "id")
    )


def export_csv(tenant: Tenant, date_from: dt.date, date_to: dt.date, out: TextIO) -> tuple[int, int]:
    """Write one row per posting; returns (total debits, total credits) in minor units — always equal."""
    writer = spreadsheet.writer(out)
    writer.writerow(CSV_COLUMNS)
    debits = credits = 0
    through = periods.closed_through(tenant)
    for entry in entries(tenant, date_from, date_to):
        status = "closed" if through is not None and entry.date <= through else "open"
        for p in entry.postings.all():
            debit, credit = (p.amount, 0) if p.amount > 0 else (0, -p.amount)
            debits, credits = debits + debit, credits + credit
            writer.writerow(
                [
                    entry.date.isoformat(),
                    entry.id,
                    entry.kind,
                    p.account.code,
                    p.account.name,
                    major(debit, entry.currency) if debit else "",
                    major(credit, entry.currency) if credit else "",
                    entry.currency,
                    entry.memo,
                    f"{entry.event_type}:{entry.event_id}",
                    p.package_id or "",
                    p.patient.external_ref if p.patient else "",
                    entry.centre.code if entry.centre else "",
                    status,
                    entry.original_date.isoformat() if entry.original_date else "",
                ]
            )
    return debits, credits


def beancount_name(account: Account) -> str:
    """'Liabilities:DeferredRevenueContractLiability' — beancount wants capitalised alphanumeric parts."""
    words = re.findall(r"[A-Za-z0-9]+", account.name)
    leaf = "".join(w[:1].upper() + w[1:] for w in words) or f"A{account.code}"
    if not leaf[0].isalpha():
        leaf = f"A{leaf}"
    return f"{account.type}:{leaf}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', "'").replace("\n", " ") + '"'


def export_beancount(tenant: Tenant, date_from: dt.date, date_to: dt.date, out: TextIO) -> int:
    """Write a beancount ledger that bean-check accepts: accounts opened, every transaction balanced."""
    accounts = list(Account.objects.filter(tenant=tenant).order_by("code"))
    names = {a.id: beancount_name(a) for a in accounts}
    if len(set(names.values())) != len(names):  # two accounts with the same name: tell them apart by code
        names = {a.id: f"{beancount_name(a)}{a.code}" for a in accounts}
    out.write(f'option "title" {_quote(tenant.name + " — Punchcard journal")}\n')
    out.write(f'option "operating_currency" "{tenant.currency}"\n\n')
    closed = periods.closed_labels(tenant, date_from, date_to)
    out.write(f"; closed accounting periods: {', '.join(closed) if closed else 'none'} (nothing posts into them)\n\n")
    for account in accounts:
        out.write(f"{date_from.isoformat()} open {names[account.id]} {tenant.currency}\n")
    out.write("\n")
    count = 0
    for entry in entries(tenant, date_from, date_to):
        count += 1
        out.write(f'{entry.date.isoformat()} * "Punchcard" {_quote(entry.memo)}\n')
        out.write(f'  entry: "{entry.id}"\n  event: "{entry.event_type}:{entry.event_id}"\n')
        if entry.original_date:
            out.write(f'  original_date: "{entry.original_date.isoformat()}"\n')
        for p in entry.postings.all():
            out.write(f"  {names[p.account_id]}  {major(p.amount, entry.currency)} {entry.currency}\n")
        out.write("\n")
    return count
