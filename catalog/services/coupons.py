"""Coupons and promotion codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import validate_currency
from billing_site.services.audit import audit_record, changed_fields, snapshot
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import apply_changes, full_clean_or_raise
from catalog.models import Coupon, CouponDuration, DiscountType, PromotionCode

COUPON_FIELDS = {
    "code",
    "name",
    "discount_type",
    "percent_off",
    "amount_off",
    "currency",
    "duration",
    "duration_in_periods",
    "redeem_by",
    "max_redemptions",
    "active",
}
# Once a coupon has been redeemed, what it gives cannot change (customers were promised it).
COUPON_FIELDS_AFTER_REDEMPTION = {"name", "redeem_by", "max_redemptions", "active"}
PROMOTION_CODE_FIELDS = {"coupon", "code", "active", "expires_at", "max_redemptions", "first_time_only"}


def coupon_validate(coupon: Coupon) -> None:
    if coupon.currency:
        coupon.currency = coupon.currency.strip().upper()
    if coupon.discount_type == DiscountType.PERCENT:
        if coupon.percent_off is None:
            raise DomainError(
                "percent_off_required", "Enter the percentage off, e.g. 20.", fields={"percent_off": "Required."}
            )
        if coupon.amount_off is not None or coupon.currency:
            raise DomainError(
                "amount_off_not_allowed",
                "A percentage coupon has no amount off or currency: clear them.",
                fields={"amount_off": "Only for fixed-amount coupons."},
            )
    else:
        if coupon.amount_off is None or not coupon.currency:
            raise DomainError(
                "amount_off_required",
                "A fixed-amount coupon needs the amount off and its currency.",
                fields={"amount_off": "Required.", "currency": "Required."},
            )
        if coupon.percent_off is not None:
            raise DomainError(
                "percent_off_not_allowed",
                "A fixed-amount coupon has no percentage: clear it.",
                fields={"percent_off": "Only for percentage coupons."},
            )
        coupon.currency = validate_currency(coupon.currency)
    if coupon.duration == CouponDuration.REPEATING:
        if not coupon.duration_in_periods:
            raise DomainError(
                "duration_in_periods_required",
                "A repeating coupon needs the number of billing periods it lasts.",
                fields={"duration_in_periods": "Required for repeating coupons."},
            )
    elif coupon.duration_in_periods is not None:
        raise DomainError(
            "duration_in_periods_not_allowed",
            "Only repeating coupons have a number of periods: clear it.",
            fields={"duration_in_periods": "Only for repeating coupons."},
        )
    full_clean_or_raise(coupon)


@transaction.atomic
def coupon_create(
    *, actor: Actor, now: dt.datetime, applies_to_plans=(), applies_to_products=(), **fields: Any
) -> Coupon:
    coupon = Coupon(created_at=now, updated_at=now)
    apply_changes(coupon, fields, allowed=COUPON_FIELDS)
    coupon_validate(coupon)
    coupon.save()
    coupon.applies_to_plans.set(applies_to_plans)
    coupon.applies_to_products.set(applies_to_products)
    audit_record(actor=actor, action="coupon.created", obj=coupon, now=now, after=snapshot(coupon))
    return coupon


@transaction.atomic
def coupon_update(
    *, coupon: Coupon, actor: Actor, now: dt.datetime, applies_to_plans=None, applies_to_products=None, **changes: Any
) -> Coupon:
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    before = snapshot(coupon)
    allowed = COUPON_FIELDS if coupon.times_redeemed == 0 else COUPON_FIELDS_AFTER_REDEMPTION
    restricted = set(changes) - allowed
    if restricted or (coupon.times_redeemed and (applies_to_plans is not None or applies_to_products is not None)):
        raise DomainError(
            "coupon_redeemed",
            f"“{coupon.name}” has already been redeemed, so what it gives cannot change. Create a new coupon instead.",
            fields={name: "Cannot change after redemption." for name in restricted},
        )
    apply_changes(coupon, changes, allowed=allowed)
    coupon_validate(coupon)
    coupon.updated_at = now
    coupon.save()
    if applies_to_plans is not None:
        coupon.applies_to_plans.set(applies_to_plans)
    if applies_to_products is not None:
        coupon.applies_to_products.set(applies_to_products)
    old, new = changed_fields(before, snapshot(coupon))
    audit_record(actor=actor, action="coupon.updated", obj=coupon, now=now, before=old, after=new)
    return coupon


def _validate_promotion_code(promo: PromotionCode) -> None:
    promo.code = (promo.code or "").strip().upper()
    if not promo.code:
        raise DomainError(
            "code_required", "Enter the code customers type, e.g. SPRING20.", fields={"code": "Required."}
        )
    clash = PromotionCode.objects.filter(code__iexact=promo.code).exclude(pk=promo.pk)
    if clash.exists():
        raise DomainError(
            "promotion_code_taken", f"The code {promo.code} already exists.", fields={"code": "Already used."}
        )
    full_clean_or_raise(promo)


@transaction.atomic
def promotion_code_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> PromotionCode:
    return record_create(
        PromotionCode(created_at=now),
        fields=fields,
        allowed=PROMOTION_CODE_FIELDS,
        actor=actor,
        now=now,
        action="promotion_code.created",
        validate=_validate_promotion_code,
    )


@transaction.atomic
def promotion_code_update(
    *, promotion_code: PromotionCode, actor: Actor, now: dt.datetime, **changes: Any
) -> PromotionCode:
    return record_update(
        PromotionCode.objects.select_for_update().get(pk=promotion_code.pk),
        changes=changes,
        allowed=PROMOTION_CODE_FIELDS,
        actor=actor,
        now=now,
        action="promotion_code.updated",
        validate=_validate_promotion_code,
        check=_check_promotion_code_not_redeemed,
    )


def _check_promotion_code_not_redeemed(promo: PromotionCode, changed: list[str]) -> None:
    if promo.times_redeemed and {"code", "coupon"} & set(changed):
        raise DomainError("promotion_code_redeemed", "A redeemed promotion code cannot get another code or coupon.")
