"""The review's bad-input findings (issue 12, item 5), one test each, as the review sent them:
with DEBUG off, as the staff role that may use the form, no 500, a message naming what was
wrong, and no row written (nothing half-applied)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.links import unsubscribe_token
from accounts.models import Account, AccountEvent, AccountStatus
from billing.models import LedgerEntry, Plan
from compliance.models import OptInConfirmation, Suppression
from core.validators import RowsField
from tests.accounts.factories import SignupFormFactory
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

# Addresses Django's EmailValidator takes that the suppression normaliser refuses.
DOMAIN_LITERAL = "a@[127.0.0.1]"
LONG_LOCAL_PART = "a" * 65 + "@example.com"
RLO = "\u202e"


@pytest.fixture
def browser(settings):
    """A client that answers like production: DEBUG off, a crash is a 500 page, not a raise."""
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def messages_of(response) -> str:
    return response.content.decode()


def test_record_payment_too_large_on_two_profiles_writes_nothing(browser, make_role_user):
    """99999999999.99 on two profiles: a 500 after the first profile's payment was written (and
    the ledger is append-only, R12). Now: refused before anything is written, naming the amount."""
    browser.force_login(make_role_user("Billing"))
    profiles = [BillingProfileFactory(), BillingProfileFactory()]

    response = browser.post(
        reverse("admin:billing_billingprofile_changelist"),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [p.pk for p in profiles],
            "apply": "1",
            "amount": "99999999999.99",
            "currency": "USD",
            "reference": "wire 1",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "largest amount" in messages_of(response)
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        ("45.00", "ZZZ", "ZZZ"),
        ("١٢٣", "USD", "١٢٣"),
        ("１２３", "USD", "１２３"),
        ("NaN", "USD", "NaN"),
        ("1e3", "USD", "1e3"),
    ],
)
def test_record_payment_refuses_unknown_currency_and_non_ascii_digits(
    browser, make_role_user, amount, currency, says
):
    browser.force_login(make_role_user("Billing"))
    profile = BillingProfileFactory()

    response = browser.post(
        reverse("admin:billing_billingprofile_changelist"),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [profile.pk],
            "apply": "1",
            "amount": amount,
            "currency": currency,
            "reference": "wire 1",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert says in messages_of(response)
    assert not LedgerEntry.objects.exists()


def test_record_payment_takes_the_german_decimal_comma(browser, make_role_user):
    browser.force_login(make_role_user("Billing"))
    profile = BillingProfileFactory()

    browser.post(
        reverse("admin:billing_billingprofile_changelist"),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [profile.pk],
            "apply": "1",
            "amount": "45,50",
            "currency": "usd",
            "reference": "wire 1",
        },
    )

    entry = LedgerEntry.objects.get()
    assert (str(entry.amount), entry.currency) == ("45.50", "USD")


@pytest.mark.parametrize(
    ("field", "value"),
    [("currency", "ZZZ"), ("monthly_price", "١٢٣"), ("monthly_price", "99999999999.99")],
)
def test_plan_form_refuses_unknown_currency_and_bad_prices(browser, make_role_user, field, value):
    browser.force_login(make_role_user("Manager"))
    data = {
        "code": "new-plan",
        "name": "New plan",
        "monthly_price": "45.00",
        "currency": "USD",
        "why": "new price list",
        field: value,
    }

    response = browser.post(reverse("admin:billing_plan_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors or value in str(errors), errors
    assert not Plan.objects.filter(code="new-plan").exists()


def test_account_form_refuses_a_time_zone_not_in_the_tz_database(browser, make_role_user):
    """`Mars/Phobos` on the account form was a 500: the page shown again read the billing
    cut-off in the typed zone."""
    browser.force_login(make_role_user("Manager"))
    account = AccountFactory(time_zone="Europe/Berlin")
    BillingProfileFactory(account=account)
    events = AccountEvent.objects.count()

    response = browser.post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        {
            "company": account.company,
            "primary_email": account.primary_email,
            "time_zone": "Mars/Phobos",
            "language": account.language,
            "reason": "moved",
        },
    )

    assert response.status_code == 200
    assert "Mars/Phobos" in str(response.context["adminform"].form.errors["time_zone"])
    account.refresh_from_db()
    assert account.time_zone == "Europe/Berlin"
    assert AccountEvent.objects.count() == events


@pytest.mark.parametrize("zone", ["Mars/Phobos", "../../etc/passwd", "UTC\x00", "Europe/", ""])
def test_account_open_form_refuses_bad_time_zones(browser, make_role_user, zone):
    browser.force_login(make_role_user("Manager"))
    user = make_role_user("Support", "root-for-open")
    user.is_superuser = True
    user.save()
    browser.force_login(user)

    response = browser.post(
        reverse("admin:accounts_account_add"),
        {
            "username": "new-account",
            "company": "New Ltd",
            "primary_email": "owner@new.example",
            "time_zone": zone,
            "language": "en",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("time_zone")
    assert not Account.objects.filter(username="new-account").exists()


@pytest.mark.parametrize("field", ["company", "username"], ids=["company", "username"])
def test_account_open_form_refuses_a_bidi_override_in_names(browser, django_user_model, field):
    """U+202E in a company name was accepted: "Evil\u202emoc.elpmaxe" reads as another name."""
    browser.force_login(django_user_model.objects.create_superuser("root", password="x"))
    data = {
        "username": "new-account",
        "company": "New Ltd",
        "primary_email": "owner@new.example",
        "time_zone": "UTC",
        "language": "en",
    }
    data[field] = f"Evil{RLO}moc.elpmaxe"

    response = browser.post(reverse("admin:accounts_account_add"), data)

    assert response.status_code == 200
    assert "U+202E" in str(response.context["adminform"].form.errors[field])
    assert not Account.objects.filter(company__contains=RLO).exists()
    assert not Account.objects.filter(username__contains=RLO).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/p/files/%00/",
        "/p/signup/%00/",
        "/p/unsubscribe/%00/",
        "/p/confirm/%00/",
        "/admin/accounts/account/abc/cancellation-call/",
        "/admin/accounts/account/%00/cancellation-call/",
        "/admin/accounts/account/1%00/act/pause/",
        "/admin/accounts/account/abc/act/pause/",
        "/admin/accounts/account/abc/change/",
        "/admin/billing/billingprofile/%00/change/",
        "/admin/compliance/suppressionimport/abc/progress/",
    ],
)
def test_nul_and_malformed_ids_in_urls_are_not_found(browser, django_user_model, url):
    browser.force_login(django_user_model.objects.create_superuser("root", password="x"))

    response = browser.post(url) if url.startswith("/p/signup/") else browser.get(url)

    # 404, or the admin's own redirect from a change page of no such record to the list.
    assert response.status_code in (302, 400, 404), (url, response.status_code)


@pytest.mark.parametrize("address", [DOMAIN_LITERAL, LONG_LOCAL_PART])
def test_signup_of_an_address_django_accepts_but_the_normaliser_refuses(browser, address):
    form = SignupFormFactory()

    response = browser.post(
        reverse("public:signup", args=[form.public_key]), {"email": address, "name": "A"}
    )

    assert response.status_code in (200, 400), response.status_code


@pytest.mark.parametrize(
    "address",
    [DOMAIN_LITERAL, LONG_LOCAL_PART, "x@localhost", "ü@bücher.de", '"john doe"@example.com'],
)
def test_an_unsubscribe_token_we_signed_is_always_recorded_R9(browser, address):
    """The 65-character local part's unsubscribe was not recorded (500): whatever the address
    looks like, a link we signed records the unsubscribe."""
    account = AccountFactory(status=AccountStatus.ACTIVE)
    token = unsubscribe_token(account_id=account.pk, address=address)

    response = browser.get(reverse("public:unsubscribe", args=[token]))

    assert response.status_code == 200
    assert [s.address for s in Suppression.objects.filter(account=account)] == [address]


def test_signup_form_confirmations_stay_unwritten_for_an_invalid_address(browser):
    form = SignupFormFactory()

    response = browser.post(
        reverse("public:signup", args=[form.public_key]), {"email": "not an address"}
    )

    assert response.status_code == 400
    assert not OptInConfirmation.objects.exists()


@pytest.mark.parametrize(
    ("month", "year"), [("13", "2030"), ("0", "2030"), ("١٢", "2030"), ("12", "2001")]
)
def test_card_expiry_is_validated(browser, make_role_user, month, year):
    browser.force_login(make_role_user("Billing"))
    card = CardFactory(exp_month=12, exp_year=2030)

    response = browser.post(
        reverse("admin:billing_card_change", args=[card.pk]),
        {"exp_month": month, "exp_year": year, "reason": "read from the card"},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "exp_month" in errors or "exp_year" in errors or month in str(errors), errors
    card.refresh_from_db()
    assert (card.exp_month, card.exp_year) == (12, 2030)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_an_amount_is_digits_0_to_9_with_one_point_or_comma(text):
    """Whatever is typed, the amount field reads it as digits 0-9 with one decimal point or
    comma, or refuses it with a message naming it; it never raises anything else."""
    from core.validators import AmountField  # here: the module's other tests run on old code too

    field = AmountField(max_digits=12, decimal_places=2)
    try:
        value = field.clean(text)
    except ValidationError as exc:
        assert exc.messages
        return
    typed = text.strip()
    assert typed.replace(",", "", 1).replace(".", "", 1).lstrip("-").isascii()
    assert value == Decimal(typed.replace(",", "."))


@pytest.mark.django_db
@pytest.mark.parametrize("huge", ["99999999999999999999999", str(2**63), "-" + str(2**63 + 1)])
def test_a_chosen_row_id_beyond_64_bits_is_refused_by_name_not_queried(huge):
    """SQLite cannot take such a number into the IN query that finds the chosen rows (it
    answered 500 on the group and staff forms); every admin's many-to-many uses this field."""
    group = Group.objects.create(name="Billing desk")
    field = RowsField(queryset=Group.objects.all())
    with pytest.raises(ValidationError) as refused:
        field.clean([str(group.pk), huge])
    assert refused.value.code == "invalid_choice" and huge[:40] in str(refused.value)
    assert list(field.clean([str(group.pk)])) == [group]
