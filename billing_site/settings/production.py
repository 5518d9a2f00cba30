"""Production settings: refuse to start with development defaults."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, DEV_SECRET_KEY, SECRET_KEY, env_bool

if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters for production.")
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production: set DEBUG=False.")

STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "stripe" if os.environ.get("STRIPE_SECRET_KEY") else "manual")
if PAYMENT_GATEWAY == "simulated":
    raise ImproperlyConfigured(
        "The simulated payment gateway is for demos and tests: set PAYMENT_GATEWAY=stripe or manual."
    )
if PAYMENT_GATEWAY == "stripe" and not (
    os.environ.get("STRIPE_SECRET_KEY") and os.environ.get("STRIPE_WEBHOOK_SECRET")
):
    raise ImproperlyConfigured("PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.")
if "SITE_URL" not in os.environ:
    raise ImproperlyConfigured("Set SITE_URL to the https address customers reach this site at (used in e-mails).")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
