"""Actions over several selected rows that ask for a few values first (an amount, a reason):
all of the selected rows or none (a refusal rolls back those before it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin

from billing.services import BillingError
from core.admin import action_form as _action_form


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
    """``core.admin.action_form`` with billing's refusals."""
    return _action_form(
        modeladmin,
        request,
        queryset,
        form_class=form_class,
        title=title,
        action=action,
        apply=apply,
        refusals=refusals,
    )
