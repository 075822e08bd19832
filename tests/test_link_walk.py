"""Every link opens: each role, logged in, follows every link of the dashboard and the menus
(the app list and the sidebar) and is never refused; a refused page speaks the admin's style
and names the role that may open it."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountStatus
from core.roles import ROLES
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/admin/[^"#]*)"')
# Links that do something rather than show a page.
NOT_PAGES = ("/admin/logout/", "/admin/password_change/")


def admin_links(html: str) -> set[str]:
    return {
        link.replace("&amp;", "&") for link in HREF.findall(html) if not link.startswith(NOT_PAGES)
    }


@pytest.fixture
def dashboard_data():
    AccountFactory(status=AccountStatus.ACTIVE)
    AccountFactory(status=AccountStatus.SUSPENDED)
    AccountFactory(status=AccountStatus.CANCELLED, inactive_since=timezone.now())


@pytest.mark.parametrize("role", ROLES)
def test_each_role_follows_every_dashboard_and_menu_link_without_a_403(
    role, make_role_user, client, dashboard_data
):
    client.force_login(make_role_user(role))
    index = client.get("/admin/")
    assert index.status_code == 200
    links = admin_links(index.content.decode())
    # The sidebar of a list page is the other menu.
    sidebar = client.get("/admin/accounts/account/")
    assert sidebar.status_code == 200
    links |= admin_links(sidebar.content.decode())

    refused = {link: client.get(link).status_code for link in sorted(links)}
    refused = {link: status for link, status in refused.items() if status == 403}

    assert len(links) > 5, links
    assert refused == {}, f"{role} sees links it cannot open"


@pytest.mark.parametrize("role", ROLES)
def test_job_runs_are_readable_by_every_staff_role(role, make_role_user, client):
    client.force_login(make_role_user(role))

    assert client.get("/admin/jobs/jobrun/").status_code == 200
    # ... and still written by nobody.
    assert client.get("/admin/jobs/jobrun/add/").status_code == 403


def test_the_dashboard_shows_support_no_link_to_billing_lists(make_role_user, client):
    client.force_login(make_role_user("Support"))

    html = client.get("/admin/").content.decode()

    # The figure is there, its numbers too, but retention is Compliance's list.
    assert "Purged within 7 days" in html
    assert "/admin/compliance/retentionaccount/" not in html


def test_sent_within_24_hours_links_to_the_requests_sent_in_time_R4(admin_client):
    from tests.accounts.factories import CancellationRequestFactory

    now = timezone.now()
    taken = now - timedelta(hours=50)
    CancellationRequestFactory(at=taken, confirmation_sent_at=taken + timedelta(hours=1))
    CancellationRequestFactory(at=taken, confirmation_sent_at=taken + timedelta(hours=30))
    html = admin_client.get("/admin/").content.decode()
    assert "confirmation=on_time" in html and "confirmation=late" in html

    on_time = admin_client.get("/admin/accounts/cancellationrequest/?confirmation=on_time")
    late = admin_client.get("/admin/accounts/cancellationrequest/?confirmation=late")

    assert on_time.context["cl"].result_count == 1
    assert late.context["cl"].result_count == 1


def test_a_403_page_is_in_the_admins_style_and_names_the_role(make_role_user, client, caplog):
    client.force_login(make_role_user("Support"))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/admin/billing/card/")

    html = response.content.decode()
    assert response.status_code == 403
    assert 'id="site-name"' in html  # the admin's header
    assert "The role that may do it: Billing." in html
    assert 'id="permission-denied"' in html


def test_a_403_page_in_german_names_the_roles(make_role_user, client):
    client.force_login(make_role_user("Support"))

    html = client.get("/admin/compliance/suppression/", HTTP_ACCEPT_LANGUAGE="de").content
    text = html.decode()

    assert "Nicht für Ihre Rolle freigegeben" in text
    assert "Compliance" in text and "Manager" in text


def test_a_403_is_logged_in_one_line_without_traceback(make_role_user, client, caplog):
    from ops.logs import ClientErrorsInOneLine

    client.force_login(make_role_user("Support"))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/admin/billing/card/")

    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    ClientErrorsInOneLine().filter(records[0])
    assert records[0].exc_info is None
    assert "\n" not in records[0].getMessage()
