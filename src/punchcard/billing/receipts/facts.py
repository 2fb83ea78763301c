"""What a receipt shows, read once when it is issued and frozen in `Receipt.facts` (SPEC §8.7)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Max, Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages.models import EntryKind, Package, PackageLine, Redemption, SessionEntry
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from ..models import Order, OrderLineKind, ReceiptKind, Refund

FACTS_VERSION = 1
TITLES = {
    ReceiptKind.SALE: "Tax invoice",
    ReceiptKind.REDEMPTION: "Visit receipt",
    ReceiptKind.REFUND: "Refund receipt",
}


def facts_of(tenant: Tenant, kind: ReceiptKind, subject_id) -> dict:
    """The facts of a receipt of `kind` about the subject; refuses an unknown subject (NotFound)."""
    builder = {
        ReceiptKind.SALE: _sale_facts,
        ReceiptKind.REDEMPTION: _redemption_facts,
        ReceiptKind.REFUND: _refund_facts,
    }[kind]
    return builder(tenant, subject_id)


def _party(tenant: Tenant, centre, patient) -> dict:
    return {
        "tenant": tenant.name,
        "centre": centre.name,
        "currency": tenant.currency,
        "locale": tenant.locale,
        "customer": {"name": patient.name, "ref": patient.external_ref},
    }


def _rate(bp: int, inclusive: bool) -> str:
    return f"{bp / 100:g}% {'included' if inclusive else 'added'}"


def balances_after(package: Package, last_entry_id: int | None) -> list[dict]:
    """Each line's granted / used / remaining right after the session-ledger entry `last_entry_id`."""
    entries = SessionEntry.objects.filter(package=package)
    if last_entry_id is not None:
        entries = entries.filter(id__lte=last_entry_id)
    sums = {
        row["line_id"]: row
        for row in entries.values("line_id").annotate(g=Sum("granted"), r=Sum("redeemed"), f=Sum("forfeited"))
    }
    out = []
    for line in PackageLine.objects.filter(package=package).order_by("id"):
        row = sums.get(line.id, {})
        granted, used, forfeited = row.get("g") or 0, row.get("r") or 0, row.get("f") or 0
        remaining = granted - used - forfeited
        text = f"{line.label}: {used} of {granted} used, {remaining} remaining"
        if forfeited:
            text += f" ({forfeited} no longer usable)"
        out.append(
            {
                "label": line.label,
                "granted": granted,
                "used": used,
                "remaining": remaining,
                "forfeited": forfeited,
                "text": text,
            }
        )
    return out


def _package_facts(package: Package, last_entry_id: int | None) -> dict:
    return {
        "id": package.id,
        "plan": package.plan_version.name,
        "start_date": package.start_date.isoformat(),
        "expires_on": package.expires_on.isoformat() if package.expires_on else None,
        "balances": balances_after(package, last_entry_id),
    }


