"""CSV exchanges of the catalogue (plans, add-ons; imported by managers) and of the ledger
(export only: entries are never imported, R12)."""

from __future__ import annotations

from import_export import fields

from billing.models import AddOn, Plan
from billing.services import catalogue_entry_save
from core.actors import Actor
from exchanges.exports import Column, StreamingExport
from exchanges.resources import ExchangeResource, YesNoWidget

CATALOGUE_FIELDS = ("code", "name", "monthly_price", "currency", "active")


class CatalogueResource(ExchangeResource):
    """A catalogue file keyed on code: each row added or changed through the catalogue
    service, on the change log as a CSV import."""

    def do_instance_save(self, instance, is_create):
        saved = catalogue_entry_save(
            model=type(instance),
            code=instance.code,
            name=instance.name,
            monthly_price=instance.monthly_price,
            currency=instance.currency,
            active=instance.active,
            by=Actor.staff(self.user),
            now=self.now,
            why=f"CSV import {self.file_name}",
        )
        instance.pk, instance._state.adding = saved.pk, False

    def before_import(self, dataset, **kwargs):
        self.file_name = kwargs.get("file_name") or "file"


class PlanResource(CatalogueResource):
    """Plans keyed on code: new plans, renamed ones, prices, offered or not."""

    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget())

    class Meta:
        model = Plan
        fields = CATALOGUE_FIELDS
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class AddOnResource(CatalogueResource):
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
