from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.tests.factories import make_price
from subscriptions.models import PendingLine, ScheduledChange, SubscriptionItem
from subscriptions.services.subscriptions import (
    subscription_cancel_scheduled_change,
    subscription_change,
    subscription_preview_change,
    subscriptions_process_due,
)
from subscriptions.tests.factories import (
    ACTOR,
    make_customer,
    make_metered_price,
    make_plan_with_prices,
    make_subscription,
    pending_lines,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

APR_1, APR_16, MAY_1 = utc(2026, 4, 1), utc(2026, 4, 16), utc(2026, 5, 1)
D = Decimal


def plan(amount: str, name: str):
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D(amount), "nickname": name}, name=name, code=name.lower()
    )


@pytest.fixture
def starter():
    return plan("29.00", "Starter")


@pytest.fixture
def pro():
    return plan("49.00", "Pro")


def items_of(subscription):
    return [
        (i.price.nickname, i.quantity, i.is_addon)
        for i in SubscriptionItem.objects.filter(subscription=subscription).select_related("price")
    ]


def change(subscription, **kwargs):
    kwargs.setdefault("now", APR_16)
    return subscription_change(subscription=subscription, actor=ACTOR, **kwargs)


def refused(subscription, code, **kwargs):
    before = subscription_state(subscription)
    with pytest.raises(DomainError) as error:
        change(subscription, **kwargs)
    assert error.value.code == code, error.value.message
    assert error.value.message
    assert subscription_state(subscription) == before
    return error.value


def test_upgrade_now_credits_the_unused_half_and_charges_the_rest(starter, pro):
    subscription = make_subscription(plan_version=starter, now=APR_1)

    change(subscription, plan_version=pro.plan)

    assert items_of(subscription) == [("Pro", 1, False)]
    subscription.refresh_from_db()
    assert subscription.plan_version == pro
    assert pending_lines(subscription) == [
        ("Unused time on Starter after 16 Apr 2026", D("-14.50"), "proration"),
        ("Remaining time on Pro from 16 Apr 2026", D("24.50"), "proration"),
    ]
    line = PendingLine.objects.order_by("id").first()
    assert (line.period_start, line.period_end, line.proration, line.quantity, line.unit_amount) == (
        APR_16,
        MAY_1,
        True,
        D(1),
        D("-14.50"),
    )
    assert (line.price_id, str(line.amount.currency)) == (starter.prices.get().pk, "EUR")


def test_the_change_is_audited_with_before_after_and_lines(starter, pro):
    subscription = make_subscription(plan_version=starter, now=APR_1)

    change(subscription, plan_version=pro)

    event = AuditEvent.objects.get(action="subscription.changed")
    starter_price, pro_price = starter.prices.get().pk, pro.prices.get().pk
    assert event.before == {
        "plan_version": starter.pk,
        "items": [{"price": starter_price, "quantity": 1, "is_addon": False}],
    }
    assert event.after == {
        "plan_version": pro.pk,
        "items": [{"price": pro_price, "quantity": 1, "is_addon": False}],
        "proration": "create_prorations",
        "pending_lines": [
            {"description": "Unused time on Starter after 16 Apr 2026", "amount": "-14.50", "kind": "proration"},
            {"description": "Remaining time on Pro from 16 Apr 2026", "amount": "24.50", "kind": "proration"},
        ],
    }
    assert (event.reason, event.occurred_at) == ("Switch to Pro v1", APR_16)


def test_always_invoice_marks_the_lines_for_invoicing_now_and_none_writes_none(starter, pro):
    invoiced_now = make_subscription(plan_version=starter, now=APR_1)
    silent = make_subscription(plan_version=starter, now=APR_1)

    change(invoiced_now, plan_version=pro, proration="always_invoice")
    change(silent, plan_version=pro, proration="none")

    assert [kind for _, _, kind in pending_lines(invoiced_now)] == ["invoice_now", "invoice_now"]
    assert pending_lines(silent) == []
    assert items_of(silent) == [("Pro", 1, False)]


