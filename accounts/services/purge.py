"""Deleting an account's content for good (R7): contacts, campaigns and their reports, sign-up
forms and their submissions, integrations, hosted files. Only the purge workflow calls this,
with the accounts' rows locked and their retention re-checked; the account itself stays as a
tombstone with its events (and billing's ledger, compliance's suppressions stay too, R9).

Each call deletes a bounded batch per kind, so a transaction stays short whatever the
account's size."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, models

from accounts.models import (
    Account,
    Campaign,
    CampaignReport,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
    SignupSubmission,
)
from core.simulation import simulating

# Rows of each kind deleted per transaction, whatever the number of accounts in it: bounds
# the work under the account locks (about a quarter of a second for 100,000 contacts, under
# a second on a machine at half speed) and lets a group of small accounts go in one
# transaction. Smaller batches spend more on each step's fixed work (locks, the retention
# check, receipts, the commit) than on the deletes: 50,000 made the purge of small accounts
# half as fast as one DELETE of the same rows.
PURGE_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[models.Model]
    # SQL selecting a column ({col}: id, or ctid on PostgreSQL) of this kind's rows for a set
    # of accounts ({accounts}: a list of placeholders).
    rows_sql: str
    # The deleted row's account id, in a RETURNING clause.
    returning: str = "account_id"
    # Kinds whose rows point at this one: it is deleted only in a batch that deletes the last
    # of them, so every foreign key holds when the transaction commits.
    children: tuple[str, ...] = ()
    # The second column of an (account_id, column) index the bounded path walks in order: each
    # batch of a big account starts after the last value the previous one deleted (kept with
    # the purge's progress), instead of walking the index entries of the rows it deleted (a
    # heap visit each until vacuum removes them). The id: rows come in the order they were
    # written, close to the order of the table's pages, and later rows come after the walk.
    walk: str | None = None


def _kinds() -> list[Kind]:
    def own(model) -> str:
        return f"SELECT {{col}} FROM {model._meta.db_table} WHERE account_id IN ({{accounts}})"

    campaigns = Campaign._meta.db_table
    reports = (
        f"SELECT r.{{col}} FROM {CampaignReport._meta.db_table} r "
        f"JOIN {campaigns} c ON c.id = r.campaign_id WHERE c.account_id IN ({{accounts}})"
    )
    # Children before parents, so every delete is a plain DELETE by id, no cascade.
    return [
        Kind(
            "campaign_reports",
            CampaignReport,
            reports,
            returning=f"(SELECT c.account_id FROM {campaigns} c WHERE c.id = campaign_id)",
        ),
        Kind("campaigns", Campaign, own(Campaign), children=("campaign_reports",)),
        Kind("signup_submissions", SignupSubmission, own(SignupSubmission)),
        Kind("contacts", Contact, own(Contact), walk="id"),
        Kind(
            "signup_forms",
            SignupForm,
            own(SignupForm),
            children=("signup_submissions", "contacts"),
        ),
        Kind("integrations", Integration, own(Integration)),
        Kind("hosted_files", HostedFile, own(HostedFile)),
    ]


KIND_NAMES = [k.name for k in _kinds()]


def content_counts(*, account: Account) -> dict[str, int]:
    """What a purge of `account` would delete, per kind."""
    return _counts_of(account.pk)


def _counts_of(account_id: int) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for kind in _kinds():
            cursor.execute(
                f"SELECT COUNT(*) FROM ({kind.rows_sql.format(col='id', accounts='%s')}) ids",
                [account_id],
            )
            counts[kind.name] = cursor.fetchone()[0]
    return counts


@dataclass
class ContentDeleted:
    per_kind: dict[str, int] = field(default_factory=dict)
    per_account: dict[int, dict[str, int]] = field(default_factory=dict)
    # Accounts of which nothing is left (each of their kinds came back short of what was asked).
    done: set[int] = field(default_factory=set)
    # Nothing is left of any of these accounts' content.
    finished: bool = False
    # For an account with rows left, how far the walk of each kind with one (Kind.walk) has
    # got: the next batch starts after this id.
    walked: dict[int, dict[str, int]] = field(default_factory=dict)

    def add(self, kind: str, account_id: int, count: int) -> None:
        self.per_kind[kind] = self.per_kind.get(kind, 0) + count
        counts = self.per_account.setdefault(account_id, {})
        counts[kind] = counts.get(kind, 0) + count


def _group_sql(kind: Kind) -> tuple[str, str]:
    """(count per account of the first N rows in account order, delete) statements for all of
    a kind's rows of a set of accounts, given as one array parameter (and N for the first)."""
    table = kind.model._meta.db_table
    if kind.name == "campaign_reports":
        campaigns = Campaign._meta.db_table
        return (
            f"SELECT account_id, COUNT(*) FROM (SELECT c.account_id FROM {table} r "
            f"JOIN {campaigns} c ON c.id = r.campaign_id WHERE c.account_id = ANY(%s) "
            "ORDER BY c.account_id LIMIT %s) n GROUP BY 1",
            f"DELETE FROM {table} r USING {campaigns} c "
            f"WHERE c.id = r.campaign_id AND c.account_id = ANY(%s)",
        )
    return (
        f"SELECT account_id, COUNT(*) FROM (SELECT account_id FROM {table} "
        "WHERE account_id = ANY(%s) ORDER BY account_id LIMIT %s) n GROUP BY 1",
        f"DELETE FROM {table} WHERE account_id = ANY(%s)",
    )


