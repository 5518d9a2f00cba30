"""Where later issues plug in: a new billing period started (renewal, trial converted, resumed).

The billing run (invoicing issue) registers a hook that makes the period's invoice. Hooks run inside
the transaction that started the period, with the subscription locked, so the invoice and the
renewal commit together or not at all; a hook must be idempotent (one invoice per subscription,
period and kind, by a unique constraint) because ``subscriptions_process_due`` may be run twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from subscriptions.models import Subscription


@dataclass(frozen=True)
class PeriodStart:
    """A billing period began: ``reason`` is "created", "trial_started", "renewal", "trial_converted" or "resumed".

    ``previous_start`` is the start of the period that just ended when its usage is now due (a
    renewal): usage in ``[previous_start, period_start)`` is billed in arrears.
    """

    subscription_id: int
    period_start: dt.datetime
    period_end: dt.datetime
    reason: str
    previous_start: dt.datetime | None = None


@dataclass(frozen=True)
class SubscriptionEnded:
    """A subscription ended at ``ended_at``; its last period began at ``period_start`` (usage still unbilled)."""

    subscription_id: int
    period_start: dt.datetime
    ended_at: dt.datetime


PeriodStartHook = Callable[[Subscription, PeriodStart], None]

PERIOD_START_HOOKS: list[PeriodStartHook] = []
EndedHook = Callable[[Subscription, SubscriptionEnded], None]
ENDED_HOOKS: list[EndedHook] = []


def register_ended_hook(hook: EndedHook) -> None:
    """Call ``hook(subscription, ended)`` when a subscription ends (the final invoice is made there)."""
    if hook not in ENDED_HOOKS:
        ENDED_HOOKS.append(hook)


def subscription_ended(subscription: Subscription, *, period_start: dt.datetime, ended_at: dt.datetime) -> None:
    event = SubscriptionEnded(subscription.pk, period_start, ended_at)
    for hook in list(ENDED_HOOKS):
        hook(subscription, event)


def register_period_start_hook(hook: PeriodStartHook) -> None:
    """Call ``hook(subscription, period_start)`` whenever a subscription starts a billing period."""
    if hook not in PERIOD_START_HOOKS:
        PERIOD_START_HOOKS.append(hook)


def unregister_period_start_hook(hook: PeriodStartHook) -> None:
    if hook in PERIOD_START_HOOKS:
        PERIOD_START_HOOKS.remove(hook)


def period_started(
    subscription: Subscription, *, reason: str, previous_start: dt.datetime | None = None
) -> PeriodStart:
    event = PeriodStart(
        subscription_id=subscription.pk,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        reason=reason,
        previous_start=previous_start,
    )
    for hook in list(PERIOD_START_HOOKS):
        hook(subscription, event)
    return event
