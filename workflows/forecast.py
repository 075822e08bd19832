"""The forecast of one account: every dated thing the system will do to it if nothing else
changes, computed by the system's own code (issue 14).

The forecast is a dry run. Inside a transaction that is always rolled back, the scheduled
jobs run against a simulated clock, each over this one account's due items only, at the
moments beat would start them; what they write for the account (timeline events, ledger
entries, card charge attempts) is read back as the forecast, then the rollback takes every
row back. No rule is written twice: what a job does is what its own code does.

The jobs themselves sit above this layer (the jobs framework); the caller hands them in as
``ForecastJob``: a name, the job's schedule, whether the account has items due as of a moment,
and how to run the job for the account as of a moment (``jobs.forecast`` builds them from the
registry and beat's schedules).

The clock does not tick every minute: between two job runs nothing changes, and each job's
"has items due" only turns true as time passes (a billing date, a trial end, a retention
window is reached), so the first scheduled moment at which a job is due is found by asking
its due selection at many of its scheduled moments in the window at once (on PostgreSQL one
subquery, planned once, run per moment), narrowing in, and only as closely as needed to know
which job comes first; that job runs then, and the search starts again from there. A job that
stays due after running (a card the gateway cannot reach) runs again at each of its scheduled
moments, as it would. A job whose selection is coarser than what its run does (cancel_unpaid:
the local day decides) has the moment it acts found by its own dry run, then run.

What it assumes, and says (``Forecast.assumptions``): nobody acts (no payment, no staff
action, no card change); with the built-in test gateway, its deterministic outcome for the card
on file (a declining token declines at every try); with a real gateway, that the card is
charged successfully (nothing is sent to it). Mail is kept in the simulation (core.simulation),
never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import INACTIVE_STATUSES, Account, AccountEvent, EventKind
from billing.gateway import (
    ChargeResult,
    PaymentGateway,
    TestGateway,
    configured_gateway,
    simulated_gateway,
)
from billing.models import CardChargeAttempt, EntryKind, LedgerEntry
from core.localtime import local_date
from core.simulation import simulation

# The default window of a forecast, in days (the 120); longer is allowed.
DEFAULT_DAYS = 120
LONGEST_DAYS = 3 * 366
# A job that stays due after each run runs again at each of its scheduled moments; past this
# many runs in one forecast the simulation stops and says so (no real account needs it).
MAX_RUNS = 3000

# The rule behind each kind of entry (SPEC R1–R12).
EVENT_RULES: dict[str, str] = {
    EventKind.EXPIRE_TRIAL: "R1",
    EventKind.CONFIRMATION_SENT: "R4",
    EventKind.SUSPEND: "R11",
    EventKind.SUSPENSION_NOTICE: "R11",
    EventKind.CANCELLED_INVOLUNTARY: "R11",
    EventKind.CANCELLED_VOLUNTARY: "R2",
    EventKind.PURGE: "R7",
    EventKind.PAUSE: "R8",
    EventKind.RESUME: "R8",
    EventKind.UNSUSPEND: "R11",
    EventKind.REACTIVATE: "R7",
    EventKind.ADDON_CANCELLED: "R6",
}
LEDGER_RULES: dict[str, str] = {
    EntryKind.CHARGE: "R3",
    EntryKind.CARD_PAYMENT: "R3",
    EntryKind.PREPAID_CONSUMPTION: "R11",
    EntryKind.PREPAYMENT_PURCHASE: "R11",
    EntryKind.PAUSE_FEE: "R8",
    EntryKind.FORFEITURE: "R5",
}


@dataclass(frozen=True)
class Schedule:
    """When beat starts a job: the moments of a day (hour, minute), on the days it runs, in
    the schedule's time zone."""

    moments: tuple[tuple[int, int], ...]
    zone: ZoneInfo
    runs_on: Callable[[date], bool] | None = None


