"""Forms of the compliance admin pages. Accounts are typed by username: a select of a million
accounts would not load."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from approvals.services import ApprovalError
from compliance.addresses import InvalidAddress, normalise_address
from compliance.layouts import CHOOSABLE, NAMES, ColumnMapping, FileRefused
from compliance.models import (
    ErasureRequest,
    ExportFormat,
    OptIn,
    SuppressionMapping,
    SuppressionReason,
)
from compliance.services import OptInRefused, suppression_mapping_save
from compliance.services.erasure import ErasureRefused, erasure_request_record
from core.admin import ServiceForm
from core.validators import WholeNumberField
from workflows.compliance_signoffs import optin_request


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
    """A new opt-in with its evidence; every field is required (R9). Entered by staff, it is
    asked for here and recorded only when a second person signs it off (four eyes): saving
    makes the request (``workflows.compliance_signoffs``); its refusal shows on the form."""

    refusals = (OptInRefused, ApprovalError)

    account_username = AccountUsernameField(label=gettext_lazy("Account (username)"))
    reason = forms.CharField(
        label=gettext_lazy("Why entered by hand"),
        max_length=500,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=gettext_lazy(
            "The ticket or request. Another compliance officer checks the evidence and signs "
            "it off under Sign-offs before the suppression is lifted."
        ),
    )

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
        return optin_request(
            account=data["account_username"],
            address=data["address"],
            at=data["at"],
            method=data["method"],
            origin=data["origin"],
            evidence=data["evidence"],
            reason=data["reason"],
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
            "An export of Mailchimp, Constant Contact, SendGrid, Amazon SES (CSV or the JSON "
            "of list-suppressed-destinations), Mailgun, listmonk, HubSpot, Brevo, Klaviyo, "
            "Campaign Monitor, ActiveCampaign or Mautic, this back office's hand-over export, "
            "or a list of addresses. Any other table: you map its columns after the upload."
        ),
    )
    layout = forms.ChoiceField(
        label=gettext_lazy("Layout"),
        required=False,
        help_text=gettext_lazy(
            "Leave it to the file unless two exports look alike (SendGrid's bounces and "
            "blocks, listmonk's subscriber export and a list's unsubscribed export)."
        ),
    )

    MAPPING = "mapping:"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layout"].choices = [
            ("", _("Recognise it from the file")),
            (_("Provider layouts"), [(k, NAMES[k]) for k in CHOOSABLE]),
            (
                _("Saved column mappings"),
                [
                    (f"{self.MAPPING}{m.pk}", m.name)
                    for m in SuppressionMapping.objects.order_by("name")[:200]
                ],
            ),
        ]

    def clean_layout(self) -> tuple[str, ColumnMapping | None]:
        value = self.cleaned_data.get("layout") or ""
        if value.startswith(self.MAPPING):
            saved = SuppressionMapping.objects.filter(pk=value[len(self.MAPPING) :]).first()
            if saved is None:
                raise forms.ValidationError(_("that column mapping no longer exists"))
            return "", ColumnMapping.from_dict(saved.as_dict())
        return value, None


def _column_choices(columns: list[dict]) -> list[tuple[str, str]]:
    choices = []
    for column in columns:
        name = column.get("name", "")
        examples = ", ".join(column.get("examples") or [])
        choices.append((name, f"{name} ({examples})" if examples else name))
    return choices


def _split_values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.replace("\n", ",").split(",") if v.strip())


class ImportMappingForm(forms.Form):
    """The mapping step: which column holds what in a file no known layout matches."""

    record = WholeNumberField(widget=forms.HiddenInput)
    address_column = forms.ChoiceField(label=gettext_lazy("Column with the address"))
    status_column = forms.ChoiceField(
        label=gettext_lazy("Column with the status"),
        required=False,
        help_text=gettext_lazy("Leave empty when every row of the file is suppressed."),
    )
    suppressed_values = forms.CharField(
        label=gettext_lazy("Status values that mean suppressed"),
        required=False,
        help_text=gettext_lazy(
            "Separated by commas, as they are written in the file (any case), e.g. "
            "Unsubscribed, Bounced. Rows with any other value are skipped."
        ),
    )
    date_column = forms.ChoiceField(
        label=gettext_lazy("Column with the date"),
        required=False,
        help_text=gettext_lazy("Without one, every row is dated at the import."),
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"),
        choices=SuppressionReason.choices,
        initial=SuppressionReason.UNSUBSCRIBE,
    )
    save_as = forms.CharField(
        label=gettext_lazy("Save the mapping as"),
        required=False,
        max_length=80,
        help_text=gettext_lazy("A name, to choose this mapping at the next upload."),
    )

    def __init__(self, *args, columns: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        choices = _column_choices(columns)
        self.fields["address_column"].choices = choices
        self.fields["status_column"].choices = [("", _("(none)")), *choices]
        self.fields["date_column"].choices = [("", _("(none)")), *choices]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["mapping"] = ColumnMapping(
                address_column=data["address_column"],
                status_column=data.get("status_column") or "",
                suppressed_values=_split_values(data.get("suppressed_values") or ""),
                date_column=data.get("date_column") or "",
                reason=data["reason"],
                name=(data.get("save_as") or "").strip(),
            )
        except FileRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


class SuppressionMappingForm(ServiceForm):
    """A column mapping typed in the admin (the mapping step saves them too); saved by the
    mapping service, whose refusal shows on the form."""

    refusals = (FileRefused,)

    suppressed_values_text = forms.CharField(
        label=gettext_lazy("Status values that mean suppressed"),
        required=False,
        help_text=gettext_lazy("Separated by commas, as they are written in the file."),
    )

    class Meta:
        model = SuppressionMapping
        fields = ["name", "address_column", "status_column", "date_column", "reason"]
        labels = {
            "name": gettext_lazy("Name"),
            "address_column": gettext_lazy("Column with the address"),
            "status_column": gettext_lazy("Column with the status"),
            "date_column": gettext_lazy("Column with the date"),
            "reason": gettext_lazy("Reason"),
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["mapping"] = ColumnMapping(
                address_column=data.get("address_column") or "",
                status_column=data.get("status_column") or "",
                suppressed_values=_split_values(data.get("suppressed_values_text") or ""),
                date_column=data.get("date_column") or "",
                reason=data.get("reason") or SuppressionReason.UNSUBSCRIBE,
                name=data.get("name") or "",
            )
        except FileRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def apply(self, data, *, by, now):
        return suppression_mapping_save(name=data["name"], mapping=data["mapping"], by=by, now=now)


class ImportConfirmForm(forms.Form):
    record = WholeNumberField(widget=forms.HiddenInput)


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=gettext_lazy("Matter or case"),
    )


class SignOffReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=gettext_lazy(
            "Why: the matter, ticket or request. Another member of staff reads it before "
            "signing off, and it goes on the account's timeline."
        ),
    )


class ErasureRequestForm(ServiceForm):
    """A person's request to erase their data: recorded here, carried out only when a second
    Compliance officer signs it off."""

    refusals = (ErasureRefused,)

    account_username = forms.CharField(
        label=gettext_lazy("Account (username)"),
        required=False,
        help_text=gettext_lazy("Empty: the address is erased from every account"),
    )

    class Meta:
        model = ErasureRequest
        fields = ["address", "reference"]
        labels = {"address": gettext_lazy("Address to erase")}

    def clean_account_username(self):
        username = self.cleaned_data["account_username"].strip()
        if not username:
            return None
        return AccountUsernameField().clean(username)

    def clean_address(self):
        address = self.cleaned_data["address"].strip()
        if not address:
            raise forms.ValidationError(_("the address to erase is needed"))
        return address

    def apply(self, data, *, by, now):
        return erasure_request_record(
            address=data["address"],
            account=data["account_username"],
            reference=data["reference"],
            by=by,
            now=now,
        )


class ConfirmForm(forms.Form):
    """An irreversible act is confirmed on a page of its own."""

    confirm = forms.BooleanField(
        label=gettext_lazy("I have checked the request"),
        help_text=gettext_lazy("Erasure cannot be undone"),
    )
