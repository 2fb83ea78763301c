"""The reports' summaries: totals of the append-only ledgers, kept up to an id watermark (reports.summaries).

Every figure can still be computed from the journal, the session ledger, orders and redemptions alone;
these tables only save the reports from re-reading years of history. A summary row adds up the source
rows of one fold (`upto` is the watermark that fold moved to) for one combination of the dimensions the
reports filter and group by. Rows are only ever inserted: a late entry (a back-dated session, a
correction dated in an old period) is added to its own day or interval by a later fold, in a row of its
own, and readers add the rows up. No foreign keys: these are derived figures, and a fold writes tens of
thousands of rows at once; the dimensions are still declared as relations (db_constraint=False) so the
reports group by the plan's code or the centre's code exactly as they do over the source tables.
"""

from __future__ import annotations

from django.db import models

from punchcard.catalogue.models import Plan
from punchcard.tenancy.models import Centre, Service, StaffMember, Tenant


def _dimension(model, **kw):
    return models.ForeignKey(
        model, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", **kw
    )


class Watermark(models.Model):
    """How far a source table (journal postings, journal entries, session entries) is folded.

    `folded_to` is the highest source id included in that source's summaries: rows above it are read
    live. On PostgreSQL the next watermark waits as a `candidate` until every transaction that could
    still commit an id at or below it has ended (`barrier`: see reports.summaries)."""

    source = models.CharField(max_length=32, unique=True)
    folded_to = models.BigIntegerField(default=0)
    candidate = models.BigIntegerField(null=True, blank=True)
    candidate_at = models.DateTimeField(null=True, blank=True)
    barrier = models.BigIntegerField(null=True, blank=True)  # a PostgreSQL transaction id (xid8)
    folded_at = models.DateTimeField(null=True, blank=True)


class MoneyDay(models.Model):
    """Journal postings per tenant, accounting day (the entry's local `date`), account and entry kind.

    `side` is what the liability report splits deferred revenue into: "package" (a posting on a package
    line), "code" (value held on a claim code) or "". The centre and plan are the package's (sold at,
    plan) on the package side, the entry's centre and the code's plan on the code side."""

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    day = models.DateField()
    account_id = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    side = models.CharField(max_length=8)
    centre = _dimension(Centre)
    plan = _dimension(Plan)
    amount = models.BigIntegerField()  # + debit, − credit, minor units
    postings = models.IntegerField()
    upto = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "account_id", "day"])]


class SessionInterval(models.Model):
    """Session entries per tenant, 15 minutes of `at` (UTC), kind and the package's centre and plan.

    Every zone's midnight falls on a quarter hour, so a report cuts days at midnight in any centre's
    zone exactly. `cause` tells apart what the liability roll-forward counts differently: a grant made
    by claiming a code ("code"), a cancellation by a refund ("refund") or by an upgrade ("upgrade")."""

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    start = models.DateTimeField()
    kind = models.CharField(max_length=16)
    cause = models.CharField(max_length=8)
    centre = _dimension(Centre)  # where the package was sold
    plan = _dimension(Plan)
    granted = models.BigIntegerField()
    redeemed = models.BigIntegerField()
    held = models.BigIntegerField()
    forfeited = models.BigIntegerField()
    value = models.BigIntegerField()
    upto = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "start"])]


class UsageDay(models.Model):
    """Redemptions per tenant, day (the redemption's local day), service, centre, practitioner and plan,
    from the session ledger's redeem (+1) and void (−1) entries: a voided redemption adds up to nothing."""

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    day = models.DateField()
    service = _dimension(Service)
    centre = _dimension(Centre)  # where the session was used
    practitioner = _dimension(StaffMember)
    plan = _dimension(Plan)
    redemptions = models.BigIntegerField()
    sessions = models.BigIntegerField()
    value = models.BigIntegerField()  # recognised, minor units
    upto = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "day"])]


class SalesDay(models.Model):
    """Package and upgrade lines sold per tenant, sale day (the sale entry's date), plan, the order's
    centre and its credited staff member, from the journal's sale entries."""

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    day = models.DateField()
    plan = _dimension(Plan)
    centre = _dimension(Centre)
    staff = _dimension(StaffMember)
    packages = models.BigIntegerField()
    list_value = models.BigIntegerField()
    discount = models.BigIntegerField()
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()
    upto = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "day"])]
