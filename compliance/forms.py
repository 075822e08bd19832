"""Forms of the compliance admin pages. Accounts are typed by username: a select of a million
accounts would not load."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from accounts.models import Account
from compliance.models import ExportFormat, OptIn


class AccountUsernameField(forms.CharField):
    def clean(self, value):
        username = super().clean(value).strip()
        try:
            return Account.objects.get(username=username)
        except Account.DoesNotExist:
            raise forms.ValidationError(f"no account with username {username!r}") from None


class OptInForm(forms.ModelForm):
    """A new opt-in with its evidence; every field is required (R9)."""

    account_username = AccountUsernameField(label="Account (username)")

    class Meta:
        model = OptIn
        fields = ["address", "at", "method", "origin", "evidence"]
        labels = {"at": "Opted in at", "origin": "From where"}

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError("the opt-in cannot be in the future")
        return at

    def clean_address(self):
        from compliance.addresses import InvalidAddress, normalise_address

        address = self.cleaned_data["address"]
        try:
            normalise_address(address)
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None
        return address


class ExportForm(forms.Form):
    account = AccountUsernameField(label="Account (username)")
    purpose = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="CAN-SPAM allows handing an unsubscribe list over for compliance only: say "
        "to whom and why (e.g. 'hand-over to the customer's new provider, ticket 4411').",
    )
    format = forms.ChoiceField(choices=ExportFormat.choices, initial=ExportFormat.CSV)


class ImportUploadForm(forms.Form):
    account = AccountUsernameField(label="Account (username)")
    import_file = forms.FileField(
        label="Unsubscribe list",
        help_text="Mailchimp unsubscribed-members export, Constant Contact contact export, "
        "SendGrid suppression download, listmonk subscriber export, or a list of addresses.",
    )


class ImportConfirmForm(forms.Form):
    record = forms.IntegerField(widget=forms.HiddenInput)


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        max_length=300, widget=forms.TextInput(attrs={"size": 80}), help_text="Matter or case"
    )
