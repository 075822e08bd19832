"""Generate a realistic data set at scale in PostgreSQL with COPY, not the ORM:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \
        .venv/bin/python -m bench.generate [--accounts 1000000] [--contacts 10000000] \
        [--suppressions 5000000]

Accounts in every state (mostly active; trials, paused, suspended, cancelled, expired,
purged) across time zones, with dates consistent with the state; billing profiles with their
next billing date, cards and a few ledger entries per paying account; account events (a few
per account and one account, `scale-timeline`, with about 5,000); cancellation requests for
cancelled accounts (a few with an overdue confirmation); contacts and suppressions
(normalised addresses) spread over the open accounts. Plans and reasons are made with the ORM.

Each phase runs in one transaction and records itself in the table `bench_generated`, so a
second run skips what exists; a database holding a data set of another size is refused (use a
fresh database). Rows are written as text blocks through psycopg 3's COPY; columns the
generator does not set get the model field's default. VACUUM (ANALYZE) at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

PREFIX = "scale-"
TIMELINE_USERNAME = "scale-timeline"
TIMELINE_EVENTS = 5_000
BLOCK_ROWS = 50_000
ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
]
# The state mix, per 1,000 accounts.
MIX = [
    ("active", 620),
    ("trial", 80),
    ("paused", 50),
    ("suspended", 40),
    ("cancelled", 110),
    ("expired", 70),
    ("purged", 30),
]
PLANS = [
    ("scale-starter", "Starter", Decimal("15.00"), "USD"),
    ("scale-growth", "Growth", Decimal("45.00"), "USD"),
    ("scale-pro", "Pro", Decimal("120.00"), "USD"),
    ("scale-growth-eur", "Growth (EUR)", Decimal("42.00"), "EUR"),
]
NULL = "\\N"
# The skew (see Generator.sizes): at the full size, 50M suppressions, BIG accounts with 1M to
# 10M contacts and 100k to 1M suppressions; smaller data sets scale these down.
FULL_ACCOUNTS, FULL_CONTACTS, FULL_SUPPRESSIONS = 1_000_000, 60_000_000, 50_000_000
BIG = 10
BIG_CONTACTS = (1_000_000, 10_000_000)
BIG_SUPPRESSIONS = (100_000, 1_000_000)
ALPHA = 1.3
PHASES = ("accounts", "events", "billing", "contacts", "suppressions")


def ts(moment: datetime) -> str:
    return moment.isoformat()


def _text(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        import json

        value = json.dumps(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class Copier:
    """COPY rows into a model's table: `columns` are given per row, every other concrete
    column gets the field's default (the database has no defaults of its own)."""

    def __init__(self, cursor, model, columns: list[str]):
        self.cursor = cursor
        self.columns = columns
        fields = [
            f for f in model._meta.concrete_fields if f.column not in columns and not f.primary_key
        ]
        self.fixed_columns = [f.column for f in fields]
        self.fixed = "".join("\t" + _text(f.get_default()) for f in fields) + "\n"
        names = ", ".join([*columns, *self.fixed_columns])
        self.sql = f"COPY {model._meta.db_table} ({names}) FROM STDIN"
        self.rows = 0

    def write(self, rows) -> int:
        """`rows`: iterable of already-escaped tab-joined strings for `columns`."""
        buffer, count = io.StringIO(), 0
        with self.cursor.copy(self.sql) as copy:
            for row in rows:
                buffer.write(row)
                buffer.write(self.fixed)
                count += 1
                if count % BLOCK_ROWS == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        self.rows += count
        return count


class IndexesAfter:
    """Into an empty table, COPY without its secondary indexes and build them at the end: one
    sorted build per index costs a fraction of maintaining each for every row written (tens of
    millions of rows). The primary key stays (ids arrive in order)."""

    def __init__(self, cursor, table: str):
        self.cursor, self.table, self.definitions = cursor, table, []

    def __enter__(self):
        self.cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.table})")
        if self.cursor.fetchone()[0]:
            return self
        self.cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT "
            "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [self.table],
        )
        self.definitions = self.cursor.fetchall()
        for name, _definition in self.definitions:
            self.cursor.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None and self.definitions:
            # The foreign keys' deferred checks first: an index is not built over rows whose
            # checks are still pending.
            self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            self.cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _name, definition in self.definitions:
                self.cursor.execute(definition)
        return False


