"""`punchcard portal-link PATIENT [--days N]`: a signed link to the patient's portal, the URL alone on the last
line; `--revoke` stops every link of the patient instead."""

from __future__ import annotations

from babel.dates import format_datetime

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.domain.roles import cli_actor
from punchcard.tenancy import portal_links


class Command(PunchcardCommand):
    help = "Print a signed link to a patient's portal (valid --days, default 7), or --revoke all of their links."

    def add_command_arguments(self, parser):
        parser.add_argument("patient", metavar="PATIENT", help="patient's external reference (or id), e.g. P-1001")
        parser.add_argument("--days", default=str(portal_links.DEFAULT_DAYS), help="days the link opens (1-90)")
        parser.add_argument("--revoke", action="store_true", help="stop every portal link of the patient now")
        parser.add_argument("--reason", default="", help="with --revoke: why (kept in the audit trail)")

    def run(self, *args, tenant, patient, days, revoke, reason, **options):
        person = self.patient(tenant, patient)
        if revoke:
            count = portal_links.revoke_portal_links(
                tenant=tenant, actor=cli_actor(), patient_id=person.id, reason=reason
            )
            self.stdout.write(f"Revoked {count} portal link(s) of {person.name} ({person.external_ref}).")
            return
        link = portal_links.create_portal_link(
            tenant=tenant,
            actor=cli_actor(),
            patient_id=person.id,
            days=whole(days, "days", low=1, high=portal_links.MAX_DAYS),
        )
        until = format_datetime(link.expires_at.astimezone(tenant.zone), "d MMM yyyy, HH:mm", locale=tenant.locale)
        self.stdout.write(f"Portal link for {person.name} ({person.external_ref}), opens until {until}:")
        self.stdout.write(portal_links.url(link))
