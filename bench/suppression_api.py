"""Benchmark of the sending platform's suppression API over HTTP, on PostgreSQL, beside its
anchor (issue "suppression list as a service", item 6):

- the check: calls of 10,000 addresses each to gunicorn with two workers, one client calling
  after the other and two clients at once, against an account with a large list in the data
  set of `python -m bench.generate` (5,000,000 suppressions); its anchor is the single
  hand-written `= ANY(%s)` query with the same opt-in rule (R9) over the same addresses,
  already normalised, measured in the same run on one connection;
- the record call: requests/s with two gunicorn workers, each call a new event.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench \\
        .venv/bin/python -m bench.suppression_api [--list 500000] [--calls 40] [--runs 3]

It adds its own account (bench-api-…) with `--list` suppressions, a few opt-ins lifting some
and a few erased (hashed) entries, and starts gunicorn on 127.0.0.1:`--port`; nothing is
cleaned up (suppressions are never deleted): use a database you can drop.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

from bench.harness import write_section  # noqa: E402

BATCH = 10_000
# Share of a send batch already on the list (the rest are new addresses).
LISTED_SHARE = 0.2
BASE = datetime(2025, 6, 1, tzinfo=UTC)


def listed(i: int, tag: str) -> str:
    return f"Listed.{i}+{tag}@Shop{i % 211}.example"


def fresh(i: int, tag: str) -> str:
    return f"reader.{i}.{tag}@mail{i % 97}.example"


# --- Data (in the driving process, not measured) --------------------------------------------


def setup(list_size: int, calls: int, seed: int = 11) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from accounts.models import Account
    from api.services import api_key_create
    from compliance.addresses import hashed_key, md5_hex
    from compliance.models import SOURCE_CODES, SuppressionSource
    from core.actors import Actor

    api = SOURCE_CODES[SuppressionSource.API]  # as the table stores it
    tag = uuid.uuid4().hex[:8]
    account = Account.objects.create(
        username=f"bench-api-{tag}", primary_email="bench@example.com", status="active"
    )
    user = User.objects.create_superuser(f"bench-api-{tag}", password=uuid.uuid4().hex)
    _key, presented = api_key_create(
        integration="bench",
        description="benchmark",
        can_check=True,
        can_record=True,
        by=Actor.staff(user),
        now=datetime.now(UTC),
    )
    reasons = "uuubc"
    erased = set(range(0, list_size, max(1, list_size // 100)))
    buffer = io.StringIO()
    for i in range(list_size):
        address = listed(i, tag)
        key = address.lower()
        at = (BASE + timedelta(seconds=i * 7)).isoformat()
        if i in erased:
            address, key = "md5:" + md5_hex(key), hashed_key(key)
        buffer.write(f"{account.pk}\t{address}\t{key}\t{api}\t{reasons[i % 5]}\t{at}\t\tbench\n")
    with connection.cursor() as cursor:
        buffer.seek(0)
        with cursor.cursor.copy(
            "COPY compliance_suppression (account_id, address, normalised, source, reason, at, "
            "evidence, by_job) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        # One in a hundred listed addresses opted in again later (R9): no longer suppressed.
        optins = io.StringIO()
        for i in range(1, list_size, 100):
            key = listed(i, tag).lower()
            at = (BASE + timedelta(days=3650)).isoformat()
            optins.write(
                f"{account.pk}\t{key}\t{key}\t{at}\tdouble_opt_in\tbench\tbench\t{at}\tbench\n"
            )
        with cursor.cursor.copy(
            "COPY compliance_optin (account_id, address, normalised, at, method, origin, "
            "evidence, recorded_at, by_job) FROM STDIN"
        ) as copy:
            copy.write(optins.getvalue())
        cursor.execute("ANALYZE compliance_suppression")
        cursor.execute("ANALYZE compliance_optin")
        cursor.execute("SELECT count(*) FROM compliance_suppression")
        (total,) = cursor.fetchone()
    rng = random.Random(seed)
    batches = []
    for call in range(calls):
        batch = [
            listed(rng.randrange(list_size), tag)
            if rng.random() < LISTED_SHARE
            else fresh(call * BATCH + n, tag)
            for n in range(BATCH)
        ]
        batches.append(batch)
    return {
        "account": account.pk,
        "key": presented,
        "batches": batches,
        "suppressions_total": total,
        "tag": tag,
    }


# --- The server -----------------------------------------------------------------------------


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "API_CHECK_RATE_PER_KEY": "1000000/m",
        "API_RECORD_RATE_PER_KEY": "1000000/m",
        "LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "backoffice.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


# --- Clients (measured) -----------------------------------------------------------------------


def _client_calls(port: int, key: str, path: str, bodies: list[bytes]) -> tuple[float, int]:
    """Post each body over one kept-alive connection; (seconds, addresses suppressed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    suppressed = 0
    started = time.perf_counter()
    for body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"{path} answered {response.status}: {answer[:300]!r}")
        if path.endswith("check"):
            suppressed += len(json.loads(answer)["suppressed"])
    return time.perf_counter() - started, suppressed


