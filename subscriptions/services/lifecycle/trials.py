"""The end of a trial: convert to a paying subscription, or (without a payment method) what the setting says.

``settings.TRIAL_END_WITHOUT_PAYMENT_METHOD``: ``"convert"`` (active anyway; the invoice is sent
and collection follows up), ``"cancel"`` (the default, like Stripe's ``missing_payment_method``
= cancel) or ``"pause"`` (paused until someone resumes it, e.g. when a payment method arrives; the
first paid period then starts at the resume).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from subscriptions.domain.periods import period_containing
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors.subscriptions import customer_has_payment_method
from subscriptions.services.lifecycle.cancel import subscription_end
from subscriptions.services.lifecycle.hooks import period_started
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.lifecycle.transitions import (
    ENDED,
    subscription_check_transition,
    subscription_transition,
)

TRIAL_END_BEHAVIORS = ("convert", "cancel", "pause")
NO_PAYMENT_METHOD = "The trial ended without a payment method on file."


def trial_end_behavior() -> str:
    value = getattr(settings, "TRIAL_END_WITHOUT_PAYMENT_METHOD", "cancel")
    if value not in TRIAL_END_BEHAVIORS:
        raise ImproperlyConfigured(
            f"TRIAL_END_WITHOUT_PAYMENT_METHOD is “{value}”; use one of {', '.join(TRIAL_END_BEHAVIORS)}."
        )
    return value


def _convert(subscription: Subscription, *, actor: Actor, at: dt.datetime, reason: str) -> None:
    """The first paid period starts at ``at``; a default anchor (the planned trial end) moves with it."""
    fields = ["trial_end", "billing_cycle_anchor", "current_period_start", "current_period_end"]
    before = {name: getattr(subscription, name) for name in fields}
    if subscription.billing_cycle_anchor == subscription.trial_end or subscription.billing_cycle_anchor < at:
        subscription.billing_cycle_anchor = at
    subscription.trial_end = subscription.current_period_start = at
    subscription.current_period_end = period_containing(
        subscription.billing_cycle_anchor, subscription.interval, subscription.interval_count, at
    )[1]
    subscription_transition(
        subscription,
        to=SubscriptionStatus.ACTIVE,
        actor=actor,
        now=at,
        reason=reason,
        before=before,
        after={name: getattr(subscription, name) for name in fields},
    )
    subscription.updated_at = at
    subscription.save(update_fields=[*fields, "status", "updated_at"])
    period_started(subscription, reason="trial_converted")


def _pause(subscription: Subscription, *, actor: Actor, at: dt.datetime) -> None:
    fields = ["trial_end", "status_before_pause", "service_paused_at", "service_paused_until"]
    before = {name: getattr(subscription, name) for name in fields}
    subscription.trial_end = at
    subscription.status_before_pause = SubscriptionStatus.TRIALING
    subscription.service_paused_at, subscription.service_paused_until = at, None
    subscription_transition(
        subscription,
        to=SubscriptionStatus.PAUSED,
        actor=actor,
        now=at,
        reason=f"{NO_PAYMENT_METHOD} Paused until it is resumed.",
        before=before,
        after={name: getattr(subscription, name) for name in fields},
    )
    subscription.updated_at = at
    subscription.save(update_fields=[*fields, "status", "updated_at"])


def trial_end_at(subscription: Subscription, *, actor: Actor, at: dt.datetime) -> str:
    """End the trial of a locked, trialing subscription at ``at``. Returns what happened.

    "converted", "canceled" or "paused".
    """
    if customer_has_payment_method(subscription.customer):
        _convert(subscription, actor=actor, at=at, reason="Trial ended")
        return "converted"
    behavior = trial_end_behavior()
    if behavior == "convert":
        _convert(subscription, actor=actor, at=at, reason=f"{NO_PAYMENT_METHOD} Converted; invoices are sent.")
        return "converted"
    if behavior == "cancel":
        subscription.trial_end = at
        subscription.save(update_fields=["trial_end"])
        subscription_end(subscription, actor=actor, at=at, reason_text=NO_PAYMENT_METHOD)
        return "canceled"
    _pause(subscription, actor=actor, at=at)
    return "paused"


@transaction.atomic
def subscription_end_trial(*, subscription: Subscription, actor: Actor, now: dt.datetime) -> Subscription:
    """End the trial now (early): the customer starts paying now, or the no-payment-method rule applies."""
    locked = subscription_lock(subscription)
    assert locked is not None
    if locked.status != SubscriptionStatus.TRIALING:
        if locked.status in ENDED:
            subscription_check_transition(locked, to=SubscriptionStatus.ACTIVE)
        raise DomainError(
            "not_trialing", f"This subscription is {locked.get_status_display().lower()}, not in a trial."
        )
    trial_end_at(locked, actor=actor, at=now)
    return locked
