"""Django settings. Everything an operator changes comes from the environment (see README)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("PUNCHCARD_DATA", Path.cwd() / "var")).resolve()

DEBUG = os.environ.get("PUNCHCARD_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("PUNCHCARD_SECRET_KEY") or "punchcard-insecure-dev-key-change-me-in-production"
ALLOWED_HOSTS = [h for h in os.environ.get("PUNCHCARD_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' own Swagger UI assets: no CDN, works offline
    # Punchcard's apps in layer order (DESIGN "Layers"): each may import only those above it here.
    "punchcard.tenancy",
    "punchcard.catalogue",
    "punchcard.ledger",
    "punchcard.packages",
    "punchcard.billing",
    "punchcard.appointments",
    "punchcard.promotions",
    "punchcard.claims",
    "punchcard.reports",
    "punchcard.kernel",  # idempotency records
    "punchcard.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "punchcard.kernel.middleware.ApiContractMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
            db["TEST"] = {"NAME": os.environ.get("PUNCHCARD_PG_TEST_NAME", "test_punchcard")}
        return db
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # the embedded database lives here; a fresh clone has none
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "punchcard.sqlite3",
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

LOGIN_URL = "/admin/login/"
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PUNCHCARD_LOG_LEVEL", "WARNING")},
}
