"""Staff roles: each group can do its own work in the admin and cannot do another group's.

The matrix below is the intended one; the test walks every registered admin list for every
group, so a model added later without a decision here fails the test.
"""

import pytest
from django.contrib import admin

from accounts.models import AccountStatus
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = {
    "accounts.account",
    "accounts.accountevent",
    "accounts.cancellationreason",
    "accounts.cancellationrequest",
    # the change log of the catalogue: who changed a plan, an add-on, a reason, and why
    "core.changerecord",
    # job runs are a record every staff role reads (the dashboard links each job to them)
    "jobs.jobrun",
}
BILLING = {
    "billing.accountaddon",
    "billing.addon",
    "billing.billingprofile",
    "billing.card",
    "billing.cardchargeattempt",
    "billing.ledgerentry",
    "billing.plan",
}
COMPLIANCE = {
    "api.apikey",
    "compliance.complaint",
    "compliance.erasurerequest",
    "compliance.optin",
    "compliance.optinconfirmation",
    "compliance.purgereceipt",
    "compliance.retentionaccount",
    "compliance.suppression",
    "compliance.suppressionexport",
    "compliance.suppressionimport",
    "compliance.suppressionmapping",
}
# Which admin lists each role opens; every other list answers 403.
LISTS = {
    "Support": ACCOUNTS | {"billing.billingprofile"},
    # Each decides the sign-offs of its own kinds (refunds; holds, opt-ins, purges by hand).
    "Billing": ACCOUNTS | BILLING | {"approvals.approvalrequest"},
    "Compliance": ACCOUNTS | COMPLIANCE | {"approvals.approvalrequest"},
    "Manager": ACCOUNTS
    | {"billing.addon", "billing.plan", "billing.ledgerentry"}
    | {"compliance.suppression", "compliance.suppressionimport", "exchanges.importrecord"}
    | {"compliance.suppressionmapping"},
}


def changelist_url(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


@pytest.mark.parametrize("role", sorted(LISTS))
def test_each_role_opens_exactly_its_admin_lists(role, make_role_user, client):
    client.force_login(make_role_user(role))

    opened = set()
    for model in admin.site._registry:
        status = client.get(changelist_url(model)).status_code
        assert status in (200, 403), (model._meta.label_lower, status)
        if status == 200:
            opened.add(model._meta.label_lower)

    assert opened == LISTS[role]


# The work that defines each role, as a page only that role (and superusers) may open.
WORK = {
    "Support": "/admin/accounts/account/{account}/cancellation-call/",
    "Billing": "/admin/billing/card/",
    "Compliance": "/admin/compliance/suppressionexport/export/",
    "Manager": "/admin/exchanges/importrecord/",
}


@pytest.mark.parametrize("role", sorted(WORK))
def test_each_role_can_do_its_work_and_not_another_roles(role, make_role_user, client):
    account = AccountFactory(status=AccountStatus.ACTIVE)
    client.force_login(make_role_user(role))

    for owner, url in WORK.items():
        status = client.get(url.format(account=account.pk)).status_code
        if owner == role:
            assert status == 200, (role, url)
        else:
            assert status == 403, (role, "opened", owner, url)


def test_only_managers_and_compliance_officers_import_unsubscribe_lists(make_role_user, client):
    allowed = {"Manager", "Compliance"}
    for role in LISTS:
        client.force_login(make_role_user(role, username=f"{role.lower()}-import"))
        status = client.get("/admin/compliance/suppressionimport/import/").status_code
        assert (status == 200) == (role in allowed), (role, status)
