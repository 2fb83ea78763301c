"""Money reads: a package's money story and the invariants `punchcard reconcile` proves (SPEC §8.3)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet, Sum

from punchcard.domain.money import div_round_half_up
from punchcard.domain.posting import Role
from punchcard.ledger import services as journal
from punchcard.ledger.models import Posting
from punchcard.packages.models import Package, PackageLine, Redemption
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import scoped_get, start_of_local_day

from .models import Order, OrderLine, OrderLineKind, OrderStatus, PaymentMethod, Receipt, ReceiptKind, Refund


def credit_balance(tenant: Tenant, patient_id: int) -> int:
    """A patient's credit, straight from the journal (credits to the patient-credit account)."""
    account = journal.accounts(tenant)[Role.PATIENT_CREDIT]
    total = Posting.objects.filter(account_id=account, patient_id=patient_id).aggregate(s=Sum("amount"))["s"]
    return -(total or 0)


@dataclass(frozen=True)
class Collected:
    """What the patient has paid for one package, tax included (README, "Money: the accountant's decisions").

    `activated`: the package's sale, its paid top-ups and any upgrade credit (lines of paid orders, or of
    pay-later orders in proportion to what was paid), with `tax` the tax in it. `advances`: money paid on
    its top-up orders not activated yet (still open, or cancelled when the package was refunded or
    upgraded): paid against the package, it is collected for it, but bought no sessions and no tax yet.
    """

    activated: int = 0
    tax: int = 0
    advances: int = 0

    @property
    def total(self) -> int:
        return self.activated + self.advances

    def tax_in(self, amount: int) -> int:
        """The tax inside `amount` of the activated money, at the package's own ratio (half up)."""
        return div_round_half_up(amount * self.tax, self.activated) if self.activated else 0


def top_up_orders_waiting(package_id: int) -> QuerySet[Order]:
    """The package's top-up orders that are not activated: their payments are advances."""
    return Order.objects.filter(lines__kind=OrderLineKind.TOP_UP, lines__target_package_id=package_id).filter(
        Q(status=OrderStatus.OPEN) | Q(status=OrderStatus.CANCELLED, paid__gt=0)
    )


def collected_money(package: Package) -> Collected:
    activated = tax = 0
    lines = OrderLine.objects.filter(
        Q(pk=package.order_line_id) | Q(kind=OrderLineKind.TOP_UP, target_package=package),
        order__status__in=[OrderStatus.PAID, OrderStatus.PAY_LATER],
    )
    for line in lines.select_related("order"):
        order = line.order
        settled = order.paid + order.credit_applied
        if settled >= order.gross:
            activated, tax = activated + line.gross, tax + line.tax
        else:
            activated += line.gross * settled // order.gross
            tax += line.tax * settled // order.gross
    advances = top_up_orders_waiting(package.id).aggregate(s=Sum("paid"))["s"] or 0
    return Collected(activated=activated, tax=tax, advances=advances)


def collected_for(package: Package) -> int:
    """What the patient has paid for this package: its sale, top-ups (paid or still open) and upgrade credit."""
    return collected_money(package).total


@dataclass(frozen=True)
class SoldTax:
    """The net and tax of what was sold for a package (its sale and activated top-ups)."""

    net: int = 0
    tax: int = 0

    def tax_on(self, net_amount: int) -> int:
        """The tax that went with `net_amount` of the package's value, at its own ratio (half up)."""
        return div_round_half_up(net_amount * self.tax, self.net) if self.net else 0


def sold_tax(package: Package) -> SoldTax:
    lines = OrderLine.objects.filter(
        Q(pk=package.order_line_id) | Q(kind=OrderLineKind.TOP_UP, target_package=package),
        order__status__in=[OrderStatus.PAID, OrderStatus.PAY_LATER],
    )
    totals = lines.aggregate(net=Sum("net"), tax=Sum("tax"))
    return SoldTax(net=totals["net"] or 0, tax=totals["tax"] or 0)


