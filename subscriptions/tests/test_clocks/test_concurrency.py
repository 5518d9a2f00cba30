"""Two advances of the same clock at once serialize on the clock's row lock (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from billing_site.errors import DomainError
from subscriptions.models import TestClock
from subscriptions.services import test_clocks as service
from subscriptions.services.test_clocks import test_clock_advance
from subscriptions.tests.customers.helpers import ACTOR, make_clock, make_customer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

JAN_31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_a_second_advance_waits_for_the_first_and_sees_its_time(monkeypatch):
    test_clock = make_clock(frozen_time=JAN_31)
    make_customer(test_clock=test_clock)
    first_has_lock, release_first = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_process_due(*, now, customers, actor):
        if now == JAN_31 + timedelta(days=10):
            first_has_lock.set()
            release_first.wait(10)
        return []

    monkeypatch.setattr(service, "process_due_function", lambda: slow_process_due)

    def advance(name: str, days: int) -> None:
        try:
            test_clock_advance(clock=test_clock, to=JAN_31 + timedelta(days=days), actor=ACTOR, now=JAN_31)
            outcome[name] = "advanced"
        except DomainError as error:
            outcome[name] = error.code
        finally:
            connection.close()

    first = threading.Thread(target=advance, args=("first", 10))
    first.start()
    assert first_has_lock.wait(10)
    second = threading.Thread(target=advance, args=("second", 5))  # read the clock while it was still at Jan 31
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second advance must wait for the first one's lock"
    release_first.set()
    first.join(10)
    second.join(10)

    assert outcome == {"first": "advanced", "second": "test_clock_time_not_later"}
    stored = TestClock.objects.get(pk=test_clock.pk)
    assert (stored.frozen_time, stored.status) == (JAN_31 + timedelta(days=10), "ready")
