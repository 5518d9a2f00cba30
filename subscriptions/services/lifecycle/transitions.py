"""The one table of allowed status moves; ``subscription_transition`` is the only code that assigns status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from subscriptions.models import Subscription, SubscriptionStatus

S = SubscriptionStatus

#: ``None`` is a subscription being created: it starts active, in trial, or (with payments) incomplete.
SUBSCRIPTION_TRANSITIONS: dict[SubscriptionStatus | None, frozenset[SubscriptionStatus]] = {
    None: frozenset({S.INCOMPLETE, S.TRIALING, S.ACTIVE}),
    S.INCOMPLETE: frozenset({S.ACTIVE, S.INCOMPLETE_EXPIRED, S.CANCELED}),
    S.INCOMPLETE_EXPIRED: frozenset(),
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.UNPAID, S.PAUSED, S.CANCELED}),
    S.UNPAID: frozenset({S.ACTIVE, S.CANCELED}),
    S.PAUSED: frozenset({S.ACTIVE, S.PAST_DUE, S.CANCELED}),
    S.CANCELED: frozenset(),
}

#: Statuses after which nothing about the subscription can change any more.
ENDED = frozenset({S.CANCELED, S.INCOMPLETE_EXPIRED})


def _current(subscription: Subscription) -> SubscriptionStatus | None:
    return SubscriptionStatus(subscription.status) if subscription.status else None


def _refusal(current: SubscriptionStatus | None, to: SubscriptionStatus) -> str:
    if current in ENDED:
        return (
            f"This subscription is {current.label.lower()}: it cannot change any more. "
            "Create a new subscription instead."
        )
    if to == S.ACTIVE and current == S.ACTIVE:
        return "This subscription is already active: there is nothing to resume."
    if to == current:
        return f"This subscription is already {to.label.lower()}."
    was = current.label.lower() if current else "new"
    return f"This subscription is {was} and cannot become {to.label.lower()}."


def subscription_check_transition(subscription: Subscription, *, to: SubscriptionStatus) -> None:
    """Raise ``invalid_transition`` unless the table allows the move (checked before any other rule)."""
    current = _current(subscription)
    if to not in SUBSCRIPTION_TRANSITIONS[current]:
        raise DomainError("invalid_transition", _refusal(current, to))


def subscription_not_paused_error(subscription: Subscription) -> DomainError:
    """Resuming what is not paused: an invalid transition, said plainly."""
    current = _current(subscription)
    if current in ENDED or current == S.ACTIVE:
        return DomainError("invalid_transition", _refusal(current, S.ACTIVE))
    was = current.label.lower() if current else "new"
    return DomainError("invalid_transition", f"This subscription is {was}, not paused: there is nothing to resume.")


def subscription_transition(
    subscription: Subscription,
    *,
    to: SubscriptionStatus,
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Check and assign the new status, and audit it. The caller saves.

    ``before``/``after`` add the other fields the same step changes, so one audit event tells the
    whole story ("paused until 16 Jun"). A subscription being created (no status, not saved yet) is
    only checked and assigned: its creation event records the first status.
    """
    subscription_check_transition(subscription, to=to)
    old = {"status": subscription.status, **(before or {})}
    subscription.status = to
    if subscription.pk is None:
        return
    audit_record(
        actor=actor,
        action=f"subscription.{to.value}",
        obj=subscription,
        now=now,
        before=old,
        after={"status": to.value, **(after or {})},
        reason=reason,
    )
