"""Leaving Punchcard (SPEC §10a): a tenant's whole data as CSV files, with a README of their columns.

`packages.csv` has the import's own columns first (see imports.columns), so the file imports again into
another Punchcard tenant as it is (`punchcard import packages packages.csv`): the same sessions left and
the same deferred value per line. Amounts are exact major units ("6000.00"); instants are UTC ISO 8601;
dates are local to the centre. Every cell goes through the spreadsheet guard (domain.spreadsheet).
Memberships come as three files: the memberships, their invoices (numbered apart from orders) and the
payments of those invoices.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Max, Min

from punchcard import clock
from punchcard.billing.models import CreditPayout, Order, OrderLine, Payment, Refund
from punchcard.catalogue.models import Plan
from punchcard.domain import spreadsheet
from punchcard.domain.roles import Actor, Perm
from punchcard.ledger.exports import export_csv, major
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.memberships.models import Invoice as MembershipInvoice
from punchcard.memberships.models import InvoicePayment as MembershipPayment
from punchcard.memberships.models import Membership
from punchcard.packages.models import EntryKind, Package, SessionEntry
from punchcard.packages.selectors import status_of, today_for
from punchcard.tenancy.models import Centre, Patient, Service, Tenant

from .columns import PACKAGE_BALANCE_COLUMNS, PACKAGE_COLUMNS


@dataclass(frozen=True)
class ExportFile:
    name: str
    about: str
    columns: list[tuple[str, str]]  # (column, meaning)
    rows: Callable[[Tenant], Iterable[list]]


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def _terms(line) -> str:
    """'physio:10' or 'yoga|pilates:20': the line's services and sessions granted, as the import reads them."""
    return f"{'|'.join(line.codes)}:{line.granted}"


def _centres(tenant):
    for c in Centre.objects.filter(tenant=tenant).order_by("id"):
        yield [c.code, c.name, c.timezone]


def _services(tenant):
    for s in Service.objects.filter(tenant=tenant).order_by("id"):
        yield [s.code, s.name, major(s.list_price, tenant.currency), major(s.delivery_cost, tenant.currency), s.active]


def _patients(tenant):
    for p in Patient.objects.filter(tenant=tenant).order_by("id"):
        yield [p.external_ref, p.name, p.email, p.phone, _iso(p.created_at)]


def _plans(tenant):
    plans = Plan.objects.filter(tenant=tenant).prefetch_related("versions__lines__services").order_by("id")
    for plan in plans:
        for v in sorted(plan.versions.all(), key=lambda v: v.number):
            lines = "; ".join(
                f"{'|'.join(sorted(s.code for s in line.services.all()))}:{line.sessions + line.bonus_sessions}"
                for line in v.lines.all()
            )
            yield [
                plan.code,
                plan.status,
                v.number,
                v.name,
                major(v.price, v.currency),
                v.currency,
                v.tax_rate_bp,
                v.tax_inclusive,
                v.expiry_rule.describe(),
                lines,
            ]


def _package_rows(tenant):
    packages = (
        Package.objects.filter(tenant=tenant)
        .select_related("holder", "sold_at", "plan_version__plan")
        .prefetch_related("lines")
        .order_by("id")
    )
    codes = dict(Service.objects.filter(tenant=tenant).values_list("id", "code"))
    # The value each package's sessions were given (its sale, top-ups, an import's grant): what was paid for them.
    granted_value: dict[int, int] = {}
    for package_id, kind, granted, value in SessionEntry.objects.filter(
        tenant=tenant, kind__in=[EntryKind.GRANT, EntryKind.TOP_UP, EntryKind.IMPORT], value__gt=0
    ).values_list("package_id", "kind", "granted", "value"):
        if kind != EntryKind.IMPORT or granted > 0:
            granted_value[package_id] = granted_value.get(package_id, 0) + value
    now = clock.now()
    for p in packages:
        lines = list(p.lines.all())
        for line in lines:
            line.codes = sorted(codes[i] for i in line.service_ids)
        status = status_of(p, lines, today_for(p, now)).status
        yield [
            p.id,
            p.holder.external_ref,
            p.holder.name,
            p.plan_version.plan.code,
            "; ".join(_terms(line) for line in lines),
            _iso(p.purchased_on),
            _iso(p.start_date),
            _iso(p.expires_on),
            "; ".join(str(line.granted - line.remaining) for line in lines),
            major(granted_value.get(p.id, 0), p.currency),
            p.currency,
            p.sold_at.code,
            # what Punchcard holds beyond the import's columns
            status,
            sum(line.granted for line in lines),
            sum(line.redeemed for line in lines),
            sum(line.held for line in lines),
            sum(line.forfeited for line in lines),
            sum(line.remaining for line in lines),
            major(sum(line.deferred_value for line in lines), p.currency),
            major(p.price_gross, p.currency),
            p.closure or "",
        ]


