"""The 403 page in the admin's own style, saying which role may open what was refused."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponseForbidden
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

DEFAULT_ACTIONS = ("add", "change", "delete", "view")


def roles_that_may_open(path: str) -> list[str]:
    """The staff roles holding the permission an admin page asks for: viewing for a list or
    an entry, adding, deleting, or the model's own permissions for its custom pages."""
    try:
        match = resolve(path)
    except Resolver404:
        return []
    url_name = match.url_name or ""
    for model, _model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if not url_name.startswith(prefix):
            continue
        page = url_name.removeprefix(prefix)
        permissions = Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=False)
        )
        if page in ("changelist", "change", "history"):
            permissions = permissions.filter(
                codename__in=[f"view_{model._meta.model_name}", f"change_{model._meta.model_name}"]
            )
        elif page in ("add", "delete"):
            permissions = permissions.filter(codename=f"{page}_{model._meta.model_name}")
        else:
            permissions = permissions.exclude(
                codename__in=[f"{a}_{model._meta.model_name}" for a in DEFAULT_ACTIONS]
            )
        return list(
            Group.objects.filter(permissions__in=permissions)
            .order_by("name")
            .values_list("name", flat=True)
            .distinct()
        )
    return []


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponseForbidden:
    roles = roles_that_may_open(request.path)
    context = {
        **admin.site.each_context(request),
        "roles": ", ".join(roles),
        "role_count": len(roles),
        "reason": str(exception) if str(exception) else "",
    }
    return HttpResponseForbidden(render_to_string("403.html", context, request=request))
