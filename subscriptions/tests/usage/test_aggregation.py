"""usage_quantity: every aggregation, property values and filters, exact at the period's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_site.errors import DomainError
from subscriptions.selectors import usage as selectors
from subscriptions.selectors.usage import rollup_covers, usage_quantities, usage_quantity
from subscriptions.tests.usage.helpers import (
    LATER,
    PERIOD_END,
    PERIOD_START,
    D,
    event,
    ingest,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    send,
    utc,
)

pytestmark = pytest.mark.django_db

START, END = PERIOD_START, PERIOD_END
SECOND = timedelta(seconds=1)
# Around the period: just before, at its first instant, inside, its last instant, at its end (the next period).
EDGES = [
    ("100", START - SECOND),
    ("1", START),
    ("2.5", utc(2026, 1, 10, 12, 30)),
    ("4", END - SECOND),
    ("1000", END),
]


def quantity(customer, metric, start=START, end=END, **kwargs):
    return usage_quantity(customer=customer, metric=metric, period_start=start, period_end=end, **kwargs)


@pytest.fixture
def customer():
    return make_customer()


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("sum", D("7.5")), ("count", D(3)), ("max", D(4)), ("last_in_period", D(4)), ("unique_count", D(3))],
)
def test_each_aggregation_counts_only_the_period_start_inclusive_end_exclusive(customer, aggregation, expected):
    metric = make_metric(aggregation=aggregation)
    send(customer, metric, *EDGES)

    assert quantity(customer, metric) == expected


def test_a_metric_without_usage_is_zero(customer):
    for aggregation in ("sum", "count", "max", "unique_count", "last_in_period", "last_ever"):
        assert quantity(customer, make_metric(aggregation=aggregation)) == D(0)


def test_last_ever_carries_the_latest_value_before_the_periods_end_from_any_period(customer):
    seats = make_metric(aggregation="last_ever")
    send(customer, seats, ("12", utc(2025, 11, 3)), ("15", utc(2025, 12, 20)), ("99", END))

    assert quantity(customer, seats) == D(15)
    send(customer, seats, ("14", utc(2026, 1, 20)))
    assert quantity(customer, seats) == D(14)
    assert quantity(customer, seats, start=utc(2025, 12, 1), end=utc(2026, 1, 1)) == D(15)


def test_last_values_break_ties_of_the_same_timestamp_by_arrival(customer):
    seats = make_metric(aggregation="last_in_period")
    moment = utc(2026, 1, 5)
    send(customer, seats, ("3", moment))
    send(customer, seats, ("5", moment))
    send(customer, seats, ("4", moment - SECOND))

    assert quantity(customer, seats) == D(5)


def test_values_come_from_the_metrics_property_when_it_names_one(customer):
    storage = make_metric(aggregation="sum", property="gb")
    peak = make_metric(aggregation="max", property="gb")
    latest = make_metric(aggregation="last_in_period", property="gb")
    for metric in (storage, peak, latest):
        ingest(
            [
                event(customer, metric, f"{metric.code}-1", timestamp="2026-01-03T00:00:00Z", properties={"gb": "1.25"}),
                event(customer, metric, f"{metric.code}-2", timestamp="2026-01-04T00:00:00Z", properties={"gb": D("2")}),
                event(customer, metric, f"{metric.code}-3", timestamp="2026-01-02T00:00:00Z", value="50",
                      properties={"gb": 0.5}),
            ],
            now=LATER,
        )  # fmt: skip

    assert quantity(customer, storage) == D("3.75")  # 1.25 + 2 + 0.5; the event values (1, 1, 50) do not count
    assert quantity(customer, peak) == D(2)
    assert quantity(customer, latest) == D(2)


def test_a_property_that_is_not_a_number_counts_as_missing_not_as_an_error(customer):
    """Stored before the metric read that property (the metric changed since): ignored, never a crash."""
    from subscriptions.models.usage import UsageEvent

    storage = make_metric(aggregation="sum", property="gb")
    send(customer, storage, ("1", utc(2026, 1, 3)), properties={"gb": "2"})
    UsageEvent.objects.update(properties={"gb": "two"})
    send(customer, storage, ("1", utc(2026, 1, 4)), properties={"gb": "3"})

    assert quantity(customer, storage) == D(3)


def test_unique_count_counts_distinct_property_values_as_text(customer):
    users = make_metric(aggregation="unique_count", property="user_id")
    ingest(
        [
            event(customer, users, f"u{n}", timestamp=f"2026-01-0{1 + n % 5}T10:00:00Z", properties={"user_id": user})
            for n, user in enumerate(["ann", "bob", "ann", 7, "7", "carl", D("8")])
        ]
        + [event(customer, users, "outside", timestamp="2025-12-31T23:59:59Z", properties={"user_id": "dora"})],
        now=LATER,
    )

    assert quantity(customer, users) == D(5)  # ann, bob, 7 (number or text), carl, 8


def test_property_filters_count_only_matching_events(customer):
    eu_calls = make_metric(aggregation="sum", filters={"region": ["eu-west", "eu-north"], "tier": [1]})
    ingest(
        [
            event(customer, eu_calls, "a", value="1", properties={"region": "eu-west", "tier": 1}),
            event(customer, eu_calls, "b", value="2", properties={"region": "eu-north", "tier": "1"}),
            event(customer, eu_calls, "c", value="4", properties={"region": "us-east", "tier": 1}),
            event(customer, eu_calls, "d", value="8", properties={"region": "eu-west", "tier": 2}),
            event(customer, eu_calls, "e", value="16", properties={"region": "eu-west"}),
            event(customer, eu_calls, "f", value="32", properties={}),
        ],
        now=LATER,
    )

    assert not rollup_covers(eu_calls)
    assert quantity(customer, eu_calls) == D(3)
    counted = make_metric(aggregation="count", filters={"region": ["eu-west"]})
    send(customer, counted, ("1", utc(2026, 1, 2)), ("1", utc(2026, 1, 3)), properties={"region": "eu-west"})
    send(customer, counted, ("1", utc(2026, 1, 4)), properties={"region": "eu-north"})
    assert quantity(customer, counted) == D(2)


def test_a_subscription_counts_only_its_own_events(customer):
    calls = make_metric(aggregation="sum")
    send(customer, calls, ("5", utc(2026, 1, 2)))  # before any subscription: not attributed
    subscription = make_subscription(customer, metered_price(calls), start=utc(2026, 1, 3), created_at=utc(2026, 1, 3))
    send(customer, calls, ("7", utc(2026, 1, 4, 10, 15)), ("11", utc(2026, 1, 4, 12)))

    assert quantity(customer, calls) == D(23)
    assert quantity(customer, calls, subscription=subscription) == D(18)
    assert quantity(customer, calls, start=utc(2026, 1, 4, 10, 30), subscription=subscription) == D(11)


def test_quantities_of_several_metrics_in_one_call(customer):
    calls, requests, peak = (make_metric(aggregation=a) for a in ("sum", "count", "max"))
    users = make_metric(aggregation="unique_count", property="user")
    for metric in (calls, requests, peak):
        send(customer, metric, ("3", utc(2026, 1, 5, 7, 59)), ("4", utc(2026, 1, 5, 8, 1)))
    send(customer, users, ("1", utc(2026, 1, 5)), properties={"user": "x"})

    found = usage_quantities(
        customer=customer, metrics=[calls, requests, peak, users], period_start=START, period_end=END
    )

    assert found == {calls.code: D(7), requests.code: D(2), peak.code: D(4), users.code: D(1)}


def test_periods_must_be_aware_and_not_empty(customer):
    calls = make_metric()
    with pytest.raises(DomainError) as error:
        quantity(customer, calls, start=END, end=START)
    assert error.value.code == "invalid_period"
    with pytest.raises(DomainError) as error:
        quantity(customer, calls, start=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    assert error.value.code == "naive_datetime"


# --- rollups ---------------------------------------------------------------------------------------

BASE = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = 3 * 24 * 3600  # events over three days


events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=WINDOW - 1),  # second of the window
        st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=events_strategy,
    start_minute=st.integers(min_value=-60, max_value=WINDOW // 60),
    length_minutes=st.integers(min_value=1, max_value=WINDOW // 60 + 120),
)
def test_rollups_give_exactly_the_raw_events_sum_count_and_max_for_any_period(events, start_minute, length_minutes):
    customer = make_customer()
    metrics = {aggregation: make_metric(aggregation=aggregation) for aggregation in ("sum", "count", "max")}
    for metric in metrics.values():
        ingest(
            [
                event(
                    customer,
                    metric,
                    f"{metric.code}-{n}",
                    value=str(value),
                    timestamp=(BASE + timedelta(seconds=s)).isoformat(),
                )
                for n, (s, value) in enumerate(events)
            ],
            now=LATER,
        )
    start = BASE + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=length_minutes)
    inside = [value for s, value in events if start <= BASE + timedelta(seconds=s) < end]
    expected = {
        "sum": sum(inside, D(0)),
        "count": D(len(inside)),
        "max": max(inside, default=D(0)),
    }

    for aggregation, metric in metrics.items():
        assert rollup_covers(metric)
        rolled = quantity(customer, metric, start=start, end=end)
        raw = selectors._raw_quantity(customer=customer, metric=metric, start=start, end=end, subscription=None)
        assert rolled == raw == expected[aggregation], (aggregation, start, end)


def test_rollups_hold_only_accepted_events_per_customer_metric_and_hour(customer):
    from subscriptions.models.usage import UsageHourlyRollup

    calls = make_metric(aggregation="sum")
    events = [
        event(customer, calls, "a", value="1.5", timestamp="2026-01-05T10:00:00Z"),
        event(customer, calls, "b", value="2", timestamp="2026-01-05T10:59:59.999999Z"),
        event(customer, calls, "c", value="4", timestamp="2026-01-05T11:00:00Z"),
        event(customer, calls, "a", value="100", timestamp="2026-01-05T10:30:00Z"),  # duplicate
        event(customer, calls, "d", value="-1", timestamp="2026-01-05T10:30:00Z"),  # rejected
    ]
    ingest(events, now=LATER)
    ingest(events, now=LATER)

    rows = UsageHourlyRollup.objects.order_by("hour").values_list(
        "customer_id", "subscription_key", "metric_code", "hour", "value_sum", "event_count", "value_max"
    )
    assert list(rows) == [
        (customer.pk, 0, calls.code, utc(2026, 1, 5, 10), D("3.5"), 2, D(2)),
        (customer.pk, 0, calls.code, utc(2026, 1, 5, 11), D(4), 1, D(4)),
    ]


def test_whole_hours_come_from_the_rollups_and_only_the_edges_from_the_events(customer, django_assert_num_queries):
    calls = make_metric(aggregation="sum")
    send(customer, calls, ("1", utc(2026, 1, 5, 9, 59)), ("2", utc(2026, 1, 5, 10, 30)), ("4", utc(2026, 1, 5, 12, 1)))
    from subscriptions.models.usage import UsageHourlyRollup

    UsageHourlyRollup.objects.filter(hour=utc(2026, 1, 5, 10)).update(value_sum=D(20))  # tamper: who reads what?

    assert quantity(customer, calls, start=utc(2026, 1, 5, 9, 30), end=utc(2026, 1, 5, 12, 30)) == D(25)
    assert quantity(customer, calls, start=utc(2026, 1, 5, 10, 15), end=utc(2026, 1, 5, 10, 45)) == D(2)
    with django_assert_num_queries(2):  # the rollups, and the events of the partial hours
        quantity(customer, calls, start=utc(2026, 1, 5, 9, 30), end=utc(2026, 1, 5, 12, 30))
    assert Decimal(0) == quantity(customer, calls, start=utc(2026, 1, 6), end=utc(2026, 1, 7))
