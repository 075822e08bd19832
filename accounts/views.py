"""The public endpoints (no login): sign-up form posts, their double opt-in confirmations,
unsubscribe links, hosted files.

Thin: each parses the request and calls one workflow or service. None of them reveals an
account's state or an address's to the public: a closed account's form, a suppressed
address's sign-up and a bot's post all get the same "thank you" (R6, R9).

Each is rate-limited per client address (the sign-up also per form), counted in the cache
(django-ratelimit, README "Configuration"): past a limit it answers 429 and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.core import get_usage

from accounts import conf
from accounts.links import InvalidLink, optin_confirmation_token_read, unsubscribe_token_read
from accounts.models import Account, SignupForm
from accounts.selectors import hosted_file_for_public
from compliance.models import OptInConfirmation
from compliance.services import Confirmed, suppression_record
from core.actors import Actor
from core.clientip import client_ip
from core.validators import no_control_characters
from workflows.signup import signup_confirm, signup_receive

# The sign-up form's trap for bots: a field people never see (the form's HTML hides it, see
# README "Public endpoints") and bots fill in. A post with it filled is answered like any
# other and records nothing.
HONEYPOT_FIELD = "website"

View = Callable[..., HttpResponse]


def throttled(group: str, *limits: tuple[str, str]) -> Callable[[View], View]:
    """Rate-limit a public view: `limits` are (key, setting) pairs, "ip" for the client's
    address or a URL argument's name (the sign-up form's key), checked in order. The first
    limit exceeded answers 429 with Retry-After; the view does not run, and the limits after
    it are not counted (one noisy address does not use up a form's allowance)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            for key, setting in limits:
                counted_by = "ip" if key == "ip" else (lambda _g, _r, value=kwargs[key]: value)
                usage = get_usage(
                    request,
                    group=f"{group}:{key}",
                    key=counted_by,
                    rate=conf.public_rate(setting),
                    increment=True,
                )
                if usage is not None and usage["should_limit"]:
                    response = render(request, "accounts/public/too_many.html", status=429)
                    response["Retry-After"] = str(max(1, usage["time_left"]))
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@csrf_exempt  # posted from the customer's own website, not from a page of ours
@require_POST
@throttled(
    "public.signup", ("ip", "SIGNUP_RATE_PER_ADDRESS"), ("public_key", "SIGNUP_RATE_PER_FORM")
)
def signup(request: HttpRequest, public_key: str) -> HttpResponse:
    form = get_object_or_404(
        SignupForm.objects.only("id", "account_id", "name", "public_key"), public_key=public_key
    )
    if request.POST.get(HONEYPOT_FIELD, "").strip():
        return render(request, "accounts/public/signup_thanks.html")
    email = request.POST.get("email", "").strip()
    try:
        validate_email(email)
    except ValidationError:
        return render(request, "accounts/public/signup_invalid.html", {"email": email}, status=400)
    name = request.POST.get("name", "").strip()[:200]
    try:
        no_control_characters(name)
    except ValidationError as exc:
        problem = exc.params["char"] if exc.params else "?"
        return render(
            request, "accounts/public/signup_invalid.html", {"name_problem": problem}, status=400
        )
    signup_receive(
        form=form,
        email=email,
        name=name,
        at=timezone.now(),
        source_ip=client_ip(request),
    )
    return render(request, "accounts/public/signup_thanks.html")


@require_http_methods(["GET", "POST"])
@throttled("public.optin_confirm", ("ip", "CONFIRM_RATE_PER_ADDRESS"))
def optin_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a double opt-in mail. GET only shows a button: mail scanners open links on
    their own, and only a person's click may lift an unsubscribe (R9); the POST records it."""
    try:
        confirmation_id = optin_confirmation_token_read(token)
    except InvalidLink:
        return render(request, "accounts/public/confirmation_invalid.html", status=400)
    if request.method == "GET":
        return render(request, "accounts/public/confirm.html")
    try:
        outcome, _confirmation = signup_confirm(
            confirmation_id=confirmation_id,
            at=timezone.now(),
            source_ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except OptInConfirmation.DoesNotExist:
        return render(request, "accounts/public/confirmation_invalid.html", status=400)
    if outcome is Confirmed.EXPIRED:
        return render(request, "accounts/public/confirmation_expired.html", status=410)
    return render(
        request,
        "accounts/public/confirmed.html",
        {"again": outcome is Confirmed.ALREADY},
    )


@require_safe
@throttled("public.hosted_file", ("ip", "FILES_RATE_PER_ADDRESS"))
def hosted_file(request: HttpRequest, public_key: str) -> HttpResponse:
    file = hosted_file_for_public(public_key=public_key)
    if file is None:
        raise Http404("no such file")
    if not file.online or not file.account.is_open:
        return HttpResponse(
            _("This file is no longer available."),
            status=410,
            content_type="text/plain; charset=utf-8",
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
@throttled("public.unsubscribe", ("ip", "UNSUBSCRIBE_RATE_PER_ADDRESS"))
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Records the unsubscribe at once, on GET too: a link in a mail must work with one click,
    whatever state the account is in and whatever the address looks like (R9)."""
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
            f"{now:%Y-%m-%d %H:%M:%S} UTC by {request.method} from {client_ip(request)}, "
            f"user agent {request.META.get('HTTP_USER_AGENT', '')[:200]!r}"
        ),
    )
    return render(
        request,
        "accounts/public/unsubscribed.html",
        {"address": claim.address, "company": account.company or account.username},
    )
