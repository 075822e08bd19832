from django.apps import AppConfig
from django.core.management.base import CommandError
from django.db.models.signals import pre_migrate
from django.utils.translation import gettext_lazy as _


def refuse_irreversible_plans(sender, plan=None, **kwargs) -> None:
    """`migrate` backwards over an operation that cannot be reversed (the append-only
    triggers, R12) is refused before anything is unapplied: without this, Django would undo
    the later migrations first and stop half-way."""
    for migration, backwards in plan or ():
        if not backwards:
            continue
        for operation in migration.operations:
            if not operation.reversible:
                raise CommandError(
                    f"migration {migration.app_label}.{migration.name} cannot run backwards: "
                    "it makes records append-only for good (R12); nothing was unapplied"
                )


class CoreConfig(AppConfig):
    """The shared bottom: append-only records, the change log of catalogue entries."""

    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        pre_migrate.connect(refuse_irreversible_plans, dispatch_uid="core.refuse_irreversible")
