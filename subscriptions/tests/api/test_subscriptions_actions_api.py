"""/api/v1/subscriptions/{id}/…: change, preview-change, pause, resume, cancel, reactivate, scheduled change."""

from decimal import Decimal

import pytest

from billing_site import clock
from subscriptions.models import Subscription
from subscriptions.tests.factories import (
    make_plan_with_prices,
    make_subscription,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions"
APR_1, APR_16 = utc(2026, 4, 1), utc(2026, 4, 16)
D = Decimal


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(APR_16):
        yield APR_16


def flat(amount: str, name: str):
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D(amount), "nickname": name}, name=name, code=name.lower()
    )


@pytest.fixture
def starter():
    return flat("29.00", "Starter")


@pytest.fixture
def pro():
    return flat("49.00", "Pro")


@pytest.fixture
def subscription(starter):
    return make_subscription(plan_version=starter, now=APR_1)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def post(client, subscription, action, body=None):
    return client.post(f"{URL}/{subscription.pk}/{action}", body or {}, format="json")


def refused(client, subscription, action, body, code, status=400):
    before = subscription_state(subscription)
    response = post(client, subscription, action, body)
    assert response.status_code == status, response.json()
    error = error_of(response)
    assert error["code"] == code, error
    assert subscription_state(subscription) == before
    return error


LINES = [
    {
        "description": "Unused time on Starter after 16 Apr 2026",
        "kind": "credit",
        "quantity": "1",
        "unit_amount": "-14.50",
        "amount": {"amount": "-14.50", "currency": "EUR"},
        "period": {"start": "2026-04-16T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
    },
    {
        "description": "Remaining time on Pro from 16 Apr 2026",
        "kind": "charge",
        "quantity": "1",
        "unit_amount": "24.50",
        "amount": {"amount": "24.50", "currency": "EUR"},
        "period": {"start": "2026-04-16T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
    },
]


def test_preview_needs_only_read_and_saves_nothing(read_only_client, subscription, starter, pro):
    before = subscription_state(subscription)

    response = post(read_only_client, subscription, "preview-change", {"plan": "pro"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [{k: v for k, v in line.items() if k != "price"} for line in body["lines"]] == LINES
    assert [line["price"] for line in body["lines"]] == [starter.prices.get().pk, pro.prices.get().pk]
    assert (body["total"], body["pending_line_kind"], body["description"], body["effective_at"]) == (
        {"amount": "10.00", "currency": "EUR"},
        "proration",
        "Switch to Pro v1",
        "2026-04-16T00:00:00Z",
    )
    assert [(i["description"], i["amount_per_period"]["amount"]) for i in body["items"]] == [("Pro", "49.00")]
    assert subscription_state(subscription) == before


def test_change_writes_what_the_preview_showed(api_client, subscription, pro):
    preview = post(api_client, subscription, "preview-change", {"plan": "pro"}).json()

    response = post(api_client, subscription, "change", {"plan": "pro"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["plan"]["code"] == "pro"
    assert [(line["description"], line["amount"], line["kind"]) for line in body["pending_lines"]] == [
        (line["description"], line["amount"], "proration") for line in preview["lines"]
    ]


def test_change_needs_write(read_only_client, subscription, pro):
    response = post(read_only_client, subscription, "change", {"plan": "pro"})

    assert response.status_code == 403


def test_change_at_period_end_shows_the_scheduled_change_and_it_can_be_cancelled(api_client, subscription, pro):
    response = post(api_client, subscription, "change", {"plan_version": pro.pk, "when": "period_end"})

    assert response.status_code == 200, response.json()
    scheduled = response.json()["scheduled_change"]
    assert {k: scheduled[k] for k in ("effective_at", "description", "change")} == {
        "effective_at": "2026-05-01T00:00:00Z",
        "description": "Switch to Pro v1",
        "change": {"plan_version": pro.pk, "quantity": None, "items": None, "addons": None},
    }
    assert response.json()["pending_lines"] == []

    refused(api_client, subscription, "change", {"quantity": 2, "when": "period_end"}, "change_already_scheduled")
    cancelled = post(api_client, subscription, "scheduled-change/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["scheduled_change"] is None
    refused(api_client, subscription, "scheduled-change/cancel", {}, "no_scheduled_change")


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({}, "nothing_to_change", []),
        ({"plan": "starter"}, "nothing_to_change", []),
        ({"proration": "sometimes", "quantity": 2}, "invalid", ["proration"]),
        ({"when": "tomorrow", "quantity": 2}, "invalid", ["when"]),
        ({"quantity": 0}, "invalid_quantity", ["quantity"]),
        ({"plan": "nope"}, "invalid", ["plan"]),
        ({"addons": [{"price": 999999}]}, "invalid", ["addons.0.price"]),
    ],
)
def test_bad_changes_change_nothing(api_client, subscription, body, code, fields):
    error = refused(api_client, subscription, "change", body, code)

    assert sorted(error["fields"]) == fields


def test_pause_and_resume_collection(api_client, subscription):
    response = post(
        api_client,
        subscription,
        "pause",
        {"type": "collection", "behavior": "keep_as_draft", "resumes_at": "2026-06-01T00:00:00Z"},
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["pause_collection"]) == (
        "active",
        {"behavior": "keep_as_draft", "resumes_at": "2026-06-01T00:00:00Z"},
    )
    resumed = post(api_client, subscription, "resume")
    assert resumed.status_code == 200
    assert resumed.json()["pause_collection"] is None
    refused(api_client, subscription, "resume", {"type": "collection"}, "collection_not_paused")


def test_pause_and_resume_the_service(api_client, subscription):
    response = post(api_client, subscription, "pause", {"type": "service", "periods": 1})

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["service_pause"]) == (
        "paused",
        {"paused_at": "2026-04-16T00:00:00Z", "resumes_at": "2026-05-16T00:00:00Z"},
    )
    scheduled = post(api_client, subscription, "resume", {"at": "2026-04-20T00:00:00Z"})
    assert scheduled.json()["service_pause"]["resumes_at"] == "2026-04-20T00:00:00Z"

    with clock.frozen_at(utc(2026, 4, 18)):
        resumed = post(api_client, subscription, "resume")

    assert resumed.status_code == 200
    assert (resumed.json()["status"], resumed.json()["current_period"]) == (
        "active",
        {"start": "2026-04-01T00:00:00Z", "end": "2026-05-03T00:00:00Z"},
    )


def test_resuming_an_active_subscription_is_refused_and_changes_nothing(api_client, subscription):
    error = refused(api_client, subscription, "resume", {}, "invalid_transition")

    assert error["message"] == "This subscription is already active: there is nothing to resume."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "collection"}, ["behavior"]),
        ({"type": "collection", "behavior": "void", "periods": 2}, ["periods"]),
        ({"type": "service", "behavior": "void", "periods": 2}, ["behavior"]),
        ({"type": "holiday"}, ["type"]),
        ({}, ["type"]),
    ],
)
def test_pause_input_is_checked(api_client, subscription, body, fields):
    error = refused(api_client, subscription, "pause", body, "invalid")

    assert sorted(error["fields"]) == fields


