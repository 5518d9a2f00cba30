"""The time a subject (customer, subscription, …) lives in: its test clock's frozen time, if any."""

from __future__ import annotations

from datetime import datetime

from subscriptions.models import Customer, TestClock


def test_clock_time_for(subject: object) -> datetime | None:
    if isinstance(subject, TestClock):
        return subject.frozen_time
    customer = subject if isinstance(subject, Customer) else getattr(subject, "customer", None)
    if isinstance(customer, Customer) and customer.test_clock_id is not None:
        return TestClock.objects.values_list("frozen_time", flat=True).get(pk=customer.test_clock_id)
    return None


test_clock_time_for.__test__ = False  # type: ignore[attr-defined]
