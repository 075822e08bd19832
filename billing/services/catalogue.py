"""The catalogue: plans and add-ons, added, changed, retired or offered again (never deleted:
billing profiles and past charges name them), each change on the change log (R12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.utils.translation import gettext_noop

from billing.models import AccountAddOn, AddOn, BillingProfile, Plan
from billing.services.common import BillingError, money
from core.actors import Actor
from core.models import ChangeAction
from core.problems import Problem, problem_of
from core.services import change_diff, change_record, shown

CATALOGUE_FIELDS = ("name", "monthly_price", "currency", "active")


def _permission(model: type[Plan] | type[AddOn], creating: bool) -> str:
    verb = "add" if creating else "change"
    return f"billing.{verb}_{model._meta.model_name}"


def _field_label(model: type[Plan] | type[AddOn], field: str) -> Problem | str:
    try:
        found = model._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    verbose = getattr(found, "verbose_name", None)
    return field if verbose is None else problem_of(verbose)


def _in_use(entry: Plan | AddOn) -> bool:
    if isinstance(entry, Plan):
        return BillingProfile.objects.filter(plan=entry).exists()
    return AccountAddOn.objects.filter(addon=entry, cancelled_at__isnull=True).exists()


@transaction.atomic
def catalogue_entry_save(
    *,
    model: type[Plan] | type[AddOn],
    code: str,
    name: str,
    monthly_price: Any,
    currency: str,
    active: bool,
    by: Actor,
    now: datetime,
    why: str,
) -> Plan | AddOn:
    """Add the plan or add-on `code`, or change it: its name, monthly price (charged from the
    next billing date on), currency (not while accounts are billed in it) and whether it is
    offered. Every change is on the change log with `why`."""
    # Refusals are Problems (kept in no language): a CSV import stores its rows' refusals and
    # shows them in the reader's language.
    what = problem_of(model._meta.verbose_name)
    code = (code or "").strip()
    price, currency = money(
        monthly_price, currency, what=Problem(gettext_noop("the monthly price"))
    )
    if price < 0:
        raise BillingError(
            Problem(
                gettext_noop("the monthly price of %(what)s %(code)s cannot be negative"),
                what=what,
                code=code,
            )
        )
    wanted = {"name": " ".join((name or "").split()), "monthly_price": price, "currency": currency}
    wanted["active"] = bool(active)
    entry = model.objects.select_for_update().filter(code=code).first()
    creating = entry is None
    if not by.may(_permission(model, creating)):
        plural = problem_of(model._meta.verbose_name_plural)
        if creating:
            raise BillingError(
                Problem(gettext_noop("%(label)s may not add %(what)s"), label=by.label, what=plural)
            )
        raise BillingError(
            Problem(gettext_noop("%(label)s may not change %(what)s"), label=by.label, what=plural)
        )
    candidate = model(code=code, **wanted) if entry is None else entry
    if entry is not None:
        changes = change_diff(entry=entry, wanted=wanted, fields=CATALOGUE_FIELDS)
        if not changes:
            return entry
        if entry.currency != currency and _in_use(entry):
            raise BillingError(
                Problem(
                    gettext_noop(
                        "%(what)s %(code)s is in use: its currency stays "
                        "%(currency)s (make a new %(what)s in %(new_currency)s instead)"
                    ),
                    what=what,
                    code=code,
                    currency=entry.currency,
                    new_currency=currency,
                )
            )
        for field, value in wanted.items():
            setattr(candidate, field, value)
    try:
        candidate.full_clean()
    except ValidationError as exc:
        # Each field by the name staff read and Django's message by its msgid: both shown in
        # the reader's language.
        problems = [
            Problem(
                gettext_noop("%(field)s: %(problem)s"),
                field=_field_label(model, field),
                problem=problem_of(item),
            )
            for field, items in exc.error_dict.items()
            for item in items
        ]
        raise BillingError(
            Problem(
                gettext_noop("%(what)s %(code)s: %(problems)s"),
                what=what,
                code=code,
                problems=problems,
            )
        ) from None
    candidate.save()
    if creating:
        changes = [[field, "(empty)", shown(wanted[field])] for field in CATALOGUE_FIELDS]
        action = ChangeAction.CREATED
    else:
        action = ChangeAction.CHANGED
        if [field for field, _, _ in changes] == ["active"]:
            action = ChangeAction.RESTORED if active else ChangeAction.RETIRED
    change_record(entry=candidate, action=action, changes=changes, reason=why, by=by, now=now)
    return candidate
