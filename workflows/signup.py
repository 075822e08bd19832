"""A sign-up through an account's public form (R6, R9): the contact is recorded by accounts
while the account is open (after it closed, the form still answers and the sign-up is only
counted), and compliance learns of it: for an address that had unsubscribed, the sign-up is
the person's own new opt-in."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import SignupForm
from accounts.services.content import signup_record
from compliance.services import optin_record_from_signup


@transaction.atomic
def signup_receive(
    *, form: SignupForm, email: str, name: str, at: datetime, source_ip: str | None
) -> bool:
    """Record a sign-up posted to `form`; returns whether it was recorded (False: the account
    is closed, R6)."""
    account = signup_record(form=form, email=email, name=name, at=at, source_ip=source_ip)
    if account is None:
        return False
    optin_record_from_signup(
        account=account,
        address=email,
        form_name=form.name,
        form_key=form.public_key,
        source_ip=source_ip,
        at=at,
    )
    return True
