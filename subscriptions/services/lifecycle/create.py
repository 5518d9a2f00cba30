"""Starting a subscription: by plan and/or price items, with add-ons, trial, discount and billing cycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, snapshot
from catalog.models import Coupon, Plan, PlanVersion, PromotionCode
from subscriptions.domain.periods import add_intervals, period_containing, require_aware
from subscriptions.models import CollectionMethod, Customer, Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.services.lifecycle.discounts import discount_redeem
from subscriptions.services.lifecycle.hooks import period_started
from subscriptions.services.lifecycle.items import (
    PlannedItem,
    check_items,
    check_quantity,
    cycle,
    explicit_items,
    items_snapshot,
    plan_items,
    resolve_plan_version,
)
from subscriptions.services.lifecycle.locks import customer_lock
from subscriptions.services.lifecycle.transitions import subscription_transition

MAX_DAYS_UNTIL_DUE = 365


def _error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def _check_collection(collection_method: str, days_until_due: int | None) -> None:
    if collection_method not in CollectionMethod.values:
        raise _error(
            "invalid_collection_method",
            "collection_method",
            "Choose how to collect: charge_automatically or send_invoice.",
        )
    if collection_method == CollectionMethod.SEND_INVOICE:
        if days_until_due is None:
            raise _error(
                "days_until_due_required",
                "days_until_due",
                "Invoices that are sent need payment terms: how many days the customer has to pay (e.g. 30).",
            )
        if isinstance(days_until_due, bool) or not isinstance(days_until_due, int):
            raise _error("invalid_days_until_due", "days_until_due", "Give the payment terms as a number of days.")
        if not 0 <= days_until_due <= MAX_DAYS_UNTIL_DUE:
            raise _error(
                "invalid_days_until_due",
                "days_until_due",
                f"Payment terms are between 0 and {MAX_DAYS_UNTIL_DUE} days.",
            )
    elif days_until_due is not None:
        raise _error(
            "days_until_due_not_allowed",
            "days_until_due",
            "Payment terms only apply when invoices are sent; automatic charges are due at once.",
        )


def _trial_end(
    items: list[PlannedItem], *, trial_end: dt.datetime | None, trial_from_price: bool, now: dt.datetime
) -> dt.datetime | None:
    if trial_end is not None:
        require_aware(trial_end, "trial_end")
        if trial_end <= now:
            raise _error("trial_end_in_past", "trial_end", "The trial must end in the future.")
        return trial_end
    if not trial_from_price:
        return None
    days = max(item.price.trial_days for item in items)
    return now + dt.timedelta(days=days) if days else None


def _anchor(anchor: dt.datetime | None, *, billing_start: dt.datetime, interval: str, count: int) -> dt.datetime:
    """The anchor of the billing cycle: by default the start of billing (now, or the trial end)."""
    if anchor is None:
        return billing_start
    require_aware(anchor, "billing_cycle_anchor")
    if anchor < billing_start:
        raise _error(
            "anchor_before_start",
            "billing_cycle_anchor",
            f"The billing cycle anchor cannot be before billing starts ({billing_start:%Y-%m-%d %H:%M} UTC).",
        )
    natural = add_intervals(billing_start, interval, count, 1)
    if anchor > natural:
        raise _error(
            "anchor_too_late",
            "billing_cycle_anchor",
            f"The billing cycle anchor must fall within the first billing period (by {natural:%Y-%m-%d %H:%M} UTC).",
        )
    return anchor


def _metadata(metadata: Any) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(key, str) for key in metadata):
        raise _error("invalid_metadata", "metadata", 'Metadata is a set of named values, e.g. {"crm_deal": "D-42"}.')
    return metadata


@transaction.atomic
def subscription_create(
    *,
    customer: Customer,
    actor: Actor,
    now: dt.datetime,
    plan_version: Plan | PlanVersion | None = None,
    items: Iterable[Any] = (),
    addons: Iterable[Any] = (),
    quantity: int = 1,
    interval: str | None = None,
    trial_end: dt.datetime | None = None,
    trial_from_price: bool = True,
    coupon: Coupon | None = None,
    promotion_code: PromotionCode | str | None = None,
    billing_cycle_anchor: dt.datetime | None = None,
    collection_method: str = CollectionMethod.CHARGE_AUTOMATICALLY,
    days_until_due: int | None = None,
    metadata: dict | None = None,
) -> Subscription:
    """Start a subscription now: active, or trialing when a price (or ``trial_end``) gives a trial.

    ``plan_version`` takes a Plan (its current published version) or a published PlanVersion; its
    prices in the customer's currency are used (``interval`` chooses the cycle when the plan offers
    several): licensed prices get ``quantity`` (seats), metered ones quantity 1. ``items`` adds prices with
    their own quantities, ``addons`` standalone add-on prices; ``[(price, quantity)]``, ``[price]``
    or ``[{"price": …, "quantity": …}]``. All prices share the customer's currency and one billing
    cycle.

    The first period is ``[now, first anchor boundary after now)``: a whole period by default, a
    stub up to the anchor when ``billing_cycle_anchor`` is later (billed as its share of a whole
    period, like Stripe). With a trial the first period is the trial and billing starts at its end.

    No invoice is made here: licensed fees are billed in advance by the billing run (invoicing
    issue), which bills every period not yet invoiced, the first one included.
    """
    require_aware(now, "now")
    # Periods start on whole seconds, as Stripe's do: dates on invoices never show fractions of a second.
    now = now.replace(microsecond=0)
    customer = customer_lock(customer)
    check_quantity(quantity)
    planned: list[PlannedItem] = []
    version = None
    if plan_version is not None:
        version = resolve_plan_version(plan_version)
        planned = plan_items(version, quantity, currency=customer.currency, interval=interval)
    elif quantity != 1:
        raise _error(
            "quantity_needs_plan",
            "quantity",
            "The quantity sets the seats of a plan. Without a plan, give each price item its quantity.",
        )
    planned += explicit_items(items, is_addon=False, check_available=True)
    planned += explicit_items(addons, is_addon=True, check_available=True)
    interval, count = check_items(planned, currency=customer.currency)
    _check_collection(collection_method, days_until_due)
    metadata = _metadata(metadata)

    trial = _trial_end(planned, trial_end=trial_end, trial_from_price=trial_from_price, now=now)
    billing_start = trial or now
    anchor = _anchor(billing_cycle_anchor, billing_start=billing_start, interval=interval, count=count)
    # A trial is the first period; otherwise up to the anchor's first boundary after now (a stub if later).
    period_end = trial if trial is not None else period_containing(anchor, interval, count, now)[1]

    coupon, promo, periods_left = discount_redeem(
        coupon=coupon,
        promotion_code=promotion_code,
        customer=customer,
        plan_version=version,
        items=planned,
        currency=customer.currency,
        actor=actor,
        now=now,
    )
    subscription = Subscription(
        customer=customer,
        plan_version=version,
        currency=customer.currency,
        interval=interval,
        interval_count=count,
        billing_cycle_anchor=anchor,
        current_period_start=now,
        current_period_end=period_end,
        trial_start=now if trial else None,
        trial_end=trial,
        collection_method=collection_method,
        days_until_due=days_until_due,
        coupon=coupon,
        promotion_code=promo,
        coupon_periods_left=periods_left,
        metadata=metadata,
        created_at=now,
        updated_at=now,
    )
    status = SubscriptionStatus.TRIALING if trial else SubscriptionStatus.ACTIVE
    subscription_transition(subscription, to=status, actor=actor, now=now)
    subscription.save()
    SubscriptionItem.objects.bulk_create(
        SubscriptionItem(
            subscription=subscription, price=i.price, quantity=i.quantity, is_addon=i.is_addon, created_at=now
        )
        for i in planned
    )
    audit_record(
        actor=actor,
        action="subscription.created",
        obj=subscription,
        now=now,
        after={**snapshot(subscription), "items": items_snapshot(planned)},
        reason=f"Billed {cycle(subscription)} in {subscription.currency}",
    )
    period_started(subscription, reason="trial_started" if trial else "created")
    return subscription
