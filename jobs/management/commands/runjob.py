"""`manage.py runjob NAME [--as-of ISO-DATETIME] [--dry-run]`: run a scheduled job by hand.

A job that reports progress shows a bar on a terminal and plain lines on standard error
otherwise (see core.progress)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.progress import Progress
from jobs.models import JobRun
from jobs.registry import JOBS, UnknownJob, get_job, reports_progress
from jobs.services import InvalidAsOf, job_run, parse_as_of


class Command(BaseCommand):
    help = "Run a scheduled job now, optionally as of another moment or as a dry run."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="the job to run; leave out to list them")
        parser.add_argument("--as-of", help="run as if it were this moment (ISO, UTC if naive)")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be done, change nothing"
        )

    def handle(self, *args, name=None, as_of=None, dry_run=False, **options):
        if not name:
            for job in sorted(JOBS.values(), key=lambda j: j.name):
                self.stdout.write(f"{job.name:22} {job.description}")
            return
        try:
            job = get_job(name)
        except UnknownJob as exc:
            raise CommandError(str(exc)) from None
        try:
            moment = parse_as_of(as_of) if as_of else timezone.now()
        except InvalidAsOf as exc:
            raise CommandError(str(exc)) from None
        progress = (
            Progress(total=None, label=name, unit="items", stream=self.stderr)
            if reports_progress(job)
            else None
        )
        try:
            run = job_run(
                name=name,
                as_of=moment,
                dry_run=dry_run,
                trigger=JobRun.Trigger.COMMAND,
                progress=progress.advance if progress else None,
            )
        except Exception as exc:
            if progress:
                progress.close(failed=True)
            raise CommandError(
                _("job %(job)s failed: %(error)s") % {"job": name, "error": exc}
            ) from exc
        if progress:
            progress.close()
        # The counts keep their names (key=value): scripts and the job runs' page read them.
        counts = ", ".join(f"{k}={v}" for k, v in run.counts.items()) or _("nothing to do")
        done = (
            _("%(job)s as of %(moment)s: would do: %(counts)s")
            if dry_run
            else _("%(job)s as of %(moment)s: done: %(counts)s")
        )
        self.stdout.write(
            self.style.SUCCESS(done % {"job": name, "moment": moment.isoformat(), "counts": counts})
        )
