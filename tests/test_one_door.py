"""One door for every write (R12): walking the admin registry, every add, change and action a
superuser is offered on a guarded model writes through its service and leaves its record
(a timeline event, a change-log entry, a ledger row); nothing guarded is deleted, by anyone;
every inline is read-only. A ModelAdmin registered later without a case here fails the walk,
so a new admin cannot slip past the services.

Below the walk, the side doors an outside review found, each reproduced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountEvent, AccountStatus, CancellationReason
from api.models import ApiKey
from approvals.models import ApprovalDecision, ApprovalRequest
from billing.models import (
    AccountAddOn,
    AddOn,
    BillingProfile,
    Card,
    CardChargeAttempt,
    LedgerEntry,
    Plan,
)
from compliance.models import (
    ErasureRequest,
    OptIn,
    RetentionAccount,
    Suppression,
    SuppressionMapping,
)
from core.actors import Actor
from core.models import AppendOnlyModel, ChangeRecord
from tests.accounts.factories import CancellationReasonFactory
from tests.billing.factories import (
    AccountAddOnFactory,
    AddOnFactory,
    BillingProfileFactory,
    CardFactory,
    PlanFactory,
)
from tests.factories import AccountFactory
from tests.security.conftest import build_world
from workflows.compliance_signoffs import legal_hold_release_request

pytestmark = pytest.mark.django_db

S = AccountStatus

# The models whose writes must go through a service, and those the admin shows read-only
# (records, R12) or that belong to the framework (users, schedules, login throttling).
GUARDED = {
    Account,
    CancellationReason,
    Plan,
    AddOn,
    BillingProfile,
    Card,
    AccountAddOn,
    OptIn,
    RetentionAccount,
    SuppressionMapping,
    ApprovalRequest,
    ErasureRequest,
    ApiKey,
}
OUTSIDE = {"auth", "axes", "django_celery_beat"}


def audit_rows() -> int:
    """Every record a write may leave: timeline, change log, ledger, attempts, opt-ins,
    suppressions."""
    return sum(
        model.objects.count()
        for model in (
            AccountEvent,
            ChangeRecord,
            LedgerEntry,
            CardChargeAttempt,
            OptIn,
            Suppression,
            SuppressionMapping,
            ApprovalRequest,
            ApprovalDecision,
            ErasureRequest,
        )
    )


def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root.door", password="x")
    client.force_login(user)
    return client, user


def form_data(response) -> dict[str, Any]:
    """What the page's form would post unchanged: the main form's initial values and every
    inline's management form."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if hasattr(value, "pk"):
            value = value.pk
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    for inline in response.context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        for key, value in management.initial.items():
            data[management.add_prefix(key)] = value
    return data


@dataclass
class Case:
    """One write: what to set up, what to post, and the row it must leave changed."""

    prepare: Callable[[], Any]
    data: Callable[[Any], dict[str, Any]]
    check: Callable[[Any], bool]


def _suspended_with_card():
    profile = BillingProfileFactory(
        account=AccountFactory(status=S.SUSPENDED),
        unpaid_since=timezone.now(),
        suspended_at=timezone.now(),
        due_at=None,
        card_declines=1,
    )
    CardFactory(account=profile.account, token="tok_visa")
    return profile


def _cancelled_for_retention():
    return AccountFactory(status=S.CANCELLED, inactive_since=timezone.now() - timedelta(days=3))


