"""Factories for the accounts app's content and cancellation desk."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from accounts.demo import png_bytes
from accounts.models import (
    CancellationOutcome,
    CancellationReason,
    CancellationRequest,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
)
from tests.factories import AccountFactory

PNG = png_bytes()


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"reader{n}@example.org")


class SignupFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignupForm

    account = factory.SubFactory(AccountFactory)
    name = "Newsletter"
    public_key = factory.Sequence(lambda n: f"form-{n:06d}")


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    account = factory.SubFactory(AccountFactory)
    service = "Shopify"


class HostedFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostedFile

    account = factory.SubFactory(AccountFactory)
    public_key = factory.Sequence(lambda n: f"file-{n:06d}")
    name = "logo.png"
    content = PNG


class CancellationReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CancellationReason
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Reason {n}")


class CancellationRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CancellationRequest

    account = factory.SubFactory(AccountFactory, status="cancelled")
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    reason = factory.SubFactory(CancellationReasonFactory)
    voluntary = True
    outcome = CancellationOutcome.CANCELLED