def _delete_whole_accounts(cursor, kinds: list[Kind], account_ids: list[int], limit: int):
    """The common case, on PostgreSQL: the group's leading accounts (in id order) whose content
    fits in one batch of every kind. Counted first through the indexes, in account order, up
    to one row past the batch, every kind in one statement; then deleted with one plain DELETE
    per kind that has rows (children first), as fast as a raw DELETE. The account the count
    stopped in may have more rows: it and the ones after it are left to the bounded path or
    the next step. The count reads at most `limit` + 1 rows of each kind, so a big account
    costs no more here than a batch does, not a count of all its rows; what it reads of the
    accounts it keeps is their exact count, read once. (The count is the batch's bound: only
    it says, before anything is deleted, that the group fits; the index-only read costs about
    a third of the DELETE of the rows it counts.) A count that a DELETE does not match (rows
    arrived meanwhile) rolls the step back; the next run counts again."""
    # One round trip for all kinds: in a step of small accounts the counts of kinds they do
    # not have are each a statement's fixed cost for nothing.
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {n}, per_account.* FROM ({_group_sql(kind)[0]}) per_account"
            for n, kind in enumerate(kinds)
        ),
        [value for _ in kinds for value in (account_ids, limit + 1)],
    )
    counted: list[dict[int, int]] = [{} for _ in kinds]
    for n, account_id, count in cursor.fetchall():
        counted[n][account_id] = count
    # The first account not wholly counted: the one each over-full count stopped in.
    cut: int | None = None
    for per_account in counted:
        if sum(per_account.values()) > limit:
            stopped_in = max(per_account)
            cut = stopped_in if cut is None else min(cut, stopped_in)
    whole = [pk for pk in account_ids if cut is None or pk < cut]
    deleted = ContentDeleted(per_kind={k.name: 0 for k in kinds})
    if not whole:
        return deleted
    for kind, per_account in zip(kinds, counted, strict=True):
        expected = sum(per_account.get(pk, 0) for pk in whole)
        if not expected:
            continue
        _, delete_sql = _group_sql(kind)
        cursor.execute(delete_sql, [whole])
        if cursor.rowcount != expected:
            raise RuntimeError(
                f"purge: {kind.name} changed while purging accounts {whole[:5]}…; "
                "nothing of this step was kept, the next run does it again"
            )
        for account_id in whole:
            if per_account.get(account_id):
                deleted.add(kind.name, account_id, per_account[account_id])
    deleted.done = set(whole)
    return deleted


@contextmanager
def _through_indexes(cursor):
    """The statements inside run with sequential scans off. Every statement of a content
    batch names its accounts by id (and a walk's range), so their index names the rows
    exactly; the planner misjudges it where the accounts are a large share of a table or its
    index is swollen by earlier purges, and scans the whole table instead, from its first
    page over the rows earlier steps deleted (dead until vacuum): a group's DELETE of 100
    accounts of 10,000 contacts took 0.11 to 0.13 s that way against 0.04 s through the
    index, and the look at what is left of a 10M-contact account grew with each step to over
    a second. SET LOCAL ends with the transaction should a statement fail; RESET hands the
    rest of the step the default."""
    cursor.execute("SET LOCAL enable_seqscan = off")
    yield
    cursor.execute("RESET enable_seqscan")


