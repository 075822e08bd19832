"""Bad input never answers 500 and never half-applies (issue 12, item 5).

A table of bad values, by the kind of field, is posted into every field of every form the
admin shows (each registered model's add and change pages, the form of each admin action, the
admin's own extra pages: cancellation call, agent actions, imports) and into the public
endpoints (every path of the public and API URLconfs, the sign-up form's fields). The lists of
forms come from the admin registry and the URLconf, so a form added later is covered without
a line here. Each post is made as the role that may use the form (tests/security/
test_admin_matrix.py's ALLOWED, a superuser where no role may), with DEBUG off, and must:

- answer without a 500;
- show a message that names what was wrong (the field's errors, or an error naming the
  field's label or the value);
- write nothing: a digest of every row the admin shows is the same before and after.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Contact, SignupForm
from compliance.models import OptInConfirmation, Suppression
from tests.security.test_admin_matrix import ACTIONS, ALLOWED, VARIANTS, snapshot
from tests.security.walk import OBJECT_PARAMETERS, STANDARD, custom_urls, label

pytestmark = pytest.mark.django_db

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Evil\u202emoc.elpmaxe" reads "Evilexample.com"

# The table of bad values, by what a field holds. Every value here is wrong for every field of
# its kind: the form must refuse it and say so.
EVERY_FIELD = ["x\x00y"]
NUMBERS = ["١٢٣", "１２３", "1e999", "NaN", "-Infinity", "99999999999999999999999.99", "0x10"]
DATES = ["2026-02-30", "١٢/١٢/٢٠٢٦", "99999-01-01"]
CHOICES = ["no-such-choice", "99999999999999999999999", "-1"]
NAMES = [f"Evil{RLO}moc.elpmaxe", "zero\u200bwidth", "bell\x07"]
TIME_ZONES = ["Mars/Phobos", "../../etc/passwd", "Europe/"]
CURRENCIES = ["ZZZ", "US", "€"]

# Choices that take any value by design, with why: only EVERY_FIELD's values are wrong there.
OPEN_CHOICES = {
    # Beat's task picker (superusers only) takes any task name: a task may be known to a
    # worker only (django_celery_beat's TaskChoiceField).
    ("django_celery_beat.periodictask", "regtask"),
}

# Form fields that hold a name staff read in lists (refused with control characters).
NAME_FIELDS = {"name", "company", "username", "first_name", "last_name", "integration"}


def bad_values(name: str, field: forms.Field) -> list[str]:
    values = list(EVERY_FIELD)
    if isinstance(field, forms.BooleanField | forms.FileField):
        return []
    if isinstance(field, forms.DecimalField | forms.IntegerField | forms.FloatField):
        values += NUMBERS
    elif isinstance(field, forms.DateField | forms.DateTimeField | forms.SplitDateTimeField):
        values += DATES
    elif isinstance(field, forms.ModelChoiceField | forms.ChoiceField):
        values += CHOICES
    elif name == "amount":
        values += NUMBERS
    if name == "time_zone":
        values += TIME_ZONES
    if name == "currency":
        values += CURRENCIES
    if name in NAME_FIELDS and isinstance(field, forms.CharField):
        values += NAMES
    if getattr(field, "max_length", None):
        values.append("x" * (field.max_length + 1))
    return values


class FormFields(HTMLParser):
    """What a browser posts for each POST form of a page: its inputs with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict[str, list[str]], dict[str, str]]] = []
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    @property
    def data(self) -> dict[str, list[str]]:
        return self.forms[-1][0]

    @property
    def kinds(self) -> dict[str, str]:
        return self.forms[-1][1]

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("method", "").lower() == "post"
            if self._in_form:
                self.forms.append(({}, {}))
            return
        if not self._in_form or "name" not in a:
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            self.kinds[name] = kind
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind == "checkbox" else ""
            self.data.setdefault(name, []).append(a.get("value", default))
        elif tag == "select":
            self._select, self._options = name, []
            self.kinds[name] = "select"
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea = name
            self.kinds[name] = "textarea"
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea is not None:
            self.data[self._textarea] = [self.data[self._textarea][0] + data]

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected]
            if chosen:
                self.data[self._select] = chosen
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def browser_form(html: str, form: forms.BaseForm):
    """The page's POST form that holds `form`'s fields: (values, input kinds)."""
    parser = FormFields()
    parser.feed(html)
    names = {form.add_prefix(n) for n in form.fields}
    if not parser.forms:
        return {}, {}
    return max(parser.forms, key=lambda found: len(names & set(found[1])))


