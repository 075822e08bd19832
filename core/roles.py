"""Staff roles are Django groups, created and granted by data migrations.

Each app grants its own permissions to the roles in its own migration:

    def forwards(apps, schema_editor):
        grant(apps, {"Billing": ["billing.view_ledgerentry", "billing.record_payment"]})
"""

from __future__ import annotations

SUPPORT = "Support"
BILLING = "Billing"
COMPLIANCE = "Compliance"
MANAGER = "Manager"
ROLES = (SUPPORT, BILLING, COMPLIANCE, MANAGER)


def ensure_permissions(apps) -> None:
    """Create the permissions of every installed model now: Django would only do so after the
    whole migrate run, too late for a migration that grants them."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, grants: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ensure_permissions(apps)
    for group_name, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            permission = Permission.objects.get(
                content_type__app_label=app_label, codename=codename
            )
            group.permissions.add(permission)


def revoke(apps, grants: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    for group_name, perms in grants.items():
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            continue
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            group.permissions.remove(
                *group.permissions.filter(content_type__app_label=app_label, codename=codename)
            )
