"""Writing the audit trail. Call inside the service's transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from moneyed import Money

from billing_site.actors import Actor
from billing_site.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": str(value.currency)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """A JSON-friendly picture of a model's concrete fields (money as amount + currency)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        name = field.name
        if fields is not None and name not in fields:
            continue
        if name.endswith("_currency") and name[: -len("_currency")] in {f.name for f in obj._meta.concrete_fields}:
            continue
        data[name] = _jsonable(getattr(obj, field.attname if field.is_relation else name))
    return data


def audit_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    now: dt.datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    label: str | None = None,
) -> AuditEvent:
    """The audit event of a change, not saved yet: batch jobs write many at once (``audit_record`` saves one).

    ``label`` names the object when ``str(obj)`` would not fit the moment (a draft numbered in the same batch).
    """
    return AuditEvent(
        occurred_at=now,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=(str(obj) if label is None else label)[:300],
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        reason=reason,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    now: dt.datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    event = audit_event(actor=actor, action=action, obj=obj, now=now, before=before, after=after, reason=reason)
    event.save()
    return event


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed, so the audit trail reads as a diff."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
