"""Write a sample packages file for `punchcard import packages`, against the demo clinic's catalogue.

    python bench/import_sample.py examples/packages-1000.csv --rows 1000

Deterministic (a seeded generator): the same file every time. Most rows are good (the demo's plans, and
ad-hoc terms); every 100th row breaks one rule, so the report has something to show.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random

COLUMNS = [
    "source_id",
    "patient_ref",
    "patient_name",
    "plan_code",
    "lines",
    "purchase_date",
    "start_date",
    "expiry_date",
    "sessions_used",
    "amount_paid",
    "currency",
    "centre",
]
PLANS = [  # code, sessions per line, price (rupees), validity in days
    ("physio-recovery", (10, 2), 8000, 90),
    ("facials-6", (6,), 4500, 365),
    ("chiro-b3f1", (4,), 3000, 90),
]
AD_HOC = [("massage:5", (5,), 5500), ("physio:6; doctor:1", (6, 1), 6900), ("yoga|pilates|spin:20", (20,), 5000)]
FIRST = ["Aarav", "Diya", "Ishaan", "Kavya", "Rohan", "Saanvi", "Vihaan", "Anika", "Arjun", "Meher", "Zara", "Kabir"]
LAST = ["Sharma", "Iyer", "Reddy", "Nair", "Kapoor", "Mehta", "Das", "Bose", "Pillai", "Rao", "Joshi", "Khan"]
BREAKS = [  # column, bad value: one rule each
    ("plan_code", "no-such-plan"),
    ("sessions_used", "99"),
    ("expiry_date", "2020-01-01"),
    ("amount_paid", "-500"),
    ("currency", "USD"),
    ("purchase_date", "31/12/2025"),
    ("source_id", None),  # a duplicate of the row before
]


def rows(count: int, seed: int = 16) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    first_day = dt.date(2025, 6, 1)
    for i in range(1, count + 1):
        patient = rnd.randrange(1, max(2, count * 2 // 3))
        day = first_day + dt.timedelta(days=rnd.randrange(0, 480))
        if rnd.random() < 0.75:
            code, lines, price, days = rnd.choice(PLANS)
            terms = {"plan_code": code, "lines": ""}
        else:
            text, lines, price = rnd.choice(AD_HOC)
            days, terms = 180, {"plan_code": "", "lines": text}
        used = [rnd.randrange(0, n + 1) for n in lines]
        row = {
            "source_id": f"CS-{i:06d}",
            "patient_ref": f"CS-P{patient:05d}",
            "patient_name": f"{FIRST[patient % len(FIRST)]} {LAST[(patient // len(FIRST)) % len(LAST)]}",
            **terms,
            "purchase_date": day.isoformat(),
            "start_date": day.isoformat(),
            "expiry_date": (day + dt.timedelta(days=days - 1)).isoformat(),
            "sessions_used": "; ".join(str(n) for n in used),
            "amount_paid": f"{price:,}.00",
            "currency": "INR",
            "centre": rnd.choice(["bandra", "koramangala"]),
        }
        if i % 100 == 0:
            column, value = BREAKS[(i // 100) % len(BREAKS)]
            if value is None:
                row = {**out[-1]}
            else:
                row[column] = value
        out.append(row)
    return out


def write(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows(count))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    write(args.path, args.rows)
