"""Usage rows for deletion tests (stored directly: what matters here is that they go, not how they came)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from subscriptions.models import Customer, UsageAlert, UsageEvent
from subscriptions.models.usage import UsageHourlyRollup


def add_usage(customer: Customer, *, at: datetime, events: int = 3, subscription=None) -> None:
    UsageEvent.objects.bulk_create(
        UsageEvent(
            customer=customer,
            subscription=subscription,
            metric_code="api_calls",
            value=Decimal(1),
            timestamp=at,
            idempotency_key=f"{customer.pk}-{n}",
            received_at=at,
        )
        for n in range(events)
    )
    UsageHourlyRollup.objects.create(
        customer=customer,
        subscription_key=subscription.pk if subscription else 0,
        metric_code="api_calls",
        hour=at.replace(minute=0, second=0, microsecond=0),
        value_sum=Decimal(events),
        event_count=events,
        value_max=Decimal(1),
    )
    UsageAlert.objects.create(
        customer=customer, metric_code="api_calls", threshold=Decimal(100), created_at=at, subscription=subscription
    )
