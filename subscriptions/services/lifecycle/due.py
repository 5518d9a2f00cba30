"""What time brings: trial ends, renewals, cancellations at period end, scheduled changes, pauses ending.

``subscriptions_process_due`` runs everything due up to ``now`` in time order, one step per
transaction (customer, then subscription locked), so an interrupted run resumes where it stopped and
a second run finds nothing left to do. Each step re-reads the subscription under its lock and only
acts when something is still due, which is what makes the job idempotent.

At a period end, in this order: a cancellation at period end ends the subscription; otherwise the
scheduled change (if any) is applied without proration, then the next period starts. Several
periods missed (a test clock advanced by a year) renew one by one, each with its own event.

Extension point: each new billing period calls the hooks in ``lifecycle.hooks`` (the billing run
makes the period's invoice there), and the returned events list the periods that started.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from subscriptions.domain.periods import add_intervals, next_period, require_aware
from subscriptions.models import Customer, Subscription, SubscriptionStatus
from subscriptions.services.lifecycle.cancel import subscription_end
from subscriptions.services.lifecycle.change import scheduled_change_apply
from subscriptions.services.lifecycle.hooks import PeriodStart, period_started
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.lifecycle.pause import collection_resume, service_resume
from subscriptions.services.lifecycle.transitions import ENDED
from subscriptions.services.lifecycle.trials import trial_end_at

S = SubscriptionStatus
SYSTEM_ACTOR = Actor.system("subscriptions")
#: Statuses whose periods roll on at their end (billing continues, paid or not).
RENEWING = frozenset({S.ACTIVE, S.PAST_DUE, S.UNPAID})
# Same-time order: collection resumes first, then a paused service, then the period end.
_ORDER = {"collection": 0, "service": 1, "trial": 2, "period_end": 3}


@dataclass(frozen=True)
class DueEvent:
    """Something that happened to a subscription at ``at``.

    ``kind``: "collection_resumed", "service_resumed", "scheduled_change_applied",
    "scheduled_change_canceled", "trial_converted", "trial_canceled", "trial_paused", "renewed" or
    "canceled". ``period`` is set when a billing period started (what the billing run bills).
    """

    subscription_id: int
    kind: str
    at: dt.datetime
    period: PeriodStart | None = None


def next_due(subscription: Subscription) -> tuple[dt.datetime, str] | None:
    """The next thing due for this subscription and when, whatever ``now`` is."""
    if subscription.status in ENDED or subscription.status == S.INCOMPLETE:
        return None
    candidates = []
    if subscription.pause_behavior and subscription.pause_resumes_at:
        candidates.append((subscription.pause_resumes_at, _ORDER["collection"], "collection"))
    if subscription.status == S.PAUSED:
        if subscription.service_paused_until:
            candidates.append((subscription.service_paused_until, _ORDER["service"], "service"))
    elif subscription.status == S.TRIALING:
        candidates.append((subscription.current_period_end, _ORDER["trial"], "trial"))
    elif subscription.status in RENEWING:
        candidates.append((subscription.current_period_end, _ORDER["period_end"], "period_end"))
    if not candidates:
        return None
    at, _, kind = min(candidates)
    return at, kind


RENEWAL_FIELDS = ["current_period_start", "current_period_end", "billing_cycle_anchor", "coupon_periods_left"]


def next_renewal(subscription: Subscription) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """The period a renewal starts, and the anchor after it: a period end off the anchor's grid
    re-anchors there rather than shifting the cycle."""
    anchor, interval, count = subscription.billing_cycle_anchor, subscription.interval, subscription.interval_count
    try:
        start, end = next_period(anchor, interval, count, subscription.current_period_end)
    except DomainError:
        anchor = subscription.current_period_end
        start, end = anchor, add_intervals(anchor, interval, count, 1)
    return start, end, anchor


def renewal_apply(subscription: Subscription, *, at: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move ``subscription`` to its next period in memory (one discounted period used up).

    Returns the renewal fields before and after; the caller saves and audits (one by one here, in
    bulk in the billing run).
    """
    before = {name: getattr(subscription, name) for name in RENEWAL_FIELDS}
    start, end, anchor = next_renewal(subscription)
    subscription.current_period_start, subscription.current_period_end = start, end
    subscription.billing_cycle_anchor = anchor
    if subscription.coupon_periods_left:
        subscription.coupon_periods_left -= 1
    subscription.updated_at = at
    return before, {name: getattr(subscription, name) for name in RENEWAL_FIELDS}


