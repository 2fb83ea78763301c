"""`punchcard redeem PACKAGE_ID SERVICE_CODE`: use sessions of a package now (walk-in or manual)."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.domain.roles import cli_actor
from punchcard.packages import selectors, wording
from punchcard.packages.services import redeem_session


def add_use_arguments(parser):
    parser.add_argument("package", metavar="PACKAGE_ID", help="package id")
    parser.add_argument("service", metavar="SERVICE_CODE", help="service code, e.g. physio")
    parser.add_argument("--centre", metavar="CODE", help="centre (default: the centre that sold the package)")
    parser.add_argument("--person", metavar="PATIENT", help="beneficiary using it (default: the holder)")
    parser.add_argument("--sessions", default="1", metavar="N", help="sessions to use (default: 1)")
    parser.add_argument("--practitioner", metavar="ID", help="staff member delivering the session")
    parser.add_argument("--idempotency-key", metavar="KEY", help="repeat-safe key: the same key redeems once")


def resolve_use(command, tenant, *, package, service, centre, person, sessions, practitioner):
    summary_package = selectors.get_package(tenant, whole(package, "package_id"))
    return dict(
        package=summary_package,
        service=command.service(tenant, service),
        centre=command.centre(tenant, centre, default=summary_package.sold_at),
        person=command.patient(tenant, person, field="person") if person else None,
        sessions=whole(sessions, "sessions", high=1000),
        practitioner=command.staff(tenant, practitioner, field="practitioner") if practitioner else None,
    )


def balance_lines(tenant, package) -> list[str]:
    summary = selectors.summarize(selectors.get_package(tenant, package.id))
    expiry = wording.expiry_text(tenant, summary)
    return [f"  {wording.line_text(line, expiry)}" for line in summary.lines] + [
        f"  status {wording.status_text(summary)}, {summary.available} available, {summary.held} held"
    ]


class Command(PunchcardCommand):
    help = "Redeem sessions of a package now, with every check of the package's rules."

    def add_command_arguments(self, parser):
        add_use_arguments(parser)

    def run(
        self,
        *args,
        tenant,
        package,
        service,
        centre=None,
        person=None,
        sessions="1",
        practitioner=None,
        idempotency_key=None,
        **options,
    ):
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
        redemption = redeem_session(
            tenant=tenant,
            actor=cli_actor(),
            package_id=use["package"].id,
            service_id=use["service"].id,
            centre_id=use["centre"].id,
            person_id=use["person"].id if use["person"] else None,
            sessions=use["sessions"],
            practitioner_id=use["practitioner"].id if use["practitioner"] else None,
            idempotency_key=idempotency_key,
        )
        grace = " (in grace: the package has expired)" if redemption.in_grace else ""
        self.stdout.write(
            f"Redeemed {redemption.sessions} × {use['service'].name} from package {use['package'].id} for "
            f"{redemption.person.name} at {redemption.centre.name} on {wording.day(tenant, redemption.day)}: "
            f"redemption {redemption.id}, value {wording.money(tenant, redemption.value)}{grace}."
        )
        for text in balance_lines(tenant, use["package"]):
            self.stdout.write(text)
