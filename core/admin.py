"""What every admin of the back office shares: records nobody edits (R12), entries nobody
deletes, forms whose save is a service call, and the change log of catalogue entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.actors import Actor
from core.cleaninput import CleanInputAdmin
from core.models import ChangeRecord
from core.paging import EstimatedCountPaginator


def exact_match(model, path: str, term: str) -> Q:
    """Rows whose `path` is `term` as typed or in lower case, through the indexes: a field of
    the model itself is compared directly; a field across a foreign key (``account__username``)
    is looked up in its own table first and the rows are then found by the key. Django's "="
    search is ``UPPER(a) = UPPER(b)`` OR-ed across a join, which reads every row of both tables
    on lists of millions."""
    variants = sorted({term, term.lower()})
    head, _, rest = path.partition("__")
    if not rest:
        return Q(**{f"{path}__in": variants})
    field = model._meta.get_field(head)
    # A one-to-one key (a card's account) is a foreign key too: read its table first as well.
    if not (field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete):
        return Q(**{f"{path}__iexact": term})
    ids = list(
        field.related_model._default_manager.filter(**{f"{rest}__in": variants}).values_list(
            "pk", flat=True
        )[:MAX_EXACT_MATCHES]
    )
    return Q(**{f"{head}__in": ids})


def longer_than_field(model, path: str, term: str) -> bool:
    """Whether `term` cannot be a value of the field at `path` (longer than its max_length)."""
    *links, last = path.split("__")
    for name in links:
        model = model._meta.get_field(name).related_model
    max_length = getattr(model._meta.get_field(last), "max_length", None)
    return max_length is not None and len(term) > max_length


# An exact term matches a handful of rows in the related table (a username, an address).
MAX_EXACT_MATCHES = 1_000


class ExactSearch(CleanInputAdmin):
    """An admin whose search fields are all exact ("=field"): each is matched on its index
    (``exact_match``); a list with other kinds of fields searches as Django does."""

    def get_search_results(self, request, queryset, search_term):
        fields = list(self.get_search_fields(request))
        term = search_term.strip()
        if not term or not fields or not all(f.startswith("=") for f in fields):
            return super().get_search_results(request, queryset, search_term)
        wanted = Q()
        for name in fields:
            if longer_than_field(queryset.model, name[1:], term):
                continue  # a username is never four digits' field: no scan of it
            wanted |= exact_match(queryset.model, name[1:], term)
        if not wanted:
            return queryset.none(), False
        return queryset.filter(wanted), False


class NoDeleteAdmin(ExactSearch):
    """Entries that are retired or archived, never deleted, for everyone, superusers included:
    no delete button, no "delete selected" action, the delete view refused (R12)."""

    # Lists of millions of rows (cards, profiles, accounts): no COUNT over all of them on each
    # page view; a small list still counts exactly (core.paging).
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyAdmin(NoDeleteAdmin):
    """A list of records nobody adds, changes or deletes here, superusers included (R12)."""

    show_full_result_count = False
    # Millions of rows: no COUNT over all of them on each page view.
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on another record's page, never edited there."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceForm(forms.ModelForm):
    """An admin form whose save is one service or workflow call: `apply` makes it, with the
    staff member as the actor, in a savepoint once every field is valid, so a refusal shows on
    the form (the error the service gives) and nothing is written; the admin's save then only
    takes the result."""

    #: The services' own refusals, shown on the form.
    refusals: ClassVar[tuple[type[Exception], ...]] = ()
    actor: Actor | None = None

    def apply(self, data: dict[str, Any], *, by: Actor, now: datetime) -> Any:
        raise NotImplementedError

    # Django's ModelForm hook after the model's own validation (not in the type stubs).
    def _post_clean(self) -> None:
        fields = self.instance._meta.concrete_fields
        stored = {f.attname: getattr(self.instance, f.attname) for f in fields}
        super()._post_clean()  # type: ignore[misc]
        if not self.errors and self.actor is not None:
            try:
                with transaction.atomic():
                    self.applied = self.apply(self.cleaned_data, by=self.actor, now=timezone.now())
            except self.refusals as exc:
                self.add_error(None, str(exc))
        if self.errors:
            # The page shown again reads the record (its time zone, its dates) as it is stored,
            # not as typed: "Mars/Phobos" stays in the form's box, never in the account.
            for attname, value in stored.items():
                setattr(self.instance, attname, value)


class ServiceFormAdmin(NoDeleteAdmin):
    """A ModelAdmin whose add and change forms are ServiceForms."""

    add_form: ClassVar[type[ServiceForm] | None] = None
    change_form: ClassVar[type[ServiceForm] | None] = None

    def get_form(self, request, obj=None, change=False, **kwargs):
        chosen = self.change_form if obj is not None else self.add_form
        if chosen is not None:
            kwargs["form"] = chosen
        form = super().get_form(request, obj, change, **kwargs)
        # A class made for this request: the staff member acts through it.
        setattr(form, "actor", Actor.staff(request.user))  # noqa: B010
        return form

    def save_model(self, request, obj, form, change) -> None:
        applied = getattr(form, "applied", None)
        if applied is None:
            raise RuntimeError(f"{type(form).__name__} saved nothing through its service")
        # The admin's own messages and history show the record as the service wrote it.
        if isinstance(applied, type(obj)):
            for field in obj._meta.concrete_fields:
                setattr(obj, field.attname, getattr(applied, field.attname))
        obj.pk, obj._state.adding = applied.pk, False

    def save_related(self, request, form, formsets, change) -> None:
        # Nothing related is written by the admin itself (no editable inlines, no m2m); the
        # admin's history message still asks each inline what it saved: nothing.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


# Actions over several selected rows that ask for a few values first (an amount, a reason):
# all of the selected rows or none (a refusal rolls back those before it).
def action_form(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    form_class,
    title: str,
    action: str,
    apply: Callable[[Any, dict], str],
    refusals: tuple[type[Exception], ...],
    template: str = "admin/action_form.html",
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
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": action,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def change_log_link(entry) -> str:
    """A link to the change log of `entry` (its model and id)."""
    url = reverse("admin:core_changerecord_changelist")
    return format_html(
        '<a href="{}?model={}&object_id={}">{}</a>',
        url,
        entry._meta.label_lower,
        entry.pk,
        _("Change log of this entry"),
    )


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    """Who changed which catalogue entry, when, what (old → new) and why (R12)."""

    list_display = ("at", "object_repr", "model", "action", "summary", "reason", "by")
    list_filter = ("model", "action")
    list_select_related = ("by_user",)
    search_fields = ("=object_id", "object_repr")

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The link from an entry's page narrows the log to that entry.
        return lookup in ("model", "object_id") or super().lookup_allowed(lookup, value, request)


class WhenFilter(admin.SimpleListFilter):
    """Recent rows by their time (`at`), a range of the list's time index. Django's date
    drill-down lists every year, month or day that has rows (a MIN/MAX and a DISTINCT over
    every row the other filters keep) on each view: at a million accounts that alone took a
    ledger or cancellation-request page past its 300 ms."""

    title = _("when")
    parameter_name = "when"
    DAYS = {"1d": 1, "7d": 7, "31d": 31, "92d": 92, "366d": 366}

    def lookups(self, request, model_admin):
        return [
            ("1d", _("Last 24 hours")),
            ("7d", _("Last 7 days")),
            ("31d", _("Last 31 days")),
            ("92d", _("Last 92 days")),
            ("366d", _("Last 366 days")),
        ]

    def queryset(self, request, queryset):
        days = self.DAYS.get(self.value() or "")
        if days is None:
            return queryset
        return queryset.filter(at__gte=timezone.now() - timedelta(days=days))
