"""usage_quantities_by_window: usage split by the event's local time, exact at the window edges and over DST."""

from __future__ import annotations

from datetime import time

import pytest

from subscriptions.selectors.usage import customer_usage_summary, rollup_covers, usage_quantities_by_window
from subscriptions.tests.usage.helpers import (
    LATER,
    D,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    send,
    utc,
)

pytestmark = pytest.mark.django_db

PEAK = {"name": "peak", "start_time": time(7), "end_time": time(23), "unit_amount": D("0.30")}

# Europe/Amsterdam moves from CET (UTC+1) to CEST (UTC+2) at 02:00 local on Sunday 29 March 2026.
# Each value is a power of two, so every sum below says which events it holds.
SPRING = [
    ("1", utc(2026, 3, 28, 5, 59, 59)),  # Sat 06:59:59 CET   off-peak
    ("2", utc(2026, 3, 28, 6, 0, 0)),  # Sat 07:00:00 CET      peak
    ("4", utc(2026, 3, 28, 21, 59, 59)),  # Sat 22:59:59 CET   peak
    ("8", utc(2026, 3, 28, 22, 0, 0)),  # Sat 23:00:00 CET     off-peak
    ("16", utc(2026, 3, 29, 0, 30)),  # Sun 01:30 CET          off-peak, before the clock jumps
    ("32", utc(2026, 3, 29, 1, 30)),  # Sun 03:30 CEST         off-peak, after it
    ("64", utc(2026, 3, 29, 4, 59, 59)),  # Sun 06:59:59 CEST  off-peak
    ("128", utc(2026, 3, 29, 5, 0, 0)),  # Sun 07:00:00 CEST   peak
    ("256", utc(2026, 3, 29, 20, 59, 59)),  # Sun 22:59:59 CEST peak
    ("512", utc(2026, 3, 29, 21, 0, 0)),  # Sun 23:00:00 CEST   off-peak
]
SPRING_SPLIT = {"peak": D(2 + 4 + 128 + 256), "off-peak": D(1 + 8 + 16 + 32 + 64 + 512)}
# A period that starts and ends at odd minutes, so its edge hours are read from the events.
SPRING_START, SPRING_END = utc(2026, 3, 27, 23, 17), utc(2026, 3, 30, 0, 43)

# Back from CEST to CET at 03:00 local on Sunday 25 October 2026: 02:30 happens twice.
AUTUMN = [
    ("1", utc(2026, 10, 25, 0, 30)),  # 02:30 CEST  off-peak
    ("2", utc(2026, 10, 25, 1, 30)),  # 02:30 CET   off-peak
    ("4", utc(2026, 10, 25, 5, 59, 59)),  # 06:59:59 CET off-peak
    ("8", utc(2026, 10, 25, 6, 0, 0)),  # 07:00:00 CET   peak
    ("16", utc(2026, 10, 24, 4, 59, 59)),  # Sat 06:59:59 CEST off-peak
    ("32", utc(2026, 10, 24, 5, 0, 0)),  # Sat 07:00:00 CEST   peak
]
AUTUMN_SPLIT = {"peak": D(8 + 32), "off-peak": D(1 + 2 + 4 + 16)}


@pytest.fixture
def customer():
    return make_customer()


def split(customer, metric, price, start, end, **kwargs):
    return usage_quantities_by_window(
        customer=customer, metric=metric, price=price, period_start=start, period_end=end, **kwargs
    )


def energy_price(metric, *windows):
    return metered_price(
        metric, unit_amount=D("0.10"), time_zone="Europe/Amsterdam", rate_windows=list(windows or [PEAK])
    )


def test_a_rolled_up_sum_splits_at_07_00_and_23_00_local_time_across_the_spring_clock_change(customer):
    energy = make_metric(aggregation="sum")
    send(customer, energy, *SPRING)

    assert rollup_covers(energy)
    assert split(customer, energy, energy_price(energy), SPRING_START, SPRING_END) == SPRING_SPLIT


def test_the_same_split_read_event_by_event(customer):
    """A filtered metric reads every event (no rollups): the split must come out the same."""
    energy = make_metric(aggregation="sum", filters={"meter": ["main"]})
    send(customer, energy, *SPRING, properties={"meter": "main"})
    send(customer, energy, ("1000", utc(2026, 3, 28, 12)), properties={"meter": "spare"})

    assert not rollup_covers(energy)
    assert split(customer, energy, energy_price(energy), SPRING_START, SPRING_END) == SPRING_SPLIT


def test_the_autumn_clock_change_counts_the_repeated_hour_twice_off_peak(customer):
    energy = make_metric(aggregation="sum")
    send(customer, energy, *AUTUMN)

    assert split(customer, energy, energy_price(energy), utc(2026, 10, 23), utc(2026, 10, 26)) == AUTUMN_SPLIT


def test_a_window_starting_inside_an_hour_reads_that_hour_event_by_event(customer):
    energy = make_metric(aggregation="sum")
    half_past = {"name": "peak", "start_time": time(7, 30), "end_time": time(22, 0), "unit_amount": D("0.30")}
    send(
        customer,
        energy,
        ("1", utc(2026, 3, 28, 6, 29, 59)),  # 07:29:59 CET off-peak
        ("2", utc(2026, 3, 28, 6, 30)),  # 07:30:00 CET peak
        ("4", utc(2026, 3, 28, 12)),  # peak
        ("8", utc(2026, 3, 28, 20, 59, 59)),  # 21:59:59 peak
        ("16", utc(2026, 3, 28, 21)),  # 22:00 off-peak
    )

    found = split(customer, energy, energy_price(energy, half_past), utc(2026, 3, 28), utc(2026, 3, 29))

    assert found == {"peak": D(14), "off-peak": D(17)}


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("count", {"peak": D(4), "off-peak": D(6)}),
        ("max", {"peak": D(256), "off-peak": D(512)}),
        ("unique_count", {"peak": D(4), "off-peak": D(6)}),
        ("last_in_period", {"peak": D(0), "off-peak": D(512)}),
    ],
)
def test_other_aggregations_per_window(customer, aggregation, expected):
    metric = make_metric(aggregation=aggregation)
    send(customer, metric, *SPRING)

    assert split(customer, metric, energy_price(metric), SPRING_START, SPRING_END) == expected


def test_the_summary_prices_each_window_at_its_rate(customer):
    energy = make_metric(code="energy", name="Energy", aggregation="sum")
    price = energy_price(energy)
    make_subscription(customer, price, start=SPRING_START, end=SPRING_END)
    send(customer, energy, *SPRING)

    (usage,) = customer_usage_summary(customer=customer, now=LATER).metrics

    assert usage.windows == SPRING_SPLIT
    assert usage.quantity == D(1023)
    # peak 390 × 0.30 = 117.00; off-peak 633 × 0.10 = 63.30
    assert [(line.rate_window, line.amount) for line in usage.amount.lines] == [
        ("peak", D("117.00")),
        ("off-peak", D("63.30")),
    ]
    assert usage.amount.total == D("180.30")
