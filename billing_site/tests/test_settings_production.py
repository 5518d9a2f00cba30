"""Production settings refuse development defaults and pass Django's deployment checks.

Each case runs in a fresh interpreter: settings modules read the environment once, at import.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing_site.settings.base import DEV_SECRET_KEY

PROJECT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3Y-for-tests-only-" + "x7Qp2Lm9Zr4Tv8Wb" * 4
IMPORT = "import django.conf, billing_site.settings.production as s; print('DEBUG', s.DEBUG)"


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    unset = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "PAYMENT_GATEWAY", "STRIPE_SECRET_KEY"}
    clean = {k: v for k, v in os.environ.items() if k not in unset | {"STRIPE_WEBHOOK_SECRET", "SITE_URL"}}
    clean["SITE_URL"] = "https://billing.example.com"
    clean["DJANGO_SETTINGS_MODULE"] = "billing_site.settings.production"
    clean["DATABASE_URL"] = "sqlite:///:memory:"
    clean.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args], cwd=PROJECT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DEBUG": "False"}, "Set SECRET_KEY"),  # no SECRET_KEY: the development default
        ({"SECRET_KEY": DEV_SECRET_KEY, "DEBUG": "False"}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "too-short-for-production", "DEBUG": "False"}, "Set SECRET_KEY"),
        ({"SECRET_KEY": STRONG_KEY, "DEBUG": "True"}, "DEBUG must be off"),
        ({"SECRET_KEY": STRONG_KEY}, "DEBUG must be off"),  # DEBUG defaults to on for development
        ({"SECRET_KEY": STRONG_KEY, "DEBUG": "False", "PAYMENT_GATEWAY": "simulated"}, "simulated payment gateway"),
        ({"SECRET_KEY": STRONG_KEY, "DEBUG": "False", "STRIPE_SECRET_KEY": "sk_live_x"}, "STRIPE_WEBHOOK_SECRET"),
    ],
    ids=[
        "no-secret-key",
        "dev-secret-key",
        "short-secret-key",
        "debug-on",
        "debug-unset",
        "simulated-payments",
        "stripe-without-webhook-secret",
    ],  # fmt: skip
)
def test_production_settings_refuse_development_defaults(env, complaint):
    result = run(["-c", IMPORT], **env)

    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr
    assert "DEBUG False" not in result.stdout


def test_production_settings_load_with_a_strong_key_and_debug_off():
    result = run(["-c", IMPORT], SECRET_KEY=STRONG_KEY, DEBUG="False")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DEBUG False"


def test_production_settings_pass_the_deployment_checks():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY=STRONG_KEY,
        DEBUG="False",
        ALLOWED_HOSTS="billing.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
