"""Recognising a file's layout from its first line and its name; a layout chosen at upload.

The checks run from the most specific columns to the most general. A table that has an
address column and a column that may say who is not to be mailed, but matches no known
layout, is not guessed at: the staff map its columns (MappingNeeded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.translation import gettext_noop

from compliance.layouts.base import Columns, FileRefused, Layout, MappingNeeded
from compliance.layouts.providers import (
    BREVO_FLAGS,
    BUILDERS,
    EMAIL,
    NAMES,
    Missing,
    activecampaign_contacts,
    brevo_blocked,
    brevo_contacts,
    campaignmonitor_subscribers,
    campaignmonitor_suppression,
    constantcontact_contacts,
    constantcontact_unsubscribes,
    evidence_of,
    handover,
    hubspot_contacts,
    klaviyo_profiles,
    klaviyo_suppressed,
    listmonk_blocklisted,
    listmonk_list_unsubscribed,
    mailchimp_cleaned,
    mailchimp_unsubscribed,
    mailgun_bounces,
    mailgun_complaints,
    mailgun_unsubscribes,
    mautic_dnc,
    sendgrid_blocks,
    sendgrid_bounces,
    sendgrid_group_unsubscribes,
    sendgrid_invalid_emails,
    sendgrid_spam_reports,
    sendgrid_unsubscribes,
    ses_csv,
)
from core.problems import Problem

GENERIC_DATES = (
    "unsubscribed at",
    "unsubscribe date",
    "unsubscribed date",
    "unsub time",
    "suppressed at",
    "date",
    "created",
    "created at",
)
# Headers that say something about whether a row may be mailed: a table carrying one is not
# read as "every row is suppressed" without the staff saying which values mean that.
_STATUS_WORDS = (
    "status",
    "state",
    "subscri",
    "opt",
    "consent",
    "permission",
    "blacklist",
    "blocklist",
    "suppress",
    "bounce",
    "do not",
    "dnc",
    "marketable",
)


def build(layout_key: str, header: Sequence[str]) -> Layout:
    """The layout `layout_key` (chosen by the staff) over this file's columns, or FileRefused
    naming the column it lacks."""
    builder = BUILDERS.get(layout_key)
    if builder is None:
        raise FileRefused(
            Problem(gettext_noop("unknown layout %(layout)s"), layout=repr(layout_key))
        )
    cols = Columns(header)
    try:
        return builder(cols, gettext_noop("the staff chose this layout at upload"))
    except Missing as exc:
        raise FileRefused(
            Problem(
                gettext_noop(
                    "the file does not have the columns of %(layout)s: %(missing)s; the first "
                    "line has %(header)s"
                ),
                layout=NAMES[layout_key],
                missing=exc.problem,
                header=_shown(header),
            )
        ) from None


def _shown(header: Sequence[str]) -> str | Problem:
    return ", ".join(repr(h.replace("\ufeff", "")) for h in header[:12]) or Problem(
        gettext_noop("(nothing)")
    )


def _is_status_like(name: str) -> bool:
    return any(word in name for word in _STATUS_WORDS)


def columns_with_examples(
    header: Sequence[str], rows: Sequence[Sequence[str]], limit: int = 6
) -> list[dict]:
    """The header with a few distinct values of each column, for the mapping step. Cells that
    hold an address are left out: the hints are for statuses and dates."""
    columns = []
    for index, name in enumerate(header):
        examples: list[str] = []
        for row in rows:
            value = row[index].strip() if index < len(row) else ""
            if value and "@" not in value and value not in examples:
                examples.append(value[:40])
            if len(examples) >= limit:
                break
        columns.append({"name": name.replace("\ufeff", "").strip(), "examples": examples})
    return columns


def recognise(header: Sequence[str], file_name: str, sample: Sequence[Sequence[str]]) -> Layout:
    """The layout of a file from its first line, its name and its next few rows (`sample`,
    used only to tell a headerless list), or FileRefused / MappingNeeded saying why not."""
    cols = Columns(header)
    keys = set(cols.keys)
    name = file_name.rsplit("/", 1)[-1].lower()

    def make(builder: Callable[[Columns, str], Layout], why: str) -> Layout:
        return builder(cols, why)

    if keys & {"email md5", "email sha256"}:
        raise FileRefused(
            Problem(
                gettext_noop(
                    "this is a hashed hand-over export: it holds no addresses to import; "
                    "import the CSV export of addresses instead"
                )
            )
        )
    if cols.keys[:2] == ["email", "suppressed at utc"]:
        return make(
            handover, gettext_noop("its columns are those of this back office's hand-over export")
        )

    if {"leid", "euid"} & keys or "member rating" in keys:
        if "unsub time" in keys or "unsubscribed" in name:
            return make(
                mailchimp_unsubscribed,
                gettext_noop(
                    "Mailchimp's member columns (LEID, EUID, MEMBER_RATING) with UNSUB_TIME"
                ),
            )
        if "clean time" in keys or "cleaned" in name:
            return make(
                mailchimp_cleaned,
                gettext_noop(
                    "Mailchimp's member columns (LEID, EUID, MEMBER_RATING) with CLEAN_TIME"
                ),
            )
        raise FileRefused(
            Problem(
                gettext_noop(
                    "this is Mailchimp's subscribed-members export: its members may be mailed; "
                    "import the unsubscribed_members_export and cleaned_members_export files "
                    "of the same download"
                )
            )
        )

    if cols.has("email status", "email permission status") and cols.has(*EMAIL):
        return make(
            constantcontact_contacts,
            gettext_noop(
                "Constant Contact's contact columns; the column %(column)s says who unsubscribed"
            ),
        )
    if cols.has("unsubscribe date", "unsubscribed date", "date unsubscribed") and cols.has(
        "unsubscribe source", "unsubscribe reason"
    ):
        return make(
            constantcontact_unsubscribes,
            gettext_noop(
                "the columns of Constant Contact's unsubscribe report (date, source, reason)"
            ),
        )

    if {"uuid", "email", "status"} <= keys:
        if "unsubscribed" in name:
            return make(
                listmonk_list_unsubscribed,
                gettext_noop(
                    "listmonk's export columns (uuid, email, status) and 'unsubscribed' in the "
                    "file name: a list's unsubscribed subscribers"
                ),
            )
        return make(
            listmonk_blocklisted,
            gettext_noop(
                "listmonk's export columns (uuid, email, status); blocklisted subscribers are "
                "suppressed (a list's unsubscribed export: choose that layout at upload)"
            ),
        )

    if "address" in keys and "created at" in keys:
        if {"code", "error"} <= keys:
            return make(
                mailgun_bounces, gettext_noop("Mailgun's bounce columns (address, code, error)")
            )
        if "tags" in keys:
            return make(
                mailgun_unsubscribes, gettext_noop("Mailgun's unsubscribe columns (address, tags)")
            )
        if keys == {"address", "created at"}:
            return make(
                mailgun_complaints,
                gettext_noop("Mailgun's complaint columns (address, created_at)"),
            )

    if cols.keys and cols.keys[0] == "email" and "created" in keys:
        if keys == {"email", "created"}:
            return make(
                sendgrid_unsubscribes,
                gettext_noop("SendGrid's suppression columns (email, created)"),
            )
        if keys & {"group id", "group name"}:
            return make(
                sendgrid_group_unsubscribes,
                gettext_noop("SendGrid's group unsubscribe columns (group)"),
            )
        if "ip" in keys:
            return make(
                sendgrid_spam_reports, gettext_noop("SendGrid's spam report columns (email, ip)")
            )
        if {"reason", "status"} <= keys:
            if "block" in name:
                return make(
                    sendgrid_blocks,
                    gettext_noop(
                        "SendGrid's bounce and block columns, and 'block' in the file name"
                    ),
                )
            if "bounce" in name:
                return make(
                    sendgrid_bounces,
                    gettext_noop(
                        "SendGrid's bounce and block columns, and 'bounce' in the file name"
                    ),
                )
            raise FileRefused(
                Problem(
                    gettext_noop(
                        "SendGrid's bounces and blocks downloads have the same columns (email, "
                        "created, reason, status) and only bounces are suppressed; keep "
                        "'bounces' or 'blocks' in the file name, or choose the layout at upload"
                    )
                )
            )
        if "reason" in keys:
            return make(
                sendgrid_invalid_emails, gettext_noop("SendGrid's invalid email columns (reason)")
            )

    if cols.has("unsubscribed from all email"):
        return make(
            hubspot_contacts,
            gettext_noop(
                "HubSpot's contact property %(column)s (true: unsubscribed from all email)"
            ),
        )
    if cols.has(*BREVO_FLAGS):
        return make(
            brevo_contacts, gettext_noop("Brevo's contact attribute %(column)s (blocklisted)")
        )
    if cols.has("sender email", "senderemail") and cols.has("blocked at", "blockedat"):
        return make(
            brevo_blocked,
            gettext_noop("Brevo's blocked-contact columns (sender, reason, blocked at)"),
        )
    if cols.has("email marketing consent"):
        return make(
            klaviyo_profiles,
            gettext_noop(
                "Klaviyo's profile column Email Marketing Consent (UNSUBSCRIBED is suppressed)"
            ),
        )
    if cols.has("suppressionreason", "suppression reason"):
        if "state" in keys:
            return make(
                campaignmonitor_suppression,
                gettext_noop(
                    "Campaign Monitor's suppression list columns (SuppressionReason, State)"
                ),
            )
        return make(
            klaviyo_suppressed,
            gettext_noop("Klaviyo's suppressed-profile column Suppression Reason"),
        )
    if {"state", "date"} <= keys and cols.has(*EMAIL):
        return make(
            campaignmonitor_subscribers,
            gettext_noop(
                "Campaign Monitor's subscriber columns (State: Unsubscribed, Bounced, Active …)"
            ),
        )
    if cols.has(*EMAIL) and cols.has("reason", "dnc reason") and cols.has("channel", "dnc channel"):
        return make(
            mautic_dnc,
            gettext_noop(
                "the columns of Mautic's do-not-contact report (reason, channel, date added)"
            ),
        )
    if cols.has(*EMAIL) and cols.has("status", "list status"):
        return make(
            activecampaign_contacts,
            gettext_noop(
                "an address column and the list status column %(column)s (ActiveCampaign's "
                "statuses: Active, Unconfirmed, Unsubscribed, Bounced)"
            ),
        )

    email = cols.find(*EMAIL)
    if email is None:
        first = header[0].strip() if header else ""
        if "@" in first:
            if len(header) == 2 and header[1].strip().upper() in {"BOUNCE", "COMPLAINT"}:
                return make(
                    ses_csv, gettext_noop("rows of an address and BOUNCE or COMPLAINT, no header")
                )
            return Layout(
                key="headerless",
                email=0,
                has_header=False,
                because=gettext_noop("the first line already holds an address (no header)"),
            )
        raise MappingNeeded(
            Problem(
                gettext_noop(
                    "no address column: expected a column named Email or Email Address, or a "
                    "list of addresses without header; the first line has %(header)s; say "
                    "which column holds the address (mapping step)"
                ),
                header=_shown(header),
            ),
            columns_with_examples(header, sample),
        )

    unclear = [cols.label(i) for i, k in enumerate(cols.keys) if i != email and _is_status_like(k)]
    if unclear:
        raise MappingNeeded(
            Problem(
                gettext_noop(
                    "no known layout has these columns; %(columns)s may say who is not to be "
                    "mailed: say which column holds the status and which of its values mean "
                    "suppressed (mapping step)"
                ),
                columns=", ".join(repr(c) for c in unclear[:5]),
            ),
            columns_with_examples(header, sample),
        )
    date = cols.find(*GENERIC_DATES)
    reason = cols.find("reason")
    return Layout(
        key="list",
        email=email,
        date=date,
        reason_column=reason,
        evidence=evidence_of(cols, "reason"),
        because=(
            gettext_noop("one column of addresses")
            if len(header) == 1
            else gettext_noop(
                "an address column and no column that says who may be mailed: every row is "
                "suppressed"
            )
        ),
    )
