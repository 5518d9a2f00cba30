"""POST /api/v1/usage-events and GET /api/v1/customers/{id}/usage through DRF's client."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from billing_site import clock
from billing_site.actors import Actor
from billing_site.services.api_keys import api_key_create
from subscriptions.api import usage as usage_api
from subscriptions.models.usage import UsageEvent
from subscriptions.tests.usage.helpers import (
    T0,
    D,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    send,
    usage_counts,
    utc,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events"


@pytest.fixture
def frozen(now):
    with clock.frozen_at(now):
        yield now


@pytest.fixture
def write_only_client(db, now):
    _, secret = api_key_create(name="Meter", scopes=["write"], actor=Actor.system("tests"), now=now)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def customer():
    return make_customer(external_id="CRM-42")


@pytest.fixture
def api_calls():
    return make_metric(code="api_calls", name="API calls", aggregation="sum")


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def test_one_event_is_stored_and_answered_with_its_result(api_client, frozen, customer, api_calls):
    body = {
        "customer": customer.pk,
        "metric": "api_calls",
        "value": 2.5,  # a JSON number: read as the exact decimal it says
        "timestamp": "2026-01-15T10:29:59+01:00",
        "idempotency_key": "req-1",
        "properties": {"region": "eu-west", "bytes": 0.1},
    }

    response = post(api_client, body)

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "results": [{"index": 0, "idempotency_key": "req-1", "status": "accepted", "code": None, "message": None}],
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
    }
    stored = UsageEvent.objects.get()
    assert (stored.customer_id, stored.metric_code, stored.value, stored.timestamp) == (
        customer.pk,
        "api_calls",
        D("2.5"),
        utc(2026, 1, 15, 9, 29, 59),
    )
    assert stored.properties == {"region": "eu-west", "bytes": 0.1}
    assert stored.received_at == T0


def test_a_batch_answers_each_event_in_order(api_client, frozen, customer, api_calls):
    events = [
        {"customer": "CRM-42", "metric": "api_calls", "value": "1", "timestamp": "2026-01-15T09:00:00Z",
         "idempotency_key": "a"},
        {"customer_external_id": "CRM-42", "metric": "api_calls", "value": "2", "timestamp": "2026-01-15T09:00:00Z",
         "idempotency_key": "a"},
        {"customer": 404404, "metric": "api_calls", "value": "1", "timestamp": "2026-01-15T09:00:00Z",
         "idempotency_key": "b"},
        {"customer": customer.pk, "metric": "api_calls", "value": "1", "timestamp": "2026-01-15T09:36:00Z",
         "idempotency_key": "c"},
    ]  # fmt: skip

    response = post(api_client, {"events": events})

    assert response.status_code == 200
    body = response.json()
    assert [(r["index"], r["idempotency_key"], r["status"], r["code"]) for r in body["results"]] == [
        (0, "a", "accepted", None),
        (1, "a", "duplicate", None),
        (2, "b", "rejected", "unknown_customer"),
        (3, "c", "rejected", "timestamp_in_future"),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 1, 2)
    assert body["results"][2]["message"] == "There is no customer with id 404404."


def test_replaying_a_batch_through_the_api_stores_each_event_once(api_client, frozen, customer, api_calls):
    batch = {
        "events": [
            {"customer": customer.pk, "metric": "api_calls", "value": str(n), "timestamp": "2026-01-15T08:00:00Z",
             "idempotency_key": f"k{n}"}
            for n in range(1, 11)
        ]
    }  # fmt: skip

    answers = [post(api_client, batch).json() for _ in range(3)]

    assert [(a["accepted"], a["duplicates"], a["rejected"]) for a in answers] == [(10, 0, 0), (0, 10, 0), (0, 10, 0)]
    assert UsageEvent.objects.count() == 10
    assert sorted(UsageEvent.objects.values_list("value", flat=True)) == [D(n) for n in range(1, 11)]


def test_a_batch_of_1001_events_is_refused_whole(api_client, frozen, customer, api_calls):
    event = {"customer": customer.pk, "metric": "api_calls", "value": "1", "timestamp": "2026-01-15T09:00:00Z"}
    before = usage_counts()

    response = post(api_client, {"events": [{**event, "idempotency_key": f"k{n}"} for n in range(1001)]})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_many_events"
    assert "1,001" in error["message"]
    assert usage_counts() == before
    assert (
        post(api_client, {"events": [{**event, "idempotency_key": f"k{n}"} for n in range(1000)]}).json()["accepted"]
        == 1000
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "invalid_batch"),
        ({"events": []}, "empty_batch"),
        ({"events": "all of them"}, "invalid_batch"),
        ({"events": [], "customer": 1}, "invalid_batch"),
        ("just text", "invalid_batch"),
    ],
)
def test_a_body_that_is_no_batch_is_refused(api_client, frozen, body, code):
    response = post(api_client, body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_a_body_that_is_not_json_is_refused(api_client, frozen):
    response = api_client.post(URL, b"{'events': nope", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(api_client, frozen, customer, monkeypatch):
    monkeypatch.setattr(usage_api, "MAX_BODY_BYTES", 100)

    response = post(api_client, {"events": [{"customer": customer.pk, "idempotency_key": "x" * 100}]})

    assert response.status_code == 400
    assert error_of(response)["code"] == "batch_too_large"


def test_sending_usage_needs_the_write_scope(client, read_only_client, write_only_client, frozen, customer, api_calls):
    event = {"customer": customer.pk, "metric": "api_calls", "value": "1", "timestamp": "2026-01-15T09:00:00Z",
             "idempotency_key": "k"}  # fmt: skip

    assert post(client, event).status_code == 401
    forbidden = post(read_only_client, event)
    assert forbidden.status_code == 403
    assert error_of(forbidden)["code"] == "permission_denied"
    assert UsageEvent.objects.count() == 0
    assert post(write_only_client, event).json()["accepted"] == 1


# --- GET /customers/{id}/usage -----------------------------------------------------------------


@pytest.fixture
def billed(customer, api_calls):
    subscription = make_subscription(customer, metered_price(api_calls))
    send(customer, api_calls, ("600", utc(2026, 1, 2)), ("400", utc(2026, 1, 10, 23)), now=utc(2026, 1, 11))
    return subscription


def test_a_customers_usage_this_period_with_amount_and_forecast(read_only_client, customer, billed):
    with clock.frozen_at(utc(2026, 1, 11)):
        response = read_only_client.get(f"/api/v1/customers/{customer.pk}/usage")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "customer": customer.pk,
        "as_of": "2026-01-11T00:00:00Z",
        "metrics": [
            {
                "metric": "api_calls",
                "name": "API calls",
                "aggregation": "sum",
                "subscription": billed.pk,
                "period_start": "2026-01-01T00:00:00Z",
                "period_end": "2026-02-01T00:00:00Z",
                "quantity": "1000",
                "amount": {"amount": "10.00", "currency": "EUR"},
                "rate_windows": None,
                "forecast": {
                    "quantity": "3100",
                    "amount": {"amount": "31.00", "currency": "EUR"},
                    "rate_windows": None,
                },
            }
        ],
    }


def test_a_customers_usage_over_a_chosen_period(api_client, customer, billed):
    with clock.frozen_at(utc(2026, 1, 11)):
        response = api_client.get(
            f"/api/v1/customers/{customer.pk}/usage",
            {"period_start": "2026-01-01T00:00:00Z", "period_end": "2026-01-03T00:00:00+00:00"},
        )

    assert response.status_code == 200
    (usage,) = response.json()["metrics"]
    assert (usage["quantity"], usage["amount"], usage["forecast"]["quantity"]) == (
        "600",
        {"amount": "6.00", "currency": "EUR"},
        "600",
    )
    assert (usage["period_start"], usage["period_end"]) == ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period_start": "2026-01-01T00:00:00Z"}, "period_end"),
        ({"period_end": "2026-01-01T00:00:00Z"}, "period_start"),
        ({"period_start": "2026-01-05T00:00:00Z", "period_end": "2026-01-01T00:00:00Z"}, "period_end"),
        ({"period_start": "last month", "period_end": "2026-01-01T00:00:00Z"}, "period_start"),
    ],
)
def test_a_bad_period_is_refused(api_client, customer, query, field):
    response = api_client.get(f"/api/v1/customers/{customer.pk}/usage", query)

    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_usage_of_an_unknown_customer_is_404_and_needs_the_read_scope(api_client, write_only_client, customer):
    missing = api_client.get("/api/v1/customers/987654/usage")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    assert write_only_client.get(f"/api/v1/customers/{customer.pk}/usage").status_code == 403
    assert api_client.get(f"/api/v1/customers/{customer.pk}/usage/").status_code == 200


def test_the_usage_endpoints_are_documented(client):
    schema = client.get("/api/v1/schema/?format=json").json()

    assert set(schema["paths"]["/api/v1/usage-events"]) == {"post"}
    assert set(schema["paths"]["/api/v1/customers/{id}/usage"]) == {"get"}
    description = schema["paths"]["/api/v1/customers/{id}/usage"]["get"]["description"]
    assert "linear projection" in description
