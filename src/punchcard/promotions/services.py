"""Promotions, bulk orders, gifts and claim codes (SPEC §7, §9). One function, one transaction each.

Promotions are evaluated inside billing.place_order (`offers_for_order`): the discount lowers each
line's price before its tax split, and bonus sessions join the line's grant at activation, so the
journal defers exactly what is paid, spread over every session granted.

Claim codes: see promotions.models for how the money is held until a code is claimed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.billing.models import Order, OrderLine, OrderStatus
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain import posting
from punchcard.domain.errors import Conflict, InvalidInput, NotFound, RateLimited
from punchcard.domain.money import check_amount, split_tax
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.tenancy.models import Patient, Role, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from . import codes as claim_codes
from . import selectors
from .models import ClaimCode, ClaimFailure, ClaimKind, ClaimStatus, Promotion
from .rules import Applied, Kind, LineToPrice, PlanLineTerms, best_offer, not_applicable, price_one

MAX_PERCENT_BP = 100_00
MAX_BULK_CODES = 500
MAX_GIFT_CODES = 20
DEFAULT_CODE_VALID_DAYS = 365
DEFAULT_TRANSFER_VALID_DAYS = 30
# Guessing is limited per caller and per IP: this many refused claims in the window → 429.
FAILURE_LIMIT = 10
FAILURE_WINDOW = dt.timedelta(minutes=15)


# ---------------------------------------------------------------- promotions


def _text(value, field: str, *, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return value


def _whole(value, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _date(value, field: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{field} must be a date", field=field)
    return value


def _promo_code(value) -> str:
    code = _text(value, "code", max_length=64, required=False).upper()
    if code and not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput("a promotion code is letters, digits, '-' or '_'", field="code")
    return code


def _tiers(tiers) -> list[dict]:
    if not isinstance(tiers, (list, tuple)) or not tiers:
        raise InvalidInput("a loyalty promotion needs at least one tier", field="tiers")
    out = []
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict) or set(tier) - {"min", "max", "percent_bp"}:
            raise InvalidInput("a tier is {min, max, percent_bp}", field=f"tiers[{i}]")
        low = _whole(tier.get("min"), f"tiers[{i}].min", low=0, high=100_000)
        high = tier.get("max")
        if high is not None:
            high = _whole(high, f"tiers[{i}].max", low=low, high=100_000)
        bp = _whole(tier.get("percent_bp"), f"tiers[{i}].percent_bp", low=1, high=MAX_PERCENT_BP)
        out.append({"min": low, "max": high, "percent_bp": bp})
    out.sort(key=lambda t: t["min"])
    for a, b in zip(out, out[1:]):
        if a["max"] is None or a["max"] >= b["min"]:
            raise InvalidInput(f"loyalty tiers overlap at {b['min']} package(s)", field="tiers")
    return out


@transaction.atomic
def create_promotion(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    kind: str,
    code: str | None = None,
    automatic: bool = False,
    stackable: bool = False,
    priority: int = 100,
    plan_ids: list[int] = (),
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    percent_bp: int = 0,
    amount: int = 0,
    buy: int = 0,
    free: int = 0,
    tiers: list[dict] = (),
    now: dt.datetime | None = None,
) -> Promotion:
    """A promotion: Buy N Free M, % off, fixed amount off, or loyalty tiers; by code and/or automatic."""
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    try:
        kind = Kind(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in Kind)}", field="kind") from None
    code = _promo_code(code)
    if not code and not automatic:
        raise InvalidInput("a promotion needs a code, or to be automatic", field="code")
    fields = dict(
        name=_text(name, "name", max_length=200),
        kind=kind.value,
        code=code,
        automatic=bool(automatic),
        stackable=bool(stackable),
        priority=_whole(priority, "priority", low=0, high=10_000),
        valid_from=_date(valid_from, "valid_from"),
        valid_to=_date(valid_to, "valid_to"),
    )
    if fields["valid_from"] and fields["valid_to"] and fields["valid_from"] > fields["valid_to"]:
        raise InvalidInput("the promotion's window ends before it starts", field="valid_to")
    if kind is Kind.PERCENT:
        fields["percent_bp"] = _whole(percent_bp, "percent_bp", low=1, high=MAX_PERCENT_BP)
    elif kind is Kind.FIXED:
        fields["amount"] = check_amount(amount, field="amount", allow_zero=False)
    elif kind is Kind.BONUS_SESSIONS:
        fields["buy"] = _whole(buy, "buy", low=1, high=10_000)
        fields["free"] = _whole(free, "free", low=1, high=10_000)
    else:
        fields["tiers"] = _tiers(tiers)
    plans = [scoped_get(Plan, tenant=tenant, pk=pid, field="plan_ids") for pid in dict.fromkeys(plan_ids or ())]
    if code and Promotion.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(f"a promotion with code {code!r} exists", code="invalid", field="code")
    promotion = Promotion.objects.create(tenant=tenant, created_at=now, created_by=actor.label, **fields)
    promotion.plans.set(plans)
    audit(
        tenant=tenant,
        actor=actor,
        action="promotion.create",
        subject=promotion,
        now=now,
        data={"kind": kind.value, "code": code, "automatic": promotion.automatic},
    )
    return promotion


@transaction.atomic
def retire_promotion(*, tenant: Tenant, actor: Actor, promotion_id: int, now: dt.datetime | None = None) -> Promotion:
    """Stop a promotion from applying to new orders; orders already placed keep what they got."""
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    promotion = scoped_get(
        Promotion, tenant=tenant, pk=promotion_id, field="promotion_id", queryset=Promotion.objects.select_for_update()
    )
    if promotion.retired_at is None:
        promotion.retired_at, promotion.retired_by = now, actor.label
        promotion.save(update_fields=["retired_at", "retired_by"])
        audit(tenant=tenant, actor=actor, action="promotion.retire", subject=promotion, now=now)
    return promotion


def _line_to_price(version: PlanVersion) -> LineToPrice:
    lines = tuple(
        PlanLineTerms(pl.id, pl.sessions, max(s.list_price for s in pl.services.all()))
        for pl in version.lines.prefetch_related("services")
    )
    return LineToPrice(plan_id=version.plan_id, price=version.price, lines=lines)


def offers_for_order(
    *, tenant: Tenant, patient: Patient, day: dt.date, versions: list[PlanVersion], code: str | None
) -> list[tuple[int, dict]]:
    """(discount, record for OrderLine.promotion) per order line; called by billing.place_order.

    A typed code that is unknown, retired, outside its window or for none of the order's plans is
    refused, so the patient is never silently charged more than they were promised.
    """
    automatic = selectors.automatic_promotions(tenant)
    entered = None
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("promotion_code must be text", field="promotion_code")
        entered = selectors.promotion_by_code(tenant, code)
        if entered is None:
            raise Conflict(
                f"no promotion has the code {code.strip().upper()!r}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    if not automatic and entered is None:
        return [(0, {}) for _ in versions]
    terms = [selectors.terms_of(p) for p in automatic]
    entered_terms = selectors.terms_of(entered) if entered else None
    if entered_terms and all(t.id != entered_terms.id for t in terms):
        terms.append(entered_terms)
    bought = selectors.packages_bought(tenant, patient.id) if any(t.kind is Kind.LOYALTY for t in terms) else 0
    lines = [_line_to_price(v) for v in versions]
    if entered_terms:
        # Refused only when it can give nothing on any line; beaten by a better offer, it is just recorded.
        reasons = [
            not_applicable(entered_terms, plan_id=line.plan_id, day=day)
            or price_one(entered_terms, line, remaining_price=line.price, packages_bought=bought)
            for line in lines
        ]
        if not any(isinstance(r, Applied) for r in reasons):
            raise Conflict(
                f"the code {entered_terms.code} does not apply: {reasons[0]}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    offers = [best_offer(terms, line, day=day, packages_bought=bought, entered=entered_terms) for line in lines]
    return [(o.discount, o.record(entered_code=entered_terms.code if entered_terms else None)) for o in offers]


@dataclass(frozen=True)
class Quote:
    plan_id: int
    name: str
    price: int
    discount: int
    net: int
    tax: int
    gross: int
    promotion: dict


def quote(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    plan_ids: list[int],
    promotion_code: str | None = None,
    now: dt.datetime | None = None,
) -> list[Quote]:
    """What an order would cost with today's promotions; writes nothing."""
    actor.require(Perm.READ)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    from punchcard.tenancy.models import Centre

    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    if not plan_ids or len(plan_ids) > billing.MAX_ORDER_ITEMS:
        raise InvalidInput(f"name 1 to {billing.MAX_ORDER_ITEMS} plans", field="plan_ids")
    versions = [
        scoped_get(Plan, tenant=tenant, pk=pid, field=f"plan_ids[{i}]").current for i, pid in enumerate(plan_ids)
    ]
    offers = offers_for_order(
        tenant=tenant, patient=patient, day=local_date(now, centre), versions=versions, code=promotion_code
    )
    out = []
    for version, (discount, record) in zip(versions, offers):
        split = split_tax(version.price - discount, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
        out.append(
            Quote(version.plan_id, version.name, version.price, discount, split.net, split.tax, split.gross, record)
        )
    return out


# ---------------------------------------------------------------- claim codes: making them


@dataclass
class IssuedCode:
    code: ClaimCode
    plaintext: str | None  # shown once; None when an idempotent repeat answers with codes made before

    @property
    def display(self) -> str | None:
        return claim_codes.display(self.plaintext) if self.plaintext else None


@dataclass
class ClaimOrder:
    order: Order
    codes: list[IssuedCode]


def _new_code(**fields) -> IssuedCode:
    """A fresh code row; a digest collision (2^-65) just draws again."""
    for _ in range(5):
        plaintext = claim_codes.generate()
        try:
            with transaction.atomic():
                row = ClaimCode.objects.create(
                    digest=claim_codes.digest(plaintext), hint=claim_codes.hint(plaintext), **fields
                )
            return IssuedCode(row, plaintext)
        except IntegrityError:  # pragma: no cover - astronomically unlikely
            continue
    raise AssertionError("could not draw a unique claim code")


def _expiry(expires_on, valid_days, today: dt.date) -> dt.date | None:
    if expires_on is not None:
        expires_on = _date(expires_on, "expires_on")
        if expires_on < today:
            raise InvalidInput("a code cannot expire before today", field="expires_on")
        return expires_on
    if valid_days is None:
        return None
    return today + dt.timedelta(days=_whole(valid_days, "valid_days", low=1, high=3650) - 1)


@transaction.atomic
def place_claim_order(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer_id: int,
    centre_id: int,
    plan_id: int,
    quantity: int = 1,
    kind: str = ClaimKind.BULK,
    start_date: dt.date | None = None,
    expires_on: dt.date | None = None,
    valid_days: int | None = DEFAULT_CODE_VALID_DAYS,
    recipient: str = "",
    message: str = "",
    credited_staff_id: int | None = None,
    promotion_code: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> ClaimOrder:
    """A bulk order (a company buys `quantity` packages) or a gift: an order to the buyer with one line per
    code. The codes open when the order is paid; each claim makes a package in the claimant's name.

    The buyer is a patient record standing for the payer (a company is a customer account like any other).
    The codes are in the answer, once: only their digests are kept.
    """
    actor.require(Perm.SELL)
    now = now or clock.now()
    if kind not in (ClaimKind.BULK, ClaimKind.GIFT):
        raise InvalidInput("kind must be bulk or gift", field="kind")
    limit = MAX_BULK_CODES if kind == ClaimKind.BULK else MAX_GIFT_CODES
    quantity = _whole(quantity, "quantity", low=1, high=limit)
    recipient = _text(recipient, "recipient", max_length=200, required=False)
    message = _text(message, "message", max_length=500, required=False)
    if idempotency_key:
        existing = Order.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing is not None:
            issued = selectors.codes_of_order(tenant, existing.id)
            if not issued:
                raise Conflict(
                    "this idempotency key was used for a different order",
                    code="idempotency_conflict",
                    field="idempotency_key",
                )
            if len(issued) != quantity or issued[0].kind != kind:
                raise Conflict(
                    "this idempotency key was used for a different claim-code order",
                    code="idempotency_conflict",
                    field="idempotency_key",
                )
    order = billing.place_order(
        tenant=tenant,
        actor=actor,
        patient_id=buyer_id,
        centre_id=centre_id,
        items=[billing.OrderItem(plan_id=plan_id, start_date=start_date)] * quantity,
        credited_staff_id=credited_staff_id,
        idempotency_key=idempotency_key,
        promotion_code=promotion_code,
        max_items=limit,
        now=now,
    )
    made = selectors.codes_of_order(tenant, order.id)
    if made:  # the same request again: the codes were shown the first time
        return ClaimOrder(order, [IssuedCode(code, None) for code in made])
    if order.status != OrderStatus.OPEN:
        # A free order activates at once, which would make packages for the buyer instead of codes.
        raise InvalidInput("a bulk or gift order must have something to pay", field="plan_id")
    expiry = _expiry(expires_on, valid_days, local_date(now, order.centre))
    issued = [
        _new_code(
            tenant=tenant,
            kind=kind,
            status=ClaimStatus.UNPAID,
            buyer_id=buyer_id,
            order_line=line,
            gross=line.gross,
            recipient=recipient,
            message=message,
            expires_on=expiry,
            created_at=now,
            created_by=actor.label,
        )
        for line in order.lines.order_by("id")
    ]
    audit(
        tenant=tenant,
        actor=actor,
        action=f"claim_order.{kind}",
        subject=order,
        now=now,
        data={
            "quantity": quantity,
            "codes": [i.code.hint for i in issued],
            "expires_on": expiry.isoformat() if expiry else None,
        },
    )
    return ClaimOrder(order, issued)


def hold_for_claim(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> bool:
    """Called by billing when an order is paid: a line sold as a claim code defers its value on the code.

    Returns False for an ordinary line (billing then creates its package as usual).
    """
    code = ClaimCode.objects.select_for_update().filter(order_line=line).first()
    if code is None:
        return False
    if code.status != ClaimStatus.UNPAID:  # pragma: no cover - an order activates once
        raise AssertionError(f"claim code {code.id} is {code.status}, not unpaid")
    code.status, code.opened_at, code.deferred_value, code.gross = ClaimStatus.OPEN, now, line.net, line.gross
    code.save(update_fields=["status", "opened_at", "deferred_value", "gross"])
    journal.record(
        tenant=order.tenant,
        kind="sale",
        event=("claim_code", code.id),
        at=now,
        date=local_date(now, order.centre),
        centre=order.centre,
        patient=order.patient,
        memo=f"{line.plan_version.name} sold as claim code …{code.hint} on order {order.number}",
        postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line={None: line.net}),
    )
    audit(
        tenant=order.tenant,
        actor=actor,
        action="claim_code.open",
        subject=code,
        now=now,
        data={"order": order.number, "held": line.net},
    )
    return True


@transaction.atomic
def create_transfer_code(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    expires_on: dt.date | None = None,
    valid_days: int | None = DEFAULT_TRANSFER_VALID_DAYS,
    reason: str = "",
    now: dt.datetime | None = None,
) -> IssuedCode:
    """A one-time code that moves a transferable package to whoever claims it (SPEC §7)."""
    actor.require(Perm.TRANSFER)
    now = now or clock.now()
    package = packages.lock_package(tenant, package_id)
    if not package.plan_version.transferable:
        from punchcard.domain.errors import RuleViolation

        raise RuleViolation("this package is not transferable", code="not_transferable")
    today = package_selectors.today_for(package, now)
    ensure_allowed(Action.TRANSFER, package_selectors.status_of(package, packages.lines_of(package), today))
    if ClaimCode.objects.filter(package=package, kind=ClaimKind.TRANSFER, status=ClaimStatus.OPEN).exists():
        raise Conflict(
            "the package already has an open transfer code; revoke it first",
            code="transition_not_allowed",
            field="package_id",
        )
    issued = _new_code(
        tenant=tenant,
        kind=ClaimKind.TRANSFER,
        status=ClaimStatus.OPEN,
        buyer_id=package.holder_id,
        package=package,
        expires_on=_expiry(expires_on, valid_days, today),
        created_at=now,
        opened_at=now,
        created_by=actor.label,
        message=_text(reason, "reason", max_length=500, required=False),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.transfer",
        subject=package,
        now=now,
        data={"code": issued.code.hint, "claim_code_id": issued.code.id},
    )
    return issued


# ---------------------------------------------------------------- claiming


def _buckets(actor: Actor, client_ip: str | None) -> list[str]:
    buckets = [f"actor:{actor.label}"[:200]]
    if client_ip:
        buckets.append(f"ip:{client_ip}"[:200])
    return buckets


def _limits(tenant: Tenant) -> tuple[int, dt.timedelta]:
    conf = (tenant.settings or {}).get("claim_rate_limit") or {}
    return int(conf.get("failures", FAILURE_LIMIT)), dt.timedelta(minutes=int(conf.get("window_minutes", 15)))


def _check_rate(tenant: Tenant, buckets: list[str], now: dt.datetime) -> None:
    limit, window = _limits(tenant)
    for bucket in buckets:
        recent = ClaimFailure.objects.filter(tenant=tenant, bucket=bucket, at__gt=now - window)
        if recent.count() >= limit:
            oldest = recent.order_by("at").values_list("at", flat=True).first()
            retry_after = max(1, math.ceil((oldest + window - now).total_seconds()))
            raise RateLimited(
                f"too many failed claim attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
                bucket=bucket.split(":", 1)[0],
            )


def _note_failure(tenant: Tenant, buckets: list[str], code: str, now: dt.datetime) -> None:
    _, window = _limits(tenant)
    with transaction.atomic():
        ClaimFailure.objects.bulk_create(ClaimFailure(tenant=tenant, bucket=b, at=now, code=code) for b in buckets)
        ClaimFailure.objects.filter(tenant=tenant, bucket__in=buckets, at__lt=now - window).delete()


_CLAIM_REFUSALS = {
    "claim_code_mistyped",
    "claim_code_unknown",
    "claim_code_used",
    "claim_code_revoked",
    "claim_code_expired",
    "claim_code_unpaid",
}


def claim_code(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    patient_id: int,
    client_ip: str | None = None,
    now: dt.datetime | None = None,
) -> ClaimCode:
    """Claim a code for a patient: a bulk or gift code makes the package in their name; a transfer code
    moves its package to them. Claiming the same code again for the same patient answers the same.

    Refusals have distinct codes (mistyped, unknown, used, revoked, expired, unpaid). Every refusal is
    counted against the caller and the client IP; past FAILURE_LIMIT in FAILURE_WINDOW, RateLimited.
    The failure counter is written in its own transaction, so call this outside any other transaction.
    """
    actor.require(Perm.SELL)
    now = now or clock.now()
    buckets = _buckets(actor, client_ip)
    _check_rate(tenant, buckets, now)
    try:
        with transaction.atomic():
            return _claim(tenant=tenant, actor=actor, text=code, patient_id=patient_id, now=now)
    except (InvalidInput, NotFound, Conflict) as exc:
        if exc.code in _CLAIM_REFUSALS:
            _note_failure(tenant, buckets, exc.code, now)
        raise


def _claim(*, tenant: Tenant, actor: Actor, text: str, patient_id: int, now: dt.datetime) -> ClaimCode:
    try:
        canonical = claim_codes.normalise(text)
    except claim_codes.Malformed as exc:
        raise InvalidInput(f"not a valid claim code: {exc}", code="claim_code_mistyped", field="code") from None
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    code = ClaimCode.objects.select_for_update().filter(tenant=tenant, digest=claim_codes.digest(canonical)).first()
    if code is None:
        raise NotFound(
            "no claim code like this exists; check it was typed as printed", code="claim_code_unknown", field="code"
        )
    if code.status == ClaimStatus.CLAIMED:
        if code.claimant_id == patient.id:
            return code  # the same claim again
        raise Conflict(f"the code …{code.hint} was already claimed", code="claim_code_used", field="code")
    if code.status == ClaimStatus.REVOKED:
        raise Conflict(f"the code …{code.hint} was revoked", code="claim_code_revoked", field="code")
    if code.status == ClaimStatus.UNPAID:
        raise Conflict(f"the order behind code …{code.hint} is not paid yet", code="claim_code_unpaid", field="code")
    if code.kind == ClaimKind.TRANSFER:
        package = packages.lock_package(tenant, code.package_id)
        today = package_selectors.today_for(package, now)
    else:
        line = OrderLine.objects.select_related(
            "order__centre", "order__tenant", "order__patient", "order__credited_staff", "plan_version"
        ).get(pk=code.order_line_id)
        today = local_date(now, line.order.centre)
    if code.status == ClaimStatus.EXPIRED or (code.expires_on is not None and today > code.expires_on):
        raise Conflict(
            f"the code …{code.hint} expired after {code.expires_on.isoformat()}",
            code="claim_code_expired",
            field="code",
        )
    if code.kind == ClaimKind.TRANSFER:
        if package.holder_id != code.buyer_id:
            raise Conflict(
                f"the code …{code.hint} no longer applies: the package changed hands",
                code="claim_code_revoked",
                field="code",
            )
        # The manager who made the code authorised the transfer; the claim carries it out.
        delegate = Actor(
            label=f"{actor.label} (transfer code …{code.hint})",
            role=Role.MANAGER,
            source=actor.source,
            staff_id=actor.staff_id,
        )
        packages.transfer_package(
            tenant=tenant,
            actor=delegate,
            package_id=package.id,
            to_patient_id=patient.id,
            reason=f"claimed transfer code …{code.hint}",
            now=now,
        )
    else:
        package = billing.activate_package(
            order=line.order, line=line, actor=actor, now=now, holder=patient, claim_code_id=code.id
        )
        code.package = package
    code.status, code.claimed_at, code.claimed_by, code.claimant = ClaimStatus.CLAIMED, now, actor.label, patient
    code.deferred_value = 0
    code.save(update_fields=["status", "claimed_at", "claimed_by", "claimant", "package", "deferred_value"])
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.claim",
        subject=code,
        now=now,
        data={"patient_id": patient.id, "package_id": code.package_id, "kind": code.kind},
    )
    return code


# ---------------------------------------------------------------- revoking, reissuing, expiring


def _locked_code(tenant: Tenant, code_id) -> ClaimCode:
    return scoped_get(
        ClaimCode, tenant=tenant, pk=code_id, field="code_id", queryset=ClaimCode.objects.select_for_update()
    )


def _refuse_closed(code: ClaimCode) -> None:
    if code.status == ClaimStatus.CLAIMED:
        raise Conflict(f"the code …{code.hint} was already claimed", code="claim_code_used")
    if code.status == ClaimStatus.REVOKED:
        raise Conflict(f"the code …{code.hint} was already revoked", code="claim_code_revoked")
    if code.status == ClaimStatus.EXPIRED:
        raise Conflict(f"the code …{code.hint} has expired", code="claim_code_expired")


def _collected(code: ClaimCode) -> int:
    """What the buyer has paid for this code (a partly paid pay-later order counts in proportion)."""
    order = code.order_line.order
    settled = order.paid + order.credit_applied
    return code.gross if settled >= order.gross else code.gross * settled // order.gross


@transaction.atomic
def revoke_claim_code(
    *,
    tenant: Tenant,
    actor: Actor,
    code_id: int,
    reason: str,
    refund: bool = True,
    amount: int | None = None,
    now: dt.datetime | None = None,
) -> ClaimCode:
    """Revoke an open code. A paid bulk/gift code's held value is refunded to the buyer's credit (any amount
    from 0 to what was paid for it, default all of it; the difference is a refund adjustment), or with
    refund=False forfeited as breakage. A transfer code just stops working."""
    actor.require(Perm.REFUND)
    now = now or clock.now()
    reason = _text(reason, "reason", max_length=2000)
    code = _locked_code(tenant, code_id)
    _refuse_closed(code)
    if code.status == ClaimStatus.UNPAID:
        raise Conflict("the order is not paid: cancel the order instead", code="claim_code_unpaid")
    data = {"refund": refund}
    if code.kind != ClaimKind.TRANSFER:
        order = Order.objects.select_related("centre").get(pk=code.order_line.order_id)
        held, day = code.deferred_value, local_date(now, order.centre)
        if refund:
            collected = _collected(code)
            amount = collected if amount is None else amount
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= collected:
                raise InvalidInput(
                    f"a refund must be between 0 and the {collected} paid for the code",
                    code="refund_out_of_range",
                    field="amount",
                    collected=collected,
                )
            postings = posting.refund_to_credit(amount=amount, value_by_line={None: held})
            kind, memo = "refund", f"claim code …{code.hint} revoked, refunded to credit: {reason}"
            data["amount"] = amount
        else:
            postings = posting.breakage(value_by_line={None: held}) if held else []
            kind, memo = "breakage", f"claim code …{code.hint} revoked, forfeited: {reason}"
        if postings:
            journal.record(
                tenant=tenant,
                kind=kind,
                event=("claim_code", code.id),
                at=now,
                date=day,
                centre=order.centre,
                patient=code.buyer,
                memo=memo,
                postings=postings,
            )
    code.status, code.deferred_value = ClaimStatus.REVOKED, 0
    code.closed_at, code.closed_by, code.closed_reason = now, actor.label, reason
    code.save(update_fields=["status", "deferred_value", "closed_at", "closed_by", "closed_reason"])
    audit(tenant=tenant, actor=actor, action="claim_code.revoke", subject=code, reason=reason, now=now, data=data)
    return code


@transaction.atomic
def reissue_claim_code(
    *, tenant: Tenant, actor: Actor, code_id: int, reason: str, now: dt.datetime | None = None
) -> IssuedCode:
    """A lost or leaked code: the same record (and the value it holds) gets a new code; the old one stops."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    reason = _text(reason, "reason", max_length=2000)
    code = _locked_code(tenant, code_id)
    _refuse_closed(code)
    old_hint = code.hint
    for _ in range(5):
        plaintext = claim_codes.generate()
        digest = claim_codes.digest(plaintext)
        if not ClaimCode.objects.filter(tenant=tenant, digest=digest).exists():
            break
    code.digest, code.hint, code.reissued = digest, claim_codes.hint(plaintext), code.reissued + 1
    code.save(update_fields=["digest", "hint", "reissued"])
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.reissue",
        subject=code,
        reason=reason,
        now=now,
        data={"old": old_hint, "new": code.hint},
    )
    return IssuedCode(code, plaintext)


def expire_claim_codes(
    *, as_of: dt.date | None = None, tenant: Tenant | None = None, now: dt.datetime | None = None
) -> int:
    """The nightly sweep: open codes past their last day expire; a paid code's held value becomes breakage.

    Idempotent; each code is its own short transaction. `as_of` is the local date (default: today, UTC).
    """
    now = now or clock.now()
    day = as_of or now.date()
    candidates = (
        ClaimCode.objects.filter(status=ClaimStatus.OPEN, expires_on__lt=day)
        .values_list("id", flat=True)
        .order_by("id")
    )
    if tenant is not None:
        candidates = candidates.filter(tenant=tenant)
    sweeper = Actor(label="sweep", role=Role.ADMIN, source="claim-code expiry")
    expired = 0
    for code_id in list(candidates):
        with transaction.atomic():
            code = ClaimCode.objects.select_for_update().select_related("tenant").get(pk=code_id)
            if code.status != ClaimStatus.OPEN or code.expires_on is None or code.expires_on >= day:
                continue
            if code.deferred_value:
                order = Order.objects.select_related("centre").get(pk=code.order_line.order_id)
                journal.record(
                    tenant=code.tenant,
                    kind="breakage",
                    event=("claim_code", code.id),
                    at=now,
                    date=as_of or local_date(now, order.centre),
                    centre=order.centre,
                    patient=code.buyer,
                    memo=f"claim code …{code.hint} expired unclaimed",
                    postings=posting.breakage(value_by_line={None: code.deferred_value}),
                )
            code.status, code.deferred_value = ClaimStatus.EXPIRED, 0
            code.closed_at, code.closed_by = now, sweeper.label
            code.closed_reason = f"expired after {code.expires_on.isoformat()}"
            code.save(update_fields=["status", "deferred_value", "closed_at", "closed_by", "closed_reason"])
            audit(tenant=code.tenant, actor=sweeper, action="claim_code.expire", subject=code, now=now)
            expired += 1
    return expired