def _delete_walking(cursor, kind: Kind, account_id: int, after: int | None, asked: int):
    """One batch of a kind with a walk (Kind.walk), for one account: the rows after `after` in
    the (account_id, walk) index up to the `asked`-th one, by one range DELETE. Returns (rows
    deleted, the last id deleted, or None when nothing is left). The index-only look for the
    last id reads only the entries of this batch, never those of rows earlier batches
    deleted."""
    table, walk = kind.model._meta.db_table, kind.walk
    where, params = f"account_id = %s AND {walk} > %s", [account_id, after or 0]
    # The planner cannot know that the range holds `asked` rows of one account: the batch runs
    # through the indexes (_through_indexes).
    cursor.execute(
        f"SELECT {walk} FROM {table} WHERE {where} ORDER BY {walk} OFFSET %s LIMIT 1",
        [*params, asked - 1],
    )
    row = cursor.fetchone()
    if row is not None:
        where, params = f"{where} AND {walk} <= %s", [*params, row[0]]
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
    count = cursor.rowcount
    return count, None if row is None else row[0]


def _delete_accounts_in_turn(
    cursor,
    kinds: list[Kind],
    account_ids: list[int],
    limit: int,
    walked: dict[int, dict[str, int]],
):
    """The bounded path (PostgreSQL), for one big account or a group too big for one batch:
    the accounts in turn, each kind of each account by one DELETE of up to what is left of the
    step's `limit` rows of that kind, picked by their address (ctid), or for a kind with a
    walk by a range of its index after where the last batch stopped (`walked`), and counted
    by the row count. Per-account statements need no RETURNING (whose rows cost as much again
    as the delete) and no count of what is left: a kind that comes back short of what was
    asked is gone. One query first says which kinds each account has at all, so an account
    with only contacts costs one DELETE. The walk stops at the first account it cannot finish
    (the step's rows of some kind are used up): every account before it is done, the ones
    after it are untouched, so a step's work is bounded by `limit` rows per kind whatever the
    group's size. A parent kind waits, for its account, until its children are gone."""

    def exists(kind: Kind) -> str:
        if kind.walk is None:
            return f"EXISTS ({kind.rows_sql.format(col='ctid', accounts='a.id')})"
        # Past the rows earlier batches deleted, which are still in the index until vacuum.
        return (
            f"EXISTS ({kind.rows_sql.format(col='ctid', accounts='a.id')} "
            f"AND {kind.walk} > COALESCE(a.after{kind.name}, 0))"
        )

    walks = [k for k in kinds if k.walk is not None]
    afters = "".join(f", after{k.name}" for k in walks)
    cursor.execute(
        f"SELECT a.id, {', '.join(exists(k) for k in kinds)} FROM unnest(%s::bigint[]"
        + "".join(", %s::bigint[]" for _ in walks)
        + f") WITH ORDINALITY a(id{afters}, n) ORDER BY a.n",
        [account_ids, *([walked.get(pk, {}).get(k.name) for pk in account_ids] for k in walks)],
    )
    present = [(row[0], row[1:]) for row in cursor.fetchall()]
    deleted = ContentDeleted(per_kind={k.name: 0 for k in kinds})
    left = {k.name: limit for k in kinds}
    for account_id, has in present:
        gone: set[str] = set()
        for kind, any_rows in zip(kinds, has, strict=True):
            if not any_rows:
                gone.add(kind.name)
                continue
            if left[kind.name] == 0 or not gone.issuperset(kind.children):
                continue
            asked = left[kind.name]
            if kind.walk is not None:
                count, last = _delete_walking(
                    cursor, kind, account_id, walked.get(account_id, {}).get(kind.name), asked
                )
                if last is not None:
                    deleted.walked.setdefault(account_id, {})[kind.name] = last
            else:
                cursor.execute(
                    f"DELETE FROM {kind.model._meta.db_table} WHERE ctid = ANY(ARRAY("
                    f"{kind.rows_sql.format(col='ctid', accounts='%s')} LIMIT %s))",
                    [account_id, asked],
                )
                count = cursor.rowcount
            left[kind.name] = max(0, left[kind.name] - count)
            deleted.add(kind.name, account_id, count)
            if count < asked:
                gone.add(kind.name)
        if len(gone) < len(kinds):
            # Rows are left: this account is the step's last (its progress is kept, if this
            # step deleted any of it).
            break
        deleted.done.add(account_id)
    return deleted


