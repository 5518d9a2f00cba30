"""Test clocks: create, advance (forward only, at most two years, all or nothing), delete with their test data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import Customer, Subscription, SubscriptionItem, TestClock, UsageAlert, UsageEvent
from subscriptions.models.usage import UsageHourlyRollup
from subscriptions.services import test_clocks as service
from subscriptions.services.test_clocks import (
    test_clock_advance,
    test_clock_check_advance,
    test_clock_create,
    test_clock_delete,
    test_clock_update,
)
from subscriptions.tests.customers.helpers import ACTOR, T0, counts, make_clock, make_customer, subscribe
from subscriptions.tests.test_clocks.helpers import add_usage

pytestmark = pytest.mark.django_db

JAN_31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
WALL = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # the real time the staff member acts at


def clock_state(clock: TestClock) -> tuple:
    fresh = TestClock.objects.get(pk=clock.pk)
    return fresh.name, fresh.frozen_time, fresh.status


def refused(code: str, call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


def has_lifecycle() -> bool:
    return service.process_due_function() is not None


needs_lifecycle = pytest.mark.skipif(
    not has_lifecycle(), reason="needs subscriptions.services.subscriptions.subscriptions_process_due"
)


# --- create and rename ------------------------------------------------------------------------------


def test_create_stores_the_clock_ready_at_its_time_and_audits_it():
    clock = test_clock_create(name=" Upgrade mid-month ", frozen_time=JAN_31, actor=ACTOR, now=WALL)

    assert clock_state(clock) == ("Upgrade mid-month", JAN_31, "ready")
    assert TestClock.objects.get(pk=clock.pk).created_at == WALL
    event = AuditEvent.objects.get(object_type="subscriptions.testclock", object_id=str(clock.pk))
    assert (event.action, event.occurred_at, event.after["frozen_time"]) == (
        "test_clock.created",
        WALL,
        JAN_31.isoformat(),
    )


def test_create_keeps_times_in_utc():
    from zoneinfo import ZoneInfo

    local = datetime(2026, 1, 31, 13, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))

    clock = test_clock_create(name="Amsterdam", frozen_time=local, actor=ACTOR, now=WALL)

    assert TestClock.objects.get(pk=clock.pk).frozen_time == JAN_31
    assert clock.frozen_time.tzinfo == UTC


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "  "}, "name_required"),
        ({"frozen_time": datetime(2026, 1, 31)}, "naive_datetime"),  # noqa: DTZ001 - the point of the test
        ({"frozen_time": "2026-01-31"}, "invalid_time"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(fields, code):
    before = counts()

    refused(code, lambda: test_clock_create(actor=ACTOR, now=WALL, **{"name": "A", "frozen_time": JAN_31, **fields}))

    assert counts() == before


def test_a_clock_can_be_renamed_but_its_time_only_moves_by_advancing():
    clock = make_clock(name="Old name")

    test_clock_update(clock=clock, actor=ACTOR, now=WALL, name="New name")
    assert clock_state(clock) == ("New name", T0, "ready")

    refused(
        "test_clock_time_not_editable",
        lambda: test_clock_update(clock=clock, actor=ACTOR, now=WALL, frozen_time=T0 + timedelta(days=1)),
    )
    assert clock_state(clock) == ("New name", T0, "ready")


# --- advance ------------------------------------------------------------------------------------------


def test_advance_moves_the_clock_and_records_both_transitions():
    clock = make_clock(frozen_time=JAN_31)
    make_customer(test_clock=clock)
    target = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)

    advance = test_clock_advance(clock=clock, to=target, actor=ACTOR, now=WALL)

    assert clock_state(clock) == ("Scenario", target, "ready")
    assert (advance.previous_time, advance.frozen_time, advance.customers, advance.results) == (JAN_31, target, 1, [])
    advancing, advanced = AuditEvent.objects.filter(
        object_type="subscriptions.testclock", object_id=str(clock.pk), action__startswith="test_clock.advanc"
    ).order_by("id")
    assert (advancing.action, advancing.before, advancing.after) == (
        "test_clock.advancing",
        {"status": "ready", "frozen_time": JAN_31.isoformat()},
        {"status": "advancing", "frozen_time": JAN_31.isoformat(), "target_time": target.isoformat()},
    )
    assert (advanced.action, advanced.occurred_at, advanced.before, advanced.after) == (
        "test_clock.advanced",
        WALL,
        {"status": "advancing", "frozen_time": JAN_31.isoformat()},
        {"status": "ready", "frozen_time": target.isoformat(), "customers": 1, "result_count": 0, "results": []},
    )


def test_the_customers_of_an_advanced_clock_live_in_its_new_time():
    from billing_site import clock as wall_clock

    clock = make_clock(frozen_time=JAN_31)
    customer = make_customer(test_clock=clock)

    test_clock_advance(clock=clock, to=JAN_31 + timedelta(days=10), actor=ACTOR, now=WALL)

    assert wall_clock.now(Customer.objects.get(pk=customer.pk)) == JAN_31 + timedelta(days=10)


@pytest.mark.parametrize(
    ("to", "code", "message"),
    [
        (
            JAN_31,
            "test_clock_time_not_later",
            "The test clock “Scenario” is at 2026-01-31 12:00 UTC; choose a later time. "
            "A test clock only moves forward.",
        ),
        (
            JAN_31 - timedelta(seconds=1),
            "test_clock_time_not_later",
            "The test clock “Scenario” is at 2026-01-31 12:00 UTC; choose a later time. "
            "A test clock only moves forward.",
        ),
        (
            datetime(2028, 1, 31, 12, 0, 1, tzinfo=UTC),
            "test_clock_advance_too_far",
            "A test clock moves at most 2 years at a time: advance “Scenario” to 2028-01-31 12:00 UTC at the "
            "latest, then advance it again.",
        ),
        (
            datetime(2026, 3, 1),  # noqa: DTZ001 - the point of the test
            "naive_datetime",
            "A time must carry its time zone (for example 2026-01-31T00:00:00Z).",
        ),
    ],
)
def test_advance_refuses_backwards_too_far_or_naive_and_changes_nothing(to, code, message):
    clock = make_clock(frozen_time=JAN_31)
    make_customer(test_clock=clock)
    before = counts()

    error = refused(code, lambda: test_clock_advance(clock=clock, to=to, actor=ACTOR, now=WALL))

    assert error.message == message
    assert list(error.fields) == ["frozen_time"]
    assert clock_state(clock) == ("Scenario", JAN_31, "ready")
    assert counts() == before


def test_advance_may_go_exactly_two_years():
    clock = make_clock(frozen_time=JAN_31)

    test_clock_advance(clock=clock, to=datetime(2028, 1, 31, 12, 0, tzinfo=UTC), actor=ACTOR, now=WALL)

    assert clock_state(clock)[1] == datetime(2028, 1, 31, 12, 0, tzinfo=UTC)


def test_two_years_from_a_leap_day_ends_on_28_february():
    clock = make_clock(frozen_time=datetime(2028, 2, 29, tzinfo=UTC))

    refused(
        "test_clock_advance_too_far",
        lambda: test_clock_check_advance(clock=clock, to=datetime(2030, 3, 1, tzinfo=UTC)),
    )
    assert test_clock_check_advance(clock=clock, to=datetime(2030, 2, 28, tzinfo=UTC)) == datetime(
        2030, 2, 28, tzinfo=UTC
    )


def test_a_second_advance_starts_where_the_first_ended():
    clock = make_clock(frozen_time=JAN_31)
    stale = TestClock.objects.get(pk=clock.pk)  # e.g. a page opened before the first advance
    test_clock_advance(clock=clock, to=JAN_31 + timedelta(days=20), actor=ACTOR, now=WALL)

    refused(
        "test_clock_time_not_later",
        lambda: test_clock_advance(clock=stale, to=JAN_31 + timedelta(days=10), actor=ACTOR, now=WALL),
    )
    assert clock_state(clock)[1] == JAN_31 + timedelta(days=20)


def test_a_clock_stuck_advancing_refuses_to_advance():
    clock = make_clock(frozen_time=JAN_31)
    TestClock.objects.filter(pk=clock.pk).update(status="advancing")

    refused(
        "test_clock_advancing",
        lambda: test_clock_advance(clock=clock, to=JAN_31 + timedelta(days=1), actor=ACTOR, now=WALL),
    )


def test_advance_is_all_or_nothing(monkeypatch):
    clock = make_clock(frozen_time=JAN_31)
    make_customer(test_clock=clock)
    before = counts()

    def failing(**kwargs):
        make_customer()  # something written on the way…
        raise RuntimeError("renewal failed")  # …then a failure

    monkeypatch.setattr(service, "process_due_function", lambda: failing)
    with pytest.raises(RuntimeError):
        test_clock_advance(clock=clock, to=JAN_31 + timedelta(days=40), actor=ACTOR, now=WALL)

    assert clock_state(clock) == ("Scenario", JAN_31, "ready")
    assert counts() == before


def test_advance_passes_the_target_time_the_clocks_customers_and_the_actor(monkeypatch):
    clock = make_clock(frozen_time=JAN_31)
    mine = make_customer(test_clock=clock)
    make_customer()  # not on the clock
    calls = []

    def process_due(*, now, customers, actor):
        calls.append((now, sorted(c.pk for c in customers), actor))
        return [{"subscription_id": 7, "kind": "renewed", "at": now}]

    monkeypatch.setattr(service, "process_due_function", lambda: process_due)
    target = JAN_31 + timedelta(days=40)

    advance = test_clock_advance(clock=clock, to=target, actor=ACTOR, now=WALL)

    assert calls == [(target, [mine.pk], ACTOR)]
    assert advance.as_dict()["results"] == [{"subscription_id": 7, "kind": "renewed", "at": target.isoformat()}]


def test_without_the_lifecycle_service_only_clocks_without_subscriptions_move(monkeypatch):
    monkeypatch.setattr(service, "process_due_function", lambda: None)
    empty = make_clock(name="Empty", frozen_time=JAN_31)
    make_customer(test_clock=empty)
    test_clock_advance(clock=empty, to=JAN_31 + timedelta(days=1), actor=ACTOR, now=WALL)
    assert clock_state(empty)[1] == JAN_31 + timedelta(days=1)

    busy = make_clock(name="Busy", frozen_time=JAN_31)
    Subscription.objects.create(
        customer=make_customer(test_clock=busy),
        status="active",
        currency="EUR",
        interval="month",
        billing_cycle_anchor=JAN_31,
        current_period_start=JAN_31,
        current_period_end=JAN_31 + timedelta(days=28),
        created_at=JAN_31,
        updated_at=JAN_31,
    )
    refused(
        "test_clock_processing_unavailable",
        lambda: test_clock_advance(clock=busy, to=JAN_31 + timedelta(days=40), actor=ACTOR, now=WALL),
    )
    assert clock_state(busy)[1] == JAN_31


@needs_lifecycle
def test_end_to_end_advancing_renews_month_by_month_in_time_order():
    """Depends on subscriptions_process_due (the lifecycle issue): renewals Jan 31 → Feb 28 → Mar 31 → Apr 30."""
    clock = make_clock(frozen_time=JAN_31)
    early = subscribe(make_customer(name="Early", test_clock=clock))
    clock_later = TestClock.objects.get(pk=clock.pk)
    test_clock_advance(clock=clock_later, to=datetime(2026, 2, 10, 12, 0, tzinfo=UTC), actor=ACTOR, now=WALL)
    late = subscribe(make_customer(name="Late", test_clock=TestClock.objects.get(pk=clock.pk)))
    outsider = subscribe(make_customer(name="Real customer"), now=JAN_31)

    advance = test_clock_advance(clock=clock, to=datetime(2026, 5, 1, tzinfo=UTC), actor=ACTOR, now=WALL)

    got = [(r["subscription_id"], r["kind"], r["at"]) for r in advance.as_dict()["results"]]
    assert got == [
        (early.pk, "renewed", "2026-02-28T12:00:00+00:00"),
        (late.pk, "renewed", "2026-03-10T12:00:00+00:00"),
        (early.pk, "renewed", "2026-03-31T12:00:00+00:00"),
        (late.pk, "renewed", "2026-04-10T12:00:00+00:00"),
        (early.pk, "renewed", "2026-04-30T12:00:00+00:00"),
    ]
    early.refresh_from_db()
    assert (early.current_period_start, early.current_period_end) == (
        datetime(2026, 4, 30, 12, 0, tzinfo=UTC),
        datetime(2026, 5, 31, 12, 0, tzinfo=UTC),
    )
    outsider.refresh_from_db()
    assert outsider.current_period_start == JAN_31  # not on the clock: untouched
    stored = AuditEvent.objects.filter(action="test_clock.advanced").order_by("-id").first()
    assert stored.after["result_count"] == 5
    assert [r["kind"] for r in stored.after["results"]] == ["renewed"] * 5


# --- delete -------------------------------------------------------------------------------------------


def _customer_with_data(**fields):
    customer = make_customer(**fields)
    subscription = subscribe(customer)
    add_usage(customer, at=T0, subscription=subscription)
    return customer, subscription


@needs_lifecycle
def test_delete_removes_the_clock_its_customers_and_all_their_data_and_nothing_else():
    clock = make_clock()
    (_, a_sub), (_, b_sub) = _customer_with_data(test_clock=clock), _customer_with_data(test_clock=clock)
    make_customer(test_clock=clock)  # a test customer without subscriptions
    other_clock = make_clock(name="Other")
    kept_test, _ = _customer_with_data(test_clock=other_clock)
    real, real_sub = _customer_with_data()

    deletion = test_clock_delete(clock=clock, actor=ACTOR, now=WALL)

    assert deletion.as_dict() == {
        "clock_id": clock.pk,
        "name": "Scenario",
        "customers": 3,
        "subscriptions": 2,
        "usage_events": 6,
    }
    assert not TestClock.objects.filter(pk=clock.pk).exists()
    assert set(Customer.objects.values_list("pk", flat=True)) == {kept_test.pk, real.pk}
    assert set(Subscription.objects.values_list("customer_id", flat=True)) == {kept_test.pk, real.pk}
    assert not SubscriptionItem.objects.filter(subscription_id__in=[a_sub.pk, b_sub.pk]).exists()
    assert set(UsageEvent.objects.values_list("customer_id", flat=True)) == {kept_test.pk, real.pk}
    assert UsageEvent.objects.count() == 6
    assert set(UsageHourlyRollup.objects.values_list("customer_id", flat=True)) == {kept_test.pk, real.pk}
    assert set(UsageAlert.objects.values_list("customer_id", flat=True)) == {kept_test.pk, real.pk}
    assert TestClock.objects.filter(pk=other_clock.pk).exists()


@needs_lifecycle
def test_delete_leaves_an_audit_record_of_everything_it_deleted():
    clock = make_clock()
    customer, subscription = _customer_with_data(name="Acme test", test_clock=clock)

    test_clock_delete(clock=clock, actor=ACTOR, now=WALL, reason="Scenario done")

    deleted = AuditEvent.objects.filter(occurred_at=WALL).order_by("id")
    assert [(e.action, e.object_id) for e in deleted] == [
        ("subscription.deleted", str(subscription.pk)),
        ("customer.deleted", str(customer.pk)),
        ("test_clock.deleted", str(clock.pk)),
    ]
    assert deleted.last().after == {
        "clock_id": clock.pk,
        "name": "Scenario",
        "customers": 1,
        "subscriptions": 1,
        "usage_events": 3,
        "customer_names": ["Acme test"],
    }
    assert {e.reason for e in deleted} == {"Scenario done"}


def test_an_empty_clock_is_deleted():
    clock = make_clock()

    assert test_clock_delete(clock=clock, actor=ACTOR, now=WALL).customers == 0
    assert not TestClock.objects.exists()


def test_data_another_part_keeps_for_good_stops_the_deletion(monkeypatch):
    """E.g. a finalized invoice protecting its customer (invoicing issue): refused, nothing deleted."""
    from django.db.models import ProtectedError

    clock = make_clock()
    customer = make_customer(test_clock=clock)
    add_usage(customer, at=T0)
    before = counts()

    def protected(self, *args, **kwargs):
        raise ProtectedError("protected", {customer})

    monkeypatch.setattr(TestClock, "delete", protected)
    error = refused("test_clock_has_protected_data", lambda: test_clock_delete(clock=clock, actor=ACTOR, now=WALL))

    assert error.message == (
        "The test clock “Scenario” cannot be deleted: its customers have customers that must be kept "
        "(for example finalized invoices). Nothing was deleted."
    )
    assert counts() == before