@dataclass(frozen=True)
class DueSQL:
    """A job's due selection for the account as SQL made once: each parameter either stays as
    it is or is the moment moved by a fixed time (``as_of``, ``as_of - 89 days``). Asked for
    many moments in one query, the database plans the selection once and runs it per moment
    (see ``over``)."""

    sql: str
    params: tuple
    # For each parameter: None when it stays, else the time it is the moment moved by.
    moved: tuple[timedelta | None, ...]

    def at(self, moment: datetime) -> tuple[str, list]:
        """The selection as of one moment."""
        return self.sql, [
            value if shift is None else moment + shift
            for value, shift in zip(self.params, self.moved, strict=True)
        ]

    def over(self, moments: Sequence[datetime]) -> tuple[str, list] | None:
        """An expression (PostgreSQL) giving the position (from 1) of the first of `moments`
        at which the selection has a row, NULL at none: the selection as a subquery run for
        each moment, the moment's parameters taken from the list. None when the SQL cannot be
        split at its parameters (then each moment is asked on its own)."""
        pieces = _split_at_parameters(self.sql)
        if pieces is None or len(pieces) != len(self.params) + 1:
            return None
        # The moments as whole microseconds since the epoch, in one array literal: hundreds of
        # timestamps passed one by one cost more to write out than the query takes to run.
        since_epoch = ",".join(str((moment - _EPOCH) // _MICROSECOND) for moment in moments)
        parts = [pieces[0]]
        values: list[object] = ["{" + since_epoch + "}"]
        for value, shift, piece in zip(self.params, self.moved, pieces[1:], strict=True):
            if shift is None:
                parts.append("%s")
                values.append(value)
            else:
                parts.append("(forecast_moment.at + %s)")
                values.append(shift)
            parts.append(piece)
        sql = (
            "(SELECT min(forecast_moment.n) FROM unnest(%s::bigint[]) WITH ORDINALITY AS "
            "asked(microseconds, n), LATERAL (SELECT timestamptz 'epoch' + asked.microseconds "
            "* interval '1 microsecond' AS at, asked.n) AS forecast_moment "
            f"WHERE EXISTS ({''.join(parts)}))"
        )
        return sql, values


_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
_MICROSECOND = timedelta(microseconds=1)


def _split_at_parameters(sql: str) -> list[str] | None:
    """`sql` cut at its parameter placeholders (%s; %% is a percent sign), or None when it
    holds another kind of placeholder."""
    pieces: list[str] = []
    start = position = 0
    while (position := sql.find("%", position)) != -1:
        following = sql[position + 1 : position + 2]
        if following == "%":
            position += 2
        elif following == "s":
            pieces.append(sql[start:position])
            position += 2
            start = position
        else:
            return None
    pieces.append(sql[start:])
    return pieces


@dataclass(frozen=True)
class ForecastJob:
    """A scheduled job as the forecast runs it, for one account."""

    name: str
    schedule: Schedule
    # The account's items of this job due as of a moment, as a query (SQL and parameters) that
    # returns a row when there is one: many moments and jobs are asked in one round trip.
    due_query: Callable[[datetime], tuple[str, Sequence]]
    # Run the job over the account's due items as of a moment (the job's own code).
    run: Callable[[datetime], object]
    # The same selection made once, when its SQL depends on the moment only through its
    # parameters (else None: it is built for each moment asked).
    due_sql: DueSQL | None = None
    # The job's own dry run over the account's due items as of a moment: its counts say what
    # a run would do (nothing counted: the run does nothing). None: the job has none.
    preview: Callable[[datetime], object] | None = None
    # Its due selection is coarser than what its run does: at a due moment its dry run is
    # asked first (jobs.registry.Job.coarse_due).
    coarse_due: bool = False


@dataclass(frozen=True)
class ForecastEntry:
    """One dated thing the system does to the account."""

    at: datetime
    local: datetime
    source: str  # "event", "ledger" or "card"
    kind: str
    label: str
    detail: str
    amount: Decimal | None
    currency: str
    rule: str
    by: str

    @property
    def day(self) -> date:
        return self.local.date()

    @property
    def key(self) -> tuple:
        """What a forecast promises: this kind of entry on this local day for this amount."""
        return (self.day, self.source, self.kind, self.amount)


@dataclass
class Forecast:
    account: Account
    start: datetime
    end: datetime
    entries: list[ForecastEntry] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # How the account stands at the end of the window, in the simulation.
    status_at_end: str = ""
    mails: int = 0


class ForecastError(ValueError):
    """A forecast asked for with a window or moment it cannot cover; shown as it is."""


class AssumedSuccessGateway(PaymentGateway):
    """A real gateway's card, in a forecast: assumed to be charged successfully; nothing is
    sent anywhere."""

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        return ChargeResult(succeeded=True, reference="forecast")


def forecast_gateway() -> tuple[PaymentGateway, str]:
    """The gateway a forecast asks, and the assumption it makes for cards."""
    if isinstance(configured_gateway(), TestGateway):
        return TestGateway(), _(
            "Cards: the test gateway's own outcome for the card on file (a declining test "
            "card declines at every try)."
        )
    return AssumedSuccessGateway(), _(
        "Cards: every charge to the card on file is assumed to succeed (a real payment "
        "gateway is never asked in a forecast)."
    )


def _moment(schedule: Schedule, day: date, slot: tuple[int, int]) -> datetime:
    hour, minute = slot
    return datetime.combine(day, time(hour, minute), schedule.zone).astimezone(ZoneInfo("UTC"))


class _Moments:
    """A job's scheduled moments in (start, end], indexable in order without listing them
    all (a job every five minutes has 35,000 in 120 days)."""

    def __init__(self, schedule: Schedule, start: datetime, end: datetime) -> None:
        self.schedule = schedule
        first = local_date(start, schedule.zone) - timedelta(days=1)
        last = local_date(end, schedule.zone) + timedelta(days=1)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        self.days = [d for d in days if schedule.runs_on is None or schedule.runs_on(d)]
        self.slots = sorted(schedule.moments)
        self.count = len(self.days) * len(self.slots)
        # The search asks the same indexes again and again (each bracket's ends, each halving):
        # a moment is worked out once, which is most of the forecast's own CPU time otherwise.
        self._at: dict[int, datetime] = {}
        if not self.count:
            self.low, self.high = 0, -1
            return
        # Trim to (start, end]: the first index after start, the last at or before end.
        self.low = self._first_after(start)
        self.high = self._first_after(end) - 1

    def at(self, index: int) -> datetime:
        moment = self._at.get(index)
        if moment is None:
            day, slot = divmod(index, len(self.slots))
            moment = self._at[index] = _moment(self.schedule, self.days[day], self.slots[slot])
        return moment

    def _first_after(self, moment: datetime) -> int:
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            if self.at(middle) <= moment:
                low = middle + 1
            else:
                high = middle
        return low

    def first_after(self, moment: datetime) -> int:
        return max(self.low, self._first_after(moment))


# Moments of one job asked in one query while looking for its first due moment. On
# PostgreSQL a selection made once (DueSQL) is one subquery, planned once and run per moment
# (a lookup of the account's row), so many are cheap: the 2,880 hours of 120 days take two
# round trips, the 34,560 five minutes three. Elsewhere (SQLite, the embedded demo) each moment
# is an EXISTS of its own. A selection built for each moment (its SQL depends on the data)
# costs a build per moment: few, and at first only the window's end.
SPREAD = 64
SPREAD_EACH = 15
SPREAD_BUILT = 3


def _width(job: ForecastJob) -> int:
    """How many of the job's moments one query asks."""
    if job.due_sql is None:
        return SPREAD_BUILT
    return SPREAD if connection.vendor == "postgresql" else SPREAD_EACH


def _ask(asks: Sequence[tuple[ForecastJob, Sequence[datetime]]]) -> list[int | None]:
    """For each job and its moments (in order), the position of the first moment at which the
    account has items of the job due, or None; every job in one query."""
    if not asks:
        return []
    columns: list[str] = []
    params: list = []
    shapes: list[int | None] = []
    for job, moments in asks:
        over = None
        if job.due_sql is not None and connection.vendor == "postgresql":
            over = job.due_sql.over(moments)
        if over is not None:
            columns.append(over[0])
            params.extend(over[1])
            shapes.append(None)
            continue
        for moment in moments:
            sql, values = job.due_query(moment)
            columns.append(f"EXISTS ({sql})")
            params.extend(values)
        shapes.append(len(moments))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = list(cursor.fetchone())
    answers: list[int | None] = []
    for shape in shapes:
        if shape is None:
            first = row.pop(0)
            answers.append(None if first is None else first - 1)
        else:
            dues, row = row[:shape], row[shape:]
            answers.append(next((i for i, due in enumerate(dues) if due), None))
    return answers


def _spread(low: int, high: int, count: int) -> list[int]:
    """Up to `count` indexes strictly between `low` and `high`, evenly spread, in order."""
    if high - low - 1 <= count:
        return list(range(low + 1, high))
    return sorted({low + (high - low) * k // (count + 1) for k in range(1, count + 1)})


@dataclass
class _Bracket:
    """Where a job's first due moment lies: not due at index `low` (or the search begins after
    it), due at index `high`."""

    low: int
    high: int

    @property
    def exact(self) -> bool:
        return self.high - self.low <= 1


def _narrow(
    brackets: dict[str, _Bracket | None],
    asks: Sequence[tuple[ForecastJob, _Moments, list[int], int, int]],
) -> None:
    """Ask each job at its indexes (in order, all after `below`, the index its search begins
    after; `fallback` is the index known due after them, or -1 when none is) and narrow its
    bracket; a job due at none of them and none after is not due in the window (None)."""
    answers = _ask([(job, [steps.at(i) for i in points]) for job, steps, points, *_ in asks])
    for (job, _steps, points, below, fallback), first in zip(asks, answers, strict=True):
        if first is None:
            if fallback < 0:
                brackets[job.name] = None
                continue
            high = fallback
        else:
            high = points[first]
        low = max([i for i in points if i < high], default=below)
        brackets[job.name] = _Bracket(low=max(low, below), high=high)


def _earliest(
    jobs: Sequence[ForecastJob],
    moments: dict[str, _Moments],
    brackets: dict[str, _Bracket | None],
) -> tuple[datetime, int, ForecastJob] | None:
    """The job due first (two at the same moment: the first in `jobs`) and its moment, among
    the jobs with a bracket; the brackets are narrowed only as far as needed to know it: a job
    whose bracket begins after the first due moment found need not be known any closer."""
    order = {job.name: n for n, job in enumerate(jobs)}
    while True:
        placed = [
            (moments[job.name].at(bracket.high), order[job.name], job)
            for job in jobs
            if (bracket := brackets.get(job.name)) is not None
        ]
        if not placed:
            return None
        best = min(placed, key=lambda p: p[:2])
        asks = []
        for job in jobs:
            bracket, steps = brackets.get(job.name), moments[job.name]
            if bracket is None or bracket.exact:
                continue
            if (steps.at(bracket.low + 1), order[job.name]) <= best[:2]:
                points = _spread(bracket.low, bracket.high, _width(job))
                asks.append((job, steps, points, bracket.low, bracket.high))
        if not asks:
            return best
        _narrow(brackets, asks)


def records_since(account: Account, *, after: tuple[int, int, int]) -> list[ForecastEntry]:
    """What was written for the account since `records_mark` (rows with higher ids), as
    forecast entries: the simulation's own rows, or, in a test, what the real runs recorded."""
    zone = account.zone
    events, ledger, attempts = after
    entries: list[ForecastEntry] = []
    for event in AccountEvent.objects.filter(account=account, pk__gt=events).order_by("at", "pk"):
        entries.append(
            ForecastEntry(
                at=event.at,
                local=event.at.astimezone(zone),
                source="event",
                kind=event.kind,
                label=str(event.get_kind_display()),
                detail=event.reason,
                amount=None,
                currency="",
                rule=EVENT_RULES.get(event.kind, ""),
                by=event.by_job or str(event.by_user or ""),
            )
        )
    for entry in LedgerEntry.objects.filter(account=account, pk__gt=ledger).order_by("at", "pk"):
        entries.append(
            ForecastEntry(
                at=entry.at,
                local=entry.at.astimezone(zone),
                source="ledger",
                kind=entry.kind,
                label=str(entry.get_kind_display()),
                detail=entry.description,
                amount=entry.amount,
                currency=entry.currency,
                rule=LEDGER_RULES.get(entry.kind, ""),
                by=entry.by_job or str(entry.by_user or ""),
            )
        )
    tried = CardChargeAttempt.objects.filter(account=account, pk__gt=attempts)
    for attempt in tried.exclude(outcome=CardChargeAttempt.Outcome.SUCCEEDED).order_by("at", "pk"):
        # A successful charge is in the ledger already; a declined one only here.
        entries.append(
            ForecastEntry(
                at=attempt.at,
                local=attempt.at.astimezone(zone),
                source="card",
                kind=attempt.outcome,
                label=_("Card charge %(outcome)s") % {"outcome": attempt.get_outcome_display()},
                detail=attempt.message,
                amount=attempt.amount,
                currency=attempt.currency,
                rule="R11",
                by=attempt.by_job or str(attempt.by_user or ""),
            )
        )
    entries.sort(key=lambda e: (e.at, e.source != "event"))
    return entries


def records_mark(account: Account) -> tuple[int, int, int]:
    """The last event, ledger entry and card charge attempt of the account, by id: one query
    (each a short walk back along the account's index)."""

    def last(model) -> Coalesce:
        rows = model.objects.filter(account=account).order_by("-pk").values("pk")[:1]
        return Coalesce(Subquery(rows), 0)

    marks = Account.objects.filter(pk=account.pk).values_list(
        last(AccountEvent), last(LedgerEntry), last(CardChargeAttempt)
    )
    return marks.get()


def account_forecast_simulate(
    *,
    account: Account,
    as_of: datetime,
    days: int,
    jobs: Sequence[ForecastJob],
    before: Callable[[Account, datetime], object] | None = None,
) -> Forecast:
    """Run `jobs` for `account` from `as_of` over `days` days in a transaction rolled back at
    the end, and return what they did, in order. `before`, if given, is done to the account at
    `as_of` first, in the same simulation (the "if cancelled now" of the desk): its own
    entries come first."""
    if days < 1 or days > LONGEST_DAYS:
        raise ForecastError(
            _("a forecast covers 1 to %(most)s days, not %(days)s")
            % {"most": LONGEST_DAYS, "days": days}
        )
    end = as_of + timedelta(days=days)
    gateway, card_assumption = forecast_gateway()
    forecast = Forecast(account=account, start=as_of, end=end)
    forecast.assumptions = [
        _(
            "Nothing else happens: no payment, no staff action, no card or plan change, no "
            "sign-off given."
        ),
        card_assumption,
        _("The jobs run at the moments of their schedules as they are now."),
    ]
    with transaction.atomic():
        marks = records_mark(account)
        with simulation() as outbox, simulated_gateway(gateway):
            if before is not None:
                # A copy: the caller's account object stays as it is.
                before(Account.objects.get(pk=account.pk), as_of)
            _run_jobs(as_of=as_of, end=end, jobs=jobs, forecast=forecast, outbox=outbox)
            forecast.entries = records_since(account, after=marks)
            final = Account.objects.get(pk=account.pk)
            forecast.status_at_end = final.status
            if final.legal_hold and final.status in INACTIVE_STATUSES:
                forecast.notes.append(
                    _("Under a legal hold: never purged while the hold is set (R7).")
                )
            forecast.mails = len(outbox)
        transaction.set_rollback(True)
    return forecast


class _Undo(Exception):
    """Rolls back the savepoint of a run that did nothing."""


def _changes(counts: object) -> bool:
    """Whether a job's run did something: its counts say so (a job returns how many items it
    moved, billed, sent; "skipped" items were not its to do)."""
    if not isinstance(counts, dict):
        return True
    return any(value for key, value in counts.items() if key != "skipped")


def _attempt(job: ForecastJob, moment: datetime, outbox: list, *, keep: bool = True) -> bool:
    """Run the job at `moment` in a savepoint; returns whether it did something. A run that
    did nothing (or any run, with keep=False) is rolled back, with the mail it kept."""
    kept = len(outbox)
    changed = False
    try:
        with transaction.atomic():
            changed = _changes(job.run(moment))
            if not (changed and keep):
                raise _Undo
    except _Undo:
        del outbox[kept:]
    return changed


# How many of a coarse selection's moments after it turned due are searched at once for the
# first at which the job's run does something (64 hours for an hourly job).
SEARCH_AHEAD = 64


def _first_acting(
    job: ForecastJob, steps: _Moments, low: int, high: int, outbox: list
) -> int | None:
    """The first of the job's moments in (low, high] at which its run does something, the
    state being still until `high` (no other job runs before): that run is kept. None when
    it does nothing up to `high`. Found by halving: for a coarse selection, by asking the
    job's dry run (a query, where a run rolled back is a dozen): a dry run that counts
    nothing is a run that does nothing; one that counts something is checked by the run
    itself. Otherwise by runs rolled back."""
    if high <= low:
        return None
    if job.coarse_due and job.preview is not None:
        preview = job.preview
        # One savepoint for the dry runs: a failing one leaves the simulation usable.
        with transaction.atomic():
            if not _changes(preview(steps.at(high))):
                return None
            below, above = low, high
            while above - below > 1:
                middle = (below + above) // 2
                if _changes(preview(steps.at(middle))):
                    above = middle
                else:
                    below = middle
        if _attempt(job, steps.at(above), outbox):
            return above
        # It counted something its run does not do: the runs themselves from here.
        low = above
    if high <= low or not _attempt(job, steps.at(high), outbox, keep=False):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if _attempt(job, steps.at(middle), outbox, keep=False):
            high = middle
        else:
            low = middle
    _attempt(job, steps.at(high), outbox)
    return high


def _run_jobs(
    *,
    as_of: datetime,
    end: datetime,
    jobs: Sequence[ForecastJob],
    forecast: Forecast,
    outbox: list,
) -> None:
    """Run the jobs at their scheduled moments in (as_of, end], skipping the stretches in which
    none of them has anything to do for the account."""
    moments = {job.name: _Moments(job.schedule, as_of, end) for job in jobs}
    ran_at = {job.name: as_of for job in jobs}
    clock = as_of
    # Where each job's first due moment lies, found again for every job after a run that
    # changed something, for the job alone after one that did not.
    brackets: dict[str, _Bracket | None] = {}
    for _run in range(MAX_RUNS):
        # Each job still to place is asked at its last moment in the window (not due then: not
        # due in it), and, when its selection is made once, at its first and between.
        asks = []
        for job in jobs:
            if job.name in brackets:
                continue
            steps = moments[job.name]
            low = max(
                steps.first_after(ran_at[job.name]),
                steps.first_after(clock - timedelta(microseconds=1)),
            )
            if low > steps.high:
                brackets[job.name] = None
                continue
            if _width(job) > SPREAD_BUILT:
                points = sorted({low, *_spread(low, steps.high, _width(job) - 2), steps.high})
            else:
                points = [steps.high]
            asks.append((job, steps, points, low - 1, -1))
        _narrow(brackets, asks)
        found = _earliest(jobs, moments, brackets)
        if found is None:
            return
        moment, _order, job = found
        steps, bracket = moments[job.name], brackets.pop(job.name)
        assert bracket is not None
        try:
            # A coarse selection's dry run is asked at the due moment too (below), not a run.
            asked = job.coarse_due and job.preview is not None
            if asked or not _attempt(job, moment, outbox):
                # Due, but nothing to do yet (a coarse selection the job refines on the local
                # calendar): the first of its moments before the next other job's at which it
                # does something, the state being still until then; that run is kept.
                following = _earliest(jobs, moments, brackets)
                limit = following[0] if following else end + timedelta(seconds=1)
                high = max(steps.first_after(limit - timedelta(microseconds=1)) - 1, bracket.high)
                after = bracket.high - 1 if asked else bracket.high
                if asked:
                    # A little ahead at a time: a coarse selection is close to its rule (a day
                    # or two); past that stretch the job is placed and looked for again.
                    high = min(high, after + SEARCH_AHEAD)
                acting = _first_acting(job, steps, after, high, outbox)
                if acting is None:
                    ran_at[job.name] = steps.at(max(bracket.high, high))
                    continue
                moment = steps.at(acting)
        except Exception as exc:  # noqa: BLE001 — shown on the forecast, never a 500
            forecast.notes.append(
                _("The forecast stops at %(when)s: the job %(job)s failed (%(error)s).")
                % {"when": f"{moment:%Y-%m-%d %H:%M} UTC", "job": job.name, "error": exc}
            )
            return
        clock = ran_at[job.name] = moment
        brackets.clear()
    forecast.notes.append(
        _("The forecast stops early: a job stayed due after %(runs)s runs.") % {"runs": MAX_RUNS}
    )


# What a cancellation spares: the money entries a forecast of the account as it is has and
# the forecast after the cancellation lacks.
MONEY_SPARED = (
    EntryKind.CHARGE,
    EntryKind.CARD_PAYMENT,
    EntryKind.PAUSE_FEE,
    EntryKind.PREPAID_CONSUMPTION,
    EntryKind.PREPAYMENT_PURCHASE,
)


@dataclass(frozen=True)
class CancellationOutlook:
    """What the agent reads to the caller before confirming a cancellation: what is not
    charged, how long the data is kept, the purge day (or held: never)."""

    spared: list[ForecastEntry]
    purge: ForecastEntry | None
    held: bool

    @property
    def kept_until(self) -> date | None:
        return self.purge.day - timedelta(days=1) if self.purge else None


def cancellation_outlook(*, as_is: Forecast, cancelled: Forecast) -> CancellationOutlook:
    """Compare the forecast of the account as it is with the one after a cancellation now."""
    after = {(e.source, e.kind, e.day, e.amount) for e in cancelled.entries}
    spared = [
        e
        for e in as_is.entries
        if e.source == "ledger"
        and e.kind in MONEY_SPARED
        and (e.source, e.kind, e.day, e.amount) not in after
    ]
    purge = next((e for e in cancelled.entries if e.kind == EventKind.PURGE), None)
    return CancellationOutlook(
        spared=spared, purge=purge, held=bool(cancelled.account.legal_hold) and purge is None
    )
