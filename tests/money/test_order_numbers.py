"""Order and receipt numbers are gap-free and unique, and taken as a sale's last writes, so concurrent
sales do not queue on the tenant's counter for the length of a sale (SPEC §8.7)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from punchcard.billing.models import Counter, Order, Receipt
from punchcard.billing.receipts.issuing import issue_receipt
from punchcard.billing.services.numbering import PENDING, next_number
from punchcard.ledger.models import JournalEntry
from punchcard.packages.models import EntryKind, SessionEntry
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic
from ..scenario import assert_reconciled


def _plan(clinic):
    return clinic.plan("physio-5", price=500000, lines=[clinic.line("physio", sessions=5)])


@pytest.mark.django_db
def test_a_sale_takes_its_number_last_and_every_text_names_it():
    clinic = Clinic.open()
    plan = _plan(clinic)
    clinic.sell(plan)  # order 1: the counter exists from here on
    with CaptureQueriesContext(connection) as ctx:
        package = clinic.sell(plan, patient=clinic.ravi)
    sql = [q["sql"] for q in ctx.captured_queries]
    taken = next(i for i, s in enumerate(sql) if '"billing_counter"' in s)
    # After the counter: the order's number (the same statement on PostgreSQL), then one UPDATE per
    # kind of text naming it (the two journal memos, the grant entry's data, the activation's audit).
    tail = [s.split()[0] for s in sql[taken + 1 :] if not s.startswith(("RELEASE", "SAVEPOINT"))]
    assert tail[-1:] == ["SELECT"]  # sell_package's answer, the package, read after the writes
    assert set(tail[:-1]) <= {"UPDATE"} and len(tail[:-1]) <= (3 if connection.vendor == "postgresql" else 4)
    assert taken > len(sql) - 10, "the counter was taken before the sale's other writes"

    order = Order.objects.get(lines__packages=package)
    assert order.number == 2
    entries = JournalEntry.objects.filter(postings__patient=clinic.ravi).distinct()
    memos = sorted(entries.values_list("memo", flat=True))
    assert memos == ["Physio 5 sold on order 2", "cash payment on order 2"]
    grant = SessionEntry.objects.get(package=package, kind=EntryKind.GRANT)
    assert grant.data == {"order": 2}
    activated = AuditEvent.objects.get(action="package.activate", subject_id=package.id)
    assert activated.data["order"] == 2
    assert not JournalEntry.objects.filter(memo__contains=PENDING).exists()
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_next_number_creates_the_counter_and_counts_up():
    # The contract other sequences (invoices) use: one upsert, the counter locked until commit.
    clinic = Clinic.open()
    assert [next_number(clinic.tenant, "invoice") for _ in range(3)] == [1, 2, 3]
    assert Counter.objects.get(tenant=clinic.tenant, name="invoice").value == 3


@pytest.mark.django_db
def test_a_receipt_is_numbered_once_and_last():
    clinic = Clinic.open()
    package = clinic.sell(_plan(clinic))
    order = Order.objects.get(lines__packages=package)
    receipt = issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=order.id)
    again = issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=order.id)
    assert (receipt.number, again.pk, Receipt.objects.get(pk=receipt.pk).facts["number"]) == (1, receipt.pk, 1)
    assert_reconciled(clinic.tenant)


class Rollback(Exception):
    pass


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_with_rollbacks_keep_numbers_gap_free_and_unique(run_concurrently):
    """Twelve sales at once for one tenant; every third is rolled back after it took its number (a
    failure at commit time). The committed orders are numbered 1…8 without a gap, and so are their
    receipts, issued concurrently as well."""
    clinic = Clinic.open()
    plan = _plan(clinic)
    patients = [clinic.asha, clinic.ravi, clinic.lata]

    def sale(i):
        def run():
            with transaction.atomic():
                package = clinic.sell(plan, patient=patients[i % 3])
                if i % 3 == 2:
                    raise Rollback(i)  # after number_last: the number is given back by the rollback
                return package

        return run

    outcomes = run_concurrently(*[sale(i) for i in range(12)])
    assert sum(isinstance(o, Rollback) for o in outcomes) == 4
    assert not [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, Rollback)], outcomes
    numbers = sorted(Order.objects.filter(tenant=clinic.tenant).values_list("number", flat=True))
    assert numbers == list(range(1, 9))  # 12 sales, 4 rolled back: 8 numbers, 1 to 8

    orders = list(Order.objects.filter(tenant=clinic.tenant).values_list("id", flat=True))

    def receipt(order_id, fail):
        def run():
            with transaction.atomic():
                made = issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=order_id)
                if fail:
                    raise Rollback(order_id)
                return made

        return run

    # Each order's receipt asked for twice at once (one issued, the other finds it), one more rolled back.
    calls = [receipt(o, False) for o in orders] * 2 + [receipt(orders[0], True)]
    outcomes = run_concurrently(*calls)
    assert not [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, Rollback)], outcomes
    receipts = sorted(Receipt.objects.filter(tenant=clinic.tenant).values_list("number", flat=True))
    assert receipts == list(range(1, 9))
    assert_reconciled(clinic.tenant)