def clients(port: int, key: str, path: str, bodies: list[bytes], n: int) -> tuple[float, int]:
    """`n` clients at once, each with its share of the bodies; (wall seconds, suppressed)."""
    if n == 1:
        return _client_calls(port, key, path, bodies)
    shares = [bodies[i::n] for i in range(n)]
    with ProcessPoolExecutor(n) as pool:
        started = time.perf_counter()
        results = list(pool.map(_client_calls, [port] * n, [key] * n, [path] * n, shares))
        return time.perf_counter() - started, sum(r[1] for r in results)


def anchor(account: int, batches: list[list[str]]) -> tuple[float, int]:
    """The single hand-written `= ANY(%s)` query with R9's opt-in rule, on keys normalised
    beforehand (lower-cased) and their hashes (erased entries), one call after the other on
    one connection."""
    import psycopg

    from compliance.addresses import hashed_key

    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    sql = """
        SELECT DISTINCT ON (s.normalised) s.normalised, s.at, s.reason
        FROM compliance_suppression s
        WHERE s.account_id = %s AND s.normalised = ANY(%s) AND s.at <= %s
          AND NOT EXISTS (SELECT 1 FROM compliance_optin o WHERE o.account_id = s.account_id
                          AND o.normalised = s.normalised AND o.at >= s.at AND o.at <= %s)
        ORDER BY s.normalised, s.at, s.id
    """
    keys = [[a.lower() for a in batch] for batch in batches]
    keys = [batch + [hashed_key(k) for k in batch] for batch in keys]
    found = 0
    # Plans made for each call's values (psycopg's automatic prepared statements would switch
    # to a generic plan after five calls, which probes every account's rows: seconds a call).
    with psycopg.connect(url, prepare_threshold=None) as connection, connection.cursor() as cursor:
        now = datetime.now(UTC)
        cursor.execute(sql, [account, keys[0], now, now])  # warm, like the server's first call
        started = time.perf_counter()
        for batch in keys:
            cursor.execute(sql, [account, batch, now, now])
            found += len(cursor.fetchall())
        return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", type=int, default=500_000, help="suppressions of the account")
    parser.add_argument("--calls", type=int, default=40, help="check calls per measurement")
    parser.add_argument("--records", type=int, default=4000, help="record calls per measurement")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=19015)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")

    load = os.getloadavg()[0]
    data = setup(args.list, args.calls + 1)
    account, key, tag = data["account"], data["key"], data["tag"]
    warm, batches = data["batches"][0], data["batches"][1:]
    bodies = [json.dumps({"account": account, "addresses": b}).encode() for b in batches]
    addresses = BATCH * len(batches)
    server = start_gunicorn(args.port)
    try:
        # Warm both workers (imports, connections, plans) before anything is timed.
        warm_body = json.dumps({"account": account, "addresses": warm}).encode()
        clients(args.port, key, "/api/v1/suppressions/check", [warm_body] * 4, 2)
        one, two, raw = [], [], []
        for _ in range(args.runs):
            one.append(clients(args.port, key, "/api/v1/suppressions/check", bodies, 1))
            two.append(clients(args.port, key, "/api/v1/suppressions/check", bodies, 2))
            raw.append(anchor(account, batches))
        assert {r[1] for r in one} == {r[1] for r in two} == {r[1] for r in raw}, (
            "the API and the anchor found different suppressions",
            one,
            two,
            raw,
        )
        records = []
        for run in range(args.runs):
            events = [
                json.dumps(
                    {
                        "account": account,
                        "event_id": f"bench-{tag}-{run}-{n}",
                        "address": f"unsub.{run}.{n}.{tag}@mail{n % 89}.example",
                        "reason": "unsubscribe",
                        "evidence": "List-Unsubscribe mailto",
                    }
                ).encode()
                for n in range(args.records)
            ]
            records.append(clients(args.port, key, "/api/v1/suppressions", events, 4))
    finally:
        server.terminate()
        server.wait(timeout=30)

    def median_seconds(results):
        return sorted(r[0] for r in results)[len(results) // 2]

    s1, s2, sa, sr = (median_seconds(x) for x in (one, two, raw, records))
    rate1, rate2, rate_a = addresses / s1, addresses / s2, addresses / sa
    rows = [
        [
            "check, 10,000 addresses a call, one client",
            f"{rate1:,.0f} addresses/s ({s1 / len(batches) * 1000:.0f} ms a call)",
            f"one `= ANY(%s)` query {rate_a:,.0f} addresses/s",
            f"{rate1 / rate_a:.2f}×",
            "≥ 100,000/s, ≥ 0.75×",
        ],
        [
            "check, 10,000 addresses a call, two clients at once",
            f"{rate2:,.0f} addresses/s",
            f"one `= ANY(%s)` query {rate_a:,.0f} addresses/s",
            f"{rate2 / rate_a:.2f}×",
            "≥ 100,000/s, ≥ 0.75×",
        ],
        [
            "record, one event a call, four clients",
            f"{args.records / sr:,.0f} requests/s",
            "",
            "",
            "",
        ],
    ]
    suppressed = one[0][1]
    write_section(
        "suppression_api",
        "Sending platform: the suppression API over HTTP",
        rows,
        ["what", "ours", "anchor", "ratio", "goal"],
        notes=(
            f"Median of {args.runs} runs of {len(batches)} check calls each (of {len(batches)} "
            f"different batches, {LISTED_SHARE:.0%} of each on the list; {suppressed:,} "
            "suppressed in all, the same for the API and the anchor), against gunicorn with "
            "two workers (`-w 2`, DEBUG off) on this machine, clients and PostgreSQL on the "
            f"same two cores. The account has {args.list:,} suppressions (1% erased, kept as "
            "hashes; 1% of the addresses opted in again), among "
            f"{data['suppressions_total']:,} in the database. Ours is end to end: the client "
            "encodes the JSON, the server checks the key and the rate, reads and normalises "
            "every address (trimmed, lower-case, IDNA), asks for each address in clear and "
            "as its hash in one query with R9's rule (compliance.selectors."
            "suppressions_checked), answers JSON, and the client reads it. The anchor is one "
            "connection running the hand-written query on the same addresses, lower-cased "
            "beforehand, and their hashes in the same array (so that it finds the erased ones "
            "too), with plans made for each call's values (psycopg's automatic prepared "
            "statements switch to a generic plan after five calls, which takes seconds here). "
            f"Record: {args.records:,} events a run, each a new event id and "
            "address, from four client processes at once. Load average before the run "
            f"{load:.2f} (the machine was shared with other work)."
        ),
    )


if __name__ == "__main__":
    main()
