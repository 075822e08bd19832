"""The suppression store: kept forever, lifted only by an opt-in with evidence (R9, R12)."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import AccountStatus, Contact
from compliance.addresses import InvalidAddress, address_key, normalise_address
from compliance.models import OptIn, OptInConfirmation, OptInMethod, Suppression
from compliance.selectors import is_suppressed
from compliance.services import (
    OptInRefused,
    optin_confirmation_request,
    optin_record,
    suppression_record,
)
from core.actors import Actor
from tests.accounts.factories import SignupFormFactory
from tests.compliance.factories import ContactFactory
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel
from workflows.signup import Signup, signup_receive

pytestmark = pytest.mark.django_db

LINK = Actor.system("unsubscribe_link")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("  Anna.Weber+News@Example.COM ", "anna.weber+news@example.com"),
        ("jörg@Bücher.example", "jörg@xn--bcher-kva.example"),
        ("first.last@sub.example.co.uk", "first.last@sub.example.co.uk"),
    ],
)
def test_normalised_key_is_trimmed_lowercased_idna_keeping_dots_and_tags(raw, key):
    assert normalise_address(raw) == key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("not-an-address", "no @"),
        ("a@example.comb@example.org", "two addresses glued"),
        ("a@example.com;b@example.org", "two addresses glued"),
        ("someone@localhost", "invalid domain"),
        ("some one@example.com", "bad part"),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(raw, reason):
    with pytest.raises(InvalidAddress, match=reason):
        normalise_address(raw)


def test_unsubscribe_is_recorded_once_with_address_as_received_R9(now):
    account = AccountFactory()

    first = suppression_record(
        account=account, address=" Ben@Example.com", source="unsubscribe_link", at=now, by=LINK
    )
    again = suppression_record(
        account=account,
        address="ben@example.com",
        source="unsubscribe_link",
        at=now + timedelta(hours=1),
        by=LINK,
    )

    assert again.pk == first.pk
    assert (first.address, first.normalised) == ("Ben@Example.com", "ben@example.com")
    assert Suppression.objects.filter(account=account).count() == 1


def test_unsubscribe_after_the_account_was_purged_is_recorded_R9(now):
    account = AccountFactory(status=AccountStatus.PURGED)

    suppression_record(
        account=account, address="late@example.com", source="unsubscribe_link", at=now, by=LINK
    )

    assert is_suppressed(account, "LATE@example.com", at=now)


def test_suppression_survives_contact_delete_and_account_cancel_R9(agent, now):

    account = AccountFactory(status=AccountStatus.ACTIVE)
    contact = ContactFactory(account=account, email="gone@example.com")
    suppression_record(account=account, address=contact.email, source="complaint", at=now, by=LINK)

    contact.delete()
    account_cancel(account=account, by=agent, now=now, reason="Too expensive", voluntary=True)

    assert is_suppressed(account, "gone@example.com", at=now + timedelta(days=1))


def test_suppression_refuses_orm_delete_and_update_R12(now):
    account = AccountFactory()
    s = suppression_record(
        account=account, address="keep@example.com", source="staff", at=now, by=LINK
    )

    with pytest.raises(PermissionError):
        s.delete()
    with pytest.raises(PermissionError):
        Suppression.objects.filter(pk=s.pk).delete()
    with pytest.raises(PermissionError):
        Suppression.objects.filter(pk=s.pk).update(normalised="other@example.com")
    s.source = "bounce"
    with pytest.raises(PermissionError):
        s.save()
    assert Suppression.objects.get(pk=s.pk).source == "staff"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM compliance_suppression",
        "UPDATE compliance_suppression SET normalised = 'x@example.com'",
        "TRUNCATE compliance_suppression CASCADE",
        "DELETE FROM compliance_optin",
    ],
)
def test_raw_sql_delete_update_truncate_are_refused_by_the_database_R9_R12(sql, now):
    account = AccountFactory()
    suppression_record(account=account, address="keep@example.com", source="staff", at=now, by=LINK)
    optin_record(
        account=account,
        address="keep@example.com",
        at=now,
        method=OptInMethod.WRITTEN_CONSENT,
        origin="letter",
        evidence="scan #1",
        by=LINK,
        now=now,
    )

    with pytest.raises(DatabaseError, match="refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            # Run the deferred FK checks now, so TRUNCATE meets our trigger, not them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql)

    assert Suppression.objects.filter(account=account).count() == 1


def test_optin_with_evidence_lifts_and_history_answers_for_any_moment_R9(
    agent, now, optin_signed_off
):
    account = AccountFactory()
    suppression_record(
        account=account, address="carla@example.com", source="unsubscribe_link", at=now, by=LINK
    )
    later = now + timedelta(days=10)

    optin_record(
        account=account,
        address="Carla@Example.com",
        at=later,
        method=OptInMethod.DOUBLE_OPT_IN,
        origin="confirmation link sent to carla@example.com, clicked from 192.0.2.4",
        evidence="confirmation token 7f3a… confirmed",
        **optin_signed_off,
        now=later,
    )

    assert is_suppressed(account, "carla@example.com", at=now + timedelta(days=1))
    assert not is_suppressed(account, "carla@example.com", at=later)
    assert not is_suppressed(account, "carla@example.com", at=now - timedelta(days=1))
    assert Suppression.objects.filter(account=account).count() == 1  # lifted, not deleted


def test_staff_alone_cannot_lift_without_evidence_R9(agent, now, optin_signed_off):
    account = AccountFactory()
    suppression_record(account=account, address="x@example.com", source="staff", at=now, by=LINK)

    with pytest.raises(OptInRefused, match="evidence"):
        optin_record(
            account=account,
            address="x@example.com",
            at=now,
            method=OptInMethod.WRITTEN_CONSENT,
            origin="",
            evidence=" ",
            **optin_signed_off,
            now=now,
        )

    assert is_suppressed(account, "x@example.com", at=now)
    assert not OptIn.objects.exists()


def test_new_unsubscribe_after_optin_suppresses_again_R9(agent, now, optin_signed_off):
    account = AccountFactory()
    for days, kind in ((0, "s"), (5, "o"), (9, "s")):
        at = now + timedelta(days=days)
        if kind == "s":
            suppression_record(
                account=account, address="d@example.com", source="unsubscribe_link", at=at, by=LINK
            )
        else:
            optin_record(
                account=account,
                address="d@example.com",
                at=at,
                method=OptInMethod.SIGNUP_FORM,
                origin="form",
                evidence="submitted",
                **optin_signed_off,
                now=at,
            )

    assert [
        is_suppressed(account, "d@example.com", at=now + timedelta(days=d)) for d in (1, 6, 10)
    ] == [
        True,
        False,
        True,
    ]


def test_a_signup_lifts_nothing_open_account_or_closed_R9_R6(now):
    """A form post is no evidence (SPEC "Explicit opt-in"): on an open account it records a
    contact awaiting confirmation and a confirmation to mail; on a closed one nothing (R6)."""
    open_form = SignupFormFactory(account=AccountFactory(status=AccountStatus.ACTIVE))
    closed_form = SignupFormFactory(account=AccountFactory(status=AccountStatus.CANCELLED))
    for form in (open_form, closed_form):
        suppression_record(
            account=form.account,
            address="e@example.com",
            source="unsubscribe_link",
            at=now,
            by=LINK,
        )
    later = now + timedelta(days=2)

    outcomes = [
        signup_receive(form=form, email="e@example.com", name="", at=later, source_ip="192.0.2.1")
        for form in (open_form, closed_form)
    ]

    assert outcomes == [Signup.AWAITING_CONFIRMATION, Signup.DISCARDED]
    assert not OptIn.objects.exists()
    assert is_suppressed(open_form.account, "e@example.com", at=later)
    assert is_suppressed(closed_form.account, "e@example.com", at=later)
    confirmation = OptInConfirmation.objects.get()
    assert (confirmation.account, confirmation.posted_ip) == (open_form.account, "192.0.2.1")
    assert Contact.objects.get().awaiting_confirmation


def test_a_confirmation_is_asked_only_of_a_suppressed_address(now):
    account = AccountFactory(status=AccountStatus.ACTIVE)

    asked = optin_confirmation_request(
        account=account,
        address="never@example.com",
        form_name="Newsletter",
        form_key="abc",
        source_ip=None,
        now=now,
    )

    assert asked is None and not OptInConfirmation.objects.exists()


def test_an_unsubscribe_stamped_earlier_but_recorded_second_is_the_same_unsubscribe_R9(now):
    """Two clicks of one link: the one that read the clock first got the lock second. Under
    the lock it still finds the other's row, although that row is dated a moment later."""
    account = AccountFactory()

    first = suppression_record(
        account=account,
        address="ann@example.com",
        source="unsubscribe_link",
        at=now + timedelta(milliseconds=3),
        by=LINK,
    )
    second = suppression_record(
        account=account, address="ann@example.com", source="unsubscribe_link", at=now, by=LINK
    )

    assert second.pk == first.pk
    assert Suppression.objects.filter(account=account).count() == 1


