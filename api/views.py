"""The suppression API of the sending platform (README "For the sending platform"):

- ``POST /api/v1/suppressions/check``: which of up to 10,000 addresses an account must not
  mail, since when and why (R9, one set-based query per call);
- ``POST /api/v1/suppressions``: record an unsubscribe the mail pipeline received, once per
  event id;
- ``GET /api/v1/openapi.json``: their schema.

Thin: each view authenticates the key, limits the call, parses the JSON, calls one selector or
service and answers JSON; every call is counted by outcome (ops.metrics). A wrong, unknown or
revoked key gets 401 and nothing else; bad input a 4xx naming what is wrong, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from accounts.models import Account
from api.models import ApiKey, ApiScope
from api.schema import openapi_schema
from api.services import api_key_for, api_key_used
from compliance.addresses import InvalidAddress, address_key
from compliance.models import API_REPORT_ORIGIN, SuppressionReason, SuppressionSource
from compliance.selectors import suppressions_checked
from compliance.services.reports import ReportConflict, ReportRefused, suppression_report
from core.actors import Actor
from ops.metrics import api_call_count

# Addresses one check may ask about: a send batch of the platform.
MAX_ADDRESSES = 10_000
# Reasons the mail pipeline reports; manual entries and erasures are the staff's.
RECORDED_REASONS = {
    SuppressionReason.UNSUBSCRIBE.token: SuppressionReason.UNSUBSCRIBE,
    SuppressionReason.HARD_BOUNCE.token: SuppressionReason.HARD_BOUNCE,
    SuppressionReason.COMPLAINT.token: SuppressionReason.COMPLAINT,
}


class Refused(Exception):
    """Bad input: answered with `status` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Answer:
    """A JSON answer and how many addresses it covered (for the metrics)."""

    def __init__(self, status: int, body: dict[str, Any], addresses: int = 0) -> None:
        self.status, self.body, self.addresses = status, body, addresses


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _presented_key(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def api_endpoint(endpoint: str, scope: str) -> Callable:
    """Authenticate, authorise, limit and parse a call of `endpoint` (needing `scope`), then
    hand the JSON body to the view; count the call's outcome."""

    def decorator(view: Callable[[HttpRequest, ApiKey, Any, datetime], Answer]):
        @csrf_exempt  # called by machines with a key, never by a browser with a cookie
        @wraps(view)
        def wrapped(request: HttpRequest) -> JsonResponse:
            response, addresses = _handle(request, view, endpoint, scope)
            api_call_count(endpoint=endpoint, status=response.status_code, addresses=addresses)
            response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator


def _handle(request, view, endpoint: str, scope: str) -> tuple[JsonResponse, int]:
    if request.method != "POST":
        return _error(405, "use POST", Allow="POST"), 0
    key = api_key_for(presented=_presented_key(request))
    if key is None:
        return _error(401, "unauthorised", **{"WWW-Authenticate": "Bearer"}), 0
    if scope not in key.scopes:
        return _error(403, f"this key may not {scope}: ask for a key with that scope"), 0
    usage = get_usage(
        request,
        group=f"api.{endpoint}",
        key=lambda _group, _request: str(key.pk),
        rate=settings.API_RATES[endpoint],
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        retry = str(max(1, usage["time_left"]))
        return _error(429, f"too many calls: try again in {retry} s", **{"Retry-After": retry}), 0
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.API_MAX_BODY_BYTES
    if length > limit:
        return _error(413, f"the body is over {limit} bytes"), 0
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, f"the body is over {limit} bytes"), 0
    if len(body) > limit:
        return _error(413, f"the body is over {limit} bytes"), 0
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"the body is not JSON: {exc}"), 0
    now = timezone.now()
    try:
        answer = view(request, key, data, now)
    except Refused as exc:
        return _error(exc.status, str(exc)), 0
    api_key_used(key=key, now=now)
    return JsonResponse(answer.body, status=answer.status), answer.addresses