def _sale_facts(tenant: Tenant, order_id) -> dict:
    order = scoped_get(
        Order,
        tenant=tenant,
        pk=order_id,
        field="subject_id",
        queryset=Order.objects.select_related("centre", "patient"),
    )
    items, tax_by_rate = [], defaultdict(int)
    packages = []
    for line in order.lines.select_related("plan_version").order_by("id"):
        version = line.plan_version
        description = version.name
        if line.kind == OrderLineKind.TOP_UP:
            description = f"Top-up: {line.sessions} more session(s) of {line.target_line.label}"
        elif line.kind == OrderLineKind.UPGRADE:
            description = f"Upgrade to {version.name}"
        code = getattr(line, "claim_code", None) if line.kind == OrderLineKind.PACKAGE else None
        if code is not None:
            description += f" — {code.get_kind_display().split(' (')[0].lower()} claim code …{code.hint}"
        promos = [a["name"] for a in (line.promotion or {}).get("applied", [])]
        rate = _rate(version.tax_rate_bp, version.tax_inclusive) if version.tax_rate_bp else None
        items.append(
            {
                "description": description,
                "quantity": 1,
                "list_total": line.list_total,
                "discount": line.discount,
                "promotions": promos,
                "net": line.net,
                "tax": line.tax,
                "gross": line.gross,
                "tax_rate": rate,
            }
        )
        if line.tax:
            tax_by_rate[rate] += line.tax
    activated = Package.objects.filter(order_line__order=order).select_related("plan_version").order_by("id")
    for package in activated:
        last = SessionEntry.objects.filter(package=package, kind=EntryKind.GRANT).aggregate(m=Max("id"))["m"]
        packages.append(_package_facts(package, last))
    for line in order.lines.filter(kind=OrderLineKind.TOP_UP).select_related("target_package__plan_version"):
        last = SessionEntry.objects.filter(
            package=line.target_package, kind=EntryKind.TOP_UP, data__order=order.number
        ).aggregate(m=Max("id"))["m"]
        if last is not None:
            packages.append(_package_facts(line.target_package, last))
    payments = [
        {
            "method": p.get_method_display(),
            "amount": p.amount,
            "reference": p.reference,
            "date": local_date(p.received_at, order.centre).isoformat(),
        }
        for p in order.payments.order_by("id")
    ]
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.SALE,
        "title": TITLES[ReceiptKind.SALE],
        "subject_id": order.id,
        "reference": f"Order {order.number}",
        "date": local_date(order.created_at, order.centre).isoformat(),
        **_party(tenant, order.centre, order.patient),
        "items": items,
        "tax_lines": [{"label": f"Tax {rate}", "amount": amount} for rate, amount in sorted(tax_by_rate.items())],
        "totals": {
            "discount": order.discount,
            "net": order.net,
            "tax": order.tax,
            "gross": order.gross,
            "credit_applied": order.credit_applied,
            "paid": order.paid,
            "due": order.due,
        },
        "payments": payments,
        "packages": packages,
        "notes": [f"Status: {order.get_status_display()}", *_upgrade_credit_notes(order)],
    }


def _upgrade_credit_notes(order: Order) -> list[str]:
    """An upgrade order's credit, as the journal booked it: the old package's deferred value, the tax on it
    reversed (a credit note) and any advances paid on its cancelled top-up orders."""
    line = next((line for line in order.lines.all() if line.kind == OrderLineKind.UPGRADE), None)
    if line is None or not order.credit_applied:
        return []
    entry = JournalEntry.objects.filter(
        tenant_id=order.tenant_id, kind="upgrade_credit", event_type="order", event_id=order.id
    ).first()
    by_role = dict(
        Posting.objects.filter(entry=entry)
        .values("account__role")
        .annotate(s=Sum("amount"))
        .values_list("account__role", "s")
    )
    value, tax = by_role.get(Role.DEFERRED_REVENUE, 0), by_role.get(Role.TAX_PAYABLE, 0)
    advances = order.credit_applied - value - tax
    text = f"Credit for the unused part of package {line.target_package_id}: {{money:{value}}}"
    if tax:
        text += f" + tax {{money:{tax}}} reversed by a credit note"
    if advances:
        text += f" + {{money:{advances}}} paid on its cancelled top-up orders"
    return [text]


