"""The client's address, as the staff login throttle (django-axes) and the public endpoints see
it: behind the TLS proxy, the address the proxy received the request from, never the proxy's.

Each proxy in front of the web process appends the address it received from to
``X-Forwarded-For``, so with N proxies the client is the N-th entry from the right; what a client
writes into the header itself sits further left and is never taken. Without proxies the header
is ignored (anyone can send it) and the connection's address counts.

django-ipware counts only the proxies *listed* in the header (the last one is the connection
itself), hence ``proxies - 1`` below; its strict mode would drop a header a client had already
filled (a corporate proxy does), and put that client at the proxy's address together with
everyone else, so it is off (``IPWARE_STRICT``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
CONNECTION = "REMOTE_ADDR"


def ipware_settings(proxies: int) -> tuple[int | None, tuple[str, ...]]:
    """(AXES_IPWARE_PROXY_COUNT, AXES_IPWARE_META_PRECEDENCE_ORDER) for `proxies` proxies in
    front of the web process (setting AXES_PROXY_COUNT; 1 behind the documented TLS proxy)."""
    if proxies < 0:
        raise ValueError("the number of proxies cannot be negative")
    if proxies == 0:
        return None, (CONNECTION,)
    return proxies - 1, (FORWARDED_FOR, CONNECTION)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address by the same settings django-axes reads, or None when the request
    carries none (a Unix socket without a proxy header)."""
    address, _routable = get_client_ip(
        request,
        proxy_count=settings.AXES_IPWARE_PROXY_COUNT,
        request_header_order=settings.AXES_IPWARE_META_PRECEDENCE_ORDER,
        strict=settings.IPWARE_STRICT,
    )
    return address


def client_ip_for_limits(request: HttpRequest) -> str:
    """The address the public endpoints' rate limits count by (RATELIMIT_IP_META_KEY); requests
    without one share a single count."""
    return client_ip(request) or "0.0.0.0"
