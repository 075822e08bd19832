"""Demo accounts in every lifecycle state, with realistic names and time zones, their content
(contacts, campaigns and reports, sign-up forms, integrations, hosted files), a timeline for
each, and the cancellation desk's history: reasons, requests (some saved by pause, some with
their confirmation overdue)."""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.utils.translation import gettext as _

from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    Campaign,
    CampaignReport,
    CancellationOutcome,
    CancellationReason,
    CancellationRequest,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
)
from accounts.selectors import trial_end_for
from core import localtime

S = AccountStatus

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


READERS = ["alex", "bea", "chris", "dana", "eli", "fran", "gus", "hanna", "iris", "jo", "kim"]
MAIL_DOMAINS = ["example.org", "example.net", "mail.example", "post.example"]
CAMPAIGNS = [
    ("Spring newsletter", "What's new this spring"),
    ("Black Friday", "Our best prices of the year"),
    ("Welcome series #1", "Welcome aboard!"),
    ("Monthly digest", "Your monthly update"),
    ("Event invitation", "You're invited"),
]
SERVICES = ["Shopify", "WooCommerce", "Salesforce", "HubSpot", "Zapier", "Stripe"]
CALLERS_WORDS = [
    "Says the price went up too much for a small shop.",
    "Only sends two campaigns a year, does not need a plan.",
    "Moving to the provider their agency uses.",
    "Shop closed at the end of the season.",
    "Needs automations by tag, which we do not have.",
    "Emails land in spam at a big mailbox provider.",
    "",
]
AGENTS = ["agent.lena", "agent.marco", "agent.priya"]


