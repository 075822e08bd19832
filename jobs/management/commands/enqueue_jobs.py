"""`manage.py enqueue_jobs [NAME ...]`: hand jobs to the workers now, as beat would."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from jobs.registry import JOBS, UnknownJob, get_job
from jobs.tasks import run_job


class Command(BaseCommand):
    help = "Queue scheduled jobs for the Celery workers now (all of them when none is named)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*")

    def handle(self, *args, names, **options):
        try:
            jobs = [get_job(n) for n in names] if names else sorted(JOBS.values(), key=str)
        except UnknownJob as exc:
            raise CommandError(str(exc)) from None
        for job in jobs:
            run_job.delay(job.name)
        self.stdout.write(
            _("queued %(count)s job(s): %(jobs)s")
            % {"count": len(jobs), "jobs": ", ".join(j.name for j in jobs)}
        )
