"""SPEC §5: the redemption checks, in their fixed order, each refusal naming its rule."""

import dataclasses
import datetime as dt

import pytest

from punchcard.domain.eligibility import Decision, LineBalance, PackageRules, Request, Scope, UsageCaps, Use, check_use
from punchcard.domain.errors import CODES, RuleViolation
from punchcard.domain.expiry import ExpiryMode
from punchcard.domain.status import Closure

D = dt.date
HOME, OTHER, THIRD = 1, 2, 3
PHYSIO, DOCTOR, YOGA, PILATES, FACIAL = 10, 11, 12, 13, 14
HOLDER, SPOUSE, STRANGER = 100, 101, 102


def rules(**changes) -> PackageRules:
    base = PackageRules(
        closure=None,
        start=D(2026, 3, 1),
        last_day=D(2026, 5, 29),
        mode=ExpiryMode.HARD,
        grace_days=0,
        scope=Scope.SINGLE,
        sold_at_centre_id=HOME,
        centre_ids=frozenset(),
        blackout_dates=frozenset(),
        holder_id=HOLDER,
        beneficiary_ids=frozenset({SPOUSE}),
    )
    return dataclasses.replace(base, **changes)


LINES = [LineBalance(1, frozenset({PHYSIO}), 3), LineBalance(2, frozenset({YOGA, PILATES}), 1)]


def request(**changes) -> Request:
    base = Request(day=D(2026, 4, 1), centre_id=HOME, service_id=PHYSIO, person_id=HOLDER, sessions=1)
    return dataclasses.replace(base, **changes)


def refusal(rules_, req, lines=LINES, uses=()) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        check_use(rules_, lines, req, list(uses))
    assert refused.value.code in CODES
    return refused.value


def test_an_eligible_request_names_the_line_that_covers_the_service():
    assert check_use(rules(), LINES, request()) == Decision(line_id=1, in_grace=False)
    assert check_use(rules(), LINES, request(service_id=PILATES)).line_id == 2  # a pool line


def test_a_beneficiary_may_use_it():
    assert check_use(rules(), LINES, request(person_id=SPOUSE)).line_id == 1


def test_when_two_lines_cover_a_service_the_first_with_enough_sessions_is_used():
    lines = [LineBalance(1, frozenset({PHYSIO}), 0), LineBalance(2, frozenset({PHYSIO, DOCTOR}), 2)]
    assert check_use(rules(), lines, request()).line_id == 2


def test_package_closed():
    for closure in Closure:
        assert refusal(rules(closure=closure), request()).code == "package_closed"


def test_not_started_before_the_start_date():
    error = refusal(rules(), request(day=D(2026, 2, 28)))
    assert error.code == "not_started"
    assert error.context["starts_on"] == "2026-03-01"


def test_expired_after_the_last_day_when_hard():
    assert check_use(rules(), LINES, request(day=D(2026, 5, 29))).line_id == 1
    error = refusal(rules(), request(day=D(2026, 5, 30)))
    assert error.code == "expired"
    assert error.context["expired_after"] == "2026-05-29"


def test_soft_expiry_allows_use_in_grace_and_flags_it():
    soft = rules(mode=ExpiryMode.SOFT, grace_days=7)
    assert check_use(soft, LINES, request(day=D(2026, 5, 29))).in_grace is False
    assert check_use(soft, LINES, request(day=D(2026, 5, 30))).in_grace is True
    assert check_use(soft, LINES, request(day=D(2026, 6, 5))).in_grace is True
    assert refusal(soft, request(day=D(2026, 6, 6))).code == "expired"


def test_out_of_scope_for_a_single_centre_package_used_elsewhere():
    assert refusal(rules(scope=Scope.SINGLE), request(centre_id=OTHER)).code == "out_of_scope"
    assert check_use(rules(scope=Scope.SINGLE), LINES, request(centre_id=HOME)).line_id == 1


def test_out_of_scope_for_a_centre_not_listed():
    listed = rules(scope=Scope.LISTED, centre_ids=frozenset({OTHER, THIRD}))
    assert check_use(listed, LINES, request(centre_id=OTHER)).line_id == 1
    # Listed means listed: not even the selling centre, unless it is on the list.
    assert refusal(listed, request(centre_id=HOME)).code == "out_of_scope"


def test_all_centres_scope_accepts_any_centre():
    assert check_use(rules(scope=Scope.ALL), LINES, request(centre_id=THIRD)).line_id == 1


def test_blackout_date():
    blackout = rules(blackout_dates=frozenset({D(2026, 4, 14)}))
    assert refusal(blackout, request(day=D(2026, 4, 14))).code == "blackout_date"
    assert check_use(blackout, LINES, request(day=D(2026, 4, 15))).line_id == 1


def test_not_beneficiary():
    assert refusal(rules(), request(person_id=STRANGER)).code == "not_beneficiary"


