"""`punchcard staff create|list`: staff members and their logins.

    punchcard staff create --tenant SLUG --email EMAIL --role ROLE [--name NAME] [--practitioner] [--password-stdin]
    punchcard staff list --tenant SLUG

The password is prompted for (twice), or read from standard input with `--password-stdin`; Django's
password validators apply. The login's username is the email.
"""

from __future__ import annotations

import getpass
import sys

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import ROLES, cli_actor
from punchcard.tenancy.models import StaffMember
from punchcard.tenancy.services import create_staff_member

ACTIONS = ("create", "list")


class Command(PunchcardCommand):
    help = "Create a staff member with a login (password prompted, or --password-stdin), or list the staff."
    uses_clock = False
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO("…")) in tests

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS, help="create or list")
        parser.add_argument("--email", help="create: their email, which is also their username")
        parser.add_argument("--role", help=f"create: one of {', '.join(ROLES)}")
        parser.add_argument("--name", help="create: their name (default: the email's local part)")
        parser.add_argument("--practitioner", action="store_true", help="create: they deliver sessions")
        parser.add_argument(
            "--password-stdin", action="store_true", help="create: read the password from standard input"
        )

    def run(self, *args, tenant, action, **options):
        if action == "list":
            return self._list(tenant)
        email, role = options.get("email"), options.get("role")
        if not email:
            raise InvalidInput("--email is required for `staff create`", field="email")
        if not role:
            raise InvalidInput(f"--role is required: one of {', '.join(ROLES)}", field="role")
        if role not in ROLES:
            raise InvalidInput(f"--role must be one of {', '.join(ROLES)}", field="role")
        password = self._password(options["password_stdin"], options.get("stdin"))
        member = create_staff_member(
            tenant=tenant,
            actor=cli_actor(),
            name=options.get("name") or email.split("@")[0],
            role=role,
            is_practitioner=options["practitioner"],
            email=email,
            password=password,
        )
        self.stdout.write(
            f"Created staff member {member.id} {member.name} ({member.role}) for {tenant.slug}; "
            f"they log in as {member.user.username}."
        )

    def _password(self, from_stdin: bool, stream=None) -> str:
        if from_stdin:
            password = (stream or sys.stdin).readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise InvalidInput("the two passwords differ", field="password")
        else:
            raise InvalidInput("no terminal to ask for the password: pass --password-stdin", field="password")
        if not password:
            raise InvalidInput("the password is empty", field="password")
        return password

    def _list(self, tenant):
        table = self.table(f"Staff of {tenant.name}", "Id", "Name", "Role", "Login", "Practitioner", "Status")
        for m in StaffMember.objects.filter(tenant=tenant).select_related("user").order_by("id"):
            table.add_row(
                str(m.id),
                m.name,
                m.role,
                m.user.username if m.user else "-",
                "yes" if m.is_practitioner else "",
                "active" if m.active else "left",
            )
        self.console().print(table)