ADD = {
    Account: Case(
        prepare=lambda: None,
        data=lambda _: {
            "username": "door-new",
            "company": "Door Ltd",
            "primary_email": "door@example.com",
            "time_zone": "Europe/Berlin",
            "language": "de",
        },
        check=lambda _: Account.objects.filter(username="door-new", status=S.TRIAL).exists(),
    ),
    CancellationReason: Case(
        prepare=lambda: None,
        data=lambda _: {"name": "Moving provider", "active": "on", "why": "asked by agents"},
        check=lambda _: CancellationReason.objects.filter(name="Moving provider").exists(),
    ),
    Plan: Case(
        prepare=lambda: None,
        data=lambda _: {
            "code": "pro",
            "name": "Pro",
            "monthly_price": "99.00",
            "currency": "USD",
            "active": "on",
            "why": "new plan",
        },
        check=lambda _: Plan.objects.filter(code="pro").exists(),
    ),
    AddOn: Case(
        prepare=lambda: None,
        data=lambda _: {
            "code": "extra-seat",
            "name": "Extra seat",
            "monthly_price": "5.00",
            "currency": "USD",
            "active": "on",
            "why": "new add-on",
        },
        check=lambda _: AddOn.objects.filter(code="extra-seat").exists(),
    ),
    BillingProfile: Case(
        prepare=lambda: (AccountFactory(status=S.TRIAL), PlanFactory()),
        data=lambda made: {
            "account": made[0].pk,
            "plan": made[1].pk,
            "mode": "monthly_card",
            "prepaid_months": 12,
        },
        check=lambda made: BillingProfile.objects.filter(account=made[0]).exists(),
    ),
    Card: Case(
        prepare=lambda: AccountFactory(),
        data=lambda account: {"account": account.pk, "token": "tok_mastercard"},
        check=lambda account: Card.objects.filter(account=account, last4="4444").exists(),
    ),
    AccountAddOn: Case(
        prepare=lambda: (BillingProfileFactory().account, AddOnFactory()),
        data=lambda made: {"account": made[0].pk, "addon": made[1].pk},
        check=lambda made: AccountAddOn.objects.filter(account=made[0], addon=made[1]).exists(),
    ),
    OptIn: Case(
        prepare=lambda: AccountFactory(username="door-optin"),
        data=lambda account: {
            "account_username": account.username,
            "address": "back@example.org",
            "at_0": "2026-01-05",
            "at_1": "10:00",
            "method": "written_consent",
            "origin": "signed letter",
            "evidence": "scan 1234",
            "reason": "ticket 1234",
        },
        # asked for: recorded once a second officer signs it off (ApprovalRequest's actions)
        check=lambda account: ApprovalRequest.objects.filter(
            account=account, kind="optin"
        ).exists(),
    ),
    SuppressionMapping: Case(
        prepare=lambda: None,
        data=lambda _: {
            "name": "Old ESP export",
            "address_column": "E-Mail",
            "status_column": "Status",
            "suppressed_values_text": "abgemeldet, bounced",
            "date_column": "Datum",
            "reason": "u",
        },
        check=lambda _: SuppressionMapping.objects.filter(name="Old ESP export").exists(),
    ),
}


def _erasure_recorded_by_another():
    """A request a Compliance officer recorded, for the superuser to sign off or withdraw."""
    from django.contrib.auth.models import Group, User

    n = ErasureRequest.objects.count()
    officer = User.objects.create_user(f"door.officer{n}", password="x", is_staff=True)
    officer.groups.add(Group.objects.get(name="Compliance"))
    account = AccountFactory(username=f"door-erasure{n}")
    return ErasureRequest.objects.create(
        account=account,
        address=f"gone.door{n}@example.org",
        normalised=f"gone.door{n}@example.org",
        sha256="5" * 64,
        md5="6" * 32,
        reference="ticket door-1",
        requested_by=officer,
        requested_at=timezone.now(),
    )


def _api_key():
    from django.contrib.auth.models import User

    return ApiKey.objects.create(
        integration="door-mta",
        prefix="door01",
        digest="7" * 64,
        can_check=True,
        created_at=timezone.now(),
        created_by=User.objects.create_user("door.maker", password="x"),
    )


ADD[ErasureRequest] = Case(
    prepare=lambda: AccountFactory(username="door-erase-add"),
    data=lambda account: {
        "address": "someone.door@example.org",
        "account_username": account.username,
        "reference": "letter of 5 January",
    },
    check=lambda account: ErasureRequest.objects.filter(
        account=account, status="requested"
    ).exists(),
)
ADD[ApiKey] = Case(
    prepare=lambda: None,
    data=lambda _: {"integration": "mta-door", "description": "door walk", "can_check": "on"},
    check=lambda _: ApiKey.objects.filter(integration="mta-door", can_check=True).exists(),
)

