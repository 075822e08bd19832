"""Erasure requests (GDPR Art. 17) that keep the promise not to mail (item 4): a Compliance
officer records the request, a second one signs it off; then the person's data goes from
every place it lives, each suppression keeps only the SHA-256 and MD5 of the address, the
address stays suppressed (R9), the check API answers it by hash and hashed exports contain
it. The database lets this redaction, and nothing else, change a suppression (R12)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from accounts.models import AccountEvent, Contact, SignupSubmission
from compliance.models import (
    ErasureRequest,
    OptIn,
    OptInConfirmation,
    Suppression,
    SuppressionExport,
    SuppressionImport,
)
from compliance.selectors import is_suppressed, suppressions_checked
from compliance.services import optin_record, suppression_export, suppression_record
from compliance.services.erasure import (
    ErasureRefused,
    erasure_request_record,
    erasure_request_sign_off,
    erasure_request_withdraw,
)
from core.actors import Actor
from core.erasure import erasure_mark
from tests.accounts.factories import CancellationRequestFactory
from tests.compliance.factories import ContactFactory
from tests.factories import AccountFactory
from workflows.erasure import erasure_sign_off

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ADDRESS = "Jo.Person+news@Example.ORG"
KEY = "jo.person+news@example.org"
SHA256 = hashlib.sha256(KEY.encode()).hexdigest()
MD5 = hashlib.md5(KEY.encode()).hexdigest()
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SYSTEM = Actor.system("test")


@pytest.fixture
def officers(make_role_user):
    return (
        Actor.staff(make_role_user("Compliance", username="officer.one")),
        Actor.staff(make_role_user("Compliance", username="officer.two")),
    )


def _record(officers, account=None, address=ADDRESS):
    return erasure_request_record(
        address=address,
        account=account,
        reference="ticket 4711",
        by=officers[0],
        now=timezone.now(),
    )


def _plant_everywhere(account, *, by_user):
    """The person's address in every place of the account where it can live."""
    ContactFactory(account=account, email=ADDRESS, name="Jo Person")
    form = account.signup_forms.create(name="Newsletter", public_key=f"form-{account.pk}")
    SignupSubmission.objects.create(
        form=form, account=account, email=ADDRESS.lower(), at=WHEN, source_ip="198.51.100.7"
    )
    suppression_record(
        account=account,
        address=ADDRESS,
        source="unsubscribe_link",
        at=WHEN,
        by=SYSTEM,
        evidence=f"link used by {ADDRESS} from 198.51.100.7",
    )
    optin = optin_record(
        account=account,
        address=ADDRESS,
        at=WHEN + timedelta(days=1),
        method="written_consent",
        origin=f"letter from {ADDRESS}",
        evidence="scan 12",
        by=SYSTEM,
        now=timezone.now(),
    )
    suppression_record(
        account=account,
        address=KEY,
        source="complaint",
        at=WHEN + timedelta(days=2),
        by=SYSTEM,
        evidence=json.dumps({"recipient": KEY, "feedback": "abuse"}),
    )
    OptInConfirmation.objects.create(
        account=account,
        address=ADDRESS,
        normalised=KEY,
        form_name="Newsletter",
        form_key=form.public_key,
        posted_at=WHEN,
        posted_ip="198.51.100.7",
        by_job="t",
    )
    AccountEvent.objects.create(
        account=account,
        at=WHEN,
        kind="note",
        by_job="t",
        reason=f"Customer asked us to stop mailing {ADDRESS.upper()}.",
    )
    CancellationRequestFactory(account=account, callers_words=f"also remove {KEY} please")
    SuppressionImport.objects.create(
        account=account,
        file_name="list.csv",
        created_at=WHEN,
        by_job="t",
        problems=[[3, f"not an address: {KEY};x@"]],
        notices=[[4, f"{ADDRESS} dated today"]],
    )
    SuppressionExport.objects.create(
        account=account, at=WHEN, purpose=f"hand-over incl. {KEY}", format="csv", rows=1, by_job="t"
    )
    LogEntry.objects.log_actions(
        user_id=by_user.pk, queryset=[optin], action_flag=ADDITION, change_message=""
    )


