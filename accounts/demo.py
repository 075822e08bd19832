"""Demo accounts in every lifecycle state, with realistic names and time zones."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from accounts.models import Account, AccountEvent, AccountStatus

COMPANIES = [
    "Bergmann Bikes",
    "Lakeside Yoga",
    "Northwind Traders",
    "Café Sonnenschein",
    "Prairie Books",
    "Blue Harbor Realty",
    "Kaiser Küchen",
    "Maple & Co. Bakery",
    "Alpine Outfitters",
    "Studio Lumen",
    "Greenleaf Nursery",
    "Harbor Light Dental",
    "Rhein Reisen",
    "Copper Kettle Tea",
    "Summit Legal",
    "Fjord Fisheries",
]
FIRST = [
    "anna",
    "ben",
    "carla",
    "david",
    "emma",
    "felix",
    "grace",
    "hannah",
    "ivan",
    "jonas",
    "karin",
    "liam",
    "mia",
    "noah",
    "olga",
    "paul",
    "quinn",
    "rosa",
    "sven",
    "tara",
]
ZONES = [
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Vienna",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
]
STATE_MIX = [
    (AccountStatus.ACTIVE, 40),
    (AccountStatus.TRIAL, 15),
    (AccountStatus.PAUSED, 6),
    (AccountStatus.SUSPENDED, 8),
    (AccountStatus.CANCELLED, 15),
    (AccountStatus.EXPIRED, 10),
    (AccountStatus.PURGED, 6),
]


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    statuses = [s for s, weight in STATE_MIX for _ in range(weight)]
    accounts = []
    for i in range(count):
        company = rng.choice(COMPANIES)
        person = rng.choice(FIRST)
        status = statuses[i % len(statuses)]
        created = now - timedelta(days=rng.randint(10, 900))
        zone = rng.choice(ZONES)
        account = Account(
            username=f"{person}-{company.split()[0].lower().replace('é', 'e')}-{i:04d}",
            company=company,
            primary_email=f"{person}@{company.split()[0].lower().replace('é', 'e')}.example",
            time_zone=zone,
            language="de" if zone in ("Europe/Berlin", "Europe/Vienna") else "en",
            status=status,
            created_at=created,
            last_activity_at=now - timedelta(days=rng.randint(0, 30)),
        )
        if status == AccountStatus.TRIAL:
            account.created_at = now - timedelta(days=rng.randint(0, 29))
            account.trial_ends_at = account.created_at + timedelta(days=30)
        if status in (AccountStatus.CANCELLED, AccountStatus.EXPIRED):
            account.inactive_since = now - timedelta(days=rng.randint(1, 140))
        if status == AccountStatus.PURGED:
            account.inactive_since = now - timedelta(days=rng.randint(121, 400))
        accounts.append(account)
    Account.objects.bulk_create(accounts, batch_size=500)
    events = [
        AccountEvent(
            account=a,
            at=a.created_at,
            kind="created",
            to_status=AccountStatus.TRIAL,
            by_job="seed_demo",
            reason="Signed up for a free trial",
        )
        for a in Account.objects.all()
    ]
    AccountEvent.objects.bulk_create(events, batch_size=500)
    return f"{count} accounts"
