from decimal import Decimal

import pytest

from billing_site.models import AuditEvent
from catalog.services.coupons import coupon_create
from subscriptions.models import Customer, Subscription
from subscriptions.services.subscriptions import (
    PeriodStart,
    register_period_start_hook,
    subscription_pause_collection,
    subscriptions_process_due,
    unregister_period_start_hook,
)
from subscriptions.tests.factories import ACTOR, T0, make_customer, make_flat_plan, make_subscription, utc

pytestmark = pytest.mark.django_db

APR_1, APR_15 = utc(2026, 4, 1), utc(2026, 4, 15)


def fresh(subscription):
    return Subscription.objects.get(pk=subscription.pk)


@pytest.fixture
def version():
    return make_flat_plan("29.00")


def test_every_missed_period_renews_once_in_order_and_a_second_run_does_nothing(version):
    subscription = make_subscription(plan_version=version, now=APR_1)

    events = subscriptions_process_due(now=utc(2026, 7, 1))

    assert [(e.kind, e.period.period_start, e.period.period_end) for e in events] == [
        ("renewed", utc(2026, 5, 1), utc(2026, 6, 1)),
        ("renewed", utc(2026, 6, 1), utc(2026, 7, 1)),
        ("renewed", utc(2026, 7, 1), utc(2026, 8, 1)),
    ]
    assert (fresh(subscription).current_period_start, fresh(subscription).current_period_end) == (
        utc(2026, 7, 1),
        utc(2026, 8, 1),
    )
    assert subscriptions_process_due(now=utc(2026, 7, 1)) == []
    renewals = AuditEvent.objects.filter(action="subscription.renewed").order_by("occurred_at")
    assert [(e.occurred_at, e.actor_label) for e in renewals] == [
        (utc(2026, 5, 1), "System job: subscriptions"),
        (utc(2026, 6, 1), "System job: subscriptions"),
        (utc(2026, 7, 1), "System job: subscriptions"),
    ]


def test_a_period_end_later_than_now_is_not_due(version):
    make_subscription(plan_version=version, now=APR_1)

    assert subscriptions_process_due(now=utc(2026, 4, 30, 23, 59, 59)) == []


def test_everything_runs_in_time_order_across_subscriptions(version):
    a = make_subscription(plan_version=version, now=APR_1)
    b = make_subscription(plan_version=version, now=APR_15)

    events = subscriptions_process_due(now=utc(2026, 6, 1))

    assert [(e.subscription_id, e.at) for e in events] == [
        (a.pk, utc(2026, 5, 1)),
        (b.pk, utc(2026, 5, 15)),
        (a.pk, utc(2026, 6, 1)),
    ]


def test_only_the_given_customers(version):
    mine, other = make_customer(), make_customer()
    subscription = make_subscription(mine, plan_version=version, now=APR_1)
    untouched = make_subscription(other, plan_version=version, now=APR_1)

    events = subscriptions_process_due(now=utc(2026, 5, 1), customers=Customer.objects.filter(pk=mine.pk))

    assert [e.subscription_id for e in events] == [subscription.pk]
    assert fresh(untouched).current_period_end == utc(2026, 5, 1)


def test_collection_resumes_before_the_renewal_at_the_same_moment(version):
    subscription = make_subscription(plan_version=version, now=APR_1)
    subscription_pause_collection(
        subscription=subscription, actor=ACTOR, now=APR_15, behavior="void", resumes_at=utc(2026, 5, 1)
    )

    events = subscriptions_process_due(now=utc(2026, 5, 1))

    assert [(e.kind, e.at) for e in events] == [("collection_resumed", utc(2026, 5, 1)), ("renewed", utc(2026, 5, 1))]


def test_period_start_hooks_see_each_new_period(version):
    seen = []

    def hook(subscription, period):
        seen.append((subscription.pk, period))

    subscription = make_subscription(plan_version=version, now=APR_1)
    register_period_start_hook(hook)
    try:
        subscriptions_process_due(now=utc(2026, 6, 1))
    finally:
        unregister_period_start_hook(hook)

    assert seen == [
        (subscription.pk, PeriodStart(subscription.pk, utc(2026, 5, 1), utc(2026, 6, 1), "renewal", utc(2026, 4, 1))),
        (subscription.pk, PeriodStart(subscription.pk, utc(2026, 6, 1), utc(2026, 7, 1), "renewal", utc(2026, 5, 1))),
    ]


def test_a_failing_hook_rolls_its_renewal_back(version):
    def hook(subscription, period):
        if period.period_start == utc(2026, 6, 1):
            raise RuntimeError("invoice could not be made")

    subscription = make_subscription(plan_version=version, now=APR_1)
    register_period_start_hook(hook)
    try:
        with pytest.raises(RuntimeError):
            subscriptions_process_due(now=utc(2026, 7, 1))
    finally:
        unregister_period_start_hook(hook)

    # The May renewal committed in its own step; June's was rolled back and will be retried.
    assert fresh(subscription).current_period_start == utc(2026, 5, 1)
    assert [e.kind for e in subscriptions_process_due(now=utc(2026, 7, 1))] == ["renewed", "renewed"]


@pytest.mark.parametrize(
    ("duration", "periods", "left"), [("repeating", 2, [2, 1, 0, 0]), ("forever", None, [None] * 4)]
)
def test_coupon_periods_count_down_at_each_renewal(version, duration, periods, left):
    coupon = coupon_create(
        actor=ACTOR,
        now=T0,
        code=f"c-{duration}",
        name="20%",
        discount_type="percent",
        percent_off=Decimal(20),
        duration=duration,
        duration_in_periods=periods,
    )
    subscription = make_subscription(plan_version=version, coupon=coupon, now=APR_1)

    seen = [fresh(subscription).coupon_periods_left]
    for month in (5, 6, 7):
        subscriptions_process_due(now=utc(2026, month, 1))
        seen.append(fresh(subscription).coupon_periods_left)

    assert seen == left


def test_the_everyone_run_leaves_test_clock_customers_in_their_own_time(version):
    from subscriptions.services.test_clocks import test_clock_create

    clock = test_clock_create(name="Scenario", frozen_time=APR_1, actor=ACTOR, now=APR_1)
    on_clock = make_subscription(customer=make_customer(test_clock=clock), plan_version=version, now=APR_1)
    real = make_subscription(plan_version=version, now=APR_1)

    events = subscriptions_process_due(now=utc(2026, 5, 1))

    assert [(e.subscription_id, e.kind) for e in events] == [(real.pk, "renewed")]
    assert fresh(on_clock).current_period_end == utc(2026, 5, 1)
