"""Every admin page and action, for every staff role, against the intended matrix.

For each role the walk opens, for every model registered in the admin: its list, add page,
the change page of one record (read-only counts as "view", editable as "change"), delete and
history pages, and every extra URL its ModelAdmin adds (cancellation call, agent actions,
imports, exports, row errors, progress). It also lists the admin actions the role is offered
and posts every action the role is not offered, checking that nothing changed.

The matrix below is the decision. A URL or an action added later fails
`test_every_admin_url_and_action_has_a_decision` until it is written here, and a permission
that opens more (or less) than decided fails the role's walk.
"""

from __future__ import annotations

import hashlib

import pytest
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from tests.security.walk import STANDARD, custom_urls, label, offered_actions, walk

pytestmark = pytest.mark.django_db

# Values of path parameters other than the record's id, by URL name.
VARIANTS = {
    "accounts_account_agent_action": {"action": ["pause", "resume", "reactivate", "allow_pause"]}
}


def _import_record(objects):
    # A preview that is not the user's own (and was refused): a confirmation changes nothing.
    return {"import_record": objects["exchanges.importrecord"].pk}


# Views that take a POST only: what the walk posts (a confirmation that confirms nothing).
POST_DATA = {
    "accounts_account_process_import": _import_record,
    "accounts_cancellationreason_process_import": _import_record,
    "billing_plan_process_import": _import_record,
    "billing_addon_process_import": _import_record,
    "compliance_suppressionimport_process_import": lambda objects: {
        "record": objects["compliance.suppressionimport"].pk
    },
    # A mapping that names no column: shown again with its errors, nothing read.
    "compliance_suppressionimport_mapping": lambda objects: {
        "record": objects["compliance.suppressionimport"].pk
    },
}

# Every URL a ModelAdmin adds beyond the standard five, and every action a superuser is
# offered: the walk's list of what exists. Each needs a decision in ALLOWED.
CUSTOM_URLS = {
    ("accounts.account", "cancellation_call"),
    ("billing.billingprofile", "payment"),
    ("accounts.account", "agent_action:pause"),
    ("accounts.account", "agent_action:resume"),
    ("accounts.account", "agent_action:reactivate"),
    ("accounts.account", "agent_action:allow_pause"),
    ("accounts.account", "forecast"),
    ("accounts.account", "import"),
    ("accounts.account", "process_import"),
    ("accounts.account", "import_preview"),
    ("accounts.account", "export_csv"),
    ("accounts.cancellationreason", "import"),
    ("accounts.cancellationreason", "process_import"),
    ("accounts.cancellationreason", "import_preview"),
    ("accounts.cancellationreason", "export"),
    ("accounts.cancellationrequest", "export_csv"),
    ("auth.user", "password_change"),
    ("billing.addon", "import"),
    ("billing.addon", "process_import"),
    ("billing.addon", "import_preview"),
    ("billing.addon", "export"),
    ("billing.plan", "import"),
    ("billing.plan", "process_import"),
    ("billing.plan", "import_preview"),
    ("billing.plan", "export"),
    ("billing.ledgerentry", "export_csv"),
    ("compliance.suppressionexport", "export"),
    ("compliance.suppressionimport", "import"),
    ("compliance.suppressionimport", "process_import"),
    ("compliance.suppressionimport", "progress"),
    ("compliance.suppressionimport", "mapping"),
    ("exchanges.importrecord", "row_errors"),
    ("jobs.jobrun", "export_csv"),
}
ACTIONS = {
    ("accounts.cancellationreason", "action:retire"),
    ("accounts.cancellationreason", "action:restore"),
    ("accounts.cancellationrequest", "action:send_confirmation_now"),
    ("billing.billingprofile", "action:record_payment"),
    ("billing.billingprofile", "action:retry_card"),
    ("billing.accountaddon", "action:cancel_addons"),
    ("billing.ledgerentry", "action:request_refund"),
    ("compliance.retentionaccount", "action:set_legal_hold"),
    ("compliance.retentionaccount", "action:request_legal_hold_release"),
    ("compliance.retentionaccount", "action:request_purge"),
    ("approvals.approvalrequest", "action:approve_requests"),
    ("approvals.approvalrequest", "action:reject_requests"),
    ("compliance.erasurerequest", "action:sign_off"),
    ("compliance.erasurerequest", "action:withdraw"),
    ("api.apikey", "action:revoke"),
    ("django_celery_beat.periodictask", "action:enable_tasks"),
    ("django_celery_beat.periodictask", "action:disable_tasks"),
    ("django_celery_beat.periodictask", "action:toggle_tasks"),
    ("django_celery_beat.periodictask", "action:run_tasks"),
    ("axes.accessattempt", "action:cleanup_expired_attempts"),
    # A lost phone: superusers reset a staff member's two-factor login.
    ("otp_totp.totpdevice", "action:reset_two_factor"),
    # Django's bulk delete, offered where a superuser may delete.
    *(
        (model, "action:delete_selected")
        for model in (
            "auth.group",
            "auth.user",
            "axes.accessattempt",
            "axes.accessfailurelog",
            "axes.accesslog",
            "django_celery_beat.clockedschedule",
            "django_celery_beat.crontabschedule",
            "django_celery_beat.intervalschedule",
            "django_celery_beat.periodictask",
            "django_celery_beat.solarschedule",
        )
    ),
}


