"""Reads of subscriptions: lists for the API and admin, one subscription with everything it shows."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from catalog.models import Plan
from subscriptions.models import (
    Customer,
    PendingLine,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionItem,
)


def subscription_queryset() -> QuerySet[Subscription]:
    """Subscriptions with what a page or an API answer shows: items, pending change, lines to invoice."""
    return Subscription.objects.select_related(
        "customer", "plan_version__plan", "coupon", "promotion_code"
    ).prefetch_related(
        Prefetch(
            "items",
            queryset=SubscriptionItem.objects.select_related("price__product", "price__plan_version").prefetch_related(
                "price__tiers", "price__rate_windows"
            ),
        ),
        Prefetch(
            "scheduled_changes",
            queryset=ScheduledChange.objects.filter(status=ScheduledChangeStatus.PENDING),
            to_attr="pending_changes",
        ),
        Prefetch(
            "pending_lines",
            queryset=PendingLine.objects.filter(invoiced_at__isnull=True).order_by("created_at", "id"),
            to_attr="uninvoiced_lines",
        ),
    )


def subscription_list(
    *,
    customer: Customer | int | None = None,
    status: str | None = None,
    plan: Plan | int | str | None = None,
) -> QuerySet[Subscription]:
    """Subscriptions, optionally of one customer, in one status, or on one plan (any version; id or code)."""
    queryset = subscription_queryset()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer.pk if isinstance(customer, Customer) else customer)
    if status:
        queryset = queryset.filter(status=status)
    if plan is not None:
        if isinstance(plan, Plan):
            queryset = queryset.filter(plan_version__plan_id=plan.pk)
        elif isinstance(plan, int) or (isinstance(plan, str) and plan.isdigit()):
            queryset = queryset.filter(Q(plan_version__plan_id=int(plan)) | Q(plan_version__plan__code=str(plan)))
        else:
            queryset = queryset.filter(plan_version__plan__code=plan)
    return queryset


def subscription_scheduled_change(subscription: Subscription) -> ScheduledChange | None:
    """The change waiting for the period end, if any (at most one, by a database constraint)."""
    prefetched = getattr(subscription, "pending_changes", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return subscription.scheduled_changes.filter(status=ScheduledChangeStatus.PENDING).first()


def subscription_pending_lines(subscription: Subscription) -> list[PendingLine]:
    """Charges and credits (prorations) that wait for the next invoice."""
    prefetched = getattr(subscription, "uninvoiced_lines", None)
    if prefetched is not None:
        return list(prefetched)
    return list(subscription.pending_lines.filter(invoiced_at__isnull=True).order_by("created_at", "id"))


#: Set by the app that keeps payment methods (invoicing): ``check(customer) -> bool``.
_PAYMENT_METHOD_CHECKS: list = []


def register_payment_method_check(check) -> None:
    """Invoicing tells whether a customer has a payment method (subscriptions cannot import it)."""
    if check not in _PAYMENT_METHOD_CHECKS:
        _PAYMENT_METHOD_CHECKS.append(check)


def customer_has_payment_method(customer: Customer) -> bool:
    """Whether the customer has a default payment method on file (decides what a trial end does)."""
    return any(check(customer) for check in _PAYMENT_METHOD_CHECKS)
