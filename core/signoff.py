"""Second-person sign-off ("four eyes", SPEC "Compliance details"): what cannot be undone or
weakens compliance is done by a staff member only on another staff member's request, both
holding the permission it needs; the one who asked never signs off their own request,
superusers included. A scheduled job acts by the policy itself and needs no sign-off.

The services that do such things (releasing a legal hold, a staff-entered opt-in, a refund, a
purge by hand) call ``second_person_check`` themselves, so no entry point can skip the sign-off
that ``approvals`` records."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.actors import Actor


class SignOffRequired(PermissionError):
    """A change made without the second person's sign-off it needs; the message says what."""


def second_person_check(
    *, by: Actor, requested_by: Actor | None, permission: str, what: str
) -> None:
    """Refuse `what` unless `by` is a job, or a staff member signing off the request of another
    staff member (`requested_by`), both holding `permission`."""
    if by.is_job:
        return
    if requested_by is None or requested_by.is_job:
        raise SignOffRequired(
            _(
                "%(what)s needs a second person's sign-off: ask for it with a reason, and "
                "another member of staff approves it under Sign-offs"
            )
            % {"what": what}
        )
    if requested_by.user.pk == by.user.pk:
        raise SignOffRequired(
            _("%(who)s asked for this and cannot sign off their own request (four eyes)")
            % {"who": by.label}
        )
    for actor in (requested_by, by):
        if not actor.may(permission):
            raise SignOffRequired(
                _("%(who)s may not ask for or sign off this: %(what)s")
                % {"who": actor.label, "what": what}
            )
