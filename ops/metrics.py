"""/metrics in Prometheus' text format: this process's (or, with PROMETHEUS_MULTIPROC_DIR,
every process's on this host) request and database metrics from django-prometheus, the
suppression API's calls by outcome, the broker's queue lengths, and the business gauges
(ops.gauges), computed at each scrape.

Access is by a bearer token (METRICS_TOKEN) or from the networks in METRICS_ALLOWED_NETWORKS
(the scraper's own address, not a forwarded one); with neither, nobody.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum

from celery import current_app as app
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from kombu.exceptions import ChannelError
from prometheus_client import REGISTRY, CollectorRegistry, Counter, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from ops import gauges
from ops.selectors import celery_queues

logger = logging.getLogger(__name__)

# No `_created` series beside each counter: they double the page and no alert reads them.
disable_created_metrics()

# A scrape's queries are cut off after this long (PostgreSQL): a slow gauge must not pile up
# scrapes on the database. Prometheus waits 10 s for a scrape by default.
STATEMENT_TIMEOUT_MS = 5000
BROKER_TIMEOUT = 1.0


# --- The suppression API's calls -----------------------------------------------------------


class ApiEndpoint(StrEnum):
    """The sending platform's suppression API: the bulk check before a send, and the
    record of an unsubscribe, bounce or complaint."""

    CHECK = "check"
    RECORD = "record"


class ApiOutcome(StrEnum):
    ANSWERED = "answered"  # 2xx: checked, or recorded
    REFUSED = "refused"  # 400/404/409/413/422: bad input, named in the answer
    UNAUTHORISED = "unauthorised"  # 401/403: no or a wrong API key
    THROTTLED = "throttled"  # 429
    FAILED = "failed"  # 5xx: our error


API_CALLS = Counter(
    "backoffice_suppression_api_calls",
    "Calls of the suppression API by endpoint and outcome",
    ["endpoint", "outcome"],
)
API_ADDRESSES = Counter(
    "backoffice_suppression_api_addresses",
    "Addresses checked or recorded through the suppression API, by endpoint",
    ["endpoint"],
)
for _endpoint in ApiEndpoint:
    API_ADDRESSES.labels(_endpoint.value)
    for _outcome in ApiOutcome:
        API_CALLS.labels(_endpoint.value, _outcome.value)


def api_outcome(status: int) -> ApiOutcome:
    """The outcome an HTTP status of the API stands for."""
    if status < 400:
        return ApiOutcome.ANSWERED
    if status in (401, 403):
        return ApiOutcome.UNAUTHORISED
    if status == 429:
        return ApiOutcome.THROTTLED
    if status < 500:
        return ApiOutcome.REFUSED
    return ApiOutcome.FAILED


def api_call_count(*, endpoint: str, status: int, addresses: int = 0) -> ApiOutcome:
    """Count one call of the suppression API that answered `status`, with the number of
    addresses it checked or recorded. The API's views call this once per call."""
    endpoint = ApiEndpoint(endpoint)  # a closed list: an unknown endpoint is a ValueError
    outcome = api_outcome(status)
    API_CALLS.labels(endpoint.value, outcome.value).inc()
    if addresses and outcome is ApiOutcome.ANSWERED:
        API_ADDRESSES.labels(endpoint.value).inc(addresses)
    return outcome


# --- Access --------------------------------------------------------------------------------


def metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
            return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in settings.METRICS_ALLOWED_NETWORKS)


# --- The page ------------------------------------------------------------------------------


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue the jobs use, as the broker counts them."""

    options = {"socket_connect_timeout": BROKER_TIMEOUT, "socket_timeout": BROKER_TIMEOUT}
    lengths = {}
    with app.connection_for_read(url=settings.CELERY_BROKER_URL, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
        channel = conn.default_channel
        for queue in celery_queues():
            try:
                lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # never declared, or empty and gone: nothing waits
                lengths[queue] = 0
    return lengths


class BusinessCollector:
    """The business gauges and the queue lengths, computed when collected. A gauge whose
    query fails is left out (and counted in backoffice_metrics_collect_errors), the rest of
    the page is still served."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        errors = 0
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                for gauge in gauges.GAUGES:
                    try:
                        with transaction.atomic():
                            families = list(gauge(now=self.now))
                    except DatabaseError as exc:
                        errors += 1
                        logger.warning("metrics: gauge %s failed: %s", gauge.__name__, exc)
                        continue
                    yield from families
        except DatabaseError as exc:
            errors += 1
            logger.warning("metrics: the database is unreachable: %s", exc)
        try:
            lengths = queue_lengths()
        except Exception as exc:  # kombu raises the transport's own errors
            errors += 1
            logger.warning("metrics: the broker is unreachable: %s", exc)
        else:
            family = GaugeMetricFamily(
                "backoffice_celery_queue_length",
                "Messages waiting in the broker queue (tasks no worker has taken yet)",
                labels=["queue"],
            )
            for queue, length in sorted(lengths.items()):
                family.add_metric([queue], length)
            yield family
        yield GaugeMetricFamily(
            "backoffice_metrics_collect_errors",
            "Gauges (and the broker) that could not be read for this scrape",
            value=errors,
        )
        yield GaugeMetricFamily(
            "backoffice_metrics_collect_seconds",
            "Time this scrape took to compute the business gauges and queue lengths",
            value=time.perf_counter() - started,
        )


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's on this host in multiprocess mode."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
        return registry
    return REGISTRY


class Page:
    """The process's metrics, then the business gauges, as one collection."""

    def __init__(self, *, now: datetime) -> None:
        self.sources = (process_registry(), BusinessCollector(now=now))

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def metrics_page(*, now: datetime, accept: str = "") -> tuple[bytes, str]:
    """The page and its content type, in the format the scraper asked for (Prometheus'
    text format, or OpenMetrics)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(Page(now=now)), content_type
