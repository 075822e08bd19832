"""The catalogue in the admin: plans and add-ons, added and changed through the catalogue
service (each change on the change log with its reason), retired instead of deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy

from billing.models import AddOn, Plan
from billing.resources import AddOnResource, PlanResource
from billing.services import BillingError, catalogue_entry_save
from core.admin import ServiceForm, ServiceFormAdmin, change_log_link
from exchanges.admin import CsvExportMixin, CsvImportMixin


class CatalogueForm(ServiceForm):
    """A plan or add-on as staff enter it, with why it changes."""

    refusals = (BillingError,)
    why = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        max_length=300,
        help_text=gettext_lazy("Shown on the change log (e.g. new price list from 1 January)."),
    )

    class Meta:
        fields = ("code", "name", "monthly_price", "currency", "active")

    def apply(self, data, *, by, now):
        code = data.get("code") or self.instance.code
        return catalogue_entry_save(
            model=type(self.instance),
            code=code,
            name=data["name"],
            monthly_price=data["monthly_price"],
            currency=data["currency"],
            active=data["active"],
            by=by,
            now=now,
            why=data["why"],
        )


class CatalogueAdmin(CsvImportMixin, CsvExportMixin, ServiceFormAdmin):
    list_display = ("name", "code", "monthly_price", "currency", "active")
    import_permission = "exchanges.import_catalogue"
    export_permission = "exchanges.export_catalogue"
    list_filter = ("currency", "active")
    search_fields = ("name", "code")
    add_form = CatalogueForm
    change_form = CatalogueForm

    def get_fields(self, request, obj=None):
        fields = ("code", "name", "monthly_price", "currency", "active", "why")
        return (*fields, "change_log") if obj else fields

    def get_readonly_fields(self, request, obj=None):
        # The code is the key other records and files use: fixed once the entry exists.
        return ("code", "change_log") if obj else ()

    @admin.display(description=gettext_lazy("history"))
    def change_log(self, obj):
        return change_log_link(obj)


@admin.register(Plan)
class PlanAdmin(CatalogueAdmin):
    resource_classes = [PlanResource]


@admin.register(AddOn)
class AddOnAdmin(CatalogueAdmin):
    resource_classes = [AddOnResource]