def read_only(*models: str) -> set[tuple[str, str]]:
    """List, read-only page and history of each model."""
    return {(m, v) for m in models for v in ("changelist", "view", "history")}


def editable(*models: str, add: bool = True) -> set[tuple[str, str]]:
    """List, editable page and history of each model (and its add page)."""
    views = ("changelist", "change", "history", *(("add",) if add else ()))
    return {(m, v) for m in models for v in views}


EVERYONE = read_only(
    "accounts.account",
    "accounts.accountevent",
    "accounts.cancellationreason",
    "accounts.cancellationrequest",
    "core.changerecord",
    # Job runs are a record every staff role reads (issue 13: the dashboard links to them).
    "jobs.jobrun",
) | {("accounts.account", "forecast")}
CATALOGUE_EXCHANGE = {
    (m, v)
    for m in ("accounts.cancellationreason", "billing.plan", "billing.addon")
    for v in ("import", "process_import", "import_preview", "export")
}

# What each role opens and runs in the admin; everything else answers 403 or is not offered.
# Nobody deletes anything (records are kept, R7, R12); nobody sees axes, users, groups, the
# beat schedules or the two-factor devices but superusers.
ALLOWED = {
    # The agents: the cancellation desk (R2), pause/resume (R8), reactivation (R7), resending
    # an overdue confirmation (R4); they see the billing profile to tell the caller the date.
    "Support": EVERYONE
    | read_only("billing.billingprofile")
    | {
        ("accounts.account", "cancellation_call"),
        ("accounts.account", "agent_action:pause"),
        ("accounts.account", "agent_action:resume"),
        ("accounts.account", "agent_action:reactivate"),
        ("accounts.cancellationrequest", "action:send_confirmation_now"),
    },
    # Billing clerks: profiles, cards (last four only, never the token), add-ons; payments,
    # card retries; refunds (never of a prepayment, R5) asked for by one clerk and signed off
    # by another under Sign-offs; ledger and attempts read-only.
    "Billing": EVERYONE
    | editable("billing.billingprofile", "billing.card")
    | read_only(
        "billing.plan",
        "billing.addon",
        "billing.ledgerentry",
        "billing.cardchargeattempt",
        "billing.accountaddon",
        "approvals.approvalrequest",
    )
    | {
        ("billing.accountaddon", "add"),
        ("billing.accountaddon", "action:cancel_addons"),
        # a second pause within one billing period, which agents may then take
        ("accounts.account", "agent_action:allow_pause"),
        ("billing.billingprofile", "action:record_payment"),
        ("billing.billingprofile", "payment"),
        ("billing.billingprofile", "action:retry_card"),
        ("billing.ledgerentry", "action:request_refund"),
        ("approvals.approvalrequest", "action:approve_requests"),
        ("approvals.approvalrequest", "action:reject_requests"),
    },
    # Compliance officers: suppressions, opt-ins and double opt-in confirmations (R9), hand-over
    # exports (R10), imports of other providers' lists, retention and legal holds (R7); a
    # hold's release, a staff opt-in and a purge by hand are asked for by one officer and
    # signed off by another under Sign-offs; erasure requests (one records, another signs
    # off), complaints for review, the sending platform's API keys.
    "Compliance": EVERYONE
    | read_only(
        "compliance.complaint",
        "compliance.erasurerequest",
        "api.apikey",
        "compliance.suppression",
        "compliance.optin",
        "compliance.optinconfirmation",
        "compliance.suppressionexport",
        "compliance.suppressionimport",
        "compliance.purgereceipt",
        "compliance.retentionaccount",
        "compliance.suppressionmapping",
    )
    # The walk's sign-off request is a refund: Compliance lists the requests of its own kinds
    # only, so it opens the list but not that request.
    | {("approvals.approvalrequest", "changelist")}
    | {
        ("compliance.optin", "add"),
        ("compliance.suppressionexport", "export"),
        ("compliance.suppressionimport", "import"),
        ("compliance.suppressionimport", "process_import"),
        ("compliance.suppressionimport", "progress"),
        ("compliance.suppressionimport", "mapping"),
        ("compliance.suppressionmapping", "add"),
        ("compliance.retentionaccount", "action:set_legal_hold"),
        ("compliance.retentionaccount", "action:request_legal_hold_release"),
        ("compliance.retentionaccount", "action:request_purge"),
        ("approvals.approvalrequest", "action:approve_requests"),
        ("approvals.approvalrequest", "action:reject_requests"),
        ("compliance.erasurerequest", "add"),
        ("compliance.erasurerequest", "action:sign_off"),
        ("compliance.erasurerequest", "action:withdraw"),
        ("api.apikey", "add"),
        ("api.apikey", "action:revoke"),
    },
    # Managers: data in and out as CSV with a preview (accounts, catalogue, reasons,
    # unsubscribe lists), the reports (requests, ledger, job runs), the reasons list.
    "Manager": (EVERYONE - {("accounts.account", "view"), ("accounts.cancellationreason", "view")})
    | editable("accounts.account", add=False)
    | editable("accounts.cancellationreason", "billing.plan", "billing.addon")
    | CATALOGUE_EXCHANGE
    | read_only(
        "billing.ledgerentry",
        "compliance.suppression",
        "compliance.suppressionimport",
        "compliance.suppressionmapping",
        "exchanges.importrecord",
    )
    | {
        ("accounts.account", "import"),
        ("accounts.account", "process_import"),
        ("accounts.account", "import_preview"),
        ("accounts.account", "export_csv"),
        ("accounts.cancellationrequest", "export_csv"),
        ("billing.ledgerentry", "export_csv"),
        ("jobs.jobrun", "export_csv"),
        ("compliance.suppressionimport", "import"),
        ("compliance.suppressionimport", "process_import"),
        ("compliance.suppressionimport", "progress"),
        ("compliance.suppressionimport", "mapping"),
        ("compliance.suppressionmapping", "add"),
        ("exchanges.importrecord", "row_errors"),
        ("accounts.cancellationreason", "action:retire"),
        ("accounts.cancellationreason", "action:restore"),
    },
}

