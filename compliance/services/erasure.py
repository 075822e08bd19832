"""Erasure requests (GDPR Art. 17, SPEC "Erasure requests"): the promise not to mail outlives
the person's data.

Two people: one Compliance officer records the request (``erasure_request_record``), a
different one signs it off (``erasure_request_sign_off``); only then does the erasure workflow
(workflows.erasure) carry it out, in the one transaction that carries the request's mark. The
sign-off is a step of its own, kept apart from what it unlocks, so that it can move onto a
general second-person approval later without touching the erasure itself.

What compliance erases (``compliance_data_erase``): every suppression and opt-in of the
address keeps only its hashes ("sha256:<hex>" as the key, "md5:<hex>" as the address) and
"[erased]" as its evidence, so it stays suppressed and in hashed exports; double opt-in
confirmations of it are deleted; export purposes and import reports are redacted. An account
the person had data in, but no suppression, gets one (reason "erasure"), kept as hashes too.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Account
from compliance.addresses import (
    MD5_PREFIX,
    InvalidAddress,
    address_key,
    hashed_key,
    md5_hex,
    sha256_hex,
)
from compliance.models import (
    ErasureRequest,
    ErasureStatus,
    OptIn,
    OptInConfirmation,
    Suppression,
    SuppressionExport,
    SuppressionImport,
    SuppressionReason,
    SuppressionSource,
)
from compliance.selectors import is_suppressed
from core.actors import Actor
from core.models import ChangeAction
from core.services import change_record

ERASED = "[erased]"


class ErasureRefused(ValueError):
    """An erasure request that cannot be recorded, signed off or withdrawn as asked."""


def erasure_forms(address: str, key: str) -> list[str]:
    """Every way the address may be written in a record, lower-cased, none containing another
    (so a redaction replaces each occurrence once, whatever the order): as typed, its key,
    and its domain in Unicode."""
    local, _at, domain = key.rpartition("@")
    forms = {address.strip().lower(), key}
    try:
        forms.add(f"{local}@{domain.encode('ascii').decode('idna')}".lower())
    except UnicodeError:
        pass
    forms.discard("")
    return sorted(f for f in forms if not any(o != f and o in f for o in forms))


def erasure_request_record(
    *, address: str, account: Account | None, reference: str, by: Actor, now: datetime
) -> ErasureRequest:
    """Record a person's request to erase their data, for the address on one account or on
    every account (`account` None). Nothing is erased yet: a second Compliance officer signs
    it off first."""
    if by.is_job or not by.may("compliance.add_erasurerequest"):
        raise ErasureRefused(
            _("%(label)s may not record erasure requests (Compliance only)") % {"label": by.label}
        )
    try:
        key = address_key(address)
    except InvalidAddress as exc:
        raise ErasureRefused(_("the address to erase is not one: %(exc)s") % {"exc": exc}) from None
    reference = reference.strip()
    if not reference:
        raise ErasureRefused(_("say where the person's request is filed (ticket, letter)"))
    forms = erasure_forms(address, key)
    if any(form in reference.lower() for form in forms):
        raise ErasureRefused(_("the reference must not contain the address: it is kept for good"))
    holders = Account.objects.filter(primary_email__iexact=address.strip())
    if account is not None:
        holders = holders.filter(pk=account.pk)
    names = list(holders.values_list("username", flat=True)[:5])
    if names:
        raise ErasureRefused(
            _(
                "the address is the account holder's own address of "
                "%(names)s: a customer's own data goes with the account "
                "(closure and purge), not by an erasure request"
            )
            % {"names": ", ".join(names)}
        )
    with transaction.atomic():
        waiting = ErasureRequest.objects.select_for_update().filter(
            sha256=sha256_hex(key), status=ErasureStatus.REQUESTED
        )
        if waiting.filter(Q(account__isnull=True) | Q(account=account)).exists():
            raise ErasureRefused(_("an erasure request of this address is already waiting"))
        return ErasureRequest.objects.create(
            account=account,
            address=address.strip(),
            normalised=key,
            sha256=sha256_hex(key),
            md5=md5_hex(key),
            reference=reference,
            requested_by=by.user,
            requested_at=now,
        )


def _lock_waiting(request_id: int) -> ErasureRequest:
    request = ErasureRequest.objects.select_for_update().get(pk=request_id)
    if request.status != ErasureStatus.REQUESTED:
        raise ErasureRefused(
            _("erasure request %(pk)s is %(status)s, not waiting for sign-off")
            % {"pk": request.pk, "status": request.get_status_display().lower()}
        )
    return request


def erasure_request_sign_off(*, request_id: int, by: Actor, now: datetime) -> ErasureRequest:
    """A second Compliance officer signs the request off: it is being carried out from now on,
    in this transaction (the status the database's redaction triggers ask for). The officer
    who recorded it may not sign it off, whatever their permissions."""
    if by.is_job or not by.may("compliance.approve_erasurerequest"):
        raise ErasureRefused(
            _("%(label)s may not sign off erasure requests (Compliance only)") % {"label": by.label}
        )
    request = _lock_waiting(request_id)
    if request.requested_by_id == by.user.pk:
        raise ErasureRefused(
            _(
                "erasure request %(pk)s was recorded by %(label)s: a second "
                "Compliance officer signs it off"
            )
            % {"pk": request.pk, "label": by.label}
        )
    request.status = ErasureStatus.ERASING
    request.decided_by = by.user
    request.decided_at = now
    request.save(update_fields=["status", "decided_by", "decided_at"])
    return request


def erasure_request_withdraw(*, request_id: int, by: Actor, now: datetime) -> ErasureRequest:
    """Withdraw a request still waiting (recorded by mistake, or the person took it back): its
    clear address goes; the request stays on record."""
    if by.is_job or not by.may("compliance.add_erasurerequest"):
        raise ErasureRefused(
            _("%(label)s may not withdraw erasure requests (Compliance only)") % {"label": by.label}
        )
    with transaction.atomic():
        request = _lock_waiting(request_id)
        request.status = ErasureStatus.WITHDRAWN
        request.decided_by = by.user
        request.decided_at = now
        request.address = request.normalised = ""
        request.save(update_fields=["status", "decided_by", "decided_at", "address", "normalised"])
        change_record(
            entry=request,
            action=ChangeAction.RETIRED,
            changes=[
                ["status", str(ErasureStatus.REQUESTED.label), str(ErasureStatus.WITHDRAWN.label)]
            ],
            reason="withdrawn before sign-off; nothing was erased",
            by=by,
            now=now,
        )
        return request


def erasure_request_complete(
    *, request: ErasureRequest, counts: dict[str, int], now: datetime
) -> ErasureRequest:
    """The request was carried out: what went is kept, the clear address is not."""
    if request.status != ErasureStatus.ERASING:
        raise ErasureRefused(
            _("erasure request %(pk)s is not being carried out") % {"pk": request.pk}
        )
    request.status = ErasureStatus.DONE
    request.carried_out_at = now
    request.counts = counts
    request.address = request.normalised = ""
    request.save(update_fields=["status", "carried_out_at", "counts", "address", "normalised"])
    return request


# --- What compliance erases ---------------------------------------------------------------


def _execute(sql: str, params: list) -> Counter:
    """Run an UPDATE or DELETE ... RETURNING account_id; per account, the rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return Counter(row[0] for row in cursor.fetchall())


def _scope(account_ids: list[int] | None, params: list) -> str:
    """The account condition on PostgreSQL (its parameter appended to `params`)."""
    if account_ids is None:
        return ""
    params.append(account_ids)
    return " AND account_id = ANY(%s)"


def _hash_rows(table: str, key: str, text_columns: list[str], account_ids) -> Counter:
    """Redact the rows of `key` in `table` to its hashes, their texts to "[erased]"."""
    params: list = [hashed_key(key), MD5_PREFIX + md5_hex(key), *[ERASED] * len(text_columns)]
    texts = "".join(f", {column} = %s" for column in text_columns)
    sql = f"UPDATE {table} SET normalised = %s, address = %s{texts} WHERE normalised = %s"
    params.append(key)
    if connection.vendor != "postgresql":
        if account_ids is not None:
            sql += f" AND account_id IN ({', '.join('%s' for _ in account_ids)})"
            params.extend(account_ids)
        # SQLite has RETURNING too (3.35+).
        return _execute(sql + " RETURNING account_id", params)
    return _execute(sql + _scope(account_ids, params) + " RETURNING account_id", params)


def _pattern_sql() -> str:
    # The same pattern the append-only tables' trigger builds from the erasure mark.
    return (
        "(SELECT string_agg(regexp_replace(form, '([^[:alnum:]])', '\\\\\\1', 'g'), '|') "
        "FROM unnest(%s::text[]) AS form)"
    )


def _redact(table: str, columns: list[str], forms: list[str], account_ids, *, cast="") -> Counter:
    """Replace every form of the address by "[erased]" in text (or, with `cast` "jsonb", JSON)
    columns of `table`; PostgreSQL only (the embedded SQLite keeps these reports as they are:
    it is for a first look, not for personal data)."""
    if connection.vendor != "postgresql":
        return Counter()
    as_text, back = ("::text", f"::{cast}") if cast else ("", "")
    sets = ", ".join(
        f"{c} = regexp_replace({c}{as_text}, p.pattern, %s, 'gi'){back}" for c in columns
    )
    where = " OR ".join(f"{c}{as_text} ~* p.pattern" for c in columns)
    params: list = [*[ERASED] * len(columns), forms]
    scope = _scope(account_ids, params)
    return _execute(
        f"UPDATE {table} SET {sets} FROM (SELECT {_pattern_sql()} AS pattern) p "
        f"WHERE ({where}){scope} RETURNING account_id",
        params,
    )


def compliance_data_erase(
    *,
    request: ErasureRequest,
    forms: list[str],
    touched: set[int],
    by: Actor,
    now: datetime,
) -> dict[int, dict[str, int]]:
    """Erase the address of `request` (being carried out, in its marked transaction) from
    compliance's records, on its account or on every account; `touched` are the accounts
    where the person had other data. Returns, per account, what was erased."""
    if request.status != ErasureStatus.ERASING:
        raise ErasureRefused(
            _("erasure request %(pk)s is not being carried out") % {"pk": request.pk}
        )
    key = request.normalised
    account_ids = [request.account_id] if request.account_id else None
    found: dict[str, Counter] = {
        "suppressions_hashed": _hash_rows(
            Suppression._meta.db_table, key, ["evidence"], account_ids
        ),
        "opt_ins_hashed": _hash_rows(
            OptIn._meta.db_table, key, ["origin", "evidence"], account_ids
        ),
    }
    confirmations = OptInConfirmation.objects.filter(normalised=key)
    if account_ids is not None:
        confirmations = confirmations.filter(account_id__in=account_ids)
    found["confirmations"] = Counter(confirmations.values_list("account_id", flat=True))
    confirmations.delete()
    found["exports_redacted"] = _redact(
        SuppressionExport._meta.db_table, ["purpose"], forms, account_ids
    )
    found["imports_redacted"] = _redact(
        SuppressionImport._meta.db_table,
        ["problems", "notices", "columns", "because"],
        forms,
        account_ids,
        cast="jsonb",
    ) + _redact(SuppressionImport._meta.db_table, ["file_name", "error"], forms, account_ids)
    # Keep the promise not to mail where the person had data but no suppression.
    accounts = set(touched) | {a for counts in found.values() for a in counts}
    if request.account_id:
        accounts.add(request.account_id)
    added: Counter = Counter()
    for account in Account.objects.filter(pk__in=accounts).order_by("pk"):
        if is_suppressed(account, key, at=now):
            continue
        Suppression.objects.create(
            account=account,
            received=MD5_PREFIX + md5_hex(key),
            normalised=hashed_key(key),
            source=SuppressionSource.ERASURE,
            reason=SuppressionReason.ERASURE,
            at=now,
            evidence=f"erasure request {request.pk}",
            **by.as_fields(),
        )
        added[account.pk] += 1
    found["erasure_suppressions"] = added
    per_account: dict[int, dict[str, int]] = {}
    for name, counts in found.items():
        for account_id, n in counts.items():
            if n:
                per_account.setdefault(account_id, {})[name] = n
    return per_account


__all__ = [
    "ErasureRefused",
    "compliance_data_erase",
    "erasure_forms",
    "erasure_request_complete",
    "erasure_request_record",
    "erasure_request_sign_off",
    "erasure_request_withdraw",
]