def _package_lines(tenant):
    codes = dict(Service.objects.filter(tenant=tenant).values_list("id", "code"))
    for p in Package.objects.filter(tenant=tenant).prefetch_related("lines").order_by("id"):
        for line in p.lines.all():
            yield [
                p.id,
                line.id,
                line.label,
                "|".join(sorted(codes[i] for i in line.service_ids)),
                line.granted,
                line.redeemed,
                line.held,
                line.forfeited,
                line.remaining,
                line.available,
                major(line.deferred_value, p.currency),
            ]


def _session_ledger(tenant):
    entries = SessionEntry.objects.filter(tenant=tenant).order_by("id")
    for e in entries.iterator(chunk_size=2000):
        yield [
            e.id,
            e.package_id,
            e.line_id,
            e.kind,
            e.granted,
            e.redeemed,
            e.held,
            e.forfeited,
            major(e.value, tenant.currency),
            _iso(e.at),
            e.actor,
            e.source,
            e.reason,
            e.redemption_id or "",
            e.hold_id or "",
            e.reverses_id or "",
        ]


def _invoices(tenant):
    for o in Order.objects.filter(tenant=tenant).select_related("patient", "centre").order_by("number"):
        c = o.currency
        yield [
            o.number,
            _iso(o.created_at),
            o.patient.external_ref,
            o.centre.code,
            o.status,
            major(o.net, c),
            major(o.tax, c),
            major(o.gross, c),
            major(o.discount, c),
            major(o.credit_applied, c),
            major(o.paid, c),
            c,
        ]


def _invoice_lines(tenant):
    lines = OrderLine.objects.filter(order__tenant=tenant).select_related("order", "plan_version__plan")
    for line in lines.order_by("order__number", "id"):
        c = line.order.currency
        yield [
            line.order.number,
            line.id,
            line.kind,
            line.plan_version.plan.code,
            line.plan_version.number,
            _iso(line.start_date),
            major(line.net, c),
            major(line.tax, c),
            major(line.gross, c),
            major(line.discount, c),
            line.target_package_id or "",
            line.sessions or "",
        ]


def _payments(tenant):
    for pay in Payment.objects.filter(tenant=tenant).select_related("order").order_by("id"):
        yield [pay.id, pay.order.number, pay.method, major(pay.amount, tenant.currency), pay.reference]
    for r in Refund.objects.filter(tenant=tenant).order_by("id"):
        yield [f"refund-{r.id}", "", "credit", major(-r.amount, tenant.currency), r.reason[:200]]
    for out in CreditPayout.objects.filter(tenant=tenant).order_by("id"):
        yield [f"payout-{out.id}", "", out.method, major(-out.amount, tenant.currency), out.reference]


def _memberships(tenant):
    members = Membership.objects.filter(tenant=tenant).select_related("patient", "plan", "version", "centre")
    for m in members.order_by("id"):
        yield [
            m.id,
            m.patient.external_ref,
            m.plan.code,
            m.version.number,
            m.frequency,
            m.centre.code,
            m.status,
            _iso(m.start_date),
            _iso(m.trial_end),
            _iso(m.anchor),
            _iso(m.next_billing_date),
            _iso(m.cancel_on),
            major(m.price, m.version.currency),
            "yes" if m.payment_method_id else "no",
            m.version.currency,
        ]


def _membership_invoices(tenant):
    invoices = MembershipInvoice.objects.filter(tenant=tenant).select_related("period")
    for i in invoices.order_by("number"):
        c = i.currency
        yield [
            i.number,
            i.membership_id,
            _iso(i.issued_on),
            i.status,
            _iso(i.period.start) if i.period else "",
            _iso(i.period.last_day) if i.period else "",
            major(i.net, c),
            major(i.tax, c),
            major(i.gross, c),
            major(i.credit_applied, c),
            major(i.paid, c),
            major(i.written_off, c),
            major(i.credited_net + i.credited_tax, c),
            c,
        ]


