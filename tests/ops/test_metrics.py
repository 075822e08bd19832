"""/metrics: who may read it, the request and database metrics, and the business gauges
after known actions, computed by the selectors the dashboard and admin lists use."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import AccountStatus
from compliance.models import SuppressionImport
from jobs import services
from jobs.models import JobBatch, JobRun
from jobs.registry import JOBS
from ops import gauges
from ops.metrics import ApiOutcome, api_call_count
from ops.services import BEAT, heartbeat_record
from tests.accounts.factories import CancellationRequestFactory
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory
from tests.ops.conftest import TOKEN

pytestmark = pytest.mark.django_db
S = AccountStatus


# --- Who may read it ------------------------------------------------------------------------


def test_metrics_are_refused_without_the_token_or_an_allowed_network(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_metrics_answer_a_scraper_from_an_allowed_network_without_a_token(client, settings):
    import ipaddress

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]

    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 403


def test_with_neither_token_nor_network_nobody_reads_the_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_probes_and_scrapers_are_answered_by_address_over_plain_http(client, settings):
    # given production settings: one host name, HTTPS only
    settings.ALLOWED_HOSTS = ["backoffice.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = TOKEN

    # when a probe and a scraper call the process by its address, over plain HTTP
    health = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    metrics = client.get(
        "/metrics", HTTP_HOST="10.1.2.3:8000", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )

    # then they are answered, while the admin still insists on its name and on HTTPS
    assert (health.status_code, metrics.status_code) == (200, 200)
    assert client.get("/admin/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.get("/admin/", HTTP_HOST="backoffice.example.com").status_code == 301


def test_metrics_speak_openmetrics_when_the_scraper_asks(scrape, client):
    response = client.get(
        "/metrics",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ACCEPT="application/openmetrics-text; version=1.0.0",
    )

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")["Content-Type"] == (
        "text/plain; version=0.0.4; charset=utf-8"
    )


# --- Requests and the database --------------------------------------------------------------


def test_requests_by_status_and_database_queries_are_counted(scrape, client):
    before = scrape()
    ok = ("django_http_responses_total_by_status_total", (("status", "200"),))
    found = ("django_http_responses_total_by_status_total", (("status", "404"),))
    queries = (
        "django_db_execute_total",
        (("alias", "default"), ("vendor", connection.vendor)),
    )

    client.get("/admin/login/")
    client.get("/no-such-page/")
    client.get("/admin/login/")
    after = scrape()

    assert after.samples[ok] - before.samples.get(ok, 0) == 2
    assert after.samples[found] - before.samples.get(found, 0) == 1
    assert after.samples[queries] > before.samples[queries]
    assert after.labelled("django_http_requests_latency_seconds_by_view_method_count")


def test_probes_and_scrapes_are_not_counted_among_the_requests(scrape, client):
    before = scrape()
    for _ in range(3):
        client.get("/healthz")

    after = scrape()

    total = "django_http_requests_before_middlewares_total"
    assert after.samples[(total, ())] == before.samples[(total, ())]


# --- The suppression API's calls ------------------------------------------------------------


def test_suppression_api_calls_are_counted_by_endpoint_and_outcome(scrape):
    before = scrape()

    outcomes = [
        api_call_count(endpoint="check", status=200, addresses=500),
        api_call_count(endpoint="check", status=200, addresses=20),
        api_call_count(endpoint="check", status=422),
        api_call_count(endpoint="record", status=401),
        api_call_count(endpoint="record", status=429),
        api_call_count(endpoint="record", status=503),
    ]
    after = scrape()

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    calls = "backoffice_suppression_api_calls_total"
    assert outcomes == ["answered", "answered", "refused", "unauthorised", "throttled", "failed"]
    assert delta(calls, endpoint="check", outcome="answered") == 2
    assert delta(calls, endpoint="check", outcome="refused") == 1
    assert delta(calls, endpoint="record", outcome="unauthorised") == 1
    assert delta(calls, endpoint="record", outcome="throttled") == 1
    assert delta(calls, endpoint="record", outcome="failed") == 1
    assert delta("backoffice_suppression_api_addresses_total", endpoint="check") == 520
    # every pair is there from the start, so a rate can be taken before the first call
    assert len(after.labelled(calls)) == 2 * len(ApiOutcome)


def test_an_unknown_api_endpoint_is_refused_not_counted():
    with pytest.raises(ValueError):
        api_call_count(endpoint="export", status=200)


# --- The business gauges ---------------------------------------------------------------------


def failing(**kwargs):
    raise RuntimeError("the gateway is down")


def test_business_gauges_after_known_actions_R4_R7_R11(scrape, monkeypatch, settings):
    now = timezone.now().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        # accounts in known states
        AccountFactory.create_batch(3, status=S.ACTIVE)
        AccountFactory.create_batch(2, status=S.TRIAL, trial_ends_at=now + timedelta(days=9))
        AccountFactory(status=S.PAUSED)
        # R4: one confirmation unsent for 30 hours, one for 2 hours, one sent on time
        CancellationRequestFactory(at=now - timedelta(hours=30), confirmation_sent_at=None)
        CancellationRequestFactory(at=now - timedelta(hours=2), confirmation_sent_at=None)
        CancellationRequestFactory(
            at=now - timedelta(hours=30), confirmation_sent_at=now - timedelta(hours=29)
        )
        # R7: inactive for 200 days (due), the same under a legal hold, 10 days (kept)
        AccountFactory(status=S.EXPIRED, inactive_since=now - timedelta(days=200))
        AccountFactory(
            status=S.CANCELLED, inactive_since=now - timedelta(days=200), legal_hold=True
        )
        AccountFactory(status=S.CANCELLED, inactive_since=now - timedelta(days=10))
        # R11: suspended for non-payment 10, 45 and 100 days
        for days in (10, 45, 100):
            BillingProfileFactory(
                account=AccountFactory(status=S.SUSPENDED),
                suspended_at=now - timedelta(days=days),
                unpaid_since=now - timedelta(days=days + 1),
            )
        # jobs: snapshot_states succeeded, then a run of it failed; an expire_trials run
        # planned with two batches, one of them abandoned by its worker; send_confirmations,
        # every 5 minutes, has not run for a day: late
        succeeded = services.job_run(
            name="snapshot_states", as_of=now, dry_run=False, trigger=JobRun.Trigger.COMMAND
        )
        monkeypatch.setitem(
            JOBS, "snapshot_states", dataclasses.replace(JOBS["snapshot_states"], function=failing)
        )
        with pytest.raises(RuntimeError):
            services.job_run(
                name="snapshot_states", as_of=now, dry_run=False, trigger=JobRun.Trigger.COMMAND
            )
        settings.JOB_BATCH_SIZES = {"expire_trials": 1}
        AccountFactory.create_batch(2, status=S.TRIAL, trial_ends_at=now - timedelta(hours=1))
        planned = services.job_run_plan(
            name="expire_trials", as_of=now, dry_run=False, trigger=JobRun.Trigger.COMMAND
        )
        first = planned.batch_set.order_by("number").first()
        assert services.job_batch_claim(batch_id=first.pk, now=now - timedelta(minutes=10))
        PeriodicTask.objects.filter(task="jobs.run_job").update(date_changed=now)
        PeriodicTask.objects.filter(name="send_confirmations").update(
            date_changed=now - timedelta(days=1)
        )
        # an unsubscribe-list import reading its file; beat heard 5 seconds ago
        SuppressionImport.objects.create(
            account=AccountFactory(), file_name="list.csv", created_at=now, status="importing"
        )
        heartbeat_record(name=BEAT, now=now - timedelta(seconds=5))

        page = scrape()

    # R4
    assert page.value("backoffice_confirmations_overdue") == 1
    assert page.value("backoffice_confirmations_pending") == 1
    # every state, also those with no account
    states = page.labelled("backoffice_accounts")
    assert {dict(labels)["state"]: value for labels, value in states.items()} == {
        "trial": 2 + 2,
        "active": 3 + 1,  # and the import's account
        "paused": 1,
        "suspended": 3,
        "cancelled": 3 + 2,  # the three requests' accounts, the held and the recent one
        "expired": 1,
        "purged": 0,
    }
    # R7
    assert page.value("backoffice_accounts_due_for_purge") == 1
    # R11
    assert page.value("backoffice_accounts_suspended_unpaid", days="0-30") == 1
    assert page.value("backoffice_accounts_suspended_unpaid", days="31-60") == 1
    assert page.value("backoffice_accounts_suspended_unpaid", days="61-90") == 0
    assert page.value("backoffice_accounts_suspended_unpaid", days="91+") == 1
    # jobs
    succeeded.refresh_from_db()
    assert page.value(
        "backoffice_job_last_success_timestamp_seconds", job="snapshot_states"
    ) == pytest.approx(succeeded.finished_at.timestamp())
    assert ("backoffice_job_last_success_timestamp_seconds", (("job", "run_billing"),)) not in (
        page.samples
    )
    assert page.value("backoffice_job_batches_failed_total", job="snapshot_states") == 1
    assert page.value("backoffice_job_batches_failed_total", job="run_billing") == 0
    unfinished = "backoffice_job_batches_unfinished"
    assert page.value(unfinished, job="expire_trials", state="abandoned") == 1
    assert page.value(unfinished, job="expire_trials", state="pending") == 1
    assert page.value(unfinished, job="expire_trials", state="running") == 0
    late = page.labelled("backoffice_job_late")
    assert {dict(labels)["job"]: value for labels, value in late.items()} == {
        job: 1 if job == "send_confirmations" else 0 for job in JOBS
    }
    # imports, beat, and the scrape's own health
    assert page.value("backoffice_suppression_imports_running") == 1
    assert (
        page.value("backoffice_beat_last_heard_timestamp_seconds")
        == (now - timedelta(seconds=5)).timestamp()
    )
    assert page.value("backoffice_metrics_collect_errors") == 0


def test_the_gauges_count_with_the_selectors_the_dashboard_shows_R4(scrape, admin_client):
    now = timezone.now()
    CancellationRequestFactory.create_batch(
        2, at=now - timedelta(hours=25), confirmation_sent_at=None
    )

    page = scrape()
    dashboard = admin_client.get("/admin/").content.decode()

    overdue = int(page.value("backoffice_confirmations_overdue"))
    assert overdue == 2
    assert f"<title>Overdue now: {overdue}</title>" in dashboard


def test_a_failing_gauge_leaves_the_rest_of_the_page_and_is_counted(scrape, monkeypatch):
    def broken(*, now):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM no_such_table")
        yield from ()

    monkeypatch.setattr(gauges, "GAUGES", [broken, *gauges.GAUGES])
    AccountFactory(status=S.PAUSED)

    page = scrape()

    assert page.value("backoffice_metrics_collect_errors") == 1
    assert page.value("backoffice_accounts", state="paused") == 1


def test_the_scrape_reads_as_many_queries_with_many_accounts_as_with_few(scrape):
    AccountFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        scrape()
    AccountFactory.create_batch(30, status=S.CANCELLED, inactive_since=timezone.now())
    CancellationRequestFactory.create_batch(5, confirmation_sent_at=None)

    with CaptureQueriesContext(connection) as many:
        scrape()

    assert len(many) == len(few)


def test_the_scrape_queries_are_bounded_by_a_statement_timeout(scrape):
    if connection.vendor != "postgresql":
        pytest.skip("statement timeouts are PostgreSQL's")
    with CaptureQueriesContext(connection) as captured:
        scrape()

    assert any("statement_timeout" in query["sql"] for query in captured.captured_queries)


@pytest.mark.redis
def test_queue_length_counts_the_tasks_waiting_in_each_jobs_queue(scrape):
    from backoffice.celery import app

    # given a schedule that routes its job to a queue of its own, and three tasks waiting there
    queue = f"test-ops-{uuid.uuid4().hex[:8]}"
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(
        name=f"routed {queue}", task="jobs.sweep", interval=every_hour, queue=queue
    )
    for _ in range(3):
        app.send_task("jobs.sweep", queue=queue)
    try:
        # when Prometheus scrapes
        page = scrape()
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)

    # then the queue's length is there, and the default queue's
    assert page.value("backoffice_celery_queue_length", queue=queue) == 3
    assert ("backoffice_celery_queue_length", (("queue", "celery"),)) in page.samples


def test_an_unreachable_broker_leaves_the_gauges_and_is_counted(scrape, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    AccountFactory(status=S.TRIAL)

    page = scrape()

    assert page.value("backoffice_metrics_collect_errors") == 1
    assert page.value("backoffice_accounts", state="trial") == 1
    assert not page.labelled("backoffice_celery_queue_length")


def test_a_batch_abandoned_by_its_worker_counts_as_abandoned_not_running():
    from jobs.selectors import batches_unfinished_by_job

    now = timezone.now()
    run = JobRun.objects.create(
        job="run_billing", as_of=now, trigger="schedule", started_at=now, batches=2
    )
    JobBatch.objects.create(run=run, number=1, state="running", heartbeat_at=now)
    JobBatch.objects.create(
        run=run, number=2, state="running", heartbeat_at=now - timedelta(minutes=5)
    )

    counts = batches_unfinished_by_job(now=now)

    assert counts[("run_billing", "running")] == 1
    assert counts[("run_billing", "abandoned")] == 1
    assert counts[("run_billing", "pending")] == 0
