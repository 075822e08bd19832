"""Configuration from the environment: clear one-line errors, clean production checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3y-" + "x7Qp9rZt" * 8


def manage(*args, env_overrides: dict[str, str], drop=()) -> subprocess.CompletedProcess:
    # Only what the test names: nothing the test session itself set leaks into the check.
    drop = (*drop, "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("DATABASE_URL", "mysql://root@db/backoffice", "unsupported scheme 'mysql'"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:notaport/x", "port that is not"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432", "names no database"),
        ("CELERY_BROKER_URL", "kafka://broker:9092", "unknown broker scheme 'kafka'"),
        ("DEBUG", "maybe", "'maybe' is not a boolean"),
        ("EMAIL_URL", "pigeon://coop", "unknown scheme 'pigeon'"),
        ("CELERY_VISIBILITY_TIMEOUT", "soon", "'soon' is not a whole number"),
        ("PAUSE_FEE", "nine", "'nine' is not an amount"),
        ("CACHE_URL", "memcached://cache:11211", "unknown cache scheme 'memcached'"),
        ("SIGNUP_RATE_PER_ADDRESS", "lots", "'lots' is not a rate"),
        ("AXES_PROXY_COUNT", "-1", "-1 is not a number of proxies"),
        ("LOG_FORMAT", "xml", "'xml' is not one of plain, json"),
        ("LANGUAGE_CODE", "fr", "'fr' is not one of en, de"),
        ("LOG_LEVEL", "loud", "'loud' is not one of debug, info"),
        ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,10.0.0.0/33", "'10.0.0.0/33' is not an address"),
        ("WORKER_METRICS_ADDRESS", "nowhere", "'nowhere' is not HOST:PORT"),
        ("WORKER_METRICS_ADDRESS", "127.0.0.1:9808", "needs PROMETHEUS_MULTIPROC_DIR"),
        ("PROMETHEUS_MULTIPROC_DIR", "/no/such/directory", "is not an existing directory"),
        ("READINESS_CHECKS", "database,dns", "'dns' is not one of database, migrations"),
        ("SENTRY_DSN", "https://sentry.example.com/42", "not a DSN of the form"),
        ("SENTRY_DSN", "https://k3y@sentry.example.com/", "names no project number"),
    ],
)
def test_malformed_env_stops_startup_with_one_line_naming_the_variable(name, value, expected):
    # The visibility timeout is only read for a Redis broker.
    broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"} if "VISIBILITY" in name else {}
    result = manage("check", env_overrides={"DEBUG": "1", **broker, name: value})

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {name}: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_commands_speak_the_language_code_the_environment_gives():
    """README "Management commands": LANGUAGE_CODE=de makes a command's output German."""
    german = manage("check_invariants", "--batch", "0", env_overrides={"LANGUAGE_CODE": "de"})
    english = manage("check_invariants", "--batch", "0", env_overrides={}, drop=("LANGUAGE_CODE",))

    assert "--batch muss eine positive Anzahl von Konten sein, nicht 0" in german.stderr
    assert "--batch must be a positive number of accounts, not 0" in english.stderr


def test_a_malformed_sentry_dsn_is_not_repeated_in_the_error():
    result = manage("check", env_overrides={"DEBUG": "1", "SENTRY_DSN": "htps://s3cret@x/1"})

    assert result.returncode == 2
    assert "s3cret" not in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = manage("check", env_overrides={"DEBUG": "0"}, drop=("SECRET_KEY",))

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: SECRET_KEY: not set (it is required when DEBUG is off)"
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DEBUG": "0",
            "SECRET_KEY": STRONG_KEY,
            "ALLOWED_HOSTS": "backoffice.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://backoffice.example.com",
            "DATABASE_URL": "postgres://backoffice@db.internal:5432/backoffice",
            "MIGRATION_DATABASE_URL": "postgres://migrator@db.internal:5432/backoffice",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "EMAIL_URL": "smtp+tls://mailer:secret@smtp.internal:587",
        },
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_with_a_redis_cache_passes_check_deploy_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DEBUG": "0",
            "SECRET_KEY": STRONG_KEY,
            "SECRET_KEY_FALLBACKS": "k3y-before-" + "z8Vw" * 12,
            "ALLOWED_HOSTS": "backoffice.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://backoffice.example.com",
            "DATABASE_URL": "postgres://backoffice@db.internal:5432/backoffice",
            "MIGRATION_DATABASE_URL": "postgres://migrator@db.internal:5432/backoffice",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "CACHE_URL": "redis://redis.internal:6379/1",
            "AXES_PROXY_COUNT": "1",
        },
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _link_read(token: str, **keys: str) -> subprocess.CompletedProcess:
    return manage(
        "shell",
        "-c",
        "import os; from accounts.links import unsubscribe_token_read as read;"
        "print(read(os.environ['TOKEN']).address)",
        env_overrides={"DEBUG": "1", "TOKEN": token, **keys},
        drop=("SECRET_KEY_FALLBACKS",),
    )


def test_unsubscribe_links_survive_a_key_rotation_with_secret_key_fallbacks():
    """README "Rotating SECRET_KEY": the old key moves to SECRET_KEY_FALLBACKS, and every link
    mailed before keeps working (SPEC "Unsubscribe links keep working")."""
    old, new = "k3y-old-" + "a1B2" * 12, "k3y-new-" + "c3D4" * 12
    signed = manage(
        "shell",
        "-c",
        "from accounts.links import unsubscribe_token;"
        "print(unsubscribe_token(account_id=7, address='reader@example.org'))",
        env_overrides={"DEBUG": "1", "SECRET_KEY": old},
        drop=("SECRET_KEY_FALLBACKS",),
    )
    token = signed.stdout.split()[-1]

    rotated = _link_read(token, SECRET_KEY=new, SECRET_KEY_FALLBACKS=old)
    forgotten = _link_read(token, SECRET_KEY=new)

    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.split()[-1] == "reader@example.org"
    assert forgotten.returncode != 0 and "InvalidLink" in forgotten.stderr


def test_embedded_default_uses_sqlite_in_wal_mode_and_the_file_broker(tmp_path):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode');"
        "print(c.fetchone()[0], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND)",
        env_overrides={"DEBUG": "1", "VAR_DIR": str(tmp_path)},
        drop=("DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL"),
    )

    assert result.returncode == 0, result.stderr
    journal, broker, email = result.stdout.split()[-3:]
    assert journal == "wal"
    assert broker == "filesystem://"
    assert email.endswith("filebased.EmailBackend")
    assert (tmp_path / "backoffice.sqlite3").exists()