CHANGE = {
    Account: Case(
        prepare=lambda: AccountFactory(company="Old Ltd"),
        data=lambda account: {"company": "New Ltd", "reason": "renamed by the customer"},
        check=lambda account: Account.objects.get(pk=account.pk).company == "New Ltd",
    ),
    CancellationReason: Case(
        prepare=lambda: CancellationReasonFactory(name="Price"),
        data=lambda reason: {"name": "Price too high", "why": "clearer for agents"},
        check=lambda reason: CancellationReason.objects.get(pk=reason.pk).name == "Price too high",
    ),
    Plan: Case(
        prepare=lambda: PlanFactory(),
        data=lambda plan: {"monthly_price": "49.00", "why": "new price list"},
        check=lambda plan: str(Plan.objects.get(pk=plan.pk).monthly_price) == "49.00",
    ),
    AddOn: Case(
        prepare=lambda: AddOnFactory(),
        data=lambda addon: {"monthly_price": "25.00", "why": "new price list"},
        check=lambda addon: str(AddOn.objects.get(pk=addon.pk).monthly_price) == "25.00",
    ),
    BillingProfile: Case(
        prepare=lambda: BillingProfileFactory(),
        data=lambda profile: {"auto_renew": "", "reason": "customer asked"},
        check=lambda profile: not BillingProfile.objects.get(pk=profile.pk).auto_renew,
    ),
    Card: Case(
        prepare=lambda: CardFactory(),
        data=lambda card: {"exp_month": 6, "exp_year": 2031, "reason": "new card, same number"},
        check=lambda card: Card.objects.get(pk=card.pk).exp_year == 2031,
    ),
}

ACTIONS = {
    (CancellationReason, "retire"): Case(
        prepare=lambda: CancellationReasonFactory(name="Seasonal", active=True),
        data=lambda reason: {"apply": "1", "why": "not asked any more"},
        check=lambda reason: not CancellationReason.objects.get(pk=reason.pk).active,
    ),
    (CancellationReason, "restore"): Case(
        prepare=lambda: CancellationReasonFactory(name="Seasonal", active=False),
        data=lambda reason: {"apply": "1", "why": "asked again"},
        check=lambda reason: CancellationReason.objects.get(pk=reason.pk).active,
    ),
    (BillingProfile, "record_payment"): Case(
        prepare=_suspended_with_card,
        data=lambda profile: {
            "apply": "1",
            # more than a month of any plan the walk may have repriced
            "amount": "100.00",
            "currency": "USD",
            "reference": "wire 1",
        },
        check=lambda profile: Account.objects.get(pk=profile.account_id).status == S.ACTIVE,
    ),
    (BillingProfile, "retry_card"): Case(
        prepare=_suspended_with_card,
        data=lambda profile: {"apply": "1"},
        check=lambda profile: Account.objects.get(pk=profile.account_id).status == S.ACTIVE,
    ),
    (AccountAddOn, "cancel_addons"): Case(
        prepare=lambda: AccountAddOnFactory(),
        data=lambda sub: {"apply": "1", "reason": "customer asked"},
        check=lambda sub: AccountAddOn.objects.get(pk=sub.pk).cancelled_at is not None,
    ),
    (RetentionAccount, "set_legal_hold"): Case(
        prepare=_cancelled_for_retention,
        data=lambda account: {"apply": "1", "reason": "case 42"},
        check=lambda account: Account.objects.get(pk=account.pk).legal_hold,
    ),
    (ErasureRequest, "sign_off"): Case(
        prepare=_erasure_recorded_by_another,
        data=lambda erasure: {"apply": "1", "confirm": "on"},
        check=lambda erasure: ErasureRequest.objects.get(pk=erasure.pk).status == "done",
    ),
    (ErasureRequest, "withdraw"): Case(
        prepare=_erasure_recorded_by_another,
        data=lambda erasure: {"apply": "1", "confirm": "on"},
        check=lambda erasure: ErasureRequest.objects.get(pk=erasure.pk).status == "withdrawn",
    ),
    (ApiKey, "revoke"): Case(
        prepare=_api_key,
        data=lambda key: {"apply": "1", "reason": "integration retired"},
        check=lambda key: ApiKey.objects.get(pk=key.pk).revoked_at is not None,
    ),
    (RetentionAccount, "request_legal_hold_release"): Case(
        prepare=lambda: _held("case 41"),
        data=lambda account: {"apply": "1", "reason": "case closed"},
        check=lambda account: (
            Account.objects.get(pk=account.pk).legal_hold
            and ApprovalRequest.objects.filter(account=account, kind="legal_hold_release").exists()
        ),
    ),
    (RetentionAccount, "request_purge"): Case(
        prepare=lambda: AccountFactory(
            status=S.CANCELLED, inactive_since=timezone.now() - timedelta(days=200)
        ),
        data=lambda account: {"apply": "1", "reason": "customer asked"},
        check=lambda account: ApprovalRequest.objects.filter(
            account=account, kind="purge"
        ).exists(),
    ),
    (ApprovalRequest, "approve_requests"): Case(
        prepare=lambda: _release_asked("case 43"),
        data=lambda request: {"apply": "1"},
        check=lambda request: not Account.objects.get(pk=request.account_id).legal_hold,
    ),
    (ApprovalRequest, "reject_requests"): Case(
        prepare=lambda: _release_asked("case 44"),
        data=lambda request: {"apply": "1", "note": "matter still open"},
        check=lambda request: (
            Account.objects.get(pk=request.account_id).legal_hold
            and ApprovalDecision.objects.filter(request=request, outcome="rejected").exists()
        ),
    ),
}


