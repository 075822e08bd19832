"""`manage.py export_suppressions --account USERNAME --purpose TEXT [--format csv|md5|sha256]
[--output FILE]`: an account's unsubscribe list for hand-over (R10), streamed, recorded.
Progress goes to standard error (a bar on a terminal), the list to the file or standard output."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.management.commands._common import account_by_username, command_actor
from compliance.models import ExportFormat, SuppressionExport
from compliance.services import ExportRefused, suppression_export
from core.progress import Progress


class Command(BaseCommand):
    help = "Export an account's unsubscribe list (CSV or hashed) for compliance hand-over."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="the account's username")
        parser.add_argument("--purpose", required=True, help="why (CAN-SPAM: hand-over only)")
        parser.add_argument("--format", default="csv", choices=ExportFormat.values)
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, account, purpose, format, output, **options):
        target = account_by_username(account)
        progress = Progress(
            total=None, label=f"exporting {target.username}", unit="rows", stream=self.stderr
        )
        try:
            stream = suppression_export(
                account=target,
                purpose=purpose,
                fmt=format,
                by=command_actor("export_suppressions"),
                now=timezone.now(),
                progress=progress.advance,
            )
        except ExportRefused as exc:
            raise CommandError(str(exc)) from None
        out = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
        with progress:
            try:
                for chunk in stream:
                    out.write(chunk)
            finally:
                stream.close()
                if output:
                    out.close()
                else:
                    out.flush()
        if output:
            self.stderr.write(
                _("unsubscribe list of %(account)s written to %(file)s")
                % {"account": target.username, "file": output}
            )
        record = SuppressionExport.objects.filter(account=target).order_by("-at", "-id").first()
        if record is not None and record.hash_only:
            self.stderr.write(
                _(
                    "%(count)s of its entries are hash-only (erased addresses: only their "
                    "SHA-256 and MD5 are kept)"
                )
                % {"count": record.hash_only}
            )
