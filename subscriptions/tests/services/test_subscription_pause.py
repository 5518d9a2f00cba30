from datetime import timedelta

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import ScheduledChange, Subscription
from subscriptions.services.subscriptions import (
    subscription_change,
    subscription_pause,
    subscription_pause_collection,
    subscription_resume,
    subscription_resume_collection,
    subscriptions_process_due,
)
from subscriptions.tests.factories import (
    ACTOR,
    make_flat_plan,
    make_subscription,
    pending_lines,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

APR_1, APR_11, APR_16, MAY_1 = utc(2026, 4, 1), utc(2026, 4, 11), utc(2026, 4, 16), utc(2026, 5, 1)


@pytest.fixture
def subscription():
    return make_subscription(plan_version=make_flat_plan("29.00"), now=APR_1)


def fresh(subscription):
    return Subscription.objects.get(pk=subscription.pk)


def period(subscription):
    s = fresh(subscription)
    return s.current_period_start, s.current_period_end, s.billing_cycle_anchor


def refused(subscription, code, call, **kwargs):
    before = subscription_state(subscription)
    with pytest.raises(DomainError) as error:
        call(subscription=subscription, actor=ACTOR, **kwargs)
    assert error.value.code == code, error.value.message
    assert subscription_state(subscription) == before


# --- collection ------------------------------------------------------------------------------


def test_collection_pause_keeps_the_service_and_status(subscription):
    subscription_pause_collection(
        subscription=subscription, actor=ACTOR, now=APR_16, behavior="mark_uncollectible", resumes_at=utc(2026, 6, 1)
    )

    s = fresh(subscription)
    assert (s.status, s.pause_behavior, s.pause_resumes_at) == ("active", "mark_uncollectible", utc(2026, 6, 1))
    event = AuditEvent.objects.get(action="subscription.collection_paused")
    assert (event.before, event.after) == (
        {"pause_behavior": "", "pause_resumes_at": None},
        {"pause_behavior": "mark_uncollectible", "pause_resumes_at": "2026-06-01T00:00:00+00:00"},
    )


def test_pausing_collection_again_the_same_way_writes_nothing(subscription):
    subscription_pause_collection(subscription=subscription, actor=ACTOR, now=APR_16, behavior="void")
    before = subscription_state(subscription)

    subscription_pause_collection(subscription=subscription, actor=ACTOR, now=APR_16, behavior="void")

    assert subscription_state(subscription) == before


def test_collection_resumes_by_hand_or_by_itself(subscription):
    subscription_pause_collection(subscription=subscription, actor=ACTOR, now=APR_16, behavior="keep_as_draft")
    subscription_resume_collection(subscription=subscription, actor=ACTOR, now=utc(2026, 4, 20))
    assert (fresh(subscription).pause_behavior, fresh(subscription).pause_resumes_at) == ("", None)

    subscription_pause_collection(
        subscription=subscription, actor=ACTOR, now=utc(2026, 4, 21), behavior="void", resumes_at=utc(2026, 4, 25)
    )
    events = subscriptions_process_due(now=utc(2026, 4, 30))

    assert [(e.kind, e.at) for e in events] == [("collection_resumed", utc(2026, 4, 25))]
    assert fresh(subscription).pause_behavior == ""
    assert subscriptions_process_due(now=utc(2026, 4, 30)) == []


def test_collection_pause_input_is_checked(subscription):
    refused(subscription, "invalid_pause_behavior", subscription_pause_collection, now=APR_16, behavior="later")
    refused(
        subscription,
        "resume_in_past",
        subscription_pause_collection,
        now=APR_16,
        behavior="void",
        resumes_at=APR_16,
    )
    refused(subscription, "collection_not_paused", subscription_resume_collection, now=APR_16)


# --- service ---------------------------------------------------------------------------------


def test_service_pause_for_periods_stops_renewals_and_moves_the_period_on(subscription):
    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, periods=2)

    s = fresh(subscription)
    assert (s.status, s.status_before_pause, s.service_paused_at, s.service_paused_until) == (
        "paused",
        "active",
        APR_11,
        utc(2026, 6, 11),
    )
    event = AuditEvent.objects.get(action="subscription.paused")
    assert event.before == {
        "status": "active",
        "status_before_pause": "",
        "service_paused_at": None,
        "service_paused_until": None,
    }
    assert event.after == {
        "status": "paused",
        "status_before_pause": "active",
        "service_paused_at": "2026-04-11T00:00:00+00:00",
        "service_paused_until": "2026-06-11T00:00:00+00:00",
    }
    assert event.reason == "Service paused until 2026-06-11 00:00 UTC"

    assert subscriptions_process_due(now=utc(2026, 6, 10)) == []  # no renewal on May 1 while paused

    events = subscriptions_process_due(now=utc(2026, 6, 11))

    assert [(e.kind, e.at, e.period) for e in events] == [("service_resumed", utc(2026, 6, 11), None)]
    # 20 unused days of April remain: the period now ends 61 days (the pause) later than May 1.
    assert period(subscription) == (APR_1, utc(2026, 7, 1), utc(2026, 7, 1))
    s = fresh(subscription)
    assert (s.status, s.status_before_pause, s.service_paused_at, s.service_paused_until) == ("active", "", None, None)
    assert pending_lines(subscription) == []


