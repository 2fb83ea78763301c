"""Memberships (SPEC §10): plans in tier groups with immutable versions, memberships, their billing
periods, invoices, payments and charge attempts.

A period is a row, unique per (membership, start): a period is never billed twice, however many ticks
run at once. Invoices are numbered without gaps per tenant (billing's "invoice" sequence); their money
is in the journal (Dr receivable / Cr deferred membership revenue and tax payable), every row here a
cache of it that `punchcard reconcile` proves.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import F, Q

from punchcard.catalogue.models import PlanStatus
from punchcard.domain.dunning import DunningSchedule
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.membership_terms import (
    BenefitsOnCancel,
    Cancellation,
    PauseRules,
    Policies,
    ProrationBilling,
    Trial,
)
from punchcard.domain.periods import Frequency
from punchcard.tenancy.models import Centre, Patient, Tenant


def _choices(enum) -> list[tuple[str, str]]:
    return [(e.value, e.value.replace("_", " ")) for e in enum]


class TierGroup(models.Model):
    """Gold / Platinum / VIP: plans of one group rank against each other (upgrades go up the ranks)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="tier_group_code_unique")]

    def __str__(self):
        return self.name


class MembershipPlan(models.Model):
    """A membership SKU. Its terms live in versions; the newest is the one subscribed to."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=40)
    tier_group = models.ForeignKey(TierGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="plans")
    rank = models.PositiveIntegerField(default=0)  # higher is the better tier within the group
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.ON_SALE)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="membership_plan_code_unique"),
            models.UniqueConstraint(
                fields=["tenant", "tier_group", "rank"],
                condition=Q(tier_group__isnull=False),
                name="membership_plan_rank_unique",
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def benefits_code(self) -> str:
        """The catalogue plan holding this plan's benefits (kind membership_benefits)."""
        return f"membership-benefits-{self.code}"


