"""The rule for changing a legal hold (R7: a held account is never purged), wherever it
changes: the compliance desk's set/release, a manager's account import."""

from __future__ import annotations

from backoffice.actors import Actor


class LegalHoldError(ValueError):
    """A legal hold change that cannot be made as asked; the message says why."""


def legal_hold_check(*, by: Actor, reason: str | None) -> None:
    """Refuse a legal hold change `by` may not make: it needs the permission (Compliance), and
    a reason (the matter, case or request) unless `reason` is None, where none is asked (an
    import releasing a hold)."""
    if not by.may("accounts.set_legal_hold"):
        raise LegalHoldError(f"{by.label} may not set or release legal holds (Compliance only)")
    if reason is not None and not reason.strip():
        raise LegalHoldError("a legal hold needs a reason (the matter, case or request)")
