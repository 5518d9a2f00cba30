"""Clock scenarios: create, move time, assert every pending line and every period exactly.

``Clock.advance`` does what a test clock's advance does: it runs ``subscriptions_process_due`` for its
customers up to the new time. The last scenario drives a real TestClock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from billing_site import clock as wall_clock
from subscriptions.models import Customer, PendingLine, Subscription, SubscriptionItem
from subscriptions.services.subscriptions import (
    DueEvent,
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_resume,
    subscriptions_process_due,
)
from subscriptions.tests.factories import ACTOR, make_customer, make_plan_with_prices, utc

pytestmark = pytest.mark.django_db

D = Decimal


class Clock:
    """A scenario's time for one customer: everything happens at ``clock.now``."""

    def __init__(self, start: datetime):
        self.now = start
        self.customer = make_customer()
        self.events: list[DueEvent] = []

    def advance(self, to: datetime) -> list[tuple[str, datetime]]:
        assert to > self.now
        events = subscriptions_process_due(now=to, customers=Customer.objects.filter(pk=self.customer.pk))
        self.events += events
        self.now = to
        return [(e.kind, e.at) for e in events]

    def subscribe(self, **kwargs) -> Subscription:
        return subscription_create(customer=self.customer, actor=ACTOR, now=self.now, **kwargs)


def flat(amount: str, name: str):
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D(amount), "nickname": name}, name=name, code=name.lower()
    )


def seat_plan():
    return make_plan_with_prices({"unit_amount": D("10.00"), "nickname": "Seat"}, name="Team", code="team")


def lines(subscription) -> list[tuple]:
    """Every pending line: (description, amount, quantity, unit amount, from, until, kind)."""
    return [
        (
            line.description,
            line.amount.amount,
            line.quantity,
            line.unit_amount,
            line.period_start,
            line.period_end,
            line.kind,
        )
        for line in PendingLine.objects.filter(subscription=subscription).order_by("created_at", "id")
    ]


def period(subscription) -> tuple[datetime, datetime]:
    s = Subscription.objects.get(pk=subscription.pk)
    return s.current_period_start, s.current_period_end


def items(subscription) -> list[tuple[str, int]]:
    return [
        (i.price.nickname, i.quantity)
        for i in SubscriptionItem.objects.filter(subscription=subscription).select_related("price")
    ]


def status(subscription) -> str:
    return Subscription.objects.get(pk=subscription.pk).status


def test_upgrade_mid_month():
    """Starter 29.00 → Pro 49.00 on 16 April 00:00: 15 of April's 30 days are left, half of each price."""
    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=starter)

    clock.now = utc(2026, 4, 16)
    subscription_change(subscription=subscription, actor=ACTOR, now=clock.now, plan_version=pro.plan)

    apr_16, may_1 = utc(2026, 4, 16), utc(2026, 5, 1)
    assert lines(subscription) == [
        ("Unused time on Starter after 16 Apr 2026", D("-14.50"), D(1), D("-14.50"), apr_16, may_1, "proration"),
        ("Remaining time on Pro from 16 Apr 2026", D("24.50"), D(1), D("24.50"), apr_16, may_1, "proration"),
    ]
    assert clock.advance(may_1) == [("renewed", may_1)]
    assert period(subscription) == (may_1, utc(2026, 6, 1))
    assert items(subscription) == [("Pro", 1)]
    assert len(lines(subscription)) == 2


def test_downgrade_at_period_end():
    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=pro)

    clock.now = utc(2026, 4, 16)
    subscription_change(subscription=subscription, actor=ACTOR, now=clock.now, plan_version=starter, when="period_end")

    assert clock.advance(utc(2026, 4, 30, 23, 59, 59)) == []
    assert items(subscription) == [("Pro", 1)]
    assert clock.advance(utc(2026, 5, 1)) == [
        ("scheduled_change_applied", utc(2026, 5, 1)),
        ("renewed", utc(2026, 5, 1)),
    ]
    assert items(subscription) == [("Starter", 1)]
    assert period(subscription) == (utc(2026, 5, 1), utc(2026, 6, 1))
    assert lines(subscription) == []


