"""A patient's packages as the desk's patient page and the patient's portal show them: each package in the
clinic's words (lines, status, scope, who in the family used what) and its history — every session-ledger
entry, with the appointment and the receipt each redemption covered and the order (invoice) the package was
bought on. Reads only."""

from __future__ import annotations

from babel.dates import format_datetime

from punchcard.domain.eligibility import Scope
from punchcard.tenancy import selectors as tenancy_selectors

from . import selectors as package_selectors
from . import wording

KIND = {
    "grant": "Sessions granted",
    "hold": "Session held",
    "release": "Hold released",
    "redeem": "Session used",
    "void": "Use voided",
    "expire": "Expired",
    "cancel": "Cancelled",
    "transfer": "Transferred",
    "top_up": "Topped up",
    "adjust": "Adjusted",
}


def _when(tenant, instant, centre) -> str:
    return format_datetime(instant.astimezone(centre.zone), format="d MMM yyyy, HH:mm", locale=tenant.locale)


def _change(entry) -> str:
    parts = []
    for column, word in (("granted", "granted"), ("redeemed", "used"), ("held", "held"), ("forfeited", "forfeited")):
        amount = getattr(entry, column)
        if amount:
            parts.append(f"{amount:+d} {word}")
    return ", ".join(parts) or "—"


def history_rows(tenant, package, receipt_numbers: dict[int, int]) -> list[dict]:
    rows = []
    for entry in package_selectors.history(package):
        redemption = entry.redemption
        appointment = redemption.appointment if redemption else None
        person = redemption.person if redemption else (entry.hold.person if entry.hold else None)
        rows.append(
            {
                "when": _when(tenant, entry.at, package.sold_at),
                "what": KIND.get(entry.kind, entry.kind),
                "line": entry.line.label,
                "change": _change(entry),
                "person": person.name if person else "",
                "appointment": appointment,
                "redemption": redemption if entry.kind == "redeem" else None,
                "live": redemption is not None and redemption.voided_at is None and entry.kind == "redeem",
                "receipt": receipt_numbers.get(redemption.id) if redemption and entry.kind == "redeem" else None,
                "reason": entry.reason,
            }
        )
    return rows


def _scope(package) -> str:
    """'all centres', 'Bandra, Koramangala', or the selling centre's name for a single-centre package."""
    if package.plan_version.scope == Scope.SINGLE:
        return f"{package.sold_at.name} only"
    return wording.scope_text(package.plan_version)


def package_cards(tenant, person, receipts) -> list[dict]:
    visit_receipts = {r.subject_id: r for r in receipts if r.kind == "redemption"}
    cards = []
    for summary in package_selectors.packages_of_patient(tenant, person.id):
        package = summary.package
        expiry = wording.expiry_text(tenant, summary)
        usage = []
        if package.plan_version.shareable:
            used = package_selectors.usage_by_person(package)
            people = {package.holder_id, *used, *package_selectors.beneficiary_ids(package)}
            names = {p.id: p.name for p in tenancy_selectors.patients_by_id(tenant, people)}
            usage = [
                {"name": names.get(pid, str(pid)), "used": used.get(pid, 0), "holder": pid == package.holder_id}
                for pid in sorted(people, key=lambda p: (p != package.holder_id, names.get(p, "")))
            ]
        order = package.order_line.order if package.order_line_id else None
        cards.append(
            {
                "summary": summary,
                "package": package,
                "status": wording.status_text(summary),
                "scope": _scope(package),
                "shared": package.holder_id != person.id,
                "lines": [wording.line_text(line, expiry) for line in summary.lines],
                "usage": usage,
                "bought": wording.day(tenant, package.purchased_on),
                "order": order,
                "history": history_rows(tenant, package, visit_receipts),
            }
        )
    return cards
