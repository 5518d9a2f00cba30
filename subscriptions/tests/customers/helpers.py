"""Test data for customers and test clocks, made through the real services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billing_site.actors import Actor
from billing_site.models import AuditEvent
from subscriptions.models import (
    Customer,
    PendingLine,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    TestClock,
    UsageAlert,
    UsageEvent,
)
from subscriptions.services.customers import customer_create
from subscriptions.services.test_clocks import test_clock_create

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
ACTOR = Actor.system("tests")

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_customer(**fields: Any) -> Customer:
    """A Dutch EUR customer, unless told otherwise."""
    n = _next()
    fields.setdefault("name", f"Customer {n} BV")
    fields.setdefault("email", f"billing{n}@example.com")
    fields.setdefault("country", "NL")
    fields.setdefault("currency", "EUR")
    now = fields.pop("now", None) or (fields["test_clock"].frozen_time if fields.get("test_clock") else T0)
    return customer_create(actor=ACTOR, now=now, **fields)


def make_clock(*, name: str = "Scenario", frozen_time: datetime = T0) -> TestClock:
    return test_clock_create(name=name, frozen_time=frozen_time, actor=ACTOR, now=T0)


make_clock.__test__ = False  # type: ignore[attr-defined]


def subscribe(customer: Customer, *, unit_amount=None, now: datetime | None = None, **fields: Any) -> Subscription:
    """A monthly EUR 10.00 add-on subscription through the lifecycle service."""
    from decimal import Decimal

    from catalog.tests.factories import make_price
    from subscriptions.services.subscriptions import subscription_create

    price = make_price(currency=customer.currency, unit_amount=unit_amount or Decimal("10.00"))
    when = now or (customer.test_clock.frozen_time if customer.test_clock_id else T0)
    return subscription_create(customer=customer, items=[price], actor=ACTOR, now=when, **fields)


def customer_state(customer: Customer) -> dict[str, Any]:
    """Everything stored about a customer: a refused change must leave it exactly as it was."""
    fresh = Customer.objects.get(pk=customer.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Customer._meta.concrete_fields}


def counts() -> dict[str, int]:
    """Rows of everything a customer or test clock write could touch."""
    models = [
        Customer,
        TestClock,
        Subscription,
        SubscriptionItem,
        ScheduledChange,
        PendingLine,
        UsageEvent,
        UsageAlert,
        AuditEvent,
    ]
    return {model.__name__: model.objects.count() for model in models}
