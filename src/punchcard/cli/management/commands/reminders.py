"""`punchcard reminders [--days 14,3] [--low-balance N] [--email-events TYPES]`: the tenant's reminder
settings (without options: show them)."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.notifications.services import set_reminder_settings
from punchcard.notifications.services.preferences import reminder_settings


def _numbers(text: str, field: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"--{field} takes whole numbers separated by commas, e.g. 14,3", field=field) from None


class Command(PunchcardCommand):
    help = "Show or change when packages remind (days before expiry, low-balance threshold) and what emails."
    uses_clock = False

    def add_command_arguments(self, parser):
        parser.add_argument("--days", help="days before the last day for package.expiring_soon, e.g. 14,3 ('' none)")
        parser.add_argument("--low-balance", help="sessions left at which package.low_balance is told")
        parser.add_argument("--email-events", help="events that email patients, comma-separated ('' none)")

    def run(self, *args, tenant, days=None, low_balance=None, email_events=None, **options):
        if days is None and low_balance is None and email_events is None:
            current = reminder_settings(tenant)
        else:
            current = set_reminder_settings(
                tenant=tenant,
                actor=cli_actor(),
                days_before_expiry=_numbers(days, "days") if days is not None else None,
                low_balance_sessions=_numbers(low_balance, "low-balance")[0] if low_balance else None,
                email_events=[e.strip() for e in email_events.split(",") if e.strip()]
                if email_events is not None
                else None,
            )
        self.stdout.write(
            f"{tenant.slug}: expiring soon {', '.join(map(str, current['days_before_expiry'])) or 'never'} day(s) "
            f"before; low balance at {current['low_balance_sessions']} session(s); emails "
            f"{', '.join(current['email_events']) or 'none'}"
        )
