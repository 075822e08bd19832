"""Demo compliance data: unsubscribe lists for accounts in every state (cancelled and purged
ones too), a mix of sources with some imported, opt-ins lifting a few, hand-over exports,
purge receipts of the purged accounts, and a legal hold on a cancelled account past 120 days."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from accounts.models import Account, AccountEvent, AccountStatus
from compliance.addresses import normalise_address
from compliance.models import (
    OptIn,
    OptInMethod,
    PurgeReceipt,
    Suppression,
    SuppressionExport,
    SuppressionImport,
    SuppressionSource,
)

FIRST = ["anna", "ben", "carla", "david", "emma", "felix", "grace", "hannah", "ivan", "jonas"]
LAST = ["weber", "miller", "diaz", "kuehn", "schmidt", "braun", "lee", "ito", "petrov", "wolf"]
DOMAINS = ["example.com", "example.org", "mail.example", "bücher.example", "Example.NET"]
SOURCES = [
    (SuppressionSource.UNSUBSCRIBE_LINK, 60),
    (SuppressionSource.BOUNCE, 12),
    (SuppressionSource.COMPLAINT, 8),
    (SuppressionSource.STAFF, 5),
    (SuppressionSource.IMPORT, 15),
]


def _address(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first}+news"])
    if rng.random() < 0.2:
        local = local.capitalize()
    return f"{local}@{rng.choice(DOMAINS)}"


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    accounts = list(Account.objects.order_by("pk"))
    sources, weights = zip(*SOURCES, strict=True)
    imports: dict[int, SuppressionImport] = {}
    suppressions: list[Suppression] = []
    for account in accounts:
        since = account.created_at
        seen: set[str] = set()
        for _ in range(rng.randint(0, 25)):
            address = _address(rng)
            key = normalise_address(address)
            if key in seen:
                continue
            seen.add(key)
            source = rng.choices(sources, weights)[0]
            at = since + (now - since) * rng.random()
            row = Suppression(
                account=account,
                address=address,
                normalised=key,
                source=source,
                at=at,
                by_job={
                    SuppressionSource.UNSUBSCRIBE_LINK: "unsubscribe_link",
                    SuppressionSource.BOUNCE: "bounce_processor",
                    SuppressionSource.COMPLAINT: "complaint_feedback_loop",
                    SuppressionSource.STAFF: "seed_demo",
                    SuppressionSource.IMPORT: "import_suppressions (ops)",
                }[source],
                evidence={
                    SuppressionSource.UNSUBSCRIBE_LINK: "unsubscribe link used by GET",
                    SuppressionSource.BOUNCE: "550 5.1.1 user unknown",
                    SuppressionSource.COMPLAINT: "ARF report from the mailbox provider",
                    SuppressionSource.STAFF: "customer asked by phone",
                    SuppressionSource.IMPORT: f"line {rng.randint(2, 900)}",
                }[source],
            )
            if source == SuppressionSource.IMPORT:
                if account.pk not in imports:
                    imports[account.pk] = SuppressionImport(
                        account=account,
                        file_name=f"unsubscribed_members_export_{rng.getrandbits(40):010x}.csv",
                        size_bytes=rng.randint(2_000, 90_000),
                        created_at=since + timedelta(days=1),
                        by_job="import_suppressions (ops)",
                        status=SuppressionImport.Status.DONE,
                        layout="Mailchimp unsubscribed members export",
                        finished_at=since + timedelta(days=1, minutes=1),
                    )
                row.at = min(row.at, since + timedelta(days=1))
            suppressions.append(row)
    SuppressionImport.objects.bulk_create(imports.values())
    for record in imports.values():
        rows = [
            s for s in suppressions if s.account_id == record.account_id and s.source == "import"
        ]
        for s in rows:
            s.imported_in = record
        record.counts = {
            "rows": len(rows) + 2,
            "added": len(rows),
            "already": 0,
            "rejected": 1,
            "written": len(rows),
        }
        record.problems = [[7, "two addresses glued together: 'a@example.comb@example.org'"]]
        record.rows_done, record.bytes_done = len(rows) + 2, record.size_bytes
    SuppressionImport.objects.bulk_update(
        imports.values(), ["counts", "problems", "rows_done", "bytes_done"]
    )
    Suppression.objects.bulk_create(suppressions, batch_size=1000)

    # A few people signed up again: opt-ins with evidence lift their suppressions (R9).
    optins = []
    for s in rng.sample(suppressions, min(15, len(suppressions))):
        at = s.at + (now - s.at) * rng.uniform(0.3, 0.9)
        method = rng.choice(OptInMethod.values)
        optins.append(
            OptIn(
                account=s.account,
                address=s.address,
                normalised=s.normalised,
                at=at,
                method=method,
                origin={
                    "signup_form": f"sign-up form 'Footer' from 198.51.100.{rng.randint(2, 250)}",
                    "double_opt_in": "confirmation link in the double opt-in mail",
                    "written_consent": "signed consent form received by post",
                }[method],
                evidence={
                    "signup_form": "The person submitted the account's sign-up form.",
                    "double_opt_in": f"confirmation token {rng.getrandbits(64):016x} confirmed",
                    "written_consent": f"scan DMS-{rng.randint(1000, 9999)}",
                }[method],
                recorded_at=at,
                by_job="signup_form" if method == "signup_form" else "seed_demo",
            )
        )
    OptIn.objects.bulk_create(optins)

    closed = [a for a in accounts if a.status in (AccountStatus.CANCELLED, AccountStatus.PURGED)]
    exports = [
        SuppressionExport(
            account=a,
            at=now - timedelta(days=rng.randint(1, 60)),
            purpose=f"Hand-over to the customer's new provider, ticket {rng.randint(4000, 4999)}",
            format=rng.choice(["csv", "sha256"]),
            rows=sum(1 for s in suppressions if s.account_id == a.pk),
            by_job="export_suppressions (ops)",
        )
        for a in rng.sample(closed, min(3, len(closed)))
    ]
    SuppressionExport.objects.bulk_create(exports)

    receipts = []
    for a in accounts:
        if a.status == AccountStatus.PURGED and a.inactive_since:
            at = a.inactive_since + timedelta(days=121, hours=3, minutes=30)
            receipts.append(
                PurgeReceipt(
                    account=a,
                    at=at,
                    started_at=at,
                    inactive_since=a.inactive_since,
                    counts={
                        "campaign_reports": rng.randint(0, 40),
                        "campaigns": rng.randint(0, 40),
                        "signup_submissions": rng.randint(0, 500),
                        "contacts": rng.randint(50, 20_000),
                        "signup_forms": rng.randint(0, 3),
                        "integrations": rng.randint(0, 2),
                        "hosted_files": rng.randint(0, 60),
                    },
                    by_job="purge_inactive",
                    run=f"purge_inactive as of {at:%Y-%m-%d} 03:30 UTC",
                )
            )
    PurgeReceipt.objects.bulk_create(receipts)

    held = ""
    cancelled = [a for a in accounts if a.status == AccountStatus.CANCELLED]
    if cancelled:
        # One account past 120 days, kept by a legal hold; two due within the week.
        hold = cancelled[0]
        Account.objects.filter(pk=hold.pk).update(
            inactive_since=now - timedelta(days=150),
            legal_hold=True,
            legal_hold_reason="Litigation hold: matter 2026-CV-0412",
        )
        AccountEvent.objects.create(
            account=hold,
            at=now - timedelta(days=20),
            kind="legal_hold_set",
            reason="Litigation hold: matter 2026-CV-0412",
            by_job="seed_demo",
        )
        held = f", legal hold on {hold.username}"
        for soon, days in zip(cancelled[1:3], (116, 119), strict=False):
            Account.objects.filter(pk=soon.pk).update(inactive_since=now - timedelta(days=days))
    return (
        f"{len(suppressions)} suppressions ({len(imports)} imports), {len(optins)} opt-ins, "
        f"{len(exports)} exports, {len(receipts)} purge receipts{held}"
    )
