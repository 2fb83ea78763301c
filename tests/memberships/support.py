"""Memberships in tests: a plan in the clinic's words, a stand-in for billing's test payment provider, and
the daily run driven the way the job queue drives it.

The stand-in answers like the test provider's tokens: `tok_ok`, `tok_declined`, `tok_insufficient_funds`,
`tok_expired`, `tok_fail_then_ok` (declined on its first charge, approved after). It is idempotent per key,
as a provider is: the same key gets the same answer and is charged once.
"""

from __future__ import annotations

import datetime as dt

from punchcard import clock
from punchcard.billing.services.payment_methods import add_payment_method
from punchcard.catalogue.services import LineSpec
from punchcard.domain.membership_terms import Policies, Trial
from punchcard.memberships import services
from punchcard.memberships.services import charging
from punchcard.memberships.services.plans import policies_of

from ..clinic import KOLKATA

FAILURES = {
    "tok_declined": "card_declined",
    "tok_insufficient_funds": "insufficient_funds",
    "tok_expired": "expired_card",
}


class StandInProvider:
    def __init__(self):
        self.tokens: dict[int, str] = {}
        self.answers: dict[str, charging.ChargeResult] = {}
        self.charged: list[tuple[int, int]] = []  # (method id, amount) per successful charge
        self._seen: dict[int, int] = {}

    def method(self, token: str, *, clinic, patient=None) -> int:
        """A stored card (billing's test provider) whose charges this stand-in answers as `token` does."""
        stored = add_payment_method(
            tenant=clinic.tenant,
            actor=clinic.front_desk,
            patient_id=(patient or clinic.asha).id,
            provider="test",
            token="tok_ok",
        )
        self.tokens[stored.id] = token
        return stored.id

    def charge(self, *, tenant, payment_method_id, amount, currency, key) -> charging.ChargeResult:
        if key in self.answers:
            return self.answers[key]
        token = self.tokens[payment_method_id]
        tries = self._seen[payment_method_id] = self._seen.get(payment_method_id, 0) + 1
        if token in FAILURES:
            result = charging.ChargeResult(ok=False, reference="", amount=0, failure_code=FAILURES[token])
        elif token == "tok_fail_then_ok" and tries == 1:
            result = charging.ChargeResult(ok=False, reference="", amount=0, failure_code="card_declined")
        else:
            result = charging.ChargeResult(ok=True, reference=f"ch_{len(self.charged) + 1}", amount=amount)
            self.charged.append((payment_method_id, amount))
        self.answers[key] = result
        return result


def membership_plan(
    clinic,
    code: str = "gold",
    *,
    monthly: int | None = 300000,
    quarterly: int | None = None,
    annual: int | None = None,
    benefits: list[LineSpec] | None = None,
    trial: Trial | None = None,
    dunning: dict | None = None,
    policies: dict | None = None,
    **terms,
):
    prices = {k: v for k, v in {"monthly": monthly, "quarterly": quarterly, "annual": annual}.items() if v is not None}
    if dunning or policies:
        policies = policies_of({**(policies or {}), **({"dunning": dunning} if dunning else {})})
    else:
        policies = Policies()
    return services.create_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        code=code,
        terms=services.MembershipTerms(
            name=terms.pop("name", code.title()),
            prices=prices,
            benefits=benefits if benefits is not None else [clinic.line("physio", sessions=2)],
            trial=trial or Trial(),
            policies=policies,
            **terms,
        ),
    )


def subscribe(clinic, version, *, patient=None, frequency="monthly", start_date=None, method=None, **kw):
    return services.subscribe(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=(patient or clinic.asha).id,
        plan_id=version.plan_id,
        frequency=frequency,
        centre_id=clinic.centre.id,
        start_date=start_date,
        payment_method_id=method,
        **kw,
    )


def day_run(day: dt.date, *, hour: int = 0, minute: int = 5, zone=None):
    """The daily membership jobs at 00:05 on `day` at the clinic's centres (Asia/Kolkata), as the worker
    runs them: billing and dunning, recognition through the day before, notices."""
    at = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone or KOLKATA)
    clock.set_now(at)
    done = services.run_billing(now=at)
    services.recognise(as_of=day - dt.timedelta(days=1), now=at)
    services.tell_due_notices(now=at)
    return done
