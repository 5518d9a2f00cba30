"""The next invoice of a subscription as it would be now: nothing is written."""

from __future__ import annotations

import datetime as dt

from billing_site.errors import DomainError
from invoicing.services.billing import invoice_for_period
from invoicing.services.compose import DraftInvoice
from invoicing.services.period_lines import BillingContext, late_usage_since, pending_for
from subscriptions.domain.periods import next_period
from subscriptions.models import Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.services.lifecycle.hooks import PeriodStart


def invoice_upcoming(*, subscription: Subscription, now: dt.datetime) -> DraftInvoice:
    """The renewal invoice at the end of the current period: next period's fees, this period's usage so far."""
    S = SubscriptionStatus
    if subscription.status in (S.CANCELED, S.INCOMPLETE_EXPIRED) or subscription.cancel_at_period_end:
        raise DomainError(
            "no_upcoming_invoice", f"Subscription #{subscription.pk} ends at the end of its period: no renewal invoice."
        )
    if subscription.status == S.PAUSED:
        raise DomainError("no_upcoming_invoice", f"Subscription #{subscription.pk} is paused: nothing renews.")
    try:
        start, end = next_period(
            subscription.billing_cycle_anchor,
            subscription.interval,
            subscription.interval_count,
            subscription.current_period_end,
        )
    except DomainError:
        start = subscription.current_period_end
        end = start + (subscription.current_period_end - subscription.current_period_start)
    trial = subscription.status == S.TRIALING
    event = PeriodStart(
        subscription.pk,
        start,
        end,
        "trial_converted" if trial else "renewal",
        previous_start=None if trial else subscription.current_period_start,
    )
    context = BillingContext()
    items = list(SubscriptionItem.objects.filter(subscription=subscription).order_by("id"))
    pending = pending_for([subscription.pk], kind="proration", now=now).get(subscription.pk, [])
    left = subscription.coupon_periods_left
    if left:  # the renewal uses up one discounted period first
        subscription.coupon_periods_left = left - 1
    try:
        return invoice_for_period(
            context=context,
            subscription=subscription,
            event=event,
            items=items,
            pending=pending,
            now=now,
            late_since=late_usage_since([subscription.pk]).get(subscription.pk),
        )
    finally:
        subscription.coupon_periods_left = left