def png_bytes(rgb: tuple[int, int, int] = (46, 125, 50), size: int = 8) -> bytes:
    """A small solid-colour PNG, built without image libraries."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    row = b"\x00" + bytes(rgb) * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def _agents() -> list[User]:
    """Support agents who took the demo calls (no password: they cannot log in)."""
    support = Group.objects.filter(name="Support").first()
    agents = []
    for username in AGENTS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": username.split(".")[1]}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            if support:
                user.groups.add(support)
        agents.append(user)
    return agents


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    statuses = [s for s, weight in STATE_MIX for _ in range(weight)]
    accounts = []
    for i in range(count):
        company = rng.choice(COMPANIES)
        person = rng.choice(FIRST)
        status = statuses[i % len(statuses)]
        created = now - timedelta(days=rng.randint(60, 900))
        zone = rng.choice(ZONES)
        slug = company.split()[0].lower().replace("é", "e")
        account = Account(
            username=f"{person}-{slug}-{i:04d}",
            company=company,
            primary_email=f"{person}@{slug}.example",
            time_zone=zone,
            language="de" if zone in ("Europe/Berlin", "Europe/Vienna") else "en",
            status=status,
            created_at=created,
            last_activity_at=now - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1440)),
        )
        if status == S.TRIAL:
            account.created_at = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
            account.trial_ends_at = trial_end_for(account=account, started_at=account.created_at)
        if status in (S.CANCELLED, S.EXPIRED):
            account.inactive_since = now - timedelta(
                days=rng.randint(3, 140), hours=rng.randint(0, 23)
            )
        if status == S.PURGED:
            account.inactive_since = now - timedelta(days=rng.randint(121, 400))
        if status == S.EXPIRED:
            account.trial_ends_at = account.inactive_since
            account.created_at = account.inactive_since - timedelta(days=30)
        if status in (S.CANCELLED, S.PURGED):
            # Old enough for a paid period and, for the unpaid ones, 90 days of suspension.
            account.created_at = account.inactive_since - timedelta(days=rng.randint(150, 700))
        if status in (S.CANCELLED, S.EXPIRED, S.PURGED):
            account.last_activity_at = account.inactive_since
        if status in (S.PAUSED, S.SUSPENDED):
            # Paid for a while before it was paused or suspended (in the last 80 days).
            account.created_at = min(account.created_at, now - timedelta(days=120))
        accounts.append(account)
    # Cancellations whose dates show a feature, each with its whole history at that date (the
    # call, the confirmation, billing's closing): four recent ones, two with the confirmation
    # overdue (R4) and two still due; one long past retention (compliance puts it under a
    # legal hold before its purge day); two whose purge day comes within the week (R7).
    cancelled = [a for a in accounts if a.status == S.CANCELLED]
    recent = cancelled[:4]
    ages = [timedelta(hours=h) for h in (30, 27, 3, 1)]
    ages += [timedelta(days=d, hours=5) for d in (150, 116, 119)]
    for account, age in zip(cancelled, ages, strict=False):
        account.inactive_since = account.last_activity_at = now - age
        account.created_at = min(account.created_at, account.inactive_since - timedelta(days=150))
    Account.objects.bulk_create(accounts, batch_size=500)
    accounts = list(Account.objects.filter(pk__in=[a.pk for a in accounts]).order_by("pk"))
    overdue_ids = {a.pk for a in Account.objects.filter(username__in=[r.username for r in recent])}

    agents = _agents()
    reasons = list(CancellationReason.objects.filter(active=True, system=False))
    if not reasons:
        reasons = [CancellationReason.objects.create(name="Too expensive")]
    non_payment, _created = CancellationReason.objects.get_or_create(
        name="Non-payment", defaults={"system": True, "active": False}
    )
    CancellationReason.objects.get_or_create(name="Holiday closure (2024 campaign)", active=False)

    events, requests = [], []
    for account in accounts:
        events += _timeline(account, rng=rng, now=now, agents=agents)
        requests += _requests(
            account,
            rng=rng,
            now=now,
            agents=agents,
            reasons=reasons,
            non_payment=non_payment,
            unsent=account.pk in overdue_ids,
        )
    # Each confirmation sent is on the account's timeline (R4, R12).
    events += [
        _event(
            r.account,
            r.confirmation_sent_at,
            "confirmation_sent",
            "",
            "",
            f"Cancellation confirmation sent to {r.account.primary_email} (R4)",
            job="send_confirmations",
        )
        for r in requests
        if r.confirmation_sent_at is not None
    ]
    AccountEvent.objects.bulk_create(events, batch_size=1000)
    CancellationRequest.objects.bulk_create(requests, batch_size=1000)
    content = _content(accounts, rng=rng, now=now)
    paused_until = _pauses_with_an_end(accounts, now=now)
    return _(
        "%(accounts)s accounts, %(events)s timeline events, %(requests)s cancellation requests, "
        "%(content)s, %(paused)s paused with an end date"
    ) % {
        "accounts": count,
        "events": len(events),
        "requests": len(requests),
        "content": content,
        "paused": paused_until,
    }


def _pauses_with_an_end(accounts: list[Account], *, now: datetime) -> int:
    """Every other paused account was paused until a date (R8): one resumes by itself within
    days, the next within weeks; their forecasts show the resume, its notice and the plan
    billed again. The others stay paused until someone resumes them."""
    paused = [a for a in accounts if a.status == S.PAUSED][::2]
    for n, account in enumerate(paused):
        until = localtime.local_date(now, account.zone) + timedelta(days=4 + 17 * (n % 2))
        Account.objects.filter(pk=account.pk).update(
            paused_until=until, resumes_at=localtime.start_of_day(until, account.zone)
        )
    return len(paused)


def _event(account, at, kind, source, target, reason, *, user=None, job=""):
    return AccountEvent(
        account=account,
        at=at,
        kind=kind,
        from_status=source,
        to_status=target,
        by_user=user,
        by_job=job if user is None else "",
        reason=reason,
    )


def _paused_at(account: Account, now: datetime) -> datetime:
    return now - timedelta(days=account.pk % 50 + 1, hours=account.pk % 7)


def _timeline(account: Account, *, rng, now, agents) -> list[AccountEvent]:
    """Plausible events leading to the account's state, oldest first."""
    a, status = account, account.status
    events = [
        _event(a, a.created_at, "created", "", S.TRIAL, "Signed up for a free trial", job="signup")
    ]
    if status == S.TRIAL:
        return events
    if status == S.EXPIRED:
        end = a.trial_ends_at.astimezone(a.zone)
        events.append(
            _event(
                a,
                a.inactive_since,
                "expire_trial",
                S.TRIAL,
                S.EXPIRED,
                f"Trial ended {end:%Y-%m-%d %H:%M %Z} without a paid plan",
                job="expire_trials",
            )
        )
        return events
    paid_at = a.created_at + timedelta(days=rng.randint(3, 29))
    events.append(
        _event(a, paid_at, "activate", S.TRIAL, S.ACTIVE, "Chose the Growth plan", job="signup")
    )
    last = paid_at
    if status == S.PAUSED:
        at = _paused_at(a, now)
        events.append(
            _event(
                a,
                at,
                "pause",
                S.ACTIVE,
                S.PAUSED,
                "Saved by pause on call: Seasonal business",
                user=rng.choice(agents),
            )
        )
    elif status == S.SUSPENDED:
        at = now - timedelta(days=rng.randint(1, 80))
        events.append(
            _event(
                a,
                at,
                "suspend",
                S.ACTIVE,
                S.SUSPENDED,
                "Card charge declined after retries (R11)",
                job="suspend_unpaid",
            )
        )
    elif status in (S.CANCELLED, S.PURGED):
        voluntary = a.pk % 4 != 0
        at = a.inactive_since
        if voluntary:
            events.append(
                _event(
                    a,
                    at,
                    "cancelled_voluntary",
                    S.ACTIVE,
                    S.CANCELLED,
                    "Cancelled on call",
                    user=rng.choice(agents),
                )
            )
        else:
            events.append(
                _event(
                    a,
                    at - timedelta(days=91),
                    "suspend",
                    S.ACTIVE,
                    S.SUSPENDED,
                    "Prepaid balance at zero without a card (R11)",
                    job="suspend_unpaid",
                )
            )
            events.append(
                _event(
                    a,
                    at - timedelta(days=91),
                    "suspension_notice",
                    "",
                    "",
                    f"Suspension notice sent to {a.primary_email}",
                    job="suspend_unpaid",
                )
            )
            events.append(
                _event(
                    a,
                    at,
                    "cancelled_involuntary",
                    S.SUSPENDED,
                    S.CANCELLED,
                    "Unpaid for more than 90 days (R11)",
                    job="cancel_unpaid",
                )
            )
        last = at
    if status == S.PURGED:
        events.append(
            _event(
                a,
                last + timedelta(days=121),
                "purge",
                S.CANCELLED,
                S.PURGED,
                "Inactive for more than 120 days (R7)",
                job="purge_inactive",
            )
        )
    return events


