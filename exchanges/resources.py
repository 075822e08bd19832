"""The base of every CSV import and export: keyed on a natural key, updates shown in a preview,
cells neutralised for spreadsheets, and a fingerprint of the rows a file touches so that a
confirmation after someone else changed them is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django.utils.translation import gettext_noop
from import_export import resources, widgets
from import_export.instance_loaders import CachedInstanceLoader
from import_export.results import Result

from core.csvsafe import neutralise
from core.problems import Problem, problem_of
from exchanges.uploads import ParsedFile

# Keys per query when fingerprinting or comparing: a parameter list PostgreSQL plans well.
KEY_CHUNK = 5000


class YesNoWidget(widgets.BooleanWidget):
    """yes/no as managers write it; true/false and 1/0 as other tools do."""

    TRUE = {"yes", "y", "true", "1", "x"}
    FALSE = {"no", "n", "false", "0"}

    def clean(self, value, row=None, **kwargs):
        text = str(value if value is not None else "").strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(Problem(gettext_noop("'%(value)s' is not yes or no"), value=value))

    def render(self, value, obj=None, **kwargs):
        return "yes" if value else "no"


class ExchangeResource(resources.ModelResource):
    """A resource keyed on one natural-key column; subclasses set Meta.fields, import_id_fields
    and, where a file must never touch a column, ``protected_columns``."""

    #: Columns a file may not change, and where the staff do it instead.
    protected_columns: dict[str, str] = {}
    #: Whether a row with an unknown key creates a record (catalogues) or is a row error.
    creates = True
    #: The values a confirmation compares against the preview; defaults to the import fields.
    fingerprint_fields: tuple[str, ...] = ()

    def __init__(self, *, user=None, now=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.now = now
        #: Filled with what the first rows would do (the preview page's rows), up to
        #: ``keep_rows``; ``row_offset`` is the dataset's first row in the whole file.
        self.preview_rows: list[dict] = []
        self.keep_rows = 0
        self.row_offset = 0
        #: The file line of a row of the whole file (ParsedFile.line_of): the preview's rows
        #: carry the line the row errors and the messages name.
        self.line_of = lambda number: number
        self._imported: object | None = None

    @classmethod
    def key_column(cls) -> str:
        return cls._meta.import_id_fields[0]

    @classmethod
    def importable_columns(cls) -> list[str]:
        return [f for f in cls._meta.fields if f not in cls._meta.import_id_fields]

    # --- checks before the preview -----------------------------------------------------------

    def check_file(self, parsed: ParsedFile) -> list[Problem]:
        """What refuses the file as a whole: each protected column it names (subclasses may
        compare values). All of them, and the rows' errors beside them: one upload shows all."""
        return [
            self.protected_message(column)
            for column in parsed.dataset.headers
            if column in self.protected_columns
        ]

    def protected_message(self, column: str, detail: Problem | str = "") -> Problem:
        """`protected_columns` hold English msgids (marked with gettext_noop)."""
        return Problem(
            gettext_noop(
                "the column '%(column)s' cannot be imported%(detail)s: %(instead)s. Remove the "
                "column and upload again"
            ),
            column=column,
            detail=detail,
            instead=Problem(self.protected_columns[column]),
        )

    def field_label(self, field: str) -> Problem | str:
        """A field as the staff read it: its name in their language and the file's column."""
        if field in ("", NON_FIELD_ERRORS):
            return ""
        resource_field = self.fields.get(field)
        column = resource_field.column_name if resource_field is not None else field
        attribute = (resource_field.attribute if resource_field is not None else None) or field
        try:
            verbose = getattr(self._meta.model._meta.get_field(attribute), "verbose_name", None)
        except FieldDoesNotExist:
            verbose = None
        if verbose is None:
            return column
        return Problem(
            gettext_noop("%(label)s (column %(column)s)"),
            label=problem_of(verbose),
            column=column,
        )

    def field_problems(self, error: ValidationError) -> list[tuple[str, Problem]]:
        """(field, problem) of each message of a row's ValidationError, each kept in no
        language: a message Django translates lazily by its msgid and values."""
        if hasattr(error, "error_dict"):
            return [
                (field, problem_of(item))
                for field, items in error.error_dict.items()
                for item in items
            ]
        return [("", problem_of(item)) for item in error.error_list]

    def field_problem(self, field: str, problem: Problem) -> Problem:
        """A row's problem naming its field: "username (column username): …"."""
        label = self.field_label(field)
        if not label:
            return problem
        return Problem(gettext_noop("%(field)s: %(problem)s"), field=label, problem=problem)

    # --- rows --------------------------------------------------------------------------------

    def get_or_init_instance(self, instance_loader, row):
        if self.creates:
            return super().get_or_init_instance(instance_loader, row)
        # An import that never creates: an unknown key is a row error at once, without
        # building a model instance for it (a file of 100,000 unknown keys).
        instance = self.get_instance(instance_loader, row)
        if instance is None:
            key = self.key_column()
            raise ValidationError({key: ValidationError(self.unknown_key(str(row.get(key, ""))))})
        return instance, False

    @classmethod
    def unknown_key(cls, value: str) -> Problem:
        """The row error of a key no record has, for an import that never creates."""
        return Problem(
            gettext_noop(
                "no %(thing)s with %(key)s '%(value)s': this import updates existing records "
                "and never creates one"
            ),
            thing=problem_of(cls._meta.model._meta.verbose_name),
            key=cls.key_column(),
            value=value,
        )

    # --- what the first rows would do, for the preview page ---------------------------------

    def before_import_row(self, row, **kwargs):
        self._imported = None
        super().before_import_row(row, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        # import-export's own loop, but a widget's Problem or lazy message is kept as it is
        # (the library turns the error into text in the language active while reading).
        self._imported = instance
        errors = {}
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget):
                continue
            try:
                self.import_field(field, instance, row, **kwargs)
            except ValueError as exc:
                kept = exc.args and isinstance(exc.args[0], (Problem, Promise))
                message = exc.args[0] if kept else None
                errors[field.attribute] = ValidationError(message or force_str(exc), code="invalid")
        if errors:
            raise ValidationError(errors)

    def import_row(self, row, instance_loader, **kwargs):
        row_result = super().import_row(row, instance_loader, **kwargs)
        if len(self.preview_rows) < self.keep_rows:
            self._keep_row(row, row_result, **kwargs)
        return row_result

    def _keep_row(self, row, row_result, **kwargs) -> None:
        number = self.line_of(self.row_offset + kwargs.get("row_number", 0))
        entry: dict = {"row": number, "key": str(row.get(self.key_column(), ""))}
        entry["action"] = row_result.import_type
        # Errors are kept in no language: the preview page shows them in the reader's.
        if row_result.validation_error is not None:
            entry["errors"] = [
                self.field_problem(field, problem).as_json()
                for field, problem in self.field_problems(row_result.validation_error)
            ]
        elif row_result.errors:
            entry["errors"] = [problem_of(e.error).as_json() for e in row_result.errors]
        else:
            entry["changes"] = self._changes(row_result.original, self._imported, row)
        self.preview_rows.append(entry)

    def _changes(self, original, instance, row) -> list[list[str]]:
        """[column, before, after] of each column the row changes (before is empty for a new
        record)."""
        changes = []
        for column in self.importable_columns():
            if column not in row:
                continue
            attribute = self.fields[column].attribute or column
            after = (
                getattr(instance, attribute, row[column]) if instance is not None else row[column]
            )
            before = getattr(original, attribute, "") if original is not None else ""
            if original is None or before != after:
                changes.append([column, _text(before), _text(after)])
        return changes

    # --- the stale-preview guard -------------------------------------------------------------

    def fingerprint(self, keys: Iterable[str], *, lock: bool = False) -> str:
        """A digest of the current values of the records these keys name (locked with
        ``lock`` until the end of the transaction)."""
        key = self.key_column()
        fields = self.fingerprint_fields or tuple(self._meta.fields)
        digest = hashlib.sha256()
        keys = sorted(set(keys))
        for start in range(0, len(keys), KEY_CHUNK):
            qs = self._meta.model.objects.filter(**{f"{key}__in": keys[start : start + KEY_CHUNK]})
            if lock:
                qs = qs.select_for_update(of=("self",))
            for values in qs.order_by(key).values_list(key, *fields):
                digest.update(repr(values).encode())
        return digest.hexdigest()

    # --- exports -----------------------------------------------------------------------------

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))


