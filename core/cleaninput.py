"""What every admin of the site does with what staff type, kept apart from core.admin (which
registers a model) so that the admin site itself can mix it into every registered admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from core.validators import (
    NAME_FIELDS,
    AmountField,
    RowsField,
    WholeNumberField,
    no_control_characters,
)


class CleanInputAdmin(admin.ModelAdmin):
    """What every admin of the site does with what staff type (the site mixes it into each
    registered admin, Django's and other apps' too, backoffice.twofactor.StaffAdminSite):
    numbers and amounts in digits 0-9 only (the decimal comma taken), names without control
    or bidi characters, chosen and selected rows named by well-formed ids only."""

    formfield_overrides = {
        models.DecimalField: {"form_class": AmountField},
        models.IntegerField: {"form_class": WholeNumberField},
        models.ManyToManyField: {"form_class": RowsField},
    }

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if (
            field is not None
            and isinstance(db_field, models.CharField)
            and db_field.name in NAME_FIELDS
            and no_control_characters not in field.validators
        ):
            field.validators.append(no_control_characters)
        return field

    def response_action(self, request, queryset, *args, **kwargs):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        malformed = [value for value in selected if not _is_id(self.model, value)]
        if malformed and request.POST.get("select_across") != "1":
            self.message_user(
                request,
                _("Nothing was changed: no such rows (%(ids)s).")
                % {"ids": ", ".join(repr(v)[:30] for v in malformed[:5])},
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)


def _is_id(model, value: str) -> bool:
    """Whether `value` can name a row of `model` (a number for a numeric key, no NUL)."""
    if "\x00" in value:
        return False
    try:
        model._meta.pk.clean(value, None)
    except ValidationError:
        return False
    return True
