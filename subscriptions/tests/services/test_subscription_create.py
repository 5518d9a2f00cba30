from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.models import Coupon, PromotionCode
from catalog.services.coupons import coupon_create, promotion_code_create
from catalog.services.plans import plan_version_archive, plan_version_new_draft
from catalog.tests.factories import make_metric, make_price, make_product
from subscriptions.models import Subscription, SubscriptionItem
from subscriptions.services.subscriptions import subscription_create
from subscriptions.tests.factories import (
    ACTOR,
    T0,
    make_customer,
    make_flat_plan,
    make_metered_price,
    make_plan_with_prices,
    make_subscription,
    utc,
)

pytestmark = pytest.mark.django_db

APR_1 = utc(2026, 4, 1)


def create(**kwargs):
    if "customer" not in kwargs:
        kwargs["customer"] = make_customer()
    kwargs.setdefault("now", APR_1)
    return subscription_create(actor=ACTOR, **kwargs)


def items_of(subscription):
    return [
        (i.price.nickname or i.price.product.name, i.quantity, i.is_addon)
        for i in SubscriptionItem.objects.filter(subscription=subscription).select_related("price__product")
    ]


def refused(code, **kwargs):
    if "customer" not in kwargs:
        kwargs["customer"] = make_customer()
    before = (Subscription.objects.count(), SubscriptionItem.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as error:
        create(**kwargs)
    assert error.value.code == code, error.value.message
    assert error.value.message
    assert (Subscription.objects.count(), SubscriptionItem.objects.count(), AuditEvent.objects.count()) == before
    return error.value


def seat_plan(**plan_fields):
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": Decimal("19.00"), "nickname": "Base fee"},
        {"unit_amount": Decimal("10.00"), "nickname": "Seat"},
        {
            "usage_type": "metered",
            "metric": make_metric(),
            "unit_amount": Decimal("0.01"),
            "nickname": "API calls",
        },
        **plan_fields,
    )


# --- plan, items, add-ons ------------------------------------------------------------------


def test_by_plan_takes_its_current_version_with_seats_on_licensed_prices_only():
    version = seat_plan()

    subscription = create(plan_version=version.plan, quantity=5)

    assert subscription.plan_version == version
    assert (subscription.status, subscription.currency, subscription.interval, subscription.interval_count) == (
        "active",
        "EUR",
        "month",
        1,
    )
    assert items_of(subscription) == [("Base fee", 5, False), ("Seat", 5, False), ("API calls", 1, False)]
    assert (subscription.current_period_start, subscription.current_period_end) == (APR_1, utc(2026, 5, 1))
    assert subscription.billing_cycle_anchor == APR_1


def test_a_plan_means_its_newest_published_version():
    v1 = make_flat_plan("29.00")
    draft = plan_version_new_draft(plan=v1.plan, actor=ACTOR, now=T0)

    subscription = create(plan_version=v1.plan)

    assert subscription.plan_version == v1
    assert draft.status == "draft"


def test_draft_archived_and_unpublished_plans_are_refused_with_their_own_codes():
    v1 = make_flat_plan("29.00")
    draft = plan_version_new_draft(plan=v1.plan, actor=ACTOR, now=T0)
    refused("plan_version_draft", plan_version=draft)

    plan_version_archive(version=v1, actor=ACTOR, now=T0)
    refused("plan_version_archived", plan_version=v1)
    refused("plan_not_published", plan_version=v1.plan)


def test_price_items_and_addons_without_a_plan():
    seat = make_price(nickname="Seat", unit_amount=Decimal("10.00"))
    support = make_price(nickname="Priority support", pricing_model="flat", flat_amount=Decimal("99.00"))

    subscription = create(items=[(seat, 3)], addons=[support])

    assert subscription.plan_version is None
    assert items_of(subscription) == [("Seat", 3, False), ("Priority support", 1, True)]


def test_addons_must_be_prices_sold_on_their_own():
    version = make_flat_plan("29.00")
    plan_price = version.prices.get()

    error = refused("not_an_addon", addons=[plan_price])

    assert error.fields == {"addons.0.price": [error.message]}


