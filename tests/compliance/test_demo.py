"""The demo shows double opt-in on a demo account: one confirmed by its click, one waiting."""

import random

import pytest
from django.core import mail
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.models import Contact
from compliance import demo
from compliance.models import OptInConfirmation, OptInMethod
from compliance.selectors import is_suppressed

pytestmark = pytest.mark.django_db


def test_demo_has_a_confirmed_and_a_waiting_double_opt_in(django_capture_on_commit_callbacks):
    now = timezone.now()
    rng = random.Random(2026)
    accounts_demo.seed(rng=rng, now=now, count=60)

    with django_capture_on_commit_callbacks(execute=True):
        summary = demo.seed(rng=rng, now=now, count=60)

    assert "double opt-ins" in summary
    confirmed = OptInConfirmation.objects.get(confirmed_at__isnull=False)
    waiting = OptInConfirmation.objects.get(confirmed_at__isnull=True)
    assert confirmed.account == waiting.account
    assert confirmed.optin.method == OptInMethod.DOUBLE_OPT_IN
    assert confirmed.mail_sent_at < confirmed.confirmed_at
    assert confirmed.posted_ip in confirmed.optin.evidence
    assert not is_suppressed(confirmed.account, confirmed.address, at=now)
    assert is_suppressed(waiting.account, waiting.address, at=now)
    assert waiting.mail_sent_at is not None  # mailed once the demo committed
    assert [m.to for m in mail.outbox] == [[confirmed.address], [waiting.address]]
    contacts = Contact.objects.filter(account=waiting.account)
    assert contacts.get(email=waiting.address).awaiting_confirmation
    assert not contacts.get(email=confirmed.address).awaiting_confirmation
