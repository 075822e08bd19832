"""`manage.py seed_demo`: demo data (once) and one demo login per staff role (printed).

The demo passwords are generated on first use and kept in var/demo-logins.txt, so no password
lives in the repository.
"""

from __future__ import annotations

import importlib.util
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import Account
from core.roles import ROLES

# Each app adds its own demo data; later modules build on what earlier ones made.
DEMO_MODULES = [
    "accounts.demo.seed",
    "billing.demo.seed",
    "compliance.demo.seed",
    "approvals.demo.seed",
    "api.demo.seed",
    "exchanges.demo.seed",
    "backoffice.demo.seed",
    "ops.demo.seed",
]
DEMO_ACCOUNTS = 400


class Command(BaseCommand):
    help = "Load the demo data once and print the demo logins (one per staff role)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=DEMO_ACCOUNTS)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, accounts, seed, **options):
        if Account.objects.exists():
            self.stdout.write(_("demo data already loaded"))
        else:
            self.load(accounts=accounts, seed=seed)
        self.print_logins(self.ensure_logins())

    @transaction.atomic
    def load(self, *, accounts: int, seed: int) -> None:
        rng = random.Random(seed)
        now = timezone.now()
        for path in DEMO_MODULES:
            if importlib.util.find_spec(path.rpartition(".")[0]) is None:
                continue
            seed_function = import_string(path)
            summary = seed_function(rng=rng, now=now, count=accounts)
            self.stdout.write(
                _("demo data: %(app)s: %(summary)s")
                % {"app": path.split(".")[0], "summary": summary}
            )

    def ensure_logins(self) -> list[tuple[str, str, str]]:
        store = Path(settings.VAR_DIR) / "demo-logins.txt"
        known: dict[str, str] = {}
        if store.exists():
            for line in store.read_text().splitlines():
                username, _, password = line.partition(" ")
                known[username] = password
        logins = [("admin", "superuser", "")] + [(role.lower(), role, role) for role in ROLES]
        result = []
        for username, label, role in logins:
            password = known.get(username) or secrets.token_urlsafe(9)
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "email": f"{username}@example.com"}
            )
            if created or username not in known:
                user.set_password(password)
                user.is_staff = True
                user.is_superuser = username == "admin"
                user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
            known[username] = password
            result.append((username, label, password))
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text("".join(f"{u} {p}\n" for u, p in known.items()))
        return result

    def print_logins(self, logins) -> None:
        self.stdout.write(_("demo logins (username / password / role):"))
        for username, label, password in logins:
            self.stdout.write(f"  {username:11} {password:14} {label}")
        roles = ", ".join(["superusers", *settings.TWO_FACTOR_ROLES])
        self.stdout.write(
            _(
                "two-factor login (%(roles)s): after the password the admin asks for the code "
                "of an authenticator app (FreeOTP, Aegis, Google Authenticator, 1Password). At "
                "the first login it shows a QR code to scan and the key to type, asks for one "
                "code to confirm, then hands out ten recovery codes; the link 'Two-factor login' "
                "in the header leads back there. A lost phone: a superuser resets it under "
                "Two-factor devices."
            )
            % {"roles": roles}
        )
        if settings.TWO_FACTOR_WAIVED:
            self.stdout.write(
                "  "
                + _(
                    "waived on this embedded demo (DEBUG on SQLite): the passwords alone log "
                    "in; start it with TWO_FACTOR_WAIVED=0 to try the second factor."
                )
            )
