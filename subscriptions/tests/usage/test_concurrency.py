"""Two batches sharing keys, sent at the same moment in opposite orders: each event stored once, no deadlock.

PostgreSQL only: SQLite runs one writer at a time, so nothing there can interleave.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from subscriptions.models.usage import UsageEvent, UsageHourlyRollup
from subscriptions.services.usage import usage_events_ingest
from subscriptions.tests.usage.helpers import LATER, D, event, make_customer, make_metric, utc

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
EVENTS = 300


def test_concurrent_replays_in_opposite_orders_store_each_event_once_without_deadlock():
    customers = [make_customer() for _ in range(3)]
    calls = make_metric(aggregation="sum")
    failures: list[BaseException] = []
    accepted: list[int] = []

    def send(batch):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                result = usage_events_ingest(events=batch, now=LATER)
            accepted.append(result.accepted)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)
        finally:
            connection.close()

    for round_number in range(ROUNDS):
        batch = [
            event(
                customers[n % 3],
                calls,
                f"r{round_number}-{n}",
                value=f"{n}.5",
                timestamp=utc(2026, 1, 5, n % 3).isoformat(),
            )
            for n in range(EVENTS)
        ]
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=send, args=(b,)) for b in (batch, list(reversed(batch)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert failures == []
    assert sum(accepted) == ROUNDS * EVENTS
    assert UsageEvent.objects.count() == ROUNDS * EVENTS
    expected = ROUNDS * sum(D(f"{n}.5") for n in range(EVENTS))
    assert UsageEvent.objects.aggregate(s=Sum("value"))["s"] == expected
    rollups = UsageHourlyRollup.objects.aggregate(s=Sum("value_sum"), n=Sum("event_count"))
    assert (rollups["s"], rollups["n"]) == (expected, ROUNDS * EVENTS)
