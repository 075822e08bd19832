"""Middleware of the operations app."""

from __future__ import annotations

from django.http import HttpResponseNotAllowed

from ops import views
from ops.logs import current_request, request_id, request_id_from

ENDPOINTS = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


class OperationsEndpoints:
    """Answers /healthz, /readyz and /metrics first of all: before the host check (probes
    and scrapers call a process by its address, not the site's name), the HTTPS redirect
    (they speak plain HTTP inside the network), sessions, and the request metrics (a probe
    every few seconds would drown the staff's requests in them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request)


class RequestContext:
    """Gives every request an id (a sane X-Request-ID from the proxy, or a new one) that its
    log lines carry and the response returns, and remembers the request so that log lines can
    name the staff user (ops.logs.ContextFilter)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get("X-Request-ID"))
        tokens = request_id.set(request.request_id), current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(tokens[0])
            current_request.reset(tokens[1])
        response["X-Request-ID"] = request.request_id
        return response
