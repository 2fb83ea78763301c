"""The columns of each import file: the reader's contract, the README's table and the report's words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str


PACKAGE_COLUMNS: tuple[Column, ...] = (
    Column("source_id", True, "the package's id in the previous system (the key that makes a re-run safe)"),
    Column("patient_ref", True, "the patient's reference (e.g. P-1001); a patient not yet in Punchcard is created"),
    Column("patient_name", False, "the patient's name: required when the patient is created, else ignored"),
    Column("plan_code", False, "the code of one of the clinic's plans; or leave it empty and give `lines`"),
    Column(
        "lines",
        False,
        "the package's own terms, service code and sessions per line: `physio:10; doctor:2` (a plan named "
        "`imported-…` is made for each new set of terms, retired, so it is never sold)",
    ),
    Column("purchase_date", True, "the day it was bought, YYYY-MM-DD (not after today)"),
    Column("start_date", False, "the first day it may be used, YYYY-MM-DD (default: the purchase date)"),
    Column(
        "expiry_date",
        False,
        "its last valid day, YYYY-MM-DD, kept as the package's own (default: the plan's expiry rule)",
    ),
    Column(
        "sessions_used",
        False,
        "sessions already used, per line in line order (`4` or `4; 1`) or by service code (`physio:4`); default 0",
    ),
    Column("amount_paid", True, "what the patient paid, in major units (`10000` or `10,000.00`), net of any tax"),
    Column("currency", False, "ISO code; must be the clinic's (default: the clinic's)"),
    Column("centre", False, "the code of the centre that sold it (default: the clinic's first centre)"),
)

# What the export adds after the import's own columns (its packages.csv): read past on import, never applied.
PACKAGE_BALANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "as of the export: active, not_started, expired, exhausted, completed, cancelled, …"),
    ("granted", "sessions granted, all lines"),
    ("redeemed", ""),
    ("held", "reserved for booked appointments"),
    ("forfeited", "expired, cancelled, completed or refunded"),
    ("remaining", "granted − redeemed − forfeited"),
    ("deferred_value", "the unused value still owed (deferred revenue)"),
    ("price_gross", "the price with tax, as sold"),
    ("closure", "completed | cancelled | refunded | upgraded, when closed"),
)
