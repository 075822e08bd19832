"""CSV exchanges of the catalogue (plans, add-ons; imported by managers) and of the ledger
(export only: entries are never imported, R12)."""

from __future__ import annotations

from import_export import fields

from billing.models import AddOn, Plan
from exchanges.exports import Column, StreamingExport
from exchanges.resources import ExchangeResource, YesNoWidget

CATALOGUE_FIELDS = ("code", "name", "monthly_price", "currency", "active")


class PlanResource(ExchangeResource):
    """Plans keyed on code: new plans, renamed ones, prices, offered or not."""

    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget())

    class Meta:
        model = Plan
        fields = CATALOGUE_FIELDS
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class AddOnResource(ExchangeResource):
    """Add-ons keyed on code, like plans."""

    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget())

    class Meta:
        model = AddOn
        fields = CATALOGUE_FIELDS
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class LedgerExport(StreamingExport):
    filename = "ledger"
    select_related = ("account", "by_user")
    columns = (
        Column("id"),
        Column("at"),
        Column("account", "account.username"),
        Column("kind"),
        Column("amount"),
        Column("currency"),
        Column("period"),
        Column("description"),
        Column("prepaid_balance_after"),
        Column("reference"),
        Column("refund_of", "refund_of_id"),
        Column("by"),
    )
