"""Field validators shared by the apps."""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


@deconstructible
class NoControlCharacters:
    """Refuse control and invisible formatting characters in a name staff read: a bidi override
    (U+202E) makes "moc.elpmaxe@" read as "example.com" in a list, a zero-width space makes
    two names look alike."""

    message = _("contains an invisible or control character (%(char)s); type the name again")

    def __call__(self, value: str) -> None:
        for char in value or "":
            if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") and char not in "\t":
                raise ValidationError(
                    self.message,
                    code="control_character",
                    params={"char": f"U+{ord(char):04X}"},
                )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters)


no_control_characters = NoControlCharacters()


# An amount as staff type it: digits 0-9 only (Python's Decimal also reads other scripts'
# digits, so "١٢٣" would be 123 and "１２３" too), an optional minus, one decimal separator: a
# point, or the comma German staff type. No exponent, no "NaN", no "Infinity".
AMOUNT = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?\Z")


class AmountField(forms.DecimalField):
    """A form's decimal field that reads an amount as AMOUNT says (15.00 or 15,00); the model
    field's digits and places still bound it."""

    default_error_messages = {
        "invalid": _(
            "%(value)s is not an amount: digits 0-9 and one decimal point or comma, "
            "e.g. 15.00 or 15,00"
        ),
    }

    # A text box: a browser's number box refuses the decimal comma before we see it.
    widget = forms.TextInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not AMOUNT.match(text):
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": repr(text[:40])}
            )
        return super().to_python(text.replace(",", "."))


# Whole numbers as staff type them: digits 0-9 only (int() also reads "١٢٣" and "１２３").
WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+\Z")


class WholeNumberField(forms.IntegerField):
    """A form's integer field that reads digits 0-9 only."""

    default_error_messages = {"invalid": _("%(value)s is not a whole number (digits 0-9)")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not WHOLE_NUMBER.match(text):
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": repr(text[:40])}
            )
        return super().to_python(text)


class RowsField(forms.ModelMultipleChoiceField):
    """A form's choice of several rows (groups, permissions) that refuses an id no row can
    have before it reaches the database: Django looks the chosen ids up with IN, and SQLite
    cannot take a number beyond 64 bits into a query (an OverflowError, a 500)."""

    def clean(self, value):
        queryset = self.queryset
        if queryset is not None and isinstance(value, list | tuple):
            model = queryset.model
            key = (
                model._meta.pk
                if self.to_field_name is None
                else model._meta.get_field(self.to_field_name)
            )
            if isinstance(key, models.IntegerField):
                low, high = connections[queryset.db].ops.integer_field_range(
                    key.get_internal_type()
                )
                for chosen in value:
                    text = str(chosen).strip()
                    # Any other malformed id is refused by Django's own check. (int() of a few
                    # thousand digits is refused by Python itself: the length is checked first.)
                    digits = text.lstrip("+-").lstrip("0")
                    if WHOLE_NUMBER.match(text) and (
                        len(digits) > 20 or not low <= int(text) <= high
                    ):
                        raise ValidationError(
                            self.error_messages["invalid_choice"],
                            code="invalid_choice",
                            params={"value": text[:40]},
                        )
        return super().clean(value)


# What staff enter as a name someone reads in a list: an account's username and company, a
# plan, a reason, a staff member's name, a group, a mapping, an integration. Every admin form
# field of a model field with one of these names refuses control characters (core.admin).
NAME_FIELDS = frozenset(
    {"name", "username", "company", "first_name", "last_name", "integration", "title"}
)
