"""`punchcard hold PACKAGE_ID SERVICE_CODE --day DATE`: reserve sessions for a booked appointment."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand, parse_date
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.packages import wording
from punchcard.packages.services import place_hold

from .redeem import add_use_arguments, balance_lines, resolve_use


class Command(PunchcardCommand):
    help = "Place a hold on a package for an appointment's date (checked against that date)."

    def add_command_arguments(self, parser):
        add_use_arguments(parser)
        parser.add_argument("--day", metavar="DATE", help="the appointment's local date (YYYY-MM-DD)")
        parser.add_argument(
            "--backdate-reason",
            metavar="TEXT",
            help="a day before today: why (manager; the command line acts as admin)",
        )

    def run(
        self,
        *args,
        tenant,
        package,
        service,
        day=None,
        centre=None,
        person=None,
        sessions="1",
        practitioner=None,
        idempotency_key=None,
        backdate_reason=None,
        **options,
    ):
        if not day:
            raise InvalidInput("--day DATE is required: the appointment's date", field="day")
        use = resolve_use(
            self,
            tenant,
            package=package,
            service=service,
            centre=centre,
            person=person,
            sessions=sessions,
            practitioner=practitioner,
        )
        hold = place_hold(
            tenant=tenant,
            actor=cli_actor(),
            package_id=use["package"].id,
            service_id=use["service"].id,
            centre_id=use["centre"].id,
            day=parse_date(day, "day"),
            person_id=use["person"].id if use["person"] else None,
            sessions=use["sessions"],
            practitioner_id=use["practitioner"].id if use["practitioner"] else None,
            idempotency_key=idempotency_key,
            backdate_reason=backdate_reason,
        )
        self.stdout.write(
            f"Held {hold.sessions} × {use['service'].name} on package {use['package'].id} for "
            f"{hold.person.name} on {wording.day(tenant, hold.day)} at {hold.centre.name}: "
            f"hold {hold.id}."
        )
        for text in balance_lines(tenant, use["package"]):
            self.stdout.write(text)
