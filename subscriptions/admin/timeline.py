"""The audit timeline as staff read it, on the customer and subscription pages alike."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from billing_site.models import AuditEvent
from subscriptions.models import Customer, Subscription, SubscriptionStatus

_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")


#: Audit actions as a person reads them; others are shown as "Customer updated" from their code.
ACTION_LABELS = {
    "customer.created": _("Customer created"),
    "customer.updated": _("Billing details changed"),
    "customer.deleted": _("Customer deleted"),
    "subscription.created": _("Subscription started"),
    "subscription.renewed": _("Subscription renewed: a new period started"),
    "subscription.changed": _("Subscription changed"),
    "subscription.change_scheduled": _("Change scheduled"),
    "subscription.cancel_scheduled": _("Cancellation at period end scheduled"),
    "subscription.reactivated": _("Subscription reactivated"),
    "subscription.collection_paused": _("Collection paused"),
    "subscription.collection_resumed": _("Collection resumed"),
    "subscription.resume_scheduled": _("Resume scheduled"),
    "subscription.deleted": _("Subscription deleted (test data)"),
    "usage_alert.created": _("Usage alert set"),
    "usage_alert.updated": _("Usage alert changed"),
    "usage_alert.crossed": _("Usage alert threshold crossed"),
}


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    kind, _dot, what = action.partition(".")
    if kind == "subscription" and what in SubscriptionStatus.values:
        return str(_("Subscription is now: %(status)s")) % {"status": SubscriptionStatus(what).label}
    return action.replace(".", " ").replace("_", " ").capitalize()


def short(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        moment = dt.datetime.fromisoformat(value)
        return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if moment.tzinfo else value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "…"


#: Bookkeeping that changes with every update: not worth a line in the timeline.
_NOT_SHOWN = {"updated_at"}


def _field(event: AuditEvent, name: str) -> Any:
    model = {"subscriptions.customer": Customer, "subscriptions.subscription": Subscription}.get(event.object_type)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(event: AuditEvent, name: str) -> str:
    # Reverse relations (items, pending lines) have no verbose_name: fall back to the name.
    return str(getattr(_field(event, name), "verbose_name", name.replace("_", " ")))


def _shown(event: AuditEvent, name: str, value: Any) -> str:
    """A value as people read it: a linked object by its name (the audit trail stores its id)."""
    field = _field(event, name)
    if field is not None and field.many_to_one and isinstance(value, int):
        related = field.related_model._default_manager.filter(pk=value).first()
        if related is not None:
            return str(related)
    return short(value)


def change_summary(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) of each field an update changed, in words where the model has them."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict) or not before:
        return []
    # Sorted: PostgreSQL's jsonb does not keep the order in which the keys were written.
    names = [
        name
        for name in sorted(after)
        if name not in _NOT_SHOWN
        and before.get(name) != after.get(name)
        # Lists of records (items, pending lines) are what the event's own summary line describes in words.
        and not isinstance(after.get(name) or before.get(name), list | dict)
    ]
    return [
        (field_label(event, name), _shown(event, name, before.get(name)), _shown(event, name, after.get(name)))
        for name in names[:8]
    ]
