"""Django settings. Everything an operator changes comes from the environment (see README)."""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from punchcard.keyfile import stored_secret

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("PUNCHCARD_DATA", Path.cwd() / "var")).resolve()

DEBUG = os.environ.get("PUNCHCARD_DEBUG", "") == "1"


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# The key every release before this one used when none was set: published, so never accepted.
PUBLISHED_SECRET_KEY = "punchcard-insecure-dev-key-change-me-in-production"
SECRET_KEY = os.environ.get("PUNCHCARD_SECRET_KEY") or stored_secret(DATA_DIR / "secret_key")
if not DEBUG and (SECRET_KEY == PUBLISHED_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "PUNCHCARD_SECRET_KEY is the published default or shorter than 50 characters: unset it to have a "
        "random key made in the data directory, or set one of 50+ random characters"
    )
# Keys API keys are hashed with (HMAC-SHA256), kept like the secret key; changing it invalidates every API key.
API_KEY_PEPPER = os.environ.get("PUNCHCARD_API_KEY_PEPPER") or stored_secret(DATA_DIR / "api_key_pepper")
# Seconds a process may answer from an API key it read before: a revoked key stops working within it.
API_KEY_CACHE_SECONDS = float(os.environ.get("PUNCHCARD_API_KEY_CACHE_SECONDS", "5"))
ALLOWED_HOSTS = _list("PUNCHCARD_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _list("PUNCHCARD_CSRF_TRUSTED_ORIGINS")  # e.g. https://clinic.example.com

# Served over HTTPS (PUNCHCARD_HTTPS=1): cookies only over TLS, plain HTTP redirected, HSTS for a year.
HTTPS = os.environ.get("PUNCHCARD_HTTPS", "") == "1"
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("PUNCHCARD_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients): trust it.
if os.environ.get("PUNCHCARD_TRUST_X_FORWARDED_PROTO", "") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",  # the login throttle (see AXES_* below)
    "csp",  # the Content-Security-Policy header (see CONTENT_SECURITY_POLICY below)
    "django_tasks",
    "django_tasks_db",  # the job queue's table (workers take rows with SKIP LOCKED)
    "ninja",  # serves the API docs' own Swagger UI assets: no CDN, works offline
    # Punchcard's apps in layer order (DESIGN "Layers"): each may import only those above it here.
    "punchcard.jobs",  # periodic work and the tick (below every business app)
    "punchcard.tenancy",
    "punchcard.catalogue",
    "punchcard.ledger",
    "punchcard.packages",
    "punchcard.billing",
    "punchcard.appointments",
    "punchcard.promotions",
    "punchcard.claims",
    "punchcard.memberships",
    "punchcard.reports",
    "punchcard.notifications",  # outbox, events API, webhooks, email
    "punchcard.imports",  # moving in (import from another system) and out (the full export)
    "punchcard.kernel",  # idempotency records
    "punchcard.console",
    "punchcard.portal",  # the patient portal at /portal/
    "punchcard.cli",
]

MIDDLEWARE = [
    "punchcard.kernel.middleware.TenantClockPerRequest",  # first: a sandbox's clock never outlives its request
    "django.middleware.security.SecurityMiddleware",
    "punchcard.kernel.middleware.ApiContractMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "punchcard.kernel.middleware.NoStoreForCallers",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Every Django-auth login (the admin, the staff console's LoginView) goes through axes first: after
# AXES_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is locked out for
# AXES_COOLOFF_TIME, with a page saying so (HTTP 429) and a warning in the log. Other users at that
# address, and the same user elsewhere, are not affected. The address is REMOTE_ADDR only (a client
# cannot choose it with X-Forwarded-For).
AUTHENTICATION_BACKENDS = [
    "punchcard.tenancy.logins.LoginThrottle",  # axes, for every login made from a request
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("PUNCHCARD_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("PUNCHCARD_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "tenancy/locked_out.html"
AXES_VERBOSE = False  # no start-up banner on every command
# The log shows the address (to block it upstream) but not the user name, which may be a password typed
# into the wrong box; the admin's "Access attempts" list shows both.
AXES_SENSITIVE_PARAMETERS = ["username"]

ROOT_URLCONF = "punchcard.urls"
WSGI_APPLICATION = "punchcard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
        if db["ENGINE"] == "django.db.backends.postgresql":
            db.setdefault("OPTIONS", {})
            # Parameters bound by the server (psycopg's Cursor, not SQL text with literals), and a statement
            # prepared on its second run: the hot writes skip parsing and planning (README "Deployment").
            # PUNCHCARD_PG_PREPARE=0 turns preparing off, for a pooler in transaction mode that cannot keep
            # prepared statements (pgbouncer before 1.21, or without max_prepared_statements).
            db["OPTIONS"]["server_side_binding"] = True
            db["OPTIONS"]["prepare_threshold"] = None if os.environ.get("PUNCHCARD_PG_PREPARE") == "0" else 2
            db["TEST"] = {"NAME": os.environ.get("PUNCHCARD_PG_TEST_NAME", "test_punchcard")}
        return db
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # the embedded database lives here; a fresh clone has none
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PUNCHCARD_SQLITE_PATH") or DATA_DIR / "punchcard.sqlite3",
        # IMMEDIATE: a write transaction takes the write lock when it begins, so two
        # redemptions serialise instead of failing on lock upgrade (DESIGN rule 2).
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        },
        "TEST": {"NAME": os.environ.get("PUNCHCARD_SQLITE_TEST_NAME") or None},
    }


DATABASES = {"default": _database()}

# The job queue: django-tasks with its database backend, so no broker runs (README "Jobs").
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Notifications (README "Configuration"): where email goes, and how webhooks are sent.
EMAIL_URL = os.environ.get("PUNCHCARD_EMAIL_URL", "")  # smtp://host:port; empty: files under DATA_DIR/mail
EMAIL_FROM = os.environ.get("PUNCHCARD_EMAIL_FROM", "Punchcard <no-reply@punchcard.local>")
# An import file sent to POST /api/v1/imports (multipart): at most this many bytes (100,000 rows are ~10 MB).
IMPORT_MAX_BYTES = int(os.environ.get("PUNCHCARD_IMPORT_MAX_BYTES", str(64 * 1024 * 1024)))
WEBHOOK_TIMEOUT = float(os.environ.get("PUNCHCARD_WEBHOOK_TIMEOUT", "15"))  # seconds per attempt
WEBHOOK_ALLOW_PRIVATE = os.environ.get("PUNCHCARD_WEBHOOK_ALLOW_PRIVATE", "") == "1"
# Where patients reach this server (portal links in email and from `punchcard portal-link`).
PUBLIC_URL = os.environ.get("PUNCHCARD_PUBLIC_URL") or (
    f"{'https' if HTTPS else 'http'}://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)
# The payment provider the patient portal's purchases go through (billing.providers; `test` in the demo).
PORTAL_PAYMENT_PROVIDER = os.environ.get("PUNCHCARD_PORTAL_PAYMENT_PROVIDER", "test")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# Every page (the admin, the API docs, receipts) may load scripts, styles and images only from this
# server; no inline script runs anywhere. A page with its own inline <style> (a receipt) adds that
# block's hash for its own response (kernel.html.page_with_inline_styles). A template that needs an
# inline <script> or <style> marks it nonce="{{ request.csp_nonce }}": the nonce then joins that
# response's policy (NONCE below), and pages that never ask for one keep the plain 'self' policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PUNCHCARD_LOG_LEVEL", "WARNING")},
    # Failed sign-ins and lockouts (axes logs both as warnings) reach the log.
    "loggers": {"axes": {"level": "WARNING"}},
}
