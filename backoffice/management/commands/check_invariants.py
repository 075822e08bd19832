"""`manage.py check_invariants`: check, over the whole database, every rule that must hold after
any crash (backoffice.invariants). Prints each violation with the ids of its rows and exits
non-zero when there is one. Run it nightly (README, Operations)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.invariants import ACCOUNTS_PER_BATCH, INVARIANTS, invariants_check
from jobs.services import InvalidAsOf, parse_as_of


class Command(BaseCommand):
    help = (
        "Check every rule that must hold after any crash (each sent confirmation has its "
        "event, each status its event, each charge its ledger rows, each purge its receipt, "
        "each import its counts, no abandoned batch) and print each violation with its ids. "
        "Exits with status 1 when any rule is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only",
            action="append",
            choices=sorted(INVARIANTS),
            metavar="NAME",
            help=f"check only this invariant (repeatable): {', '.join(INVARIANTS)}",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=ACCOUNTS_PER_BATCH,
            help=f"accounts per batch (default {ACCOUNTS_PER_BATCH:,})",
        )
        parser.add_argument(
            "--as-of",
            help="the moment the time-based rules are judged by (default now), ISO date-time",
        )

    def handle(self, *args, only, batch, as_of, **options):
        if batch < 1:
            raise CommandError(
                _("--batch must be a positive number of accounts, not %(batch)s") % {"batch": batch}
            )
        try:
            now = parse_as_of(as_of) if as_of else timezone.now()
        except InvalidAsOf as exc:
            raise CommandError(str(exc)) from None
        total, started = 0, time.perf_counter()
        for entry, violations in invariants_check(now=now, only=only, batch=batch):
            began, found = time.perf_counter(), 0
            for violation in violations:
                found += 1
                self.stdout.write(str(violation))
            seconds = time.perf_counter() - began
            verdict = _("ok") if not found else _("%(count)s violation(s)") % {"count": found}
            self.stderr.write(
                _("%(name)s (%(rule)s): %(verdict)s in %(seconds)ss")
                % {
                    "name": entry.name,
                    "rule": entry.rule,
                    "verdict": verdict,
                    "seconds": f"{seconds:.1f}",
                }
            )
            total += found
        summary = _("%(count)s violation(s) in %(seconds)ss") % {
            "count": total,
            "seconds": f"{time.perf_counter() - started:.1f}",
        }
        if total:
            raise CommandError(summary)
        self.stderr.write(_("every invariant holds: %(summary)s") % {"summary": summary})