def _redemption_facts(tenant: Tenant, redemption_id) -> dict:
    redemption = scoped_get(
        Redemption,
        tenant=tenant,
        pk=redemption_id,
        field="subject_id",
        queryset=Redemption.objects.select_related(
            "package__plan_version", "line", "centre", "person", "service", "practitioner", "package__holder"
        ),
    )
    package, line = redemption.package, redemption.line
    entry = SessionEntry.objects.filter(redemption=redemption, kind=EntryKind.REDEEM).values_list("id", flat=True)
    copay = line.patient_pays * redemption.sessions
    items = [
        {
            "description": f"{redemption.service.name} × {redemption.sessions} — covered by package "
            f"{package.id} ({package.plan_version.name})",
            "quantity": redemption.sessions,
            "list_total": 0,
            "discount": 0,
            "promotions": [],
            "net": 0,
            "tax": 0,
            "gross": 0,
            "tax_rate": None,
        }
    ]
    if copay:
        items.append(
            {
                "description": "Patient pays (co-pay)",
                "quantity": redemption.sessions,
                "list_total": copay,
                "discount": 0,
                "promotions": [],
                "net": copay,
                "tax": 0,
                "gross": copay,
                "tax_rate": None,
            }
        )
    notes = []
    if redemption.practitioner:
        notes.append(f"Practitioner: {redemption.practitioner.name}")
    if redemption.person_id != package.holder_id:
        notes.append(f"Package holder: {package.holder.name}")
    if redemption.in_grace:
        notes.append("Used during the package's grace period after expiry")
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.REDEMPTION,
        "title": TITLES[ReceiptKind.REDEMPTION],
        "subject_id": redemption.id,
        "reference": f"Visit {redemption.day.isoformat()} (redemption {redemption.id})",
        "date": redemption.day.isoformat(),
        **_party(tenant, redemption.centre, redemption.person),
        "items": items,
        "tax_lines": [{"label": "Tax", "amount": 0}],
        "totals": {"discount": 0, "net": copay, "tax": 0, "gross": copay, "credit_applied": 0, "paid": 0, "due": copay},
        "payments": [],
        "packages": [_package_facts(package, entry.first())],
        "notes": notes,
    }


def _refund_facts(tenant: Tenant, refund_id) -> dict:
    refund = scoped_get(
        Refund,
        tenant=tenant,
        pk=refund_id,
        field="subject_id",
        queryset=Refund.objects.select_related(
            "package__plan_version", "package__sold_at", "package__order_line__order", "patient"
        ),
    )
    package = refund.package
    version = package.plan_version
    last = SessionEntry.objects.filter(package=package, kind=EntryKind.CANCEL).aggregate(m=Max("id"))["m"]
    tax, advances = refund.tax_credited, refund.advances_returned
    credited = refund.amount - advances  # the part of the refund that is a credit note of the sale
    rate = _rate(version.tax_rate_bp, version.tax_inclusive) if version.tax_rate_bp else None
    items = [
        {
            "description": f"Refund of {version.name} (package {package.id}) to account credit",
            "quantity": 1,
            "list_total": 0,
            "discount": 0,
            "promotions": [],
            "net": credited - tax,
            "tax": tax,
            "gross": credited,
            "tax_rate": rate if tax else None,
        }
    ]
    if advances:
        items.append(
            {
                "description": "Paid on top-up orders cancelled with the package, returned",
                "quantity": 1,
                "list_total": 0,
                "discount": 0,
                "promotions": [],
                "net": advances,
                "tax": 0,
                "gross": advances,
                "tax_rate": None,
            }
        )
    notes = [f"Reason: {refund.reason}", f"Suggested refund: {{money:{refund.suggested}}}"]
    if tax:
        order = package.order_line.order if package.order_line_id else None
        notes.append(
            f"Credit note{f' for order {order.number}' if order else ''}: tax of {{money:{tax}}} "
            "on the refunded part is reversed"
        )
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.REFUND,
        "title": "Refund receipt and credit note" if tax else TITLES[ReceiptKind.REFUND],
        "subject_id": refund.id,
        "reference": f"Refund of package {package.id}",
        "date": local_date(refund.created_at, package.sold_at).isoformat(),
        **_party(tenant, package.sold_at, refund.patient),
        "items": items,
        "tax_lines": [{"label": f"Tax {rate} credited" if tax else "Tax", "amount": tax}],
        "totals": {
            "discount": 0,
            "net": refund.amount - tax,
            "tax": tax,
            "gross": refund.amount,
            "credit_applied": 0,
            "paid": 0,
            "due": 0,
        },
        "payments": [{"method": "Account credit", "amount": refund.amount, "reference": "", "date": None}],
        "packages": [_package_facts(package, last)],
        "notes": notes,
    }
