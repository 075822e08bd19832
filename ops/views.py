"""/healthz, /readyz and /metrics (answered by ops.middleware.OperationsEndpoints)."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.log import log_response

from ops.health import readiness
from ops.metrics import metrics_allowed, metrics_page


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request) -> HttpResponse:
    """The process lives and answers; it reads nothing (no database, no broker)."""
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request) -> HttpResponse:
    """Ready for work: 200 when every check in READINESS_CHECKS passes, else 503."""
    report = readiness(now=timezone.now())
    response = _no_store(JsonResponse(report.as_dict(), status=200 if report.ready else 503))
    if not report.ready:
        # One warning with the causes, instead of Django's ERROR line at every probe.
        log_response(
            "Not ready: %s", report.failures, response=response, request=request, level="warning"
        )
    return response


def metrics(request) -> HttpResponse:
    if not metrics_allowed(request):
        return _no_store(
            HttpResponse(
                "metrics: send METRICS_TOKEN as a bearer token or scrape from "
                "METRICS_ALLOWED_NETWORKS\n",
                status=403,
                content_type="text/plain",
            )
        )
    page, content_type = metrics_page(now=timezone.now(), accept=request.headers.get("Accept", ""))
    return _no_store(HttpResponse(page, content_type=content_type))