def _clear_address_anywhere() -> list[str]:
    """Every text or JSON column of every table that still holds the address in clear."""
    found = []
    forms = {ADDRESS.lower(), KEY}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField | models.JSONField):
                continue
            column = (
                f"{field.column}::text" if isinstance(field, models.JSONField) else field.column
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT count(*) FROM {model._meta.db_table} "
                    f"WHERE lower({column}) LIKE ANY(%s)",
                    [[f"%{form}%" for form in forms]],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def test_the_clear_address_appears_nowhere_after_an_erasure_of_every_account(officers):
    # given: the person's data on two accounts, everywhere it can live
    first, second = AccountFactory(), AccountFactory()
    for account in (first, second):
        _plant_everywhere(account, by_user=officers[0].user)
    assert len(_clear_address_anywhere()) >= 10  # the scan sees what was planted
    request = _record(officers)

    # when
    erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())

    # then
    assert _clear_address_anywhere() == []
    assert not Contact.objects.filter(account__in=[first, second]).exists()
    assert not SignupSubmission.objects.filter(account__in=[first, second]).exists()
    assert not OptInConfirmation.objects.filter(account__in=[first, second]).exists()
    request.refresh_from_db()
    assert request.status == "done" and request.address == "" and request.normalised == ""
    assert request.sha256 == SHA256 and request.md5 == MD5
    assert request.counts["accounts"] == 2 and request.counts["contacts"] == 2


def test_an_erased_address_stays_suppressed_and_keeps_only_its_hashes_R9(officers):
    account = AccountFactory()
    _plant_everywhere(account, by_user=officers[0].user)
    request = _record(officers)

    erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())

    now = timezone.now()
    assert is_suppressed(account, ADDRESS, at=now)
    rows = Suppression.objects.filter(account=account)
    assert {(s.normalised, s.address, s.evidence) for s in rows} == {
        (f"sha256:{SHA256}", f"md5:{MD5}", "[erased]")
    }
    assert set(rows.values_list("reason", flat=True)) == {"u", "c"}  # the reasons stay
    optin = OptIn.objects.get(account=account)
    assert (optin.normalised, optin.address, optin.origin) == (
        f"sha256:{SHA256}",
        f"md5:{MD5}",
        "[erased]",
    )
    checked = suppressions_checked(account_id=account.pk, keys=[KEY], at=now)
    assert checked[KEY].reason.token == "complaint"  # in force since the complaint


def test_the_check_api_answers_an_erased_address_by_hash(officers, client, make_role_user):
    from api.services import api_key_create

    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="bounce", at=WHEN, by=SYSTEM)
    erasure_sign_off(request_id=_record(officers).pk, by=officers[1], now=timezone.now())
    _key, presented = api_key_create(
        integration="mta",
        description="",
        can_check=True,
        can_record=False,
        by=officers[0],
        now=timezone.now(),
    )

    response = client.post(
        "/api/v1/suppressions/check",
        {"account": account.pk, "addresses": [ADDRESS.upper()]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {presented}",
    )

    assert response.json()["suppressed"] == [
        {"address": ADDRESS.upper(), "since": WHEN.isoformat(), "reason": "hard_bounce"}
    ]


def test_hashed_exports_still_hand_over_an_erased_address_and_the_csv_counts_it(officers):
    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)
    suppression_record(
        account=account, address="kept@example.com", source="staff", at=WHEN, by=SYSTEM
    )
    erasure_sign_off(request_id=_record(officers).pk, by=officers[1], now=timezone.now())

    def export(fmt):
        return b"".join(
            suppression_export(
                account=account, purpose="hand-over", fmt=fmt, by=officers[0], now=timezone.now()
            )
        ).decode()

    assert MD5 in export("md5")
    assert SHA256 in export("sha256")
    assert hashlib.md5(b"kept@example.com").hexdigest() in export("md5")
    plain = export("csv")
    assert f"sha256:{SHA256}" in plain and KEY not in plain
    assert SuppressionExport.objects.filter(account=account, format="csv").get().hash_only == 1


def test_an_account_where_the_person_had_data_but_no_suppression_gets_one_R9(officers):
    """Else a re-imported contact list would mail the person again."""
    account = AccountFactory()
    ContactFactory(account=account, email=ADDRESS)

    erasure_sign_off(request_id=_record(officers).pk, by=officers[1], now=timezone.now())

    suppression = Suppression.objects.get(account=account)
    assert (suppression.reason, suppression.normalised) == ("e", f"sha256:{SHA256}")
    assert is_suppressed(account, ADDRESS, at=timezone.now())


def test_an_erasure_of_one_account_leaves_the_others_alone(officers):
    erased, other = AccountFactory(), AccountFactory()
    for account in (erased, other):
        ContactFactory(account=account, email=ADDRESS)
        suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)

    erasure_sign_off(
        request_id=_record(officers, account=erased).pk, by=officers[1], now=timezone.now()
    )

    assert Suppression.objects.get(account=other).normalised == KEY
    assert Contact.objects.filter(account=other).exists()
    assert not Contact.objects.filter(account=erased).exists()