def _membership_payments(tenant):
    payments = MembershipPayment.objects.filter(tenant=tenant).select_related("invoice")
    for pay in payments.order_by("id"):
        yield [
            pay.id,
            pay.invoice.number,
            pay.method,
            major(pay.amount, tenant.currency),
            pay.reference,
            _iso(pay.received_at),
        ]


FILES: list[ExportFile] = [
    ExportFile("centres.csv", "the clinic's centres", [("code", ""), ("name", ""), ("time_zone", "IANA")], _centres),
    ExportFile(
        "services.csv",
        "what the clinic delivers",
        [("code", ""), ("name", ""), ("list_price", ""), ("delivery_cost", ""), ("active", "")],
        _services,
    ),
    ExportFile(
        "patients.csv",
        "every patient",
        [("external_ref", "the clinic's reference"), ("name", ""), ("email", ""), ("phone", ""), ("created_at", "")],
        _patients,
    ),
    ExportFile(
        "plans.csv",
        "every plan and each of its versions (a sold version never changes)",
        [
            ("code", ""),
            ("status", "draft | on_sale | retired"),
            ("version", ""),
            ("name", ""),
            ("price", "as charged"),
            ("currency", ""),
            ("tax_rate_bp", "basis points: 1800 = 18 %"),
            ("tax_inclusive", ""),
            ("expiry", "the expiry rule"),
            ("lines", "service codes and sessions per line, bonus included"),
        ],
        _plans,
    ),
    ExportFile(
        "packages.csv",
        "every package with its balances; the first columns are the import's own (see 'Moving to Punchcard'), "
        "so this file imports into another Punchcard tenant as it is",
        [(c.name, c.meaning) for c in PACKAGE_COLUMNS] + list(PACKAGE_BALANCE_COLUMNS),
        _package_rows,
    ),
    ExportFile(
        "package_lines.csv",
        "each package's lines and their balances",
        [
            ("package", ""),
            ("line", ""),
            ("label", ""),
            ("services", "codes the line covers"),
            ("granted", ""),
            ("redeemed", ""),
            ("held", ""),
            ("forfeited", ""),
            ("remaining", ""),
            ("available", "remaining − held"),
            ("deferred_value", ""),
        ],
        _package_lines,
    ),
    ExportFile(
        "session_ledger.csv",
        "the append-only session ledger: every change to every line (the balances are its sums)",
        [
            ("entry", ""),
            ("package", ""),
            ("line", ""),
            ("kind", "grant, hold, release, redeem, void, expire, cancel, transfer, top_up, adjust, import"),
            ("granted", "change"),
            ("redeemed", "change"),
            ("held", "change"),
            ("forfeited", "change"),
            ("value", "change in deferred value"),
            ("at", ""),
            ("actor", "who"),
            ("source", "from where"),
            ("reason", ""),
            ("redemption", ""),
            ("hold", ""),
            ("reverses", "the entry it reverses"),
        ],
        _session_ledger,
    ),
    ExportFile(
        "invoices.csv",
        "orders (the invoice of a sale, top-up or upgrade)",
        [
            ("number", ""),
            ("placed_at", ""),
            ("patient_ref", ""),
            ("centre", ""),
            ("status", "open, paid, pay_later, cancelled"),
            ("net", ""),
            ("tax", ""),
            ("gross", ""),
            ("discount", ""),
            ("credit_applied", ""),
            ("paid", ""),
            ("currency", ""),
        ],
        _invoices,
    ),
    ExportFile(
        "invoice_lines.csv",
        "each order's lines",
        [
            ("invoice", "the order's number"),
            ("line", ""),
            ("kind", "package, top_up, upgrade, …"),
            ("plan_code", ""),
            ("plan_version", ""),
            ("start_date", ""),
            ("net", ""),
            ("tax", ""),
            ("gross", ""),
            ("discount", ""),
            ("target_package", "a top-up's or upgrade's package"),
            ("sessions", "a top-up's sessions"),
        ],
        _invoice_lines,
    ),
    ExportFile(
        "payments.csv",
        "payments received, and refunds to credit and payouts (negative)",
        [("id", ""), ("invoice", "the order's number"), ("method", ""), ("amount", ""), ("reference", "")],
        _payments,
    ),
    ExportFile(
        "memberships.csv",
        "every membership",
        [
            ("id", ""),
            ("patient_ref", ""),
            ("plan_code", "the membership plan"),
            ("plan_version", "the version it is billed at"),
            ("frequency", "monthly, quarterly, annual"),
            ("centre", "where it was sold: its days"),
            ("status", "scheduled, trialing, active, past_due, paused, suspended, cancelling, cancelled, ended"),
            ("start_date", ""),
            ("trial_end", "the first day after the trial"),
            ("billing_anchor", "the first paid period's start; periods start on this day of the month"),
            ("next_billing_date", ""),
            ("cancel_on", "cancelling: its first day without the membership"),
            ("price", "per period"),
            ("card_on_file", "yes: renewals are charged to a stored payment method"),
            ("currency", ""),
        ],
        _memberships,
    ),
    ExportFile(
        "membership_invoices.csv",
        "membership invoices (numbered 1…n apart from orders)",
        [
            ("number", ""),
            ("membership", "the membership's id"),
            ("issued_on", ""),
            ("status", "open, paid, uncollectible, void"),
            ("period_start", ""),
            ("period_end", "its last day"),
            ("net", ""),
            ("tax", ""),
            ("gross", ""),
            ("credit_applied", ""),
            ("paid", ""),
            ("written_off", ""),
            ("credited_back", "the unused part given back to credit (a plan change, a cancellation)"),
            ("currency", ""),
        ],
        _membership_invoices,
    ),
    ExportFile(
        "membership_payments.csv",
        "payments of membership invoices (the patient's credit, a card charge, the desk)",
        [
            ("id", ""),
            ("invoice", "the membership invoice's number"),
            ("method", ""),
            ("amount", ""),
            ("reference", ""),
            ("received_at", ""),
        ],
        _membership_payments,
    ),
]


