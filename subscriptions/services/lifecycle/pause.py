"""Two kinds of pause.

*Collection pause* (``subscription_pause_collection``): the service goes on and the status stays;
only what happens to new invoices changes (keep as draft, mark uncollectible, void), optionally
until a date. The invoicing issue reads ``pause_behavior``.

*Service pause* (``subscription_pause``): the subscription is ``paused`` and nothing accrues. The
customer already paid for the current period, so the unused rest of it is kept: on resume the
period end moves on by the time paused (and the billing cycle anchor with it), so no credit or
charge is needed (no pending lines). A subscription paused at a period boundary (a trial that ended
without a payment method) starts a fresh period on resume instead, anchored at the resume.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from subscriptions.domain.periods import add_intervals, require_aware
from subscriptions.models import (
    PauseBehavior,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.services.lifecycle.hooks import period_started
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.lifecycle.transitions import (
    ENDED,
    subscription_check_transition,
    subscription_not_paused_error,
    subscription_transition,
)

MAX_PAUSE_PERIODS = 36


def _error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, fields={field: message} if field else None)


def _locked(subscription: Subscription) -> Subscription:
    locked = subscription_lock(subscription)
    assert locked is not None
    return locked


def _check_not_ended(subscription: Subscription) -> None:
    if subscription.status in ENDED:
        raise _error(
            "subscription_canceled",
            f"This subscription is {subscription.get_status_display().lower()}: it cannot change any more.",
        )


def _future(moment: dt.datetime | None, *, field: str, now: dt.datetime) -> dt.datetime | None:
    if moment is None:
        return None
    require_aware(moment, field)
    if moment <= now:
        raise _error("resume_in_past", "The resume date must be in the future.", field)
    return moment


# --- collection pause ---------------------------------------------------------------------


@transaction.atomic
def subscription_pause_collection(
    *,
    subscription: Subscription,
    actor: Actor,
    now: dt.datetime,
    behavior: str,
    resumes_at: dt.datetime | None = None,
) -> Subscription:
    """Stop collecting payment (the service goes on, the status stays), until ``resumes_at`` or a resume.

    Calling it again while paused changes the behaviour or the date.
    """
    locked = _locked(subscription)
    _check_not_ended(locked)
    if behavior not in PauseBehavior.values:
        raise _error(
            "invalid_pause_behavior",
            "Choose what happens to invoices while collection is paused: keep_as_draft, mark_uncollectible or void.",
            "behavior",
        )
    resumes_at = _future(resumes_at, field="resumes_at", now=now)
    before = {"pause_behavior": locked.pause_behavior, "pause_resumes_at": locked.pause_resumes_at}
    after = {"pause_behavior": behavior, "pause_resumes_at": resumes_at}
    if before == after:
        return locked
    locked.pause_behavior, locked.pause_resumes_at = behavior, resumes_at
    locked.updated_at = now
    locked.save(update_fields=["pause_behavior", "pause_resumes_at", "updated_at"])
    audit_record(actor=actor, action="subscription.collection_paused", obj=locked, now=now, before=before, after=after)
    return locked


def collection_resume(subscription: Subscription, *, actor: Actor, at: dt.datetime, reason: str = "") -> None:
    """Collect again from ``at``. Subscription locked."""
    before = {"pause_behavior": subscription.pause_behavior, "pause_resumes_at": subscription.pause_resumes_at}
    subscription.pause_behavior, subscription.pause_resumes_at = "", None
    subscription.updated_at = at
    subscription.save(update_fields=["pause_behavior", "pause_resumes_at", "updated_at"])
    audit_record(
        actor=actor,
        action="subscription.collection_resumed",
        obj=subscription,
        now=at,
        before=before,
        after={"pause_behavior": "", "pause_resumes_at": None},
        reason=reason,
    )


@transaction.atomic
def subscription_resume_collection(*, subscription: Subscription, actor: Actor, now: dt.datetime) -> Subscription:
    locked = _locked(subscription)
    _check_not_ended(locked)
    if not locked.pause_behavior:
        raise _error("collection_not_paused", "Collection of this subscription is not paused: nothing to resume.")
    collection_resume(locked, actor=actor, at=now)
    return locked


# --- service pause ------------------------------------------------------------------------


@transaction.atomic
def subscription_pause(
    *,
    subscription: Subscription,
    actor: Actor,
    now: dt.datetime,
    periods: int | None = None,
    until: dt.datetime | None = None,
    reason: str = "",
) -> Subscription:
    """Pause the service now for ``periods`` billing periods or ``until`` a date; nothing accrues meanwhile.

    It resumes by itself then (``subscriptions_process_due``), or earlier with ``subscription_resume``.
    """
    locked = _locked(subscription)
    subscription_check_transition(locked, to=SubscriptionStatus.PAUSED)
    if locked.status == SubscriptionStatus.TRIALING:
        raise _error(
            "trial_in_progress",
            "This subscription is in its trial, which costs nothing: end the trial or cancel it instead of pausing.",
        )
    if (periods is None) == (until is None):
        raise _error(
            "pause_length_required",
            "Say how long the pause lasts: a number of billing periods, or the date it ends.",
            "periods",
        )
    if periods is not None:
        if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PAUSE_PERIODS:
            raise _error(
                "invalid_pause_periods",
                f"Pause for a whole number of billing periods between 1 and {MAX_PAUSE_PERIODS}.",
                "periods",
            )
        until = add_intervals(now, locked.interval, locked.interval_count, periods)
    else:
        until = _future(until, field="until", now=now)
    assert until is not None
    before = {
        "status_before_pause": locked.status_before_pause,
        "service_paused_at": locked.service_paused_at,
        "service_paused_until": locked.service_paused_until,
    }
    locked.status_before_pause = locked.status
    locked.service_paused_at, locked.service_paused_until = now, until
    subscription_transition(
        locked,
        to=SubscriptionStatus.PAUSED,
        actor=actor,
        now=now,
        reason=reason or f"Service paused until {until:%Y-%m-%d %H:%M} UTC",
        before=before,
        after={
            "status_before_pause": locked.status_before_pause,
            "service_paused_at": now,
            "service_paused_until": until,
        },
    )
    locked.updated_at = now
    locked.save(
        update_fields=["status", "status_before_pause", "service_paused_at", "service_paused_until", "updated_at"]
    )
    return locked


def _resume_status(subscription: Subscription) -> SubscriptionStatus:
    if subscription.status_before_pause == SubscriptionStatus.PAST_DUE:
        return SubscriptionStatus.PAST_DUE
    return SubscriptionStatus.ACTIVE


def service_resume(subscription: Subscription, *, actor: Actor, at: dt.datetime, reason: str = "") -> None:
    """Resume a paused subscription at ``at``: move the period on by the pause, or start a fresh one.

    Subscription locked.
    """
    paused_at = subscription.service_paused_at or at
    shift = at - paused_at
    fields = ["current_period_start", "current_period_end", "billing_cycle_anchor"]
    before = {name: getattr(subscription, name) for name in fields}
    before |= {"service_paused_at": paused_at, "service_paused_until": subscription.service_paused_until}
    fresh_period = (
        subscription.status_before_pause == SubscriptionStatus.TRIALING or paused_at >= subscription.current_period_end
    )
    if fresh_period:
        subscription.billing_cycle_anchor = subscription.current_period_start = at
        subscription.current_period_end = add_intervals(at, subscription.interval, subscription.interval_count, 1)
    elif shift:
        subscription.current_period_end += shift
        subscription.billing_cycle_anchor = subscription.current_period_end
    after = {name: getattr(subscription, name) for name in fields}
    after |= {"service_paused_at": None, "service_paused_until": None}
    subscription_transition(
        subscription,
        to=_resume_status(subscription),
        actor=actor,
        now=at,
        reason=reason or "Service resumed",
        before=before,
        after=after,
    )
    subscription.status_before_pause = ""
    subscription.service_paused_at = subscription.service_paused_until = None
    subscription.updated_at = at
    subscription.save(
        update_fields=[
            *fields,
            "status",
            "status_before_pause",
            "service_paused_at",
            "service_paused_until",
            "updated_at",
        ]
    )
    ScheduledChange.objects.filter(subscription=subscription, status=ScheduledChangeStatus.PENDING).update(
        effective_at=subscription.current_period_end
    )
    if fresh_period:
        period_started(subscription, reason="resumed")


@transaction.atomic
def subscription_resume(
    *, subscription: Subscription, actor: Actor, now: dt.datetime, at: dt.datetime | None = None
) -> Subscription:
    """Resume a paused subscription now, or on ``at`` (which replaces the planned resume date).

    Anything not paused is refused with ``invalid_transition`` and nothing changes.
    """
    locked = _locked(subscription)
    if locked.status != SubscriptionStatus.PAUSED:
        raise subscription_not_paused_error(locked)
    subscription_check_transition(locked, to=_resume_status(locked))
    if at is not None:
        require_aware(at, "at")
    if at is None or at <= now:
        service_resume(locked, actor=actor, at=now)
        return locked
    before = {"service_paused_until": locked.service_paused_until}
    locked.service_paused_until = at
    locked.updated_at = now
    locked.save(update_fields=["service_paused_until", "updated_at"])
    audit_record(
        actor=actor,
        action="subscription.resume_scheduled",
        obj=locked,
        now=now,
        before=before,
        after={"service_paused_until": at},
        reason=f"Resumes on {at:%Y-%m-%d %H:%M} UTC",
    )
    return locked
