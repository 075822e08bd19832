"""Problems found in uploaded files are kept in no language and translated when shown
(issue 13 item 1): a worker finds them in the server's language, staff read them in theirs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import translation
from django.utils.translation import gettext_lazy, gettext_noop

from compliance.addresses import InvalidAddress, normalise_address
from core.problems import Problem, problem_of, shown, stored


def test_a_stored_problem_reads_german_to_a_german_reader_and_english_to_an_english_one():
    with translation.override("de"):  # found while the German uploader's request was active
        kept = stored(Problem(gettext_noop("the file is empty")))

    with translation.override("de"):
        assert shown(kept) == "die Datei ist leer"
    with translation.override("en"):
        assert shown(kept) == "the file is empty"


def test_values_inside_a_problem_are_translated_with_it():
    refusal = Problem(
        gettext_noop(
            "the file does not have the columns of %(layout)s: %(missing)s; the first "
            "line has %(header)s"
        ),
        layout=gettext_lazy("Mailchimp cleaned members export"),
        missing=Problem(gettext_noop("no column %(column)s"), column="'email'"),
        header=Problem(gettext_noop("(nothing)")),
    )
    kept = refusal.stored()

    with translation.override("de"):
        german = shown(kept)
    assert german.startswith("die Datei hat nicht die Spalten von ")
    assert "keine Spalte 'email'; die erste Zeile enthält (nichts)" in german
    with translation.override("en"):
        assert "no column 'email'; the first line has (nothing)" in shown(kept)


def test_text_kept_before_problems_were_kept_this_way_is_shown_as_it_is():
    old = "the file is empty"

    with translation.override("de"):
        assert shown(old) == "the file is empty"
        assert shown([[3, "no @"]][0][1]) == "no @"
        assert shown('{"msgid": broken') == '{"msgid": broken'


def test_a_django_validation_message_is_kept_by_its_msgid_values_and_plural():
    """A company name too long in a CSV row: Django's message (a lazy plural) is kept in no
    language, found while German was active, and read in each reader's."""
    with translation.override("de"):
        try:
            MaxLengthValidator(5)("abcdefghi")
        except ValidationError as exc:
            kept = problem_of(exc).stored()

    with translation.override("de"):
        assert shown(kept) == (
            "Bitte sicherstellen, dass der Wert aus höchstens 5 Zeichen besteht. "
            "(Er besteht aus 9 Zeichen.)"
        )
    with translation.override("en"):
        assert shown(kept) == "Ensure this value has at most 5 characters (it has 9)."


def test_an_address_refusal_says_why_in_the_readers_language():
    try:
        normalise_address("a@x.comb@y.org")
    except InvalidAddress as exc:
        refusal = exc

    kept = problem_of(refusal).stored()
    with translation.override("de"):
        assert shown(kept) == "zwei zusammengeklebte Adressen: 'a@x.comb@y.org'"
    assert shown(kept) == "two addresses glued together: 'a@x.comb@y.org'"