class MembershipPlanVersion(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    # The price per period of each frequency offered (minor units, as charged: tax included or not).
    monthly_price = models.BigIntegerField(null=True, blank=True)
    quarterly_price = models.BigIntegerField(null=True, blank=True)
    annual_price = models.BigIntegerField(null=True, blank=True)
    tax_rate_bp = models.PositiveIntegerField(default=0)
    tax_inclusive = models.BooleanField(default=True)
    # Benefits per period: a catalogue version of kind membership_benefits (None: no sessions included).
    benefits = models.ForeignKey(
        "catalogue.PlanVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    included_products = models.JSONField(default=list, blank=True)  # [{"name", "quantity"}] per period
    discount_bp = models.PositiveIntegerField(default=0)  # on everything else the member buys
    perks = models.JSONField(default=list, blank=True)
    trial = models.JSONField(default=dict, blank=True)  # domain.membership_terms.Trial.to_dict()
    cancellation = models.CharField(max_length=16, choices=_choices(Cancellation), default=Cancellation.PERIOD_END)
    notice_days = models.PositiveIntegerField(default=0)
    minimum_commitment_periods = models.PositiveIntegerField(default=0)
    benefits_on_cancel = models.CharField(
        max_length=24, choices=_choices(BenefitsOnCancel), default=BenefitsOnCancel.UNTIL_PERIOD_END
    )
    pause = models.JSONField(default=dict, blank=True)  # domain.membership_terms.PauseRules.to_dict()
    dunning_retry_days = models.JSONField(default=list)
    dunning_final_action = models.CharField(max_length=8, default="cancel")
    proration_billing = models.CharField(
        max_length=16, choices=_choices(ProrationBilling), default=ProrationBilling.NEXT_INVOICE
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="membership_plan_version_unique"),
            models.CheckConstraint(
                condition=Q(monthly_price__isnull=False)
                | Q(quarterly_price__isnull=False)
                | Q(annual_price__isnull=False),
                name="membership_version_has_a_price",
            ),
            models.CheckConstraint(
                condition=(Q(monthly_price__isnull=True) | Q(monthly_price__gte=0))
                & (Q(quarterly_price__isnull=True) | Q(quarterly_price__gte=0))
                & (Q(annual_price__isnull=True) | Q(annual_price__gte=0)),
                name="membership_prices_non_negative",
            ),
            models.CheckConstraint(condition=Q(discount_bp__lte=10_000), name="membership_discount_at_most_100"),
        ]

    def __str__(self):
        return f"{self.name} v{self.number}"

    def prices(self) -> dict[Frequency, int]:
        found = {
            Frequency.MONTHLY: self.monthly_price,
            Frequency.QUARTERLY: self.quarterly_price,
            Frequency.ANNUAL: self.annual_price,
        }
        return {frequency: price for frequency, price in found.items() if price is not None}

    def price_for(self, frequency: Frequency) -> int | None:
        return self.prices().get(Frequency(frequency))

    @property
    def trial_terms(self) -> Trial:
        return Trial(**self.trial) if self.trial else Trial()

    @property
    def dunning(self) -> DunningSchedule:
        return DunningSchedule(retry_days=tuple(self.dunning_retry_days), final_action=self.dunning_final_action)

    @property
    def policies(self) -> Policies:
        return Policies(
            cancellation=self.cancellation,
            notice_days=self.notice_days,
            minimum_commitment_periods=self.minimum_commitment_periods,
            benefits_on_cancel=self.benefits_on_cancel,
            pause=PauseRules(**self.pause) if self.pause else PauseRules(),
            dunning=self.dunning,
            proration_billing=self.proration_billing,
        )


class Membership(models.Model):
    """One patient's membership. Its status is stored and changes only by domain.membership_status.ALLOWED."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="memberships")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")  # where it was sold: its days
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="memberships")
    version = models.ForeignKey(MembershipPlanVersion, on_delete=models.PROTECT, related_name="memberships")
    frequency = models.CharField(max_length=16, choices=_choices(Frequency))
    status = models.CharField(max_length=16, choices=_choices(MembershipStatus))
    start_date = models.DateField()
    trial_end = models.DateField(null=True, blank=True)  # the first day after the trial
    anchor = models.DateField()  # the billing anchor: the first paid period's start (SPEC §10.2)
    price = models.BigIntegerField()  # per paid period, as charged (the version's price for the frequency)
    # The stored payment method charged at each period start; None: paid at the front desk.
    payment_method = models.ForeignKey(
        "billing.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_billing_date = models.DateField(null=True, blank=True)  # the next period's start; None once ended
    # Dunning: the first failure of the open renewal, how many attempts failed, when the next one is due.
    failed_on = models.DateField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    next_retry_on = models.DateField(null=True, blank=True)
    # A cancellation asked for at a period end: its first day without the membership (status cancelling).
    cancel_on = models.DateField(null=True, blank=True)
    status_changed_at = models.DateTimeField()
    status_changed_by = models.CharField(max_length=200)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="membership_idempotency_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="membership_price_non_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "patient"]),
            models.Index(fields=["tenant", "next_billing_date"]),
            models.Index(fields=["tenant", "next_retry_on"]),
        ]

    def __str__(self):
        return f"Membership {self.pk} ({self.version.name})"


class PeriodKind(models.TextChoices):
    TRIAL = "trial", "Trial"
    PAID = "paid", "Paid period"
    CHANGE = "change", "Rest of a period after a change"  # from a plan change's day to the period's end


class MembershipPeriod(models.Model):
    """One billing period [start, end) of a membership, and the invoice that bills it (none for a free trial)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveIntegerField()  # 1, 2, … in order (a trial is the first)
    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    start = models.DateField()
    end = models.DateField()  # the next period's start
    recognised = models.BigIntegerField(default=0)  # membership revenue recognised so far (cache of the journal)
    # Cancelled at once: the day its service stopped (the days from it on earn nothing; refunded or not).
    stopped_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["membership_id", "number"]
        constraints = [
            # A change's rest of the period is made under the membership's lock, never by a racing tick; on a
            # period's first day it starts with the period it replaces.
            models.UniqueConstraint(
                fields=["membership", "start"], condition=~Q(kind="change"), name="membership_period_billed_once"
            ),
            models.UniqueConstraint(fields=["membership", "number"], name="membership_period_number_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="membership_period_not_empty"),
            models.CheckConstraint(condition=Q(recognised__gte=0), name="membership_period_recognised_non_negative"),
        ]

    @property
    def last_day(self):
        return self.end - dt.timedelta(days=1)


class Invoice(models.Model):
    """A numbered membership invoice (SPEC §10.2): gap-free per tenant, tax shown; its lines never change."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="invoices")
    period = models.OneToOneField(
        MembershipPeriod, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=_choices(InvoiceStatus), default=InvoiceStatus.OPEN)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()
    credit_applied = models.BigIntegerField(default=0)  # the patient's credit, applied first
    paid = models.BigIntegerField(default=0)  # payments other than credit
    written_off = models.BigIntegerField(default=0)
    # The unused part of its period given back to the patient's credit: by a plan change on a later day of
    # the period, or by an immediate cancellation with refund_unused.
    credited_net = models.BigIntegerField(default=0)
    credited_tax = models.BigIntegerField(default=0)
    issued_on = models.DateField()  # local date at the membership's centre
    issued_at = models.DateTimeField()
    issued_by = models.CharField(max_length=200)
    status_changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="invoice_number_unique"),
            models.CheckConstraint(condition=Q(net__gte=0) & Q(tax__gte=0), name="invoice_amounts_non_negative"),
            models.CheckConstraint(condition=Q(gross=F("net") + F("tax")), name="invoice_gross_is_net_plus_tax"),
            models.CheckConstraint(
                condition=Q(credit_applied__gte=0)
                & Q(paid__gte=0)
                & Q(written_off__gte=0)
                & Q(gross__gte=F("credit_applied") + F("paid") + F("written_off")),
                name="invoice_settled_within_gross",
            ),
            models.CheckConstraint(
                condition=Q(credited_net__gte=0)
                & Q(credited_tax__gte=0)
                & Q(credited_net__lte=F("net"))
                & Q(credited_tax__lte=F("tax")),
                name="invoice_credited_within_amounts",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"])]

    @property
    def due(self) -> int:
        """What is still owed (nothing once void or written off)."""
        if self.status in (InvoiceStatus.VOID, InvoiceStatus.PAID):
            return 0
        return self.gross - self.credit_applied - self.paid - self.written_off

    @property
    def collectable(self) -> int:
        """What a payment may still settle: an uncollectible invoice's written-off part included."""
        if self.status in (InvoiceStatus.VOID, InvoiceStatus.PAID):
            return 0
        return self.gross - self.credit_applied - self.paid


class InvoiceLineKind(models.TextChoices):
    PERIOD_FEE = "period_fee", "Period fee"
    TRIAL = "trial", "Trial"
    PRORATION = "proration", "Proration"
    FEE = "fee", "Fee"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=InvoiceLineKind.choices)
    description = models.CharField(max_length=300)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()

    class Meta:
        ordering = ["position", "id"]


class InvoicePayment(models.Model):
    """Money received against an invoice: the patient's credit, a charge of the stored method, or the desk."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16)  # billing.Tender values
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="invoice_payment_idempotency_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_payment_positive"),
        ]


class AttemptOutcome(models.TextChoices):
    PENDING = "pending", "Sent to the provider"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ChargeAttempt(models.Model):
    """One charge of the stored method for an invoice: claimed (committed) before the provider is called,
    its outcome recorded after, so a crash in between is retried with the same provider idempotency key."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["invoice_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="charge_attempt_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="charge_attempt_positive"),
        ]

    @property
    def provider_key(self) -> str:
        """The idempotency key the provider sees: one per invoice attempt."""
        return f"invoice-{self.invoice_id}-attempt-{self.number}"


