"""Compliance writes: suppressions and opt-ins (R9), hand-over exports (R10), imports of other
providers' lists, purge records (R7), double opt-in confirmations. Compliance writes only its
own tables; the purge itself and a sign-up (the contact, its confirmation) cross apps and are
in ``workflows``.
"""

from compliance.addresses import InvalidAddress, normalise_address
from compliance.layouts import ColumnMapping, FileRefused, MappingNeeded
from compliance.services.exports import ExportRefused, suppression_export
from compliance.services.import_runs import (
    suppression_import_apply,
    suppression_import_confirm,
    suppression_import_file,
    suppression_import_map,
    suppression_import_preview,
    suppression_import_start,
    suppression_imports_expire,
    suppression_mapping_save,
)
from compliance.services.imports import ImportOutcome, suppressions_import
from compliance.services.optins import (
    Confirmed,
    optin_confirm,
    optin_confirmation_request,
    optin_confirmation_send,
)
from compliance.services.purge import (
    purge_progress_of,
    purge_progress_save,
    purge_receipts_record,
)
from compliance.services.suppressions import (
    OptInRefused,
    optin_check,
    optin_record,
    suppression_record,
)

__all__ = [
    "ColumnMapping",
    "Confirmed",
    "ExportRefused",
    "FileRefused",
    "ImportOutcome",
    "InvalidAddress",
    "MappingNeeded",
    "OptInRefused",
    "normalise_address",
    "optin_confirm",
    "optin_confirmation_request",
    "optin_confirmation_send",
    "optin_check",
    "optin_record",
    "purge_progress_of",
    "purge_progress_save",
    "purge_receipts_record",
    "suppression_export",
    "suppression_import_apply",
    "suppression_import_confirm",
    "suppression_import_file",
    "suppression_import_map",
    "suppression_import_preview",
    "suppression_import_start",
    "suppression_imports_expire",
    "suppression_mapping_save",
    "suppression_record",
    "suppressions_import",
]