def suggested_refund(package: Package, lines: list[PackageLine] | None = None) -> int:
    """Price paid ÷ total sessions × remaining sessions, to the minor unit (SPEC §8.2), plus in full what
    was paid on top-up orders not activated (they bought no sessions yet).

    $600 for 6 sessions with 2 used → $400.
    """
    lines = list(package.lines.all()) if lines is None else lines
    granted = sum(line.granted for line in lines)
    remaining = sum(line.remaining for line in lines)
    collected = collected_money(package)
    return (div_round_half_up(collected.activated * remaining, granted) if granted else 0) + collected.advances


# Which journal entry kinds move deferred revenue, and what the movement means.
SOLD_KINDS = {"sale", "claim"}  # claim: value held on a claim code moves onto the claimed package
RECOGNISED_KINDS = {"redemption", "void"}
BREAKAGE_KINDS = {"breakage", "breakage_reversal", "adjustment"}
REFUND_KINDS = {"refund"}
UPGRADE_KINDS = {"upgrade_credit"}


@dataclass
class PackageMoney:
    """Net-of-tax money of one package: sold = recognised + breakage + refunded + upgraded + deferred."""

    sold: int = 0
    recognised: int = 0
    breakage: int = 0
    refunded: int = 0  # deferred value cleared by a refund (the refund itself may differ: see refund adjustments)
    upgraded: int = 0  # deferred value carried into an upgrade
    deferred: int = 0

    @property
    def balanced(self) -> bool:
        return self.sold == self.recognised + self.breakage + self.refunded + self.upgraded + self.deferred


def _deferred_movements(packages=None, tenant: Tenant | None = None):
    qs = Posting.objects.filter(account__role=Role.DEFERRED_REVENUE)
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    if packages is not None:
        qs = qs.filter(package__in=packages)
    return qs.values("package_id", "entry__kind").annotate(total=Sum("amount"))


def _bucket(money: PackageMoney, kind: str, total: int) -> None:
    # Credits to deferred revenue are sales; debits are what left it, by reason.
    if kind in SOLD_KINDS:
        money.sold += -total
    elif kind in RECOGNISED_KINDS:
        money.recognised += total
    elif kind in BREAKAGE_KINDS:
        money.breakage += total
    elif kind in REFUND_KINDS:
        money.refunded += total
    elif kind in UPGRADE_KINDS:
        money.upgraded += total
    else:
        raise AssertionError(f"unexpected entry kind {kind!r} on deferred revenue")


def package_money(package: Package) -> PackageMoney:
    money = PackageMoney(deferred=sum(line.deferred_value for line in package.lines.all()))
    for row in _deferred_movements(packages=[package.id]):
        _bucket(money, row["entry__kind"], row["total"])
    return money


def money_problems(tenant: Tenant | None = None) -> list[str]:
    """Every way the money could disagree with the sessions; empty when all is well."""
    problems = []
    lines = PackageLine.objects.all() if tenant is None else PackageLine.objects.filter(tenant=tenant)
    cached = dict(lines.values_list("id", "deferred_value"))
    postings = Posting.objects.filter(account__role=Role.DEFERRED_REVENUE, package_line__isnull=False)
    if tenant is not None:
        postings = postings.filter(tenant=tenant)
    journal = {
        row["package_line_id"]: -row["s"] for row in postings.values("package_line_id").annotate(s=Sum("amount"))
    }
    for line_id, value in cached.items():
        if journal.get(line_id, 0) != value:
            problems.append(f"line {line_id}: deferred value {value} but the journal holds {journal.get(line_id, 0)}")
    # Value held on an unclaimed claim code has no package line yet; claim codes are checked code by code.
    untagged = Posting.objects.filter(account__role=Role.DEFERRED_REVENUE, package_line__isnull=True).exclude(
        entry__event_type="claim_code"
    )
    if tenant is not None:
        untagged = untagged.filter(tenant=tenant)
    if untagged.exists():
        problems.append(f"{untagged.count()} deferred-revenue posting(s) name no package line")
    per_package: dict[int, PackageMoney] = defaultdict(PackageMoney)
    for row in _deferred_movements(tenant=tenant):
        _bucket(per_package[row["package_id"]], row["entry__kind"], row["total"])
    deferred_by_package = defaultdict(int)
    for package_id, value in lines.values_list("package_id", "deferred_value"):
        deferred_by_package[package_id] += value
    per_package.pop(None, None)  # the claim codes' side, checked below
    for package_id, money in per_package.items():
        money.deferred = deferred_by_package[package_id]
        if not money.balanced:
            problems.append(
                f"package {package_id}: sold {money.sold} ≠ recognised {money.recognised} + breakage "
                f"{money.breakage} + refunded {money.refunded} + upgraded {money.upgraded} + deferred "
                f"{money.deferred}"
            )
    account_total = -(postings.aggregate(s=Sum("amount"))["s"] or 0)
    if account_total != sum(cached.values()):
        problems.append(f"deferred revenue account {account_total} ≠ unredeemed sessions' value {sum(cached.values())}")
    return problems