def _asked(account: Account, kind: str) -> bool:
    return ApprovalRequest.objects.filter(account=account, kind=kind).exists()


def _held(case: str) -> Account:
    return AccountFactory(
        status=S.CANCELLED,
        inactive_since=timezone.now() - timedelta(days=3),
        legal_hold=True,
        legal_hold_reason=case,
    )


def _release_asked(case: str) -> ApprovalRequest:
    """A release asked for by a compliance officer: the walking superuser is the second."""
    from django.contrib.auth.models import Group, User

    officer, _ = User.objects.get_or_create(username="officer.asks", defaults={"is_staff": True})
    officer.groups.add(Group.objects.get(name="Compliance"))
    return legal_hold_release_request(
        account=_held(case), reason="settled", by=Actor.staff(officer), now=timezone.now()
    )


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_admin_is_guarded_read_only_or_outside_the_product(django_user_model):
    user = django_user_model.objects.create_superuser("root.registry", password="x")
    request = _request(user)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUTSIDE or model in GUARDED:
            continue
        # Everything else the product shows is a record: nobody writes it here (R12).
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model


def test_every_add_change_and_action_on_a_guarded_model_leaves_its_record_R12(
    client, django_user_model
):
    client, user = superuser_client(client, django_user_model)
    request = _request(user)
    walked = 0
    for model, model_admin in admin.site._registry.items():
        if model not in GUARDED:
            continue
        if model_admin.has_add_permission(request):
            assert model in ADD, f"{model.__name__}: its add page needs a case in ADD"
            case = ADD[model]
            made = case.prepare()
            page = client.get(_url(model, "add"))
            before = audit_rows()
            response = client.post(_url(model, "add"), {**form_data(page), **case.data(made)})
            assert response.status_code == 302, (
                model,
                response.context and response.context.get("errors"),
            )
            assert case.check(made), model
            assert audit_rows() > before, f"{model.__name__}: added without a record"
            walked += 1
        if model_admin.has_change_permission(request) and model in CHANGE:
            case = CHANGE[model]
            obj = case.prepare()
            page = client.get(_url(model, "change", obj.pk))
            before = audit_rows()
            response = client.post(
                _url(model, "change", obj.pk), {**form_data(page), **case.data(obj)}
            )
            assert response.status_code == 302, (
                model,
                response.context and response.context.get("errors"),
            )
            assert case.check(obj), model
            assert audit_rows() > before, f"{model.__name__}: changed without a record"
            walked += 1
        elif model_admin.has_change_permission(request):
            # An editable page with no case: its writes would go unchecked.
            fields = model_admin.get_form(request, model_admin.model()).base_fields
            assert not fields, f"{model.__name__}: its change page needs a case in CHANGE"
        for name in model_admin.get_actions(request):
            assert (model, name) in ACTIONS, f"{model.__name__}: action {name} needs a case"
            case = ACTIONS[(model, name)]
            obj = case.prepare()
            before = audit_rows()
            response = client.post(
                _url(model, "changelist"),
                {"action": name, ACTION_CHECKBOX_NAME: [obj.pk], **case.data(obj)},
            )
            assert response.status_code in (200, 302), (model, name)
            assert case.check(obj), (model, name)
            assert audit_rows() > before, f"{model.__name__}.{name}: wrote without a record"
            walked += 1
    assert walked == len(ADD) + len(CHANGE) + len(ACTIONS)


