"""Walking every admin page and action as one staff user.

`walk` opens, for every model registered in the admin: the list, the add page, the change
page of one existing record, its delete and history pages, and every extra URL the model's
admin adds in get_urls(); `actions` lists the actions the user is offered. Entries are
(model label, view) pairs, e.g. ("billing.card", "change"), ("accounts.account",
"agent_action:pause"), ("billing.billingprofile", "action:record_payment").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

# Views every ModelAdmin has; the change page counts as "view" when it opens read-only.
STANDARD = ("changelist", "add", "change", "delete", "history")
# Path parameters that name the record of the admin's own model.
OBJECT_PARAMETERS = {"object_id", "pk", "id", "record_id"}
# A path parameter naming a record of another model: the walk's objects hold one per model,
# under "<other model>@<model>".
OTHER_RECORD_PARAMETERS = {"import_id": "exchanges.importrecord"}


@dataclass
class Page:
    method: str
    url: str
    status: int
    body: str


def label(model) -> str:
    return model._meta.label_lower


def custom_urls(model_admin) -> dict[str, list[str]]:
    """The URLs a ModelAdmin adds to the standard ones: {name suffix: path parameters}."""
    model = model_admin.model
    prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
    found = {}
    for pattern in model_admin.get_urls():
        name = pattern.name
        if name is None:  # the old-style "<id>/" redirect to the change page
            continue
        suffix = name.removeprefix(prefix)
        if suffix in STANDARD and name == prefix + suffix:
            continue
        found[suffix] = list(pattern.pattern.converters)
    return found


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def _record(pages, entry, method, url, response, *, opened_statuses=(200,)):
    status = response.status_code
    assert status in (*opened_statuses, 403), (entry, method, url, status)
    pages[entry] = Page(method, url, status, _body(response))
    return status in opened_statuses


def walk(client, objects: dict, variants: dict, post_data: dict) -> dict[tuple, Page]:
    """GET (or, for POST-only views, POST `post_data`) every admin URL as the client's user.

    Returns every page by entry; a page is opened when it answered 200 (a POST-only view:
    200 or a redirect back with a message), refused when it answered 403. Anything else fails.
    `variants` gives the values of path parameters other than the record's id, by URL name.
    """
    pages: dict[tuple, Page] = {}
    for model, model_admin in admin.site._registry.items():
        obj = objects[label(model)]
        info = model._meta.app_label, model._meta.model_name
        for view in STANDARD:
            args = [] if view in ("changelist", "add") else [obj.pk]
            url = reverse("admin:{}_{}_{}".format(*info, view), args=args)
            response = client.get(url)
            entry = (label(model), view)
            if view == "change" and response.status_code == 200:
                editable = response.context_data.get("has_change_permission")
                entry = (label(model), "change" if editable else "view")
            _record(pages, entry, "GET", url, response)
        for suffix, parameters in custom_urls(model_admin).items():
            name = "{}_{}_{}".format(*info, suffix)
            extra = [
                p
                for p in parameters
                if p not in OBJECT_PARAMETERS and p not in OTHER_RECORD_PARAMETERS
            ]
            assert len(extra) <= 1, (name, parameters)
            values = variants.get(name, {}).get(extra[0], []) if extra else [None]
            assert values, f"{name}: say which values of {extra} the walk opens (VARIANTS)"
            for value in values:
                kwargs = {p: obj.pk for p in parameters if p in OBJECT_PARAMETERS}
                kwargs |= {
                    p: objects[f"{OTHER_RECORD_PARAMETERS[p]}@{label(model)}"].pk
                    for p in parameters
                    if p in OTHER_RECORD_PARAMETERS
                }
                if extra:
                    kwargs[extra[0]] = value
                url = reverse(f"admin:{name}", kwargs=kwargs)
                entry = (label(model), suffix if value is None else f"{suffix}:{value}")
                if name in post_data:
                    response = client.post(url, post_data[name](objects))
                    _record(pages, entry, "POST", url, response, opened_statuses=(200, 302))
                else:
                    _record(pages, entry, "GET", url, response=client.get(url))
    return pages


def offered_actions(user) -> dict[str, set[str]]:
    """The admin actions each model's list offers `user`: {model label: action names}."""
    offered = {}
    for model, model_admin in admin.site._registry.items():
        request = RequestFactory().get(f"/admin/{model._meta.app_label}/")
        request.user = user
        offered[label(model)] = set(model_admin.get_actions(request))
    return offered
