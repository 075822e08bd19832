"""factory_boy factories for the models the tests build on."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from accounts.models import Account, AccountStatus


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    username = factory.Sequence(lambda n: f"customer-{n:05d}")
    company = factory.Faker("company")
    primary_email = factory.LazyAttribute(lambda a: f"{a.username}@example.com")
    time_zone = "UTC"
    language = "en"
    status = AccountStatus.ACTIVE
    created_at = datetime(2026, 1, 1, tzinfo=UTC)