def test_nothing_guarded_is_deleted_by_anyone_superusers_included_R12(client, django_user_model):
    client, user = superuser_client(client, django_user_model)
    request = _request(user)
    objects = {
        Account: AccountFactory(),
        CancellationReason: CancellationReasonFactory(),
        Plan: PlanFactory(),
        AddOn: AddOnFactory(),
        BillingProfile: BillingProfileFactory(),
        Card: CardFactory(),
        AccountAddOn: AccountAddOnFactory(),
    }
    for model, obj in objects.items():
        model_admin = admin.site._registry[model]
        assert not model_admin.has_delete_permission(request, obj), model
        assert "delete_selected" not in model_admin.get_actions(request), model
        assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        # not through the ORM either, whatever calls it
        with pytest.raises(PermissionError, match="never deleted"):
            obj.delete()
        with pytest.raises(PermissionError, match="never deleted"):
            model.objects.filter(pk=obj.pk).delete()
        assert model.objects.filter(pk=obj.pk).exists(), model


def test_every_inline_is_read_only(django_user_model):
    user = django_user_model.objects.create_superuser("root.inlines", password="x")
    request = _request(user)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUTSIDE:
            continue
        for inline in model_admin.get_inline_instances(request):
            assert not inline.has_add_permission(request, None), inline
            assert not inline.has_change_permission(request, None), inline
            assert not inline.has_delete_permission(request, None), inline


# --- the side doors the review found ---------------------------------------------------------


def test_a_billing_profile_and_its_balance_cannot_move_to_another_account_R12(
    client, django_user_model
):
    client, _ = superuser_client(client, django_user_model)
    active = AccountFactory(status=S.ACTIVE)
    trial = AccountFactory(status=S.TRIAL)
    profile = BillingProfileFactory(account=active, mode="prepaid", prepaid_balance="450.00")
    page = client.get(_url(BillingProfile, "change", profile.pk))

    client.post(
        _url(BillingProfile, "change", profile.pk),
        {**form_data(page), "account": trial.pk, "reason": "moving it"},
    )

    profile.refresh_from_db()
    assert profile.account_id == active.pk
    assert str(profile.prepaid_balance) == "450.00"
    assert not BillingProfile.objects.filter(account=trial).exists()


@pytest.mark.parametrize(
    "month, year, refusal",
    [(99, 9999, "is not 1 to 12"), (12, 9999, "years ahead"), (1, 2020, "expired")],
)
def test_a_card_expiry_out_of_range_is_refused_on_the_form(
    client, django_user_model, month, year, refusal
):
    client, _ = superuser_client(client, django_user_model)
    card = CardFactory(exp_month=12, exp_year=2030)
    page = client.get(_url(Card, "change", card.pk))
    before = audit_rows()

    response = client.post(
        _url(Card, "change", card.pk),
        {**form_data(page), "exp_month": month, "exp_year": year, "reason": "typo"},
    )

    assert response.status_code == 200
    assert refusal in response.content.decode()
    card.refresh_from_db()
    assert (card.exp_month, card.exp_year) == (12, 2030)
    assert audit_rows() == before


