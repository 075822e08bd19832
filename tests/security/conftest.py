"""A small world with one record of every model the admin shows, for the security tests.

The card's gateway token and the account's contact and suppression addresses are
distinctive strings, so that a test can look for them in every page and log line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent, AccountStatus
from api.models import ApiKey
from approvals.models import ApprovalDecision, ApprovalRequest
from billing.models import CardChargeAttempt, EntryKind, LedgerEntry
from compliance.models import (
    Complaint,
    ErasureRequest,
    OptIn,
    OptInConfirmation,
    PurgeReceipt,
    SuppressionExport,
    SuppressionImport,
    SuppressionMapping,
    SuppressionReport,
)
from core.models import ChangeRecord
from exchanges.models import ImportRecord, ImportStatus
from jobs.models import JobRun
from tests.accounts.factories import (
    CancellationReasonFactory,
    CancellationRequestFactory,
    ContactFactory,
)
from tests.billing.factories import (
    AccountAddOnFactory,
    AddOnFactory,
    BillingProfileFactory,
    CardFactory,
    PlanFactory,
)
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

# A token the test gateway accepts (tok_ok_<anything>) and that no page should ever show.
CARD_TOKEN = "tok_ok_zq7SECRETcardTOKENx91"
CONTACT_EMAILS = ("kept.reader.zq7@contacts.example", "second.reader.zq7@contacts.example")
SUPPRESSED_EMAILS = ("gone.away.zq7@optout.example", "no.more.zq7@optout.example")
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    objects: dict  # model label -> one existing object of that model
    superuser: object


def build_world(django_user_model) -> World:
    superuser = django_user_model.objects.create_superuser("root.walk", password="x")
    account = AccountFactory(
        username="walk-account", company="Walk Ltd", status=AccountStatus.ACTIVE
    )
    plan = PlanFactory()
    addon = AddOnFactory()
    profile = BillingProfileFactory(account=account, plan=plan)
    card = CardFactory(account=account, token=CARD_TOKEN, brand="Visa", last4="1111")
    account_addon = AccountAddOnFactory(account=account, addon=addon)
    for email in CONTACT_EMAILS:
        ContactFactory(account=account, email=email)
    suppression = None
    for email in SUPPRESSED_EMAILS:
        suppression = SuppressionFactory(account=account, address=email, normalised=email)
    reason = CancellationReasonFactory(name="Too expensive (walk)")
    request = CancellationRequestFactory(account=account, reason=reason)
    event = AccountEvent.objects.create(account=account, at=AT, kind="note", by_job="walk")
    ledger = LedgerEntry.objects.create(
        account=account,
        at=AT,
        kind=EntryKind.CHARGE,
        amount=Decimal("45.00"),
        currency="USD",
        description="Plan Growth",
        reference="ch_walk",
        by_job="walk",
    )
    attempt = CardChargeAttempt.objects.create(
        account=account,
        at=AT,
        purpose="charge",
        amount=Decimal("45.00"),
        currency="USD",
        idempotency_key="charge:walk",
        outcome="succeeded",
        gateway_reference="ch_walk",
        by_job="walk",
    )
    optin = OptIn.objects.create(
        account=account,
        address="back.again.zq7@optout.example",
        normalised="back.again.zq7@optout.example",
        at=AT,
        method="written_consent",
        origin="letter",
        evidence="signed form",
        recorded_at=AT,
        by_job="walk",
    )
    confirmation = OptInConfirmation.objects.create(
        account=account,
        address="back.again.zq7@optout.example",
        normalised="back.again.zq7@optout.example",
        form_name="Newsletter",
        form_key="walk-form",
        posted_at=AT,
        posted_ip="198.51.100.7",
        mail_sent_at=AT,
        confirmed_at=AT,
        confirmed_ip="203.0.113.40",
        optin=optin,
        by_job="walk",
    )
    export = SuppressionExport.objects.create(
        account=account, at=AT, purpose="hand-over", format="csv", rows=2, by_job="walk"
    )
    suppression_import = SuppressionImport.objects.create(
        account=account,
        file_name="list.csv",
        created_at=AT,
        status=SuppressionImport.Status.DONE,
        problems=[[3, f"not an address: {SUPPRESSED_EMAILS[0]}x@"]],
        by_job="walk",
    )
    receipt = PurgeReceipt.objects.create(
        account=account, at=AT, started_at=AT, inactive_since=AT, counts={}, by_job="walk"
    )
    import_record = ImportRecord.objects.create(
        at=AT,
        by_user=superuser,
        model="accounts.account",
        resource="AccountResource",
        file_name="accounts.csv",
        status=ImportStatus.REFUSED,
        row_errors=[{"line": 2, "key": "walk-account", "column": "company", "error": "too long"}],
    )
    change = ChangeRecord.objects.create(
        at=AT,
        model="billing.plan",
        object_id=str(plan.pk),
        object_repr=str(plan),
        action="changed",
        changes=[["monthly_price", "40.00", "45.00"]],
        reason="new price list",
        by_job="walk",
    )
    signoff = ApprovalRequest.objects.create(
        account=account,
        kind="refund",
        subject=f"ledgerentry:{ledger.pk}",
        payload={"entry_id": ledger.pk},
        summary="refund 45.00 USD",
        reason="walk",
        requested_at=AT,
        expires_at=AT,
        by_user=superuser,
    )
    ApprovalDecision.objects.create(
        request=signoff, outcome="expired", at=AT, note="walk", by_job="walk"
    )
    complaint = SuppressionFactory(
        account=account,
        address="complained.zq7@complaints.example",
        normalised="complained.zq7@complaints.example",
        source="complaint",
        reason="c",
        by_job="webhook amazon_ses",
    )
    SuppressionReport.objects.create(
        origin="amazon_ses",
        event_key="0" * 64,
        fingerprint="1" * 64,
        account=account,
        suppression=complaint,
        at=AT,
    )
    api_key = ApiKey.objects.create(
        integration="walk-mta",
        prefix="walk01",
        digest="2" * 64,
        can_check=True,
        created_at=AT,
        created_by=superuser,
    )
    erasure = ErasureRequest.objects.create(
        address="to.erase.zq7@erase.example",
        normalised="to.erase.zq7@erase.example",
        sha256="3" * 64,
        md5="4" * 32,
        reference="ticket walk-1",
        requested_by=superuser,
        requested_at=AT,
    )
    job_run = JobRun.objects.create(
        job="run_billing", as_of=AT, trigger=JobRun.Trigger.COMMAND, started_at=AT
    )
    axes = {"user_agent": "pytest", "http_accept": "*/*", "path_info": "/admin/login/"}
    objects = {
        "auth.group": Group.objects.get(name="Support"),
        "auth.user": superuser,
        "django_celery_beat.periodictask": PeriodicTask.objects.first()
        or PeriodicTask.objects.create(
            name="walk", task="x", interval=IntervalSchedule.objects.create(every=1, period="days")
        ),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(clocked_time=AT),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.first()
        or CrontabSchedule.objects.create(),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=Decimal("52.5"), longitude=Decimal("13.4")
        ),
        "django_celery_beat.intervalschedule": IntervalSchedule.objects.first()
        or IntervalSchedule.objects.create(every=1, period="days"),
        "axes.accessattempt": AccessAttempt.objects.create(
            **axes, get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**axes),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**axes),
        "exchanges.importrecord": import_record,
        "otp_totp.totpdevice": TOTPDevice.objects.create(
            user=superuser, name="Authenticator app", confirmed=True
        ),
        "accounts.account": account,
        "accounts.cancellationreason": reason,
        "accounts.cancellationrequest": request,
        "accounts.accountevent": event,
        "billing.plan": plan,
        "billing.addon": addon,
        "billing.accountaddon": account_addon,
        "billing.card": card,
        "billing.billingprofile": profile,
        "billing.ledgerentry": ledger,
        "billing.cardchargeattempt": attempt,
        "compliance.suppression": suppression,
        "compliance.optin": optin,
        "compliance.optinconfirmation": confirmation,
        "compliance.suppressionexport": export,
        "compliance.suppressionimport": suppression_import,
        "compliance.suppressionmapping": SuppressionMapping.objects.create(
            name="walk mapping",
            address_column="Kontakt",
            status_column="Zustand",
            suppressed_values=["abgemeldet"],
            created_at=AT,
            by_job="walk",
        ),
        "compliance.purgereceipt": receipt,
        "compliance.complaint": Complaint.objects.get(pk=complaint.pk),
        "compliance.erasurerequest": erasure,
        "api.apikey": api_key,
        "compliance.retentionaccount": account,
        "jobs.jobrun": job_run,
        "approvals.approvalrequest": signoff,
        "core.changerecord": change,
    }
    # A preview page of each model's CSV import (the walk opens import/<import_id>/): a
    # refused preview of the superuser's, nothing to confirm.
    for model in (
        "accounts.account",
        "accounts.cancellationreason",
        "billing.plan",
        "billing.addon",
    ):
        objects[f"exchanges.importrecord@{model}"] = (
            import_record
            if model == import_record.model
            else ImportRecord.objects.create(
                at=AT,
                by_user=superuser,
                model=model,
                resource="walk",
                file_name=f"{model}.csv",
                status=ImportStatus.REFUSED,
            )
        )
    return World(objects=objects, superuser=superuser)


@pytest.fixture
def world(db, django_user_model) -> World:
    return build_world(django_user_model)
