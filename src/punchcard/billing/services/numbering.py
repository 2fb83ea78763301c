"""Gap-free per-tenant sequences: order numbers and receipt numbers (SPEC §8.7).

A number is taken under its counter's row lock, held until commit, so takers of one sequence queue
there and a rolled-back transaction gives its number back. Take it after the rows the operation
locks by id (packages, orders, patients): the counter is the tenant-wide lock (DESIGN rule 10).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from punchcard.tenancy.models import Tenant

from ..models import Counter


def next_number(tenant: Tenant, name: str) -> int:
    """The next number of the tenant's sequence `name`; the counter stays locked until commit."""
    # no_key=True: only `value` changes, and it is no key (no foreign key points at a counter and no
    # unique constraint includes it), so FOR NO KEY UPDATE is the lock that fits.
    counter = Counter.objects.select_for_update(no_key=True).filter(tenant=tenant, name=name).first()
    if counter is None:
        try:
            with transaction.atomic():
                Counter.objects.create(tenant=tenant, name=name, value=0)
        except IntegrityError:
            pass  # created by a concurrent transaction; lock theirs below
        counter = Counter.objects.select_for_update(no_key=True).get(tenant=tenant, name=name)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value


def give_back(tenant: Tenant, name: str, number: int) -> None:
    """Return `number`, just taken with next_number and unused: its lock is still held, so it is the last."""
    Counter.objects.filter(tenant=tenant, name=name).update(value=number - 1)