def test_the_timeline_says_what_went_never_whose(officers):
    account = AccountFactory()
    _plant_everywhere(account, by_user=officers[0].user)
    request = _record(officers)

    erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())

    entry = AccountEvent.objects.get(account=account, kind="personal_data_erased")
    assert entry.reason.startswith(f"Erasure request {request.pk} carried out: ")
    assert "1 contacts deleted" in entry.reason and KEY not in entry.reason.lower()
    assert entry.by_user == officers[1].user


def test_the_officer_who_recorded_a_request_cannot_sign_it_off(officers):
    account = AccountFactory()
    ContactFactory(account=account, email=ADDRESS)
    request = _record(officers)

    with pytest.raises(ErasureRefused, match="second Compliance officer"):
        erasure_sign_off(request_id=request.pk, by=officers[0], now=timezone.now())

    request.refresh_from_db()
    assert request.status == "requested"
    assert Contact.objects.filter(account=account).exists()


@pytest.mark.parametrize("role", ["Support", "Billing", "Manager"])
def test_only_compliance_officers_record_or_sign_off_erasures(officers, make_role_user, role):
    other = Actor.staff(make_role_user(role))
    request = _record(officers)

    with pytest.raises(ErasureRefused, match="Compliance only"):
        _record((other,))
    with pytest.raises(ErasureRefused, match="Compliance only"):
        erasure_sign_off(request_id=request.pk, by=other, now=timezone.now())


def test_a_request_is_carried_out_once(officers):
    request = _record(officers)
    erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())

    with pytest.raises(ErasureRefused, match="not waiting"):
        erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())


def test_a_withdrawn_request_erases_nothing_and_forgets_the_address(officers):
    account = AccountFactory()
    ContactFactory(account=account, email=ADDRESS)
    request = _record(officers)

    erasure_request_withdraw(request_id=request.pk, by=officers[0], now=timezone.now())

    request.refresh_from_db()
    assert (request.status, request.address, request.normalised) == ("withdrawn", "", "")
    assert Contact.objects.filter(account=account).exists()


@pytest.mark.parametrize(
    "address, reference, refusal",
    [
        ("not an address", "ticket 1", "not one"),
        (ADDRESS, "", "where the person's request is filed"),
        (ADDRESS, f"mail from {KEY}", "must not contain the address"),
    ],
)
def test_a_request_that_cannot_be_recorded_says_why(officers, address, reference, refusal):
    with pytest.raises(ErasureRefused, match=refusal):
        erasure_request_record(
            address=address, account=None, reference=reference, by=officers[0], now=timezone.now()
        )


def test_the_account_holders_own_address_is_not_erased_by_a_request(officers):
    AccountFactory(username="holder", primary_email=ADDRESS)

    with pytest.raises(ErasureRefused, match="account holder's own address of holder"):
        _record(officers)


def test_a_second_request_for_a_waiting_address_is_refused(officers):
    _record(officers)

    with pytest.raises(ErasureRefused, match="already waiting"):
        _record(officers, address=KEY)


def test_an_erased_address_that_opts_in_again_in_clear_is_no_longer_suppressed_R9(officers):
    """The opt-in rule is R9's one definition, also for an erased event."""
    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)
    erasure_sign_off(request_id=_record(officers).pk, by=officers[1], now=timezone.now())
    later = timezone.now() + timedelta(minutes=1)

    optin_record(
        account=account,
        address=ADDRESS,
        at=later,
        method="double_opt_in",
        origin="confirmation link",
        evidence="clicked",
        by=SYSTEM,
        now=later,
    )

    assert not is_suppressed(account, ADDRESS, at=later)
    assert is_suppressed(account, ADDRESS, at=later - timedelta(seconds=1))


# --- The database refuses every other change (R9, R12) ---------------------------------------


def _raw_update(sql, params=()):
    with pytest.raises(DatabaseError, match=r"refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_without_the_erasure_mark_a_suppression_cannot_be_redacted_R9_R12():
    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)

    _raw_update(
        "UPDATE compliance_suppression SET normalised = %s, address = %s WHERE account_id = %s",
        [f"sha256:{SHA256}", f"md5:{MD5}", account.pk],
    )


