"""`punchcard memberships list|show|subscribe|pause|resume|cancel|keep`: memberships at the desk (SPEC §10).

    punchcard memberships list [--patient P-1001] [--status active]
    punchcard memberships show 12
    punchcard memberships subscribe P-1001 --plan gold [--frequency monthly] [--centre bandra]
                                  [--start 2026-04-01] [--payment-method 7]
    punchcard memberships pause 12 --months 2          (or --until 2026-06-01, the first day back)
    punchcard memberships resume 12
    punchcard memberships cancel 12 [--when now|period_end] [--refund-unused] [--reason "moving"]
    punchcard memberships keep 12                      (withdraw a cancellation at the period end)

Every write goes through the same services as the API; a refusal prints its stable code.
"""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput, NotFound
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.roles import cli_actor
from punchcard.memberships import selectors, services
from punchcard.memberships.models import MembershipPlan
from punchcard.packages import wording

ACTIONS = ["list", "show", "subscribe", "pause", "resume", "cancel", "keep"]


class Command(PunchcardCommand):
    help = "List, show, subscribe, pause, resume, cancel (or keep) memberships."

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument(
            "target", nargs="?", metavar="ID|PATIENT", help="the membership's id; for subscribe, the patient"
        )
        parser.add_argument("--patient", help="list: only this patient's (external reference or id)")
        parser.add_argument("--status", choices=[str(s) for s in MembershipStatus], help="list: only this status")
        parser.add_argument("--plan", help="subscribe: the membership plan's code")
        parser.add_argument("--frequency", default="monthly", help="subscribe: monthly, quarterly or annual")
        parser.add_argument("--centre", help="subscribe: the centre's code (default: the first centre)")
        parser.add_argument("--start", help="subscribe: a later start date (YYYY-MM-DD); default today")
        parser.add_argument("--payment-method", help="subscribe: the stored payment method's id; none: the desk")
        parser.add_argument("--months", help="pause: calendar months (within the plan's rules)")
        parser.add_argument("--until", help="pause: the first day back (YYYY-MM-DD)")
        parser.add_argument("--when", choices=["now", "period_end"], help="cancel: default, the plan's policy")
        parser.add_argument("--refund-unused", action="store_true", help="cancel now: unused days to credit")
        parser.add_argument("--reason", default="", help="cancel: why (kept on the membership and in the audit)")

    def run(self, *args, tenant, action, target=None, **options):
        if action == "list":
            return self._list(tenant, options["patient"], options["status"])
        if not target:
            what = "the patient" if action == "subscribe" else "the membership's id"
            raise InvalidInput(f"`memberships {action}` needs {what}", field="target")
        actor = cli_actor()
        if action == "subscribe":
            made = self._subscribe(tenant, actor, target, options)
            self.stdout.write(f"Subscribed: membership {made.id}.")
            return self._show(tenant, made.id)
        membership_id = whole(target, "membership")
        if action == "pause":
            months, until = options["months"], options["until"]
            services.pause(
                tenant=tenant,
                actor=actor,
                membership_id=membership_id,
                months=whole(months, "months") if months is not None else None,
                until=validation.date(until, "until", optional=True),
            )
        elif action == "resume":
            services.resume(tenant=tenant, actor=actor, membership_id=membership_id)
        elif action == "cancel":
            services.cancel(
                tenant=tenant,
                actor=actor,
                membership_id=membership_id,
                when=options["when"],
                refund_unused=options["refund_unused"],
                reason=options["reason"],
            )
        elif action == "keep":
            services.keep(tenant=tenant, actor=actor, membership_id=membership_id)
        return self._show(tenant, membership_id)

    def _subscribe(self, tenant, actor, patient_ref, options):
        if not options["plan"]:
            raise InvalidInput("subscribe needs --plan CODE", field="plan")
        plan = MembershipPlan.objects.filter(tenant=tenant, code=options["plan"]).first()
        if plan is None:
            raise NotFound(f"no membership plan {options['plan']!r}", field="plan")
        method = options["payment_method"]
        return services.subscribe(
            tenant=tenant,
            actor=actor,
            patient_id=self.patient(tenant, patient_ref).id,
            plan_id=plan.id,
            frequency=options["frequency"],
            centre_id=self.centre(tenant, options["centre"]).id,
            start_date=validation.date(options["start"], "start", optional=True),
            payment_method_id=whole(method, "payment_method") if method else None,
        )

    def _list(self, tenant, patient_ref, status):
        rows = selectors.memberships(tenant).order_by("id")
        if patient_ref:
            rows = rows.filter(patient=self.patient(tenant, patient_ref))
        if status:
            rows = rows.filter(status=status)
        table = self.table(None, "#", "Patient", "Plan", "Frequency", "Status", "Next billing", "Price")
        count = 0
        for m in rows:
            count += 1
            table.add_row(
                str(m.id),
                f"{m.patient.name} ({m.patient.external_ref})",
                m.version.name,
                m.frequency,
                m.status,
                wording.day(tenant, m.next_billing_date),
                wording.money(tenant, m.price),
            )
        if not count:
            self.stdout.write("No memberships.")
            return
        self.console().print(table)

    def _show(self, tenant, membership_id):
        m = selectors.membership(tenant, membership_id)
        standing = selectors.standing(m)
        lines = [
            f"Membership {m.id}: {m.patient.name} ({m.patient.external_ref}), {m.version.name} {m.frequency}",
            f"Status: {m.status}" + (f" ({m.status_reason})" if m.status_reason else ""),
        ]
        if standing.current is not None:
            period = standing.current
            lines.append(
                f"Current period: {wording.day(tenant, period.start)} to {wording.day(tenant, period.last_day)}"
            )
        if standing.next_billing_date is not None:
            amount = wording.money(tenant, standing.next_amount) if standing.next_amount is not None else "—"
            lines.append(f"Next billing: {wording.day(tenant, standing.next_billing_date)}, {amount}")
        if standing.paused_until is not None:
            lines.append(f"Paused until: {wording.day(tenant, standing.paused_until)} (resumes that day)")
        if m.cancel_on is not None and m.status in ("cancelling", "ended"):
            lines.append(f"Ends: {wording.day(tenant, m.cancel_on)}")
        lines.append(f"Owed: {wording.money(tenant, standing.owed)}")
        for line in lines:
            self.stdout.write(line)