def test_resuming_early_moves_the_period_by_the_time_actually_paused(subscription):
    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, until=utc(2026, 6, 1))

    subscription_resume(subscription=subscription, actor=ACTOR, now=utc(2026, 4, 21))

    assert period(subscription) == (APR_1, utc(2026, 5, 11), utc(2026, 5, 11))
    assert fresh(subscription).status == "active"
    events = subscriptions_process_due(now=utc(2026, 6, 10))
    assert [(e.kind, e.period.period_start, e.period.period_end) for e in events] == [
        ("renewed", utc(2026, 5, 11), utc(2026, 6, 11))
    ]


def test_a_resume_can_be_scheduled(subscription):
    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, periods=1)

    subscription_resume(subscription=subscription, actor=ACTOR, now=APR_16, at=utc(2026, 4, 18))

    s = fresh(subscription)
    assert (s.status, s.service_paused_until) == ("paused", utc(2026, 4, 18))
    event = AuditEvent.objects.get(action="subscription.resume_scheduled")
    assert event.after == {"service_paused_until": "2026-04-18T00:00:00+00:00"}
    events = subscriptions_process_due(now=utc(2026, 4, 20))
    assert [(e.kind, e.at) for e in events] == [("service_resumed", utc(2026, 4, 18))]
    assert period(subscription) == (APR_1, utc(2026, 5, 8), utc(2026, 5, 8))


def test_a_past_due_subscription_resumes_past_due(subscription):
    Subscription.objects.filter(pk=subscription.pk).update(status="past_due")

    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, periods=1)
    subscription_resume(subscription=subscription, actor=ACTOR, now=APR_16)

    assert fresh(subscription).status == "past_due"


def test_a_scheduled_change_moves_with_the_period(subscription):
    subscription_change(
        subscription=subscription, actor=ACTOR, now=APR_11, plan_version=make_flat_plan("19.00"), when="period_end"
    )
    subscription_pause(subscription=subscription, actor=ACTOR, now=APR_11, periods=1)

    subscription_resume(subscription=subscription, actor=ACTOR, now=APR_16)

    assert ScheduledChange.objects.get().effective_at == MAY_1 + timedelta(days=5)


def test_service_pause_input_is_checked(subscription):
    refused(subscription, "pause_length_required", subscription_pause, now=APR_16)
    refused(subscription, "pause_length_required", subscription_pause, now=APR_16, periods=1, until=MAY_1)
    refused(subscription, "invalid_pause_periods", subscription_pause, now=APR_16, periods=0)
    refused(subscription, "resume_in_past", subscription_pause, now=APR_16, until=APR_11)
    refused(subscription, "naive_datetime", subscription_pause, now=APR_16, until=MAY_1.replace(tzinfo=None))