def content_delete_batch(
    *,
    account_ids: list[int],
    limit: int,
    at_once: bool = True,
    walked: dict[int, dict[str, int]] | None = None,
) -> ContentDeleted:
    """Delete up to `limit` rows of each kind of these accounts' content. A parent kind waits
    for a batch in which its children kinds come back short of the limit (all gone). The
    result says which accounts are done (nothing left of them); the others keep their turn.
    `at_once=False` skips the look for the plain-DELETE case: the caller knows the group is
    big (an earlier step of its purge took the bounded path), so no step looks again.
    `walked`: how far earlier steps' walks got (ContentDeleted.walked, kept with the progress).
    Within a dry run (the forecast, core.simulation) the content is counted, not deleted: the
    rollback would take the rows back anyway, and a big sender's forecast would otherwise
    delete millions of rows on every view of its page."""
    if simulating():
        return _counted_only(account_ids)
    deleted = _delete_batch(
        account_ids=account_ids, limit=limit, at_once=at_once, walked=walked or {}
    )
    deleted.finished = deleted.done.issuperset(account_ids)
    return deleted


def _counted_only(account_ids: list[int]) -> ContentDeleted:
    counted = ContentDeleted(
        per_kind={name: 0 for name in KIND_NAMES}, done=set(account_ids), finished=True
    )
    for account_id in account_ids:
        for name, count in _counts_of(account_id).items():
            if count:
                counted.add(name, account_id, count)
    return counted


def _delete_batch_postgresql(
    cursor,
    kinds: list[Kind],
    account_ids: list[int],
    limit: int,
    at_once: bool,
    walked: dict[int, dict[str, int]],
) -> ContentDeleted:
    """A batch on PostgreSQL, with sequential scans off (the caller's _through_indexes): the
    group's leading whole accounts by one plain DELETE per kind, what is left of the batch by
    the bounded path."""
    ids = sorted(account_ids)
    if not at_once:
        return _delete_accounts_in_turn(cursor, kinds, ids, limit, walked)
    whole = _delete_whole_accounts(cursor, kinds, ids, limit)
    rest = [pk for pk in ids if pk not in whole.done]
    if not rest:
        return whole
    # What is left of the step's batch goes to the bounded path, from the account the
    # count stopped in.
    used = max(whole.per_kind.values(), default=0)
    if used >= limit:
        return whole
    turn = _delete_accounts_in_turn(cursor, kinds, rest, limit - used, walked)
    for name, count in turn.per_kind.items():
        whole.per_kind[name] += count
    whole.per_account.update(turn.per_account)
    whole.done |= turn.done
    whole.walked = turn.walked
    return whole


def _delete_batch(
    *, account_ids: list[int], limit: int, at_once: bool, walked: dict[int, dict[str, int]]
) -> ContentDeleted:
    kinds = _kinds()
    holes = ", ".join(["%s"] * len(account_ids))
    deleted = ContentDeleted(per_kind={k.name: 0 for k in kinds})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with _through_indexes(cursor):
                return _delete_batch_postgresql(cursor, kinds, account_ids, limit, at_once, walked)
        for kind in kinds:
            if any(deleted.per_kind[c] >= limit for c in kind.children):
                continue
            table = kind.model._meta.db_table
            cursor.execute(
                f"SELECT id FROM ({kind.rows_sql.format(col='id', accounts=holes)} LIMIT %s) ids",
                [*account_ids, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                continue
            id_holes = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT {kind.returning}, COUNT(*) FROM {table} WHERE id IN ({id_holes}) "
                f"GROUP BY 1",
                ids,
            )
            for account_id, count in cursor.fetchall():
                deleted.add(kind.name, account_id, count)
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({id_holes})", ids)
        if all(n < limit for n in deleted.per_kind.values()):
            deleted.done = set(account_ids)
        return deleted
