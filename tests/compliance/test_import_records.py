"""An import and its record commit together: a worker that dies at any point leaves either the
suppressions with the counts that say so, or neither, and the import can be taken up again."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from compliance.models import Suppression, SuppressionImport
from compliance.services import (
    suppression_import_apply,
    suppression_import_preview,
    suppression_import_start,
)
from compliance.services.import_runs import _ATTEMPT_LOCK_BASE
from core.actors import Actor
from tests import processes
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROWS = b"email\nann@example.com\nbob@example.com\ncid@example.com\n"


class Killed(BaseException):
    """Stands for the worker dying at this point (not an error any code would catch)."""


def previewed(superuser, now) -> SuppressionImport:
    record = suppression_import_start(
        account=AccountFactory(),
        chunks=[ROWS],
        file_name="list.csv",
        by=Actor.staff(superuser),
        now=now,
    )
    return suppression_import_preview(record_id=record.pk, now=now)


def dies_after_the_suppressions_are_written():
    """A statement wrapper: the first statement after the suppressions' INSERT kills."""
    state = {"written": False, "killed": False}

    def wrapper(execute, sql, params, many, context):
        if state["written"] and not state["killed"]:
            state["killed"] = True
            raise Killed
        result = execute(sql, params, many, context)
        if sql.lstrip().startswith("INSERT INTO compliance_suppression"):
            state["written"] = True
        return result

    return wrapper


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="x")


def test_an_import_killed_after_writing_leaves_no_suppression_without_its_counts(superuser, now):
    # given a previewed import of three addresses
    record = previewed(superuser, now)
    assert record.status == "previewed"

    # when the worker dies right after the suppressions were written
    with connection.execute_wrapper(dies_after_the_suppressions_are_written()):
        with pytest.raises(Killed):
            suppression_import_apply(record_id=record.pk, now=now)

    # then the suppressions went with the record of them: nothing is half-imported
    record.refresh_from_db()
    assert record.status == "importing"
    assert Suppression.objects.filter(imported_in=record).count() == record.counts.get("written", 0)
    assert not Suppression.objects.filter(imported_in=record).exists()


def test_an_import_left_importing_by_a_dead_worker_is_taken_up_again(superuser, now):
    # given an import whose worker died half-way (its lock went with its connection)
    record = previewed(superuser, now)
    with connection.execute_wrapper(dies_after_the_suppressions_are_written()):
        with pytest.raises(Killed):
            suppression_import_apply(record_id=record.pk, now=now)

    # when the task is delivered again
    again = suppression_import_apply(record_id=record.pk, now=now)

    # then it imports, once, with counts equal to the rows written
    assert again.status == "done"
    assert again.counts["added"] == again.counts["written"] == 3
    assert Suppression.objects.filter(imported_in=record).count() == 3
    assert suppression_import_apply(record_id=record.pk, now=now).status == "done"
    assert Suppression.objects.filter(imported_in=record).count() == 3


def test_an_import_a_live_worker_is_running_is_left_to_it(superuser, now):
    # given an import in the hands of a live attempt (it holds the record's session lock)
    record = previewed(superuser, now)
    SuppressionImport.objects.filter(pk=record.pk).update(status="importing")
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_ATTEMPT_LOCK_BASE + record.pk])

        # when a second delivery of the task comes
        second = suppression_import_apply(record_id=record.pk, now=now)

    # then it leaves the import alone
    assert second.status == "importing"
    assert not Suppression.objects.filter(imported_in=record).exists()
