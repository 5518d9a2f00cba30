from datetime import timedelta

import pytest

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApiKey, AuditEvent
from billing_site.services.api_keys import (
    _hash,
    api_key_authenticate,
    api_key_create,
    api_key_mark_used,
    api_key_revoke,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_and_secret(now):
    return api_key_create(name="  CRM  ", scopes="write,read", actor=Actor.system("tests"), now=now)


def test_api_key_create_stores_only_a_hash(key_and_secret, now):
    key, secret = key_and_secret

    stored = ApiKey.objects.get()
    assert stored.name == "CRM"
    assert stored.scopes == ["read", "write"]
    assert secret.startswith(f"bk_{stored.prefix}_")
    assert len(secret) == len("bk_") + 8 + 1 + 43
    assert stored.hashed_secret == _hash(secret)
    assert secret not in stored.hashed_secret
    assert stored.created_at == now
    assert stored.last_used_at is None
    assert stored.revoked_at is None


def test_api_key_create_writes_an_audit_event_without_the_secret(key_and_secret, now):
    key, secret = key_and_secret

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == ("api_key.created", "billing_site.apikey", str(key.pk))
    assert event.after == {"name": "CRM", "scopes": ["read", "write"]}
    assert secret not in str(event.after) + event.object_repr + event.reason


@pytest.mark.parametrize(
    ("name", "scopes", "code"),
    [
        ("", ["read"], "name_required"),
        ("   ", ["read"], "name_required"),
        ("x" * 101, ["read"], "name_too_long"),
        ("CRM", [], "invalid_scopes"),
        ("CRM", "", "invalid_scopes"),
        ("CRM", ["read", "admin"], "invalid_scopes"),
    ],
)
def test_api_key_create_refuses_bad_input_and_creates_nothing(name, scopes, code, now):
    with pytest.raises(DomainError) as caught:
        api_key_create(name=name, scopes=scopes, actor=Actor.system("tests"), now=now)

    assert caught.value.code == code
    assert ApiKey.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_unknown_scope_message_names_it_and_the_choices(now):
    with pytest.raises(DomainError) as caught:
        api_key_create(name="CRM", scopes="read,admin", actor=Actor.system("tests"), now=now)

    assert caught.value.message == "Unknown scope(s): admin. Choose from: read, write."
    assert caught.value.fields == {"scopes": ["Choose read, write or both."]}


def test_authenticate_finds_the_active_key(key_and_secret):
    key, secret = key_and_secret

    assert api_key_authenticate(secret) == key
    assert api_key_authenticate(secret + "x") is None
    assert api_key_authenticate(secret.replace("bk_", "xx_", 1)) is None
    assert api_key_authenticate(f"bk_{key.prefix}_{'A' * 43}") is None
    assert api_key_authenticate("") is None


def test_revoke_stops_authentication_and_is_audited(key_and_secret, now):
    key, secret = key_and_secret
    later = now + timedelta(days=3)

    api_key_revoke(key=key, actor=Actor.system("tests"), now=later, reason="CRM switched off")

    key.refresh_from_db()
    assert key.revoked_at == later
    assert api_key_authenticate(secret) is None
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert (event.occurred_at, event.reason) == (later, "CRM switched off")


def test_revoking_twice_is_refused_and_changes_nothing(key_and_secret, now):
    key, _ = key_and_secret
    api_key_revoke(key=key, actor=Actor.system("tests"), now=now)

    with pytest.raises(DomainError) as caught:
        api_key_revoke(key=key, actor=Actor.system("tests"), now=now + timedelta(hours=1))

    assert caught.value.code == "api_key_already_revoked"
    key.refresh_from_db()
    assert key.revoked_at == now
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_mark_used_writes_at_most_once_a_minute(key_and_secret, now, django_assert_num_queries):
    key, _ = key_and_secret

    assert api_key_mark_used(key=key, now=now) is True
    with django_assert_num_queries(0):  # the in-memory time is recent: not even a query
        assert api_key_mark_used(key=key, now=now + timedelta(seconds=59)) is False
    assert ApiKey.objects.get().last_used_at == now

    assert api_key_mark_used(key=key, now=now + timedelta(seconds=60)) is True
    assert ApiKey.objects.get().last_used_at == now + timedelta(seconds=60)


def test_mark_used_is_conditional_in_the_database(key_and_secret, now):
    """Two requests holding stale copies of the key: only the first one writes."""
    key, _ = key_and_secret
    first, second = ApiKey.objects.get(pk=key.pk), ApiKey.objects.get(pk=key.pk)

    assert api_key_mark_used(key=first, now=now) is True
    assert api_key_mark_used(key=second, now=now + timedelta(seconds=30)) is False

    assert ApiKey.objects.get().last_used_at == now
    assert AuditEvent.objects.filter(action__startswith="api_key.used").count() == 0
