"""One click records one entry however often it arrives (SPEC "Unsubscribe links keep
working", R9): many links, each clicked by several clients at the same moment, over real
concurrent database connections (one per client thread), through the public view."""

from __future__ import annotations

import threading
import urllib.parse

import pytest
from django.db import connection, connections
from django.test import Client

from accounts.links import unsubscribe_url
from compliance.models import Suppression
from tests.factories import AccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LINKS = 60
CLIENTS = 8


@pytest.fixture(autouse=True)
def _remove_suppressions_after():
    """The clicks commit suppressions, which the database refuses to delete (R9, R12); the
    test database is emptied with the append-only triggers off for this session only."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("DELETE FROM compliance_suppression")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def test_links_clicked_by_several_clients_at_once_record_one_row_each_R9():
    account = AccountFactory()
    paths = [
        urllib.parse.urlparse(
            unsubscribe_url(account_id=account.pk, address=f"reader{n}@example.org")
        ).path
        for n in range(LINKS)
    ]
    together = threading.Barrier(CLIENTS, timeout=30)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def reader(number: int) -> None:
        client = Client(REMOTE_ADDR=f"198.51.100.{number + 1}")
        try:
            for path in paths:
                together.wait()  # every client clicks this link at the same moment
                statuses.append(client.get(path).status_code)
        except BaseException as exc:  # noqa: BLE001 — reported by the test below
            failures.append(exc)
            together.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert not failures
    assert statuses == [200] * (LINKS * CLIENTS)
    rows = Suppression.objects.filter(account=account)
    assert rows.count() == LINKS
    assert rows.values("normalised").distinct().count() == LINKS
