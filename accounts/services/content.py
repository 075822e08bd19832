"""What closing and reactivating do to an account's content (R6, R7), and what the public
endpoints do with it (sign-ups, hosted files)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from accounts.models import Account, Contact, HostedFile, Integration, SignupForm, SignupSubmission


def take_offline(*, account: Account, now: datetime) -> dict[str, int]:
    """R6: integrations disconnected, hosted files offline. Sign-up forms are left alone: they
    keep answering, and the public endpoint stops recording because the account is closed."""
    disconnected = Integration.objects.filter(account=account, connected=True).update(
        connected=False, disconnected_at=now
    )
    offline = HostedFile.objects.filter(account=account, online=True).update(online=False)
    return {"integrations_disconnected": disconnected, "files_offline": offline}


def bring_online(*, account: Account, now: datetime, inactive_since: datetime | None) -> dict:
    """R7: reactivation within the window restores everything closing took away: the hosted
    files and the integrations that closing disconnected (not those the customer had already
    disconnected before)."""
    integrations = Integration.objects.filter(account=account, connected=False)
    if inactive_since is not None:
        integrations = integrations.filter(disconnected_at__gte=inactive_since)
    reconnected = integrations.update(connected=True, disconnected_at=None)
    online = HostedFile.objects.filter(account=account, online=False).update(online=True)
    return {"integrations_reconnected": reconnected, "files_online": online}


def signup_record(
    *,
    form: SignupForm,
    email: str,
    name: str,
    at: datetime,
    source_ip: str | None,
    awaiting_confirmation: bool = False,
) -> Account | None:
    """A sign-up posted to a public form. Recorded (contact and submission) while the account
    is open; after it closed the form still answers, but the sign-up is only counted (R6).
    A contact `awaiting_confirmation` (an unsubscribed address, R9) is not mailed until the
    address confirms. Returns the account when it was recorded, None when discarded."""
    account = Account.objects.only("status").get(pk=form.account_id)
    if not account.is_open:
        SignupForm.objects.filter(pk=form.pk).update(discarded_signups=F("discarded_signups") + 1)
        return None
    with transaction.atomic():
        Contact.objects.create(
            account_id=form.account_id,
            email=email,
            name=name,
            signup_form=form,
            awaiting_confirmation=awaiting_confirmation,
        )
        SignupSubmission.objects.create(
            form=form, account_id=form.account_id, email=email, at=at, source_ip=source_ip
        )
    return account


def contacts_confirm(*, account_id: int, email: str) -> int:
    """`email` confirmed its sign-up (double opt-in): the account's contacts of that address
    that awaited it are mailed from now on. Returns how many there were."""
    return Contact.objects.filter(
        account_id=account_id, awaiting_confirmation=True, email__iexact=email.strip()
    ).update(awaiting_confirmation=False)
