"""Double opt-in: how a suppressed address that signs up again lifts its suppression (R9, SPEC
"Explicit opt-in means the address's owner confirmed it").

A form post alone is no evidence: anyone can type an address into a form. The sign-up of a
suppressed address records a confirmation and mails that address a link; only a click on the
link, by whoever reads that mailbox, records the opt-in, with the whole chain as its evidence
(form, post time and address, mail sent, click time and address).
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.links import optin_confirmation_url
from accounts.models import Account
from compliance import conf
from compliance.addresses import address_key
from compliance.models import OptInConfirmation, OptInMethod
from compliance.selectors import is_suppressed, optin_confirmation_mailed_since
from compliance.services.suppressions import lock_address, optin_record
from core.actors import Actor

logger = logging.getLogger(__name__)

# One confirmation mail per address and account a day at most, however often the address is
# posted to the account's forms: the form must not become a way to mail-bomb someone who
# unsubscribed. A sign-up after that mails a fresh link (the first may be lost).
RESEND_AFTER = timedelta(hours=24)
SIGNUP_ACTOR = "signup_form"
CONFIRMATION_ACTOR = "double_opt_in"


class Confirmed(enum.Enum):
    """What a click on a confirmation link did."""

    RECORDED = "recorded"  # the opt-in is recorded: the suppression is lifted
    ALREADY = "already"  # clicked before, or no longer suppressed: nothing new recorded
    EXPIRED = "expired"  # older than OPTIN_CONFIRMATION_DAYS: sign up again
    DISCARDED = "discarded"  # the account closed meanwhile: sign-ups are not recorded (R6)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


def optin_confirmation_request(
    *,
    account: Account,
    address: str,
    form_name: str,
    form_key: str,
    source_ip: str | None,
    now: datetime,
) -> OptInConfirmation | None:
    """A sign-up of `address` posted to an open account's form at `now`: when the address is
    suppressed, record a confirmation to be mailed and return it; None when the address is not
    suppressed (the sign-up needs no confirmation) or a confirmation was mailed to it within
    RESEND_AFTER (nothing more is mailed). Nothing is lifted here."""
    key = address_key(address)
    with transaction.atomic():
        lock_address(account, key)
        if not is_suppressed(account, key, at=now):
            return None
        if optin_confirmation_mailed_since(account, key, since=now - RESEND_AFTER) is not None:
            return None
        return OptInConfirmation.objects.create(
            account=account,
            address=address.strip(),
            normalised=key,
            form_name=form_name,
            form_key=form_key,
            posted_at=now,
            posted_ip=source_ip,
            **Actor.system(SIGNUP_ACTOR).as_fields(),
        )


def optin_confirmation_message(*, confirmation: OptInConfirmation) -> EmailMessage:
    """The confirmation mail, in the account's language, to the address as posted."""
    account = confirmation.account
    with translation.override(account.language):
        values = {
            "sender": account.company or account.username,
            "address": confirmation.address,
            "link": optin_confirmation_url(confirmation_id=confirmation.pk),
            "days": conf.optin_confirmation_valid_for().days,
        }
        subject = _("Please confirm your subscription to %(sender)s") % values
        body = (
            _(
                "Hello,\n\n"
                "someone, hopefully you, signed up %(address)s for the mailings of %(sender)s. "
                "This address had unsubscribed from them before, so we will mail it again only "
                "if you confirm:\n\n"
                "%(link)s\n\n"
                "The link works for %(days)s days. If you did not sign up, ignore this mail: "
                "you stay unsubscribed and will hear nothing more.\n"
            )
            % values
        )
    message = EmailMessage(subject=subject, body=body, to=[confirmation.address])
    domain = settings.DEFAULT_FROM_EMAIL.split("@")[-1].strip(">")
    message.extra_headers["Message-ID"] = f"<optin-confirmation-{confirmation.pk}@{domain}>"
    return message


def optin_confirmation_send(*, confirmation_id: int, now: datetime) -> bool:
    """Mail the confirmation link and record when (the chain's "mail sent"); a refused send is
    recorded as the mail's error, and the next sign-up of the address mails a new link.
    Returns whether the mail went out."""
    confirmation = OptInConfirmation.objects.select_related("account").get(pk=confirmation_id)
    try:
        optin_confirmation_message(confirmation=confirmation).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 — any refusal or outage: recorded, retried by a new sign-up
        logger.warning("opt-in confirmation %s was not mailed: %s", confirmation_id, exc)
        OptInConfirmation.objects.filter(pk=confirmation_id).update(
            mail_error=f"{_when(now)}: {exc}"[:2000]
        )
        return False
    OptInConfirmation.objects.filter(pk=confirmation_id).update(mail_sent_at=now, mail_error="")
    return True


def optin_confirm(
    *, confirmation_id: int, at: datetime, source_ip: str | None, user_agent: str
) -> tuple[Confirmed, OptInConfirmation]:
    """The owner of the address clicked the link of confirmation `confirmation_id` at `at`:
    record the opt-in with its evidence chain, once (also when the suppression was lifted
    meanwhile: the click is consent all the same). A second click records nothing new; nor
    does a click on a link older than OPTIN_CONFIRMATION_DAYS, or one for an account that
    closed meanwhile (R6)."""
    with transaction.atomic():
        confirmation = (
            OptInConfirmation.objects.select_for_update()
            .select_related("account")
            .get(pk=confirmation_id)
        )
        if confirmation.confirmed_at is not None:
            return Confirmed.ALREADY, confirmation
        if at > confirmation.posted_at + conf.optin_confirmation_valid_for():
            return Confirmed.EXPIRED, confirmation
        account = confirmation.account
        if not account.is_open:
            return Confirmed.DISCARDED, confirmation
        posted_from = confirmation.posted_ip or "unknown IP"
        clicked_from = source_ip or "unknown IP"
        confirmation.optin = optin_record(
            account=account,
            address=confirmation.address,
            at=at,
            method=OptInMethod.DOUBLE_OPT_IN,
            origin=(
                f"double opt-in: sign-up form {confirmation.form_name!r} "
                f"({confirmation.form_key}) from {posted_from}, link clicked from {clicked_from}"
            )[:500],
            evidence=(
                f"Sign-up form {confirmation.form_name!r} ({confirmation.form_key}) posted "
                f"{_when(confirmation.posted_at)} from {posted_from}; confirmation link mailed "
                f"to {confirmation.address} {_when(confirmation.mail_sent_at)} (confirmation "
                f"#{confirmation.pk}); link clicked {_when(at)} from {clicked_from}, user agent "
                f"{user_agent[:200]!r}."
            ),
            by=Actor.system(CONFIRMATION_ACTOR),
            now=at,
        )
        confirmation.confirmed_at = at
        confirmation.confirmed_ip = source_ip
        confirmation.save(update_fields=["optin", "confirmed_at", "confirmed_ip"])
        return Confirmed.RECORDED, confirmation