def test_an_unsubscribe_before_an_opt_in_that_preceded_a_later_one_is_history_R9(
    agent, now, optin_signed_off
):
    """Recorded late (an import, a provider's webhook): when an opt-in came between it and the
    later unsubscribe, it is an event of its own."""
    account = AccountFactory()
    suppression_record(
        account=account,
        address="d@example.com",
        source="unsubscribe_link",
        at=now + timedelta(days=9),
        by=LINK,
    )
    optin_record(
        account=account,
        address="d@example.com",
        at=now + timedelta(days=5),
        method=OptInMethod.WRITTEN_CONSENT,
        origin="letter",
        evidence="scan 12",
        **optin_signed_off,
        now=now + timedelta(days=9),
    )

    suppression_record(
        account=account, address="d@example.com", source="complaint", at=now, by=LINK
    )

    assert Suppression.objects.filter(account=account).count() == 2
    assert is_suppressed(account, "d@example.com", at=now + timedelta(days=1))
    assert not is_suppressed(account, "d@example.com", at=now + timedelta(days=6))


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("A@[127.0.0.1]", "a@[127.0.0.1]"),
        (" " + "X" * 65 + "@Example.ORG", "x" * 65 + "@example.org"),
        ("Anna@Example.COM", "anna@example.com"),  # what the normaliser takes, it keys
    ],
)
def test_an_address_we_mailed_is_keyed_even_where_the_normaliser_refuses_it(raw, key):
    assert address_key(raw) == key


@pytest.mark.parametrize("raw", ["A@[127.0.0.1]", "x" * 65 + "@example.org"])
def test_the_normaliser_still_refuses_what_only_a_signed_link_may_bring(raw):
    with pytest.raises(InvalidAddress):
        normalise_address(raw)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_unsubscribes_arriving_together_are_one_history_event_R9(now):
    """The second writer waits for the first to commit, then finds the address suppressed."""
    import threading

    from django.db import connections

    account = AccountFactory()
    first_written, release = threading.Event(), threading.Event()
    results = {}

    def first():
        try:
            with transaction.atomic():
                suppression_record(
                    account=account,
                    address="ann@example.com",
                    source="unsubscribe_link",
                    at=now,
                    by=LINK,
                )
                first_written.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second():
        try:
            first_written.wait(10)
            results["second"] = suppression_record(
                account=account,
                address="ANN@example.com",
                source="complaint",
                at=now + timedelta(seconds=1),
                by=LINK,
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_written.wait(10)
    threads[1].join(1)  # the second writer is still waiting for the first one's lock
    still_waiting = threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(10)

    assert still_waiting
    assert Suppression.objects.filter(account=account).count() == 1
    assert results["second"].source == "unsubscribe_link"
