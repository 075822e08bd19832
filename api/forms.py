"""Forms of the API keys' admin pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from api.models import ApiKey
from api.services import ApiKeyRefused, api_key_create
from core.admin import ServiceForm


class ApiKeyForm(ServiceForm):
    """A new key for one integration; the key itself is shown once, after saving."""

    refusals = (ApiKeyRefused,)

    class Meta:
        model = ApiKey
        fields = ["integration", "description", "can_check", "can_record"]

    def apply(self, data, *, by, now):
        key, self.presented = api_key_create(
            integration=data["integration"],
            description=data["description"],
            can_check=data["can_check"],
            can_record=data["can_record"],
            by=by,
            now=now,
        )
        return key


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why"),
        max_length=300,
        help_text=gettext_lazy("Kept on the change log with who revoked the key and when"),
    )
