"""`manage.py purge_inactive [--as-of ISO] [--dry-run]`: the purge job (R7) by hand; the dry
run lists every account it would purge with what it would delete."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import accounts_due_for_purge, purge_day
from core.progress import Progress
from jobs.management.commands.runjob import parse_as_of
from jobs.models import JobRun
from jobs.services import job_run
from workflows.purge import purge_preview


class Command(BaseCommand):
    help = "Purge accounts inactive for more than the retention period (R7), or list them."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="as if it were this moment (ISO, UTC if naive)")
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args, as_of=None, dry_run=False, **options):
        moment = parse_as_of(as_of) if as_of else timezone.now()
        if dry_run:
            total = 0
            for account, counts in purge_preview(accounts=accounts_due_for_purge(as_of=moment)):
                total += 1
                what = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
                self.stdout.write(
                    f"{account.username:40} {account.status:9} "
                    + _("purge day %(day)s: %(what)s") % {"day": purge_day(account), "what": what}
                )
            self.stdout.write(
                _("would purge %(count)s accounts as of %(moment)s")
                % {"count": total, "moment": moment.isoformat()}
            )
            return
        with Progress(
            total=None, label="purge_inactive", unit="accounts", stream=self.stderr
        ) as progress:
            run = job_run(
                name="purge_inactive",
                as_of=moment,
                dry_run=False,
                trigger=JobRun.Trigger.COMMAND,
                progress=progress.advance,
            )
        counts = ", ".join(f"{k}={v}" for k, v in run.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"purge_inactive as of {moment.isoformat()}: {counts}")
        )
