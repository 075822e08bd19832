"""Unsubscribe-list imports are owned and expire (issue 12, item 6): only the staff member who
uploaded a list confirms its preview; a preview left unconfirmed expires, its file removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from compliance.layouts import FileRefused
from compliance.models import Suppression, SuppressionImport
from compliance.services import suppression_import_confirm
from core.actors import Actor
from tests.factories import AccountFactory
from tests.jobrun import job

pytestmark = pytest.mark.django_db

LIST = b"email\nfirst@example.com\nsecond@example.com\n"


def _upload(client, user, *, account: str = "harbor", name: str = "list.csv"):
    client.force_login(user)
    response = client.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": account, "import_file": SimpleUploadedFile(name, LIST)},
    )
    assert response.status_code == 302
    return SuppressionImport.objects.get(file_name=name)


def _confirm(client, user, record):
    client.force_login(user)
    return client.post(
        reverse("admin:compliance_suppressionimport_process_import"), {"record": record.pk}
    )


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


@pytest.mark.parametrize(
    ("uploader_role", "other_role"), [("Compliance", "Manager"), ("Manager", "Compliance")]
)
def test_only_the_uploader_confirms_an_unsubscribe_list_import(
    client, make_role_user, uploader_role, other_role
):
    """The review's finding: a Manager confirmed a Compliance officer's suppression-import
    preview. Now the other staff member is refused, clearly, and nothing is written; the
    uploader confirms."""
    account = AccountFactory(username="harbor")
    uploader = make_role_user(uploader_role, "up.loader")
    other = make_role_user(other_role, "some.one")
    record = _upload(client, uploader)
    assert record.status == SuppressionImport.Status.PREVIEWED

    page = client.get(reverse("admin:compliance_suppressionimport_progress", args=[record.pk]))
    assert b"Confirm import" in page.content

    client.force_login(other)
    seen = client.get(reverse("admin:compliance_suppressionimport_progress", args=[record.pk]))
    refused = _confirm(client, other, record)

    assert b"Confirm import" not in seen.content
    assert b"only up.loader, who uploaded list.csv, can confirm its import" in seen.content
    assert "only up.loader, who uploaded list.csv, can confirm its import" in messages_of(refused)
    record.refresh_from_db()
    assert record.status == SuppressionImport.Status.PREVIEWED
    assert not Suppression.objects.filter(account=account).exists()

    done = _confirm(client, uploader, record)

    assert "list.csv: added 2" in messages_of(done)
    record.refresh_from_db()
    assert record.status == SuppressionImport.Status.DONE
    assert Suppression.objects.filter(account=account).count() == 2


def test_the_service_refuses_anyone_but_the_uploader_also_for_a_worker_import(make_role_user):
    account = AccountFactory(username="harbor")
    uploader = make_role_user("Compliance", "up.loader")
    other = make_role_user("Compliance", "colleague")
    record = _previewed(account, uploader, in_background=True)

    with pytest.raises(FileRefused, match="only up.loader"):
        suppression_import_confirm(record_id=record.pk, by=Actor.staff(other), now=timezone.now())

    kept = suppression_import_confirm(
        record_id=record.pk, by=Actor.staff(uploader), now=timezone.now()
    )
    assert kept.status == SuppressionImport.Status.PREVIEWED and kept.in_background


def _previewed(account, user, *, in_background=False, at=None, name="list.csv"):
    from compliance.services import suppression_import_preview, suppression_import_start

    now = at or timezone.now()
    record = suppression_import_start(
        account=account, chunks=[LIST], file_name=name, by=Actor.staff(user), now=now
    )
    record = suppression_import_preview(record_id=record.pk, now=now)
    if in_background:
        SuppressionImport.objects.filter(pk=record.pk).update(in_background=True)
        record.refresh_from_db()
    return record


def test_an_unconfirmed_list_import_expires_and_the_job_removes_its_file(
    client, make_role_user, settings
):
    """The review's finding: abandoned previews stayed "awaiting confirmation" forever."""
    settings.IMPORT_PREVIEW_EXPIRY_HOURS = 24
    account = AccountFactory(username="harbor")
    officer = make_role_user("Compliance", "up.loader")
    old = _previewed(account, officer, at=timezone.now() - timedelta(hours=25), name="old.csv")
    fresh = _previewed(account, officer, name="fresh.csv")
    kept = Path(old.stored_path)
    assert kept.exists()

    # past its expiry, before the job ran: refused, nothing written
    late = _confirm(client, officer, old)
    assert "the preview of old.csv expired" in messages_of(late)
    assert not Suppression.objects.filter(account=account).exists()

    assert job("expire_import_previews")(as_of=timezone.now(), dry_run=True) == {
        "csv_imports": 0,
        "unsubscribe_list_imports": 1,
    }
    counts = job("expire_import_previews")(as_of=timezone.now())

    assert counts == {"csv_imports": 0, "unsubscribe_list_imports": 1}
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == SuppressionImport.Status.EXPIRED and old.stored_path == ""
    assert not kept.exists()
    assert fresh.status == SuppressionImport.Status.PREVIEWED
    assert Path(fresh.stored_path).exists()
    again = _confirm(client, officer, old)
    assert "the preview of old.csv expired" in messages_of(again)
    assert not Suppression.objects.filter(account=account).exists()
    listed = client.get(reverse("admin:compliance_suppressionimport_changelist"))
    assert b"not confirmed within 24 hours" in listed.content