# Form data that makes an action do its work at once when it is allowed (the actions with a
# form of their own apply on "apply"): a refused action shows it changed nothing.
ACTION_DATA = {
    "record_payment": {"apply": "1", "amount": "10.00", "currency": "USD", "reference": "t-1"},
    "request_refund": {"apply": "1", "reason": "walk"},
    "retry_card": {"apply": "1"},
    "cancel_addons": {"apply": "1", "reason": "walk"},
    "retire": {"apply": "1", "why": "walk"},
    "restore": {"apply": "1", "why": "walk"},
    "set_legal_hold": {"apply": "1", "reason": "walk"},
    "request_legal_hold_release": {"apply": "1", "reason": "walk"},
    "request_purge": {"apply": "1", "reason": "walk"},
    "approve_requests": {"apply": "1"},
    "reject_requests": {"apply": "1", "note": "walk"},
    "sign_off": {"apply": "1", "confirm": "on"},
    "withdraw": {"apply": "1", "confirm": "on"},
    "revoke": {"apply": "1", "reason": "walk"},
    "delete_selected": {"post": "yes"},
}


def opened_and_run(client, user, objects) -> tuple[set, dict]:
    client.force_login(user)
    pages = walk(client, objects, VARIANTS, POST_DATA)
    opened = {entry for entry, page in pages.items() if page.status != 403}
    offered = offered_actions(user)
    for model, names in offered.items():
        # An action is usable only on a list the user can open.
        if (model, "changelist") in opened:
            opened |= {(model, f"action:{name}") for name in names}
    return opened, pages


