"""`punchcard providers list | account | test-event`: the payment providers, a tenant's account with one,
and a signed test-provider webhook to try the webhook route with.

    punchcard providers test-event --type charge.succeeded --reference ca_test_… --amount 500000

prints a `curl` command that posts the event, signed with the tenant's test account secret, to
`/api/v1/providers/test/webhooks` (it must be posted within 5 minutes: the timestamp is checked).
"""

from __future__ import annotations

import json
import shlex

from punchcard.billing import providers
from punchcard.billing import services as billing
from punchcard.billing.providers.base import FAILURE_CODES, WEBHOOK_TYPES
from punchcard.billing.providers.test import sign_event
from punchcard.cli.base import PunchcardCommand
from punchcard.domain.roles import cli_actor


class Command(PunchcardCommand):
    help = "List the payment providers, show a tenant's account with one, or make a signed test webhook."

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=["list", "account", "test-event"])
        parser.add_argument("--provider", default="test", help="account: which provider (default: test)")
        parser.add_argument("--type", dest="event_type", choices=WEBHOOK_TYPES, default="charge.succeeded")
        parser.add_argument("--reference", default="", help="the provider's reference of the charge or refund")
        parser.add_argument("--key", default="", help="the idempotency key of the attempt it reports on")
        parser.add_argument("--amount", type=int, help="minor units")
        parser.add_argument("--failure-code", choices=sorted(FAILURE_CODES), help="for charge.failed")
        parser.add_argument("--event-id", help="default: a new evt_test_… (repeat one to see it acknowledged once)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server the curl command posts to")

    def run(self, *args, tenant, action, provider, **options):
        if action == "list":
            table = self.table("Payment providers", "Name", "Who", "Charges unattended")
            for name in providers.names():
                gateway = providers.get(name)
                table.add_row(name, gateway.label, "yes" if gateway.unattended else "no (the desk records it)")
            self.console().print(table)
            return
        account = billing.connect_provider(
            tenant=tenant, actor=cli_actor(), provider=provider if action == "account" else "test"
        )
        if action == "account":
            self.stdout.write(f"account: {account.account}\nwebhook secret: {account.webhook_secret}")
            return
        data = {
            k: v
            for k, v in {
                "reference": options["reference"],
                "idempotency_key": options["key"],
                "amount": options["amount"],
                "failure_code": options["failure_code"],
            }.items()
            if v not in ("", None)
        }
        body, headers = sign_event(
            secret=account.webhook_secret,
            account=account.account,
            type=options["event_type"],
            data=data,
            event_id=options["event_id"],
        )
        parts = ["curl", "-sS", "-X", "POST", f"{options['url'].rstrip('/')}/api/v1/providers/test/webhooks"]
        for name, value in {"content-type": "application/json", **headers}.items():
            parts += ["-H", f"{name}: {value}"]
        parts += ["--data", body.decode()]
        self.stdout.write(" ".join(shlex.quote(p) for p in parts))
        self.stderr.write(f"event {headers['webhook-id']}: {json.loads(body)['type']}; post it within 5 minutes")
