"""Field validators shared by the apps."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
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