def test_an_add_on_is_never_added_to_a_cancelled_account_R6(client, django_user_model):
    client, _ = superuser_client(client, django_user_model)
    account = AccountFactory(status=S.CANCELLED, inactive_since=timezone.now())
    BillingProfileFactory(account=account)
    addon = AddOnFactory()
    page = client.get(_url(AccountAddOn, "add"))

    response = client.post(
        _url(AccountAddOn, "add"), {**form_data(page), "account": account.pk, "addon": addon.pk}
    )

    assert response.status_code == 200
    assert "cancelled; reactivate it first" in response.content.decode()
    assert not AccountAddOn.objects.filter(account=account).exists()


def test_a_time_zone_change_reaches_the_timeline_and_moves_the_billing_cut_off_R3_R12(
    client, make_role_user
):
    client.force_login(make_role_user("Manager"))
    account = AccountFactory(time_zone="UTC")
    profile = BillingProfileFactory(account=account)
    due_before = profile.due_at
    page = client.get(_url(Account, "change", account.pk))

    response = client.post(
        _url(Account, "change", account.pk),
        {**form_data(page), "time_zone": "Asia/Tokyo", "reason": "moved office"},
    )

    assert response.status_code == 302
    events = {e.kind: e.reason for e in AccountEvent.objects.filter(account=account)}
    assert events["details_changed"] == "time zone: UTC → Asia/Tokyo (moved office)"
    assert "billing_rescheduled" in events
    profile.refresh_from_db()
    # The same local billing date, now beginning at midnight in Tokyo: 9 hours earlier.
    assert due_before - profile.due_at == timedelta(hours=9)


def test_an_admin_change_without_a_reason_is_refused_and_writes_nothing(client, django_user_model):
    client, _ = superuser_client(client, django_user_model)
    account = AccountFactory(company="Old Ltd")
    page = client.get(_url(Account, "change", account.pk))

    response = client.post(
        _url(Account, "change", account.pk), {**form_data(page), "company": "New Ltd"}
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.company == "Old Ltd"
    assert not AccountEvent.objects.filter(account=account).exists()


def _append_only_models():
    return sorted(
        (m for m in apps.get_models() if issubclass(m, AppendOnlyModel)),
        key=lambda m: m._meta.label,
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["UPDATE {table} SET id = id", "DELETE FROM {table}", "TRUNCATE {table} CASCADE"]
)
def test_every_append_only_table_refuses_raw_sql_edits_and_deletes_R12(django_user_model, sql):
    """Account events, charge attempts and the change log too, like the ledger and the
    suppression store: the database itself refuses, whatever the application does."""
    world = build_world(django_user_model)
    models = _append_only_models()
    assert {m._meta.label_lower for m in models} >= {
        "accounts.accountevent",
        "billing.cardchargeattempt",
        "billing.ledgerentry",
        "core.changerecord",
        "compliance.suppression",
    }
    for model in models:
        assert model.objects.exists(), f"the world has no {model._meta.label}"
        with pytest.raises(DatabaseError, match=r"cannot be (edited or )?deleted \((R9, )?R12\)"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(sql.format(table=model._meta.db_table))
    assert world.objects["accounts.accountevent"].pk


@pytest.mark.postgres
@pytest.mark.parametrize("app, target", [("compliance", "0002"), ("billing", "0001")])
def test_migrating_back_past_the_append_only_triggers_is_refused_before_anything_R12(app, target):
    """`migrate compliance 0002` used to drop the triggers and leave no trace."""
    from django.core.management import CommandError, call_command
    from django.db.migrations.recorder import MigrationRecorder

    applied_before = set(MigrationRecorder(connection).applied_migrations())

    with pytest.raises(CommandError, match="cannot run backwards"):
        call_command("migrate", app, target, verbosity=0)

    assert set(MigrationRecorder(connection).applied_migrations()) == applied_before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass",
            ["compliance_suppression" if app == "compliance" else "billing_ledgerentry"],
        )
        assert cursor.fetchone()[0] >= 2
