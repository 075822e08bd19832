"""The demo shows what an operator finds after a bad night: a purge run with a batch given
up, in the job runs and in /metrics."""

import random

import pytest
from django.utils import timezone

from jobs.models import JobRun
from ops import demo

pytestmark = pytest.mark.django_db


def test_demo_has_a_failed_purge_batch_that_the_metrics_count(scrape):
    summary = demo.seed(rng=random.Random(2026), now=timezone.now(), count=10)

    run = JobRun.objects.get(job="purge_inactive")
    assert "purge run" in summary
    assert run.outcome == JobRun.Outcome.FAILED and "Gave up after 5 attempts" in run.error
    page = scrape()
    assert page.value("backoffice_job_batches_failed_total", job="purge_inactive") == 1
