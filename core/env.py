"""Reading settings from the environment, strictly.

A missing or malformed value stops start-up with one line naming the variable (exit code 2),
never a traceback: operators read this at 3 a.m.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qs, unquote, urlparse

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}

BROKER_SCHEMES = ("redis", "rediss", "filesystem", "amqp", "memory")
CACHE_SCHEMES = ("locmem", "redis", "rediss")
RATE = re.compile(r"[1-9][0-9]*/[1-9]?[0-9]*[smhd]\Z")
DATABASE_SCHEMES = ("postgres", "postgresql", "sqlite")


class ConfigError(SystemExit):
    """A configuration value is missing or malformed; start-up stops with one line."""


def fail(name: str, message: str) -> NoReturn:
    line = f"configuration error: {name}: {message}"
    print(line, file=sys.stderr)
    raise ConfigError(2)


def string(name: str, default: str) -> str:
    return os.environ.get(name, default)


def required(name: str, why: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        fail(name, f"not set ({why})")
    return value


def boolean(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    fail(name, f"{raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def integer(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        fail(name, f"{raw!r} is not a whole number")


def decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name) or default
    try:
        return Decimal(raw)
    except InvalidOperation:
        fail(name, f"{raw!r} is not an amount (e.g. 9.00)")


def csv(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        fail(name, f"{raw!r} is not one of {', '.join(choices)}")
    return value


def subset(name: str, default: list[str], choices: tuple[str, ...]) -> list[str]:
    """A comma-separated list of names, each one of `choices`; empty when set to ''."""
    items = csv(name, default)
    unknown = [item for item in items if item not in choices]
    if unknown:
        fail(name, f"{unknown[0]!r} is not one of {', '.join(choices)}")
    return items


def networks(name: str, default: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or networks (`10.0.0.0/8`, `192.0.2.7`, `::1`)."""
    result = []
    for item in csv(name, default):
        try:
            result.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            fail(name, f"{item!r} is not an address or network (e.g. 10.0.0.0/8 or ::1)")
    return result


def listen_address(name: str) -> tuple[str, int] | None:
    """`HOST:PORT` (`[::1]:9100` for IPv6) to listen on; None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    host, sep, port = raw.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(name, f"{raw!r} is not HOST:PORT (e.g. 0.0.0.0:9808)")
    return host, int(port)


def directory(name: str) -> str:
    """An existing directory; '' when unset."""
    raw = os.environ.get(name, "")
    if raw and not Path(raw).is_dir():
        fail(name, f"{raw!r} is not an existing directory")
    return raw


def sentry_dsn(name: str) -> str:
    """A Sentry DSN (`https://KEY@HOST/PROJECT`); '' when unset. Shown redacted on error."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    project = parsed.path.rstrip("/").rpartition("/")[2]
    if parsed.scheme not in ("http", "https") or not parsed.username or not parsed.hostname:
        fail(name, "not a DSN of the form https://KEY@HOST/PROJECT (value not shown)")
    if not project.isdigit():
        fail(name, "names no project number at its end (https://KEY@HOST/PROJECT)")
    return raw