def page_form(response):
    """The Django form behind a page: an admin add/change page's, or a custom page's."""
    context = response.context
    if context is None:
        return None
    if "adminform" in context:
        return context["adminform"].form
    form = context.get("form")
    return form if isinstance(form, forms.BaseForm) else None


def filled(form: forms.BaseForm, data: dict[str, list[str]], objects: dict) -> dict:
    """The page's values, with each empty required field given a good value, so that the bad
    value is the one thing wrong and the checks behind the form (the services) run too."""
    data = {k: list(v) for k, v in data.items()}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        if not field.required or any(v.strip() for v in data.get(key, [])):
            continue
        if isinstance(field, forms.ModelChoiceField):
            choice = field.queryset.order_by("pk").first()
            if choice is not None:
                data[key] = [str(choice.pk)]
        elif isinstance(field, forms.ChoiceField):
            good = [str(v) for v, _ in field.choices if str(v)]
            if good:
                data[key] = [good[0]]
        elif name == "amount":
            data[key] = ["10.00"]
        elif isinstance(field, forms.EmailField):
            data[key] = ["fresh.zq7@example.com"]
        elif isinstance(field, forms.DecimalField | forms.IntegerField):
            data[key] = [str(field.min_value or 1)]
        elif name == "time_zone":
            data[key] = ["UTC"]
        elif name == "currency":
            data[key] = ["USD"]
        elif isinstance(field, forms.CharField):
            data[key] = ["fresh-zq7"]
    return data


def named(response, name: str, field: forms.Field, value: str) -> bool:
    """Whether the answer names what was wrong: the field's own errors, or a form error or
    message that names its label or the value."""
    form = page_form(response) if response.status_code == 200 else None
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    if form is not None:
        if form.errors.get(name):
            return True
        texts += [str(e) for e in form.non_field_errors()]
    # An action's form shown again keeps its errors there too.
    action_form = (response.context or {}).get("form") if response.status_code == 200 else None
    if isinstance(action_form, forms.BaseForm) and action_form.errors.get(name):
        return True
    marks = {str(field.label or name).lower(), name.lower(), value.lower()[:30], repr(value)[:30]}
    return any(mark and mark in text.lower() for text in texts for mark in marks)


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def _role_for(entry: tuple[str, str]) -> str | None:
    roles = [role for role, allowed in sorted(ALLOWED.items()) if entry in allowed]
    return roles[0] if roles else None


def _login(client, world, make_role_user, role: str | None, users: dict):
    if role not in users:
        users[role] = world.superuser if role is None else make_role_user(role, f"{role}.bad")
    client.force_login(users[role])


