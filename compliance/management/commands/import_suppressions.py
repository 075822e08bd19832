"""`manage.py import_suppressions --account USERNAME FILE [--dry-run]`: add another provider's
unsubscribe list to an account's suppressions, any file size (imports only add, R9)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from compliance.management.commands._common import account_by_username, command_actor
from compliance.services import FileRefused, suppression_import_file
from core.progress import Progress


class Command(BaseCommand):
    help = "Import an unsubscribe list (Mailchimp, Constant Contact, SendGrid, listmonk, plain)."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="the account's username")
        parser.add_argument("file", help="the exported list (CSV)")
        parser.add_argument(
            "--dry-run", action="store_true", help="only say what the import would do"
        )

    def handle(self, *args, account, file, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        target = account_by_username(account)
        by = command_actor("import_suppressions")
        now = timezone.now()
        progress = Progress(
            total=None, label=f"reading {path.name}", unit="rows", stream=self.stderr
        )

        def rows_read(bytes_read: int, rows: int) -> None:
            progress.advance(rows - progress.done)

        try:
            # One transaction: a refused file leaves no trace but the message.
            with progress:
                outcome = suppression_import_file(
                    account=target, path=path, by=by, now=now, dry_run=dry_run, progress=rows_read
                )
        except FileRefused as exc:
            raise CommandError(f"{path.name}: {exc}; nothing was written") from None
        for line, reason in outcome.problems:
            self.stderr.write(f"line {line}: {reason}")
        if outcome.rejected > len(outcome.problems):
            self.stderr.write(f"… and {outcome.rejected - len(outcome.problems)} more bad rows")
        self.stdout.write(
            f"{path.name} ({outcome.layout}) for {target.username}: {outcome.summary()}"
        )
