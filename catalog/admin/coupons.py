"""Coupons with their promotion codes inline, and promotion codes on their own (to look one up)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from billing_site.errors import DomainError
from catalog.admin.base import RowError, ServiceModelAdmin, form_values, now, staff_actor
from catalog.admin.inlines import EditableInline
from catalog.models import Coupon, PromotionCode
from catalog.services.coupons import (
    COUPON_FIELDS,
    COUPON_FIELDS_AFTER_REDEMPTION,
    PROMOTION_CODE_FIELDS,
    coupon_create,
    coupon_update,
    promotion_code_create,
    promotion_code_update,
)

PROMOTION_CODE_HELP = {
    "coupon": _("The coupon whose discount this code gives."),
    "active": _("Untick to stop the code from being accepted."),
    "expires_at": _("Optional. After this moment the code is no longer accepted."),
    "max_redemptions": _("Optional. How many times this code can be used in total."),
}


class PromotionCodeInline(EditableInline):
    model = PromotionCode
    fields = ["code", "active", "expires_at", "max_redemptions", "first_time_only", "times_redeemed"]
    readonly_fields = ["times_redeemed"]
    can_delete = False
    help_texts = PROMOTION_CODE_HELP
    intro = _("Codes customers type to get this coupon's discount. To stop a code, untick “active”.")


def _save_promotion_codes(request, coupon: Coupon, formsets) -> None:
    for formset in formsets:
        if formset.prefix != "promotion_codes":
            continue
        for row in formset.forms:
            if not row.cleaned_data or not row.has_changed():
                continue
            try:
                if row.instance.pk:
                    values = form_values(row, PROMOTION_CODE_FIELDS - {"coupon"}, change=True)
                    promotion_code_update(promotion_code=row.instance, actor=staff_actor(request), now=now(), **values)
                else:
                    values = form_values(row, PROMOTION_CODE_FIELDS - {"coupon"}, change=False)
                    promotion_code_create(coupon=coupon, actor=staff_actor(request), now=now(), **values)
            except DomainError as error:
                raise RowError(row, error) from error


@admin.register(Coupon)
class CouponAdmin(ServiceModelAdmin):
    inlines = [PromotionCodeInline]
    fieldsets = [
        (None, {"fields": ["name", "code", "active"]}),
        (
            _("Discount"),
            {
                "fields": ["discount_type", "percent_off", "amount_off", "currency"],
                "description": _(
                    "A percentage off (fill in “percent off”) or a fixed amount off (amount and currency)."
                ),
            },
        ),
        (_("How long it applies"), {"fields": ["duration", "duration_in_periods"]}),
        (
            _("Limits"),
            {"fields": ["redeem_by", "max_redemptions", "times_redeemed", "applies_to_plans", "applies_to_products"]},
        ),
    ]
    readonly_fields = ["times_redeemed"]
    filter_horizontal = ["applies_to_plans", "applies_to_products"]
    help_texts = {
        "discount_type": _("Percentage off, or a fixed amount off each invoice the coupon applies to."),
        "duration": _("Which invoices get the discount: only the first, a number of periods, or all of them."),
        "active": _("Inactive coupons cannot be redeemed."),
    }
    list_display = ["name", "code", "discount", "duration", "times_redeemed", "max_redemptions", "redeem_by", "active"]
    list_filter = ["active", "discount_type", "duration"]
    search_fields = ["name", "code", "promotion_codes__code"]

    @admin.display(description=_("discount"))
    def discount(self, coupon: Coupon) -> str:
        if coupon.percent_off is not None:
            return f"{coupon.percent_off.normalize():f}%"
        if coupon.amount_off is not None:
            from catalog.admin.formatting import unit_amount_text

            return unit_amount_text(coupon.amount_off, coupon.currency)
        return "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.times_redeemed:
            # Customers were promised what it gives: only these stay editable (as in coupon_update).
            locked = [
                *(COUPON_FIELDS - COUPON_FIELDS_AFTER_REDEMPTION),
                "applies_to_plans",
                "applies_to_products",
            ]
            readonly += [name for name in sorted(locked) if name not in readonly]
        return readonly

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, COUPON_FIELDS, change=change)
        related = {
            name: list(form.cleaned_data[name])
            for name in ("applies_to_plans", "applies_to_products")
            if name in form.cleaned_data and (not change or name in form.changed_data)
        }
        if not change:
            coupon = coupon_create(actor=staff_actor(request), now=now(), **related, **fields)
        elif fields or related:
            coupon = coupon_update(coupon=form.instance, actor=staff_actor(request), now=now(), **related, **fields)
        else:
            coupon = form.instance
        _save_promotion_codes(request, coupon, formsets)
        return coupon


@admin.register(PromotionCode)
class PromotionCodeAdmin(ServiceModelAdmin):
    fields = ["coupon", "code", "active", "expires_at", "max_redemptions", "first_time_only", "times_redeemed"]
    readonly_fields = ["times_redeemed"]
    help_texts = PROMOTION_CODE_HELP
    list_display = ["code", "coupon", "active", "times_redeemed", "max_redemptions", "expires_at", "first_time_only"]
    list_filter = ["active", "first_time_only"]
    search_fields = ["code", "coupon__name", "coupon__code"]
    list_select_related = ["coupon"]

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, PROMOTION_CODE_FIELDS, change=change)
        if change:
            return promotion_code_update(promotion_code=form.instance, actor=staff_actor(request), now=now(), **fields)
        return promotion_code_create(actor=staff_actor(request), now=now(), **fields)
