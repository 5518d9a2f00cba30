"""API keys: created once (the secret is shown once), stored hashed, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.db.models import Q

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApiKey, ApiScope
from billing_site.services.audit import audit_record

KEY_PREFIX = "bk_"
#: "Last used" is kept to the minute: finer would cost a database write on every API request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _hash(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(scopes: list[str] | str) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    valid = set(ApiScope.values)
    unknown = [s for s in scopes if s not in valid]
    if unknown or not scopes:
        raise DomainError(
            "invalid_scopes",
            f"Unknown scope(s): {', '.join(unknown)}. Choose from: {', '.join(ApiScope.values)}."
            if unknown
            else "Give the key at least one scope: read, write.",
            fields={"scopes": "Choose read, write or both."},
        )
    return sorted(set(scopes))


@transaction.atomic
def api_key_create(*, name: str, scopes: list[str] | str, actor: Actor, now: dt.datetime) -> tuple[ApiKey, str]:
    """Returns the key and its secret. The secret is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise DomainError(
            "name_required", "Give the key a name that says which system uses it.", fields={"name": "Required."}
        )
    if len(name) > 100:
        raise DomainError("name_too_long", "The name can have at most 100 characters.", fields={"name": "Too long."})
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        hashed_secret=_hash(secret),
        scopes=parse_scopes(scopes),
        created_at=now,
        created_by_id=actor.user_id,
    )
    audit_record(actor=actor, action="api_key.created", obj=key, now=now, after={"name": name, "scopes": key.scopes})
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor, now: dt.datetime, reason: str = "") -> ApiKey:
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise DomainError("api_key_already_revoked", f"The key “{key.name}” was already revoked.")
    key.revoked_at = now
    key.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="api_key.revoked", obj=key, now=now, reason=reason)
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key whose secret this is, or None. Constant-time comparison of the hash."""
    if not secret.startswith(KEY_PREFIX) or "_" not in secret[len(KEY_PREFIX) :]:
        return None
    prefix = secret[len(KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_secret, _hash(secret)):
        return None
    return key


def api_key_mark_used(*, key: ApiKey, now: dt.datetime) -> bool:
    """Record that the key was used, at most once per ``LAST_USED_RESOLUTION``. True when it wrote.

    The UPDATE carries the condition itself, so concurrent requests with the same key write once.
    Not audited: using a key changes nothing.
    """
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return False
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    written = ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now) == 1
    if written:
        key.last_used_at = now
    return written
