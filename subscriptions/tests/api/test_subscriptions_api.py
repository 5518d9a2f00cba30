"""/api/v1/subscriptions: create, list, retrieve."""

from decimal import Decimal

import pytest

from billing_site import clock
from billing_site.models import AuditEvent
from catalog.services.coupons import coupon_create
from catalog.services.plans import plan_version_new_draft
from catalog.tests.factories import make_price
from subscriptions.models import Subscription, SubscriptionItem, TestClock
from subscriptions.tests.factories import (
    ACTOR,
    T0,
    make_customer,
    make_metered_price,
    make_plan_with_prices,
    make_subscription,
    utc,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions"
APR_1 = utc(2026, 4, 1)
D = Decimal


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(APR_1):
        yield APR_1


@pytest.fixture
def team():
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D("19.00"), "nickname": "Base fee"},
        {"unit_amount": D("10.00"), "nickname": "Seat"},
        name="Team",
        code="team",
    )


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def counts() -> tuple[int, int, int]:
    return Subscription.objects.count(), SubscriptionItem.objects.count(), AuditEvent.objects.count()


def test_create_by_plan_code_with_seats_answers_the_whole_subscription(api_client, team):
    customer = make_customer()

    response = api_client.post(URL, {"customer": customer.pk, "plan": "team", "quantity": 5}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    subscription = Subscription.objects.get()
    seat, base = team.prices.get(nickname="Seat"), team.prices.get(nickname="Base fee")
    assert body == {
        "id": subscription.pk,
        "customer": customer.pk,
        "plan": {"id": team.plan.pk, "code": "team", "name": "Team"},
        "plan_version": team.pk,
        "status": "active",
        "currency": "EUR",
        "interval": "month",
        "interval_count": 1,
        "billing_cycle_anchor": "2026-04-01T00:00:00Z",
        "current_period": {"start": "2026-04-01T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
        "trial_start": None,
        "trial_end": None,
        "collection_method": "charge_automatically",
        "days_until_due": None,
        "coupon": None,
        "promotion_code": None,
        "coupon_periods_left": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "cancellation_reason": "",
        "cancellation_comment": "",
        "pause_collection": None,
        "service_pause": None,
        "items": [
            {
                "id": subscription.items.get(price=base).pk,
                "price": base.pk,
                "description": "Base fee",
                "quantity": 5,
                "is_addon": False,
                "usage_type": "licensed",
                "amount_per_period": {"amount": "19.00", "currency": "EUR"},
            },
            {
                "id": subscription.items.get(price=seat).pk,
                "price": seat.pk,
                "description": "5 × Seat",
                "quantity": 5,
                "is_addon": False,
                "usage_type": "licensed",
                "amount_per_period": {"amount": "50.00", "currency": "EUR"},
            },
        ],
        "scheduled_change": None,
        "pending_lines": [],
        "metadata": {},
        "created_at": "2026-04-01T00:00:00Z",
        "updated_at": "2026-04-01T00:00:00Z",
    }
    event = AuditEvent.objects.get(action="subscription.created")
    assert event.actor_kind == "api_key"


def test_create_by_plan_id_or_version_with_items_addons_trial_and_terms(api_client, team):
    seat_extra = make_price(nickname="Storage", unit_amount=D("2.00"))
    support = make_price(nickname="Support", pricing_model="flat", flat_amount=D("30.00"))
    metered = make_metered_price(nickname="API calls")
    customer = make_customer()

    response = api_client.post(
        URL,
        {
            "customer": customer.pk,
            "plan_version": team.pk,
            "items": [{"price": seat_extra.pk, "quantity": 3}, {"price": metered.pk}],
            "addons": [{"price": support.pk}],
            "trial_end": "2026-04-15T00:00:00Z",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "metadata": {"crm_deal": "D-42"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["trial_end"], body["current_period"]["end"]) == (
        "trialing",
        "2026-04-15T00:00:00Z",
        "2026-04-15T00:00:00Z",
    )
    assert [(i["description"], i["is_addon"], i["amount_per_period"]) for i in body["items"]] == [
        ("Base fee", False, {"amount": "19.00", "currency": "EUR"}),
        ("Seat", False, {"amount": "10.00", "currency": "EUR"}),
        ("3 × Storage", False, {"amount": "6.00", "currency": "EUR"}),
        ("API calls", False, None),
        ("Support", True, {"amount": "30.00", "currency": "EUR"}),
    ]
    assert (body["collection_method"], body["days_until_due"], body["metadata"]) == (
        "send_invoice",
        30,
        {"crm_deal": "D-42"},
    )
    by_id = api_client.post(URL, {"customer": customer.pk, "plan": team.plan.pk}, format="json")
    assert by_id.status_code == 201
    assert by_id.json()["plan_version"] == team.pk


def test_create_with_a_coupon_by_code(api_client, team):
    coupon = coupon_create(
        actor=ACTOR,
        now=T0,
        code="launch",
        name="Launch",
        discount_type="percent",
        percent_off=D(20),
        duration="repeating",
        duration_in_periods=3,
    )

    response = api_client.post(URL, {"customer": make_customer().pk, "plan": "team", "coupon": "launch"}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["coupon"], response.json()["coupon_periods_left"]) == (coupon.pk, 3)


def test_a_test_customer_subscribes_in_its_clocks_time(api_client, team):
    test_clock = TestClock.objects.create(name="Scenario", frozen_time=utc(2030, 1, 31), created_at=APR_1)
    customer = make_customer(test_clock=test_clock)

    response = api_client.post(URL, {"customer": customer.pk, "plan": "team"}, format="json")

    assert response.json()["current_period"] == {"start": "2030-01-31T00:00:00Z", "end": "2030-02-28T00:00:00Z"}


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"plan": "team"}, "invalid", ["customer"]),
        ({"customer": 999999, "plan": "team"}, "invalid", ["customer"]),
        ({"customer": "CUSTOMER", "plan": "nope"}, "invalid", ["customer", "plan"]),
        ({"plan": "team", "unit_price": 3}, "invalid", ["unit_price"]),
        ({"plan": "team", "items": [{"price": 1, "qty": 2}]}, "invalid", ["customer", "items.0.qty"]),
        ({"plan": "team", "quantity": 1.5}, "invalid", ["customer", "quantity"]),
    ],
)
def test_malformed_input_names_the_fields_and_saves_nothing(api_client, team, body, code, fields):
    before = counts()

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert sorted(error["fields"]) == fields
    assert counts() == before


