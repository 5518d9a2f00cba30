"""Subscribing by plan picks the plan's prices in the customer's currency and one billing cycle."""

from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from subscriptions.models import Subscription
from subscriptions.tests.factories import make_customer, make_plan_with_prices, make_subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """Team v1: EUR monthly 12.00, EUR yearly 120.00, SEK monthly 135.00 per seat."""
    return make_plan_with_prices(
        {"unit_amount": Decimal("12.00")},
        {"unit_amount": Decimal("120.00"), "interval": "year"},
        {"unit_amount": Decimal("135.00"), "currency": "SEK"},
    )


def _items(subscription):
    return [(i.price.currency, i.price.interval, i.price.unit_amount, i.quantity) for i in subscription.items.all()]


def test_the_customers_currency_and_the_chosen_interval_pick_the_prices(team):
    swedish = make_customer(country="SE", currency="SEK")

    eur_yearly = make_subscription(plan_version=team, quantity=5, interval="year")
    sek = make_subscription(customer=swedish, plan_version=team, quantity=3)

    assert _items(eur_yearly) == [("EUR", "year", Decimal("120.00"), 5)]
    assert (eur_yearly.interval, eur_yearly.currency) == ("year", "EUR")
    assert _items(sek) == [("SEK", "month", Decimal("135.00"), 3)]


@pytest.mark.parametrize(
    ("customer_fields", "kwargs", "code"),
    [
        ({}, {}, "plan_interval_required"),
        ({}, {"interval": "week"}, "plan_interval_not_offered"),
        ({"country": "US", "currency": "USD"}, {"interval": "month"}, "plan_not_in_currency"),
    ],
)
def test_an_ambiguous_or_missing_choice_is_refused(team, customer_fields, kwargs, code):
    customer = make_customer(**customer_fields)

    with pytest.raises(DomainError) as error:
        make_subscription(customer=customer, plan_version=team, **kwargs)

    assert error.value.code == code
    assert not Subscription.objects.exists()