def test_prices_must_share_the_customers_currency_and_one_cycle():
    sek = make_price(currency="SEK")
    yearly = make_price(interval="year")
    monthly = make_price()

    assert "billed in EUR" in refused("currency_mismatch", items=[(sek, 1)]).message
    assert "same cycle" in refused("interval_mismatch", items=[(monthly, 1), (yearly, 1)]).message
    refused("duplicate_price", items=[(monthly, 1)], addons=[monthly])
    refused("no_items")


def test_inactive_prices_and_metered_quantities_are_refused():
    from catalog.services.prices import price_update

    price = make_price()
    price_update(price=price, actor=ACTOR, now=T0, active=False)
    refused("price_inactive", items=[(price, 1)])

    metered = make_metered_price()
    error = refused("metered_quantity", items=[(metered, 3)])
    assert list(error.fields) == ["items.0.quantity"]


def test_quantity_is_for_plans_and_must_be_positive():
    refused("quantity_needs_plan", items=[make_price()], quantity=2)
    refused("invalid_quantity", plan_version=make_flat_plan("29.00"), quantity=0)


# --- trial, anchor, collection ------------------------------------------------------------


def test_trial_from_the_longest_price_trial_and_billing_anchored_at_its_end():
    short = make_price(trial_days=7)
    long = make_price(trial_days=14)

    subscription = create(items=[short, long])

    trial_end = APR_1 + timedelta(days=14)
    assert subscription.status == "trialing"
    assert (subscription.trial_start, subscription.trial_end) == (APR_1, trial_end)
    assert (subscription.current_period_start, subscription.current_period_end) == (APR_1, trial_end)
    assert subscription.billing_cycle_anchor == trial_end


def test_explicit_trial_end_wins_and_a_trial_can_be_refused():
    price = make_price(trial_days=14)

    explicit = create(items=[price], trial_end=utc(2026, 4, 4))
    none = create(items=[price], trial_from_price=False)

    assert (explicit.status, explicit.trial_end) == ("trialing", utc(2026, 4, 4))
    assert (none.status, none.trial_end, none.current_period_end) == ("active", None, utc(2026, 5, 1))
    refused("trial_end_in_past", items=[price], trial_end=APR_1)


def test_a_later_anchor_makes_the_first_period_a_stub_up_to_it():
    subscription = create(
        plan_version=make_flat_plan("29.00"), now=utc(2026, 4, 10, 12), billing_cycle_anchor=utc(2026, 5, 1)
    )

    assert (subscription.current_period_start, subscription.current_period_end) == (
        utc(2026, 4, 10, 12),
        utc(2026, 5, 1),
    )
    assert subscription.billing_cycle_anchor == utc(2026, 5, 1)


def test_anchor_must_fall_in_the_first_period():
    version = make_flat_plan("29.00")
    refused("anchor_before_start", plan_version=version, billing_cycle_anchor=utc(2026, 3, 31))
    refused("anchor_too_late", plan_version=version, billing_cycle_anchor=utc(2026, 5, 1, 0, 0, 1))


def test_collection_method_and_payment_terms():
    version = make_flat_plan("29.00")

    sent = create(plan_version=version, collection_method="send_invoice", days_until_due=30)

    assert (sent.collection_method, sent.days_until_due) == ("send_invoice", 30)
    refused("days_until_due_required", plan_version=version, collection_method="send_invoice")
    refused("days_until_due_not_allowed", plan_version=version, days_until_due=14)
    refused("invalid_collection_method", plan_version=version, collection_method="cash")
    refused("invalid_metadata", plan_version=version, metadata=["crm"])


def test_creation_is_audited_with_its_items():
    subscription = create(plan_version=make_flat_plan("29.00"), metadata={"crm_deal": "D-42"})

    event = AuditEvent.objects.get(action="subscription.created")
    assert event.object_id == str(subscription.pk)
    assert event.occurred_at == APR_1
    assert event.after["status"] == "active"
    assert event.after["metadata"] == {"crm_deal": "D-42"}
    assert event.after["items"] == [{"price": subscription.items.get().price_id, "quantity": 1, "is_addon": False}]


# --- coupons and promotion codes ----------------------------------------------------------


