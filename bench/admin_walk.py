"""Every admin page, from the admin registry, not a chosen list: for each registered model the
changelist, each choice of each of its filters, the search box with a realistic term (one per
search field: a big account's username, an address of its list, a reference of its rows), the
last page, and the change page of a big account's row (the account itself, its profile, its
cards, a ledger entry, a suppression, ...), each requested as the role that uses it (the first
staff role with the model's view permission; a superuser for what no role sees). Goal: every
page under 300 ms median on the skewed data set of `bench.generate`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \
        .venv/bin/python -m bench.admin_walk [--runs 5] [--only SUBSTRING] [--no-write]

Each page is requested once untimed (its queries captured), then `--runs` times (once when the
untimed request took over 3 s: a slow page is slow); the median is kept. It prints every page,
then the slowest twenty with the queries that make each figure (the slowest two, with their
time), and rewrites its section of bench/README.md with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

GOAL_MS = 300.0
# A filter with more choices than this (a foreign key to a million rows) is walked this far.
CHOICES_PER_FILTER = 12
SLOW_FIRST_S = 3.0


@dataclass
class Page:
    label: str
    url: str
    role: str
    median_ms: float = 0.0
    # This process's CPU time for the request (the view, the templates, the client): on a
    # shared machine the wall time is this plus the queries plus the wait for a core.
    cpu_ms: float = 0.0
    status: int = 0
    queries: list[tuple[float, str]] = field(default_factory=list)


def big_account():
    """The biggest account of the data set (bench_accounts, written by bench.generate)."""
    from django.db import connection

    from accounts.models import Account

    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id FROM bench_accounts ORDER BY contacts DESC LIMIT 1")
        row = cursor.fetchone()
    if row is None:
        raise SystemExit("no bench_accounts table: generate the data set with bench.generate")
    return Account.objects.get(pk=row[0])


def role_users() -> dict[str, object]:
    """A staff user per role (and a superuser), each with a confirmed second factor."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core.roles import ROLES

    User = get_user_model()
    users = {}
    for role in ROLES:
        user, _ = User.objects.get_or_create(
            username=f"walk-{role.lower()}", defaults={"is_staff": True}
        )
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    users["superuser"], _ = User.objects.get_or_create(
        username="walk-superuser", defaults={"is_staff": True, "is_superuser": True}
    )
    return users


def role_of(model, users: dict) -> str:
    from django.contrib.auth import get_permission_codename

    from core.roles import ROLES

    opts = model._meta
    for role in ROLES:
        user = users[role]
        for action in ("view", "change"):
            if user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}"):
                return role
    return "superuser"


def account_field(model):
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is not None:
            from accounts.models import Account

            if f.related_model is Account:
                return f
    return None


def a_row(model_admin, request, account):
    """A row of the big account in this admin's list (else the newest row)."""
    from accounts.models import Account

    model = model_admin.model
    queryset = model_admin.get_queryset(request).order_by()
    if model is Account or issubclass(model, Account):
        found = queryset.filter(pk=account.pk).first()
        if found is not None:
            return found
    link = account_field(model)
    if link is not None:
        pk = queryset.filter(**{link.attname: account.pk}).values_list("pk", flat=True)[:1]
        found = queryset.filter(pk__in=list(pk)).first()
        if found is not None:
            return found
    return queryset.order_by("-pk").first()


def search_term(model_admin, request, spec: str, row, account) -> str | None:
    path = spec.lstrip("=^@")
    if path.endswith("username"):
        return account.username
    if row is None:
        return None
    value = row
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return str(value)[:60] or None


def pages(users: dict, account) -> list[Page]:
    from django.contrib import admin
    from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
    from django.test import RequestFactory
    from django.urls import reverse

    factory = RequestFactory()
    found: list[Page] = []
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label
    ):
        opts = model._meta
        role = role_of(model, users)
        name = str(opts.verbose_name_plural)
        base = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        request = factory.get(base)
        request.user = users[role]
        if not model_admin.has_view_or_change_permission(request):
            continue
        found.append(Page(f"{name}: list", base, role))
        try:
            changelist = model_admin.get_changelist_instance(request)
        except Exception as error:  # noqa: BLE001 - a page that cannot be built is reported
            print(f"{name}: changelist failed ({error})", flush=True)
            continue
        for spec in changelist.filter_specs:
            title = str(getattr(spec, "title", "filter"))
            for n, choice in enumerate(spec.choices(changelist)):
                if n >= CHOICES_PER_FILTER:
                    break
                if choice.get("selected") or choice["query_string"] in ("", "?"):
                    continue
                found.append(
                    Page(
                        f"{name}: {title} = {choice['display']}",
                        base + choice["query_string"],
                        role,
                    )
                )
        row = a_row(model_admin, request, account)
        for spec in model_admin.get_search_fields(request):
            term = search_term(model_admin, request, spec, row, account)
            if term:
                found.append(
                    Page(
                        f"{name}: search {spec.lstrip('=^@')}",
                        f"{base}?{urlencode({SEARCH_VAR: term})}",
                        role,
                    )
                )
        pages_count = changelist.paginator.num_pages
        if pages_count > 1:
            found.append(
                Page(
                    f"{name}: last page ({pages_count:,})", f"{base}?{PAGE_VAR}={pages_count}", role
                )
            )
        if row is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            found.append(Page(f"{name}: change page of {row}"[:90], change, role))
    return found


