"""Factories for the compliance tests."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from accounts.models import Contact
from compliance.models import SOURCE_REASON, Suppression, SuppressionSource
from tests.factories import AccountFactory


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    account = factory.SubFactory(AccountFactory)
    address = factory.Sequence(lambda n: f"person{n}@example.com")
    normalised = factory.LazyAttribute(lambda s: s.address.strip().lower())
    source = SuppressionSource.UNSUBSCRIBE_LINK
    reason = factory.LazyAttribute(lambda s: SOURCE_REASON[SuppressionSource(s.source)])
    at = datetime(2026, 3, 1, tzinfo=UTC)
    by_job = "unsubscribe_link"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
