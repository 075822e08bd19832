"""Demo compliance data: unsubscribe lists for accounts in every state (cancelled and purged
ones too), a mix of sources and reasons (unsubscribes, hard bounces, complaints, staff entries)
with some imported from other providers' layouts (with the provider's words as evidence),
opt-ins lifting a few, hand-over exports, purge receipts of the purged accounts, a legal hold
on a cancelled account past 120 days, a saved column mapping and an uploaded table waiting
for its columns to be mapped, and on one open account two double opt-ins of unsubscribed
addresses: one confirmed by its click, one mailed and still waiting."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Account, AccountEvent, AccountStatus, SignupForm
from accounts.services.content import signup_record
from compliance import conf
from compliance.addresses import normalise_address
from compliance.models import (
    SOURCE_REASON,
    OptIn,
    OptInMethod,
    PurgeReceipt,
    Suppression,
    SuppressionExport,
    SuppressionImport,
    SuppressionMapping,
    SuppressionReason,
    SuppressionSource,
)
from compliance.services import (
    optin_confirmation_request,
    optin_confirmation_send,
    suppression_record,
)
from compliance.services.import_runs import suppression_import_preview
from core.actors import Actor
from core.problems import Problem
from workflows.signup import signup_confirm, signup_receive

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


R = SuppressionReason
# Imported lists as providers lay them out: (layout, why it was recognised, file name,
# [(reason, the provider's words on a row)]).
IMPORTED = [
    (
        "mailchimp_unsubscribed",
        "Mailchimp's member columns (LEID, EUID, MEMBER_RATING) with UNSUB_TIME",
        "unsubscribed_members_export_{n}.csv",
        [
            (R.UNSUBSCRIBE, "UNSUB_REASON: NORMAL; UNSUB_CAMPAIGN_TITLE: Spring Sale"),
            (R.COMPLAINT, "UNSUB_REASON: SPAM; UNSUB_CAMPAIGN_TITLE: May Newsletter"),
        ],
    ),
    (
        "sendgrid_bounces",
        "SendGrid's bounce and block columns, and 'bounce' in the file name",
        "bounces_{n}.csv",
        [(R.HARD_BOUNCE, "status: 5.1.1; reason: 550 5.1.1 The email account does not exist")],
    ),
    (
        "ses_json",
        "JSON with SuppressedDestinationSummaries: the output of aws sesv2 "
        "list-suppressed-destinations (Reason BOUNCE or COMPLAINT, LastUpdateTime)",
        "suppressed-destinations-{n}.json",
        [(R.HARD_BOUNCE, "Reason: BOUNCE"), (R.COMPLAINT, "Reason: COMPLAINT")],
    ),
    (
        "mailgun_unsubscribes",
        "Mailgun's unsubscribe columns (address, tags)",
        "mailgun-unsubscribes-{n}.csv",
        [(R.UNSUBSCRIBE, "tags: *"), (R.UNSUBSCRIBE, "tags: newsletter")],
    ),
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
        for _n in range(rng.randint(0, 25)):
            address = _address(rng)
            key = normalise_address(address)
            if key in seen:
                continue
            seen.add(key)
            source = rng.choices(sources, weights)[0]
            at = since + (now - since) * rng.random()
            row = Suppression(
                account=account,
                # bulk_create does not go through save(): kept as save() would keep it.
                received=Suppression.received_to_store(address, key),
                normalised=key,
                source=source,
                reason=SOURCE_REASON[source],
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
                layout, because, name, rows = IMPORTED[account.pk % len(IMPORTED)]
                if account.pk not in imports:
                    imports[account.pk] = SuppressionImport(
                        account=account,
                        file_name=name.format(n=f"{rng.getrandbits(40):010x}"),
                        size_bytes=rng.randint(2_000, 90_000),
                        created_at=since + timedelta(days=1),
                        by_job="import_suppressions (ops)",
                        status=SuppressionImport.Status.DONE,
                        layout=layout,
                        because=[because, {}],
                        finished_at=since + timedelta(days=1, minutes=1),
                    )
                row.reason, words = rng.choice(rows)
                row.evidence = f"line {rng.randint(2, 900)}: {words}"
                row.at = min(row.at, since + timedelta(days=1))
            suppressions.append(row)
    SuppressionImport.objects.bulk_create(imports.values())
    for record in imports.values():
        rows = [
            s for s in suppressions if s.account_id == record.account_id and s.source == "import"
        ]
        for s in rows:
            s.imported_in = record
        reasons: dict[str, int] = {}
        for s in rows:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        record.counts = {
            "rows": len(rows) + 3,
            "added": len(rows),
            "already": 0,
            "rejected": 1,
            "skipped": 1,
            "undated": 1 if rows else 0,
            "written": len(rows),
            "reasons": reasons,
        }
        # Kept in no language, as an import keeps them: each reader sees their own.
        glued = Problem(
            gettext_noop("%(kind)s: %(address)s"),
            kind=Problem(gettext_noop("two addresses glued together")),
            address=repr("a@example.comb@example.org"),
        )
        record.problems = [[7, glued.as_json()]]
        if rows:
            unreadable = Problem(
                gettext_noop("date %(date)s cannot be read: suppressed as of the import"),
                date=repr("n/a"),
            )
            record.notices = [[9, unreadable.as_json()]]
        record.rows_done, record.bytes_done = len(rows) + 3, record.size_bytes
    SuppressionImport.objects.bulk_update(
        imports.values(), ["counts", "problems", "notices", "rows_done", "bytes_done"]
    )
    Suppression.objects.bulk_create(suppressions, batch_size=1000)

    # A few people opted in again in writing: opt-ins with evidence lift their suppressions (R9).
    # (A form post alone is no evidence: sign-ups go through double opt-in, below.)
    optins = []
    for s in rng.sample(suppressions, min(15, len(suppressions))):
        at = s.at + (now - s.at) * rng.uniform(0.3, 0.9)
        method = OptInMethod.WRITTEN_CONSENT
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

    held = _legal_hold(accounts, now)
    mapped = _mapping_step(accounts, now)
    double = _double_optins(accounts=accounts, now=now)
    summary = _(
        "%(suppressions)s suppressions (%(imports)s imports), %(optins)s opt-ins, %(exports)s "
        "exports, %(receipts)s purge receipts"
    ) % {
        "suppressions": len(suppressions),
        "imports": len(imports),
        "optins": len(optins),
        "exports": len(exports),
        "receipts": len(receipts),
    }
    return ", ".join([summary, *(part for part in (held, mapped, double) if part)])


def _legal_hold(accounts: list[Account], now: datetime) -> str:
    """The cancelled account longest past retention is kept by a legal hold, set by a
    compliance officer a month into its retention (before its purge day, R7); the accounts
    demo closed it 150 days ago, and its timeline, confirmation and billing say so."""
    past = [
        a
        for a in accounts
        if a.status == AccountStatus.CANCELLED
        and a.inactive_since is not None
        and a.inactive_since < now - timedelta(days=140)
    ]
    if not past:
        return ""
    hold = min(past, key=lambda a: a.inactive_since)
    reason = "Litigation hold: matter 2026-CV-0412"
    Account.objects.filter(pk=hold.pk).update(legal_hold=True, legal_hold_reason=reason)
    officer = User.objects.filter(groups__name="Compliance", is_active=True).first()
    AccountEvent.objects.create(
        account=hold,
        at=hold.inactive_since + timedelta(days=30),
        kind="legal_hold_set",
        reason=reason,
        **(Actor.staff(officer) if officer else Actor.system("seed_demo")).as_fields(),
    )
    return _("legal hold on %(username)s") % {"username": hold.username}


def _mapping_step(accounts: list[Account], now: datetime) -> str:
    """A saved column mapping, and a table of an in-house system uploaded by a manager that
    waits for its columns to be mapped (its file is kept, so the mapping step can run)."""
    open_accounts = [a for a in accounts if a.is_open]
    if not open_accounts:
        return ""
    SuppressionMapping.objects.get_or_create(
        name="In-house CRM (Kontakt, Zustand)",
        defaults={
            "address_column": "Kontakt",
            "status_column": "Zustand",
            "suppressed_values": ["abgemeldet", "gesperrt"],
            "date_column": "Geändert am",
            "reason": SuppressionReason.UNSUBSCRIBE,
            "created_at": now - timedelta(days=30),
            "by_job": "seed_demo",
        },
    )
    folder = conf.import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-crm-export.csv"
    path.write_text(
        "Kunde;Kontakt;Zustand;Geändert am\n"
        "Anna Weber;anna.weber@example.com;abgemeldet;2026-01-12 09:30\n"
        "Ben Miller;ben+news@example.com;aktiv;2026-02-01 10:00\n"
        "Carla Díaz;carla.diaz@example.org;bounce;2026-02-03 08:15\n",
        encoding="utf-8",
    )
    record = SuppressionImport.objects.create(
        account=open_accounts[0],
        file_name="crm-export.csv",
        stored_path=str(path),
        size_bytes=path.stat().st_size,
        created_at=now - timedelta(hours=2),
        by_job="seed_demo",
    )
    # Read as any upload is: no layout matches, so it waits for the staff's mapping.
    suppression_import_preview(record_id=record.pk, now=now - timedelta(hours=2))
    return _("a saved column mapping and an import waiting for its mapping")


def _double_optins(*, accounts: list[Account], now: datetime) -> str:
    """Two unsubscribed readers of an open account sign up again through its form (R9): one
    confirmed the link mailed to her, the other's mail waits for the click. Made by the same
    services the public endpoints use."""
    form = (
        SignupForm.objects.filter(account__in=[a for a in accounts if a.is_open])
        .select_related("account")
        .order_by("account_id")
        .first()
    )
    if form is None:
        return ""
    account = form.account
    confirmed, waiting = "lena.vogel@example.org", "Tom.Fischer@example.com"
    for address in (confirmed, waiting):
        suppression_record(
            account=account,
            address=address,
            source=SuppressionSource.UNSUBSCRIBE_LINK,
            at=now - timedelta(days=60),
            by=Actor.system("unsubscribe_link"),
            evidence="unsubscribe link used by GET",
        )
    # Confirmed: posted, mailed a minute later, clicked two hours after that.
    posted = now - timedelta(days=5)
    signup_record(
        form=form,
        email=confirmed,
        name="Lena",
        at=posted,
        source_ip="198.51.100.23",
        awaiting_confirmation=True,
    )
    confirmation = optin_confirmation_request(
        account=account,
        address=confirmed,
        form_name=form.name,
        form_key=form.public_key,
        source_ip="198.51.100.23",
        now=posted,
    )
    assert confirmation is not None
    optin_confirmation_send(confirmation_id=confirmation.pk, now=posted + timedelta(minutes=1))
    signup_confirm(
        confirmation_id=confirmation.pk,
        at=posted + timedelta(hours=2),
        source_ip="203.0.113.41",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
    )
    # Waiting: the sign-up as the form records it; its link is mailed when the demo commits.
    signup_receive(
        form=form, email=waiting, name="Tom", at=now - timedelta(hours=6), source_ip="192.0.2.77"
    )
    return _("double opt-ins on %(username)s (one confirmed, one waiting)") % {
        "username": account.username
    }
