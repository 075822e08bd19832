"""Demo CSV imports: what the managers' import list looks like after a few weeks of use."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.resources import AccountResource, changes_detail
from core.problems import Problem
from exchanges.models import ImportRecord, ImportStatus
from exchanges.runs import errors_message
from exchanges.services import expired_message
from exchanges.uploads import (
    UploadRefused,
    decode,
    parse_csv,
    refused_rows_message,
    row_error,
)


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    # The demo manager's login ("manager") is the one seed_demo prints afterwards.
    manager, _created = User.objects.get_or_create(
        username="manager", defaults={"is_staff": True, "email": "manager@example.com"}
    )
    usernames = list(Account.objects.order_by("?").values_list("username", flat=True)[:6])
    while len(usernames) < 6:
        usernames.append(f"customer-{len(usernames):04d}")
    updated = max(1, count // 20)

    def values(username: str, **cells: str) -> list[list[str]]:
        return [["username", username], *([k, v] for k, v in cells.items())]

    # The problems are kept as the imports keep them (core.problems), so a German manager
    # reads them in German: made by the code that makes them for a real upload.
    try:
        decode(b"username,company\n" + b"x" * 105 + b"\xe4")
    except UploadRefused as exc:
        not_utf8 = exc.problem
    twice = f"username\n{usernames[2]}\n\n\n\n{usernames[2]}\n".encode()
    (repeated,) = parse_csv(raw=twice, name="demo.csv", key_column="username").refused_rows

    records = [
        ImportRecord(
            at=now - timedelta(days=21, hours=3),
            by_user=manager,
            model="billing.plan",
            resource="PlanResource",
            file_name="price-list-2026.csv",
            file_size=412,
            status=ImportStatus.CONFIRMED,
            confirmed_at=now - timedelta(days=21, hours=3) + timedelta(minutes=2),
            rows_total=6,
            rows_new=1,
            rows_updated=2,
            rows_skipped=3,
        ),
        ImportRecord(
            at=now - timedelta(days=9, hours=5),
            by_user=manager,
            model="accounts.account",
            resource="AccountResource",
            file_name="crm-company-names.csv",
            file_size=18_204,
            status=ImportStatus.CONFIRMED,
            confirmed_at=now - timedelta(days=9, hours=5) + timedelta(minutes=4),
            rows_total=updated + 40,
            rows_updated=updated,
            rows_skipped=40,
        ),
        ImportRecord(
            at=now - timedelta(days=2, hours=1),
            by_user=manager,
            model="accounts.account",
            resource="AccountResource",
            file_name="time-zones-from-sales.csv",
            file_size=2_311,
            status=ImportStatus.REFUSED,
            rows_total=24,
            rows_updated=20,
            rows_skipped=1,
            rows_errors=3,
            message="3 row(s) have errors; fix them and upload the file again "
            "(nothing was written)",
            row_errors=[
                {
                    "line": 5,
                    "key": "acme-old",
                    "column": "username",
                    "error": "no account with username 'acme-old': this import updates "
                    "existing records and never creates one",
                    "values": values("acme-old", time_zone="Europe/Berlin"),
                },
                {
                    "line": 11,
                    "key": usernames[0],
                    "column": "time_zone",
                    "error": "'CET+1' is not a known time zone (e.g. Europe/Berlin)",
                    "values": values(usernames[0], time_zone="CET+1"),
                },
                {
                    "line": 17,
                    "key": usernames[1],
                    "column": "language",
                    "error": "Value 'fr' is not a valid choice.",
                    "values": values(usernames[1], time_zone="Europe/Paris", language="fr"),
                },
            ],
        ),
        ImportRecord(
            at=now - timedelta(hours=rng.randint(2, 20)),
            by_user=manager,
            model="accounts.account",
            resource="AccountResource",
            file_name="export-from-excel.csv",
            file_size=9_870,
            status=ImportStatus.REFUSED,
            message=not_utf8.stored(),
        ),
        ImportRecord(
            at=now - timedelta(minutes=rng.randint(5, 50)),
            by_user=manager,
            model="accounts.account",
            resource="AccountResource",
            file_name="status-cleanup.csv",
            file_size=1_024,
            status=ImportStatus.REFUSED,
            # The file's problem and its rows' problems, reported by one upload together.
            rows_total=6,
            rows_skipped=4,
            rows_errors=2,
            message=Problem.joined(
                [
                    AccountResource().protected_message(
                        "status",
                        changes_detail(
                            2,
                            f"{usernames[2]}: active → cancelled; {usernames[3]}: paused → active",
                        ),
                    ),
                    refused_rows_message([repeated]),
                    errors_message(2),
                ]
            ).stored(),
            row_errors=[
                {
                    **row_error(
                        4, "old-client", "username", AccountResource.unknown_key("old-client")
                    ),
                    "values": values("old-client"),
                },
                repeated,
            ],
        ),
        # A preview nobody confirmed: the expire_import_previews job closed it a day later
        # and removed its file; its first rows still show what it would have done.
        ImportRecord(
            at=now - timedelta(days=4, hours=2),
            by_user=manager,
            model="accounts.account",
            resource="AccountResource",
            file_name="languages-from-support.csv",
            file_size=312,
            status=ImportStatus.EXPIRED,
            expired_at=now - timedelta(days=3, hours=1, minutes=40),
            rows_total=3,
            rows_updated=2,
            rows_skipped=1,
            rows_done=3,
            message=expired_message().stored(),
            preview_rows=[
                {
                    "row": 2,
                    "key": usernames[4],
                    "action": "update",
                    "changes": [["language", "en", "de"]],
                },
                {
                    "row": 3,
                    "key": usernames[5],
                    "action": "update",
                    "changes": [["language", "de", "en"]],
                },
                {"row": 4, "key": usernames[0], "action": "skip", "changes": []},
            ],
        ),
    ]
    ImportRecord.objects.bulk_create(records)
    refused = sum(r.status == ImportStatus.REFUSED for r in records)
    expired = sum(r.status == ImportStatus.EXPIRED for r in records)
    confirmed = len(records) - refused - expired
    return _(
        "%(imports)s CSV imports (%(confirmed)s confirmed, %(refused)s refused, %(expired)s "
        "expired unconfirmed)"
    ) % {"imports": len(records), "confirmed": confirmed, "refused": refused, "expired": expired}
