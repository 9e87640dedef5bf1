"""Relcal settings: one file, configured by environment variables only.

Every variable has a default that works on a bare machine (SQLite and a filesystem broker under
``var/``), so a checkout just works. Production sets ``DEBUG=0`` and at least ``SECRET_KEY``,
``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``CELERY_BROKER_URL``; the README has the full table.
A secret may also be read from a file named by ``<NAME>_FILE`` (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RELCAL_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """Read ``NAME`` from the environment, or the contents of the file named by ``NAME_FILE``."""
    if f"{name}_FILE" in os.environ:
        return Path(os.environ[f"{name}_FILE"]).read_text().strip()
    # An empty variable counts as unset, so `DATABASE_URL= make test` means the default.
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_int(name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    """A whole number in ``[low, high]``; anything else stops the start with the variable named."""
    raw = env(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ImproperlyConfigured(f"{name} must be {bound}, not {value}.")
    return value


DEBUG = env_bool("DEBUG", True)

# A development key only ever exists in DEBUG; production refuses to start without a real one.
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "relcal-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "relcal.admin.apps.AdminConfig",  # django.contrib.admin with the Relcal admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "axes",  # password guessing: failures counted, lockouts (relcal.lockout)
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",  # Content-Security-Policy (settings below; its system checks and template tag)
    "django_celery_beat",
    "relcal.apps.RelcalConfig",
    "accounts",
    "releases",
    "environments",
    "approvals",
    "reliability",
    "delivery",
    # Features over the domain apps; their tables keep the label "relcal" they were born with.
    "calendars",
    "reminders",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer (static files too), nonces made on demand.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Request latency and responses by view for /metrics (after whitenoise: not static files).
    "relcal.metrics.RequestMetricsMiddleware",
    # A feed's 304 from its remembered answer, before sessions and the rest (calendars.freshness).
    "calendars.middleware.FeedNotModifiedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Request id and client address for the audit trail (after auth: it also notes the user).
    "relcal.middleware.AuditContextMiddleware",
    # The reader's own time zone for pages, forms and the admin (from the session: no query).
    "accounts.zones.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "relcal.urls"
WSGI_APPLICATION = "relcal.wsgi.application"
ASGI_APPLICATION = "relcal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context.company_signin",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'relcal.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers queue
    # instead of failing half way with "database is locked"; the timeout is how long they queue.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    if not DATABASES["default"]["NAME"].startswith(":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Axes first: a locked-out login is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "relcal.lockout.LockoutBackend",
    # ModelBackend, within what RELCAL_PASSWORD_LOGIN allows.
    "accounts.backends.PasswordBackend",
    # Sessions opened by company sign-in (OpenID Connect): no password to check.
    "accounts.backends.ProviderBackend",
]

# --- Password guessing (django-axes; relcal/lockout.py) ---------------------------------------
# Failed logins (form and admin) and wrong re-entered passwords (sign-offs, waivers, SRE
# overrides) count per account and per client address (AUDIT_CLIENT_ADDRESS_HEADER behind a
# proxy); RELCAL_LOCKOUT_FAILURES of them lock both for RELCAL_LOCKOUT_MINUTES.
RELCAL_LOCKOUT_FAILURES = env_int("RELCAL_LOCKOUT_FAILURES", 10, low=1)
RELCAL_LOCKOUT_MINUTES = env_int("RELCAL_LOCKOUT_MINUTES", 15, low=1)
AXES_FAILURE_LIMIT = RELCAL_LOCKOUT_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=RELCAL_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successful logins: the audit trail and server logs suffice
AXES_CLIENT_IP_CALLABLE = "relcal.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "relcal.lockout.lockout_response"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "releases:list"
LOGOUT_REDIRECT_URL = "login"

# --- Company sign-in: OpenID Connect (accounts/; Authlib's Django client) ------------------
# One provider, found by discovery at <issuer>/.well-known/openid-configuration. Unset issuer:
# no single sign-on, passwords only. The client secret comes from RELCAL_OIDC_CLIENT_SECRET_FILE
# (or RELCAL_OIDC_CLIENT_SECRET).
RELCAL_OIDC_ISSUER = env("RELCAL_OIDC_ISSUER").rstrip("/")
RELCAL_OIDC_CLIENT_ID = env("RELCAL_OIDC_CLIENT_ID")
RELCAL_OIDC_CLIENT_SECRET = env("RELCAL_OIDC_CLIENT_SECRET")
RELCAL_OIDC_PROVIDER_NAME = env("RELCAL_OIDC_PROVIDER_NAME", "your company account")
RELCAL_OIDC_SCOPES = env("RELCAL_OIDC_SCOPES", "openid email profile groups")
RELCAL_OIDC_GROUPS_CLAIM = env("RELCAL_OIDC_GROUPS_CLAIM", "groups")
# The provider's group names → Relcal's roles ("group:<Django group name>"), teams
# ("team:<slug>") and admin access ("staff"), as JSON, e.g.
# {"relcal-rm": ["group:Release managers", "staff"], "payments": ["team:payments"]}.
# Applied at every sign-in: roles and teams the mapping governs are added and removed.
RELCAL_OIDC_ROLE_MAP = env("RELCAL_OIDC_ROLE_MAP", "{}")
# Seconds to wait for the provider (discovery, keys, token exchange); slower is "not answering".
RELCAL_OIDC_TIMEOUT = env_int("RELCAL_OIDC_TIMEOUT", 5, low=1, high=60)
# How long discovery and keys are trusted before they are fetched again.
RELCAL_OIDC_METADATA_SECONDS = env_int("RELCAL_OIDC_METADATA_SECONDS", 3600, low=0)
# Clock skew allowed when checking the ID token's exp and iat.
RELCAL_OIDC_LEEWAY_SECONDS = env_int("RELCAL_OIDC_LEEWAY_SECONDS", 30, low=0, high=300)
# A signing ticket (the API's electronic signature for people who sign in through the
# provider) is valid this long after the re-authentication, and once.
RELCAL_SIGNING_TICKET_SECONDS = env_int("RELCAL_SIGNING_TICKET_SECONDS", 300, low=30, high=3600)
# Local passwords: "all" (default: the demo, break-glass administrators), "superusers" (only
# superusers may log in with a password) or "off" (company sign-in only).
RELCAL_PASSWORD_LOGIN = env("RELCAL_PASSWORD_LOGIN", "all").strip().lower()
if RELCAL_PASSWORD_LOGIN not in {"all", "superusers", "off"}:
    raise ImproperlyConfigured(
        f"RELCAL_PASSWORD_LOGIN must be all, superusers or off, not {RELCAL_PASSWORD_LOGIN!r}."
    )
# A session lasts this long after sign-in (roles from the provider are applied at sign-in, so
# this is how long a removed role can outlive its removal; `manage.py end_sessions` ends one
# person's sessions at once).
RELCAL_SESSION_HOURS = env_int("RELCAL_SESSION_HOURS", 12, low=1, high=24 * 30)
SESSION_COOKIE_AGE = RELCAL_SESSION_HOURS * 3600

# --- Time ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them under gunicorn too) --------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # production fills it with collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Relcal <relcal@localhost>")
# Seconds an SMTP connection may hang before the send counts as failed (and is retried).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, low=1, high=300)

# --- Celery -------------------------------------------------------------------------------
# The default broker is kombu's filesystem transport: it needs no server, so `make run` works
# on a bare machine. Production points CELERY_BROKER_URL at Redis or RabbitMQ.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Without it a Redis that does not answer (host down, packets dropped) would hold a web
    # request for the operating system's connect timeout, minutes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# The same for RabbitMQ: a request handing work to a broker that is down gives up in seconds.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated API call then gets 401 with WWW-Authenticate: Token.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, JSON nested too deeply answered as a 400 (relcal.api.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "relcal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "relcal.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "relcal.api.exceptions.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relcal API",
    "DESCRIPTION": (
        "Release governance: teams, releases, milestones, scope, dependencies, freeze windows "
        "and lifecycle transitions. Authenticate with a session or with "
        "`Authorization: Token <key>` (`manage.py drf_create_token USER`). Datetimes must carry "
        "a UTC offset."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the sidecar package: the docs work without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation declares the error statuses its shape implies (relcal.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "relcal.api.schema.add_error_responses",
    ],
}

# --- Calendar feeds -------------------------------------------------------------------------
# A token-less feed of the public teams' schedule at /feeds/public.ics, for an intranet that
# wants one; off by default, since anyone who can reach the portal could then read it.
RELCAL_PUBLIC_FEED = env_bool("RELCAL_PUBLIC_FEED", False)
# How often calendar clients are asked to refresh (REFRESH-INTERVAL and X-PUBLISHED-TTL).
RELCAL_FEED_REFRESH_MINUTES = int(env("RELCAL_FEED_REFRESH_MINUTES", "60"))
# How far back feeds reach: shipped releases (with their milestones), freezes and maintenance
# that ended more than this many days ago leave the feeds, which otherwise grow for ever.
RELCAL_FEED_PAST_DAYS = int(env("RELCAL_FEED_PAST_DAYS", "90"))
# Hours an ended or cancelled booking stays in the feeds (marked CANCELLED when cancelled),
# long enough for calendar clients that poll daily to see the cancellation.
RELCAL_FEED_BOOKING_HOURS = int(env("RELCAL_FEED_BOOKING_HOURS", "48"))
# Bookings shorter than this many minutes are CI holds: feeds leave them out unless asked for
# (``ci_holds=1``). 0 treats every booking as worth showing.
RELCAL_FEED_CI_HOLD_MINUTES = int(env("RELCAL_FEED_CI_HOLD_MINUTES", "120"))
# A cache every web process shares (Redis: redis://host:6379/1). Without it each process keeps
# its own memory cache, which is all the portal needs except for the feeds' fingerprints.
CACHE_URL = env("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("CACHE_URL must be a Redis URL, e.g. redis://127.0.0.1:6379/1.")
    CACHES = {"default": {"BACKEND": "relcal.cache.RedisCache", "LOCATION": CACHE_URL}}
# Keep each feed's fingerprint in that cache until a write or the clock changes the feed, so a
# 304 costs a cache read instead of its aggregate queries (calendars.freshness). Needs a cache
# all web processes share: on by default only with CACHE_URL.
RELCAL_FEED_CACHE = env_bool("RELCAL_FEED_CACHE", bool(CACHE_URL))

# --- Reminders -----------------------------------------------------------------------------
# Days before a milestone that its reminders go out, e.g. "3,1".
try:
    RELCAL_MILESTONE_REMINDER_OFFSETS = tuple(
        sorted({int(d) for d in env_list("RELCAL_MILESTONE_REMINDER_OFFSETS", "3,1")}, reverse=True)
    )
except ValueError:
    raise ImproperlyConfigured(
        "RELCAL_MILESTONE_REMINDER_OFFSETS must be whole numbers of days, e.g. 3,1."
    ) from None
# Hours before a freeze window starts, and before the sign-off deadline (go/no-go) that a
# missing sign-off is escalated to the release manager and the role's group.
RELCAL_FREEZE_REMINDER_HOURS = env_int("RELCAL_FREEZE_REMINDER_HOURS", 24)
RELCAL_SIGNOFF_ESCALATION_HOURS = env_int("RELCAL_SIGNOFF_ESCALATION_HOURS", 24)
# Hour of the day (TIME_ZONE) at which daily digests go out.
RELCAL_DIGEST_HOUR = env_int("RELCAL_DIGEST_HOUR", 8, high=23)
# Delivery: reminders due longer ago than this are skipped, not sent late (seconds); a claim
# older than this is a dead worker's; an enqueued row not taken this long is enqueued again;
# failed sends are retried this often, waiting base, 2 x base, 4 x base... seconds.
RELCAL_REMINDER_STALE_AFTER = env_int("RELCAL_REMINDER_STALE_AFTER", 6 * 3600, low=60)
RELCAL_REMINDER_CLAIM_TIMEOUT = env_int("RELCAL_REMINDER_CLAIM_TIMEOUT", 600, low=30)
RELCAL_REMINDER_REQUEUE_AFTER = env_int("RELCAL_REMINDER_REQUEUE_AFTER", 300, low=30)
RELCAL_REMINDER_MAX_ATTEMPTS = env_int("RELCAL_REMINDER_MAX_ATTEMPTS", 5, low=1, high=30)
RELCAL_REMINDER_RETRY_BASE = env_int("RELCAL_REMINDER_RETRY_BASE", 60, low=1)
# Seconds a webhook may take to answer before the attempt counts as failed.
RELCAL_WEBHOOK_TIMEOUT = env_int("RELCAL_WEBHOOK_TIMEOUT", 10, low=1, high=120)
# Webhooks to loopback and private addresses (a self-hosted chat); link-local/metadata: never.
RELCAL_WEBHOOK_ALLOW_PRIVATE = env_bool("RELCAL_WEBHOOK_ALLOW_PRIVATE", False)
# A claim must outlive the slowest send, or a second worker would take a row the first is
# still sending and both would send it.
if 2 * max(EMAIL_TIMEOUT, RELCAL_WEBHOOK_TIMEOUT) > RELCAL_REMINDER_CLAIM_TIMEOUT:
    raise ImproperlyConfigured(
        "RELCAL_REMINDER_CLAIM_TIMEOUT must be at least twice EMAIL_TIMEOUT and "
        "RELCAL_WEBHOOK_TIMEOUT."
    )

# --- Reliability: SLOs, error budgets, the post-release watch -----------------------------
# The Prometheus server SLOs read their SLI from unless they name their own; the bearer token
# is read from RELCAL_PROMETHEUS_TOKEN_FILE (or RELCAL_PROMETHEUS_TOKEN).
RELCAL_PROMETHEUS_URL = env("RELCAL_PROMETHEUS_URL")
RELCAL_PROMETHEUS_TOKEN = env("RELCAL_PROMETHEUS_TOKEN")
RELCAL_PROMETHEUS_TIMEOUT = env_int("RELCAL_PROMETHEUS_TIMEOUT", 5, low=1, high=60)
# Prometheus usually lives on a private network; link-local/metadata addresses: never.
RELCAL_PROMETHEUS_ALLOW_PRIVATE = env_bool("RELCAL_PROMETHEUS_ALLOW_PRIVATE", True)
# How often the workers evaluate every SLO (seconds).
RELCAL_SLO_EVALUATION_SECONDS = env_int("RELCAL_SLO_EVALUATION_SECONDS", 60, low=10)
# The error-budget policy of teams without one of their own (Google's example policy): below
# this share of budget left an SLO is at risk; when it is spent, releases touching the service
# are blocked ("block") except those whose scope is only fixes and security items, or only
# warned ("warn"); and an error-budget freeze goes on the calendar.
RELCAL_ERROR_BUDGET_AT_RISK_BELOW = env_int("RELCAL_ERROR_BUDGET_AT_RISK_BELOW", 25, high=100)
RELCAL_ERROR_BUDGET_WHEN_EXHAUSTED = env("RELCAL_ERROR_BUDGET_WHEN_EXHAUSTED", "block")
if RELCAL_ERROR_BUDGET_WHEN_EXHAUSTED not in ("block", "warn"):
    raise ImproperlyConfigured("RELCAL_ERROR_BUDGET_WHEN_EXHAUSTED must be block or warn.")
RELCAL_ERROR_BUDGET_FREEZE = env_bool("RELCAL_ERROR_BUDGET_FREEZE", True)
# How long after a production deployment succeeds its services' SLOs are watched (minutes).
RELCAL_WATCH_MINUTES = env_int("RELCAL_WATCH_MINUTES", 120, low=1, high=7 * 24 * 60)

# --- Relcal's own metrics: /metrics for Prometheus ------------------------------------------
# off: 404; open: anyone who reaches it (development, or a port only Prometheus reaches); token:
# only with `Authorization: Bearer <RELCAL_METRICS_TOKEN>` (or RELCAL_METRICS_TOKEN_FILE).
RELCAL_METRICS = env("RELCAL_METRICS", "open" if DEBUG else "off").strip().lower()
if RELCAL_METRICS not in ("off", "open", "token"):
    raise ImproperlyConfigured(f"RELCAL_METRICS must be off, open or token: {RELCAL_METRICS!r}.")
RELCAL_METRICS_TOKEN = env("RELCAL_METRICS_TOKEN").strip()
if RELCAL_METRICS == "token" and len(RELCAL_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured(
        "RELCAL_METRICS=token needs RELCAL_METRICS_TOKEN (or RELCAL_METRICS_TOKEN_FILE) of at "
        "least 16 characters, e.g. from `openssl rand -hex 32`."
    )

# --- Audit trail --------------------------------------------------------------------------
# Behind a proxy, the header holding the client's address (its last entry is used), e.g.
# X-Forwarded-For; empty: REMOTE_ADDR.
AUDIT_CLIENT_ADDRESS_HEADER = env("AUDIT_CLIENT_ADDRESS_HEADER")

# --- Security (production) ----------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Believe X-Forwarded-Proto only when a proxy in front sets it (and strips a client's own):
# otherwise any client could claim https.
RELCAL_TRUST_X_FORWARDED_PROTO = env_bool("RELCAL_TRUST_X_FORWARDED_PROTO", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if RELCAL_TRUST_X_FORWARDED_PROTO else None
)
# Load balancers and Prometheus reach these over the internal network, in plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp). Enforced, not report-only: a policy nobody enforces
# protects nobody, and the browser tests run every page under this one and fail on any violation.
# - script-src: only Relcal's own files; no inline script, no eval, no javascript: URLs. A template
#   that truly needs an inline element gives it `nonce="{{ request.csp_nonce }}"`.
# - style-src: only Relcal's own files, and <style> elements carrying the request's nonce. No
#   style attributes: values computed per page (team colours, timeline positions) become classes
#   by the `styled` tag, their rules in one nonce'd <style> per page (relcal/templatetags/
#   csp_styles.py). The Django admin's change list and DRF's browsable API write a <style>
#   element: templates/admin/ and templates/rest_framework/ give it the nonce (and DRF's style
#   attributes become classes). Nothing needs 'unsafe-inline'.
# - img-src data:: Swagger UI's stylesheet draws an icon from a data: URL.
# - form-action: a form may only post to Relcal; Chromium also checks the redirects that follow a
#   submitted form, so a sign-in that posts to Relcal and is redirected to an identity provider
#   needs that provider's origin: RELCAL_OIDC_ISSUER's is added by itself, any other (an
#   authorization or logout endpoint on another origin) goes in RELCAL_CSP_FORM_ACTION_EXTRA,
#   comma-separated (e.g. https://login.example.com).
# - frame-ancestors 'none' is X_FRAME_OPTIONS = DENY for browsers that read only CSP.
# RELCAL_CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead,
# to try a change on a running portal; check --deploy warns while it is on (relcal.W020).
RELCAL_CSP_FORM_ACTION_EXTRA = env_list("RELCAL_CSP_FORM_ACTION_EXTRA")
RELCAL_CSP_REPORT_ONLY = env_bool("RELCAL_CSP_REPORT_ONLY", False)
_OIDC_ORIGIN = (
    ["{0.scheme}://{0.netloc}".format(urlsplit(RELCAL_OIDC_ISSUER))] if RELCAL_OIDC_ISSUER else []
)
_csp = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        # Forms that lead to company sign-in (log in, log out, signatures) are answered with a
        # redirect to the provider, which form-action covers too: its origin is allowed.
        "form-action": [SELF, *_OIDC_ORIGIN, *RELCAL_CSP_FORM_ACTION_EXTRA],
    }
}
CONTENT_SECURITY_POLICY = None if RELCAL_CSP_REPORT_ONLY else _csp
CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp if RELCAL_CSP_REPORT_ONLY else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Django's "Not Found: /feeds/<token>.ics" warning names the path with the token redacted.
    "filters": {"redact_feed_tokens": {"()": "relcal.redact.RedactFeedTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["redact_feed_tokens"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