def test_service_pause_without_length_is_refused(api_client, subscription):
    refused(api_client, subscription, "pause", {"type": "service"}, "pause_length_required")


def test_cancel_at_period_end_and_reactivate(api_client, subscription):
    response = post(
        api_client,
        subscription,
        "cancel",
        {"at_period_end": True, "reason_code": "missing_features", "reason_text": "Needs SSO"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["cancel_at_period_end"], body["cancellation_reason"], body["canceled_at"]) == (
        "active",
        True,
        "missing_features",
        "2026-04-16T00:00:00Z",
    )
    reactivated = post(api_client, subscription, "reactivate")
    assert reactivated.status_code == 200
    assert reactivated.json()["cancel_at_period_end"] is False
    refused(api_client, subscription, "reactivate", {}, "not_canceling")


def test_cancel_now_with_credit_puts_the_credit_on_the_final_invoice(api_client, subscription):
    response = post(
        api_client, subscription, "cancel", {"at_period_end": False, "prorate_credit": True, "reason_code": "unused"}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["ended_at"]) == ("canceled", "2026-04-16T00:00:00Z")
    assert body["pending_lines"] == []  # taken by the final invoice at once
    final = subscription.invoices.get(kind="subscription_final")
    assert [(line.description, line.amount.amount, line.proration) for line in final.lines.all()] == [
        ("Unused time on Starter after 16 Apr 2026", Decimal("-14.50"), True)
    ]
    refused(api_client, subscription, "change", {"quantity": 2}, "subscription_canceled")
    refused(api_client, subscription, "cancel", {"at_period_end": False, "reason_code": "unused"}, "invalid_transition")


def test_cancel_input_is_checked(api_client, subscription):
    error = refused(api_client, subscription, "cancel", {"reason_code": "because"}, "invalid")

    assert sorted(error["fields"]) == ["at_period_end", "reason_code"]


def test_end_trial(api_client, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"
    subscription = make_subscription(plan_version=flat("29.00", "Trial"), trial_end=utc(2026, 4, 20), now=APR_1)

    response = post(api_client, subscription, "end-trial")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["current_period"]) == (
        "active",
        {"start": "2026-04-16T00:00:00Z", "end": "2026-05-16T00:00:00Z"},
    )
    refused(api_client, subscription, "end-trial", {}, "not_trialing")


def test_actions_on_an_unknown_subscription_are_not_found(api_client):
    response = api_client.post(f"{URL}/999999/cancel", {"at_period_end": True, "reason_code": "other"}, format="json")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert Subscription.objects.count() == 0