def _requests(account, *, rng, now, agents, reasons, non_payment, unsent) -> list:
    a = account
    if a.status not in (S.CANCELLED, S.PURGED, S.PAUSED, S.EXPIRED):
        return []
    if a.status == S.EXPIRED and a.pk % 5:
        return []  # most trials just ran out; a few were closed early on a call
    voluntary = a.status != S.CANCELLED and a.status != S.PURGED or a.pk % 4 != 0
    if a.status == S.PAUSED:
        at = _paused_at(a, now)
        outcome = CancellationOutcome.SAVED_BY_PAUSE
    elif a.status == S.EXPIRED:
        at, outcome = a.inactive_since, CancellationOutcome.TRIAL_CLOSED
    else:
        at, outcome = a.inactive_since, CancellationOutcome.CANCELLED
    if not unsent and at > now - timedelta(hours=24):
        unsent = True
    offered = voluntary and outcome != CancellationOutcome.TRIAL_CLOSED
    request = CancellationRequest(
        account=a,
        at=at,
        reason=rng.choice(reasons) if voluntary else non_payment,
        callers_words=rng.choice(CALLERS_WORDS) if voluntary else "Unpaid for more than 90 days",
        taken_by=rng.choice(agents) if voluntary else None,
        by_job="" if voluntary else "cancel_unpaid",
        voluntary=voluntary,
        outcome=outcome,
        pause_offered=offered,
        pause_accepted=outcome == CancellationOutcome.SAVED_BY_PAUSE,
        next_billing_date=(at + timedelta(days=rng.randint(1, 28))).date() if voluntary else None,
        in_time=True if voluntary else None,
        confirmation_sent_at=None if unsent else at + timedelta(minutes=rng.randint(1, 6)),
        confirmation_attempts=0 if unsent else 1,
    )
    if unsent and at < now - timedelta(hours=24):
        request.confirmation_attempts = 3
        request.confirmation_last_error = "451 4.3.0 Try again later (mail server refused)"
    return [request]


