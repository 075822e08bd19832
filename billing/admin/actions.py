"""Actions over several selected rows that ask for a few values first (an amount, a reason):
all of the selected rows or none (a refusal rolls back those before it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from billing.services import BillingError


def action_form(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    form_class,
    title: str,
    action: str,
    apply: Callable[[Any, dict], str],
    refusals: tuple[type[Exception], ...] = (BillingError,),
):
    """Show `form_class` for the selected rows; on a valid post call `apply(obj, data)` for
    each, all in one transaction: every result is reported, or, at the first refusal, nothing
    was changed and the refusal says which row and why."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        results: list[tuple[Any, str]] = []
        failed = None
        try:
            with transaction.atomic():
                for obj in queryset:
                    failed = obj
                    results.append((obj, apply(obj, form.cleaned_data)))
        except refusals as exc:
            modeladmin.message_user(
                request,
                _("Nothing was changed: %(row)s: %(error)s") % {"row": failed, "error": exc},
                messages.ERROR,
            )
            return None
        for obj, result in results:
            modeladmin.message_user(request, f"{obj}: {result}", messages.SUCCESS)
        modeladmin.message_user(
            request,
            _("%(title)s: %(done)s done.") % {"title": title, "done": len(results)},
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(
        request,
        "admin/billing/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": action,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