class BulkUpdateResource(ExchangeResource):
    """Base for imports that only update and do so in bulk through a service."""

    creates = False

    class Meta:
        use_bulk = True
        instance_loader_class = CachedInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def row_errors(
    result: Result, parsed: ParsedFile, resource: ExchangeResource, *, offset: int = 0
) -> list[dict]:
    """The errors of a result, one entry per row and column, with the file's line numbers
    (`offset`: the result's dataset began at that row of the file); each error kept in no
    language, naming its field as the staff read it."""
    key_column = resource.key_column()
    headers = parsed.dataset.headers
    errors: list[dict] = []

    def values_of(number: int) -> dict:
        try:
            return dict(zip(headers, parsed.dataset[offset + number - 1], strict=False))
        except IndexError:
            return {}

    # The row's cells as [column, value] pairs: a JSON array keeps the file's column order.
    def pairs(values: dict) -> list[list[str]]:
        return [[column, value] for column, value in values.items()]

    for invalid in result.invalid_rows:
        values = values_of(invalid.number)
        for field, problem in resource.field_problems(invalid.error):
            errors.append(
                {
                    "line": parsed.line_of(offset + invalid.number),
                    "key": values.get(key_column, ""),
                    "column": "" if field == NON_FIELD_ERRORS else field,
                    "error": resource.field_problem(field, problem).as_json(),
                    "values": pairs(values),
                }
            )
    for number, row_errs in result.row_errors():
        values = values_of(number)
        for err in row_errs:
            errors.append(
                {
                    "line": parsed.line_of(offset + number),
                    "key": values.get(key_column, ""),
                    "column": "",
                    "error": problem_of(err.error).as_json(),
                    "values": pairs(values),
                }
            )
    for err in result.base_errors:
        errors.append(
            {"line": "", "key": "", "column": "", "error": problem_of(err.error).as_json()}
        )
    errors.sort(key=lambda e: (e["line"] == "", e["line"] or 0))
    return errors
