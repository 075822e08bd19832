"""A paginator for lists of a million rows: PostgreSQL's estimate instead of a full COUNT."""

from __future__ import annotations

import json

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows (by the planner's estimate) the list counts exactly: small lists and
# narrow filters show their true number; beyond it a page number off by a little is harmless
# and a COUNT over hundreds of thousands of rows is not.
EXACT_BELOW = 20_000


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's row estimate for the queryset (PostgreSQL), None elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # e.g. .none(): nothing to count
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly when the list is small, else takes the planner's estimate: the admin's
    COUNT(*) would read every matching row on each page view."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = estimated_count(self.object_list)
            if estimate is not None and estimate >= EXACT_BELOW:
                return estimate
        return super().count

    def page(self, number):
        """A page in the far half of a big list is read from the other end: the ordering
        reversed, a short OFFSET from the end, the rows turned back. The admin's last page of
        ten million rows would otherwise make PostgreSQL read and drop ten million rows first
        (the ordering always ends in the primary key, so the reverse is exact)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if (
            isinstance(self.object_list, QuerySet)
            and self.object_list.ordered
            and self.count >= EXACT_BELOW
            and bottom > self.count // 2
        ):
            from_end = self.object_list.reverse()[self.count - top : self.count - bottom]
            return self._get_page(list(from_end)[::-1], number, self)  # type: ignore[attr-defined]
        return super().page(number)


class KeysFirstPaginator(EstimatedCountPaginator):
    """Reads a page's primary keys first, then the rows with those keys and everything the list
    shows. A filter that matches thousands of rows (suspended 0-30 days unpaid: 13,000 at a
    million accounts) is then answered from indexes alone, and only the page's rows and their
    joined rows are fetched: PostgreSQL would otherwise read every matching row and its account
    to sort them and keep a page. The page is a list, as a far page's already is: not for a
    list with editable columns (their formset wants a queryset)."""

    def page(self, number):
        page = super().page(number)
        rows = page.object_list
        if isinstance(rows, QuerySet) and rows.query.is_sliced:
            keys = list(rows.values_list("pk", flat=True))
            whole = rows.all()  # a copy, its limits cleared below
            whole.query.clear_limits()
            found = {row.pk: row for row in whole.filter(pk__in=keys).order_by()}
            page.object_list = [found[key] for key in keys if key in found]
        return page
