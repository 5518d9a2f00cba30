"""Redeeming a coupon or a promotion code on a subscription."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from catalog.models import Coupon, CouponDuration, DiscountType, PlanVersion, PromotionCode
from subscriptions.models import Customer, Subscription
from subscriptions.services.lifecycle.items import PlannedItem


def _error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def _promotion_code(value: PromotionCode | str) -> PromotionCode:
    if isinstance(value, PromotionCode):
        return PromotionCode.objects.select_for_update(of=("self",)).select_related("coupon").get(pk=value.pk)
    code = str(value).strip()
    promo = (
        PromotionCode.objects.select_for_update(of=("self",)).select_related("coupon").filter(code__iexact=code).first()
    )
    if promo is None:
        raise _error("promotion_code_not_found", "promotion_code", f"There is no promotion code “{code}”.")
    return promo


def _check_promotion_code(promo: PromotionCode, *, customer: Customer, now: dt.datetime) -> None:
    field = "promotion_code"
    if not promo.active:
        raise _error("promotion_code_inactive", field, f"The promotion code {promo.code} is no longer active.")
    if promo.expires_at is not None and now > promo.expires_at:
        raise _error(
            "promotion_code_expired", field, f"The promotion code {promo.code} expired on {promo.expires_at:%Y-%m-%d}."
        )
    if promo.max_redemptions is not None and promo.times_redeemed >= promo.max_redemptions:
        raise _error(
            "promotion_code_used_up", field, f"The promotion code {promo.code} has been used as often as it may be."
        )
    # "New customers only": until invoices exist, a customer with an earlier subscription is not new.
    if promo.first_time_only and Subscription.objects.filter(customer=customer).exists():
        raise _error(
            "promotion_code_new_customers_only", field, f"The promotion code {promo.code} is for new customers only."
        )


def _check_coupon(
    coupon: Coupon,
    *,
    field: str,
    plan_version: PlanVersion | None,
    items: Sequence[PlannedItem],
    currency: str,
    now: dt.datetime,
) -> None:
    if not coupon.active:
        raise _error("coupon_inactive", field, f"The coupon “{coupon.name}” is no longer active.")
    if coupon.redeem_by is not None and now > coupon.redeem_by:
        raise _error(
            "coupon_expired", field, f"The coupon “{coupon.name}” could be redeemed until {coupon.redeem_by:%Y-%m-%d}."
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise _error("coupon_used_up", field, f"The coupon “{coupon.name}” has been redeemed as often as it may be.")
    if coupon.discount_type == DiscountType.AMOUNT and coupon.currency != currency:
        raise _error(
            "coupon_currency_mismatch",
            field,
            f"The coupon “{coupon.name}” takes {coupon.currency} off, but this subscription is billed in {currency}.",
        )
    plans = set(coupon.applies_to_plans.values_list("pk", flat=True))
    if plans and (plan_version is None or plan_version.plan_id not in plans):
        raise _error(
            "coupon_not_applicable", field, f"The coupon “{coupon.name}” is only for other plans than this one."
        )
    products = set(coupon.applies_to_products.values_list("pk", flat=True))
    if products and not any(item.price.product_id in products for item in items):
        raise _error(
            "coupon_not_applicable", field, f"The coupon “{coupon.name}” is only for products this subscription lacks."
        )


def discount_redeem(
    *,
    coupon: Coupon | None,
    promotion_code: PromotionCode | str | None,
    customer: Customer,
    plan_version: PlanVersion | None,
    items: Sequence[PlannedItem],
    currency: str,
    actor: Actor,
    now: dt.datetime,
) -> tuple[Coupon | None, PromotionCode | None, int | None]:
    """Check and count the redemption (coupon rows locked, so limits hold under concurrency).

    Returns the coupon, the promotion code and ``coupon_periods_left``: the billing periods, the
    current one included, that still get the discount (``None``: forever). Call inside the
    transaction of the subscription being created.
    """
    if coupon is None and promotion_code in (None, ""):
        return None, None, None
    if coupon is not None and promotion_code not in (None, ""):
        raise _error("coupon_and_promotion_code", "coupon", "Give a coupon or a promotion code, not both.")
    promo: PromotionCode | None = None
    if promotion_code not in (None, ""):
        assert promotion_code is not None
        promo = _promotion_code(promotion_code)
        _check_promotion_code(promo, customer=customer, now=now)
        coupon = promo.coupon
    assert coupon is not None
    coupon = Coupon.objects.select_for_update(of=("self",)).get(pk=coupon.pk)
    _check_coupon(
        coupon,
        field="promotion_code" if promo else "coupon",
        plan_version=plan_version,
        items=items,
        currency=currency,
        now=now,
    )
    for obj, action in ((coupon, "coupon.redeemed"), (promo, "promotion_code.redeemed")):
        if obj is None:
            continue
        before = obj.times_redeemed
        obj.times_redeemed = before + 1
        obj.save(update_fields=["times_redeemed"])
        audit_record(
            actor=actor,
            action=action,
            obj=obj,
            now=now,
            before={"times_redeemed": before},
            after={"times_redeemed": before + 1},
            reason=f"Redeemed by {customer}",
        )
    periods_left = {
        CouponDuration.ONCE: 1,
        CouponDuration.REPEATING: coupon.duration_in_periods,
        CouponDuration.FOREVER: None,
    }[CouponDuration(coupon.duration)]
    return coupon, promo, periods_left