class NoticeKind(models.TextChoices):
    RENEWAL_UPCOMING = "renewal_upcoming", "Renewal upcoming (14 days before)"
    TRIAL_WILL_END = "trial_will_end", "Trial will end (3 days before)"
    PRICE_CHANGE_NOTICE = "price_change_notice", "Price change (N days before the new price applies)"


class MembershipNotice(models.Model):
    """A notice told once per membership, kind and day it is about, however often the daily job runs."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    about = models.DateField()  # the renewal date, the trial's end, or the day a new price applies
    told_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "kind", "about"], name="membership_notice_once"),
        ]


class ChangeEffective(models.TextChoices):
    NOW = "now", "Now"
    PERIOD_END = "period_end", "At the period end"


class ChangeStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled for the period end"
    APPLIED = "applied", "Applied"
    WITHDRAWN = "withdrawn", "Withdrawn (the membership was cancelled first)"


class MembershipChange(models.Model):
    """An upgrade, downgrade or frequency change (SPEC §10.2) and the figures its preview showed: applied at
    once (credit and charge prorated), or scheduled for the period end and applied by the daily run."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=16)  # upgrade, downgrade, frequency_change
    from_version = models.ForeignKey(MembershipPlanVersion, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(MembershipPlanVersion, on_delete=models.PROTECT, related_name="+")
    from_frequency = models.CharField(max_length=16, choices=_choices(Frequency))
    to_frequency = models.CharField(max_length=16, choices=_choices(Frequency))
    effective = models.CharField(max_length=16, choices=ChangeEffective.choices)
    effective_on = models.DateField()
    status = models.CharField(max_length=16, choices=ChangeStatus.choices)
    proration_billing = models.CharField(max_length=16, choices=_choices(ProrationBilling))
    convention = models.CharField(max_length=24)  # the day count the figures were made with
    # The unused part of the old period given back to credit, and the rest of the period at the new plan.
    credited_invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_description = models.CharField(max_length=300, blank=True)
    credit_net = models.BigIntegerField(default=0)
    credit_tax = models.BigIntegerField(default=0)
    charge = models.BigIntegerField(default=0)  # gross, as the new plan charges it
    unused_days = models.PositiveIntegerField(default=0)
    period_days = models.PositiveIntegerField(default=0)
    # The invoice that bills the charge (the proration invoice, or the next period's under next_invoice).
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lines = models.JSONField(default=list)  # the invoice lines the preview showed: [{kind, description, net, …}]
    sessions = models.JSONField(default=list)  # the new plan's benefits for the rest: [{service_ids, sessions}]
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    applied_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["membership_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="membership_change_idempotency_unique"),
            models.UniqueConstraint(
                fields=["membership"], condition=Q(status="scheduled"), name="membership_change_one_scheduled"
            ),
            models.CheckConstraint(
                condition=Q(credit_net__gte=0) & Q(credit_tax__gte=0) & Q(charge__gte=0),
                name="membership_change_amounts_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "effective_on"])]


class MembershipPause(models.Model):
    """A pause (SPEC §10.2): from `start` to the day before `until`, or to `resumed_on` when the member came
    back early. It stretched `period` (the one running when it began) by its length; its days earn nothing."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="pauses")
    period = models.ForeignKey(MembershipPeriod, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateField()
    until = models.DateField()  # the planned resume day
    resumed_on = models.DateField(null=True, blank=True)  # the actual resume day, once back
    fee_invoice = models.OneToOneField(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["membership_id", "start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="membership_pause_idempotency_unique"),
            models.CheckConstraint(condition=Q(until__gt=F("start")), name="membership_pause_not_empty"),
            models.CheckConstraint(
                condition=Q(resumed_on__isnull=True) | (Q(resumed_on__gte=F("start")) & Q(resumed_on__lte=F("until"))),
                name="membership_pause_resumed_within",
            ),
        ]

    @property
    def back_on(self) -> dt.date:
        """The first day back: the actual resume day, or the planned one while the pause runs."""
        return self.resumed_on or self.until