def test_the_mark_of_a_request_not_signed_off_redacts_nothing_R9_R12(officers):
    """The officer who recorded the request cannot carry it out through the database either."""
    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)
    request = _record(officers)

    with pytest.raises(DatabaseError, match="signed off by a second"):
        with transaction.atomic():
            ErasureRequest.objects.filter(pk=request.pk).update(status="erasing")
            erasure_mark(request_id=request.pk, key=KEY, forms=[KEY])
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE compliance_suppression SET normalised = %s, address = %s "
                    "WHERE account_id = %s",
                    [f"sha256:{SHA256}", f"md5:{MD5}", account.pk],
                )


@pytest.mark.parametrize(
    "change",
    [
        "at = at - interval '1 day'",  # not a redaction
        "reason = 'c'",  # staff entries are 'm'
        "normalised = 'sha256:' || repeat('0', 64)",  # not the hash of the address
        "evidence = 'changed'",
    ],
)
def test_a_signed_off_erasure_may_only_redact_the_address_it_names_R9_R12(officers, change):
    account = AccountFactory()
    suppression_record(
        account=account,
        address=ADDRESS,
        source="staff",
        at=WHEN,
        by=SYSTEM,
        evidence="typed by staff",
    )
    suppression_record(
        account=account, address="other@example.com", source="staff", at=WHEN, by=SYSTEM
    )

    with pytest.raises(DatabaseError, match="refused"):
        with transaction.atomic():
            request = erasure_request_sign_off(
                request_id=_record(officers).pk, by=officers[1], now=timezone.now()
            )
            erasure_mark(request_id=request.pk, key=KEY, forms=[KEY])
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE compliance_suppression SET {change} WHERE account_id = %s",
                    [account.pk],
                )


def test_a_mark_copied_from_another_transaction_is_refused_R12():
    account = AccountFactory()
    AccountEvent.objects.create(
        account=account, at=WHEN, kind="note", by_job="t", reason=f"about {KEY}"
    )
    mark = json.dumps({"xact": "1", "request": 1, "key": KEY, "forms": [KEY]})

    with pytest.raises(DatabaseError, match="refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('backoffice.erasure', %s, true)", [mark])
            cursor.execute(
                "UPDATE accounts_accountevent SET reason = '[erased]' WHERE account_id = %s",
                [account.pk],
            )


def test_deleting_a_suppression_stays_refused_during_an_erasure_R9(officers):
    account = AccountFactory()
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)

    with pytest.raises(DatabaseError, match="refused"):
        with transaction.atomic():
            request = erasure_request_sign_off(
                request_id=_record(officers).pk, by=officers[1], now=timezone.now()
            )
            erasure_mark(request_id=request.pk, key=KEY, forms=[KEY])
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM compliance_suppression WHERE account_id = %s", [account.pk]
                )
    assert Suppression.objects.filter(account=account).exists()


def test_an_erasure_that_fails_half_way_erases_nothing(officers, monkeypatch):
    account = AccountFactory()
    ContactFactory(account=account, email=ADDRESS)
    suppression_record(account=account, address=ADDRESS, source="staff", at=WHEN, by=SYSTEM)
    request = _record(officers)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("workflows.erasure.personal_data_erased_record", broken)
    with pytest.raises(RuntimeError):
        erasure_sign_off(request_id=request.pk, by=officers[1], now=timezone.now())

    assert Contact.objects.filter(account=account).exists()
    assert Suppression.objects.get(account=account).normalised == KEY
    request.refresh_from_db()
    assert request.status == "requested" and request.address == ADDRESS


def test_the_admin_records_then_a_second_officer_signs_off(client, officers):
    account = AccountFactory(username="erase-me")
    ContactFactory(account=account, email=ADDRESS)
    client.force_login(officers[0].user)

    client.post(
        "/admin/compliance/erasurerequest/add/",
        {
            "address": ADDRESS,
            "account_username": "erase-me",
            "reference": "ticket 9",
        },
    )
    request = ErasureRequest.objects.get()
    refused = client.post(
        "/admin/compliance/erasurerequest/",
        {
            "action": "sign_off",
            "_selected_action": [request.pk],
            "apply": "1",
            "confirm": "on",
        },
        follow=True,
    )

    assert "second Compliance officer" in refused.content.decode()
    assert ErasureRequest.objects.get().status == "requested"
    client.force_login(officers[1].user)
    client.post(
        "/admin/compliance/erasurerequest/",
        {
            "action": "sign_off",
            "_selected_action": [request.pk],
            "apply": "1",
            "confirm": "on",
        },
    )
    assert ErasureRequest.objects.get().status == "done"
    assert not Contact.objects.filter(account=account).exists()
    assert ContentType.objects.get_for_model(ErasureRequest)  # listed in the admin's history
