"""`punchcard demo [--if-empty]`: create the demo tenant with four months of history."""

from __future__ import annotations

import os
import secrets

from punchcard import clock
from punchcard.cli.base import DEMO_SLUG, EXIT_REFUSED, PunchcardCommand
from punchcard.cli.demo import DEMO_NAME, KOLKATA, build_demo
from punchcard.domain.money import format_money
from punchcard.packages.models import Package
from punchcard.tenancy.models import Tenant

API_KEY_ENV = "PUNCHCARD_DEMO_API_KEY"
PASSWORD_ENV = "PUNCHCARD_DEMO_PASSWORD"
# One console login per role, printed after the demo is made.
LOGINS = [("front desk", "dev"), ("manager", "meera"), ("accountant", "ritu"), ("admin", "sameer")]


class Command(PunchcardCommand):
    help = (
        f"Create the demo tenant '{DEMO_NAME}' (slug {DEMO_SLUG}) with centres, staff, patients, the seed "
        f"plans and four months of sales and redemptions. The manager API key is ${API_KEY_ENV} when set, "
        "otherwise a new one, printed once. The staff's console password is "
        f"${PASSWORD_ENV} when set, otherwise a new one, printed with one login per role."
    )
    uses_tenant = False

    def add_command_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any tenant exists (for `make run`)")

    def parse_as_of(self, text, tenant, zone=None):
        return super().parse_as_of(text, tenant, zone=KOLKATA)

    def run(self, *args, tenant, if_empty=False, **options):
        if if_empty and Tenant.objects.exists():
            self.stdout.write("A tenant exists already: demo data not loaded.")
            if Tenant.objects.filter(slug=DEMO_SLUG).exists():
                self.print_logins(f"the one printed when the demo was made (or ${PASSWORD_ENV})")
            return
        if Tenant.objects.filter(slug=DEMO_SLUG).exists():
            self.fail(f"the demo tenant {DEMO_SLUG!r} exists already", code="invalid", returncode=EXIT_REFUSED)
        supplied = os.environ.get(API_KEY_ENV) or None
        password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(12)
        demo = build_demo(clock.now(), api_key=supplied, password=password)
        tenant = demo.tenant
        sold = Package.objects.filter(tenant=tenant)
        collected = sum(p.price_gross for p in sold)
        self.stdout.write(
            f"Created {tenant.name} ({tenant.slug}): {len(demo.centres)} centres, {len(demo.services)} services, "
            f"{len(demo.staff)} staff, {len(demo.patients)} patients, {len(demo.plans)} plans, "
            f"{sold.count()} packages sold for {format_money(collected, tenant.currency, tenant.locale)}."
        )
        if supplied:
            self.stdout.write(f"Demo manager API key: taken from ${API_KEY_ENV} ({demo.api_key[:11]}…)")
        else:
            self.stdout.write(f"Demo manager API key: {demo.api_key}")
            self.stdout.write("  (shown this once; it is stored only as a digest)")
        self.print_logins(f"from ${PASSWORD_ENV}" if os.environ.get(PASSWORD_ENV) else password)

    def print_logins(self, password: str) -> None:
        # Where `make run` serves (its HOST and PORT are exported to this command).
        where = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}/"
        self.stdout.write(f"Console logins at {where} (password: {password}):")
        for role, username in LOGINS:
            self.stdout.write(f"  {role:<11} {username}")