def measure(client, page: Page, runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.url)
        response.content  # noqa: B018
    first = time.perf_counter() - started
    page.status = response.status_code
    page.queries = sorted(
        ((float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries), reverse=True
    )
    timings, cpu = [first * 1000], [0.0]
    if first < SLOW_FIRST_S:
        timings, cpu = [], []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(page.url).content  # noqa: B018
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
    page.median_ms = statistics.median(timings)
    page.cpu_ms = statistics.median(cpu)


def short(sql: str, n: int = 160) -> str:
    return " ".join(sql.split())[:n].replace("|", "\\|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="only pages whose label has this")
    parser.add_argument("--no-write", action="store_true", help="print, leave README alone")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    if connection.vendor != "postgresql":
        raise SystemExit("run the benchmarks on PostgreSQL (DATABASE_URL=postgres://…)")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    load = os.getloadavg()[0]
    account = big_account()
    users = role_users()
    from bench.harness import staff_login

    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        staff_login(clients[role], user)
    started = time.perf_counter()
    walk = [p for p in pages(users, account) if args.only in p.label]
    print(f"{len(walk)} pages ({time.perf_counter() - started:.0f}s to list them)", flush=True)
    for page in walk:
        measure(clients[page.role], page, args.runs)
        slowest = page.queries[0] if page.queries else (0.0, "")
        print(
            f"{page.median_ms:8.0f} ms (cpu {page.cpu_ms:4.0f}) {page.status} {page.role:10} "
            f"{page.label[:70]:70} "
            f"{len(page.queries):3} q, slowest {slowest[0]:.0f} ms",
            flush=True,
        )
    ranked = sorted(walk, key=lambda p: -p.median_ms)
    over = [p for p in walk if p.median_ms >= GOAL_MS]
    failed = [p for p in walk if p.status not in (200, 302)]
    print(f"\n{len(walk) - len(over)} of {len(walk)} pages under {GOAL_MS:.0f} ms; the slowest:")
    rows = []
    for page in ranked[:20]:
        print(f"{page.median_ms:8.0f} ms  {page.role:10} {page.label}  {page.url}")
        for ms, sql in page.queries[:2]:
            print(f"          {ms:7.0f} ms  {short(sql, 300)}")
        rows.append(
            [
                page.label.replace("|", "\\|"),
                page.role,
                f"{page.median_ms:,.0f} ms",
                f"{page.cpu_ms:,.0f} ms",
                f"{sum(ms for ms, _sql in page.queries):,.0f} ms",
                f"{page.median_ms / GOAL_MS:.2f}×",
                str(len(page.queries)),
                "; ".join(f"{ms:,.0f} ms `{short(sql, 110)}`" for ms, sql in page.queries[:2]),
            ]
        )
    if failed:
        print("answered neither 200 nor a redirect: " + ", ".join(p.url for p in failed))
    if args.no_write or args.only:
        return
    from bench.harness import write_section

    with connection.cursor() as cursor:
        cursor.execute("SELECT phase, rows FROM bench_generated ORDER BY phase")
        generated = ", ".join(f"{phase} {rows:,}" for phase, rows in cursor.fetchall())
    write_section(
        "admin_walk",
        "Every admin page: the slowest twenty",
        rows,
        ["page", "as", "median", "CPU here", "queries' time", "of 300 ms", "queries", "slowest"],
        notes=(
            f"{len(walk)} pages from the admin registry (every changelist, each filter choice, "
            "a search per search field with a realistic term, the last page, the change page "
            f"of a row of the biggest account, {account.username}), each as the first role "
            f"with the model's view permission; median of {args.runs} requests through Django's "
            f"test client, DEBUG off (one request for a page whose first took over "
            f"{SLOW_FIRST_S:.0f} s); queries captured on an untimed first request. CPU here is "
            "the walking process's CPU time per request (view, templates, test client; median), "
            "queries' time the sum of the untimed request's query times: on a shared machine "
            "the rest of the wall time is the wait for a core. "
            f"{len(walk) - len(over)} of {len(walk)} pages under {GOAL_MS:.0f} ms"
            + (
                "; over it: " + ", ".join(f"{p.label} ({p.median_ms:,.0f} ms)" for p in over)
                if over
                else ""
            )
            + (
                ". Neither 200 nor a redirect: " + ", ".join(p.label for p in failed)
                if failed
                else ""
            )
            + f". Data set (rows): {generated}. Load average before the walk {load:.2f}."
        ),
    )


if __name__ == "__main__":
    main()
