"""Test settings: fast hashing, in-memory e-mail, synchronous-free job queue."""

from .base import *  # noqa: F403
from .base import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {**Q_CLUSTER, "sync": False}
DEBUG = False

# Live-server tests run requests in another thread; persistent connections there would keep the test
# database open at teardown (PostgreSQL then refuses to drop it).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
