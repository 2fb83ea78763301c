"""`punchcard void REDEMPTION_ID --reason TEXT`: reverse a redemption made in error (a manager approves)."""

from __future__ import annotations

from punchcard.cli.base import EXIT_REFUSED, PunchcardCommand, whole
from punchcard.domain.errors import InvalidInput, NotFound
from punchcard.domain.roles import Actor
from punchcard.packages import wording
from punchcard.packages.services import void_redemption
from punchcard.tenancy.models import Role, StaffMember

from .redeem import balance_lines

APPROVER_ROLES = (Role.MANAGER, Role.ADMIN)


class Command(PunchcardCommand):
    help = (
        "Void a redemption: the sessions return, the revenue is reversed, the reason and approving manager "
        "are recorded."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("redemption", metavar="REDEMPTION_ID")
        parser.add_argument("--reason", help="why the redemption was wrong (required)")
        parser.add_argument(
            "--approver", metavar="ID", help="approving manager's staff id (default: the tenant's first active manager)"
        )

    def run(self, *args, tenant, redemption, reason=None, approver=None, **options):
        if not reason or not reason.strip():
            raise InvalidInput("--reason TEXT is required", field="reason")
        redemption_id = whole(redemption, "redemption_id")
        if approver is not None:
            manager = self.staff(tenant, approver, field="approver")
            if manager.role not in APPROVER_ROLES or not manager.active:
                self.fail(
                    f"{manager.name} is not an active manager and cannot approve a void",
                    code="forbidden",
                    returncode=EXIT_REFUSED,
                )
        else:
            manager = StaffMember.objects.filter(tenant=tenant, role=Role.MANAGER, active=True).order_by("id").first()
            if manager is None:
                raise NotFound(
                    "the tenant has no active manager to approve the void; pass --approver ID", field="approver"
                )
        actor = Actor(label=f"staff:{manager.id} {manager.name}", role=manager.role, source="cli", staff_id=manager.id)
        voided = void_redemption(tenant=tenant, actor=actor, redemption_id=redemption_id, reason=reason)
        self.stdout.write(
            f"Voided redemption {voided.id} ({voided.sessions} session(s) of package "
            f"{voided.package_id}, {wording.money(tenant, voided.value)} reversed), approved by "
            f"{manager.name}."
        )
        for text in balance_lines(tenant, voided.package):
            self.stdout.write(text)
