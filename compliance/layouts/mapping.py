"""The mapping step: for a file no known layout matches, the staff say which column holds the
address, which column (if any) holds the status and which of its values mean suppressed, and
which column holds the date. A mapping can be saved under a name and reused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext_noop

from compliance.layouts.base import Columns, FileRefused, Layout, R, key, value_key
from core.problems import Problem


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds what, by header name (matched in any case and spacing)."""

    address_column: str
    status_column: str = ""
    suppressed_values: tuple[str, ...] = ()
    date_column: str = ""
    reason: str = R.UNSUBSCRIBE
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.address_column.strip():
            raise FileRefused(
                Problem(gettext_noop("a mapping needs the column that holds the address"))
            )
        if self.reason not in R.values:
            raise FileRefused(
                Problem(gettext_noop("unknown reason %(reason)s"), reason=repr(self.reason))
            )
        if self.status_column.strip() and not [v for v in self.suppressed_values if v.strip()]:
            raise FileRefused(
                Problem(
                    gettext_noop(
                        "say which values of the status column %(column)s mean suppressed"
                    ),
                    column=repr(self.status_column),
                )
            )

    def as_dict(self) -> dict:
        data = asdict(self)
        data["suppressed_values"] = list(self.suppressed_values)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ColumnMapping:
        return cls(
            address_column=data.get("address_column", ""),
            status_column=data.get("status_column", ""),
            suppressed_values=tuple(data.get("suppressed_values") or ()),
            date_column=data.get("date_column", ""),
            reason=data.get("reason") or R.UNSUBSCRIBE,
            name=data.get("name", ""),
        )

    def layout(self, header: Sequence[str]) -> Layout:
        """This mapping over a file's first line, or FileRefused naming a column it lacks."""
        cols = Columns(header)

        def column(name: str, role: Problem) -> int | None:
            if not name.strip():
                return None
            index = cols.find(key(name))
            if index is None:
                raise FileRefused(
                    Problem(
                        gettext_noop(
                            "the mapping expects the %(role)s in a column %(column)s, which the "
                            "file does not have; its first line has %(header)s"
                        ),
                        role=role,
                        column=repr(name),
                        header=", ".join(repr(h) for h in header[:12])
                        or Problem(gettext_noop("(nothing)")),
                    )
                )
            return index

        email = column(self.address_column, Problem(gettext_noop("address")))
        status = column(self.status_column, Problem(gettext_noop("status")))
        date = column(self.date_column, Problem(gettext_noop("date")))
        assert email is not None
        statuses = {value_key(v): self.reason for v in self.suppressed_values if v.strip()}
        return Layout(
            key="mapping",
            email=email,
            date=date,
            status=status,
            statuses=statuses,
            unlisted_skipped=True,
            reason=self.reason,
            evidence=((cols.label(status), status),) if status is not None else (),
            because=(
                gettext_noop(
                    "the column mapping %(name)s: address in %(address)s, status in "
                    "%(status)s (suppressed: %(values)s), date in %(date)s"
                )
                if self.name
                else gettext_noop(
                    "the columns the staff mapped: address in %(address)s, status in "
                    "%(status)s (suppressed: %(values)s), date in %(date)s"
                )
            ),
            because_args={
                "name": self.name,
                "address": cols.label(email),
                "status": cols.label(status) or "-",
                "values": ", ".join(self.suppressed_values) or "-",
                "date": cols.label(date) or "-",
            },
            mapping_name=self.name,
        )
