"""Subscription test data, built through the real services so that every invariant holds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from catalog.models import Plan, PlanVersion, Price
from catalog.services.plans import plan_version_publish
from catalog.tests.factories import ACTOR, T0, draft_version, make_metric, make_plan, make_price, make_product
from subscriptions.models import Customer, Subscription
from subscriptions.services.subscriptions import subscription_create

__all__ = [
    "ACTOR",
    "T0",
    "make_customer",
    "make_flat_plan",
    "make_metered_price",
    "make_plan_with_prices",
    "make_subscription",
    "pending_lines",
    "subscription_state",
    "utc",
]

_counter = {"n": 0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_customer(**fields: Any) -> Customer:
    """A Dutch customer billed in EUR, through the customer service when it exists."""
    n = _next()
    fields.setdefault("name", f"Customer {n} B.V.")
    fields.setdefault("email", f"billing{n}@example.com")
    fields.setdefault("country", "NL")
    fields.setdefault("currency", "EUR")
    now = fields.pop("now", T0)
    try:
        from subscriptions.services.customers import customer_create
    except ImportError:  # the customer service arrives with its own issue
        return Customer.objects.create(created_at=now, updated_at=now, **fields)
    return customer_create(actor=ACTOR, now=now, **fields)


def make_plan_with_prices(*price_fields: dict[str, Any], publish: bool = True, **plan_fields: Any) -> PlanVersion:
    """A plan whose first version holds these prices (each a ``make_price`` dict), published."""
    plan: Plan = make_plan(**plan_fields)
    version = draft_version(plan)
    for fields in price_fields or ({"unit_amount": Decimal("29.00")},):
        make_price(plan_version=version, **fields)
    if publish:
        version = plan_version_publish(version=version, actor=ACTOR, now=T0)
    return version


def make_flat_plan(amount: str, **plan_fields: Any) -> PlanVersion:
    """A monthly EUR plan with one flat fee, e.g. "Starter" at 29.00."""
    name = plan_fields.pop("product_name", "Subscription fee")
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": Decimal(amount), "product": make_product(name=name)}, **plan_fields
    )


def make_metered_price(**fields: Any) -> Price:
    fields.setdefault("metric", make_metric())
    fields.setdefault("usage_type", "metered")
    fields.setdefault("unit_amount", Decimal("0.01"))
    return make_price(**fields)


def make_subscription(customer: Customer | None = None, *, now: datetime = T0, **kwargs: Any) -> Subscription:
    if "plan_version" not in kwargs and "items" not in kwargs:
        kwargs["plan_version"] = make_flat_plan("29.00")
    return subscription_create(customer=customer or make_customer(), actor=ACTOR, now=now, **kwargs)


def subscription_state(subscription: Subscription) -> dict[str, Any]:
    """Everything a refused change must leave alone: the row, items, lines, scheduled changes, audit trail."""
    from billing_site.models import AuditEvent
    from billing_site.services.audit import snapshot
    from catalog.models import Coupon, PromotionCode
    from subscriptions.models import PendingLine, ScheduledChange, SubscriptionItem

    row = Subscription.objects.get(pk=subscription.pk)
    return {
        "row": snapshot(row),
        "items": sorted(
            SubscriptionItem.objects.filter(subscription=row).values_list("price_id", "quantity", "is_addon")
        ),
        "pending_lines": list(PendingLine.objects.filter(subscription=row).values_list("pk", "amount", "kind")),
        "scheduled_changes": list(
            ScheduledChange.objects.filter(subscription=row).values_list("pk", "status", "effective_at")
        ),
        "subscriptions": Subscription.objects.count(),
        "coupons": list(Coupon.objects.values_list("pk", "times_redeemed")),
        "promotion_codes": list(PromotionCode.objects.values_list("pk", "times_redeemed")),
        "audit_events": AuditEvent.objects.count(),
    }


def pending_lines(subscription: Subscription) -> list[tuple[str, Decimal, str]]:
    """(description, amount, kind) of every pending line, oldest first."""
    from subscriptions.models import PendingLine

    return [
        (line.description, line.amount.amount, line.kind)
        for line in PendingLine.objects.filter(subscription=subscription).order_by("created_at", "id")
    ]
