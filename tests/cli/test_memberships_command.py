"""`punchcard memberships …`: subscribe, list, show, pause, resume, cancel and keep at the command line, each
refusal one line with its stable code."""

from __future__ import annotations

import pytest

from punchcard import clock
from punchcard.memberships.models import Membership

from ..clinic import Clinic, local
from ..memberships.support import membership_plan
from .conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    membership_plan(
        clinic,
        "gold",
        name="Gold",
        monthly=0,  # free, so nothing is owed and every path runs without a payment
        policies={"cancellation": "immediate", "pause": {"allowed": True, "max_months": 3}},
    )
    yield clinic
    clock.set_now(None)


def _one_error(result, code):
    assert result.code != 0, result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]: "), result.err


def test_subscribe_list_show_pause_resume_cancel(clinic):
    slug, asha = clinic.tenant.slug, clinic.asha.external_ref
    made = run("memberships", "subscribe", asha, "--plan", "gold", "--tenant", slug)
    assert made.code == 0, made.err
    member = Membership.objects.get()
    assert f"Subscribed: membership {member.id}." in made.out and "Status: active" in made.out
    assert "Next billing: 1 Apr 2026" in made.out

    listed = run("memberships", "list", "--tenant", slug, "--status", "active")
    assert listed.code == 0 and "Asha" in listed.out and "Gold" in listed.out
    assert "No memberships." in run("memberships", "list", "--tenant", slug, "--status", "paused").out

    _one_error(run("memberships", "pause", str(member.id), "--months", "4", "--tenant", slug), "pause_too_long")
    paused = run("memberships", "pause", str(member.id), "--months", "2", "--tenant", slug)
    assert paused.code == 0, paused.err
    assert "Status: paused" in paused.out and "Paused until: 1 May 2026" in paused.out
    assert "Next billing: 1 Jun 2026" in paused.out
    resumed = run("memberships", "resume", str(member.id), "--tenant", slug)
    assert "Status: active" in resumed.out and "Next billing: 1 Apr 2026" in resumed.out

    ending = run("memberships", "cancel", str(member.id), "--when", "period_end", "--tenant", slug)
    assert "Status: cancelling" in ending.out and "Ends: 1 Apr 2026" in ending.out
    kept = run("memberships", "keep", str(member.id), "--tenant", slug)
    assert "Status: active" in kept.out
    cancelled = run("memberships", "cancel", str(member.id), "--reason", "moving away", "--tenant", slug)
    assert cancelled.code == 0 and "Status: cancelled (moving away)" in cancelled.out
    shown = run("memberships", "show", str(member.id), "--tenant", slug)
    assert "Status: cancelled" in shown.out and "Next billing" not in shown.out


def test_refusals_are_one_line(clinic):
    slug = clinic.tenant.slug
    _one_error(run("memberships", "show", "999", "--tenant", slug), "not_found")
    _one_error(run("memberships", "pause", "--tenant", slug), "invalid")
    _one_error(run("memberships", "subscribe", clinic.asha.external_ref, "--tenant", slug), "invalid")
    _one_error(
        run("memberships", "subscribe", clinic.asha.external_ref, "--plan", "nope", "--tenant", slug), "not_found"
    )