def snapshot() -> str:
    """A digest of every row of every model the admin shows."""
    digest = hashlib.sha256()
    for model in admin.site._registry:
        if model._meta.proxy:
            continue
        rows = model._default_manager.order_by("pk").values_list()
        digest.update(repr(list(rows)).encode())
    return digest.hexdigest()


def test_every_admin_url_and_action_has_a_decision(world):
    """The walk's lists are what the admin really has: a new URL or action fails here until
    ALLOWED says who gets it."""
    found_urls = set()
    for model, model_admin in admin.site._registry.items():
        for suffix in custom_urls(model_admin):
            values = VARIANTS.get(f"{model._meta.app_label}_{model._meta.model_name}_{suffix}")
            names = [f"{suffix}:{v}" for vs in values.values() for v in vs] if values else [suffix]
            found_urls |= {(label(model), n) for n in names}
    found_actions = {
        (model, f"action:{name}")
        for model, names in offered_actions(world.superuser).items()
        for name in names
    }

    assert found_urls == CUSTOM_URLS
    assert found_actions == ACTIONS
    known = CUSTOM_URLS | ACTIONS | {(label(m), v) for m in admin.site._registry for v in STANDARD}
    known |= {(label(m), "view") for m in admin.site._registry}
    for role, entries in ALLOWED.items():
        assert entries <= known, (role, entries - known)


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_opens_and_runs_exactly_what_the_matrix_allows(
    role, world, make_role_user, client
):
    user = make_role_user(role)

    opened, _pages = opened_and_run(client, user, world.objects)

    assert sorted(opened - ALLOWED[role]) == [], f"{role} opens more than decided"
    assert sorted(ALLOWED[role] - opened) == [], f"{role} cannot do its work"


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_actions_a_role_is_not_given_are_refused_and_change_nothing(
    role, world, make_role_user, client
):
    user = make_role_user(role)
    client.force_login(user)
    refused = sorted(ACTIONS - ALLOWED[role])
    assert refused  # every role lacks some action: the loop below must run
    for model_label, action in refused:
        name = action.removeprefix("action:")
        model = next(m for m in admin.site._registry if label(m) == model_label)
        obj = world.objects[model_label]
        before = snapshot()

        response = client.post(
            f"/admin/{model._meta.app_label}/{model._meta.model_name}/",
            {"action": name, ACTION_CHECKBOX_NAME: [obj.pk], "index": "0"}
            | ACTION_DATA.get(name, {}),
            follow=False,
        )

        assert snapshot() == before, (role, model_label, name, "changed something")
        if response.status_code == 403:
            continue
        # The list opened: the action is not among its choices, so Django runs nothing.
        assert response.status_code in (200, 302), (role, model_label, name)
        if response.status_code == 302:
            notes = [str(m) for m in messages.get_messages(response.wsgi_request)]
            assert notes == ["No action selected."], (role, model_label, name, notes)


def test_a_superuser_walk_opens_every_page(world, client):
    """The walk itself reaches every page: a superuser opens all but the deletes the admin
    refuses to everyone (records, R12) and the add pages of records made by services."""
    opened, _pages = opened_and_run(client, world.superuser, world.objects)

    assert CUSTOM_URLS <= opened
    assert ACTIONS <= opened
    for model in admin.site._registry:
        assert {(label(model), "changelist"), (label(model), "history")} <= opened