def test_seat_change_prorates_only_the_licensed_items_that_changed():
    team = make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D("19.00"), "nickname": "Base fee"},
        {"unit_amount": D("10.00"), "nickname": "Seat"},
        name="Team",
    )
    metered = make_metered_price(nickname="API calls")
    subscription = make_subscription(plan_version=team, quantity=5, items=[metered], now=APR_1)

    change(subscription, quantity=8)

    assert items_of(subscription) == [("Base fee", 8, False), ("Seat", 8, False), ("API calls", 1, False)]
    # The flat fee bills 19.00 whatever the quantity: its credit and charge cancel out, both shown.
    assert pending_lines(subscription) == [
        ("Unused time on Base fee after 16 Apr 2026", D("-9.50"), "proration"),
        ("Unused time on 5 × Seat after 16 Apr 2026", D("-25.00"), "proration"),
        ("Remaining time on Base fee from 16 Apr 2026", D("9.50"), "proration"),
        ("Remaining time on 8 × Seat from 16 Apr 2026", D("40.00"), "proration"),
    ]


def test_adding_and_removing_addons_prorates_only_them(starter):
    support = make_price(nickname="Support", pricing_model="flat", flat_amount=D("30.00"))
    backup = make_price(nickname="Backup", pricing_model="flat", flat_amount=D("12.00"))
    subscription = make_subscription(plan_version=starter, addons=[backup], now=APR_1)

    change(subscription, addons=[support])

    assert items_of(subscription) == [("Starter", 1, False), ("Support", 1, True)]
    assert pending_lines(subscription) == [
        ("Unused time on Backup after 16 Apr 2026", D("-6.00"), "proration"),
        ("Remaining time on Support from 16 Apr 2026", D("15.00"), "proration"),
    ]


def test_price_items_without_a_plan_take_a_quantity():
    seat = make_price(nickname="Seat", unit_amount=D("10.00"))
    subscription = make_subscription(items=[(seat, 2)], now=APR_1)

    change(subscription, quantity=3)

    assert items_of(subscription) == [("Seat", 3, False)]
    assert pending_lines(subscription) == [
        ("Unused time on 2 × Seat after 16 Apr 2026", D("-10.00"), "proration"),
        ("Remaining time on 3 × Seat from 16 Apr 2026", D("15.00"), "proration"),
    ]


def test_replacing_price_items_keeps_the_plan(starter):
    extra = make_price(nickname="Extra storage", unit_amount=D("2.00"))
    more = make_price(nickname="More storage", unit_amount=D("3.00"))
    subscription = make_subscription(plan_version=starter, items=[(extra, 5)], now=APR_1)

    change(subscription, items=[(more, 5)], proration="none")

    assert items_of(subscription) == [("Starter", 1, False), ("More storage", 5, False)]


def test_metered_items_never_prorate():
    calls = make_metered_price(nickname="API calls")
    minutes = make_metered_price(nickname="Minutes")
    subscription = make_subscription(items=[calls], now=APR_1)

    change(subscription, items=[minutes])

    assert items_of(subscription) == [("Minutes", 1, False)]
    assert pending_lines(subscription) == []


def test_nothing_is_prorated_during_a_trial(starter, pro):
    subscription = make_subscription(plan_version=starter, trial_end=utc(2026, 4, 20), now=APR_1)

    change(subscription, plan_version=pro)

    assert items_of(subscription) == [("Pro", 1, False)]
    assert pending_lines(subscription) == []


def test_preview_matches_the_change_and_saves_nothing():
    team = make_plan_with_prices({"unit_amount": D("10.00"), "nickname": "Seat"}, name="Team")
    subscription = make_subscription(plan_version=team, quantity=5, now=APR_1)
    at = utc(2026, 4, 21, 12)
    before = subscription_state(subscription)

    preview = subscription_preview_change(subscription=subscription, actor=ACTOR, now=at, quantity=8)

    assert subscription_state(subscription) == before
    assert [(line.description, line.amount, line.kind) for line in preview.lines] == [
        ("Unused time on 5 × Seat after 21 Apr 2026", D("-15.83"), "credit"),
        ("Remaining time on 8 × Seat from 21 Apr 2026", D("25.33"), "charge"),
    ]
    assert preview.total == D("9.50")
    assert [(i.price.nickname, i.quantity) for i in preview.items] == [("Seat", 8)]

    change(subscription, quantity=8, now=at)

    stored = list(PendingLine.objects.filter(subscription=subscription).order_by("id"))
    assert [
        (s.description, s.amount.amount, s.quantity, s.unit_amount, s.period_start, s.period_end) for s in stored
    ] == [(p.description, p.amount, p.quantity, p.unit_amount, p.period_start, p.period_end) for p in preview.lines]


def test_preview_refuses_what_the_change_refuses(starter):
    subscription = make_subscription(plan_version=starter, now=APR_1)

    with pytest.raises(DomainError) as error:
        subscription_preview_change(subscription=subscription, actor=ACTOR, now=APR_16, plan_version=starter)

    assert error.value.code == "nothing_to_change"


