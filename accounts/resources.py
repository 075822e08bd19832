"""CSV exchanges of accounts, cancellation reasons and cancellation requests (managers).

Importing accounts changes only the details a manager may change, through
``workflows.details.accounts_details_update`` (an account event per changed account); a file
that would change a status or a balance is refused, naming the column and what to use instead.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext_noop
from import_export import fields

from accounts.models import Account, CancellationReason
from accounts.services import ACCOUNT_DETAILS, ReasonError, reason_save
from core.actors import Actor
from core.csvsafe import restore
from core.problems import Problem, problem_of
from exchanges import conf
from exchanges.exports import Column, StreamingExport
from exchanges.resources import KEY_CHUNK, BulkUpdateResource, ExchangeResource, YesNoWidget
from workflows.details import accounts_details_update

STATUS_INSTEAD = gettext_noop(
    "an account's status changes only through the actions on its page (Take cancellation "
    "call, Pause, Resume, Reactivate), which record who and why (R2, R7, R8, R12)"
)
MONEY_INSTEAD = gettext_noop(
    "balances change only through the ledger: Billing → Billing profiles → action 'Record a "
    "payment', or Billing → Ledger → action 'Refund charge' (R5, R12)"
)
LEGAL_HOLD_INSTEAD = gettext_noop(
    "legal holds are set and released by Compliance only, under Compliance → Retention, and "
    "a release needs a second person's sign-off (R7)"
)
LEDGER_INSTEAD = gettext_noop(
    "ledger entries are never imported or edited: use Billing → Billing profiles → action "
    "'Record a payment', or Billing → Ledger → action 'Refund charge' (R12)"
)


class AccountResource(BulkUpdateResource):
    """Managers' bulk update of account details, keyed on username; never creates accounts.
    Never a legal hold: our own export carries the hold's columns, so they may come back
    unchanged (and are not imported), but a file that would set or release one is refused."""

    protected_columns = {
        "status": STATUS_INSTEAD,
        "legal_hold": LEGAL_HOLD_INSTEAD,
        "legal_hold_reason": LEGAL_HOLD_INSTEAD,
        "prepaid_balance": MONEY_INSTEAD,
        "balance": MONEY_INSTEAD,
        "ledger": LEDGER_INSTEAD,
        "ledger_entry": LEDGER_INSTEAD,
        "amount": LEDGER_INSTEAD,
        "entry_kind": LEDGER_INSTEAD,
    }
    # Columns our own export writes: a re-imported export is fine while they are unchanged.
    compared_columns = {
        "status": "status",
        "prepaid_balance": "billing_profile__prepaid_balance",
        "legal_hold": "legal_hold",
        "legal_hold_reason": "legal_hold_reason",
    }
    fingerprint_fields = (*ACCOUNT_DETAILS, "status")

    class Meta:
        model = Account
        fields = (
            "username",
            "company",
            "primary_email",
            "language",
            "time_zone",
        )
        import_id_fields = ("username",)

    def check_file(self, parsed) -> list[Problem]:
        problems = []
        for column in parsed.dataset.headers:
            if column in self.compared_columns:
                problem = self._refuse_changes(parsed, column)
            elif column in self.protected_columns:
                problem = self.protected_message(column)
            else:
                problem = None
            if problem:
                problems.append(problem)
        return problems

    def _refuse_changes(self, parsed, column: str) -> Problem | None:
        wanted = dict(zip(parsed.keys, parsed.dataset[column], strict=True))
        source = self.compared_columns[column]
        changed = []
        keys = list(wanted)
        for start in range(0, len(keys), KEY_CHUNK):
            current = dict(
                Account.objects.filter(username__in=keys[start : start + KEY_CHUNK]).values_list(
                    "username", source
                )
            )
            for username in keys[start : start + KEY_CHUNK]:
                if username in current and not _same(current[username], wanted[username]):
                    changed.append(f"{username}: {current[username]} → {wanted[username]}")
        if changed:
            examples = "; ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
            return self.protected_message(column, changes_detail(len(changed), examples))
        return None

    def before_import(self, dataset, **kwargs):
        self._columns = [c for c in self.importable_columns() if c in dataset.headers]
        self._source = kwargs.get("file_name") or "file"

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The username is the key and never changes: no uniqueness query per row.
        super().validate_instance(instance, import_validation_errors, validate_unique=False)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if not self.update_instances:
            return
        try:
            if not dry_run:
                accounts_details_update(
                    changes={
                        a.username: {c: getattr(a, c) for c in self._columns}
                        for a in self.update_instances
                    },
                    by=Actor.staff(self.user),
                    now=self.now,
                    source=self._source,
                    batch_size=conf.import_batch_size(),
                )
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
        finally:
            self.update_instances.clear()


def changes_detail(count: int, examples: str) -> Problem:
    """What a refused column would have changed, inside its refusal."""
    return Problem(
        gettext_noop(" (it would change %(count)s account(s): %(examples)s)"),
        count=count,
        examples=examples,
    )


def _same(current, text: str) -> bool:
    text = (text or "").strip()
    if isinstance(current, bool):
        try:
            return YesNoWidget().clean(text) == current
        except ValueError:
            return False
    if isinstance(current, Decimal) or current is None:
        if current is None:
            return text == ""
        try:
            return Decimal(text) == current
        except InvalidOperation:
            return False
    return str(current).lower() == restore(text).lower()


class CancellationReasonResource(ExchangeResource):
    """The managed list of reasons, keyed on name: add reasons, retire or offer them again;
    each row through the reasons service, on the change log as a CSV import."""

    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget())

    class Meta:
        model = CancellationReason
        fields = ("name", "active")
        import_id_fields = ("name",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_import(self, dataset, **kwargs):
        self.file_name = kwargs.get("file_name") or "file"

    def import_instance(self, instance, row, **kwargs):
        before = instance.active
        super().import_instance(instance, row, **kwargs)
        if instance.pk and instance.system and instance.active != before:
            raise ValidationError(
                {
                    "name": ValidationError(
                        Problem(
                            gettext_noop(
                                "%(name)s is the system's own reason and cannot be changed"
                            ),
                            name=f"'{instance.name}'",
                        )
                    )
                }
            )

    def do_instance_save(self, instance, is_create):
        try:
            saved = reason_save(
                name=instance.name,
                active=instance.active,
                reason=None if is_create else instance,
                by=Actor.staff(self.user),
                now=self.now,
                why=f"CSV import {self.file_name}",
            )
        except ReasonError as exc:
            # Kept as its Problem, so the row error is shown in the reader's language.
            raise ValidationError({"name": ValidationError(problem_of(exc))}) from None
        instance.pk, instance._state.adding = saved.pk, False


# --- streaming exports -----------------------------------------------------------------------


class AccountExport(StreamingExport):
    filename = "accounts"
    columns = (
        Column("username"),
        Column("company"),
        Column("primary_email"),
        Column("language"),
        Column("time_zone"),
        Column("status"),
        Column("legal_hold"),
        Column("legal_hold_reason"),
        Column("created_at"),
        Column("trial_ends_at"),
        Column("inactive_since"),
        Column("plan", "plan_code"),
        Column("prepaid_balance"),
    )

    def prepare(self, queryset):
        return queryset.annotate(
            plan_code=F("billing_profile__plan__code"),
            prepaid_balance=F("billing_profile__prepaid_balance"),
        )


def _by(request) -> str:
    return request.taken_by.get_username() if request.taken_by_id else f"job {request.by_job}"


class CancellationRequestExport(StreamingExport):
    filename = "cancellation-requests"
    select_related = ("account", "reason", "taken_by")
    columns = (
        Column("date", "at"),
        Column("account", "account.username"),
        Column("reason", "reason.name"),
        Column("callers_words"),
        Column("voluntary", lambda r: "voluntary" if r.voluntary else "involuntary"),
        Column("outcome", lambda r: r.get_outcome_display()),
        Column("saved_by_pause", "pause_accepted"),
        Column("next_billing_date"),
        Column("in_time_for_billing_date", "in_time"),
        Column("confirmation_sent_at"),
        Column("taken_by", _by),
    )