def test_plan_or_plan_version_not_both(api_client, team):
    response = api_client.post(
        URL, {"customer": make_customer().pk, "plan": "team", "plan_version": team.pk}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"plan": ["Send either “plan” or “plan_version”, not both."]}
    assert Subscription.objects.count() == 0


def test_business_rules_come_back_with_their_codes_and_save_nothing(api_client, team):
    customer = make_customer()
    draft = plan_version_new_draft(plan=team.plan, actor=ACTOR, now=T0)
    sek = make_price(currency="SEK")
    before = counts()

    cases = [
        ({"plan_version": draft.pk}, "plan_version_draft", ["plan_version"]),
        ({"items": [{"price": sek.pk}]}, "currency_mismatch", []),
        ({"plan": "team", "quantity": 0}, "invalid_quantity", ["quantity"]),
        ({"plan": "team", "trial_end": "2026-03-01T00:00:00Z"}, "trial_end_in_past", ["trial_end"]),
        ({"plan": "team", "collection_method": "send_invoice"}, "days_until_due_required", ["days_until_due"]),
        ({"plan": "team", "promotion_code": "NOPE"}, "promotion_code_not_found", ["promotion_code"]),
        ({}, "no_items", []),
    ]
    for body, code, fields in cases:
        response = api_client.post(URL, {"customer": customer.pk, **body}, format="json")
        assert response.status_code == 400, body
        error = error_of(response)
        assert (error["code"], sorted(error["fields"])) == (code, fields), body

    assert counts() == before


def test_create_needs_the_write_scope(read_only_client, team):
    response = read_only_client.post(URL, {"customer": make_customer().pk, "plan": "team"}, format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert Subscription.objects.count() == 0


def test_list_filters_by_customer_status_and_plan(api_client, read_only_client, team):
    other_plan = make_plan_with_prices({"unit_amount": D("5.00")}, code="mini")
    alice, bob = make_customer(), make_customer()
    a = make_subscription(alice, plan_version=team, now=APR_1)
    b = make_subscription(bob, plan_version=other_plan, now=APR_1)
    Subscription.objects.filter(pk=b.pk).update(status="past_due")

    def ids(query):
        response = read_only_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [a.pk, b.pk]
    assert ids(f"customer={alice.pk}") == [a.pk]
    assert ids("status=past_due") == [b.pk]
    assert ids("plan=team") == [a.pk]
    assert ids(f"plan={other_plan.plan.pk}") == [b.pk]
    assert ids("plan=nope") == []
    bad = read_only_client.get(f"{URL}?status=sleeping")
    assert bad.status_code == 400
    assert list(error_of(bad)["fields"]) == ["status"]


def test_retrieve_and_not_found(read_only_client, team):
    subscription = make_subscription(plan_version=team, now=APR_1)

    found = read_only_client.get(f"{URL}/{subscription.pk}")
    missing = read_only_client.get(f"{URL}/999999")

    assert found.status_code == 200
    assert found.json()["id"] == subscription.pk
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
