"""usage_events_ingest: one exact result per event, every event stored once, nothing else touched."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from catalog.services.products import metric_update
from subscriptions.models.usage import UsageEvent, UsageHourlyRollup
from subscriptions.selectors.usage import usage_events_late
from subscriptions.services import usage as usage_services
from subscriptions.services.usage import MAX_EVENTS_PER_BATCH, register_invoiced_through
from subscriptions.tests.usage.helpers import (
    ACTOR,
    T0,
    D,
    event,
    ingest,
    make_customer,
    make_metric,
    make_subscription,
    make_test_clock,
    metered_price,
    statuses,
    usage_counts,
    utc,
)

pytestmark = pytest.mark.django_db

HOUR_AGO = (T0 - timedelta(hours=1)).isoformat()


@pytest.fixture
def customer():
    return make_customer(external_id="CRM-1")


@pytest.fixture
def api_calls():
    return make_metric(code="api_calls", name="API calls", aggregation="sum")


def test_a_mixed_batch_gets_one_exact_result_per_event_and_only_good_events_are_stored(customer, api_calls):
    other = make_customer(external_id="CRM-2")
    retired = make_metric(code="legacy_calls", aggregation="sum")
    metric_update(metric=retired, actor=ACTOR, now=T0, active=False)
    events = [
        event(customer, api_calls, "k0", value="2.5"),  # 0 accepted
        event(999_999, api_calls, "k1", value="1"),  # 1 unknown customer
        event(customer, "no_such_metric", "k2", value="1"),  # 2 unknown metric
        event(customer, api_calls, "k3", value="abc"),  # 3 not a number
        event(customer, api_calls, "k4", value="-1"),  # 4 negative
        event(customer, api_calls, "k5", value="1.1234567"),  # 5 seven decimals
        {k: v for k, v in event(customer, api_calls, "k6", value="1").items() if k != "timestamp"},  # 6
        event(customer, api_calls, "k7", value="1", timestamp="2026-01-15T08:00:00"),  # 7 no zone
        event(customer, api_calls, "k8", value="1", timestamp=(T0 + timedelta(minutes=5, seconds=1)).isoformat()),
        {k: v for k, v in event(customer, api_calls, "x", value="1").items() if k != "idempotency_key"},  # 9
        event(customer, api_calls, "k10", value="1", properties=["region", "eu"]),  # 10 properties not an object
        event(customer, api_calls, "k0", value="99"),  # 11 same key as 0: the first stands
        {**event(other, api_calls, "k12", value="3"), "customer_external_id": "CRM-2"},  # 12 the CRM id field
        event("CRM-1", api_calls, "k13", value=4),  # 13 a text customer is a CRM id
        event(customer, retired, "k14", value="1"),  # 14 inactive metric
        "not an event",  # 15
        {**event(customer, api_calls, "k16", value="1"), "timestmp": HOUR_AGO},  # 16 a typo
        event(customer, api_calls, "k17", value=True),  # 17
        event(customer, api_calls, "k18", value="1", timestamp=(T0 + timedelta(minutes=5)).isoformat()),  # 18
        event(customer, api_calls, "k19", value="1", timestamp="yesterday"),  # 19
        {**event(customer, api_calls, "k20", value="1"), "customer_external_id": "CRM-1"},  # 20 both ways
    ]
    del events[12]["customer"]

    result = ingest(events)

    assert statuses(result) == [
        (0, "accepted", None),
        (1, "rejected", "unknown_customer"),
        (2, "rejected", "unknown_metric"),
        (3, "rejected", "invalid_value"),
        (4, "rejected", "negative_value"),
        (5, "rejected", "too_many_decimals"),
        (6, "rejected", "timestamp_required"),
        (7, "rejected", "invalid_timestamp"),
        (8, "rejected", "timestamp_in_future"),
        (9, "rejected", "idempotency_key_required"),
        (10, "rejected", "invalid_properties"),
        (11, "duplicate", None),
        (12, "accepted", None),
        (13, "accepted", None),
        (14, "rejected", "metric_inactive"),
        (15, "rejected", "invalid_event"),
        (16, "rejected", "unknown_field"),
        (17, "rejected", "invalid_value"),
        (18, "accepted", None),
        (19, "rejected", "invalid_timestamp"),
        (20, "rejected", "ambiguous_customer"),
    ]
    assert (result.accepted, result.duplicates, result.rejected) == (4, 1, 16)
    assert [r.idempotency_key for r in result.results[:3]] == ["k0", "k1", "k2"]
    assert result.results[9].idempotency_key is None and result.results[15].idempotency_key is None
    assert all(r.message for r in result.results if r.status == "rejected")
    assert all(r.message is None for r in result.results if r.status != "rejected")
    assert "timestmp" in result.results[16].message
    stored = UsageEvent.objects.order_by("idempotency_key")
    assert list(stored.values_list("customer_id", "metric_code", "value", "idempotency_key", "timestamp")) == [
        (customer.pk, "api_calls", D("2.5"), "k0", T0 - timedelta(hours=1)),
        (other.pk, "api_calls", D("3"), "k12", T0 - timedelta(hours=1)),
        (customer.pk, "api_calls", D("4"), "k13", T0 - timedelta(hours=1)),
        (customer.pk, "api_calls", D("1"), "k18", T0 + timedelta(minutes=5)),
    ]
    assert set(stored.values_list("received_at", flat=True)) == {T0}
    assert set(stored.values_list("late", flat=True)) == {False}


def test_replaying_the_same_batch_three_times_stores_each_event_once(customer, api_calls):
    other = make_customer()
    events = [
        event(
            customer if n % 2 else other,
            api_calls,
            f"key-{n}",
            value=f"{n}.25",
            timestamp=utc(2026, 1, 14, n % 24).isoformat(),
        )
        for n in range(40)
    ] + [event(customer, api_calls, "bad", value="-5"), event(12345678, api_calls, "nobody", value="1")]

    first, second, third = ingest(events), ingest(events), ingest(events)

    assert (first.accepted, first.duplicates, first.rejected) == (40, 0, 2)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 40, 2)
    assert (third.accepted, third.duplicates, third.rejected) == (0, 40, 2)
    assert [r.status for r in third.results[:40]] == ["duplicate"] * 40
    assert UsageEvent.objects.count() == 40
    total = sum(D(f"{n}.25") for n in range(40))  # 790.00
    assert UsageEvent.objects.aggregate(s=Sum("value"))["s"] == total == D("790.00")
    rollups = UsageHourlyRollup.objects.aggregate(s=Sum("value_sum"), n=Sum("event_count"))
    assert (rollups["s"], rollups["n"]) == (total, 40)


def test_a_key_repeated_in_one_batch_is_a_duplicate_and_the_first_event_stands(customer, api_calls):
    result = ingest([event(customer, api_calls, "same", value="1"), event(customer, api_calls, "same", value="7")])

    assert statuses(result) == [(0, "accepted", None), (1, "duplicate", None)]
    assert list(UsageEvent.objects.values_list("value", flat=True)) == [D("1")]


def test_a_key_sent_again_later_is_a_duplicate_and_changes_nothing(customer, api_calls):
    ingest([event(customer, api_calls, "once", value="1")])
    before = usage_counts()

    again = ingest([event(customer, api_calls, "once", value="500", timestamp=utc(2026, 1, 2).isoformat())])

    assert statuses(again) == [(0, "duplicate", None)]
    assert usage_counts() == before
    assert list(UsageEvent.objects.values_list("value", "timestamp")) == [(D("1"), T0 - timedelta(hours=1))]
    assert UsageHourlyRollup.objects.get().value_sum == D("1")


def test_the_same_key_for_two_customers_is_two_events(customer, api_calls):
    other = make_customer()

    result = ingest([event(customer, api_calls, "shared", value="1"), event(other, api_calls, "shared", value="2")])

    assert (result.accepted, result.duplicates) == (2, 0)


def test_a_rejected_event_does_not_reserve_its_key(customer, api_calls):
    result = ingest([event(customer, api_calls, "k", value="-1"), event(customer, api_calls, "k", value="1")])

    assert statuses(result) == [(0, "rejected", "negative_value"), (1, "accepted", None)]


def test_values_numbers_and_decimal_strings(customer, api_calls):
    result = ingest(
        [
            event(customer, api_calls, "a", value=Decimal("2.50")),  # a JSON number, as the API parses it
            event(customer, api_calls, "b", value=" 0.000001 "),
            event(customer, api_calls, "c", value="1.50000000"),  # trailing zeros are not decimals that matter
            event(customer, api_calls, "d", value=Decimal("1E+3")),
            event(customer, api_calls, "e", value="1e3"),  # exponents only as JSON numbers
            event(customer, api_calls, "f", value="1" + "0" * 18),
            event(customer, api_calls, "g", value=Decimal("NaN")),
            event(customer, api_calls, "h", value=[1]),
            event(customer, api_calls, "i", value=0),
            event(customer, api_calls, "j"),  # a sum needs a value
        ]
    )

    assert statuses(result) == [
        (0, "accepted", None),
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "accepted", None),
        (4, "rejected", "invalid_value"),
        (5, "rejected", "value_too_large"),
        (6, "rejected", "invalid_value"),
        (7, "rejected", "invalid_value"),
        (8, "accepted", None),
        (9, "rejected", "value_required"),
    ]
    values = dict(UsageEvent.objects.values_list("idempotency_key", "value"))
    assert values == {"a": D("2.5"), "b": D("0.000001"), "c": D("1.5"), "d": D("1000"), "i": D("0")}


def test_count_metrics_default_the_value_to_one_and_property_metrics_read_the_property(customer):
    requests = make_metric(code="requests", aggregation="count")
    storage = make_metric(code="storage", aggregation="max", property="gb")
    users = make_metric(code="users", aggregation="unique_count", property="user_id")

    result = ingest(
        [
            event(customer, requests, "r1"),
            event(customer, storage, "s1", properties={"gb": "12.5"}),
            event(customer, storage, "s2", properties={"gb": Decimal("3")}),
            event(customer, storage, "s3", properties={"region": "eu"}),
            event(customer, storage, "s4", properties={"gb": "lots"}),
            event(customer, storage, "s5", properties={"gb": "-2"}),
            event(customer, users, "u1", properties={"user_id": "ann"}),
            event(customer, users, "u2", properties={"user_id": {"id": 1}}),
            event(customer, users, "u3", properties={}),
        ]
    )

    assert statuses(result) == [
        (0, "accepted", None),
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "missing_property"),
        (4, "rejected", "invalid_property_value"),
        (5, "rejected", "negative_value"),
        (6, "accepted", None),
        (7, "rejected", "invalid_property_value"),
        (8, "rejected", "missing_property"),
    ]
    assert UsageEvent.objects.get(idempotency_key="r1").value == D("1")
    assert UsageEvent.objects.get(idempotency_key="s1").properties == {"gb": "12.5"}
    assert UsageEvent.objects.get(idempotency_key="s2").properties == {"gb": 3.0}


def test_texts_no_database_can_store_are_refused_not_a_server_error(customer, api_calls):
    result = ingest(
        [
            event(customer, api_calls, "nul\x00key", value="1"),
            event(customer, api_calls, "p1", value="1", properties={"note": "a\x00b"}),
            event(customer, api_calls, "p2", value="1", properties={"note": "\ud800"}),
            event(customer, api_calls, "p3", value="1", properties={"bad\x00key": 1}),
            event(customer, api_calls, "p4", value="1", properties={"text": "\\u0000 is fine as text", "é": "ü"}),
            {**event(customer, api_calls, "p5", value="1"), "customer": "CRM\x00"},
            event(customer, api_calls, "k" * 201, value="1"),
            event(customer, "metric\x00", "p6", value="1"),
        ]
    )

    assert statuses(result) == [
        (0, "rejected", "invalid_idempotency_key"),
        (1, "rejected", "invalid_properties"),
        (2, "rejected", "invalid_properties"),
        (3, "rejected", "invalid_properties"),
        (4, "accepted", None),
        (5, "rejected", "unknown_customer"),
        (6, "rejected", "invalid_idempotency_key"),
        (7, "rejected", "unknown_metric"),
    ]
    assert UsageEvent.objects.get().properties == {"text": "\\u0000 is fine as text", "é": "ü"}


def test_the_future_is_judged_by_the_customers_test_clock(api_calls):
    ahead = make_customer(test_clock=make_test_clock(utc(2026, 3, 1)))
    behind = make_customer(test_clock=make_test_clock(utc(2026, 1, 1)))

    result = ingest(
        [
            event(ahead, api_calls, "a1", value="1", timestamp="2026-03-01T00:05:00Z"),
            event(ahead, api_calls, "a2", value="1", timestamp="2026-03-01T00:05:01+00:00"),
            event(behind, api_calls, "b1", value="1", timestamp="2026-01-01T01:04:59+01:00"),
            event(behind, api_calls, "b2", value="1", timestamp=HOUR_AGO),  # now for us, the future for it
        ]
    )

    assert statuses(result) == [
        (0, "accepted", None),
        (1, "rejected", "timestamp_in_future"),
        (2, "accepted", None),
        (3, "rejected", "timestamp_in_future"),
    ]
    received = dict(UsageEvent.objects.values_list("idempotency_key", "received_at"))
    assert received == {"a1": utc(2026, 3, 1), "b1": utc(2026, 1, 1)}


def test_events_are_attributed_to_the_subscription_that_billed_their_metric_at_that_moment(customer, api_calls):
    storage = make_metric(code="storage", aggregation="max")
    old = make_subscription(customer, metered_price(api_calls), status="canceled", created_at=utc(2025, 6, 1))
    old.ended_at = utc(2026, 1, 10)
    old.save()
    current = make_subscription(customer, metered_price(api_calls), created_at=utc(2026, 1, 10))

    ingest(
        [
            event(customer, api_calls, "before-switch", value="1", timestamp="2026-01-09T23:59:59Z"),
            event(customer, api_calls, "at-switch", value="1", timestamp="2026-01-10T00:00:00Z"),
            event(customer, storage, "unbilled", value="1"),
            event(customer, api_calls, "before-any", value="1", timestamp="2025-05-31T12:00:00Z"),
        ]
    )

    assert dict(UsageEvent.objects.values_list("idempotency_key", "subscription_id")) == {
        "before-switch": old.pk,
        "at-switch": current.pk,
        "unbilled": None,
        "before-any": None,
    }
    current.status = "canceled"
    current.ended_at = utc(2026, 1, 13)
    current.save()
    ingest([event(customer, api_calls, "after-all", value="1", timestamp="2026-01-14T13:00:00Z")])
    assert UsageEvent.objects.get(idempotency_key="after-all").subscription_id is None


def test_usage_of_an_invoiced_period_is_flagged_late_and_found_for_the_next_invoice(customer, api_calls, monkeypatch):
    subscription = make_subscription(customer, metered_price(api_calls))
    monkeypatch.setattr(usage_services, "_invoiced_through", [])
    register_invoiced_through(lambda ids: {subscription.pk: utc(2026, 1, 10)} if subscription.pk in ids else {})

    ingest(
        [
            event(customer, api_calls, "old", value="1", timestamp="2026-01-09T23:59:59Z"),
            event(customer, api_calls, "new", value="1", timestamp="2026-01-10T00:00:00Z"),
        ]
    )

    assert dict(UsageEvent.objects.values_list("idempotency_key", "late")) == {"old": True, "new": False}
    assert [e.idempotency_key for e in usage_events_late(subscription=subscription)] == ["old"]
    assert list(usage_events_late(subscription=subscription, received_after=T0)) == []


def test_alert_checks_are_enqueued_after_commit_once_per_customer_with_alerts(
    customer, api_calls, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q import tasks

    from subscriptions.services.usage import usage_alert_create

    quiet = make_customer()
    usage_alert_create(actor=ACTOR, now=T0, customer=customer, metric_code="api_calls", threshold=D(10))
    enqueued = []
    monkeypatch.setattr(tasks, "async_task", lambda name, *args, **kwargs: enqueued.append((name, args)))

    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            [event(customer, api_calls, f"c{n}", value="1") for n in range(3)]
            + [event(quiet, api_calls, "q", value="1")]
        )
        assert enqueued == []
    with django_capture_on_commit_callbacks(execute=True):
        ingest([event(customer, api_calls, "c0", value="1")])  # nothing new: nothing to check

    assert enqueued == [("subscriptions.tasks.check_usage_alerts_task", (customer.pk,))]


def test_a_batch_longer_than_the_limit_is_refused_whole(customer, api_calls):
    from billing_site.errors import DomainError

    with pytest.raises(DomainError) as error:
        ingest([event(customer, api_calls, f"k{n}", value="1") for n in range(MAX_EVENTS_PER_BATCH + 1)])

    assert error.value.code == "too_many_events"
    assert UsageEvent.objects.count() == 0
