"""Staff pages in a real browser at 1366 × 768 with the sidebar open: the German
cancellation call, the payment desk, and each role's walk over every dashboard and menu link
(no 403). Screenshots of the main pages land in var/e2e/1366x768/ for review (issue 13)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountStatus
from core.roles import ROLES
from tests.billing.factories import BillingProfileFactory
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import AccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LAPTOP = {"width": 1366, "height": 768}
SHOTS = SCREENSHOTS / "1366x768"
NOT_PAGES = ("/admin/logout/", "/admin/password_change/")


@pytest.fixture
def laptop(browser):
    contexts = []

    def open_page(locale: str = "en-US"):
        context = browser.new_context(viewport=LAPTOP, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def staff(make_role_user, role: str, username: str):
    user = make_role_user(role, username=username)
    user.set_password("pw-e2e-13")
    user.save()
    return user


def fits_the_width(page) -> bool:
    """No horizontal cut-off: the page itself does not scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_german_agent_takes_a_cancellation_call_R2(laptop, live_server, log_in, make_role_user):
    staff(make_role_user, "Support", "agent.de")
    account = AccountFactory(
        username="seeblick-yoga", status=AccountStatus.ACTIVE, time_zone="Europe/Berlin"
    )
    BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 1))
    page = laptop("de-DE")

    log_in(page, "agent.de", "pw-e2e-13")
    page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/change/")
    assert "Nächstes Rechnungsdatum und Frist" in page.inner_text("#at-a-glance")
    shot(page, "account-page-de")
    page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/cancellation-call/")
    assert "Kündigung vor 2030-12-01 00:00 CET (Europe/Berlin)" in page.inner_text("#billing")
    shot(page, "cancellation-call-de")
    page.fill("input[name=username]", "seeblick-yoga")
    page.select_option("select[name=reason]", label="Too expensive")
    page.check("input[name=pause][value=declined]")
    page.click("input[name=record]")

    page.wait_for_selector(".messagelist .success")
    shot(page, "cancellation-recorded-de")
    account.refresh_from_db()
    assert account.status == AccountStatus.CANCELLED
    assert "Konto ändern" in page.title() or "Konto" in page.content()


def test_a_clerk_records_a_payment_at_the_desk_R11(laptop, live_server, log_in, make_role_user):
    staff(make_role_user, "Billing", "clerk.de")
    account = AccountFactory(
        username="anna-bergmann", status=AccountStatus.SUSPENDED, time_zone="Europe/Berlin"
    )
    suspended = timezone.now() - timedelta(days=20)
    profile = BillingProfileFactory(
        account=account,
        unpaid_since=suspended,
        suspended_at=suspended,
        next_billing_date=date(2026, 11, 1),
        due_at=None,
        plan__monthly_price="15.00",
        plan__currency="EUR",
    )
    page = laptop("de-DE")

    log_in(page, "clerk.de", "pw-e2e-13")
    page.goto(f"{live_server.url}/admin/billing/billingprofile/{profile.pk}/change/")
    assert "15,00 EUR für den Monat ab 2026-11-01" in page.content()
    shot(page, "billing-profile-de")
    page.click("#record-payment-link")
    shot(page, "payment-desk-de")
    page.fill("#id_amount", "15,00")
    page.fill("#id_reference", "Überweisung 881")
    page.click("#payment-form input[type=submit]")

    page.wait_for_selector(".messagelist .success")
    message = page.inner_text(".messagelist")
    assert "Zahlung von 15,00 EUR für anna-bergmann erfasst" in message
    assert "nächstes Rechnungsdatum" in message
    shot(page, "payment-recorded-de")
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


@pytest.mark.parametrize("role", ROLES)
def test_each_role_walks_every_dashboard_and_menu_link_without_a_403(
    role, laptop, live_server, log_in, make_role_user
):
    username = f"walk.{role.lower()}"
    staff(make_role_user, role, username)
    account = AccountFactory(status=AccountStatus.ACTIVE)
    BillingProfileFactory(account=account)
    page = laptop()

    log_in(page, username, "pw-e2e-13")
    page.goto(f"{live_server.url}/admin/")
    shot(page, f"dashboard-{role.lower()}")
    links = set(
        page.eval_on_selector_all(
            "#dashboard a, #content-main a, #nav-sidebar a",
            "els => els.map(e => e.getAttribute('href'))",
        )
    )
    links = {
        link
        for link in links
        if link and link.startswith("/admin/") and not link.startswith(NOT_PAGES)
    }
    assert links

    refused, cut_off = [], []
    for link in sorted(links):
        response = page.goto(f"{live_server.url}{link}")
        if response is None or response.status == 403:
            refused.append(link)
        elif re.fullmatch(r"/admin/\w+/\w+/", link) and not fits_the_width(page):
            cut_off.append(link)
        if re.fullmatch(
            r"/admin/(accounts/account|billing/ledgerentry|billing/billingprofile)/", link
        ):
            shot(page, f"{link.strip('/').replace('/', '-')}-{role.lower()}")

    assert refused == [], f"{role} was refused"
    assert cut_off == [], f"{role}: lists wider than 1366 px"
