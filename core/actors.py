"""Who did something: a staff user or a scheduled job (R12: every record says who)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """The author of a state change or money movement: exactly one of a staff user or a job."""

    user: Any = None
    job: str = ""

    def __post_init__(self) -> None:
        if (self.user is None) == (not self.job):
            raise ValueError("an actor is either a staff user or a job, not both or neither")

    @classmethod
    def staff(cls, user: Any) -> Actor:
        return cls(user=user)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(job=job)

    @property
    def is_job(self) -> bool:
        return bool(self.job)

    @property
    def label(self) -> str:
        if self.job:
            return f"job {self.job}"
        return self.user.get_username()

    def may(self, permission: str) -> bool:
        """Whether this actor may do what `permission` guards: a staff user holding it, or a
        scheduled job (jobs act by the policy itself, not by a role)."""
        return self.is_job or self.user.has_perm(permission)

    def as_fields(self) -> dict[str, Any]:
        """Fields for a record with ``by_user`` and ``by_job`` columns."""
        return {"by_user": self.user, "by_job": self.job}
