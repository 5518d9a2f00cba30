"""customer_usage_summary: quantity, amount so far and forecast per metric, for the portal, the admin and the API."""

from __future__ import annotations

import pytest

from catalog.tests.factories import STRIPE_GRADUATED_TIERS
from subscriptions.selectors.usage import calendar_month, customer_usage_summary
from subscriptions.tests.usage.helpers import (
    PERIOD_END,
    PERIOD_START,
    D,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    send,
    utc,
)

pytestmark = pytest.mark.django_db

#: Ten of the period's 31 days have passed.
NOW = utc(2026, 1, 11)


@pytest.fixture
def customer():
    return make_customer()


@pytest.fixture
def metered(customer):
    """API calls (sum, 0.01 each), peak storage (max, 0.02 per GB) and seats (sum, Stripe's graduated tiers)."""
    api_calls = make_metric(code="api_calls", name="API calls", aggregation="sum")
    storage = make_metric(code="storage", name="Peak storage", aggregation="max")
    seats = make_metric(code="seats", name="Seats", aggregation="sum")
    subscription = make_subscription(
        customer,
        metered_price(api_calls),
        metered_price(storage, unit_amount=D("0.02")),
        metered_price(seats, pricing_model="graduated", unit_amount=None, tiers=STRIPE_GRADUATED_TIERS),
    )
    send(customer, api_calls, ("600", utc(2026, 1, 2)), ("400", utc(2026, 1, 10, 23, 59, 59)), now=NOW)
    send(customer, api_calls, ("5000", utc(2025, 12, 31, 23, 59, 59)), now=NOW)  # the previous period
    send(customer, storage, ("12.5", utc(2026, 1, 3)), ("3", utc(2026, 1, 9)), now=NOW)
    send(customer, seats, ("5", utc(2026, 1, 4)), ("3", utc(2026, 1, 5)), now=NOW)
    return subscription


def by_code(summary):
    return {usage.metric.code: usage for usage in summary.metrics}


def test_quantity_amount_and_linear_forecast_per_billed_metric(customer, metered):
    summary = customer_usage_summary(customer=customer, now=NOW)

    usage = by_code(summary)
    assert list(usage) == ["api_calls", "storage", "seats"]
    assert {code: u.quantity for code, u in usage.items()} == {
        "api_calls": D(1000),
        "storage": D("12.5"),
        "seats": D(8),
    }
    assert {code: u.amount.total for code, u in usage.items()} == {
        "api_calls": D("10.00"),
        "storage": D("0.25"),
        "seats": D("54.50"),  # 5 × 7.00 + 3 × 6.50
    }
    # 10 of 31 days: sums are projected × 3.1; a maximum stays as it is.
    assert {code: u.forecast_quantity for code, u in usage.items()} == {
        "api_calls": D(3100),
        "storage": D("12.5"),
        "seats": D("24.8"),
    }
    assert {code: u.forecast_amount.total for code, u in usage.items()} == {
        "api_calls": D("31.00"),
        "storage": D("0.25"),
        "seats": D("156.30"),  # priced, not projected: 5 × 7.00 + 5 × 6.50 + 14.8 × 6.00
    }
    assert {(u.subscription_id, u.period_start, u.period_end) for u in usage.values()} == {
        (metered.pk, PERIOD_START, PERIOD_END)
    }
    assert summary.as_of == NOW


def test_metrics_used_but_billed_by_no_subscription_are_listed_without_an_amount(customer, metered):
    logins = make_metric(code="logins", name="Logins", aggregation="count")
    send(customer, logins, ("1", utc(2026, 1, 2)), ("1", utc(2026, 1, 3)), ("1", utc(2026, 1, 4)), now=NOW)

    usage = by_code(customer_usage_summary(customer=customer, now=NOW))["logins"]

    assert (usage.quantity, usage.amount, usage.forecast_amount) == (D(3), None, None)
    assert usage.forecast_quantity == D("9.3")
    assert (usage.subscription_id, usage.period_start, usage.period_end) == (None, PERIOD_START, PERIOD_END)


def test_an_explicit_period_applies_to_every_metric(customer, metered):
    summary = customer_usage_summary(customer=customer, now=NOW, period=(utc(2025, 12, 1), utc(2026, 1, 3)))

    usage = by_code(summary)
    assert {code: u.quantity for code, u in usage.items()} == {"api_calls": D(600), "storage": D(0), "seats": D(0)}
    # Usage before the subscription existed was never attributed to it.
    assert {code: u.forecast_quantity for code, u in usage.items()} == {
        "api_calls": D(600),  # the period is over: nothing to project
        "storage": D(0),
        "seats": D(0),
    }


def test_without_a_subscription_the_period_is_the_calendar_month(customer):
    logins = make_metric(code="logins", aggregation="count")
    send(customer, logins, ("1", utc(2026, 2, 27)), ("1", utc(2026, 3, 1)), now=utc(2026, 3, 2))

    (usage,) = customer_usage_summary(customer=customer, now=utc(2026, 2, 28, 12)).metrics

    assert (
        (usage.period_start, usage.period_end)
        == (utc(2026, 2, 1), utc(2026, 3, 1))
        == calendar_month(NOW.replace(month=2))
    )
    assert usage.quantity == D(1)
    assert calendar_month(utc(2026, 12, 31, 23, 59)) == (utc(2026, 12, 1), utc(2027, 1, 1))


def test_ended_subscriptions_are_left_out(customer, metered):
    metered.status = "canceled"
    metered.save()

    summary = customer_usage_summary(customer=customer, now=NOW)

    assert all(u.subscription_id is None and u.amount is None for u in summary.metrics)
    assert (summary.metrics[0].period_start, summary.metrics[0].period_end) == (utc(2026, 1, 1), utc(2026, 2, 1))


def test_the_summary_reads_a_fixed_number_of_queries(customer, metered, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        customer_usage_summary(customer=customer, now=NOW)
