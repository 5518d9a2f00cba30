"""Cancelling: at the period end (reversible until then with ``subscription_reactivate``) or at once.

An immediate cancellation may credit the unused time of what was billed for the current period:
the credit is written as a PendingLine of kind ``"invoice_now"``, because no renewal invoice will
follow; the invoicing issue puts it (with any other pending lines) on a final invoice or credit note.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from subscriptions.domain.proration import ProrationLine, prorate_cancellation
from subscriptions.models import (
    CancellationReason,
    PendingLine,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.services.lifecycle.change import (
    PENDING_KIND_INVOICE_NOW,
    lines_snapshot,
    scheduled_change_transition,
)
from subscriptions.services.lifecycle.hooks import subscription_ended
from subscriptions.services.lifecycle.items import billed_period, current_items, prorated_items
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.lifecycle.transitions import ENDED, subscription_check_transition, subscription_transition

#: Statuses in which the current period was billed (so there is unused time to credit).
BILLED_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID})


def _error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, fields={field: message} if field else None)


def _locked(subscription: Subscription) -> Subscription:
    locked = subscription_lock(subscription)
    assert locked is not None
    return locked


def _check_reason(reason_code: str) -> None:
    if reason_code not in CancellationReason.values:
        choices = ", ".join(CancellationReason.values)
        raise _error("invalid_cancellation_reason", f"Choose a cancellation reason: {choices}.", "reason_code")


def drop_scheduled_change(subscription: Subscription, *, actor: Actor, now: dt.datetime, reason: str) -> None:
    change = (
        ScheduledChange.objects.select_for_update(of=("self",))
        .filter(subscription=subscription, status=ScheduledChangeStatus.PENDING)
        .first()
    )
    if change is None:
        return
    change.subscription = subscription
    scheduled_change_transition(change, to=ScheduledChangeStatus.CANCELED, actor=actor, now=now, reason=reason)
    change.save(update_fields=["status", "resolved_at"])


def _credit_lines(subscription: Subscription, *, at: dt.datetime) -> list[ProrationLine]:
    """The unused time of the current period, credited. A paused subscription stopped using it when paused."""
    status = subscription.status
    if status == SubscriptionStatus.PAUSED:
        if subscription.status_before_pause not in BILLED_STATUSES:
            return []
        at = subscription.service_paused_at or at
    elif status not in BILLED_STATUSES:
        return []  # a trial: nothing was billed
    start, end = billed_period(subscription)
    if at >= end:
        return []
    if at < start:
        start = subscription.current_period_start
    return prorate_cancellation(
        items=prorated_items(current_items(subscription)),
        period_start=start,
        period_end=end,
        at=at,
        currency=subscription.currency,
    )


def _pending(subscription: Subscription, lines: list[ProrationLine], *, at: dt.datetime) -> list[PendingLine]:
    return [
        PendingLine(
            subscription=subscription,
            price_id=line.price_id,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            currency=subscription.currency,
            period_start=line.period_start,
            period_end=line.period_end,
            proration=True,
            kind=PENDING_KIND_INVOICE_NOW,
            created_at=at,
        )
        for line in lines
    ]


def subscription_end(
    subscription: Subscription,
    *,
    actor: Actor,
    at: dt.datetime,
    reason_code: str = "",
    reason_text: str = "",
    prorate_credit: bool = False,
    requested_at: dt.datetime | None = None,
) -> list[PendingLine]:
    """Cancel now (``at``). Subscription locked. Returns the credit lines written."""
    subscription_check_transition(subscription, to=SubscriptionStatus.CANCELED)
    last_period_start = subscription.current_period_start
    bills_usage = subscription.status in BILLED_STATUSES
    credit = _credit_lines(subscription, at=at) if prorate_credit else []
    written = PendingLine.objects.bulk_create(_pending(subscription, credit, at=at))
    fields = ["canceled_at", "ended_at", "cancel_at_period_end", "cancellation_reason", "cancellation_comment"]
    before = {name: getattr(subscription, name) for name in fields}
    subscription.canceled_at = requested_at or subscription.canceled_at or at
    subscription.ended_at = at
    subscription.cancel_at_period_end = False
    subscription.cancellation_reason = reason_code or subscription.cancellation_reason
    subscription.cancellation_comment = reason_text or subscription.cancellation_comment
    subscription.service_paused_until = None
    after = {name: getattr(subscription, name) for name in fields}
    if credit:
        after["pending_lines"] = lines_snapshot(credit, kind=PENDING_KIND_INVOICE_NOW)
    subscription_transition(
        subscription,
        to=SubscriptionStatus.CANCELED,
        actor=actor,
        now=at,
        reason=subscription.cancellation_comment or subscription.get_cancellation_reason_display(),
        before=before,
        after=after,
    )
    subscription.updated_at = at
    subscription.save(update_fields=[*fields, "status", "service_paused_until", "updated_at"])
    drop_scheduled_change(subscription, actor=actor, now=at, reason="The subscription was canceled.")
    if bills_usage:
        subscription_ended(subscription, period_start=last_period_start, ended_at=at)
    return written


@transaction.atomic
def subscription_cancel(
    *,
    subscription: Subscription,
    actor: Actor,
    now: dt.datetime,
    at_period_end: bool,
    reason_code: str,
    reason_text: str = "",
    prorate_credit: bool = False,
) -> Subscription:
    """Cancel at the end of the current period (reversible until then) or now.

    ``prorate_credit`` (immediate only) credits the unused time of what was billed for the period.
    ``reason_code`` is one of ``CancellationReason``; both reasons are kept for churn analysis.
    """
    locked = _locked(subscription)
    subscription_check_transition(locked, to=SubscriptionStatus.CANCELED)
    _check_reason(reason_code)
    if not at_period_end:
        subscription_end(
            locked, actor=actor, at=now, reason_code=reason_code, reason_text=reason_text, prorate_credit=prorate_credit
        )
        return locked
    if prorate_credit:
        raise _error(
            "credit_needs_immediate_cancel",
            "A subscription that runs to the end of its period has no unused time to credit. "
            "Cancel immediately to credit the rest of the period.",
            "prorate_credit",
        )
    if locked.status == SubscriptionStatus.PAUSED:
        raise _error(
            "subscription_paused",
            "A paused subscription has no period end to cancel at: cancel it immediately, or resume it first.",
            "at_period_end",
        )
    if locked.cancel_at_period_end:
        raise _error(
            "already_canceling",
            f"This subscription already cancels at the end of the period ({locked.current_period_end:%Y-%m-%d}).",
        )
    fields = ["cancel_at_period_end", "canceled_at", "cancellation_reason", "cancellation_comment"]
    before = {name: getattr(locked, name) for name in fields}
    locked.cancel_at_period_end, locked.canceled_at = True, now
    locked.cancellation_reason, locked.cancellation_comment = reason_code, reason_text
    locked.updated_at = now
    locked.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=actor,
        action="subscription.cancel_scheduled",
        obj=locked,
        now=now,
        before=before,
        after={name: getattr(locked, name) for name in fields},
        reason=reason_text or locked.get_cancellation_reason_display(),
    )
    drop_scheduled_change(
        locked, actor=actor, now=now, reason="The subscription cancels at the end of the period instead."
    )
    return locked


@transaction.atomic
def subscription_reactivate(*, subscription: Subscription, actor: Actor, now: dt.datetime) -> Subscription:
    """Undo a cancellation at period end, before that end comes."""
    locked = _locked(subscription)
    if locked.status in ENDED:
        raise _error(
            "subscription_canceled",
            "This subscription has ended and cannot be reactivated. Start a new subscription instead.",
        )
    if not locked.cancel_at_period_end:
        raise _error("not_canceling", "This subscription is not set to cancel: there is nothing to undo.")
    fields = ["cancel_at_period_end", "canceled_at", "cancellation_reason", "cancellation_comment"]
    before = {name: getattr(locked, name) for name in fields}
    locked.cancel_at_period_end, locked.canceled_at = False, None
    locked.cancellation_reason = locked.cancellation_comment = ""
    locked.updated_at = now
    locked.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=actor,
        action="subscription.reactivated",
        obj=locked,
        now=now,
        before=before,
        after={name: getattr(locked, name) for name in fields},
    )
    return locked