# ---------------------------------------------------------------- orders as the API and console show them


def orders(tenant: Tenant) -> QuerySet[Order]:
    lines = OrderLine.objects.select_related("plan_version").prefetch_related("packages").order_by("id")
    return (
        Order.objects.filter(tenant=tenant)
        .select_related("patient", "centre", "credited_staff")
        .prefetch_related(Prefetch("lines", lines), "payments")
    )


def order(tenant: Tenant, order_id: int) -> Order:
    return scoped_get(Order, tenant=tenant, pk=order_id, field="order_id", queryset=orders(tenant))


def filter_orders(
    tenant: Tenant, *, patient=None, centre=None, status=None, placed_from=None, placed_to=None
) -> QuerySet[Order]:
    qs = orders(tenant)
    if patient is not None:
        qs = qs.filter(patient=scoped_get(Patient, tenant=tenant, pk=patient, field="patient"))
    if centre is not None:
        qs = qs.filter(centre=scoped_get(Centre, tenant=tenant, pk=centre, field="centre"))
    if status is not None:
        qs = qs.filter(status=status)
    if placed_from is not None or placed_to is not None:
        # "Placed on day D" is local to each order's centre: one range per centre of the tenant.
        by_centre = Q(pk__in=[])
        for c in Centre.objects.filter(tenant=tenant):
            window = Q(centre=c)
            if placed_from is not None:
                window &= Q(created_at__gte=start_of_local_day(placed_from, c))
            if placed_to is not None:
                window &= Q(created_at__lt=start_of_local_day(placed_to + dt.timedelta(days=1), c))
            by_centre |= window
        qs = qs.filter(by_centre)
    return qs


def receipts_of_patient(tenant: Tenant, patient_id: int, *, limit: int = 50) -> list[Receipt]:
    """The receipts issued for a patient's orders, their visits (redemptions they used or paid for) and
    their refunds, newest first."""
    orders = Order.objects.filter(tenant=tenant, patient_id=patient_id).values("id")
    visits = Redemption.objects.filter(tenant=tenant).filter(Q(person_id=patient_id) | Q(package__holder_id=patient_id))
    refunds = Refund.objects.filter(tenant=tenant, patient_id=patient_id).values("id")
    found = Receipt.objects.filter(tenant=tenant).filter(
        Q(kind=ReceiptKind.SALE, subject_id__in=orders)
        | Q(kind=ReceiptKind.REDEMPTION, subject_id__in=visits.values("id"))
        | Q(kind=ReceiptKind.REFUND, subject_id__in=refunds)
    )
    return list(found.order_by("-number")[:limit])


def payment_methods(tenant: Tenant, patient: Patient, *, status: str | None = None) -> QuerySet[PaymentMethod]:
    """A patient's stored payment methods (active and detached, or one status)."""
    qs = PaymentMethod.objects.filter(tenant=tenant, patient=patient)
    return qs.filter(status=status) if status else qs