def _renew(subscription: Subscription, *, actor: Actor, at: dt.datetime) -> PeriodStart:
    before, after = renewal_apply(subscription, at=at)
    subscription.save(update_fields=[*RENEWAL_FIELDS, "updated_at"])
    audit_record(actor=actor, action="subscription.renewed", obj=subscription, now=at, before=before, after=after)
    return period_started(subscription, reason="renewal", previous_start=before["current_period_start"])


def _scheduled(subscription: Subscription, *, actor: Actor, at: dt.datetime) -> list[DueEvent]:
    change = scheduled_change_apply(subscription, at=at, actor=actor)
    if change is None:
        return []
    return [DueEvent(subscription.pk, f"scheduled_change_{change.status}", at)]


def _run(subscription: Subscription, kind: str, at: dt.datetime, actor: Actor) -> list[DueEvent]:
    pk = subscription.pk
    if kind == "collection":
        collection_resume(subscription, actor=actor, at=at, reason="Collection resumed as planned")
        return [DueEvent(pk, "collection_resumed", at)]
    if kind == "service":
        fresh = subscription.status_before_pause == S.TRIALING or (
            subscription.service_paused_at is not None
            and subscription.service_paused_at >= subscription.current_period_end
        )
        service_resume(subscription, actor=actor, at=at, reason="The pause ended as planned")
        period = (
            PeriodStart(pk, subscription.current_period_start, subscription.current_period_end, "resumed")
            if fresh
            else None
        )
        return [DueEvent(pk, "service_resumed", at, period)]
    if subscription.cancel_at_period_end:
        subscription_end(subscription, actor=actor, at=at, requested_at=subscription.canceled_at)
        return [DueEvent(pk, "canceled", at)]
    events = _scheduled(subscription, actor=actor, at=at)
    if kind == "trial":
        outcome = trial_end_at(subscription, actor=actor, at=at)
        period = None
        if outcome == "converted":
            period = PeriodStart(
                pk, subscription.current_period_start, subscription.current_period_end, "trial_converted"
            )
        return [*events, DueEvent(pk, f"trial_{outcome}", at, period)]
    return [*events, DueEvent(pk, "renewed", at, _renew(subscription, actor=actor, at=at))]


def _step(
    pk: int, *, now: dt.datetime, actor: Actor, skip_locked: bool
) -> tuple[list[DueEvent], tuple[dt.datetime, str] | None]:
    """One due thing of one subscription, in its own transaction. Returns the events and what is due next."""
    with transaction.atomic():
        subscription = subscription_lock(pk, skip_locked=skip_locked)
        if subscription is None:
            return [], None
        due = next_due(subscription)
        if due is None or due[0] > now:
            return [], None
        events = _run(subscription, due[1], due[0], actor)
        following = next_due(subscription)
        if following is not None and (following[0], _ORDER[following[1]]) <= (due[0], _ORDER[due[1]]):
            raise RuntimeError(f"Subscription {pk}: {due[1]} at {due[0]} did not move the subscription on.")
        return events, following if following is not None and following[0] <= now else None


def subscriptions_process_due(
    *,
    now: dt.datetime,
    customers: Iterable[Customer] | None = None,
    actor: Actor = SYSTEM_ACTOR,
    skip_locked: bool | None = None,
) -> list[DueEvent]:
    """Run, in time order, everything due up to ``now`` for these customers (default: everyone).

    Safe to run twice and from several workers: rows another transaction holds are skipped when
    ``skip_locked`` (the default when scanning everyone; a run for given customers, such as a test
    clock advance, waits for them instead so nothing is left behind). Returns what happened.
    """
    require_aware(now, "now")
    if skip_locked is None:
        skip_locked = customers is None
    queryset = Subscription.objects.exclude(status__in=ENDED)
    if customers is not None:
        queryset = queryset.filter(customer__in=customers)
    else:
        # Test customers live in their test clock's time: only an advance of that clock moves them.
        queryset = queryset.filter(customer__test_clock__isnull=True)
    queryset = queryset.filter(
        Q(status__in=[S.TRIALING, *RENEWING], current_period_end__lte=now)
        | Q(status=S.PAUSED, service_paused_until__lte=now)
        | (~Q(pause_behavior="") & Q(pause_resumes_at__lte=now))
    )
    heap: list[tuple[dt.datetime, int, int]] = []
    for subscription in queryset.order_by("pk"):
        due = next_due(subscription)
        if due is not None and due[0] <= now:
            heap.append((due[0], _ORDER[due[1]], subscription.pk))
    heapq.heapify(heap)
    events: list[DueEvent] = []
    while heap:
        _, _, pk = heapq.heappop(heap)
        step_events, following = _step(pk, now=now, actor=actor, skip_locked=skip_locked)
        events.extend(step_events)
        if following is not None:
            heapq.heappush(heap, (following[0], _ORDER[following[1]], pk))
    return events
