"""`manage.py import_suppressions --account USERNAME FILE [--dry-run] [--layout KEY]
[--mapping NAME | --address-column C [--status-column C --suppressed-values V,V]
[--date-column C] [--reason R]]`: add another provider's unsubscribe list to an account's
suppressions, any file size (imports only add, R9). The layout is recognised from the file;
`--layout` chooses one where two exports look alike; a file no layout matches is read with a
saved column mapping or one given here."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.layouts import CHOOSABLE, NAMES
from compliance.management.commands._common import account_by_username, command_actor
from compliance.models import SuppressionMapping, SuppressionReason
from compliance.services import ColumnMapping, FileRefused, MappingNeeded, suppression_import_file
from core.progress import Progress

REASONS = {r.token: r.value for r in SuppressionReason}


class Command(BaseCommand):
    help = (
        "Import an unsubscribe list (Mailchimp, Constant Contact, SendGrid, Amazon SES, "
        "Mailgun, listmonk, HubSpot, Brevo, Klaviyo, Campaign Monitor, ActiveCampaign, "
        "Mautic, a hand-over export, a plain list, or any table with a column mapping)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="the account's username")
        parser.add_argument("file", help="the exported list (CSV, or SES's JSON)")
        parser.add_argument(
            "--dry-run", action="store_true", help="only say what the import would do"
        )
        parser.add_argument(
            "--layout",
            choices=CHOOSABLE,
            default="",
            help="read the file as this layout instead of recognising it",
        )
        parser.add_argument("--mapping", default="", help="a saved column mapping, by name")
        parser.add_argument("--address-column", default="", help="mapping: the address column")
        parser.add_argument("--status-column", default="", help="mapping: the status column")
        parser.add_argument(
            "--suppressed-values",
            default="",
            help="mapping: values of the status column that mean suppressed, comma-separated",
        )
        parser.add_argument("--date-column", default="", help="mapping: the date column")
        parser.add_argument(
            "--reason",
            choices=sorted(REASONS),
            default="unsubscribe",
            help="mapping: the reason of every suppressed row",
        )

    def _mapping(self, options) -> ColumnMapping | None:
        if options["mapping"]:
            saved = SuppressionMapping.objects.filter(name=options["mapping"]).first()
            if saved is None:
                raise CommandError(
                    _("no saved column mapping named %(name)s") % {"name": repr(options["mapping"])}
                )
            return ColumnMapping.from_dict(saved.as_dict())
        if not options["address_column"]:
            return None
        try:
            return ColumnMapping(
                address_column=options["address_column"],
                status_column=options["status_column"],
                suppressed_values=tuple(
                    v.strip() for v in options["suppressed_values"].split(",") if v.strip()
                ),
                date_column=options["date_column"],
                reason=REASONS[options["reason"]],
            )
        except FileRefused as exc:
            raise CommandError(_("%(problem)s; nothing was written") % {"problem": exc}) from None

    def handle(self, *args, account, file, dry_run, layout, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("no such file: %(file)s") % {"file": file})
        target = account_by_username(account)
        mapping = self._mapping(options)
        by = command_actor("import_suppressions")
        now = timezone.now()
        progress = Progress(
            total=None,
            label=_("reading %(file)s") % {"file": path.name},
            unit=_("rows"),
            stream=self.stderr,
        )

        def rows_read(bytes_read: int, rows: int) -> None:
            progress.advance(rows - progress.done)

        try:
            # One transaction: a refused file leaves no trace but the message.
            with progress:
                outcome = suppression_import_file(
                    account=target,
                    path=path,
                    by=by,
                    now=now,
                    dry_run=dry_run,
                    progress=rows_read,
                    layout=layout,
                    mapping=mapping,
                )
        except MappingNeeded as exc:
            columns = ", ".join(repr(c["name"]) for c in exc.columns)
            raise CommandError(
                _(
                    "%(file)s: %(problem)s; nothing was written. Its columns: %(columns)s. Give "
                    "--address-column (and --status-column with --suppressed-values, "
                    "--date-column), or --mapping NAME of a mapping saved in the admin"
                )
                % {"file": path.name, "problem": exc, "columns": columns}
            ) from None
        except FileRefused as exc:
            raise CommandError(
                _("%(file)s: %(problem)s; nothing was written")
                % {"file": path.name, "problem": exc}
            ) from None
        for line, reason in outcome.problems:
            self.stderr.write(_("line %(line)s: %(error)s") % {"line": line, "error": reason})
        if outcome.rejected > len(outcome.problems):
            self.stderr.write(
                _("… and %(count)s more bad rows")
                % {"count": outcome.rejected - len(outcome.problems)}
            )
        for line, note in outcome.notices:
            self.stderr.write(_("line %(line)s: %(error)s") % {"line": line, "error": note})
        because = _(outcome.because) % outcome.because_args if outcome.because else ""
        name = str(NAMES.get(outcome.layout, outcome.layout))
        self.stdout.write(
            _("%(file)s: read as %(layout)s (because of %(because)s)")
            % {"file": path.name, "layout": name, "because": because}
        )
        # The reasons by their tokens (unsubscribe, hard_bounce): what --reason takes.
        reasons = ", ".join(
            f"{r.token} {outcome.reasons[r.value]}"
            for r in SuppressionReason
            if outcome.reasons.get(r.value)
        )
        if reasons:
            self.stdout.write(
                _("rows read as suppressed, by reason: %(reasons)s") % {"reasons": reasons}
            )
        self.stdout.write(
            _("%(file)s (%(layout)s) for %(account)s: %(summary)s")
            % {
                "file": path.name,
                "layout": outcome.layout,
                "account": target.username,
                "summary": outcome.summary(),
            }
        )