def _pages(world) -> list[tuple[tuple[str, str], str]]:
    """Every admin page with a form: (entry as in ALLOWED, URL)."""
    pages = []
    for model, model_admin in admin.site._registry.items():
        obj = world.objects[label(model)]
        info = model._meta.app_label, model._meta.model_name
        pages.append(((label(model), "add"), reverse("admin:{}_{}_add".format(*info))))
        pages.append(
            ((label(model), "change"), reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        )
        for suffix, parameters in custom_urls(model_admin).items():
            name = "{}_{}_{}".format(*info, suffix)
            extra = [p for p in parameters if p not in OBJECT_PARAMETERS]
            values = VARIANTS.get(name, {}).get(extra[0], []) if extra else [None]
            for value in values:
                kwargs = {p: obj.pk for p in parameters if p in OBJECT_PARAMETERS}
                if extra:
                    kwargs[extra[0]] = value
                entry = (label(model), suffix if value is None else f"{suffix}:{value}")
                pages.append((entry, reverse(f"admin:{name}", kwargs=kwargs)))
    return pages


def test_every_admin_form_refuses_bad_values_by_name_and_writes_nothing(
    world, production, make_role_user
):
    client, users = production, {}
    checked, failures = 0, []
    for entry, url in _pages(world):
        role = _role_for(entry)
        _login(client, world, make_role_user, role, users)
        page = client.get(url)
        form = page_form(page) if page.status_code == 200 else None
        if form is None:
            continue
        values, kinds = browser_form(page.content.decode(), form)
        base = filled(form, values, world.objects)
        before = snapshot()
        for name, field in form.fields.items():
            key = form.add_prefix(name)
            if key not in kinds or kinds[key] == "hidden":
                continue
            values = EVERY_FIELD if (entry[0], name) in OPEN_CHOICES else bad_values(name, field)
            for value in values:
                response = client.post(url, {**base, key: value})
                checked += 1
                problem = None
                if response.status_code >= 500:
                    problem = f"answered {response.status_code}"
                elif snapshot() != before:
                    problem, before = "wrote a row", snapshot()
                elif not named(response, name, field, value):
                    problem = f"no message naming it ({response.status_code})"
                if problem:
                    failures.append((entry, role, name, value[:40], problem))
    assert checked > 300  # the walk reached the forms
    assert failures == [], "\n".join(map(repr, failures))


def _action_targets(world) -> list[tuple[object, str, tuple[str, str]]]:
    found = []
    for model in admin.site._registry:
        for model_label, action in ACTIONS:
            if model_label == label(model):
                found.append((model, action.removeprefix("action:"), (model_label, action)))
    return found


def test_every_admin_action_form_refuses_bad_values_by_name_and_writes_nothing(
    world, production, make_role_user
):
    client, users = production, {}
    checked, failures = 0, []
    for model, action, entry in _action_targets(world):
        role = _role_for(entry)
        _login(client, world, make_role_user, role, users)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        chosen = {"action": action, ACTION_CHECKBOX_NAME: [world.objects[entry[0]].pk]}
        page = client.post(url, {**chosen, "index": "0"})
        form = (page.context or {}).get("form") if page.status_code == 200 else None
        if not isinstance(form, forms.BaseForm) or "apply" not in page.content.decode():
            continue
        base = {**chosen, "apply": "1"}
        base |= filled(form, {}, world.objects)
        before = snapshot()
        for name, field in form.fields.items():
            for value in bad_values(name, field):
                response = client.post(url, {**base, name: value})
                checked += 1
                problem = None
                if response.status_code >= 500:
                    problem = f"answered {response.status_code}"
                elif snapshot() != before:
                    problem, before = "wrote a row", snapshot()
                elif not named(response, name, field, value):
                    problem = f"no message naming it ({response.status_code})"
                if problem:
                    failures.append((entry, role, name, value[:40], problem))
    assert checked > 20
    assert failures == [], "\n".join(map(repr, failures))


MALFORMED_IDS = ["abc", "\x00", "1\x00", "99999999999999999999999", "-1", "1.5", "' OR 1=1 --"]


def test_every_admin_action_with_malformed_selected_ids_answers_without_a_500(
    world, production, make_role_user
):
    client, users = production, {}
    failures = []
    for model, action, entry in _action_targets(world):
        _login(client, world, make_role_user, _role_for(entry), users)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for bad in MALFORMED_IDS:
            before = snapshot()
            response = client.post(
                url, {"action": action, ACTION_CHECKBOX_NAME: [bad], "index": "0", "apply": "1"}
            )
            if response.status_code >= 500 or snapshot() != before:
                failures.append((entry, repr(bad), response.status_code))
    assert failures == [], "\n".join(map(repr, failures))


def test_every_admin_url_with_a_malformed_id_is_not_found(world, production):
    production.force_login(world.superuser)
    failures = []
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        urls = [
            f"/admin/{info[0]}/{info[1]}/{{}}/{view}/"
            for view in STANDARD
            if view not in ("changelist", "add")
        ]
        for suffix, parameters in custom_urls(model_admin).items():
            if not any(p in OBJECT_PARAMETERS for p in parameters):
                continue
            name = "{}_{}_{}".format(*info, suffix)
            extra = [p for p in parameters if p not in OBJECT_PARAMETERS]
            kwargs = {p: 1 for p in parameters if p in OBJECT_PARAMETERS}
            if extra:
                kwargs[extra[0]] = VARIANTS.get(name, {}).get(extra[0], ["x"])[0]
            # The path with the id's place marked, to put each malformed id there.
            urls.append(reverse(f"admin:{name}", kwargs=kwargs).replace("/1/", "/{}/", 1))
        for template in urls:
            for bad in ("abc", "%00", "1%00", "99999999999999999999999"):
                response = production.get(template.format(bad))
                if response.status_code >= 500:
                    failures.append((template, bad, response.status_code))
    assert failures == [], "\n".join(map(repr, failures))


# --- the public endpoints --------------------------------------------------------------------


def _public_patterns() -> list[tuple[str, list[str]]]:
    """Every public route (/p/ and /api/), as a path template with its parameters."""
    found = []

    def visit(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                visit(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append((prefix + str(p.pattern), list(p.pattern.converters)))

    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and str(p.pattern) in ("p/", "api/"):
            visit(p.url_patterns, "/" + str(p.pattern))
    return found


BAD_PATH_VALUES = ["%00", "abc%00", "'", "..%2f..%2fetc", "a" * 300, "%ff%fe", "%E2%80%AE"]


def _rows() -> tuple[int, ...]:
    return (
        Suppression.objects.count(),
        OptInConfirmation.objects.count(),
        Contact.objects.count(),
    )


def test_every_public_path_with_a_bad_parameter_answers_without_a_500(world, production):
    patterns = _public_patterns()
    assert any("signup" in p for p, _ in patterns)
    failures = []
    for template, parameters in patterns:
        for bad in BAD_PATH_VALUES:
            url = template
            for parameter in parameters:
                url = url.replace(f"<slug:{parameter}>", bad).replace(f"<str:{parameter}>", bad)
            before = _rows()
            for method in (production.get, production.post):
                response = method(url)
                if response.status_code >= 500:
                    failures.append((template, bad, response.status_code))
            if _rows() != before:
                failures.append((template, bad, "wrote a row"))
    assert failures == [], "\n".join(map(repr, failures))


SIGNUP_BAD = {
    "email": ["", "x\x00y@example.com", "not an address", "a" * 400 + "@example.com", "@", "a@b"],
    "name": ["x\x00y", f"Evil{RLO}moc.elpmaxe"],
}


def test_the_signup_form_refuses_bad_values_and_records_nothing(world, production):
    form = SignupForm.objects.create(
        account=world.objects["accounts.account"], name="Walk form", public_key="walk-signup"
    )
    url = reverse("public:signup", args=[form.public_key])
    failures = []
    for field, values in SIGNUP_BAD.items():
        for value in values:
            data = {"email": "good.zq7@example.com", "name": "Good", field: value}
            before = _rows()
            response = production.post(url, data)
            if response.status_code >= 500:
                failures.append((field, value[:30], response.status_code))
            elif response.status_code != 400 or _rows() != before:
                failures.append((field, value[:30], response.status_code, "recorded"))
    assert failures == [], "\n".join(map(repr, failures))
