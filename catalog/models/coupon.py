from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from catalog.models.plan import Plan
from catalog.models.product import Product


class DiscountType(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    AMOUNT = "amount", _("Fixed amount off")


class CouponDuration(models.TextChoices):
    ONCE = "once", _("Once (first invoice only)")
    REPEATING = "repeating", _("Repeating (for a number of billing periods)")
    FOREVER = "forever", _("Forever")


class Coupon(models.Model):
    """A discount. Customers redeem it through a promotion code, or staff apply it directly."""

    code = models.SlugField(
        _("code"), max_length=100, unique=True, help_text=_("Internal reference, e.g. “launch-2026”.")
    )
    name = models.CharField(_("name"), max_length=200, help_text=_("As shown on invoices, e.g. “Launch discount 20%”."))
    discount_type = models.CharField(_("discount type"), max_length=10, choices=DiscountType.choices)
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
        help_text=_("For a percentage discount, e.g. 20 for 20%."),
    )
    amount_off = models.DecimalField(
        _("amount off"),
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text=_("For a fixed discount: the amount taken off each invoice it applies to."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, help_text=_("Fixed discounts only: the currency of the amount off.")
    )
    duration = models.CharField(
        _("duration"), max_length=10, choices=CouponDuration.choices, default=CouponDuration.ONCE
    )
    duration_in_periods = models.PositiveSmallIntegerField(
        _("number of periods"), null=True, blank=True, help_text=_("Repeating only: how many billing periods.")
    )
    redeem_by = models.DateTimeField(
        _("redeem by"), null=True, blank=True, help_text=_("Optional last moment to redeem.")
    )
    max_redemptions = models.PositiveIntegerField(
        _("maximum redemptions"), null=True, blank=True, help_text=_("Optional limit across all customers.")
    )
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0, editable=False)
    applies_to_plans = models.ManyToManyField(
        Plan,
        blank=True,
        related_name="coupons",
        verbose_name=_("only for plans"),
        help_text=_("Leave empty for every plan."),
    )
    applies_to_products = models.ManyToManyField(
        Product,
        blank=True,
        related_name="coupons",
        verbose_name=_("only for products"),
        help_text=_("Leave empty for every product."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.CheckConstraint(
                condition=(Q(discount_type="percent", percent_off__isnull=False, amount_off__isnull=True))
                | (Q(discount_type="amount", amount_off__isnull=False, percent_off__isnull=True)),
                name="catalog_coupon_one_kind_of_discount",
                violation_error_message=_("A coupon gives either a percentage off or an amount off, not both."),
            ),
            models.CheckConstraint(
                condition=Q(duration="repeating", duration_in_periods__gte=1)
                | (~Q(duration="repeating") & Q(duration_in_periods__isnull=True)),
                name="catalog_coupon_periods_only_when_repeating",
                violation_error_message=_("Only repeating coupons have a number of periods, and they need one."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PromotionCode(models.Model):
    """A code customers type in (e.g. “SPRING20”) that redeems a coupon."""

    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, related_name="promotion_codes", verbose_name=_("coupon")
    )
    code = models.CharField(
        _("code"), max_length=50, help_text=_("What customers type, e.g. SPRING20. Not case-sensitive.")
    )
    active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(_("maximum redemptions"), null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0, editable=False)
    first_time_only = models.BooleanField(
        _("new customers only"), default=False, help_text=_("Only customers without a previous paid invoice.")
    )
    created_at = models.DateTimeField(_("created"), editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("promotion code")
        verbose_name_plural = _("promotion codes")
        constraints = [models.UniqueConstraint(Upper("code"), name="catalog_promotioncode_code_ci_unique")]

    def __str__(self) -> str:
        return self.code