def test_bad_changes_are_refused_and_change_nothing(starter):
    subscription = make_subscription(plan_version=starter, now=APR_1)
    yearly = make_price(interval="year")
    sek = make_price(currency="SEK")

    refused(subscription, "nothing_to_change")
    refused(subscription, "nothing_to_change", plan_version=starter)
    refused(subscription, "invalid_proration", quantity=2, proration="sometimes")
    refused(subscription, "invalid_when", quantity=2, when="tomorrow")
    refused(subscription, "interval_mismatch", addons=[yearly])
    yearly_plan = make_plan_with_prices({"unit_amount": D("290.00"), "interval": "year"})
    refused(subscription, "interval_change_not_supported", plan_version=yearly_plan)
    refused(subscription, "currency_mismatch", addons=[sek])
    refused(subscription, "invalid_quantity", quantity=0)


# --- at the period end ---------------------------------------------------------------------


def test_downgrade_at_period_end_is_scheduled_visible_and_applied_at_renewal(starter, pro):
    subscription = make_subscription(plan_version=pro, now=APR_1)

    change(subscription, plan_version=starter, when="period_end")

    scheduled = ScheduledChange.objects.get()
    assert (scheduled.status, scheduled.effective_at, scheduled.description) == (
        "pending",
        MAY_1,
        "Switch to Starter v1",
    )
    assert scheduled.change == {"plan_version": starter.pk, "quantity": None, "items": None, "addons": None}
    assert items_of(subscription) == [("Pro", 1, False)]
    assert pending_lines(subscription) == []

    events = subscriptions_process_due(now=MAY_1)

    assert [e.kind for e in events] == ["scheduled_change_applied", "renewed"]
    assert items_of(subscription) == [("Starter", 1, False)]
    assert pending_lines(subscription) == []
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.resolved_at) == ("applied", MAY_1)


def test_one_scheduled_change_at_a_time_and_it_can_be_cancelled(starter, pro):
    subscription = make_subscription(plan_version=pro, now=APR_1)
    change(subscription, plan_version=starter, when="period_end")

    refused(subscription, "change_already_scheduled", quantity=3, when="period_end")
    subscription_cancel_scheduled_change(subscription=subscription, actor=ACTOR, now=APR_16)

    assert ScheduledChange.objects.get().status == "canceled"
    subscriptions_process_due(now=MAY_1)
    assert items_of(subscription) == [("Pro", 1, False)]
    with pytest.raises(DomainError) as error:
        subscription_cancel_scheduled_change(subscription=subscription, actor=ACTOR, now=APR_16)
    assert error.value.code == "no_scheduled_change"


def test_a_scheduled_change_that_no_longer_fits_is_dropped_not_blocking_the_renewal(starter, pro):
    customer = make_customer()
    subscription = make_subscription(customer, plan_version=pro, now=APR_1)
    change(subscription, plan_version=starter, when="period_end")
    ScheduledChange.objects.update(
        change={"plan_version": None, "quantity": None, "items": None, "addons": [[make_price(currency="SEK").pk, 1]]}
    )

    events = subscriptions_process_due(now=MAY_1)

    assert [e.kind for e in events] == ["scheduled_change_canceled", "renewed"]
    event = AuditEvent.objects.get(action="subscription.scheduled_change_canceled")
    assert event.reason.startswith("Not applied: The price")
    assert items_of(subscription) == [("Pro", 1, False)]


def test_no_change_at_period_end_when_the_subscription_cancels_then(starter, pro):
    from subscriptions.services.subscriptions import subscription_cancel

    subscription = make_subscription(plan_version=pro, now=APR_1)
    subscription_cancel(subscription=subscription, actor=ACTOR, now=APR_16, at_period_end=True, reason_code="unused")

    refused(subscription, "cancellation_scheduled", plan_version=starter, when="period_end")


def test_a_stub_first_period_is_prorated_against_the_whole_period_it_is_part_of(starter, pro):
    """Stub 10 Apr 12:00 → 1 May was billed as its share of April; on 20 April 11 of April's 30 days remain."""
    subscription = make_subscription(plan_version=starter, now=utc(2026, 4, 10, 12), billing_cycle_anchor=MAY_1)

    change(subscription, plan_version=pro, now=utc(2026, 4, 20))

    assert pending_lines(subscription) == [
        ("Unused time on Starter after 20 Apr 2026", D("-10.63"), "proration"),
        ("Remaining time on Pro from 20 Apr 2026", D("17.97"), "proration"),
    ]
