"""No admin page and no log line shows a card token; an account's addresses are shown only
to the roles that work with them.

Card data on file is a gateway token plus brand, last four and expiry (SPEC "Money"): staff
never need the token, so no page shows it to anyone, superusers and Billing included, and no
log line carries it. Unsubscribe lists (R9, R10) are Compliance's and Managers' (see
tests/test_roles.py); a customer's contacts are shown on no admin page, but for one exception:
the account page shows Compliance (and superusers) each contact's unsubscribe link beside its
address, so that the link can be tried (issue 13 item 7). Compliance officers see suppressed
addresses in their own admin already; every other role still sees no contact's address.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from billing.models import BillingMode, CardChargeAttempt
from billing.selectors import profiles_due_for_billing
from billing.services import BillingError, prepaid_term_buy
from billing.services.run import billing_run
from core.actors import Actor
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory
from tests.security.conftest import CARD_TOKEN, CONTACT_EMAILS, SUPPRESSED_EMAILS
from tests.security.test_admin_matrix import ALLOWED, POST_DATA, VARIANTS
from tests.security.walk import walk

pytestmark = pytest.mark.django_db

ROLES = sorted(ALLOWED)
# Who may see an account's unsubscribed addresses: the roles that open the suppression list.
SEES_SUPPRESSIONS = {role for role in ROLES if ("compliance.suppression", "view") in ALLOWED[role]}
# Who sees contacts' addresses, with their unsubscribe links, and where: the account page only.
SEES_UNSUBSCRIBE_LINKS = {"Compliance", "superuser"}
# The account's page, read-only ("view") or editable ("change") as the role has it.
ACCOUNT_PAGES = {("accounts.account", "view"), ("accounts.account", "change")}
# A token the gateway no longer knows (the card was deleted there): billing fails on it.
GONE_TOKEN = "tok_gone_zq7SECRETrevokedTOKEN"
BILLING_DAY = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pages_of(client, user, objects) -> dict:
    client.force_login(user)
    return walk(client, objects, VARIANTS, POST_DATA)


def test_the_roles_that_see_unsubscribe_lists_are_compliance_and_managers():
    assert SEES_SUPPRESSIONS == {"Compliance", "Manager"}


@pytest.mark.parametrize("role", [*ROLES, "superuser"])
def test_no_admin_page_shows_a_card_token_or_addresses_to_a_role_that_may_not_see_them(
    role, world, make_role_user, client, caplog
):
    caplog.set_level(logging.DEBUG)
    user = world.superuser if role == "superuser" else make_role_user(role)

    pages = pages_of(client, user, world.objects)

    opened = {entry: page for entry, page in pages.items() if page.status != 403}
    assert opened  # the walk opened pages: the checks below looked at something
    for entry, page in pages.items():
        assert CARD_TOKEN not in page.body, (role, entry, page.url)
        if not (role in SEES_UNSUBSCRIBE_LINKS and entry in ACCOUNT_PAGES):
            for email in CONTACT_EMAILS:
                assert email not in page.body, (role, entry, page.url)
        if role not in SEES_SUPPRESSIONS and role != "superuser":
            for email in SUPPRESSED_EMAILS:
                assert email not in page.body, (role, entry, page.url)
    if role in SEES_SUPPRESSIONS:
        # The check can fail: the suppression list does show them to these roles.
        suppressions = pages[("compliance.suppression", "changelist")].body
        assert all(email in suppressions for email in SUPPRESSED_EMAILS)
    account_page = " ".join(page.body for entry, page in opened.items() if entry in ACCOUNT_PAGES)
    assert account_page  # every role opens the account's page
    if role in SEES_UNSUBSCRIBE_LINKS:
        # The check can fail: the account page does show them, each with its link.
        assert all(email in account_page for email in CONTACT_EMAILS)
        assert account_page.count('class="unsubscribe-link"') == len(CONTACT_EMAILS)
    else:
        assert 'class="unsubscribe-link"' not in account_page
    if role in ("Billing", "superuser"):
        # The card's page is opened and names the card by brand and last four.
        card = opened[("billing.card", "change")].body
        assert "1111" in card
    assert all(CARD_TOKEN not in r.getMessage() for r in caplog.records)


def _card_account(username: str, token: str, mode=BillingMode.MONTHLY_CARD):
    account = AccountFactory(username=username)
    BillingProfileFactory(account=account, mode=mode, prepaid_months=12)
    CardFactory(account=account, token=token)
    return account


def test_billing_and_card_charges_never_log_or_show_a_card_token(
    world, make_role_user, client, caplog
):
    """The billing run charges the world's card (a good token) and fails on a card whose
    token the gateway no longer knows; a prepaid term is bought by card and refused for the
    unknown card. No log record at any level, no error and no page carries either token."""
    _card_account("gone-card", GONE_TOKEN)
    prepaid = _card_account("prepaid-card", "tok_ok_zq7SECRETprepaidTOKEN", BillingMode.PREPAID)
    gone_prepaid = _card_account("gone-prepaid", GONE_TOKEN + "2", BillingMode.PREPAID)
    tokens = (CARD_TOKEN, GONE_TOKEN, "tok_ok_zq7SECRETprepaidTOKEN", GONE_TOKEN + "2")
    caplog.set_level(logging.DEBUG)

    counts = billing_run(
        profiles=profiles_due_for_billing(as_of=BILLING_DAY),
        as_of=BILLING_DAY,
        by=Actor.system("run_billing"),
    )
    prepaid_term_buy(account=prepaid, by=Actor.system("test"), now=BILLING_DAY)
    with pytest.raises(BillingError) as refused:
        prepaid_term_buy(account=gone_prepaid, by=Actor.system("test"), now=BILLING_DAY)

    # Both paths ran: a charge went through and an unknown card was logged as an error.
    assert counts["errors"] >= 1, counts
    assert CardChargeAttempt.objects.filter(outcome="succeeded").count() >= 2
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
    messages = [r.getMessage() for r in caplog.records] + [str(refused.value)]
    for token in tokens:
        assert not [m for m in messages if token in m], token
    for role in ("Billing", "Manager"):
        pages = pages_of(client, make_role_user(role), world.objects)
        for entry, page in pages.items():
            for token in tokens:
                assert token not in page.body, (role, entry, token)
