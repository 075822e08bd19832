"""`manage.py forecast USERNAME [--days N] [--as-of ISO]`: what the system will do to one
account if nothing else changes (workflows.forecast), in the account's time zone."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus
from jobs.forecast import account_forecast
from jobs.services import InvalidAsOf, parse_as_of
from workflows.forecast import DEFAULT_DAYS, ForecastError


class Command(BaseCommand):
    help = "Print the forecast of one account: every dated thing the jobs will do to it."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the account's username")
        parser.add_argument(
            "--days", type=int, default=DEFAULT_DAYS, help=f"days ahead (default {DEFAULT_DAYS})"
        )
        parser.add_argument("--as-of", help="forecast from this moment (ISO, UTC if naive)")

    def handle(self, *args, username, days, as_of=None, **options):
        account = Account.objects.filter(username=username).first()
        if account is None:
            raise CommandError(
                _("no account with the username %(username)s") % {"username": repr(username)}
            )
        try:
            moment = parse_as_of(as_of) if as_of else timezone.now()
        except InvalidAsOf as exc:
            raise CommandError(str(exc)) from None
        try:
            forecast = account_forecast(account=account, as_of=moment, days=days)
        except ForecastError as exc:
            raise CommandError(str(exc)) from None
        zone = account.zone
        self.stdout.write(
            _("Forecast of %(username)s (%(status)s, %(zone)s) from %(moment)s for %(days)s days")
            % {
                "username": account.username,
                "status": account.get_status_display().lower(),
                "zone": account.time_zone,
                "moment": f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                "days": days,
            }
        )
        for line in forecast.assumptions:
            self.stdout.write("  " + _("assumes: %(assumption)s") % {"assumption": line})
        if not forecast.entries:
            self.stdout.write("  " + _("nothing happens in this window"))
        for entry in forecast.entries:
            money = f"  {entry.amount} {entry.currency}" if entry.amount is not None else ""
            rule = f"[{entry.rule}] " if entry.rule else ""
            detail = f" — {entry.detail}" if entry.detail else ""
            self.stdout.write(
                f"{entry.local:%Y-%m-%d %H:%M %Z}  {rule}{entry.label}{money}{detail}"
            )
        for note in forecast.notes:
            self.stdout.write("  " + _("note: %(note)s") % {"note": note})
        self.stdout.write(
            _(
                "Status at the end of the window: %(status)s; %(mails)s mail(s) the customer "
                "would get"
            )
            % {"status": _status_label(forecast.status_at_end), "mails": forecast.mails}
        )


def _status_label(status: str) -> str:
    """A status as staff read it (in the active language), e.g. "suspended" → "gesperrt"."""
    try:
        return str(AccountStatus(status).label).lower()
    except ValueError:
        return status