def test_service_not_eligible():
    assert refusal(rules(), request(service_id=FACIAL)).code == "service_not_eligible"


def test_insufficient_sessions_says_how_many_are_available():
    error = refusal(rules(), request(sessions=4))
    assert error.code == "insufficient_sessions"
    assert (error.context["available"], error.context["requested"]) == (3, 4)
    assert refusal(rules(), request(service_id=YOGA, sessions=2)).code == "insufficient_sessions"


def test_usage_cap_per_day():
    capped = rules(caps=UsageCaps(per_day=1))
    day = D(2026, 4, 1)
    assert check_use(capped, LINES, request(day=day), [Use(D(2026, 3, 31), 1)]).line_id == 1
    error = refusal(capped, request(day=day), uses=[Use(day, 1)])
    assert (error.code, error.context["period"], error.context["cap"]) == ("usage_cap", "day", 1)
    # Asking for two at once on an empty day breaks a cap of one, too.
    assert refusal(capped, request(sessions=2)).code == "usage_cap"


def test_usage_cap_per_iso_week_monday_to_sunday():
    capped = rules(caps=UsageCaps(per_week=2))
    wednesday = D(2026, 4, 1)
    same_week = [Use(D(2026, 3, 30), 1), Use(D(2026, 4, 5), 1)]  # Monday and Sunday
    error = refusal(capped, request(day=wednesday), uses=same_week)
    assert (error.code, error.context["period"]) == ("usage_cap", "week")
    previous_week = [Use(D(2026, 3, 29), 1), Use(D(2026, 3, 28), 1)]  # the Sunday and Saturday before
    assert check_use(capped, LINES, request(day=wednesday), previous_week).line_id == 1


def test_usage_cap_per_calendar_month():
    capped = rules(caps=UsageCaps(per_month=2))
    uses = [Use(D(2026, 4, 1), 1), Use(D(2026, 4, 30), 1)]
    error = refusal(capped, request(day=D(2026, 4, 15)), uses=uses)
    assert (error.code, error.context["period"]) == ("usage_cap", "month")
    assert check_use(capped, LINES, request(day=D(2026, 5, 1)), uses).line_id == 1


def test_min_gap_between_sessions_both_ways():
    gapped = rules(caps=UsageCaps(min_gap_days=3))
    uses = [Use(D(2026, 4, 10), 1)]
    assert refusal(gapped, request(day=D(2026, 4, 12)), uses=uses).code == "min_gap"
    assert refusal(gapped, request(day=D(2026, 4, 8)), uses=uses).code == "min_gap"  # before a booked one
    assert check_use(gapped, LINES, request(day=D(2026, 4, 13)), uses).line_id == 1
    assert check_use(gapped, LINES, request(day=D(2026, 4, 7)), uses).line_id == 1


def test_checks_run_in_the_documented_order():
    """A request breaking every rule is refused for the first; fixing each reveals the next."""
    broken_rules = rules(
        closure=Closure.COMPLETED,
        start=D(2026, 3, 1),
        last_day=D(2026, 3, 10),
        blackout_dates=frozenset({D(2026, 2, 1), D(2026, 4, 1)}),
        caps=UsageCaps(per_day=1, min_gap_days=5),
    )
    broken = request(day=D(2026, 2, 1), centre_id=OTHER, person_id=STRANGER, service_id=FACIAL, sessions=2)
    lines = [LineBalance(1, frozenset({PHYSIO}), 1)]
    uses = [Use(D(2026, 4, 1), 1)]
    fixes = [
        ("package_closed", lambda r, q: (dataclasses.replace(r, closure=None), q)),
        ("not_started", lambda r, q: (r, dataclasses.replace(q, day=D(2026, 4, 1)))),
        ("expired", lambda r, q: (dataclasses.replace(r, last_day=D(2026, 5, 29)), q)),
        ("out_of_scope", lambda r, q: (r, dataclasses.replace(q, centre_id=HOME))),
        ("blackout_date", lambda r, q: (dataclasses.replace(r, blackout_dates=frozenset()), q)),
        ("not_beneficiary", lambda r, q: (r, dataclasses.replace(q, person_id=SPOUSE))),
        ("service_not_eligible", lambda r, q: (r, dataclasses.replace(q, service_id=PHYSIO))),
        ("insufficient_sessions", lambda r, q: (r, dataclasses.replace(q, sessions=1))),
        ("usage_cap", lambda r, q: (dataclasses.replace(r, caps=UsageCaps(min_gap_days=5)), q)),
        ("min_gap", lambda r, q: (dataclasses.replace(r, caps=UsageCaps()), q)),
    ]
    current_rules, current = broken_rules, broken
    for code, fix in fixes:
        assert refusal(current_rules, current, lines=lines, uses=uses).code == code
        current_rules, current = fix(current_rules, current)
    assert check_use(current_rules, lines, current, uses) == Decision(line_id=1, in_grace=False)
