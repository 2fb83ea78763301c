"""The guessing limit on claim codes: refusals count per caller and per code prefix, never per IP, and a
burst of concurrent guesses never gets past the limit."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from punchcard.billing import services as billing
from punchcard.claims import codes
from punchcard.claims import services as claims
from punchcard.claims.models import ClaimGuessCounter, ClaimStatus
from punchcard.claims.throttle import FAILURE_LIMIT
from punchcard.domain.errors import DomainError, NotFound, RateLimited
from punchcard.domain.roles import Actor, Role
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..scenario import assert_reconciled


def unknown_code(prefix: str | None = None) -> str:
    """A well-formed code nobody issued (its check symbol is right), optionally starting with `prefix`."""
    if prefix is None:
        return codes.generate()
    data = prefix + "".join(secrets.choice(codes.ALPHABET) for _ in range(codes.DATA_SYMBOLS - len(prefix)))
    return data + codes.check_symbol(data)


def key_actor(n: int) -> Actor:
    return Actor(label=f"apikey:pc_{n:08x} (desk {n})", role=Role.FRONT_DESK, source=f"apikey:pc_{n:08x}")


def attempt(clinic, actor, code, *, now=None):
    try:
        return claims.claim_code(tenant=clinic.tenant, actor=actor, code=code, patient_id=clinic.ravi.id, now=now)
    except DomainError as exc:
        return exc


def paid_codes(clinic, quantity: int) -> list[str]:
    plan = clinic.plan("physio-10", price=800000, lines=[clinic.line("physio", sessions=10)])
    buyer = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ACME", name="Acme")
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=buyer.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        quantity=quantity,
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=made.order.id,
        method="bank_transfer",
        amount=made.order.due,
    )
    return [c.plaintext for c in made.codes]


@pytest.mark.django_db
def test_one_mistyping_desk_is_limited_and_the_other_desks_are_not():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    (real, other_real) = paid_codes(clinic, 2)
    for _ in range(FAILURE_LIMIT):
        assert isinstance(attempt(clinic, clinic.front_desk, unknown_code()), NotFound)
    limited = attempt(clinic, clinic.front_desk, real)
    assert isinstance(limited, RateLimited) and 0 < limited.context["retry_after"] <= 15 * 60
    assert limited.context["bucket"] == "caller"
    # Every desk behind the clinic's one proxy address used to be locked out too; now only this caller is.
    assert attempt(clinic, clinic.manager, real).status == ClaimStatus.CLAIMED
    assert attempt(clinic, key_actor(1), other_real).status == ClaimStatus.CLAIMED
    later = local(2026, 3, 1, 10, 16)
    assert isinstance(attempt(clinic, clinic.front_desk, unknown_code(), now=later), NotFound)  # a new window
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_guesses_at_one_prefix_from_many_keys_are_limited():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    for n in range(FAILURE_LIMIT):
        assert isinstance(attempt(clinic, key_actor(n), unknown_code("7K3M")), NotFound)
    limited = attempt(clinic, key_actor(99), unknown_code("7K3M").lower())  # read as the code is read
    assert isinstance(limited, RateLimited) and limited.context["bucket"] == "prefix"
    assert isinstance(attempt(clinic, key_actor(99), unknown_code("QQQQ")), NotFound)  # elsewhere: not limited
    # The refused attempt took no place in the caller's bucket either.
    assert ClaimGuessCounter.objects.get(tenant=clinic.tenant, bucket="caller:apikey:pc_00000063").attempts == 1


@pytest.mark.django_db
def test_successful_claims_and_uncounted_refusals_do_not_use_up_the_limit():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    issued = paid_codes(clinic, FAILURE_LIMIT + 2)
    for code in issued:  # an employer's desk claiming every code of a bulk order
        patient = tenancy.create_patient(
            tenant=clinic.tenant, actor=clinic.front_desk, external_ref=f"E-{code[:6]}", name="Employee"
        )
        claimed = claims.claim_code(tenant=clinic.tenant, actor=clinic.front_desk, code=code, patient_id=patient.id)
        assert claimed.status == ClaimStatus.CLAIMED
    for _ in range(FAILURE_LIMIT + 2):
        with pytest.raises(NotFound) as missing:  # a wrong patient id is not a guess at a code
            claims.claim_code(tenant=clinic.tenant, actor=clinic.front_desk, code=unknown_code(), patient_id=10**9)
        assert missing.value.code != "claim_code_unknown"
    assert isinstance(attempt(clinic, clinic.front_desk, unknown_code()), NotFound)
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_never_gets_past_the_limit(run_concurrently):
    clinic = Clinic.open(now=dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.UTC))
    for _ in range(FAILURE_LIMIT - 1):
        assert isinstance(attempt(clinic, clinic.front_desk, unknown_code()), NotFound)
    burst = 8
    outcomes = run_concurrently(*[lambda: attempt(clinic, clinic.front_desk, unknown_code()) for _ in range(burst)])
    assert not [o for o in outcomes if not isinstance(o, (NotFound, RateLimited))], outcomes
    assert sum(isinstance(o, NotFound) for o in outcomes) == 1  # exactly the one place left
    assert sum(isinstance(o, RateLimited) for o in outcomes) == burst - 1
    caller = ClaimGuessCounter.objects.get(tenant=clinic.tenant, bucket=f"caller:staff:{clinic.front_desk.staff_id}")
    assert caller.attempts == FAILURE_LIMIT
