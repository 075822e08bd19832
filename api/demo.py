"""Demo data of the sending platform's side: one API key per role of integration (the MTA
checks before a send, the unsubscribe pipeline records), a hard bounce and a complaint from
the mail providers on demo accounts (the complaint is in *Complaints for review*), and two
erasure requests: one carried out (its suppressions kept as hashes only), one waiting for a
second Compliance officer's sign-off."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus, Contact
from api.services import api_key_create
from compliance.models import SuppressionReason
from compliance.services.erasure import erasure_request_record
from compliance.services.reports import ProviderReport, provider_reports_record
from core.actors import Actor
from workflows.erasure import erasure_sign_off


def _officer(username: str) -> Actor:
    """A Compliance officer (the `compliance` demo login, or a second officer)."""
    user, _created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "email": f"{username}@example.com"}
    )
    user.groups.add(Group.objects.get(name="Compliance"))
    return Actor.staff(User.objects.get(pk=user.pk))  # permissions read afresh


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    officer, second = _officer("compliance"), _officer("compliance.second")
    keys = []
    for integration, description, check, record in (
        ("mta-eu-1", "The MTA checks each send batch before it goes out", True, False),
        ("unsubscribe-pipeline", "List-Unsubscribe mails and one-click posts", False, True),
    ):
        key, presented = api_key_create(
            integration=integration,
            description=description,
            can_check=check,
            can_record=record,
            by=officer,
            now=now - timedelta(days=30),
        )
        keys.append(f"{integration} {presented}")
    accounts = list(Account.objects.filter(status=AccountStatus.ACTIVE).order_by("pk")[:3])
    bounced, complained, erased = accounts[0], accounts[1], accounts[2]
    provider_reports_record(
        provider="amazon_ses",
        reports=[
            ProviderReport(
                account_id=bounced.pk,
                address="gone.for.good@mailbox.example",
                reason=SuppressionReason.HARD_BOUNCE,
                at=now - timedelta(days=2, hours=3),
                event_id="0102018e0f5b4c1a-demo-bounce",
                evidence=(
                    "amazon_ses bounced event 0102018e0f5b4c1a-demo-bounce: Permanent: General; "
                    "smtp; 550 5.1.1 user unknown"
                ),
            )
        ],
        now=now,
    )
    provider_reports_record(
        provider="postmark",
        reports=[
            ProviderReport(
                account_id=complained.pk,
                address="not.interested@webmail.example",
                reason=SuppressionReason.COMPLAINT,
                at=now - timedelta(hours=20),
                event_id="42-demo-complaint",
                evidence=(
                    "postmark complained event 42-demo-complaint: The subscriber explicitly "
                    "marked this message as spam."
                ),
            )
        ],
        now=now,
    )
    Contact.objects.create(account=erased, email="asked.to.forget@home.example", name="Demo")
    done = erasure_request_record(
        address="asked.to.forget@home.example",
        account=None,
        reference="support ticket 20417 (letter of the person)",
        by=officer,
        now=now - timedelta(days=1),
    )
    erasure_sign_off(request_id=done.pk, by=second, now=now - timedelta(hours=22))
    erasure_request_record(
        address="please.erase@family.example",
        account=erased,
        reference="support ticket 20433",
        by=officer,
        now=now - timedelta(hours=1),
    )
    return _(
        "API keys (shown once): %(keys)s; a hard bounce on %(bounced)s, a complaint on "
        "%(complained)s; erasure requests: 1 carried out, 1 waiting"
    ) % {"keys": "; ".join(keys), "bounced": bounced.username, "complained": complained.username}
