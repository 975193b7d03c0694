"""The one settings module.  Everything that differs between a laptop, CI and
production comes from the environment (12-factor):

DEBUG               "false" switches to production mode (SECRET_KEY and ALLOWED_HOSTS required)
SECRET_KEY          required in production
ALLOWED_HOSTS       comma-separated; required in production
DATABASE_URL        default sqlite:///db.sqlite3 in the project folder; postgres://… for PostgreSQL
CELERY_BROKER_URL   redis://… or amqp://…; unset = tasks run in-process (zero-setup default)
MDM_AUTO_APPROVE    "valid" approves records that pass validation and have no open review task
MDM_FOUR_EYES       "true" (default) makes approval need someone other than the last editor
MDM_BULK_LIMIT      most records in one bulk POST (default 500)
MDM_AUDIT_SEAL_DELAY  seconds within which a commit's history rows are sealed, together (default 1)
MDM_TOKEN_CACHE_SECONDS  how long a web process trusts a token it has just checked (default 2; 0: check every request)
STATIC_ROOT         where collectstatic writes (default staticfiles/ in the project folder)
CACHE_URL           redis://… shares the API throttles' counts between web processes (default: per process)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
TESTING = "pytest" in sys.modules or env_bool("MDM_TESTING", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production mode (DEBUG=false) the hub needs a long random "
            "SECRET_KEY in the environment, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if not DEBUG else "127.0.0.1,localhost,testserver,[::1]")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. In production mode (DEBUG=false) list the host names the hub "
        "serves, comma-separated, e.g. ALLOWED_HOSTS=mdm.example.com"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "simple_history",
    "mdm",
    "stewardship",
    "sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mdm.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mdm.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mdm.middleware.AuditContextMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "mdm.urls"
WSGI_APPLICATION = "mdm.wsgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Persistent connections (DB_CONN_MAX_AGE seconds).  Health checks (DB_CONN_HEALTH_CHECKS) cost a
# "SELECT 1" round trip at the start of every request, about a tenth of an API worker's time under
# load; without them a connection the database dropped fails one request, then is replaced.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_PREPARED_STATEMENTS", True):
    # The API's compiled hot reads (mdm/compiled.py) run as prepared statements, planned once per
    # connection; Django's own queries bind client-side and are never prepared.  Set false behind a
    # pooler in transaction mode that does not track prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while an import writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
    )
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- cache (the API's per-account throttles) --------------------------------
def cache_config(url: str) -> dict:
    """``CACHES["default"]`` from ``CACHE_URL``: unset keeps each process's own
    memory; ``redis://…`` (or ``rediss://``, ``unix://``) shares one store
    between processes and machines, so a service account's throttle counts
    every request it sends, not one web process's share of them."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                "KEY_PREFIX": "mdm"}
    raise ImproperlyConfigured(
        f"CACHE_URL must be a redis://, rediss:// or unix:// URL (got {url.split(':')[0]!r}:…).")


CACHES = {"default": cache_config(os.environ.get("CACHE_URL", "").strip())}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mdm.api.auth.ServiceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "mdm.api.renderers.RememberedContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("MDM_API_RATE", "100000/hour")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": None,  # set per token by create_service_account --expires-days
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Master data hub API",
    "DESCRIPTION": "Golden customers, legal entities, contracts and projects; inbound source records; "
    "cross-references; change feed; history.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
MDM_BULK_LIMIT = int(os.environ.get("MDM_BULK_LIMIT", "500"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MDM_MAX_BODY_BYTES", str(5 * 1024 * 1024)))

# --- Master data policies ---------------------------------------------------
MDM_AUTO_APPROVE = os.environ.get("MDM_AUTO_APPROVE", "").strip().lower()  # "" or "valid"
MDM_FOUR_EYES = env_bool("MDM_FOUR_EYES", True)
# Seconds after a commit within which its history rows are sealed into the audit chain; the commits of that
# window are sealed together (one pass instead of one per request).  0: right after each commit.
#: A web process re-reads a token it has checked after this many seconds; revoking a token or deactivating an account
#: in the same process takes effect at once, from another process (``revoke_tokens``) within this time.
MDM_TOKEN_CACHE_SECONDS = float(os.environ.get("MDM_TOKEN_CACHE_SECONDS", "2"))
MDM_AUDIT_SEAL_DELAY = float(os.environ.get("MDM_AUDIT_SEAL_DELAY", "0" if TESTING else "1"))

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict = {
    "sync-sweep": {"task": "sync.tasks.sweep", "schedule": float(os.environ.get("MDM_SYNC_SWEEP_SECONDS", "10"))},
    "audit-seal": {"task": "mdm.audit.seal_pending", "schedule": 60.0},  # mdm/audit_chain.py
}
# Sync engine (see sync/services.py): retry backoff base/cap, how long before a
# due delivery whose task was lost is re-enqueued, longest broker countdown.
SYNC_BACKOFF_BASE = float(os.environ.get("MDM_SYNC_BACKOFF_BASE", "2"))
SYNC_BACKOFF_CAP = float(os.environ.get("MDM_SYNC_BACKOFF_CAP", "1800"))  # below the visibility timeout
SYNC_REENQUEUE_AFTER = float(os.environ.get("MDM_SYNC_REENQUEUE_AFTER", "30"))
SYNC_LEASE_MARGIN = float(os.environ.get("MDM_SYNC_LEASE_MARGIN", "30"))
SYNC_MAX_COUNTDOWN = 60.0
# Connector jobs (sync/connectors/tasks.py): the Tryton pull and the reconciliation run
# on a schedule only when their interval is set.
CELERY_IMPORTS = ("sync.connectors.tasks",)
if os.environ.get("MDM_TRYTON_PULL_SECONDS"):
    CELERY_BEAT_SCHEDULE["tryton-pull"] = {"task": "sync.connectors.tasks.pull_tryton",
                                           "schedule": float(os.environ["MDM_TRYTON_PULL_SECONDS"])}
if os.environ.get("MDM_RECONCILE_SECONDS"):
    CELERY_BEAT_SCHEDULE["reconcile"] = {"task": "sync.connectors.tasks.reconcile_systems",
                                         "schedule": float(os.environ["MDM_RECONCILE_SECONDS"])}

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp 4): no inline script without the
# per-request nonce (templates use {{ csp_nonce }}), nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],  # NONCE: django-csp's sentinel, replaced by the request's nonce
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Logs: JSON lines with the correlation id (LOG_FORMAT=json, the default in
# production) or plain text on a laptop.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "mdm.logging.CorrelationFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.orjson.OrjsonFormatter",  # orjson: ~40 % less CPU a line than json
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(origin)s %(actor)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["correlation"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO" if not TESTING else "WARNING")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # the request log: the context is read while the request's audit context is open; off in
                # development, where runserver prints each request and in-process benchmarks make thousands
                "mdm.request": {"filters": ["correlation"],
                                "level": os.environ.get("MDM_REQUEST_LOG_LEVEL", "WARNING" if DEBUG else "INFO")}},
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is evidence: no admin path rewrites it
