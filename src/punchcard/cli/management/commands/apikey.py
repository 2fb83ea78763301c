"""`punchcard apikey create|list|revoke`: API keys for integrations, each scoped to one tenant and one role.

    punchcard apikey create --tenant SLUG --name NAME --role ROLE [--secret S]
    punchcard apikey list --tenant SLUG
    punchcard apikey revoke --tenant SLUG PREFIX

The secret is printed once, at creation; only its HMAC-SHA256 digest (under the server's pepper) is stored.
"""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import ROLES, cli_actor
from punchcard.tenancy.models import ApiKey
from punchcard.tenancy.services import create_api_key, revoke_api_key

ACTIONS = ("create", "list", "revoke")


class Command(PunchcardCommand):
    help = "Create, list or revoke the tenant's API keys (Authorization: Bearer <secret> on the HTTP API)."
    uses_clock = False

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # `apikey revoke --tenant SLUG PREFIX`: positionals may come after options.
        parser.parse_args = parser.parse_intermixed_args
        return parser

    def add_command_arguments(self, parser):
        # One positional action rather than argparse sub-commands, so `--tenant` may come after it.
        parser.add_argument("action", choices=ACTIONS, help="create, list or revoke")
        parser.add_argument("prefix", nargs="?", metavar="PREFIX", help="revoke: the key's prefix, e.g. pc_1a2b3c4d")
        parser.add_argument("--name", help="create: what the key is for, e.g. 'scheduler'")
        parser.add_argument("--role", help=f"create: one of {', '.join(ROLES)}")
        parser.add_argument(
            "--secret",
            help="create: use this secret (pc_<8 hex>_<32+ random url-safe characters>) "
            "instead of a random one, e.g. to rotate a key held elsewhere",
        )

    def run(self, *args, tenant, action, prefix=None, name=None, role=None, secret=None, **options):
        if action != "revoke" and prefix is not None:
            raise InvalidInput(f"`apikey {action}` takes no PREFIX argument", field="prefix")
        if action != "create" and (name or role or secret):
            raise InvalidInput("--name, --role and --secret are for `apikey create`", field="action")
        getattr(self, f"_{action}")(tenant, prefix=prefix, name=name, role=role, secret=secret)

    def _create(self, tenant, *, name, role, secret, **_):
        if not name or not name.strip():
            raise InvalidInput("--name NAME is required", field="name")
        if not role:
            raise InvalidInput(f"--role is required: one of {', '.join(ROLES)}", field="role")
        key, secret = create_api_key(tenant=tenant, actor=cli_actor(), name=name, role=role, secret=secret)
        self.stdout.write(f"Created API key {key.prefix} ({key.name}, {key.role}) for {tenant.slug}.")
        self.stdout.write("Secret (shown only now; store it safely):")
        self.stdout.write(secret)

    def _list(self, tenant, **_):
        keys = ApiKey.objects.filter(tenant=tenant).order_by("created_at", "id")
        table = self.table(f"API keys of {tenant.name}", "Prefix", "Name", "Role", "Created", "Last used", "Status")
        for key in keys:
            table.add_row(
                key.prefix,
                key.name,
                key.role,
                _when(key.created_at),
                _when(key.last_used_at) or "never",
                f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active",
            )
        console = self.console()
        if not table.row_count:
            console.print(f"No API keys for {tenant.slug}.")
            return
        console.print(table)

    def _revoke(self, tenant, *, prefix, **_):
        if not prefix:
            raise InvalidInput("which key? `apikey revoke --tenant SLUG PREFIX`", field="prefix")
        key = revoke_api_key(tenant=tenant, actor=cli_actor(), prefix=prefix)
        self.stdout.write(f"Revoked API key {key.prefix} ({key.name}); requests with it now get 401.")


def _when(instant) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC") if instant else ""