class Generator:
    def __init__(
        self, *, accounts: int, contacts: int, suppressions: int, seed: int, now, big: int = BIG
    ):
        self.accounts = accounts
        self.big = big
        self._sizes: dict[int, tuple[int, int]] | None = None
        self.active: set[int] = set()
        self.contacts = contacts
        self.suppressions = suppressions
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.midnights: dict[tuple[str, date], datetime] = {}

    def midnight(self, zone: str, day: date) -> datetime:
        key = (zone, day)
        found = self.midnights.get(key)
        if found is None:
            found = datetime.combine(day, datetime.min.time(), tzinfo=zoneinfo.ZoneInfo(zone))
            found = self.midnights[key] = found.astimezone(UTC)
        return found

    def local_day(self, zone: str, moment: datetime) -> date:
        return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()

    # --- the accounts, in memory as compact tuples ----------------------------------------

    def plan_accounts(self, first_id: int) -> list[tuple]:
        """(id, username, status, zone, created, trial_ends, inactive_since), deterministic."""
        from django.conf import settings

        rng, now = self.rng, self.now
        trial_days = settings.TRIAL_LENGTH.days
        retention = settings.RETENTION_DAYS
        states = [s for s, n in MIX for _ in range(n)]
        rows = []
        for i in range(self.accounts):
            status = states[rng.randrange(len(states))]
            zone = ZONES[rng.randrange(len(ZONES))]
            if i == 0:
                status = "active"
            if status == "trial":
                created = now - timedelta(seconds=rng.randrange((trial_days - 1) * 86400))
            else:
                created = now - timedelta(
                    days=40 + rng.randrange(2000), seconds=rng.randrange(86400)
                )
            first_day = self.local_day(zone, created)
            trial_ends = self.midnight(zone, first_day + timedelta(days=trial_days))
            inactive = None
            if status == "expired":
                inactive = trial_ends
                created = now - timedelta(days=trial_days + 1 + rng.randrange(retention))
                first_day = self.local_day(zone, created)
                trial_ends = inactive = self.midnight(zone, first_day + timedelta(days=trial_days))
            elif status == "cancelled":
                inactive = now - timedelta(
                    days=rng.randrange(retention + 5), hours=rng.randrange(24)
                )
                inactive = max(inactive, trial_ends + timedelta(days=1))
            elif status == "purged":
                inactive = now - timedelta(days=retention + 1 + rng.randrange(400))
                inactive = max(inactive, trial_ends + timedelta(days=1))
            username = TIMELINE_USERNAME if i == 0 else f"{PREFIX}{i:07d}"
            if 0 < i <= self.big:
                # The big senders are among the first accounts: active, paying for years.
                status, inactive = "active", None
            if status == "active":
                self.active.add(first_id + i)
            rows.append((first_id + i, username, status, zone, created, trial_ends, inactive))
        return rows

    def phase_accounts(self, cursor, accounts: list[tuple]) -> int:
        from accounts.models import Account

        copier = Copier(
            cursor,
            Account,
            [
                "id",
                "username",
                "company",
                "primary_email",
                "time_zone",
                "language",
                "status",
                "created_at",
                "trial_ends_at",
                "last_activity_at",
                "inactive_since",
            ],
        )
        rng = self.rng

        def rows():
            for pk, username, status, zone, created, trial_ends, inactive in accounts:
                open_ = status in ("trial", "active", "paused", "suspended")
                activity = self.now - timedelta(hours=rng.randrange(24 * 30)) if open_ else inactive
                yield (
                    f"{pk}\t{username}\tCompany {pk % 50_000}\t{username}@mail{pk % 97}.example\t"
                    f"{zone}\t{'de' if pk % 5 == 0 else 'en'}\t{status}\t{ts(created)}\t"
                    f"{ts(trial_ends) if status in ('trial', 'expired') else NULL}\t"
                    f"{ts(activity) if activity else NULL}\t{ts(inactive) if inactive else NULL}"
                )

        count = copier.write(rows())
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('accounts_account', 'id'), "
            "(SELECT max(id) FROM accounts_account))"
        )
        return count

    def phase_events(self, cursor, accounts: list[tuple]) -> int:
        from accounts.models import AccountEvent

        copier = Copier(
            cursor,
            AccountEvent,
            ["account_id", "at", "kind", "from_status", "to_status", "by_job", "reason"],
        )
        rng = self.rng

        first_paid = {}

        def rows():
            for pk, _u, status, _z, created, trial_ends, inactive in accounts:
                yield f"{pk}\t{ts(created)}\tcreated\t\ttrial\t\tSigned up"
                if status == "trial":
                    continue
                if status == "expired":
                    yield f"{pk}\t{ts(trial_ends)}\texpire_trial\ttrial\texpired\texpire_trials\t"
                    continue
                paid = min(created + timedelta(days=rng.randrange(1, 30)), self.now)
                first_paid[pk] = paid
                yield f"{pk}\t{ts(paid)}\tactivate\ttrial\tactive\t\tFirst payment"
                if status in ("paused", "suspended", "cancelled"):
                    at = inactive or self.now - timedelta(days=rng.randrange(1, 100))
                    at = max(at, paid)
                    kind = {"paused": "pause", "suspended": "suspend"}.get(
                        status, "cancelled_voluntary"
                    )
                    yield f"{pk}\t{ts(at)}\t{kind}\tactive\t{status}\t\t"
                elif status == "purged":
                    yield f"{pk}\t{ts(inactive)}\tcancelled_voluntary\tactive\tcancelled\t\t"
                    purged = inactive + timedelta(days=121)
                    yield f"{pk}\t{ts(purged)}\tpurge\tcancelled\tpurged\tpurge_inactive\t"
            # The account with a long history: thousands of pauses and resumes since it paid.
            pk = accounts[0][0]
            paid = first_paid[pk]
            step = (self.now - paid) / (TIMELINE_EVENTS + 1)
            for n in range(TIMELINE_EVENTS):
                at = paid + step * (n + 1)
                a, b = ("active", "paused") if n % 2 == 0 else ("paused", "active")
                kind = "pause" if n % 2 == 0 else "resume"
                yield f"{pk}\t{ts(at)}\t{kind}\t{a}\t{b}\t\tCustomer asked, call {n}"

        count = copier.write(rows())
        return count + self.purge_receipts(cursor, accounts)

    def purge_receipts(self, cursor, accounts: list[tuple]) -> int:
        """The receipt of each purged account's purge (R7), at its purge event."""
        from compliance.models import PurgeReceipt

        counts = '{"contacts": 0, "campaigns": 0, "hosted_files": 0}'

        def rows():
            for pk, _u, status, _z, _c, _t, inactive in accounts:
                if status != "purged":
                    continue
                purged = ts(inactive + timedelta(days=121))
                yield (
                    f"{pk}\t{purged}\t{purged}\t{ts(inactive)}\t{counts}\tpurge_inactive\t"
                    "purge_inactive (generated)"
                )

        return Copier(
            cursor,
            PurgeReceipt,
            ["account_id", "at", "started_at", "inactive_since", "counts", "by_job", "run"],
        ).write(rows())

    def phase_billing(self, cursor, accounts: list[tuple]) -> int:
        """Profiles with next billing dates and unpaid state, cards, and a few ledger entries
        per paying account; cancellation requests for cancelled accounts."""
        from django.conf import settings

        from accounts.models import AccountEvent, CancellationReason, CancellationRequest
        from billing.models import BillingProfile, Card, CardChargeAttempt, LedgerEntry, Plan

        plans = []
        for code, name, price, currency in PLANS:
            plan, _ = Plan.objects.get_or_create(
                code=code, defaults={"name": name, "monthly_price": price, "currency": currency}
            )
            plans.append(plan)
        reasons = list(CancellationReason.objects.filter(system=False).values_list("pk", flat=True))
        if not reasons:
            reasons = [CancellationReason.objects.create(name="Too expensive").pk]
        system = CancellationReason.objects.filter(system=True).values_list("pk", flat=True)
        system_reason = system.first() or reasons[0]
        rng, now = self.rng, self.now
        unpaid_days = settings.UNPAID_CANCEL_AFTER_DAYS
        profiles, cards, ledger, requests, attempts, events = [], [], [], [], [], []

        def paid_by_card(pk, at, kind, amount, currency, period, description, purpose):
            """A period paid by card, as the billing run writes it: the entry, its card
            payment and the gateway's success, all with the gateway's reference."""
            ref = f"ch_gen_{pk}_{period:%Y%m%d}"
            ledger.append(
                f"{pk}\t{ts(at)}\t{kind}\t{amount}\t{currency}\t{period}\t{description}\t"
                f"{NULL}\tbilling\t{ref}"
            )
            ledger.append(
                f"{pk}\t{ts(at)}\tcard_payment\t{amount}\t{currency}\t{NULL}\tCard payment\t"
                f"{NULL}\tbilling\t{ref}"
            )
            attempts.append(
                f"{pk}\t{ts(at)}\t{purpose}\t{period}\t{amount}\t{currency}\t"
                f"{purpose}:{pk}:{period}:0\tsucceeded\t{ref}\tbilling"
            )

        for pk, _u, status, zone, created, _t, inactive in accounts:
            if status in ("trial", "expired", "purged"):
                continue
            plan = plans[pk % len(plans)]
            prepaid = pk % 4 == 1
            today = self.local_day(zone, now)
            anchor = 1 + pk % 28
            nxt = date(today.year, today.month, anchor)
            if nxt <= today:
                nxt = date(today.year + today.month // 12, today.month % 12 + 1, anchor)
            due = self.midnight(zone, nxt) if status in ("active", "paused") else None
            unpaid = suspended = None
            if status == "suspended":
                suspended = now - timedelta(
                    days=rng.randrange(unpaid_days + 3), hours=rng.randrange(24)
                )
                unpaid = suspended - timedelta(days=3)
            balance = plan.monthly_price * rng.randrange(0, 12) if prepaid else Decimal("0.00")
            closed = NULL
            if status == "cancelled":
                # Billing closed with the account: the balance forfeited (R5).
                balance, closed = Decimal("0.00"), ts(inactive)
            mode = "prepaid" if prepaid else "monthly_card"
            profiles.append(
                f"{pk}\t{plan.pk}\t{mode}\t{anchor}\t"
                f"{nxt.isoformat() if due else NULL}\t{ts(due) if due else NULL}\t{balance}\t"
                f"{ts(unpaid) if unpaid else NULL}\t{'Card declined' if unpaid else ''}\t"
                f"{ts(suspended) if suspended else NULL}\t{ts(suspended) if suspended else NULL}\t"
                f"{closed}"
            )
            if suspended:
                events.append(
                    f"{pk}\t{ts(suspended)}\tsuspension_notice\t\t\tsuspend_unpaid\t"
                    "Suspension notice sent"
                )
            if not prepaid:
                cards.append(
                    f"{pk}\ttok_ok_{pk}\tVisa\t{pk % 10000:04d}\t{1 + pk % 12}\t2031\t{ts(created)}"
                )
            # Two past periods billed (the one before the last for suspended ones).
            for back in (1, 2):
                month = (nxt.month - 1 - back) % 12 + 1
                year = nxt.year - (1 if nxt.month - back < 1 else 0)
                period = date(year, month, anchor)
                at = self.midnight(zone, period) + timedelta(hours=2)
                if at < created or at > now:
                    continue
                fee, fee_currency = settings.PAUSE_FEE, settings.PAUSE_FEE_CURRENCY
                if status == "paused" and back == 1 and prepaid:
                    ledger.append(
                        f"{pk}\t{ts(at)}\tpause_fee\t{fee}\t{fee_currency}\t{period}\t"
                        f"Pause fee, from the prepaid balance\t{balance}\tbilling\t"
                    )
                elif status == "paused" and back == 1:
                    paid_by_card(
                        pk, at, "pause_fee", fee, fee_currency, period, "Pause fee", "pause_fee"
                    )
                elif prepaid:
                    ledger.append(
                        f"{pk}\t{ts(at)}\tprepaid_consumption\t{plan.monthly_price}\t"
                        f"{plan.currency}\t{period}\tMonth consumed\t{balance}\tbilling\t"
                    )
                elif status == "suspended" and back == 1:
                    # Declined: the gateway's answer recorded, nothing in the ledger.
                    attempts.append(
                        f"{pk}\t{ts(at)}\tcharge\t{period}\t{plan.monthly_price}\t"
                        f"{plan.currency}\tcharge:{pk}:{period}:0\tdeclined\t\tbilling"
                    )
                else:
                    paid_by_card(
                        pk,
                        at,
                        "charge",
                        plan.monthly_price,
                        plan.currency,
                        period,
                        plan.name,
                        "charge",
                    )
            if status == "cancelled":
                voluntary = pk % 5 != 0
                overdue = pk % 997 == 0
                sent = NULL if overdue else ts(inactive + timedelta(minutes=10 + pk % 600))
                if not overdue:
                    events.append(
                        f"{pk}\t{sent}\tconfirmation_sent\t\t\tsend_confirmations\t"
                        "Cancellation confirmation sent (R4)"
                    )
                requests.append(
                    f"{pk}\t{ts(inactive)}\t{rng.choice(reasons) if voluntary else system_reason}\t"
                    f"{'t' if voluntary else 'f'}\tcancelled\t{'t' if voluntary else 'f'}\t"
                    f"{'' if voluntary else 'cancel_unpaid'}\t{sent}"
                )
        total = Copier(
            cursor,
            BillingProfile,
            [
                "account_id",
                "plan_id",
                "mode",
                "anchor_day",
                "next_billing_date",
                "due_at",
                "prepaid_balance",
                "unpaid_since",
                "unpaid_reason",
                "suspended_at",
                "notice_sent_at",
                "closed_at",
            ],
        ).write(profiles)
        total += Copier(
            cursor,
            Card,
            ["account_id", "token", "brand", "last4", "exp_month", "exp_year", "added_at"],
        ).write(cards)
        total += Copier(
            cursor,
            LedgerEntry,
            [
                "account_id",
                "at",
                "kind",
                "amount",
                "currency",
                "period",
                "description",
                "prepaid_balance_after",
                "by_job",
                "reference",
            ],
        ).write(ledger)
        total += Copier(
            cursor,
            CardChargeAttempt,
            [
                "account_id",
                "at",
                "purpose",
                "period",
                "amount",
                "currency",
                "idempotency_key",
                "outcome",
                "gateway_reference",
                "by_job",
            ],
        ).write(attempts)
        total += Copier(
            cursor,
            AccountEvent,
            ["account_id", "at", "kind", "from_status", "to_status", "by_job", "reason"],
        ).write(events)
        total += Copier(
            cursor,
            CancellationRequest,
            [
                "account_id",
                "at",
                "reason_id",
                "voluntary",
                "outcome",
                "pause_offered",
                "by_job",
                "confirmation_sent_at",
            ],
        ).write(requests)
        return total

    def _holders(self, accounts: list[tuple]) -> list[int]:
        """Accounts that hold content: everything not purged."""
        return [a[0] for a in accounts if a[2] != "purged"]

    # --- the skew: how many contacts and suppressions each account holds -------------------

    def sizes(self, accounts: list[tuple]) -> dict[int, tuple[int, int]]:
        """{account id: (contacts, suppressions)} of every account holding content, heavy-tailed
        as a provider's accounts are: a few big senders (the `big` tier, log-spaced from the top
        of BIG_CONTACTS/BIG_SUPPRESSIONS down to their bottom, scaled with the data set), and
        everyone else along a Pareto curve (alpha ALPHA) so that most hold a few dozen. Each
        total is met exactly (cumulative rounding); deterministic for a seed."""
        if self._sizes is not None:
            return self._sizes
        holders = self._holders(accounts)
        # The big senders: the first holders after the timeline account, all active.
        big = [pk for pk in holders[1:] if pk in self.active][: self.big]
        scale = self.suppressions / FULL_SUPPRESSIONS
        chosen = set(big)
        rest = [pk for pk in holders if pk not in chosen]
        self.rng.shuffle(rest)  # whose rank is whose: not the order of ids

        def tier(low: int, high: int) -> list[int]:
            low, high = max(1, round(low * scale)), max(1, round(high * scale))
            if len(big) == 1:
                return [high]
            return [round(high * (low / high) ** (n / (len(big) - 1))) for n in range(len(big))]

        def spread(total: int) -> list[int]:
            """`total` over `rest` by rank along the Pareto curve, exactly."""
            m = len(rest)
            if not m or total <= 0:
                return [0] * m
            weights = [(m / (r + 1)) ** (1 / ALPHA) for r in range(m)]
            factor = total / sum(weights)
            out, cumulative, before = [], 0.0, 0
            for w in weights:
                cumulative += w * factor
                now = round(cumulative)
                out.append(now - before)
                before = now
            return out

        big_contacts = tier(*BIG_CONTACTS)
        big_suppressions = tier(*BIG_SUPPRESSIONS)
        # A data set too small for its big tier gives it at most half of each total.
        for values, total in ((big_contacts, self.contacts), (big_suppressions, self.suppressions)):
            if sum(values) > total // 2:
                shrink = (total // 2) / max(sum(values), 1)
                values[:] = [int(v * shrink) for v in values]
        contacts = spread(self.contacts - sum(big_contacts))
        suppressions = spread(self.suppressions - sum(big_suppressions))
        sizes = {pk: (c, s) for pk, c, s in zip(big, big_contacts, big_suppressions, strict=True)}
        sizes.update(zip(rest, zip(contacts, suppressions, strict=True), strict=True))
        self._sizes = sizes
        return sizes

    def describe_sizes(self, accounts: list[tuple]) -> str:
        """The per-account figures: percentiles, the share under 1,000 contacts, the biggest."""
        sizes = self.sizes(accounts)
        lines = [f"per account, over {len(sizes):,} accounts holding content:"]
        for i, label in enumerate(("contacts", "suppressions")):
            ordered = sorted(v[i] for v in sizes.values())
            n = len(ordered)

            def at(q: float, ordered=ordered, n=n) -> int:
                return ordered[min(n - 1, int(q * n))]

            lines.append(
                f"  {label}: median {at(0.5):,}, p90 {at(0.9):,}, p99 {at(0.99):,}, "
                f"p99.9 {at(0.999):,}, max {ordered[-1]:,}; total {sum(ordered):,}"
            )
        under = sum(1 for c, _s in sizes.values() if c < 1000)
        lines.append(f"  accounts under 1,000 contacts: {under:,} ({under / len(sizes):.1%})")
        usernames = {a[0]: a[1] for a in accounts}
        top = sorted(sizes.items(), key=lambda item: -item[1][0])[:12]
        lines.append(
            "  the biggest: "
            + "; ".join(
                f"{usernames[pk]} {c:,} contacts / {s:,} suppressions" for pk, (c, s) in top
            )
        )
        return "\n".join(lines)

    def phase_contacts(self, cursor, accounts: list[tuple]) -> int:
        from accounts.models import Contact

        sizes = self.sizes(accounts)
        created = ts(self.now - timedelta(days=30))

        def rows():
            i = 0
            for pk, (count, _s) in sizes.items():
                for _ in range(count):
                    yield f"{pk}\tperson{i}@example{i % 1013}.com\tPerson {i}\t{created}"
                    i += 1

        # Tens of millions of rows: the email indexes are built once after the COPY (the
        # lower-case one would otherwise take each row at a random place).
        with IndexesAfter(cursor, Contact._meta.db_table):
            count = Copier(cursor, Contact, ["account_id", "email", "name", "created_at"]).write(
                rows()
            )
        self.record_sizes(cursor, accounts)
        return count

    def record_sizes(self, cursor, accounts: list[tuple]) -> None:
        """The big accounts and their sizes in `bench_accounts`, for the benchmarks that look
        at one account's size (admin pages of a big account) without counting 50M rows."""
        sizes = self.sizes(accounts)
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_accounts (account_id bigint PRIMARY KEY, "
            "contacts bigint, suppressions bigint)"
        )
        cursor.execute("DELETE FROM bench_accounts")
        top = sorted(sizes.items(), key=lambda item: -item[1][0])[:100]
        with cursor.copy("COPY bench_accounts FROM STDIN") as copy:
            for pk, (c, s) in top:
                copy.write(f"{pk}\t{c}\t{s}\n")

    def phase_suppressions(self, cursor, accounts: list[tuple]) -> int:
        from compliance.models import SOURCE_CODES, SOURCE_REASON, Suppression, SuppressionSource

        sizes = self.sizes(accounts)
        # As the table stores them: the sources' letters (SOURCE_CODES), the reasons' codes.
        sources = [
            SuppressionSource.UNSUBSCRIBE_LINK,
            SuppressionSource.UNSUBSCRIBE_LINK,
            SuppressionSource.BOUNCE,
            SuppressionSource.COMPLAINT,
            SuppressionSource.IMPORT,
        ]
        codes = [SOURCE_CODES[source] for source in sources]
        reasons = [SOURCE_REASON[source].value for source in sources]
        base = self.now - timedelta(days=700)

        def rows():
            i = 0
            for pk, (_c, count) in sizes.items():
                for _ in range(count):
                    # Normalised: trimmed and lower-case. One address in ten arrived with
                    # capitals: the row keeps it as received; the others arrived as their key
                    # and keep none (NULL, Suppression.received_to_store).
                    key = f"person{i}@example{i % 1013}.com"
                    received = key.capitalize() if i % 10 == 0 else "\\N"
                    at = ts(base + timedelta(seconds=i * 11 % (700 * 86400)))
                    source, reason = codes[i % len(codes)], reasons[i % len(codes)]
                    yield (f"{pk}\t{received}\t{key}\t{source}\t{reason}\t{at}\t\tunsubscribe")
                    i += 1

        with IndexesAfter(cursor, Suppression._meta.db_table):
            return Copier(
                cursor,
                Suppression,
                [
                    "account_id",
                    "address",
                    "normalised",
                    "source",
                    "reason",
                    "at",
                    "evidence",
                    "by_job",
                ],
            ).write(rows())


def _size_text(n: int) -> str:
    return f"{n:,}"


def generate(
    *,
    accounts: int,
    contacts: int,
    suppressions: int,
    seed: int = 7,
    verbose: bool = True,
    phases: tuple[str, ...] = PHASES,
) -> dict:
    """Fill the database; returns {phase: {"rows", "seconds"}} of the phases run now. `phases`
    limits the run to some phases (a later run with all of them writes the rest)."""
    from django.db import connection, transaction
    from django.utils import timezone

    def say(message: str) -> None:
        if verbose:
            print(message, flush=True)

    if connection.vendor != "postgresql":
        raise SystemExit("the generator writes with COPY: set DATABASE_URL=postgres://…")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_generated (phase text PRIMARY KEY, size bigint, "
            "rows bigint, seconds double precision, at timestamptz, seed integer)"
        )
        cursor.execute("SELECT phase, size, at FROM bench_generated")
        done = {phase: (size, at) for phase, size, at in cursor.fetchall()}
    sizes = dict(zip(PHASES, (accounts, accounts, accounts, contacts, suppressions), strict=True))
    if "accounts" in done and done["accounts"][0] != accounts:
        raise SystemExit(
            f"this database holds a data set of {done['accounts'][0]:,} accounts, not "
            f"{accounts:,}: generate into a fresh database"
        )
    generated_at = done["accounts"][1] if "accounts" in done else timezone.now()
    gen = Generator(
        accounts=accounts,
        contacts=contacts,
        suppressions=suppressions,
        seed=seed,
        now=generated_at,
    )
    report: dict[str, dict] = {}
    todo = [p for p in sizes if p in phases and (p not in done or done[p][0] != sizes[p])]
    first_id = None
    if "accounts" in done:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM accounts_account WHERE username = %s", [TIMELINE_USERNAME]
            )
            first_id = cursor.fetchone()[0]
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM accounts_account")
            first_id = cursor.fetchone()[0]
    started = time.perf_counter()
    plan = gen.plan_accounts(first_id)
    say(f"planned {accounts:,} accounts in {time.perf_counter() - started:.1f}s")
    say(gen.describe_sizes(plan))
    if not todo:
        say(f"data set of {accounts:,} accounts exists: nothing to do")
        return report
    for phase in todo:
        if phase in done:
            raise SystemExit(
                f"{phase} exists at another size ({done[phase][0]:,}): generate into a fresh "
                "database"
            )
        say(f"{phase}: writing…")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            rows = getattr(gen, f"phase_{phase}")(cursor.cursor, plan)
            seconds = time.perf_counter() - started
            cursor.execute(
                "INSERT INTO bench_generated VALUES (%s, %s, %s, %s, %s, %s)",
                [phase, sizes[phase], rows, seconds, generated_at, seed],
            )
        report[phase] = {"rows": rows, "seconds": round(seconds, 1)}
        say(f"{phase}: {rows:,} rows in {seconds:.1f}s ({rows / max(seconds, 1e-9):,.0f} rows/s)")
    started = time.perf_counter()
    # As autovacuum leaves freshly inserted tables (visibility map set, so index-only scans
    # stay in the index) and with fresh statistics; inside a transaction (tests) only ANALYZE.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(command)
    say(f"{command} in {time.perf_counter() - started:.1f}s")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=FULL_ACCOUNTS)
    parser.add_argument("--contacts", type=int, default=FULL_CONTACTS)
    parser.add_argument("--suppressions", type=int, default=FULL_SUPPRESSIONS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases to write now (default: all); a later run writes the rest",
    )
    args = parser.parse_args()
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    if unknown := set(phases) - set(PHASES):
        parser.error(f"unknown phase {', '.join(sorted(unknown))}: choose from {', '.join(PHASES)}")

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate(
        accounts=args.accounts,
        contacts=args.contacts,
        suppressions=args.suppressions,
        seed=args.seed,
        phases=phases,
    )
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
