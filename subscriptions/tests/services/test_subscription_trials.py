from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import Subscription
from subscriptions.services.subscriptions import (
    subscription_end_trial,
    subscription_resume,
    subscriptions_process_due,
)
from subscriptions.tests.factories import ACTOR, make_plan_with_prices, make_subscription, pending_lines, utc

pytestmark = pytest.mark.django_db

APR_1, APR_15 = utc(2026, 4, 1), utc(2026, 4, 15)


@pytest.fixture
def trialing():
    version = make_plan_with_prices({"unit_amount": Decimal("10.00"), "nickname": "Seat", "trial_days": 14})
    return make_subscription(plan_version=version, quantity=3, now=APR_1)


def fresh(subscription):
    return Subscription.objects.get(pk=subscription.pk)


def test_the_default_cancels_a_trial_without_payment_method(trialing):
    events = subscriptions_process_due(now=utc(2026, 6, 1))

    assert [(e.kind, e.at) for e in events] == [("trial_canceled", APR_15)]
    s = fresh(trialing)
    assert (s.status, s.trial_end, s.ended_at, s.canceled_at, s.cancellation_reason) == (
        "canceled",
        APR_15,
        APR_15,
        APR_15,
        "",
    )
    assert s.cancellation_comment == "The trial ended without a payment method on file."


def test_convert_starts_the_first_paid_period_at_the_trial_end(trialing, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"

    events = subscriptions_process_due(now=utc(2026, 5, 1))

    assert [(e.kind, e.at, e.period.period_start, e.period.period_end, e.period.reason) for e in events] == [
        ("trial_converted", APR_15, APR_15, utc(2026, 5, 15), "trial_converted")
    ]
    s = fresh(trialing)
    assert (s.status, s.trial_start, s.trial_end, s.billing_cycle_anchor) == ("active", APR_1, APR_15, APR_15)
    assert (s.current_period_start, s.current_period_end) == (APR_15, utc(2026, 5, 15))
    event = AuditEvent.objects.get(action="subscription.active")
    assert event.reason == "The trial ended without a payment method on file. Converted; invoices are sent."
    assert pending_lines(trialing) == []


def test_pause_waits_for_a_resume_which_starts_a_fresh_period(trialing, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "pause"

    events = subscriptions_process_due(now=utc(2026, 6, 1))

    assert [(e.kind, e.at) for e in events] == [("trial_paused", APR_15)]
    s = fresh(trialing)
    assert (s.status, s.status_before_pause, s.service_paused_at, s.service_paused_until) == (
        "paused",
        "trialing",
        APR_15,
        None,
    )
    assert subscriptions_process_due(now=utc(2026, 9, 1)) == []

    subscription_resume(subscription=trialing, actor=ACTOR, now=utc(2026, 9, 3, 10))

    s = fresh(trialing)
    assert (s.status, s.billing_cycle_anchor) == ("active", utc(2026, 9, 3, 10))
    assert (s.current_period_start, s.current_period_end) == (utc(2026, 9, 3, 10), utc(2026, 10, 3, 10))
    assert pending_lines(trialing) == []


def test_ending_a_trial_early_moves_the_default_anchor(trialing, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"

    subscription_end_trial(subscription=trialing, actor=ACTOR, now=utc(2026, 4, 5, 12))

    s = fresh(trialing)
    assert (s.status, s.trial_end, s.billing_cycle_anchor) == ("active", utc(2026, 4, 5, 12), utc(2026, 4, 5, 12))
    assert (s.current_period_start, s.current_period_end) == (utc(2026, 4, 5, 12), utc(2026, 5, 5, 12))


def test_an_explicit_anchor_is_kept_and_the_first_paid_period_is_a_stub(settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"
    version = make_plan_with_prices({"unit_amount": Decimal("10.00"), "trial_days": 14})
    subscription = make_subscription(plan_version=version, now=APR_1, billing_cycle_anchor=utc(2026, 5, 1))

    subscriptions_process_due(now=APR_15)

    s = fresh(subscription)
    assert (s.current_period_start, s.current_period_end, s.billing_cycle_anchor) == (
        APR_15,
        utc(2026, 5, 1),
        utc(2026, 5, 1),
    )


def test_only_a_trial_can_end(trialing, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"
    subscription_end_trial(subscription=trialing, actor=ACTOR, now=utc(2026, 4, 5))

    with pytest.raises(DomainError) as error:
        subscription_end_trial(subscription=trialing, actor=ACTOR, now=utc(2026, 4, 6))

    assert error.value.code == "not_trialing"


def test_an_unknown_setting_is_a_configuration_error(trialing, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "ignore"

    with pytest.raises(ImproperlyConfigured):
        subscriptions_process_due(now=utc(2026, 6, 1))

    assert fresh(trialing).status == "trialing"
