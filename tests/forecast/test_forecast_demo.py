"""The demo data shows a forecast for accounts in every state (issue 14): each open or closed
state has an account whose forecast says what comes next; a purged one has nothing left."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account, AccountStatus
from jobs.forecast import account_forecast

pytestmark = pytest.mark.django_db


def test_demo_accounts_in_every_state_have_a_forecast(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", accounts=160, stdout=open(tmp_path / "seed.log", "w"))  # noqa: SIM115
    now = timezone.now()
    said = {}
    for status in AccountStatus.values:
        account = Account.objects.filter(status=status).order_by("pk").first()
        assert account is not None, f"the demo has no {status} account"
        forecast = account_forecast(account=account, as_of=now, days=130)
        said[status] = [e.kind for e in forecast.entries] + forecast.notes
    assert said.pop(AccountStatus.PURGED) == []
    empty = [status for status, things in said.items() if not things]
    assert not empty, f"demo accounts with an empty forecast: {empty}"
    # A paused account with an end date resumes by itself (R8).
    paused = Account.objects.filter(status=AccountStatus.PAUSED, paused_until__isnull=False)
    forecast = account_forecast(account=paused.first(), as_of=now, days=30)
    assert "resume" in [e.kind for e in forecast.entries]
