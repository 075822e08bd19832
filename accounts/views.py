"""The public endpoints (no login): sign-up form posts, unsubscribe links, hosted files.

Thin: each parses the request and calls one service. None of them reveals an account's state
to the public: a closed account's form still says "thank you" (R6).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.links import InvalidLink, unsubscribe_token_read
from accounts.models import Account, SignupForm
from accounts.selectors import hosted_file_for_public
from compliance.services import suppression_record
from core.actors import Actor
from workflows.signup import signup_receive


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@csrf_exempt  # posted from the customer's own website, not from a page of ours
@require_POST
def signup(request: HttpRequest, public_key: str) -> HttpResponse:
    form = get_object_or_404(SignupForm.objects.only("id", "account_id"), public_key=public_key)
    email = request.POST.get("email", "").strip()
    try:
        validate_email(email)
    except ValidationError:
        return render(request, "accounts/public/signup_invalid.html", {"email": email}, status=400)
    signup_receive(
        form=form,
        email=email,
        name=request.POST.get("name", "").strip()[:200],
        at=timezone.now(),
        source_ip=_client_ip(request),
    )
    return render(request, "accounts/public/signup_thanks.html")


@require_safe
def hosted_file(request: HttpRequest, public_key: str) -> HttpResponse:
    file = hosted_file_for_public(public_key=public_key)
    if file is None:
        raise Http404("no such file")
    if not file.online or not file.account.is_open:
        return HttpResponse(
            "This file is no longer available.", status=410, content_type="text/plain"
        )
    response = HttpResponse(bytes(file.content), content_type=file.content_type)
    response["Content-Disposition"] = content_disposition_header(False, file.name)
    # Customer content served from our domain: never run it as a page of ours.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Short, so a file taken offline by a cancellation stops being served soon from caches too.
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt  # RFC 8058 one-click unsubscribe posts here from mail clients
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Records the unsubscribe at once, on GET too: a link in a mail must work with one click,
    whatever state the account is in (R9)."""
    try:
        claim = unsubscribe_token_read(token)
        account = Account.objects.get(pk=claim.account_id)
    except (InvalidLink, Account.DoesNotExist):
        return render(request, "accounts/public/unsubscribe_invalid.html", status=400)
    now = timezone.now()
    suppression_record(
        account=account,
        address=claim.address,
        source="unsubscribe_link",
        at=now,
        by=Actor.system("unsubscribe_link"),
        evidence=(
            f"unsubscribe link issued {claim.issued_at:%Y-%m-%d %H:%M:%S} UTC, used "
            f"{now:%Y-%m-%d %H:%M:%S} UTC by {request.method} from {_client_ip(request)}, "
            f"user agent {request.META.get('HTTP_USER_AGENT', '')[:200]!r}"
        ),
    )
    return render(
        request,
        "accounts/public/unsubscribed.html",
        {"address": claim.address, "company": account.company or account.username},
    )
