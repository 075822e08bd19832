"""Fixtures for the CSV exchanges: a manager in the admin and a way to upload a file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


@pytest.fixture
def manager(make_role_user):
    return make_role_user("Manager", "manager.mia")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def import_url(app_model: str) -> str:
    return reverse(f"admin:{app_model}_import")


def confirm_url(app_model: str) -> str:
    return reverse(f"admin:{app_model}_process_import")


def upload(client, app_model: str, content: str | bytes, name: str = "changes.csv"):
    """Post a file to the import page (the preview step)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        import_url(app_model),
        {"format": "0", "resource": "0", "import_file": SimpleUploadedFile(name, data)},
    )


def confirm(client, app_model: str, record_pk: int):
    return client.post(confirm_url(app_model), {"import_record": record_pk})


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")