def counts(name: str) -> dict[str, int]:
    """`a=1,b=2` as {"a": 1, "b": 2}; empty when unset."""
    result = {}
    for item in csv(name, []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip().isdigit() or int(value) < 1:
            fail(name, f"{item!r} is not NAME=NUMBER (a whole number of at least 1)")
        result[key.strip()] = int(value)
    return result


def rate(name: str, default: str) -> str:
    """A rate such as `10/m` (per second, minute, hour, day; `5/10m`: five per ten minutes)."""
    value = (os.environ.get(name) or default).strip()
    if not RATE.match(value):
        fail(name, f"{value!r} is not a rate (e.g. 10/m, 300/h, 5/10m)")
    return value


def cache(name: str, *, default: str) -> dict:
    """The cache that counts rate limits: `locmem://` (each process counts on its own) or
    `redis://host:6379/1` (shared by every process and machine)."""
    url = os.environ.get(name) or default
    scheme = urlparse(url).scheme
    if scheme not in CACHE_SCHEMES:
        fail(
            name,
            f"unknown cache scheme {scheme or '(none)'!r} in {_redact(url)!r}; "
            "use locmem:// or redis://host:6379/1",
        )
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"}
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def database(name: str, *, default: str) -> dict:
    url = os.environ.get(name) or default
    parsed = urlparse(url)
    if parsed.scheme not in DATABASE_SCHEMES:
        fail(
            name,
            f"unsupported scheme {parsed.scheme or '(none)'!r} in {_redact(url)!r}; "
            "use postgres://user@host:5432/name or sqlite:///path/to/file.sqlite3",
        )
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if not path or path == "/":
            fail(name, f"{url!r} names no file; use sqlite:///path/to/file.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                # Without IMMEDIATE, beat, the worker and the web process take read locks and
                # then deadlock upgrading them ("database is locked").
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    db_name = parsed.path.lstrip("/")
    if not db_name:
        fail(name, f"{_redact(url)!r} names no database; use postgres://user@host:5432/name")
    try:
        port = parsed.port
    except ValueError:
        fail(name, f"{_redact(url)!r} has a port that is not a number")
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(db_name),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(port or ""),
        "CONN_MAX_AGE": integer("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


def migration_database(name: str, app: dict) -> dict | None:
    """The credentials `migrate` connects with (the migrator role, which owns the schema),
    from a URL naming the same database as DATABASE_URL; None when unset. The application's
    own processes never use them (README, "Database roles")."""
    url = os.environ.get(name, "").strip()
    if not url:
        return None
    if urlparse(url).scheme not in ("postgres", "postgresql"):
        fail(name, f"{_redact(url)!r} is not a PostgreSQL URL; use postgres://migrator:…@host/name")
    if app["ENGINE"] != "django.db.backends.postgresql":
        fail(name, "is only for PostgreSQL, but DATABASE_URL is not a PostgreSQL URL")
    migrator = database(name, default=url)
    for key, what in (("NAME", "database"), ("HOST", "host"), ("PORT", "port")):
        if migrator[key] != app[key]:
            fail(
                name,
                f"names {what} {migrator[key]!r} but DATABASE_URL names {app[key]!r}: both "
                "must point at the same database, only the role differs",
            )
    if not migrator["USER"] or migrator["USER"] == app["USER"]:
        fail(name, "must name the migrator role, not DATABASE_URL's role")
    return {"NAME": migrator["NAME"], "USER": migrator["USER"], "PASSWORD": migrator["PASSWORD"]}


def broker(name: str, *, default: str) -> str:
    url = os.environ.get(name) or default
    scheme = urlparse(url).scheme
    if scheme not in BROKER_SCHEMES:
        fail(
            name,
            f"unknown broker scheme {scheme or '(none)'!r} in {_redact(url)!r}; "
            f"use one of {', '.join(s + '://' for s in BROKER_SCHEMES)}",
        )
    return url


def email(name: str, *, default: str) -> dict:
    url = os.environ.get(name) or default
    parsed = urlparse(url)
    scheme = parsed.scheme
    if scheme == "file":
        return {
            "backend": "django.core.mail.backends.filebased.EmailBackend",
            "file_path": unquote(parsed.path),
        }
    if scheme == "console":
        return {"backend": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"backend": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme in ("smtp", "smtp+tls", "smtps"):
        try:
            port = parsed.port
        except ValueError:
            fail(name, f"{_redact(url)!r} has a port that is not a number")
        return {
            "backend": "django.core.mail.backends.smtp.EmailBackend",
            "host": parsed.hostname or "localhost",
            "port": port or (465 if scheme == "smtps" else 587 if scheme == "smtp+tls" else 25),
            "user": unquote(parsed.username or ""),
            "password": unquote(parsed.password or ""),
            "use_tls": scheme == "smtp+tls",
            "use_ssl": scheme == "smtps",
        }
    fail(
        name,
        f"unknown scheme {scheme or '(none)'!r}; use smtp://, smtp+tls://, smtps://, "
        "file:///path, console:// or locmem://",
    )


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url
