"""Settings of the back office, every knob from the environment.

With no environment at all this runs on the embedded default a newcomer needs: SQLite under
``var/``, a broker that keeps its queue in files under ``var/broker/``, and emails written to
``var/mail/``. Production sets ``DEBUG=0``, ``SECRET_KEY``, ``DATABASE_URL`` (PostgreSQL),
``CELERY_BROKER_URL`` (Redis) and ``EMAIL_URL``; see README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core import clientip, env
from ops.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", False)

if DEBUG:
    SECRET_KEY = env.string("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
else:
    SECRET_KEY = env.required("SECRET_KEY", "it is required when DEBUG is off")
# Keys SECRET_KEY replaced (comma-separated, newest first): what they signed, unsubscribe and
# opt-in confirmation links above all, stays valid after a rotation. See README, "Rotating".
SECRET_KEY_FALLBACKS = env.csv("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin on the back office's site: staff of the roles that need it log in with a
    # second factor (backoffice.twofactor).
    "backoffice.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "import_export",
    # Two-factor login for staff: authenticator apps (TOTP) and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_ratelimit",
    "django_prometheus",
    "anymail",
    "core",
    "backoffice",
    "accounts",
    "billing",
    "compliance",
    "approvals",
    "jobs",
    "exchanges",
    "ops",
    "api",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before host checks, HTTPS redirects and sessions.
    "ops.middleware.OperationsEndpoints",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every log line of a request carries its id and staff user (ops.logs).
    "ops.middleware.RequestContext",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor verified this session (request.user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Requests by view and status, latencies (django-prometheus, at /metrics).
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Serves the admin's static files in production (after collectstatic), no web server needed.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backoffice" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": env.database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'backoffice.sqlite3'}")
}
# Production connects as the app role, which owns no table and so cannot disable or drop
# the append-only triggers; `migrate` connects as the migrator role, which owns the schema
# (backoffice/management/commands/migrate.py). `manage.py database_roles` creates both.
MIGRATION_DATABASE = env.migration_database("MIGRATION_DATABASE_URL", DATABASES["default"])
# Queries counted and timed by database for /metrics: django-prometheus wraps the backend.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve the suppression look-ups on PostgreSQL; SQLite, the
# embedded default, simply builds them without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]


# --- Cache (counts the public endpoints' rate limits) ---------------------------------------

CACHES = {"default": env.cache("CACHE_URL", default="locmem://")}
# django-ratelimit lists Django's own Redis cache as unknown (its list predates it); it adds
# and increments atomically (SET NX, INCR), which is all the limits need.
SILENCED_SYSTEM_CHECKS.append("django_ratelimit.W001")
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # The embedded default: each web process counts on its own, so N processes let N times
    # the limit through. Production sets CACHE_URL to Redis (README, "Configuration").
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")


# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.broker("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "broker" / "queue"
    _processed = VAR_DIR / "broker" / "processed"
    # The broadcast exchanges' table (kombu's default is ./control, in whatever directory a
    # process started: a clone would gather a stray folder).
    _control = VAR_DIR / "broker" / "control"
    for _d in (_queue, _processed, _control):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "control_folder": str(_control),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task is acknowledged only after it ran (acks_late), so a worker killed mid-task leaves
    # it unacked; Redis hands it to another worker after this many seconds. It must be longer
    # than the longest task (a bounded batch) or the task runs twice while still running.
    # Every worker looks for such tasks every CELERY_UNACKED_RESTORE_INTERVAL seconds (kombu
    # would scan only every tenth look, every 100 s), so a killed worker's batch comes back
    # within visibility timeout + interval. See README, "Operations".
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 900),
        "unacked_restore_interval": env.integer("CELERY_UNACKED_RESTORE_INTERVAL", 30),
        "unacked_restore_throttle": 1,
    }
# Jobs run as batches (jobs.services). A running batch writes a heartbeat every few seconds;
# one silent for JOB_BATCH_LEASE seconds is taken as abandoned and run again (the jobs' own
# claims make that harmless). A batch dispatched JOB_REDISPATCH_AFTER seconds ago that never
# started is sent again by the sweep (the broker lost it). After JOB_BATCH_MAX_ATTEMPTS
# starts that never finished a batch fails. A schedule JOB_LATE_AFTER seconds past due with
# no run shows as late on the dashboard, and the sweep starts it.
JOB_BATCH_LEASE = env.integer("JOB_BATCH_LEASE", 120)
JOB_REDISPATCH_AFTER = env.integer("JOB_REDISPATCH_AFTER", 900)
JOB_BATCH_MAX_ATTEMPTS = env.integer("JOB_BATCH_MAX_ATTEMPTS", 5)
JOB_LATE_AFTER = env.integer("JOB_LATE_AFTER", 600)
# Due items per batch, by job, over the defaults in each app's jobs.py: "run_billing=1000".
JOB_BATCH_SIZES = env.counts("JOB_BATCH_SIZES")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per worker process: batches are long, and prefetching would park work
# on a worker that may die.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# django-celery-beat's database scheduler, with a heartbeat for /readyz and the metrics.
CELERY_BEAT_SCHEDULER = "ops.beat:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True


# --- Email ----------------------------------------------------------------------------------

_email = env.email("EMAIL_URL", default=f"file://{VAR_DIR / 'mail'}")
EMAIL_BACKEND = _email["backend"]
EMAIL_FILE_PATH = _email.get("file_path", str(VAR_DIR / "mail"))
EMAIL_HOST = _email.get("host", "localhost")
EMAIL_PORT = _email.get("port", 25)
EMAIL_HOST_USER = _email.get("user", "")
EMAIL_HOST_PASSWORD = _email.get("password", "")
EMAIL_USE_TLS = _email.get("use_tls", False)
EMAIL_USE_SSL = _email.get("use_ssl", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Customer Care <care@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL


# --- Staff-facing site ----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Failed staff logins are throttled: after LOGIN_FAILURE_LIMIT wrong passwords for one
    # username from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("LOGIN_LOCKOUT_MINUTES", 30))
# Username and address together: one mistyping agent does not lock out the whole office behind
# the same address, and one address cannot guess through every username.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# One address trying many usernames (password spraying): after LOGIN_ADDRESS_FAILURE_LIMIT
# wrong passwords from it, for any usernames, the address is locked out for the same time.
AXES_HANDLER = "backoffice.login.StaffLoginHandler"
LOGIN_ADDRESS_FAILURE_LIMIT = env.integer("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
# Behind the TLS proxy set AXES_PROXY_COUNT=1: the client's address is then the one the proxy
# appended to X-Forwarded-For (core.clientip), for the login throttle and the public endpoints.
_proxies = env.integer("AXES_PROXY_COUNT", 0)
if _proxies < 0:
    env.fail("AXES_PROXY_COUNT", f"{_proxies} is not a number of proxies (0, 1, 2, ...)")
AXES_IPWARE_PROXY_COUNT, AXES_IPWARE_META_PRECEDENCE_ORDER = clientip.ipware_settings(_proxies)
IPWARE_STRICT = False

# Two-factor login (backoffice.twofactor): superusers and the Billing and Compliance roles
# always log in with a code from an authenticator app (or a recovery code) after the password;
# TWO_FACTOR_ROLES names the roles that do, and must include Billing and Compliance (add
# Support, Manager). A staff member who turned it on for themselves is asked for it too.
TWO_FACTOR_ROLES = env.subset(
    "TWO_FACTOR_ROLES", ["Billing", "Compliance"], ("Support", "Billing", "Compliance", "Manager")
)
if not {"Billing", "Compliance"} <= set(TWO_FACTOR_ROLES):
    env.fail("TWO_FACTOR_ROLES", "Billing and Compliance always log in with a second factor")
# The embedded demo (DEBUG on SQLite) may waive it, so a newcomer's first run logs in with the
# printed passwords alone; nothing else may.
_embedded = DEBUG and DATABASES["default"]["ENGINE"].endswith("sqlite3")
TWO_FACTOR_WAIVED = env.boolean("TWO_FACTOR_WAIVED", _embedded)
if TWO_FACTOR_WAIVED and not _embedded:
    env.fail(
        "TWO_FACTOR_WAIVED", "only the embedded demo (DEBUG=1 on SQLite) may waive two-factor login"
    )
OTP_TOTP_ISSUER = "Back office"
# Device keys and recovery codes are never shown in the admin's device lists.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGES = [("en", "English"), ("de", "Deutsch")]
# The language of the management commands' output, and of pages for a browser that asks for
# neither language; staff pages otherwise follow the browser and the header's switch.
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", "en", tuple(code for code, _name in LANGUAGES))
# The workflows are no app of their own; what they say to staff is translated beside them.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "workflows" / "locale"]
TIME_ZONE = "UTC"
# Dates and moments in one format in both languages, always with the zone (issue 13).
FORMAT_MODULE_PATH = ["backoffice.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# The admin refuses uploads above this; larger files go through management commands.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.integer("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
ADMIN_UPLOAD_MAX_BYTES = env.integer("ADMIN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# A CSV import above this size is previewed and written by a worker, its page showing progress;
# smaller ones within the request (the managers' imports; unsubscribe lists have their own).
EXCHANGES_IMPORT_INLINE_MAX_BYTES = env.integer("EXCHANGES_IMPORT_INLINE_MAX_BYTES", 256 * 1024)
# Hours a preview (of any CSV import, unsubscribe lists too) waits for its requester's
# confirmation; the expire_import_previews job then closes it and removes its file.
IMPORT_PREVIEW_EXPIRY_HOURS = env.integer("IMPORT_PREVIEW_EXPIRY_HOURS", 24)
if IMPORT_PREVIEW_EXPIRY_HOURS < 1:
    env.fail(
        "IMPORT_PREVIEW_EXPIRY_HOURS",
        f"{IMPORT_PREVIEW_EXPIRY_HOURS} is not a number of hours (1 or more)",
    )

# The public endpoints build absolute links (unsubscribe, opt-in confirmation) from this.
PUBLIC_BASE_URL = env.string("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Requests to the public endpoints per client address (and per sign-up form), counted in the
# cache; past a limit the endpoint answers 429 and records nothing. "10/m": ten a minute.
# Unsubscribes are generous: mail providers send one-click unsubscribes from few addresses,
# and a signed link records one row at most however often it comes.
RATELIMIT_IP_META_KEY = "core.clientip.client_ip_for_limits"
SIGNUP_RATE_PER_ADDRESS = env.rate("SIGNUP_RATE_PER_ADDRESS", "10/m")
SIGNUP_RATE_PER_FORM = env.rate("SIGNUP_RATE_PER_FORM", "120/m")
UNSUBSCRIBE_RATE_PER_ADDRESS = env.rate("UNSUBSCRIBE_RATE_PER_ADDRESS", "600/m")
CONFIRM_RATE_PER_ADDRESS = env.rate("CONFIRM_RATE_PER_ADDRESS", "20/m")
FILES_RATE_PER_ADDRESS = env.rate("FILES_RATE_PER_ADDRESS", "600/m")
# Days a double opt-in confirmation link stays valid (SPEC "Explicit opt-in").
OPTIN_CONFIRMATION_DAYS = env.integer("OPTIN_CONFIRMATION_DAYS", 30)
# Days a request for a second person's sign-off waits before it expires unanswered.
APPROVAL_EXPIRY_DAYS = env.integer("APPROVAL_EXPIRY_DAYS", 7)
if APPROVAL_EXPIRY_DAYS < 1:
    env.fail("APPROVAL_EXPIRY_DAYS", f"{APPROVAL_EXPIRY_DAYS} is not a number of days (1 or more)")


# --- The sending platform's suppression API and the providers' webhooks (api/) -----------

# The largest body a call of the API may post: 10,000 addresses take about 400 KB.
API_MAX_BODY_BYTES = env.integer("API_MAX_BODY_BYTES", 4 * 1024 * 1024)
# Calls per API key, counted in the cache like the public endpoints' limits.
API_RATES = {
    "check": env.rate("API_CHECK_RATE_PER_KEY", "1200/m"),
    "record": env.rate("API_RECORD_RATE_PER_KEY", "6000/m"),
}
# django-anymail reads the webhooks' secrets here (api.webhooks): WEBHOOK_SECRET is the
# "user:password" every provider's webhook URL carries (HTTP basic auth); Mailgun's signing
# key and SendGrid's verification key check their signatures. A provider without its secrets
# answers 404. Amazon SES: the SNS topics whose messages are taken.
ANYMAIL = {
    "WEBHOOK_SECRET": env.string("WEBHOOK_SECRET", ""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.string("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env.string(
        "SENDGRID_WEBHOOK_VERIFICATION_KEY", ""
    ),
}
AMAZON_SNS_TOPIC_ARNS = env.csv("AMAZON_SNS_TOPIC_ARNS", [])


# --- Production hardening (all on when DEBUG is off) ----------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True


# --- Policy (SPEC "Time": durations and the pause fee are settings) -------------------------

TRIAL_LENGTH = timedelta(days=env.integer("TRIAL_LENGTH_DAYS", 30))
CONFIRMATION_SLA = timedelta(hours=env.integer("CONFIRMATION_SLA_HOURS", 24))
UNPAID_CANCEL_AFTER_DAYS = env.integer("UNPAID_CANCEL_AFTER_DAYS", 90)
RETENTION_DAYS = env.integer("RETENTION_DAYS", 120)
PAUSE_FEE = env.decimal("PAUSE_FEE", "9.00")
PAUSE_FEE_CURRENCY = env.string("PAUSE_FEE_CURRENCY", "USD")
# Guardrails of a pause (R8): the latest end date an agent may choose, in days from today
# (a pause without an end date is still allowed); a second pause within one billing period
# (a month) needs a Billing clerk to allow it first (permission accounts.allow_repeat_pause).
PAUSE_LONGEST_DAYS = env.integer("PAUSE_LONGEST_DAYS", 92)
# Days after a declined card charge on which it is tried again before the account counts as
# unpaid (R11).
CARD_RETRY_DAYS = [int(d) for d in env.csv("CARD_RETRY_DAYS", ["1", "3", "5"])]
PAYMENT_GATEWAY = env.string("PAYMENT_GATEWAY", "billing.gateway.TestGateway")


# --- Logging --------------------------------------------------------------------------------

# plain: one text line per event (the default); json: one JSON object per line, with the
# request id, staff user, job run and batch ids (ops.logs). Web, workers and beat alike.
LOG_FORMAT = env.choice("LOG_FORMAT", "plain", ("plain", "json"))
LOG_LEVEL = env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical"))
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL.upper())


# --- Operations: metrics, health, error reporting (ops/, README "Operating it") ----------

# /metrics answers a request with this bearer token, or from these networks (the scraper's
# own address: behind a proxy on the same host every request would come from 127.0.0.1, so
# production allows no network unless told). With neither, /metrics answers 403 to all.
METRICS_TOKEN = env.string("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env.networks(
    "METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1"] if DEBUG else []
)
# With several processes per host (gunicorn -w, a worker's pool) their figures meet in this
# directory, one per service and host, emptied at its start (prometheus-client's multiprocess
# mode; read by the client library itself, checked here).
PROMETHEUS_MULTIPROC_DIR = env.directory("PROMETHEUS_MULTIPROC_DIR")
# HOST:PORT where each Celery worker serves its task metrics; unset: not served.
WORKER_METRICS_ADDRESS = env.listen_address("WORKER_METRICS_ADDRESS")
if WORKER_METRICS_ADDRESS and not PROMETHEUS_MULTIPROC_DIR:
    env.fail(
        "WORKER_METRICS_ADDRESS",
        "needs PROMETHEUS_MULTIPROC_DIR (an empty directory of the worker's own): the "
        "worker's pool processes run the tasks and count them there",
    )
# What /readyz checks; a web process may leave out beat (see README, "Health").
READINESS_CHECKS = env.subset(
    "READINESS_CHECKS",
    ["database", "migrations", "broker", "beat"],
    ("database", "migrations", "broker", "beat"),
)
# Seconds without beat's heartbeat (written every 30 s) before readiness says it is silent.
BEAT_SILENT_AFTER = env.integer("BEAT_SILENT_AFTER", 120)
# Errors to Sentry, only when set (ops.sentry).
SENTRY_DSN = env.sentry_dsn("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.string("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
if SENTRY_DSN:
    from ops.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=env.string("SENTRY_RELEASE", ""),
    )

# Used by the tests: when set, a test that needs PostgreSQL or Redis fails instead of skipping.
REQUIRE_SERVICES = env.boolean("REQUIRE_SERVICES", False)
