"""Factories for billing: plans, add-ons, profiles and cards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import factory

from billing.models import AccountAddOn, AddOn, BillingMode, BillingProfile, Card, Plan
from core.localtime import start_of_day
from tests.factories import AccountFactory


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "growth"
    name = "Growth"
    monthly_price = Decimal("45.00")
    currency = "USD"


class AddOnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddOn
        django_get_or_create = ("code",)

    code = "dedicated-ip"
    name = "Dedicated IP"
    monthly_price = Decimal("20.00")
    currency = "USD"


class BillingProfileFactory(factory.django.DjangoModelFactory):
    """A profile due on `next_billing_date` at local midnight."""

    class Meta:
        model = BillingProfile

    account = factory.SubFactory(AccountFactory)
    plan = factory.SubFactory(PlanFactory)
    mode = BillingMode.MONTHLY_CARD
    next_billing_date = date(2026, 12, 1)
    anchor_day = factory.LazyAttribute(
        lambda p: p.next_billing_date.day if p.next_billing_date else 1
    )
    due_at = factory.LazyAttribute(
        lambda p: start_of_day(p.next_billing_date, p.account.zone) if p.next_billing_date else None
    )


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    account = factory.SubFactory(AccountFactory)
    token = "tok_visa"
    brand = "Visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2099
    added_at = datetime(2026, 1, 1, tzinfo=UTC)


class AccountAddOnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountAddOn

    account = factory.SubFactory(AccountFactory)
    addon = factory.SubFactory(AddOnFactory)
    started_at = datetime(2026, 1, 1, tzinfo=UTC)
