"""Test data for usage metering: customers, metered subscriptions with exact periods, events sent in batches.

Customers and subscriptions are made with the ORM on purpose: these tests need periods that start at
any minute, and nothing here depends on how a subscription came to be.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from billing_site.models import AuditEvent
from catalog.models import BillableMetric, Price
from catalog.tests.factories import ACTOR, make_metric, make_price
from subscriptions.models import Customer, Subscription, SubscriptionItem, TestClock
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing, UsageEvent, UsageHourlyRollup
from subscriptions.services.usage import IngestResult, usage_events_ingest

__all__ = ["ACTOR", "D", "LATER", "T0", "make_metric"]

D = Decimal
#: The tests' "now": 15 January 2026, 09:30 UTC (conftest's ``now``).
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PERIOD_START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
PERIOD_END = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
#: A "now" after every period the tests look at.
LATER = datetime(2026, 12, 1, tzinfo=UTC)

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_customer(**fields: Any) -> Customer:
    n = _next()
    fields.setdefault("name", f"Usage Customer {n} B.V.")
    fields.setdefault("email", f"usage{n}@example.com")
    fields.setdefault("country", "NL")
    fields.setdefault("currency", "EUR")
    return Customer.objects.create(created_at=T0, updated_at=T0, **fields)


def make_test_clock(frozen_time: datetime) -> TestClock:
    return TestClock.objects.create(name="Usage scenario", frozen_time=frozen_time, created_at=T0)


def make_subscription(
    customer: Customer,
    *prices: Price,
    start: datetime = PERIOD_START,
    end: datetime = PERIOD_END,
    status: str = "active",
    created_at: datetime | None = None,
) -> Subscription:
    """A subscription in its period ``[start, end)`` with one item per price."""
    subscription = Subscription.objects.create(
        customer=customer,
        status=status,
        currency=customer.currency,
        interval="month",
        billing_cycle_anchor=start,
        current_period_start=start,
        current_period_end=end,
        created_at=created_at or start,
        updated_at=created_at or start,
    )
    for price in prices:
        SubscriptionItem.objects.create(subscription=subscription, price=price, created_at=start)
    return subscription


def metered_price(metric: BillableMetric, **fields: Any) -> Price:
    """A metered EUR price billing ``metric``: 0.01 per unit unless told otherwise."""
    fields.setdefault("unit_amount", D("0.01"))
    return make_price(usage_type="metered", metric=metric, **fields)


def event(customer: Customer | int | str, metric: BillableMetric | str, key: str, **fields: Any) -> dict[str, Any]:
    """An event as a client sends it; the timestamp defaults to one hour before ``T0``."""
    body: dict[str, Any] = {
        "customer": customer.pk if isinstance(customer, Customer) else customer,
        "metric": metric.code if isinstance(metric, BillableMetric) else metric,
        "idempotency_key": key,
        "timestamp": (T0 - timedelta(hours=1)).isoformat(),
    }
    body.update(fields)
    return body


def ingest(events: list[dict[str, Any]], *, now: datetime = T0) -> IngestResult:
    return usage_events_ingest(events=events, now=now)


def send(
    customer: Customer, metric: BillableMetric, *values_at: tuple[Any, datetime], now: datetime = LATER, **fields: Any
) -> IngestResult:
    """Events of ``metric`` with these (value, timestamp) pairs, each with its own key; all must be accepted.

    Sent at ``LATER`` by default, so that any time of the test periods is in the past.
    """
    events = [
        event(customer, metric, f"k-{_next()}", value=str(value), timestamp=moment.isoformat(), **fields)
        for value, moment in values_at
    ]
    result = ingest(events, now=now)
    assert result.accepted == len(events), [r for r in result.results if r.status != "accepted"]
    return result


def statuses(result: IngestResult) -> list[tuple[int, str, str | None]]:
    return [(r.position, r.status.value, r.code) for r in result.results]


def usage_counts() -> dict[str, int]:
    """Rows of everything usage writes could touch: a refused request must leave them all alone."""
    models = [UsageEvent, UsageHourlyRollup, UsageAlert, UsageAlertCrossing, AuditEvent]
    return {model.__name__: model.objects.count() for model in models}
