"""Project-wide test fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing_site.actors import Actor

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def api_key(db, now):
    from billing_site.services.api_keys import api_key_create

    key, secret = api_key_create(name="CRM", scopes=["read", "write"], actor=Actor.system("tests"), now=now)
    return key, secret


@pytest.fixture
def api_client(api_key):
    """A DRF client authenticated with a read+write API key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    return client


@pytest.fixture
def read_only_client(db, now):
    from rest_framework.test import APIClient

    from billing_site.services.api_keys import api_key_create

    _, secret = api_key_create(name="Reporting", scopes=["read"], actor=Actor.system("tests"), now=now)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _staff(role: str | None, username: str):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password="pw-for-tests-only", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def pricing_user(db):
    return _staff("Pricing", "pricing")


@pytest.fixture
def finance_user(db):
    return _staff("Finance", "finance")


@pytest.fixture
def support_user(db):
    return _staff("Support", "support")


@pytest.fixture
def approver_user(db):
    return _staff("Approver", "approver")


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks); run with DATABASE_URL=postgres://…")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _default_billing_entity(request):
    """Every database test has a default legal entity, as every installation must (tests that need
    none delete it). Pure tests without a database are left alone."""
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db", "django_db_setup"} and not request.node.get_closest_marker("django_db"):
        return None
    if request.node.get_closest_marker("no_default_entity"):
        return None
    if "live_server" in names:
        return None  # browser tests set their database up themselves (serialized rollback of the roles)
    transactional = "transactional_db" in names or (
        (marker := request.node.get_closest_marker("django_db")) is not None and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from invoicing.models import BillingEntity

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    from invoicing.services.dunning import dunning_policy_default

    dunning_policy_default()  # made by a migration: a transactional test's flush removes it
    return BillingEntity.objects.get_or_create(
        is_default=True,
        defaults={
            "name": "Acme Billing B.V.",
            "address_line1": "Keizersgracht 1",
            "postal_code": "1015 AA",
            "city": "Amsterdam",
            "country": "NL",
            "vat_id": "NL859999999B01",
            "registration_id": "KvK 12345678",
            "iban": "NL91ABNA0417164300",
            "bic": "ABNANL2A",
            "created_at": moment,
            "updated_at": moment,
        },
    )[0]
