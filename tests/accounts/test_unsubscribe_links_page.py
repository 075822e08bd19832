"""Issue 13 item 7: a newcomer can try an unsubscribe link. The account page shows Compliance
each contact's link beside its address (the first ones); opening it unsubscribes the address
(R9). Other roles see neither addresses nor links (tests/security/test_no_leaks.py too)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.admin.inlines import UNSUBSCRIBE_LINKS_SHOWN
from compliance.selectors import is_suppressed
from tests.accounts.factories import ContactFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(username="anna-bergmann")
    ContactFactory(account=account, email="reader.one@contacts.example")
    return account


def _links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" class="unsubscribe-link"', html)


def test_compliance_sees_each_contacts_unsubscribe_link_and_it_unsubscribes_R9(
    client, make_role_user, account
):
    client.force_login(make_role_user("Compliance", "officer.olga"))
    html = client.get(reverse("admin:accounts_account_change", args=[account.pk])).content.decode()

    assert "reader.one@contacts.example" in html
    [link] = _links(html)
    assert not is_suppressed(account, "reader.one@contacts.example", at=timezone.now())

    client.logout()
    response = client.get(urlparse(link).path)

    assert response.status_code == 200
    assert is_suppressed(account, "reader.one@contacts.example", at=timezone.now())


@pytest.mark.parametrize("role", ["Support", "Billing", "Manager"])
def test_other_roles_see_no_contact_and_no_link(client, make_role_user, account, role):
    client.force_login(make_role_user(role))
    html = client.get(reverse("admin:accounts_account_change", args=[account.pk])).content.decode()

    assert "reader.one@contacts.example" not in html
    assert _links(html) == []


def test_the_page_shows_the_first_contacts_only_in_german(client, make_role_user, account):
    for n in range(UNSUBSCRIBE_LINKS_SHOWN + 5):
        ContactFactory(account=account, email=f"more{n}@contacts.example")
    client.force_login(make_role_user("Compliance", "officer.olga"))
    with translation.override("de"):
        html = client.get(
            reverse("admin:accounts_account_change", args=[account.pk]),
            HTTP_ACCEPT_LANGUAGE="de",
        ).content.decode()

    assert len(_links(html)) == UNSUBSCRIBE_LINKS_SHOWN
    assert "Abmeldelinks der ersten Kontakte (nur Compliance)" in html
    assert "öffnen (meldet diese Adresse ab)" in html
