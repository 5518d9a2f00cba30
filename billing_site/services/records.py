"""The create and update steps most services share: set fields, validate, save, audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models

from billing_site.actors import Actor
from billing_site.services.audit import audit_record, changed_fields, snapshot
from billing_site.services.validation import apply_changes, full_clean_or_raise

M = TypeVar("M", bound=models.Model)


def record_create(
    instance: M,
    *,
    fields: dict[str, Any],
    allowed: set[str],
    actor: Actor,
    now: dt.datetime,
    action: str,
    validate: Callable[[M], None] = full_clean_or_raise,
) -> M:
    """Save a new object from ``fields`` and audit it. Call inside the service's transaction."""
    apply_changes(instance, fields, allowed=allowed)
    validate(instance)
    instance.save()
    audit_record(actor=actor, action=action, obj=instance, now=now, after=snapshot(instance))
    return instance


def record_update(
    instance: M,
    *,
    changes: dict[str, Any],
    allowed: set[str],
    actor: Actor,
    now: dt.datetime,
    action: str,
    validate: Callable[[M], None] = full_clean_or_raise,
    check: Callable[[M, list[str]], None] | None = None,
) -> M:
    """Apply ``changes`` to a locked object; audit only what changed. Nothing changed: nothing written.

    ``check`` sees the object and the names that changed before validation (rules about changes).
    """
    before = snapshot(instance)
    changed = apply_changes(instance, changes, allowed=allowed)
    if not changed:
        return instance
    if check is not None:
        check(instance, changed)
    validate(instance)
    if hasattr(instance, "updated_at"):
        instance.updated_at = now
    instance.save()
    old, new = changed_fields(before, snapshot(instance))
    audit_record(actor=actor, action=action, obj=instance, now=now, before=old, after=new)
    return instance
