"""A sign-up through an account's public form (R6, R9), and its double opt-in.

The contact is recorded by accounts while the account is open (after it closed, the form still
answers and the sign-up is only counted). An address that had unsubscribed is recorded as a
contact awaiting confirmation, and compliance mails it a confirmation link: the post alone
lifts nothing, since anyone can type an address into a form. Only the click on the link, by
whoever reads that mailbox, records the opt-in (compliance) and lets the contact be mailed
(accounts) - SPEC "Explicit opt-in means the address's owner confirmed it".
"""

from __future__ import annotations

import enum
from datetime import datetime

from django.db import transaction

from accounts.models import Account, SignupForm
from accounts.services.content import contacts_confirm, signup_record
from compliance.models import OptInConfirmation
from compliance.selectors import is_suppressed
from compliance.services import (
    Confirmed,
    optin_confirm,
    optin_confirmation_request,
    optin_confirmation_send,
)


class Signup(enum.Enum):
    """What became of a sign-up (the public is answered alike in every case)."""

    RECORDED = "recorded"
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # unsubscribed before: mailed a link
    DISCARDED = "discarded"  # the account is closed (R6)


def signup_receive(
    *, form: SignupForm, email: str, name: str, at: datetime, source_ip: str | None
) -> Signup:
    """Record a sign-up posted to `form` at `at`. An address suppressed at `at` is recorded as
    awaiting confirmation and mailed a confirmation link once the records are committed (at
    most one mail a day per address and account, ``optin_confirmation_request``)."""
    with transaction.atomic():
        account = Account.objects.only("status").get(pk=form.account_id)
        suppressed = account.is_open and is_suppressed(account, email, at=at)
        recorded = signup_record(
            form=form,
            email=email,
            name=name,
            at=at,
            source_ip=source_ip,
            awaiting_confirmation=suppressed,
        )
        if recorded is None:
            return Signup.DISCARDED
        if not suppressed:
            return Signup.RECORDED
        confirmation = optin_confirmation_request(
            account=recorded,
            address=email,
            form_name=form.name,
            form_key=form.public_key,
            source_ip=source_ip,
            now=at,
        )
        if confirmation is not None:
            transaction.on_commit(
                lambda: optin_confirmation_send(confirmation_id=confirmation.pk, now=at)
            )
        return Signup.AWAITING_CONFIRMATION


def signup_confirm(
    *, confirmation_id: int, at: datetime, source_ip: str | None, user_agent: str
) -> tuple[Confirmed, OptInConfirmation]:
    """The owner of the address clicked its confirmation link at `at`: compliance records the
    opt-in with its evidence chain (once, however often the link is clicked), and the
    account's contacts of that address awaiting it are mailed from now on."""
    with transaction.atomic():
        outcome, confirmation = optin_confirm(
            confirmation_id=confirmation_id, at=at, source_ip=source_ip, user_agent=user_agent
        )
        if outcome is Confirmed.RECORDED:
            contacts_confirm(account_id=confirmation.account_id, email=confirmation.address)
        return outcome, confirmation
