"""Two-factor login for staff (django-otp): after the password, a code from an authenticator
app (TOTP), or one of ten recovery codes, each good once.

Who needs it: superusers, the roles in TWO_FACTOR_ROLES (Billing and Compliance always), and
anyone who turned it on for themselves. Until such a person's session is verified by a code,
the admin answers every page with the two-factor page: enrolment (a QR code and the key for
the app, then a code to confirm it and the recovery codes, shown once) or the code prompt.
The embedded demo may waive it (TWO_FACTOR_WAIVED, DEBUG on SQLite only).

A staff member who lost the phone asks a superuser, who resets their two-factor login under
*Two-factor devices*: they enrol again at their next login."""

from __future__ import annotations

import io
from base64 import b32encode
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.cleaninput import CleanInputAdmin

RECOVERY_CODES = 10
APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"


# --- who needs it ---------------------------------------------------------------------------


def has_second_factor(user) -> bool:
    """Whether `user` has enrolled an authenticator app (a confirmed TOTP device)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_required(user) -> bool:
    """Whether `user` logs in with a second factor: a superuser, a member of a role in
    TWO_FACTOR_ROLES, or someone who enrolled; never while the demo waives it."""
    if settings.TWO_FACTOR_WAIVED or not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    if user.groups.filter(name__in=settings.TWO_FACTOR_ROLES).exists():
        return True
    return has_second_factor(user)


def second_factor_missing(request) -> bool:
    """A logged-in staff member who needs a second factor and has not given one yet in this
    session."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    verified = getattr(user, "is_verified", None)
    if verified is not None and verified():
        return False
    return second_factor_required(user)


# --- writes ---------------------------------------------------------------------------------


def totp_device_pending(user) -> TOTPDevice:
    """The app being enrolled: an unconfirmed TOTP device, created once and kept until
    confirmed, so reloading the page shows the same QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)
    return device


@transaction.atomic
def recovery_codes_issue(user) -> list[str]:
    """Ten new recovery codes for `user`, each good once; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes: list[str] = []
    while len(codes) < RECOVERY_CODES:
        code = StaticToken.random_token()
        if not code.isdigit():  # digits alone are read as the app's code
            codes.append(code)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@transaction.atomic
def totp_enrolment_confirm(user, *, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the app being enrolled with a code it shows; returns the device and the new
    recovery codes, or None when the code is wrong (nothing changes)."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None or not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, recovery_codes_issue(user)


def second_factor_verify(user, *, code: str):
    """The device (app or recovery codes) that accepts `code` for `user`, or None. A recovery
    code is used up by this; each device throttles wrong codes (django-otp)."""
    code = "".join(code.split()).lower()
    if not code:
        return None
    # Digits are the app's code, anything else a recovery code: a wrong try counts against
    # the one device it was meant for.
    model = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(code):
                return device
    return None


@transaction.atomic
def second_factor_reset(user) -> int:
    """Remove `user`'s app and recovery codes (a lost phone): they enrol again at their next
    login. Returns how many devices went."""
    gone = TOTPDevice.objects.filter(user=user).delete()[0]
    gone += StaticDevice.objects.filter(user=user).delete()[0]
    return gone


# --- pages ----------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "size": 12}
        ),
        help_text=gettext_lazy("The 6 digits your authenticator app shows, or a recovery code"),
    )


def qr_svg(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def _base32(device: TOTPDevice) -> str:
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _next_url(request) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


class StaffAdminSite(admin.AdminSite):
    """The admin site of the back office: as Django's, plus the second factor for those who
    need it (``second_factor_missing``) and the page to enrol and give it."""

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not second_factor_missing(request)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every admin, the other apps' too, reads what staff type as core.admin's
        CleanInputAdmin does (digits 0-9, names without control characters, well-formed
        row ids), so a model registered later is covered without a line here."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CleanInputAdmin):
            overrides = {
                **CleanInputAdmin.formfield_overrides,
                **getattr(admin_class, "formfield_overrides", {}),
            }
            admin_class = type(
                admin_class.__name__,
                (admin_class, CleanInputAdmin),
                {"__module__": admin_class.__module__, "formfield_overrides": overrides},
            )
        super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def second_factor_first(request, *args, **kwargs):
            if second_factor_missing(request):
                if request.path == reverse("admin:logout", current_app=self.name):
                    # Logging out needs no second factor (Django's check would send them on).
                    return view(request, *args, **kwargs)
                query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
                return HttpResponseRedirect(
                    f"{reverse('admin:two_factor', current_app=self.name)}?{query}"
                )
            return inner(request, *args, **kwargs)

        # Keep what admin_view marks on the view (csrf, cache) for the URL resolver.
        second_factor_first.__dict__.update(inner.__dict__)
        return second_factor_first

    def get_urls(self):
        return [
            path("two-factor/", never_cache(self.two_factor_view), name="two_factor"),
            *super().get_urls(),
        ]

    def _page(self, request, template: str, **context):
        return TemplateResponse(
            request,
            f"admin/two_factor/{template}",
            {
                **self.each_context(request),
                "title": _("Two-factor login"),
                "next": _next_url(request),
                "redirect_field_name": REDIRECT_FIELD_NAME,
                **context,
            },
        )

    def two_factor_view(self, request):
        """Enrol an authenticator app, give a code, or see the state and renew the recovery
        codes: the one page of the second factor, for any logged-in staff member."""
        user = request.user
        if not (user.is_active and user.is_staff):
            query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('admin:login', current_app=self.name)}?{query}")
        enrolled = has_second_factor(user)
        verified = user.is_verified()
        form = CodeForm(request.POST or None)
        step = request.POST.get("step", "")
        if not enrolled:
            if step == "enrol" and form.is_valid():
                confirmed = totp_enrolment_confirm(user, code=form.cleaned_data["code"])
                if confirmed is not None:
                    device, codes = confirmed
                    otp_login(request, device)
                    return self._page(request, "codes.html", codes=codes, enrolled_now=True)
                form.add_error(
                    "code",
                    _(
                        "That code does not match: try the current one (after a wrong code, "
                        "wait a few seconds; each wrong try doubles the wait)"
                    ),
                )
            device = totp_device_pending(user)
            return self._page(
                request,
                "enrol.html",
                form=form,
                qr=qr_svg(device.config_url),
                key=_base32(device),
                required=second_factor_required(user),
            )
        if not verified:
            if step == "verify" and form.is_valid():
                device = second_factor_verify(user, code=form.cleaned_data["code"])
                if device is not None:
                    otp_login(request, device)
                    if isinstance(device, StaticDevice):
                        left = StaticToken.objects.filter(device=device).count()
                        messages.warning(
                            request,
                            _(
                                "You logged in with a recovery code; %(left)s are left. Renew "
                                "them under Two-factor login."
                            )
                            % {"left": left},
                        )
                    return HttpResponseRedirect(_next_url(request))
                form.add_error(
                    "code",
                    _(
                        "That code is not valid, or was used already (after a wrong code, wait "
                        "a few seconds; each wrong try doubles the wait)"
                    ),
                )
            return self._page(request, "verify.html", form=form)
        if step == "recovery_codes":
            return self._page(request, "codes.html", codes=recovery_codes_issue(user))
        left = StaticToken.objects.filter(device__user=user).count()
        return self._page(request, "status.html", recovery_codes_left=left)
