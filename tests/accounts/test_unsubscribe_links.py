"""A newcomer can try an unsubscribe link: Compliance sees each contact's link on the
account page (the first few), and the link opens the public unsubscribe page (R9)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import AccountStatus, Contact
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(status=AccountStatus.ACTIVE)
    Contact.objects.create(account=account, email="reader@example.org", name="Reader")
    return account


def test_compliance_sees_each_contacts_unsubscribe_link_and_it_opens_R9(
    client, make_role_user, account
):
    client.force_login(make_role_user("Compliance"))

    html = client.get(reverse("admin:accounts_account_change", args=[account.pk])).content
    text = html.decode()

    assert "reader@example.org" in text
    link = re.search(r'<a href="https?://[^/"]+(/p/[^"]+)" rel="noreferrer"', text)
    assert link is not None
    client.logout()
    assert client.get(link.group(1)).status_code == 200


def test_support_does_not_see_the_unsubscribe_links(client, make_role_user, account):
    client.force_login(make_role_user("Support"))

    html = client.get(reverse("admin:accounts_account_change", args=[account.pk])).content

    assert b"unsubscribe-links" not in html