def test_quantity_change_from_5_to_8_seats():
    """At 21 April 12:00, 9.5 of 30 days are left: 50.00 × 9.5/30 = 15.8333…, 80.00 × 9.5/30 = 25.3333…"""
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=seat_plan(), quantity=5)

    at, may_1 = utc(2026, 4, 21, 12), utc(2026, 5, 1)
    subscription_change(subscription=subscription, actor=ACTOR, now=at, quantity=8)

    assert lines(subscription) == [
        ("Unused time on 5 × Seat after 21 Apr 2026", D("-15.83"), D(5), D("-3.166"), at, may_1, "proration"),
        ("Remaining time on 8 × Seat from 21 Apr 2026", D("25.33"), D(8), D("3.16625"), at, may_1, "proration"),
    ]
    assert items(subscription) == [("Seat", 8)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 5, 1), [D("-29.00"), D("49.00")]),  # the first second: the whole period
        (utc(2026, 5, 1, 0, 0, 1), [D("-29.00"), D("49.00")]),  # 2,678,399 of 2,678,400 seconds: still 29.00
        (utc(2026, 5, 31, 23, 59, 59), []),  # the last second: lines round to 0.00 and are left out
    ],
)
def test_change_on_the_first_day_of_a_period(at, expected):
    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=starter)
    assert clock.advance(utc(2026, 5, 1)) == [("renewed", utc(2026, 5, 1))]

    subscription_change(subscription=subscription, actor=ACTOR, now=at, plan_version=pro)

    assert [line[1] for line in lines(subscription)] == expected
    assert all(line[4:6] == (at, utc(2026, 6, 1)) for line in lines(subscription))


def test_leap_year_february():
    """Anchor 31 Jan 2024: February's period ends on the 29th; mid-February 14 of its 29 days are left."""
    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    clock = Clock(utc(2024, 1, 31))
    subscription = clock.subscribe(plan_version=starter)
    assert period(subscription) == (utc(2024, 1, 31), utc(2024, 2, 29))

    at, feb_29 = utc(2024, 2, 15), utc(2024, 2, 29)
    subscription_change(subscription=subscription, actor=ACTOR, now=at, plan_version=pro)

    assert lines(subscription) == [
        ("Unused time on Starter after 15 Feb 2024", D("-14.00"), D(1), D("-14.00"), at, feb_29, "proration"),
        ("Remaining time on Pro from 15 Feb 2024", D("23.66"), D(1), D("23.66"), at, feb_29, "proration"),
    ]
    assert clock.advance(utc(2024, 4, 1)) == [("renewed", feb_29), ("renewed", utc(2024, 3, 31))]
    assert period(subscription) == (utc(2024, 3, 31), utc(2024, 4, 30))


def test_cancel_with_credit():
    """Cancelled on 20 April 12:00 with 10.5 of 30 days left: 5 seats × 10.00 × 0.35 = 17.50 back."""
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=seat_plan(), quantity=5)

    at = utc(2026, 4, 20, 12)
    subscription_cancel(
        subscription=subscription,
        actor=ACTOR,
        now=at,
        at_period_end=False,
        prorate_credit=True,
        reason_code="too_expensive",
        reason_text="Moving to a cheaper tool",
    )

    assert lines(subscription) == [
        ("Unused time on 5 × Seat after 20 Apr 2026", D("-17.50"), D(5), D("-3.50"), at, utc(2026, 5, 1), "invoice_now")
    ]
    assert status(subscription) == "canceled"
    assert clock.advance(utc(2026, 8, 1)) == []


def test_pause_and_resume():
    """Paused on 11 April for one period (until 11 May): the 20 unpaid-for days of April follow the pause."""
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=flat("29.00", "Starter"))

    subscription_pause(subscription=subscription, actor=ACTOR, now=utc(2026, 4, 11), periods=1)

    assert clock.advance(utc(2026, 5, 10)) == []  # no renewal on 1 May while paused
    assert status(subscription) == "paused"
    assert clock.advance(utc(2026, 5, 11)) == [("service_resumed", utc(2026, 5, 11))]
    assert status(subscription) == "active"
    assert period(subscription) == (utc(2026, 4, 1), utc(2026, 5, 31))
    assert clock.advance(utc(2026, 8, 1)) == [
        ("renewed", utc(2026, 5, 31)),
        ("renewed", utc(2026, 6, 30)),
        ("renewed", utc(2026, 7, 31)),
    ]
    assert lines(subscription) == []


def test_pause_then_resume_by_hand_on_a_scheduled_date():
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=flat("29.00", "Starter"))
    subscription_pause(subscription=subscription, actor=ACTOR, now=utc(2026, 4, 11), until=utc(2026, 12, 1))

    subscription_resume(subscription=subscription, actor=ACTOR, now=utc(2026, 4, 20), at=utc(2026, 4, 21))

    assert clock.advance(utc(2026, 5, 15)) == [
        ("service_resumed", utc(2026, 4, 21)),
        ("renewed", utc(2026, 5, 11)),
    ]
    assert period(subscription) == (utc(2026, 5, 11), utc(2026, 6, 11))
    assert lines(subscription) == []


