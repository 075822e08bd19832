"""Compliance writes: suppressions and opt-ins (R9), hand-over exports (R10), imports of other
providers' lists, purge (R7) and legal holds.

Other apps import from here: ``from compliance.services import suppression_record``.
"""

from compliance.addresses import InvalidAddress, normalise_address
from compliance.layouts import ColumnMapping, FileRefused, MappingNeeded
from compliance.selectors import is_suppressed
from compliance.services.exports import ExportRefused, suppression_export
from compliance.services.import_runs import (
    suppression_import_apply,
    suppression_import_file,
    suppression_import_map,
    suppression_import_preview,
    suppression_import_start,
    suppression_mapping_save,
)
from compliance.services.imports import ImportOutcome, suppressions_import
from compliance.services.legal_hold import (
    LegalHoldError,
    account_legal_hold_release,
    account_legal_hold_set,
)
from compliance.services.purge import account_purge, accounts_purge_due, purge_preview
from compliance.services.suppressions import (
    OptInRefused,
    optin_record,
    optin_record_from_signup,
    suppression_record,
)

__all__ = [
    "suppression_import_file",
    "ColumnMapping",
    "ExportRefused",
    "FileRefused",
    "MappingNeeded",
    "ImportOutcome",
    "InvalidAddress",
    "LegalHoldError",
    "OptInRefused",
    "account_legal_hold_release",
    "account_legal_hold_set",
    "account_purge",
    "accounts_purge_due",
    "is_suppressed",
    "normalise_address",
    "optin_record",
    "optin_record_from_signup",
    "purge_preview",
    "suppression_export",
    "suppression_import_apply",
    "suppression_import_map",
    "suppression_import_preview",
    "suppression_import_start",
    "suppression_mapping_save",
    "suppression_record",
    "suppressions_import",
]
