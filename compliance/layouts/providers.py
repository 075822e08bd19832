"""The layouts of the major providers' exports, from their documented columns: for each, the
rule for which rows the provider marks as not to be mailed, and the date, reason and the
provider's own words each row carries. Recognising which one a file is: recognise.py.

Header names match in any case and spacing (see base.key).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from compliance.layouts.base import YES_NO, Columns, FileRefused, Layout, R
from core.problems import Problem

EMAIL = (
    "email",
    "email address",
    "e mail",
    "e mail address",
    "emailaddress",
    "mail",
    "address",
)
# Names staff read, by layout key (translated when shown).
NAMES = {
    "mailchimp_unsubscribed": _("Mailchimp unsubscribed-members export"),
    "mailchimp_cleaned": _("Mailchimp cleaned-members export"),
    "constantcontact_contacts": _("Constant Contact contact export"),
    "constantcontact_unsubscribes": _("Constant Contact unsubscribe report"),
    "sendgrid_unsubscribes": _("SendGrid global unsubscribes"),
    "sendgrid_group_unsubscribes": _("SendGrid group unsubscribes"),
    "sendgrid_bounces": _("SendGrid bounces"),
    "sendgrid_blocks": _("SendGrid blocks"),
    "sendgrid_spam_reports": _("SendGrid spam reports"),
    "sendgrid_invalid_emails": _("SendGrid invalid emails"),
    "ses_json": _("Amazon SES suppression list (JSON of list-suppressed-destinations)"),
    "ses_csv": _("Amazon SES suppression list (bulk CSV)"),
    "mailgun_unsubscribes": _("Mailgun unsubscribes"),
    "mailgun_bounces": _("Mailgun bounces"),
    "mailgun_complaints": _("Mailgun complaints"),
    "listmonk_blocklisted": _("listmonk subscriber export (blocklisted subscribers)"),
    "listmonk_list_unsubscribed": _("listmonk list export of unsubscribed subscribers"),
    "hubspot_contacts": _("HubSpot contact export"),
    "brevo_contacts": _("Brevo contact export"),
    "brevo_blocked": _("Brevo blocked contacts"),
    "klaviyo_profiles": _("Klaviyo profile export"),
    "klaviyo_suppressed": _("Klaviyo suppressed profiles"),
    "campaignmonitor_subscribers": _("Campaign Monitor subscriber export"),
    "campaignmonitor_suppression": _("Campaign Monitor suppression list"),
    "activecampaign_contacts": _("ActiveCampaign contact export"),
    "mautic_dnc": _("Mautic do-not-contact report"),
    "handover": _("CAN-SPAM hand-over export of this back office"),
    "ses_json_lines": _("Amazon SES suppression list (bulk JSON lines)"),
    "headerless": _("headerless list of addresses"),
    "list": _("list of addresses"),
    "mapping": _("saved column mapping"),
}
# Layouts staff may choose at upload when the file alone cannot tell (in this order).
CHOOSABLE = (
    "mailchimp_unsubscribed",
    "mailchimp_cleaned",
    "constantcontact_contacts",
    "constantcontact_unsubscribes",
    "sendgrid_unsubscribes",
    "sendgrid_group_unsubscribes",
    "sendgrid_bounces",
    "sendgrid_blocks",
    "sendgrid_spam_reports",
    "sendgrid_invalid_emails",
    "ses_csv",
    "mailgun_unsubscribes",
    "mailgun_bounces",
    "mailgun_complaints",
    "listmonk_blocklisted",
    "listmonk_list_unsubscribed",
    "hubspot_contacts",
    "brevo_contacts",
    "brevo_blocked",
    "klaviyo_profiles",
    "klaviyo_suppressed",
    "campaignmonitor_subscribers",
    "campaignmonitor_suppression",
    "activecampaign_contacts",
    "mautic_dnc",
    "handover",
)


class Missing(FileRefused):
    pass


def _need(cols: Columns, *names: str) -> int:
    index = cols.find(*names)
    if index is None:
        raise Missing(Problem(gettext_noop("no column %(column)s"), column=repr(names[0])))
    return index


def evidence_of(cols: Columns, *names: str) -> tuple[tuple[str, int], ...]:
    found = []
    for name in names:
        index = cols.find(name)
        if index is not None:
            found.append((cols.label(index), index))
    return tuple(found)


def _email(cols: Columns) -> int:
    return _need(cols, *EMAIL)


# --- Builders: one per layout; each reads the columns it needs or raises Missing ------------


def mailchimp_unsubscribed(cols: Columns, why: str) -> Layout:
    reason = cols.find("unsub reason")
    return Layout(
        key="mailchimp_unsubscribed",
        email=_need(cols, "email address", *EMAIL),
        date=cols.find("unsub time"),
        reason=R.UNSUBSCRIBE,
        # UNSUB_REASON "SPAM" (the member reported the campaign as spam) is a complaint.
        reason_column=reason,
        evidence=evidence_of(cols, "unsub reason", "unsub reason other", "unsub campaign title"),
        because=why,
    )


def mailchimp_cleaned(cols: Columns, why: str) -> Layout:
    return Layout(
        key="mailchimp_cleaned",
        email=_need(cols, "email address", *EMAIL),
        date=cols.find("clean time"),
        reason=R.HARD_BOUNCE,
        evidence=evidence_of(cols, "clean campaign title"),
        because=why,
    )


def constantcontact_contacts(cols: Columns, why: str) -> Layout:
    # "Email status" (Active, Unsubscribed, No Permissions Set, Awaiting Confirmation) says
    # who may be mailed; "Email permission status" (Explicit/Implicit, Express/Implied) says
    # how consent was given. Only older exports have the permission column alone, and there it
    # says Unsubscribed.
    status = cols.find("email status")
    statuses = {
        "unsubscribed": R.UNSUBSCRIBE,
        "active": None,
        "no permissions set": None,
        "awaiting confirmation": None,
        "pending confirmation": None,
        "": None,
    }
    if status is None:
        status = _need(cols, "email permission status")
        statuses |= {
            "explicit": None,
            "implicit": None,
            "express": None,
            "implied": None,
            "not set": None,
        }
    return Layout(
        key="constantcontact_contacts",
        email=_email(cols),
        status=status,
        statuses=statuses,
        date=cols.find(
            "confirmed opt out date",
            "opt out date",
            "unsubscribe date",
            "unsubscribed date",
            "email status updated",
            "updated at",
        ),
        evidence=evidence_of(
            cols,
            "confirmed opt out reason",
            "opt out reason",
            "unsubscribe reason",
            "confirmed opt out source",
            "opt out source",
            "email update source",
        ),
        because=why,
        because_args={"column": cols.label(status)},
    )


def constantcontact_unsubscribes(cols: Columns, why: str) -> Layout:
    return Layout(
        key="constantcontact_unsubscribes",
        email=_email(cols),
        date=_need(cols, "unsubscribe date", "unsubscribed date", "date unsubscribed"),
        evidence=evidence_of(cols, "unsubscribe reason", "unsubscribe source", "campaign name"),
        because=why,
    )


def _sendgrid(key: str, reason: str, *evidence: str) -> Callable[[Columns, str], Layout]:
    def build(cols: Columns, why: str) -> Layout:
        return Layout(
            key=key,
            email=_need(cols, "email"),
            date=_need(cols, "created", "created at"),
            reason=reason,
            evidence=evidence_of(cols, *evidence),
            because=why,
        )

    return build


sendgrid_unsubscribes = _sendgrid("sendgrid_unsubscribes", R.UNSUBSCRIBE)
sendgrid_group_unsubscribes = _sendgrid(
    "sendgrid_group_unsubscribes", R.UNSUBSCRIBE, "group name", "group id"
)
sendgrid_bounces = _sendgrid("sendgrid_bounces", R.HARD_BOUNCE, "status", "reason")
sendgrid_spam_reports = _sendgrid("sendgrid_spam_reports", R.COMPLAINT, "ip")
# SendGrid suppresses invalid addresses like bounces: nothing can be delivered to them.
sendgrid_invalid_emails = _sendgrid("sendgrid_invalid_emails", R.HARD_BOUNCE, "reason")


def sendgrid_blocks(cols: Columns, why: str) -> Layout:
    # SendGrid does not suppress blocked addresses: the next message is sent as usual.
    return Layout(
        key="sendgrid_blocks",
        email=_need(cols, "email"),
        date=cols.find("created"),
        suppresses_nothing=True,
        because=why,
    )


SES_REASONS = {"bounce": R.HARD_BOUNCE, "complaint": R.COMPLAINT}


def ses_csv(cols: Columns, why: str) -> Layout:
    # recipient@example.com,BOUNCE - no header, no date.
    return Layout(
        key="ses_csv",
        email=0,
        status=1,
        statuses=SES_REASONS,
        evidence=(("Reason", 1),),
        has_header=False,
        because=why,
    )


def _mailgun(key: str, reason: str, *evidence: str) -> Callable[[Columns, str], Layout]:
    def build(cols: Columns, why: str) -> Layout:
        return Layout(
            key=key,
            email=_need(cols, "address"),
            date=_need(cols, "created at"),
            reason=reason,
            evidence=evidence_of(cols, *evidence),
            because=why,
        )

    return build


mailgun_unsubscribes = _mailgun("mailgun_unsubscribes", R.UNSUBSCRIBE, "tags")
mailgun_bounces = _mailgun("mailgun_bounces", R.HARD_BOUNCE, "code", "error")
mailgun_complaints = _mailgun("mailgun_complaints", R.COMPLAINT)


def listmonk_blocklisted(cols: Columns, why: str) -> Layout:
    status = _need(cols, "status")
    return Layout(
        key="listmonk_blocklisted",
        email=_need(cols, "email"),
        status=status,
        statuses={"blocklisted": R.UNSUBSCRIBE, "enabled": None, "disabled": None},
        date=cols.find("updated at", "created at"),
        evidence=((cols.label(status), status),),
        because=why,
    )


def listmonk_list_unsubscribed(cols: Columns, why: str) -> Layout:
    # Exported with subscription_status=unsubscribed: every row unsubscribed from the list.
    return Layout(
        key="listmonk_list_unsubscribed",
        email=_need(cols, "email"),
        date=cols.find("updated at", "created at"),
        because=why,
    )


def hubspot_contacts(cols: Columns, why: str) -> Layout:
    status = _need(cols, "unsubscribed from all email")
    return Layout(
        key="hubspot_contacts",
        email=_need(cols, "email", *EMAIL),
        status=status,
        statuses=YES_NO,
        because=why,
        because_args={"column": cols.label(status)},
    )


BREVO_FLAGS = ("email blacklisted", "emailblacklisted", "email blocklisted", "blacklisted")


def brevo_contacts(cols: Columns, why: str) -> Layout:
    status = _need(cols, *BREVO_FLAGS)
    return Layout(
        key="brevo_contacts",
        email=_email(cols),
        status=status,
        statuses=YES_NO,
        because=why,
        because_args={"column": cols.label(status)},
    )


def brevo_blocked(cols: Columns, why: str) -> Layout:
    reason = _need(cols, "reason", "reason code")
    return Layout(
        key="brevo_blocked",
        email=_email(cols),
        date=cols.find("blocked at", "blockedat"),
        reason_column=reason,
        evidence=evidence_of(cols, "reason", "reason code", "reason message", "sender email"),
        because=why,
    )


def klaviyo_profiles(cols: Columns, why: str) -> Layout:
    status = _need(cols, "email marketing consent")
    return Layout(
        key="klaviyo_profiles",
        email=_email(cols),
        status=status,
        statuses={
            "unsubscribed": R.UNSUBSCRIBE,
            "subscribed": None,
            "never subscribed": None,
            "": None,
        },
        date=cols.find("email marketing consent timestamp"),
        evidence=((cols.label(status), status),),
        because=why,
    )


def klaviyo_suppressed(cols: Columns, why: str) -> Layout:
    reason = _need(cols, "suppression reason", "reason")
    return Layout(
        key="klaviyo_suppressed",
        email=_email(cols),
        date=cols.find("suppressed at", "suppression date", "date suppressed", "timestamp"),
        reason_column=reason,
        evidence=((cols.label(reason), reason),),
        because=why,
    )


def campaignmonitor_subscribers(cols: Columns, why: str) -> Layout:
    status = _need(cols, "state")
    return Layout(
        key="campaignmonitor_subscribers",
        email=_email(cols),
        status=status,
        statuses={
            "unsubscribed": R.UNSUBSCRIBE,
            "bounced": R.HARD_BOUNCE,
            "active": None,
            "unconfirmed": None,
            # Deleted by the account owner: not a request not to be mailed.
            "deleted": None,
        },
        date=cols.find("date"),
        evidence=((cols.label(status), status),),
        because=why,
    )


def campaignmonitor_suppression(cols: Columns, why: str) -> Layout:
    reason = _need(cols, "suppressionreason", "suppression reason")
    return Layout(
        key="campaignmonitor_suppression",
        email=_email(cols),
        date=cols.find("date"),
        reason_column=reason,
        evidence=((cols.label(reason), reason),),
        because=why,
    )


def activecampaign_contacts(cols: Columns, why: str) -> Layout:
    status = _need(cols, "status", "list status")
    return Layout(
        key="activecampaign_contacts",
        email=_email(cols),
        status=status,
        statuses={
            "unsubscribed": R.UNSUBSCRIBE,
            "bounced": R.HARD_BOUNCE,
            "active": None,
            "unconfirmed": None,
            # The API's numbers: 1 active, 2 unsubscribed, 3 bounced, 0 unconfirmed.
            "2": R.UNSUBSCRIBE,
            "3": R.HARD_BOUNCE,
            "1": None,
            "0": None,
        },
        date=cols.find("date unsubscribed", "unsubscribe date", "date updated", "udate"),
        evidence=((cols.label(status), status),),
        because=why,
        because_args={"column": cols.label(status)},
    )


def mautic_dnc(cols: Columns, why: str) -> Layout:
    reason = _need(cols, "reason", "dnc reason", "do not contact reason")
    channel = cols.find("channel", "dnc channel")
    return Layout(
        key="mautic_dnc",
        email=_email(cols),
        status=reason,
        statuses={
            "unsubscribed": R.UNSUBSCRIBE,
            "bounced": R.HARD_BOUNCE,
            "manual": R.MANUAL,
            "contactable": None,
            "1": R.UNSUBSCRIBE,
            "2": R.HARD_BOUNCE,
            "3": R.MANUAL,
            "0": None,
        },
        # Do-not-contact for SMS says nothing about email.
        only=((channel, frozenset({"email"})),) if channel is not None else (),
        date=cols.find("date added", "dnc date added"),
        evidence=evidence_of(cols, "reason", "dnc reason", "comments", "dnc comments"),
        because=why,
    )


def handover(cols: Columns, why: str) -> Layout:
    reason = cols.find("reason")
    source = cols.find("source")
    return Layout(
        key="handover",
        email=_need(cols, "email"),
        date=_need(cols, "suppressed at utc"),
        # The reason column of newer exports, else the source's (a bounce was a hard bounce).
        reason_column=reason if reason is not None else source,
        evidence=evidence_of(cols, "source", "reason"),
        because=why,
    )


BUILDERS: dict[str, Callable[[Columns, str], Layout]] = {
    "mailchimp_unsubscribed": mailchimp_unsubscribed,
    "mailchimp_cleaned": mailchimp_cleaned,
    "constantcontact_contacts": constantcontact_contacts,
    "constantcontact_unsubscribes": constantcontact_unsubscribes,
    "sendgrid_unsubscribes": sendgrid_unsubscribes,
    "sendgrid_group_unsubscribes": sendgrid_group_unsubscribes,
    "sendgrid_bounces": sendgrid_bounces,
    "sendgrid_blocks": sendgrid_blocks,
    "sendgrid_spam_reports": sendgrid_spam_reports,
    "sendgrid_invalid_emails": sendgrid_invalid_emails,
    "ses_csv": ses_csv,
    "mailgun_unsubscribes": mailgun_unsubscribes,
    "mailgun_bounces": mailgun_bounces,
    "mailgun_complaints": mailgun_complaints,
    "listmonk_blocklisted": listmonk_blocklisted,
    "listmonk_list_unsubscribed": listmonk_list_unsubscribed,
    "hubspot_contacts": hubspot_contacts,
    "brevo_contacts": brevo_contacts,
    "brevo_blocked": brevo_blocked,
    "klaviyo_profiles": klaviyo_profiles,
    "klaviyo_suppressed": klaviyo_suppressed,
    "campaignmonitor_subscribers": campaignmonitor_subscribers,
    "campaignmonitor_suppression": campaignmonitor_suppression,
    "activecampaign_contacts": activecampaign_contacts,
    "mautic_dnc": mautic_dnc,
    "handover": handover,
}