def _journal(tenant: Tenant, out) -> None:
    span = JournalEntry.objects.filter(tenant=tenant).aggregate(first=Min("date"), last=Max("date"))
    first, last = span["first"] or dt.date(2000, 1, 1), span["last"] or dt.date(2000, 1, 1)
    export_csv(tenant, first, last, out)


def readme(tenant: Tenant) -> str:
    out = [f"# {tenant.name}: all of its data, exported by Punchcard on {clock.now():%Y-%m-%d %H:%M} UTC", ""]
    out += [
        "UTF-8 CSV, one header row. Amounts are exact major units of the clinic's currency "
        f"({tenant.currency}); instants are UTC (ISO 8601); dates are local to the centre. A cell that would "
        "start a spreadsheet formula begins with a quote (').",
        "",
    ]
    for f in FILES:
        out += [f"## {f.name}", "", f.about + ".", "", "| column | meaning |", "|---|---|"]
        out += [f"| {name} | {meaning} |" for name, meaning in f.columns]
        out.append("")
    out += [
        "## journal.csv",
        "",
        "The double-entry journal, one row per posting (the same file as `punchcard journal export`): date, "
        "entry, kind, account_code, account_name, debit, credit, currency, memo, event, package, patient_ref, "
        "centre, period_status, original_date. Debits equal credits.",
        "",
    ]
    return "\n".join(out)


def export_tenant(*, tenant: Tenant, actor: Actor, to: Path) -> dict[str, int]:
    """Write every file into the directory `to` (made if missing); the rows written per file."""
    actor.require(Perm.EXPORT)
    to.mkdir(parents=True, exist_ok=True)
    counts = {}
    for f in FILES:
        with open(to / f.name, "w", encoding="utf-8", newline="") as out:
            writer = spreadsheet.writer(out)
            writer.writerow([name for name, _ in f.columns])
            n = 0
            for row in f.rows(tenant):
                writer.writerow(row)
                n += 1
        counts[f.name] = n
    buffer = io.StringIO()
    _journal(tenant, buffer)
    (to / "journal.csv").write_text(buffer.getvalue(), encoding="utf-8", newline="")
    counts["journal.csv"] = Posting.objects.filter(tenant=tenant).count()
    (to / "README.md").write_text(readme(tenant), encoding="utf-8")
    return counts
