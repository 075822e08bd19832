"""Forms of the compliance admin pages. Accounts are typed by username: a select of a million
accounts would not load."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from compliance.addresses import InvalidAddress, normalise_address
from compliance.models import ExportFormat, OptIn
from compliance.services import OptInRefused, optin_record
from core.admin import ServiceForm


class AccountUsernameField(forms.CharField):
    def clean(self, value):
        username = super().clean(value).strip()
        try:
            return Account.objects.get(username=username)
        except Account.DoesNotExist:
            raise forms.ValidationError(
                _("no account with username %(username)s") % {"username": repr(username)}
            ) from None


class OptInForm(ServiceForm):
    """A new opt-in with its evidence; every field is required (R9). Saved by the opt-in
    service; its refusal shows on the form."""

    refusals = (OptInRefused,)

    account_username = AccountUsernameField(label=gettext_lazy("Account (username)"))

    class Meta:
        model = OptIn
        fields = ["address", "at", "method", "origin", "evidence"]
        labels = {
            "address": gettext_lazy("Address"),
            "at": gettext_lazy("Opted in at"),
            "method": gettext_lazy("Method"),
            "origin": gettext_lazy("From where"),
            "evidence": gettext_lazy("Evidence"),
        }

    def apply(self, data, *, by, now):
        return optin_record(
            account=data["account_username"],
            address=data["address"],
            at=data["at"],
            method=data["method"],
            origin=data["origin"],
            evidence=data["evidence"],
            by=by,
            now=now,
        )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError(_("the opt-in cannot be in the future"))
        return at

    def clean_address(self):
        address = self.cleaned_data["address"]
        try:
            normalise_address(address)
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None
        return address


class ExportForm(forms.Form):
    account = AccountUsernameField(label=gettext_lazy("Account (username)"))
    purpose = forms.CharField(
        label=gettext_lazy("Purpose"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "CAN-SPAM allows handing an unsubscribe list over for compliance only: say "
            "to whom and why (e.g. 'hand-over to the customer's new provider, ticket 4411')."
        ),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), choices=ExportFormat.choices, initial=ExportFormat.CSV
    )


class ImportUploadForm(forms.Form):
    account = AccountUsernameField(label=gettext_lazy("Account (username)"))
    import_file = forms.FileField(
        label=gettext_lazy("Unsubscribe list"),
        help_text=gettext_lazy(
            "Mailchimp unsubscribed-members export, Constant Contact contact export, "
            "SendGrid suppression download, listmonk subscriber export, or a list of addresses."
        ),
    )


class ImportConfirmForm(forms.Form):
    record = forms.IntegerField(widget=forms.HiddenInput)


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=gettext_lazy("Matter or case"),
    )
