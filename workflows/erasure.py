"""Carrying out an erasure request (GDPR Art. 17, SPEC "Erasure requests"): it crosses apps,
accounts' contacts and timeline and compliance's suppressions, in one transaction.

A second Compliance officer's sign-off starts it (``erasure_sign_off``): compliance checks
the sign-off and marks the request as being carried out; the transaction takes the erasure
mark (core.erasure), the only thing that lets the append-only records' triggers redact an
address; accounts deletes the person's contacts and sign-ups and redacts them from the
timeline; compliance keeps each suppression and opt-in as hashes only; each account touched
gets a timeline entry saying what went (never whose); the request keeps the counts and drops
the clear address. Any failure rolls all of it back: nothing is half-erased.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.services.erasure import personal_data_erase, personal_data_erased_record
from compliance.models import ErasureRequest
from compliance.services.erasure import (
    compliance_data_erase,
    erasure_forms,
    erasure_request_complete,
    erasure_request_sign_off,
)
from core.actors import Actor
from core.erasure import admin_log_redact, erasure_mark

# How each count reads on the timeline.
WORDS = {
    "contacts": "contacts deleted",
    "signup_submissions": "sign-up submissions deleted",
    "timeline_entries": "timeline entries redacted",
    "cancellation_notes": "cancellation notes redacted",
    "suppressions_hashed": "suppressions kept as hashes only",
    "opt_ins_hashed": "opt-ins kept as hashes only",
    "confirmations": "double opt-in confirmations deleted",
    "exports_redacted": "export purposes redacted",
    "imports_redacted": "import reports redacted",
    "erasure_suppressions": "suppression added so the address is never mailed",
}


def erasure_sign_off(*, request_id: int, by: Actor, now: datetime) -> ErasureRequest:
    """A second Compliance officer signs off erasure request `request_id`, and it is carried
    out at once. Refused (compliance.services.erasure.ErasureRefused) when `by` recorded it,
    may not sign off, or the request is not waiting."""
    with transaction.atomic():
        request = erasure_request_sign_off(request_id=request_id, by=by, now=now)
        return erasure_carry_out(request=request, by=by, now=now)


def erasure_carry_out(*, request: ErasureRequest, by: Actor, now: datetime) -> ErasureRequest:
    """Carry out a signed-off request (being carried out, in this transaction). Separate from
    the sign-off, which may move onto a general second-person approval."""
    with transaction.atomic():
        forms = erasure_forms(request.address, request.normalised)
        erasure_mark(request_id=request.pk, key=request.normalised, forms=forms)
        account_ids = [request.account_id] if request.account_id else None
        in_accounts = personal_data_erase(forms=forms, account_ids=account_ids)
        in_compliance = compliance_data_erase(
            request=request, forms=forms, touched=set(in_accounts), by=by, now=now
        )
        per_account: dict[int, dict[str, int]] = {}
        for found in (in_accounts, in_compliance):
            for account_id, counts in found.items():
                per_account.setdefault(account_id, {}).update(counts)
        reasons = {
            account_id: f"Erasure request {request.pk} carried out: "
            + ", ".join(f"{n} {WORDS[name]}" for name, n in sorted(counts.items()))
            for account_id, counts in per_account.items()
        }
        personal_data_erased_record(reasons=reasons, by=by, now=now)
        totals: dict[str, int] = {"accounts": len(per_account)}
        for counts in per_account.values():
            for name, n in counts.items():
                totals[name] = totals.get(name, 0) + n
        totals["admin_history_redacted"] = admin_log_redact(forms=forms)
        return erasure_request_complete(request=request, counts=totals, now=now)