def _content(accounts: list[Account], *, rng, now) -> str:
    """Contacts, campaigns with reports, sign-up forms, integrations and hosted files; closed
    accounts show what cancelling did (R6); purged ones have nothing left (R7)."""
    logo, flyer = png_bytes((46, 125, 50)), png_bytes((21, 101, 192), size=16)
    contacts, campaigns, forms, integrations, files = [], [], [], [], []
    for a in accounts:
        if a.status == S.PURGED:
            continue
        is_open = a.status not in (S.CANCELLED, S.EXPIRED)
        for n in range(rng.randint(3, 12)):
            reader = rng.choice(READERS)
            contacts.append(
                Contact(
                    account=a,
                    email=f"{reader}.{n}.{a.pk}@{rng.choice(MAIL_DOMAINS)}",
                    name=reader.title(),
                    created_at=a.created_at + timedelta(days=rng.randint(0, 60)),
                )
            )
        for n, (name, subject) in enumerate(rng.sample(CAMPAIGNS, rng.randint(0, 3))):
            sent = a.status != S.TRIAL or n == 0
            campaigns.append(
                Campaign(
                    account=a,
                    name=name,
                    subject=subject,
                    sent_at=a.created_at + timedelta(days=7 + 14 * n) if sent else None,
                )
            )
        forms.append(
            SignupForm(
                account=a,
                name="Newsletter sign-up",
                public_key=f"demo-form-{a.pk}",
                discarded_signups=0 if is_open else rng.randint(0, 25),
            )
        )
        for service in rng.sample(SERVICES, rng.randint(0, 2)):
            integrations.append(
                Integration(
                    account=a,
                    service=service,
                    connected=is_open,
                    disconnected_at=None if is_open else a.inactive_since,
                )
            )
        files.append(
            HostedFile(
                account=a,
                public_key=f"demo-logo-{a.pk}",
                name="logo.png",
                content=logo,
                online=is_open,
            )
        )
        if a.pk % 3 == 0:
            files.append(
                HostedFile(
                    account=a,
                    kind=HostedFile.Kind.DOCUMENT,
                    public_key=f"demo-flyer-{a.pk}",
                    name="flyer.png",
                    content=flyer,
                    online=is_open,
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=2000)
    Campaign.objects.bulk_create(campaigns, batch_size=1000)
    reports = []
    for campaign in Campaign.objects.filter(account__in=accounts, sent_at__isnull=False):
        recipients = rng.randint(40, 5000)
        opens = int(recipients * rng.uniform(0.15, 0.45))
        reports.append(
            CampaignReport(
                campaign=campaign,
                recipients=recipients,
                opens=opens,
                clicks=int(opens * rng.uniform(0.05, 0.3)),
                unsubscribes=int(recipients * rng.uniform(0.0, 0.01)),
            )
        )
    CampaignReport.objects.bulk_create(reports, batch_size=1000)
    SignupForm.objects.bulk_create(forms, batch_size=1000)
    Integration.objects.bulk_create(integrations, batch_size=1000)
    HostedFile.objects.bulk_create(files, batch_size=500)
    return _(
        "%(contacts)s contacts, %(campaigns)s campaigns, %(forms)s sign-up forms, "
        "%(integrations)s integrations, %(files)s hosted files"
    ) % {
        "contacts": len(contacts),
        "campaigns": len(campaigns),
        "forms": len(forms),
        "integrations": len(integrations),
        "files": len(files),
    }