def make_coupon(**fields):
    fields.setdefault("code", f"coupon-{Coupon.objects.count() + 1}")
    fields.setdefault("name", "Launch 20%")
    fields.setdefault("discount_type", "percent")
    if fields["discount_type"] == "percent":
        fields.setdefault("percent_off", Decimal(20))
    return coupon_create(actor=ACTOR, now=T0, **fields)


@pytest.mark.parametrize(
    ("duration", "periods", "left"), [("once", None, 1), ("repeating", 3, 3), ("forever", None, None)]
)
def test_a_coupon_is_redeemed_once_and_counts_its_periods(duration, periods, left):
    coupon = make_coupon(duration=duration, duration_in_periods=periods)

    subscription = create(plan_version=make_flat_plan("29.00"), coupon=coupon)

    assert (subscription.coupon, subscription.coupon_periods_left) == (coupon, left)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    event = AuditEvent.objects.get(action="coupon.redeemed")
    assert (event.before, event.after) == ({"times_redeemed": 0}, {"times_redeemed": 1})


def test_coupon_rules():
    version = make_flat_plan("29.00")
    other = make_flat_plan("49.00")
    refused("coupon_inactive", plan_version=version, coupon=make_coupon(active=False))
    refused("coupon_expired", plan_version=version, coupon=make_coupon(redeem_by=utc(2026, 3, 31)))
    used_up = make_coupon(max_redemptions=1)
    create(plan_version=version, coupon=used_up)
    refused("coupon_used_up", plan_version=version, coupon=used_up)
    refused(
        "coupon_currency_mismatch",
        plan_version=version,
        coupon=make_coupon(discount_type="amount", amount_off=Decimal(5), currency="USD"),
    )
    refused("coupon_not_applicable", plan_version=version, coupon=make_coupon(applies_to_plans=[other.plan]))
    refused("coupon_not_applicable", plan_version=version, coupon=make_coupon(applies_to_products=[make_product()]))


def test_coupon_restricted_to_the_plan_or_a_product_of_it_applies():
    version = make_flat_plan("29.00")
    product = version.prices.get().product

    by_plan = create(plan_version=version, coupon=make_coupon(applies_to_plans=[version.plan]))
    by_product = create(plan_version=version, coupon=make_coupon(applies_to_products=[product]))

    assert by_plan.coupon_id and by_product.coupon_id


def test_promotion_code_by_text_is_case_insensitive_and_counted():
    coupon = make_coupon()
    promo = promotion_code_create(actor=ACTOR, now=T0, coupon=coupon, code="SPRING20")

    subscription = create(plan_version=make_flat_plan("29.00"), promotion_code=" spring20 ")

    assert (subscription.coupon, subscription.promotion_code) == (coupon, promo)
    assert PromotionCode.objects.get().times_redeemed == 1
    assert Coupon.objects.get().times_redeemed == 1


def test_promotion_code_rules():
    version = make_flat_plan("29.00")
    coupon = make_coupon()

    def promo(code, **fields):
        return promotion_code_create(actor=ACTOR, now=T0, coupon=coupon, code=code, **fields)

    refused("promotion_code_not_found", plan_version=version, promotion_code="NOPE")
    refused("promotion_code_inactive", plan_version=version, promotion_code=promo("OFF", active=False))
    refused("promotion_code_expired", plan_version=version, promotion_code=promo("OLD", expires_at=utc(2026, 3, 1)))
    once = promo("ONCE", max_redemptions=1)
    customer = make_customer()
    create(plan_version=version, promotion_code=once, customer=customer)
    refused("promotion_code_used_up", plan_version=version, promotion_code=once)
    refused(
        "promotion_code_new_customers_only",
        plan_version=version,
        promotion_code=promo("NEW", first_time_only=True),
        customer=customer,
    )
    refused("coupon_and_promotion_code", plan_version=version, coupon=coupon, promotion_code="NEW")


def test_periods_start_on_whole_seconds():
    subscription = make_subscription(now=datetime(2026, 3, 5, 10, 20, 30, 987654, tzinfo=UTC))

    assert (subscription.current_period_start, subscription.current_period_end) == (
        datetime(2026, 3, 5, 10, 20, 30, tzinfo=UTC),
        datetime(2026, 4, 5, 10, 20, 30, tzinfo=UTC),
    )
