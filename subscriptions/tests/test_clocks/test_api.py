"""/api/v1/test-clocks: create, retrieve, list, advance, delete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing_site.models import AuditEvent
from catalog.tests.api.helpers import error_of
from subscriptions.models import Customer, Subscription, TestClock
from subscriptions.services import test_clocks as service
from subscriptions.tests.customers.helpers import counts, make_clock, make_customer, subscribe

pytestmark = pytest.mark.django_db

API = "/api/v1/test-clocks"
WALL = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
JAN_31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    from billing_site import clock

    with clock.frozen_at(WALL):
        yield WALL


def test_create_retrieve_and_list(api_client, frozen):
    created = api_client.post(API, {"name": "Upgrade mid-month", "frozen_time": "2026-01-31T12:00:00Z"}, format="json")

    assert created.status_code == 201, created.json()
    clock_id = created.json()["id"]
    body = {
        "id": clock_id,
        "name": "Upgrade mid-month",
        "frozen_time": "2026-01-31T12:00:00Z",
        "status": "ready",
        "customer_count": 0,
        "created_at": "2026-06-01T08:00:00Z",
    }
    assert created.json() == body
    make_customer(test_clock=TestClock.objects.get(pk=clock_id))
    assert api_client.get(f"{API}/{clock_id}").json() == {**body, "customer_count": 1}
    assert api_client.get(API).json()["results"] == [{**body, "customer_count": 1}]
    assert api_client.get(f"{API}?status=advancing").json()["results"] == []


def test_a_time_with_an_offset_is_kept_in_utc(api_client, frozen):
    created = api_client.post(API, {"name": "A", "frozen_time": "2026-01-31T13:00:00+01:00"}, format="json")

    assert created.json()["frozen_time"] == "2026-01-31T12:00:00Z"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "", "frozen_time": "2026-01-31T12:00:00Z"}, ["name"]),
        ({"name": "A", "frozen_time": "31/01/2026"}, ["frozen_time"]),
        ({"name": "A"}, ["frozen_time"]),
        ({"name": "A", "frozen_time": "2026-01-31T12:00:00Z", "status": "advancing"}, ["status"]),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(api_client, frozen, body, fields):
    before = counts()

    response = api_client.post(API, body, format="json")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == fields
    assert counts() == before


def test_advance_returns_the_clock_and_what_happened(api_client, frozen):
    clock = make_clock(frozen_time=JAN_31)
    make_customer(test_clock=clock)

    response = api_client.post(f"{API}/{clock.pk}/advance", {"frozen_time": "2026-02-15T00:00:00Z"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "test_clock": {
            "id": clock.pk,
            "name": "Scenario",
            "frozen_time": "2026-02-15T00:00:00Z",
            "status": "ready",
            "customer_count": 1,
            "created_at": "2026-01-15T09:30:00Z",
        },
        "summary": {
            "previous_time": "2026-01-31T12:00:00Z",
            "frozen_time": "2026-02-15T00:00:00Z",
            "customers": 1,
            "results": [],
        },
    }
    advanced = AuditEvent.objects.get(action="test_clock.advanced")
    assert (advanced.actor_kind, advanced.occurred_at) == ("api_key", WALL)


@pytest.mark.skipif(service.process_due_function() is None, reason="needs subscriptions_process_due")
def test_advance_lists_renewals_in_time_order(api_client, frozen):
    """End to end with the lifecycle service: the summary is the list subscriptions_process_due returned."""
    clock = make_clock(frozen_time=JAN_31)
    subscription = subscribe(make_customer(test_clock=clock))

    response = api_client.post(f"{API}/{clock.pk}/advance", {"frozen_time": "2026-04-01T00:00:00Z"}, format="json")

    results = response.json()["summary"]["results"]
    assert [(r["subscription_id"], r["kind"], r["at"]) for r in results] == [
        (subscription.pk, "renewed", "2026-02-28T12:00:00+00:00"),
        (subscription.pk, "renewed", "2026-03-31T12:00:00+00:00"),
    ]
    assert results[1]["period"] == {
        "subscription_id": subscription.pk,
        "period_start": "2026-03-31T12:00:00+00:00",
        "period_end": "2026-04-30T12:00:00+00:00",
        "reason": "renewal",
        "previous_start": "2026-02-28T12:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("target", "code", "field_message"),
    [
        ("2026-01-31T12:00:00Z", "test_clock_time_not_later", "Must be after 2026-01-31 12:00 UTC."),
        ("2025-12-31T00:00:00Z", "test_clock_time_not_later", "Must be after 2026-01-31 12:00 UTC."),
        ("2028-02-01T00:00:00Z", "test_clock_advance_too_far", "At most 2028-01-31 12:00 UTC."),
    ],
)
def test_advance_refuses_backwards_or_too_far_and_changes_nothing(api_client, frozen, target, code, field_message):
    clock = make_clock(frozen_time=JAN_31)
    before = counts()

    response = api_client.post(f"{API}/{clock.pk}/advance", {"frozen_time": target}, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["fields"]) == (code, {"frozen_time": [field_message]})
    assert TestClock.objects.get(pk=clock.pk).frozen_time == JAN_31
    assert counts() == before


@pytest.mark.parametrize("body", [{}, {"frozen_time": "soon"}, {"frozen_time": "2026-03-01T00:00:00Z", "x": 1}])
def test_advance_refuses_bad_input(api_client, frozen, body):
    clock = make_clock(frozen_time=JAN_31)

    response = api_client.post(f"{API}/{clock.pk}/advance", body, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert TestClock.objects.get(pk=clock.pk).frozen_time == JAN_31


def test_delete_removes_the_clock_with_its_test_data_only(api_client, frozen):
    clock = make_clock()
    subscribe(make_customer(test_clock=clock))
    make_customer(test_clock=clock)
    real = make_customer()
    subscribe(real)

    response = api_client.delete(f"{API}/{clock.pk}")

    assert response.status_code == 200
    assert response.json() == {"id": clock.pk, "deleted": True, "customers": 2, "subscriptions": 1, "usage_events": 0}
    assert not TestClock.objects.exists()
    assert list(Customer.objects.values_list("pk", flat=True)) == [real.pk]
    assert list(Subscription.objects.values_list("customer_id", flat=True)) == [real.pk]
    assert api_client.get(f"{API}/{clock.pk}").status_code == 404


def test_unknown_clock_is_a_404(api_client, frozen):
    for response in (
        api_client.get(f"{API}/999999"),
        api_client.delete(f"{API}/999999"),
        api_client.post(f"{API}/999999/advance", {"frozen_time": "2026-03-01T00:00:00Z"}, format="json"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_read_only_key_cannot_advance_or_delete(read_only_client, frozen):
    clock = make_clock(frozen_time=JAN_31)
    before = counts()

    assert read_only_client.get(f"{API}/{clock.pk}").status_code == 200
    assert (
        read_only_client.post(f"{API}/{clock.pk}/advance", {"frozen_time": "2026-03-01T00:00:00Z"}).status_code == 403
    )
    assert read_only_client.delete(f"{API}/{clock.pk}").status_code == 403
    assert counts() == before
    assert TestClock.objects.get(pk=clock.pk).frozen_time == JAN_31


def test_test_clocks_are_in_the_api_schema(client):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert {"get", "post"} <= set(paths["/api/v1/test-clocks"])
    assert {"get", "delete"} <= set(paths["/api/v1/test-clocks/{id}"])
    assert "post" in paths["/api/v1/test-clocks/{id}/advance"]
