"""The forecast marks an account's last event, ledger entry and card charge attempt before its
dry run, so that it can tell what the run added. Each mark is one probe of an (account, id)
index: with an index of the account alone, PostgreSQL walked the whole table's newest rows
backwards looking for one of a big account's (57 ms per page view at 2.2M events). The three
probes are one query (the account page reads one instead of three)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AccountFactory
from workflows.forecast import records_mark

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]

# A table of a few rows is best read whole: the plan that shows which index answers is the
# one without whole-table reads and sorts.
WHOLE_TABLE_READS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")


def test_each_mark_of_the_forecast_is_one_probe_of_an_account_and_id_index():
    account = AccountFactory()
    with CaptureQueriesContext(connection) as captured:
        records_mark(account)
    marks = [q["sql"] for q in captured.captured_queries]
    assert len(marks) == 1

    plans = []
    with connection.cursor() as cursor:
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = off")
        for sql in marks:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = on")

    indexes = ["event_account_id_idx", "billing_ledger_account_id_idx"]
    indexes.append("billing_attempt_account_id_idx")
    (plan,) = plans
    for index in indexes:
        assert f"Index Only Scan Backward using {index}" in plan, plan
    assert "Filter" not in plan, plan
