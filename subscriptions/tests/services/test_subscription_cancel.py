from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import ScheduledChange, Subscription
from subscriptions.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_pause,
    subscription_reactivate,
    subscriptions_process_due,
)
from subscriptions.tests.factories import (
    ACTOR,
    make_flat_plan,
    make_metered_price,
    make_plan_with_prices,
    make_subscription,
    pending_lines,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

APR_1, APR_11, APR_16, MAY_1 = utc(2026, 4, 1), utc(2026, 4, 11), utc(2026, 4, 16), utc(2026, 5, 1)
D = Decimal


@pytest.fixture
def seats():
    version = make_plan_with_prices({"unit_amount": D("10.00"), "nickname": "Seat"})
    return make_subscription(plan_version=version, quantity=5, items=[make_metered_price()], now=APR_1)


def fresh(subscription):
    return Subscription.objects.get(pk=subscription.pk)


def cancel(subscription, **kwargs):
    kwargs.setdefault("now", APR_16)
    kwargs.setdefault("reason_code", "too_expensive")
    return subscription_cancel(subscription=subscription, actor=ACTOR, **kwargs)


def refused(subscription, code, call=cancel, **kwargs):
    before = subscription_state(subscription)
    with pytest.raises(DomainError) as error:
        call(subscription, **kwargs)
    assert error.value.code == code, error.value.message
    assert subscription_state(subscription) == before


def test_cancel_at_period_end_keeps_it_running_until_then(seats):
    cancel(seats, at_period_end=True, reason_text="Budget cut")

    s = fresh(seats)
    assert (s.status, s.cancel_at_period_end, s.canceled_at, s.ended_at) == ("active", True, APR_16, None)
    assert (s.cancellation_reason, s.cancellation_comment) == ("too_expensive", "Budget cut")
    event = AuditEvent.objects.get(action="subscription.cancel_scheduled")
    assert event.reason == "Budget cut"

    events = subscriptions_process_due(now=utc(2026, 7, 1))

    assert [(e.kind, e.at) for e in events] == [("canceled", MAY_1)]
    s = fresh(seats)
    assert (s.status, s.cancel_at_period_end, s.canceled_at, s.ended_at) == ("canceled", False, APR_16, MAY_1)
    assert (s.current_period_start, s.current_period_end) == (APR_1, MAY_1)
    assert pending_lines(seats) == []
    status_event = AuditEvent.objects.get(action="subscription.canceled")
    assert (status_event.before["status"], status_event.after["status"], status_event.occurred_at) == (
        "active",
        "canceled",
        MAY_1,
    )


def test_reactivate_before_the_end_undoes_it(seats):
    cancel(seats, at_period_end=True)

    subscription_reactivate(subscription=seats, actor=ACTOR, now=utc(2026, 4, 20))

    s = fresh(seats)
    assert (s.cancel_at_period_end, s.canceled_at, s.cancellation_reason) == (False, None, "")
    assert [e.kind for e in subscriptions_process_due(now=MAY_1)] == ["renewed"]
    assert AuditEvent.objects.filter(action="subscription.reactivated").count() == 1


def test_reactivate_needs_a_pending_cancellation_that_has_not_happened(seats):
    refused(seats, "not_canceling", call=lambda s: subscription_reactivate(subscription=s, actor=ACTOR, now=APR_16))
    cancel(seats, at_period_end=True)
    subscriptions_process_due(now=MAY_1)
    refused(
        seats, "subscription_canceled", call=lambda s: subscription_reactivate(subscription=s, actor=ACTOR, now=MAY_1)
    )


def test_immediate_cancel_with_credit_credits_the_unused_licensed_time(seats):
    cancel(seats, at_period_end=False, prorate_credit=True, reason_code="switched_service")

    s = fresh(seats)
    assert (s.status, s.canceled_at, s.ended_at, s.cancellation_reason) == (
        "canceled",
        APR_16,
        APR_16,
        "switched_service",
    )
    assert pending_lines(seats) == [("Unused time on 5 × Seat after 16 Apr 2026", D("-25.00"), "invoice_now")]
    event = AuditEvent.objects.get(action="subscription.canceled")
    assert event.after["pending_lines"] == [
        {"description": "Unused time on 5 × Seat after 16 Apr 2026", "amount": "-25.00", "kind": "invoice_now"}
    ]
    assert subscriptions_process_due(now=utc(2026, 6, 1)) == []


def test_immediate_cancel_without_credit_writes_no_line(seats):
    cancel(seats, at_period_end=False)

    assert fresh(seats).status == "canceled"
    assert pending_lines(seats) == []


def test_a_paused_subscription_is_credited_from_when_it_was_paused():
    subscription = make_subscription(plan_version=make_flat_plan("29.00", name="Starter"), now=APR_1)
    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, periods=1)

    cancel(subscription, at_period_end=False, prorate_credit=True)

    assert pending_lines(subscription) == [
        ("Unused time on Subscription fee after 11 Apr 2026", D("-19.33"), "invoice_now")
    ]


def test_a_trial_has_nothing_to_credit():
    subscription = make_subscription(plan_version=make_flat_plan("29.00"), trial_end=utc(2026, 4, 20), now=APR_1)

    cancel(subscription, at_period_end=False, prorate_credit=True)

    assert fresh(subscription).status == "canceled"
    assert pending_lines(subscription) == []


def test_a_trial_cancelled_at_its_end_ends_with_the_trial():
    subscription = make_subscription(plan_version=make_flat_plan("29.00"), trial_end=utc(2026, 4, 20), now=APR_1)
    cancel(subscription, at_period_end=True)

    events = subscriptions_process_due(now=MAY_1)

    assert [(e.kind, e.at) for e in events] == [("canceled", utc(2026, 4, 20))]
    assert fresh(subscription).ended_at == utc(2026, 4, 20)


def test_cancelling_drops_the_scheduled_change(seats):
    subscription_change(subscription=seats, actor=ACTOR, now=APR_11, quantity=2, when="period_end")

    cancel(seats, at_period_end=True)

    change = ScheduledChange.objects.get()
    assert (change.status, change.resolved_at) == ("canceled", APR_16)


def test_bad_cancellations_change_nothing(seats):
    refused(seats, "credit_needs_immediate_cancel", at_period_end=True, prorate_credit=True)
    refused(seats, "invalid_cancellation_reason", at_period_end=True, reason_code="because")
    cancel(seats, at_period_end=True)
    refused(seats, "already_canceling", at_period_end=True)
    cancel(seats, at_period_end=False)
    refused(seats, "invalid_transition", at_period_end=False)
    refused(seats, "invalid_transition", at_period_end=True)


def test_a_paused_subscription_cannot_cancel_at_period_end(seats):
    subscription_pause(subscription=seats, actor=ACTOR, now=APR_11, periods=1)

    refused(seats, "subscription_paused", at_period_end=True)
