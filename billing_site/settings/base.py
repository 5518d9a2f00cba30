"""Settings shared by every environment. Everything that differs comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"  # noqa: S105 - development default only


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "billing_site.apps.BillingAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "djmoney",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "billing_site.apps.BillingSiteConfig",
    "catalog",
    "subscriptions",
    "invoicing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web app and the job worker share the file: WAL lets readers work during a write, IMMEDIATE
    # transactions queue writers (instead of failing with "database is locked"), and the timeout is how
    # long a writer waits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# One transaction per request: an API error (which DRF turns into a response) rolls back everything the
# request wrote, so "nothing was changed" in an error message is true. /healthz opts out.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# A database cache, so that every process (web and job workers) sees the same job-queue statistics.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "billing_cache",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch")), ("sv", _("Swedish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

LOGIN_URL = "admin:login"

# E-mail: written as files to var/mail in development (a PDF attachment would flood the console);
# SMTP in production.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@localhost")

# Payments. PAYMENT_GATEWAY is where new payment methods go and automatic charges are made:
# "stripe" (the default when STRIPE_SECRET_KEY is set), "simulated" (test cards, for demos and tests)
# or "manual" (bank transfer only: finance records or imports payments).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
#: Seconds a Stripe-Signature timestamp may be old (Stripe's own default).
STRIPE_WEBHOOK_TOLERANCE = int(os.environ.get("STRIPE_WEBHOOK_TOLERANCE", "300"))
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "stripe" if STRIPE_SECRET_KEY else "simulated")
#: The address customers reach this site at (links in e-mails: authenticate a payment, add a card).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
#: How often the collection run (retries, overdue reminders, final actions) starts, in minutes.
COLLECTION_RUN_MINUTES = int(os.environ.get("COLLECTION_RUN_MINUTES", "15"))

# Staff two-factor login: always available, enforced when this is on (production default: on).
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", False)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Billing back-office")

# Subscriptions: what happens when a trial ends and the customer has no payment method on file.
# "convert" (becomes active; invoices are sent), "cancel" (Stripe's default for such trials) or "pause"
# (paused until a payment method arrives and someone resumes it).
TRIAL_END_WITHOUT_PAYMENT_METHOD = os.environ.get("TRIAL_END_WITHOUT_PAYMENT_METHOD", "cancel")

# Invoicing
#: Minutes a new invoice stays a draft for review before it is finalized automatically (0: at once).
INVOICE_REVIEW_MINUTES = int(os.environ.get("INVOICE_REVIEW_MINUTES", "60"))
#: Zero-amount invoices: "finalize" (numbered, marked paid, e-mailed) or "keep_draft" (kept for the record only).
ZERO_AMOUNT_INVOICES = os.environ.get("ZERO_AMOUNT_INVOICES", "finalize")
#: How often the scheduled billing run starts, in minutes.
BILLING_RUN_MINUTES = int(os.environ.get("BILLING_RUN_MINUTES", "15"))
RENEWAL_REMINDER_DAYS = int(os.environ.get("RENEWAL_REMINDER_DAYS", "7"))
TRIAL_ENDING_REMINDER_DAYS = int(os.environ.get("TRIAL_ENDING_REMINDER_DAYS", "3"))

# Money
CURRENCIES = None  # django-money: every ISO 4217 currency
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "EUR")

# Jobs: django-q2 with the ORM broker by default, Redis when REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER: dict = {
    "name": "billing",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": int(os.environ.get("Q_TIMEOUT", "600")),
    "retry": int(os.environ.get("Q_RETRY", "900")),
    "max_attempts": 3,
    "catch_up": False,
    "label": "Jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["billing_site.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["billing_site.api.permissions.HasApiKeyScope"],
    "DEFAULT_PAGINATION_CLASS": "billing_site.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "billing_site.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["billing_site.api.parsers.DecimalJSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Billing back-office API",
    "DESCRIPTION": (
        "REST API for CRM and other systems. Authenticate with `Authorization: Bearer <api key>`. "
        'Money is `{"amount": "79.50", "currency": "EUR"}` (a decimal string in major units). '
        'Errors are `{"error": {"code": …, "message": …, "fields": {…}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"TaxCategoryEnum": "catalog.models.product.TaxCategory"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Stripe's SDK logs request and response bodies at DEBUG and INFO: customer data stays out of logs.
        "stripe": {"level": "WARNING"},
    },
}