def _object(data: Any, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Refused(400, "the body must be a JSON object")
    missing = [name for name in required if name not in data]
    if missing:
        raise Refused(400, f"missing: {', '.join(missing)}")
    return data


def _account(value: Any) -> Account:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one kind of number: 7.0 is 7
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise Refused(400, "account must be the account's id (a positive integer)")
    account = Account.objects.filter(pk=value).only("id").order_by().first()
    if account is None:
        raise Refused(404, f"no account {value}")
    return account


def _string(data: dict, name: str, *, limit: int, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise Refused(400, f"{name} must be a string")
    if required and not value.strip():
        raise Refused(400, f"{name} must not be empty")
    if len(value) > limit or "\x00" in value:
        raise Refused(400, f"{name} is over {limit} characters or holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(400, f"{name} is not text (a lone surrogate)") from None
    return value


@api_endpoint("check", ApiScope.CHECK)
def check(request: HttpRequest, key: ApiKey, data: Any, now: datetime) -> Answer:
    """Which of the addresses the account must not mail now (R9): only the suppressed ones
    are listed, each with since when and why; addresses that are not addresses are listed
    apart (mail nothing to them either)."""
    data = _object(data, ("account", "addresses"))
    addresses = data["addresses"]
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise Refused(400, "addresses must be a list of strings")
    if len(addresses) > MAX_ADDRESSES:
        raise Refused(400, f"at most {MAX_ADDRESSES} addresses per call, not {len(addresses)}")
    account = _account(data["account"])
    keys: dict[str, str] = {}
    invalid = []
    for address in addresses:
        try:
            keys[address] = address_key(address)
        except InvalidAddress as exc:
            invalid.append({"address": address, "error": str(exc)})
    found = suppressions_checked(account_id=account.pk, keys=list(set(keys.values())), at=now)
    suppressed = []
    for address, key_ in keys.items():
        checked = found.get(key_)
        if checked is not None:
            suppressed.append(
                {
                    "address": address,
                    "since": checked.since.isoformat(),
                    "reason": checked.reason.token,
                }
            )
    body = {
        "account": account.pk,
        "checked_at": now.isoformat(),
        "checked": len(addresses),
        "suppressed": suppressed,
        "invalid": invalid,
    }
    return Answer(200, body, addresses=len(addresses))


@api_endpoint("record", ApiScope.RECORD)
def record(request: HttpRequest, key: ApiKey, data: Any, now: datetime) -> Answer:
    """Record that an address may no longer be mailed by the account: an unsubscribe (or a
    bounce or complaint) the mail pipeline received. Once per event id: a retried delivery
    answers what the first recorded (200 instead of 201)."""
    data = _object(data, ("account", "event_id", "address", "reason"))
    event_id = _string(data, "event_id", limit=200)
    address = _string(data, "address", limit=320)
    evidence = _string(data, "evidence", limit=2000, required=False)
    reason_word = _string(data, "reason", limit=40)
    reason = RECORDED_REASONS.get(reason_word.strip().lower())
    if reason is None:
        raise Refused(400, f"reason must be one of: {', '.join(RECORDED_REASONS)}")
    at = now
    if "at" in data:
        try:
            moment = parse_datetime(_string(data, "at", limit=40)) if data["at"] else None
        except ValueError:  # well-formed, but no such moment (minute 60, 31 February)
            moment = None
        if moment is None or moment.tzinfo is None:
            raise Refused(400, "at must be an ISO 8601 date and time with its offset")
        at = moment
    account = _account(data["account"])
    try:
        reported = suppression_report(
            origin=f"{API_REPORT_ORIGIN}{key.integration}",
            event_id=event_id,
            account=account,
            address=address,
            reason=reason,
            source=SuppressionSource.API,
            at=at,
            evidence=f"reported by {key.integration} (event {event_id[:80]}): {evidence}".strip(),
            by=Actor.system(f"api {key.integration}"),
            now=now,
        )
    except InvalidAddress as exc:
        raise Refused(400, f"address: {exc}") from None
    except ReportConflict as exc:
        raise Refused(409, str(exc)) from None
    except ReportRefused as exc:
        raise Refused(400, str(exc)) from None
    suppression = reported.suppression
    body = {
        "recorded": reported.new,
        "event_id": event_id,
        "account": account.pk,
        "suppressed_since": suppression.at.isoformat(),
        "reason": SuppressionReason(suppression.reason).token,
    }
    return Answer(201 if reported.new else 200, body, addresses=1)


def schema(request: HttpRequest) -> JsonResponse:
    """The OpenAPI schema of the two calls (no key needed: it holds no data)."""
    if request.method not in ("GET", "HEAD"):
        return _error(405, "use GET", Allow="GET, HEAD")
    return JsonResponse(openapi_schema(base=request.build_absolute_uri("/")))
