"""Admin forms of the cancellation desk and the agent actions. They only parse input: the
services decide (and refuse) everything, so every rule has one guard."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import CancellationReason

PAUSE_CHOICES = [
    ("accepted", _("Accepted: pause the account instead of cancelling (R8)")),
    ("declined", _("Declined: go on with the cancellation")),
]


class CancellationCallForm(forms.Form):
    username = forms.CharField(
        required=False,
        label=_("Username, as the caller spells it"),
        help_text=_("The identity check (R2): it must match the account's username exactly."),
    )
    reason = forms.ModelChoiceField(
        queryset=CancellationReason.objects.filter(active=True, system=False),
        required=False,
        label=_("Reason"),
        empty_label=_("— choose the reason —"),
    )
    callers_words = forms.CharField(
        required=False,
        label=_("The caller's words"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    pause = forms.ChoiceField(
        choices=PAUSE_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        label=_("Pausing offered instead"),
        help_text=_(
            "Required for an active account (R8). A paused account that stays paused is "
            "also saved by pause; a suspended account cannot be paused."
        ),
    )

    def pause_accepted(self) -> bool | None:
        answer = self.cleaned_data.get("pause") or ""
        return {"accepted": True, "declined": False}.get(answer)


class TrialCloseForm(forms.Form):
    username = forms.CharField(required=False, label=_("Username, as the caller spells it"))
    reason = forms.ModelChoiceField(
        queryset=CancellationReason.objects.filter(active=True, system=False),
        required=False,
        label=_("Reason"),
        empty_label=_("— choose the reason —"),
    )
    callers_words = forms.CharField(
        required=False,
        label=_("The caller's words"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class AgentActionForm(forms.Form):
    username = forms.CharField(
        required=False,
        label=_("Username, as the caller spells it"),
        help_text=_("Typed to confirm: it must match the account's username exactly."),
    )
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), label=_("Why")
    )


class PauseForm(AgentActionForm):
    """Pausing: indefinitely, or until a chosen date on the account's calendar (R8)."""

    until = forms.DateField(
        required=False,
        label=_("Paused until"),
        help_text=_(
            "Leave empty to pause until someone resumes the account. With a date, the "
            "account resumes by itself on that date in its time zone, and the pause fee stops."
        ),
    )


class ForecastForm(forms.Form):
    """The window of the full forecast page."""

    days = forms.IntegerField(
        label=_("Days ahead"),
        required=False,
        min_value=1,
        max_value=1098,
        help_text=_("120 unless you ask for more (up to three years)."),
    )