@pytest.mark.parametrize(
    ("setting", "events", "final_status", "final_period"),
    [
        ("convert", [("trial_converted", utc(2026, 4, 15)), ("renewed", utc(2026, 5, 15))], "active", (5, 15, 6, 15)),
        ("cancel", [("trial_canceled", utc(2026, 4, 15))], "canceled", (4, 1, 4, 15)),
        ("pause", [("trial_paused", utc(2026, 4, 15))], "paused", (4, 1, 4, 15)),
    ],
)
def test_trial_ending_without_a_payment_method(settings, setting, events, final_status, final_period):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = setting
    version = make_plan_with_prices({"unit_amount": D("10.00"), "nickname": "Seat", "trial_days": 14})
    clock = Clock(utc(2026, 4, 1))
    subscription = clock.subscribe(plan_version=version, quantity=3)
    assert (status(subscription), period(subscription)) == ("trialing", (utc(2026, 4, 1), utc(2026, 4, 15)))

    assert clock.advance(utc(2026, 6, 1)) == events

    start_month, start_day, end_month, end_day = final_period
    assert status(subscription) == final_status
    assert period(subscription) == (utc(2026, start_month, start_day), utc(2026, end_month, end_day))
    assert lines(subscription) == []


@pytest.mark.parametrize(
    ("anchor", "expected_days"),
    [
        (utc(2026, 1, 31), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
        (utc(2028, 1, 31), [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
        (utc(2026, 1, 30), [30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30]),
    ],
)
def test_month_end_anchors_across_a_year(anchor, expected_days):
    clock = Clock(anchor)
    subscription = clock.subscribe(plan_version=flat("29.00", "Starter"))

    clock.advance(anchor.replace(year=anchor.year + 1))

    starts = [subscription.current_period_start] + [e.period.period_start for e in clock.events]
    assert [start.day for start in starts] == expected_days + [anchor.day]
    assert [start.month for start in starts] == [*range(1, 13), 1]
    assert len(clock.events) == 12
    assert period(subscription)[0] == anchor.replace(year=anchor.year + 1)


def test_a_yearly_leap_day_anchor_keeps_to_february_end():
    yearly = make_plan_with_prices({"unit_amount": D("290.00"), "interval": "year", "nickname": "Yearly"})
    clock = Clock(utc(2024, 2, 29))
    subscription = clock.subscribe(plan_version=yearly)

    assert clock.advance(utc(2028, 3, 1)) == [
        ("renewed", utc(2025, 2, 28)),
        ("renewed", utc(2026, 2, 28)),
        ("renewed", utc(2027, 2, 28)),
        ("renewed", utc(2028, 2, 29)),
    ]
    assert period(subscription) == (utc(2028, 2, 29), utc(2029, 2, 28))


def test_the_wall_clock_can_drive_a_scenario():
    """Interfaces take "now" from billing_site.clock; frozen, it gives the same lines."""
    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    customer = make_customer()
    with wall_clock.frozen_at(utc(2026, 4, 1)):
        subscription = subscription_create(
            customer=customer, actor=ACTOR, now=wall_clock.now(customer), plan_version=starter
        )
    with wall_clock.frozen_at(utc(2026, 4, 16)):
        subscription_change(subscription=subscription, actor=ACTOR, now=wall_clock.now(customer), plan_version=pro)

    assert [line[1] for line in lines(subscription)] == [D("-14.50"), D("24.50")]


def test_a_real_test_clock_advances_the_subscription():
    test_clocks = pytest.importorskip("subscriptions.services.test_clocks")
    from subscriptions.services.customers import customer_create

    starter, pro = flat("29.00", "Starter"), flat("49.00", "Pro")
    test_clock = test_clocks.test_clock_create(
        name="Upgrade mid-month", frozen_time=utc(2026, 4, 1), actor=ACTOR, now=utc(2026, 4, 1)
    )
    customer = customer_create(
        actor=ACTOR,
        now=test_clock.frozen_time,
        name="Test B.V.",
        email="test@example.com",
        country="NL",
        currency="EUR",
        test_clock=test_clock,
    )
    subscription = subscription_create(
        customer=customer, actor=ACTOR, now=wall_clock.now(customer), plan_version=starter
    )
    test_clocks.test_clock_advance(clock=test_clock, to=utc(2026, 4, 16), actor=ACTOR, now=utc(2026, 4, 1))
    subscription_change(subscription=subscription, actor=ACTOR, now=wall_clock.now(customer), plan_version=pro)

    test_clocks.test_clock_advance(clock=test_clock, to=utc(2026, 6, 2), actor=ACTOR, now=utc(2026, 4, 1))

    assert [line[1] for line in lines(subscription)] == [D("-14.50"), D("24.50")]
    assert period(subscription) == (utc(2026, 6, 1), utc(2026, 7, 1))
