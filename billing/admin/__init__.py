"""Billing in the admin: the catalogue, billing profiles with their questions and money
actions, cards and add-ons, the ledger and card charge attempts (read-only for everyone,
R12), and billing's part of the account page. Every write is one service or workflow call."""

from billing.admin import account_page, cards, catalogue, ledger, profiles

__all__ = ["account_page", "catalogue", "cards", "ledger", "profiles"]
