"""One way to say a moment: every page that shows R3's cut-off says it in the same words, on
the account's clock with its zone, in English and in German; other moments carry their zone
(UTC) in one ISO format in both languages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from accounts.models import AccountStatus
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
NY = "America/New_York"


@pytest.fixture
def account():
    account = AccountFactory(status=AccountStatus.ACTIVE, time_zone=NY)
    BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 11))
    return account


def pages(account):
    return [
        reverse("admin:accounts_account_change", args=[account.pk]),
        reverse("admin:accounts_account_cancellation_call", args=[account.pk]),
        reverse("admin:billing_billingprofile_change", args=[account.billing_profile.pk]),
    ]


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        ("en", "cancel before 2030-12-11 00:00 EST (America/New_York), when the billing date"),
        ("de", "Kündigung vor 2030-12-11 00:00 EST (America/New_York), wenn dort das"),
    ],
)
def test_the_cut_off_is_phrased_once_on_every_page_R3(admin_client, account, language, phrase):
    for url in pages(account):
        html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert phrase in html, url
        # The old second phrasing ("cancel by … 23:59") is gone.
        assert "23:59" not in html, url


def test_the_next_billing_date_is_a_day_of_the_accounts_calendar_with_its_zone(
    admin_client, account
):
    html = admin_client.get(pages(account)[2]).content.decode()

    assert "2030-12-11 (America/New_York)" in html
    assert "Dec. 11, 2030" not in html


@pytest.mark.parametrize("language", ["en", "de"])
def test_other_moments_read_in_one_iso_format_with_their_zone(admin_client, language):
    account = AccountFactory(created_at=datetime(2026, 3, 3, 19, 35, tzinfo=UTC))

    html = admin_client.get(
        reverse("admin:accounts_account_change", args=[account.pk]),
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()

    assert "2026-03-03 19:35 UTC" in html
    assert "p.m." not in html and "March 3, 2026" not in html
