"""Shared fixtures. Tests hit the real database (PostgreSQL in CI) and the real broker.

Tests marked `postgres` or `redis` need that service: without it they skip on a newcomer's
machine, and fail when REQUIRE_SERVICES=1 (CI), so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice import celery_app
from backoffice.twofactor import second_factor_required
from core.actors import Actor


def pytest_configure(config):
    """Passwords are hashed with a fast hasher, as Django advises for tests: production's takes
    a fifth of a second a password, and the tests create staff users in nearly every test
    (the accounts and approvals tests took 67 s with it, 30 s without). The login tests already
    used this one; what is checked about a password is the same.

    Each parallel test process (pytest-xdist's workers gw0, gw1, ... that `dev.py test`
    starts) takes a Redis database of its own, the broker URL's database plus its number
    (redis://…/3 gives gw0 database 3 and gw1 database 4), as pytest-django gives each its own
    test database. Everything a test starts (Celery workers, beat, commands) inherits it from
    the environment, so a worker started by one test process never takes another's tasks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for database in settings.DATABASES.values():
        if database["ENGINE"].endswith(".sqlite3"):
            # The embedded default tests in memory, each process its own database: Django's
            # choice, named, since pytest-django, not knowing the engine django_prometheus
            # wraps, would otherwise name a file per process after the path.
            test = database.setdefault("TEST", {})
            test["NAME"] = test.get("NAME") or ":memory:"
    worker = getattr(config, "workerinput", {}).get("workerid")
    if not worker or not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return
    own = broker_url_of_test_process(settings.CELERY_BROKER_URL, int(worker.removeprefix("gw")))
    os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL = own
    # Celery copies its configuration once; it may have done so already.
    celery_app.conf.broker_url = own


def broker_url_of_test_process(url: str, number: int) -> str:
    parsed = urlparse(url)
    database = int(parsed.path.strip("/") or 0) + number
    return parsed._replace(path=f"/{database}").geturl()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every transactional test restores the migrations' data (staff roles, default schedules,
    the reasons list) from the serialized copy: without it, one test's flush would leave the
    next test with no groups, or with content types created twice."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        transactional = (marker is not None and marker.kwargs.get("transaction")) or (
            "live_server" in fixtures or "transactional_db" in fixtures
        )
        if not transactional:
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        kwargs.update(transaction=True, serialized_rollback=True)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


def _missing(service: str, why: str) -> None:
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{service} is required (REQUIRE_SERVICES=1) but {why}", pytrace=False)
    pytest.skip(f"{service} not available: {why}")


def redis_url() -> str | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return url
    except OSError:
        return None


@pytest.fixture(scope="session", autouse=True)
def _flush_past_append_only_triggers():
    """Between transactional tests the test database is emptied with TRUNCATE, which the
    append-only triggers on the ledger and the suppression store rightly refuse. Only this
    test-database reset runs with triggers off (session_replication_role, superuser only);
    everything the tests exercise still meets the triggers."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("PostgreSQL", f"DATABASE_URL points at {connection.vendor}")
    if request.node.get_closest_marker("redis") and redis_url() is None:
        _missing("Redis", f"CELERY_BROKER_URL is {settings.CELERY_BROKER_URL!r}")


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (English). A request in German leaves German
    active in the thread after the test client returns (LocaleMiddleware activates it and
    nothing deactivates it), and the services translate their refusals when they raise: without
    this, a test asserting English wording fails or passes depending on the tests before it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def _exchanges_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("exchanges")


@pytest.fixture(autouse=True)
def _exchanges_import_dir(_exchanges_dir):
    """Uploaded CSV files wait for their confirmation in a folder of the test run, never in
    the project's var/."""
    with override_settings(EXCHANGES_IMPORT_DIR=_exchanges_dir):
        yield


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with the public endpoints' rate-limit counts at zero: they live in the
    local-memory cache, which outlives a test (never a shared cache: nothing here clears one)."""
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()


@pytest.fixture(autouse=True)
def _second_factor_at_force_login(settings, monkeypatch):
    """Every test meets the real two-factor requirement: the demo's waiver never applies here.

    `client.force_login(user)` stands for a whole login, so for a staff member who needs a
    second factor it also gives one: a confirmed authenticator device of theirs is put in the
    session, exactly as the two-factor page does after a valid code (django_otp.login). What
    production enforces is unchanged: the middleware still reads the device from the database
    and the admin still refuses a session without one. Tests of the login itself post the
    password and real codes (tests/test_two_factor.py) and never use force_login."""
    settings.TWO_FACTOR_WAIVED = False
    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if second_factor_required(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def smtp(settings):
    """Starts a real SMTP server (tests.accounts.smtp) and points Django's SMTP backend at it:
    `with smtp(refuse_first=1) as server: ...`."""
    from tests.accounts.smtp import Recorder, SMTPServer

    def start(**handler_options):
        server = SMTPServer(Recorder(**handler_options))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return server

    return start


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for services that take now=."""
    return datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def job_actor() -> Actor:
    return Actor.system("test_job")


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user("agent.smith", password="x", is_staff=True)


@pytest.fixture
def agent(staff_user) -> Actor:
    return Actor.staff(staff_user)


def role_user(django_user_model, role: str, username: str | None = None):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        username or role.lower(), password="pw-for-tests", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def optin_signed_off(django_user_model) -> dict[str, Actor]:
    """Who records an opt-in entered by staff (R9, four eyes): one compliance officer asked for
    it, another signs it off. Splat into ``optin_record(..., **optin_signed_off)``."""
    asked = role_user(django_user_model, "Compliance", "officer.asks")
    signs = role_user(django_user_model, "Compliance", "officer.signs")
    return {"by": Actor.staff(signs), "requested_by": Actor.staff(asked)}


@pytest.fixture
def make_role_user(db, django_user_model):
    def make(role: str, username: str | None = None):
        return role_user(django_user_model, role, username)

    return make


def pytest_report_header(config):
    return [
        f"database: {os.environ.get('DATABASE_URL', 'embedded SQLite').split('@')[-1]}",
        f"broker: {os.environ.get('CELERY_BROKER_URL', 'embedded filesystem')}",
    ]
