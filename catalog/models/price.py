from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from moneyed import Money

from catalog.domain.pricing import PackageRounding, PricingModel
from catalog.models.metric import BillableMetric
from catalog.models.plan import PlanVersion
from catalog.models.product import Product

# Unit prices may carry 12 decimal places (0.000125 EUR per API call is a real price).
AMOUNT_MAX_DIGITS = 28
AMOUNT_DECIMAL_PLACES = 12


class BillingInterval(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class UsageType(models.TextChoices):
    LICENSED = "licensed", _("Licensed (billed in advance for a quantity)")
    METERED = "metered", _("Metered (billed in arrears for measured usage)")


PRICING_MODEL_CHOICES = [
    (PricingModel.FLAT.value, _("Flat fee")),
    (PricingModel.PER_UNIT.value, _("Per unit")),
    (PricingModel.PACKAGE.value, _("Package (per bundle of N units)")),
    (PricingModel.GRADUATED.value, _("Tiered: graduated (each tier priced separately)")),
    (PricingModel.VOLUME.value, _("Tiered: volume (all units at the tier reached)")),
]
PACKAGE_ROUNDING_CHOICES = [
    (PackageRounding.UP.value, _("Round up (a started package is billed)")),
    (PackageRounding.DOWN.value, _("Round down (only complete packages are billed)")),
]


class Price(models.Model):
    """How much a product costs: a charge within a plan version, or a standalone add-on.

    One ``currency`` for all amounts of the price (and its tiers); see docs/adr/0003.
    """

    plan_version = models.ForeignKey(
        PlanVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prices",
        verbose_name=_("plan version"),
        help_text=_("The plan version this price belongs to. Leave empty for an add-on sold on its own."),
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices", verbose_name=_("product"))
    nickname = models.CharField(
        _("name on invoice"), max_length=200, blank=True, help_text=_("Optional. Defaults to the product name.")
    )
    currency = models.CharField(_("currency"), max_length=3, help_text=_("Three-letter code, e.g. EUR, USD, SEK."))
    pricing_model = models.CharField(
        _("pricing model"),
        max_length=20,
        choices=PRICING_MODEL_CHOICES,
        default=PricingModel.PER_UNIT.value,
        help_text=_(
            "Flat: one amount per period. Per unit: quantity × unit amount. Package: per started (or complete) "
            "bundle. Graduated: each tier prices only its own units. Volume: every unit at the price of the tier "
            "the total reaches."
        ),
    )
    unit_amount = models.DecimalField(
        _("unit amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "Price of one unit (per unit), of one package (package), or the off-peak rate (time-of-use). "
            "Up to 12 decimals, e.g. 0.000125."
        ),
    )
    flat_amount = models.DecimalField(
        _("flat amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("The fixed amount per period (flat fee only)."),
    )
    package_size = models.PositiveIntegerField(
        _("package size"), null=True, blank=True, help_text=_("Units in one package, e.g. 1000 (package only).")
    )
    package_rounding = models.CharField(
        _("package rounding"),
        max_length=4,
        choices=PACKAGE_ROUNDING_CHOICES,
        default=PackageRounding.UP.value,
        help_text=_("Package only: is a started package billed?"),
    )
    minimum_amount = models.DecimalField(
        _("minimum charge per period"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Optional. If the period's charge is lower, the customer pays this amount."),
    )
    interval = models.CharField(
        _("billing interval"), max_length=10, choices=BillingInterval.choices, default=BillingInterval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(
        _("every"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Bill every N intervals, e.g. 3 with “Month” for quarterly."),
    )
    usage_type = models.CharField(_("usage type"), max_length=10, choices=UsageType.choices, default=UsageType.LICENSED)
    metric = models.ForeignKey(
        BillableMetric,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prices",
        verbose_name=_("usage metric"),
        help_text=_("Metered prices only: the meter whose usage is billed."),
    )
    trial_days = models.PositiveSmallIntegerField(
        _("trial days"), default=0, help_text=_("Free days before the first charge. 0 for no trial.")
    )
    time_zone = models.CharField(
        _("time zone for time-of-use"),
        max_length=64,
        default="UTC",
        help_text=_("Time-of-use windows are read in this time zone, e.g. Europe/Amsterdam."),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive prices accept no new subscriptions."))
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["plan_version", "product__name", "currency", "id"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_count__gte=1),
                name="catalog_price_interval_count_positive",
                violation_error_message=_("Bill at least every 1 interval."),
            ),
            models.CheckConstraint(
                condition=Q(usage_type="licensed") | Q(metric__isnull=False),
                name="catalog_price_metered_has_metric",
                violation_error_message=_("A metered price needs a usage metric."),
            ),
        ]

    def __str__(self) -> str:
        label = self.nickname or (self.product.name if self.product_id else "Price")
        return f"{label} · {self.currency} {self.get_pricing_model_display()}"

    @property
    def is_addon(self) -> bool:
        return self.plan_version_id is None

    @property
    def is_editable(self) -> bool:
        """Prices of a published plan version never change; add-ons and drafts can."""
        return self.plan_version is None or self.plan_version.is_editable

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


class Tier(models.Model):
    """A step of a tiered price. ``up_to`` is inclusive; the last tier has no upper limit."""

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("price"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    up_to = models.DecimalField(
        _("up to (inclusive)"),
        max_digits=28,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("The last unit in this tier. Leave empty on the last tier (no upper limit)."),
    )
    unit_amount = models.DecimalField(
        _("unit amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Price per unit in this tier."),
    )
    flat_amount = models.DecimalField(
        _("flat amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Added once when the quantity reaches this tier."),
    )

    class Meta:
        ordering = ["price_id", "position", "id"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return f"up to {self.up_to}" if self.up_to is not None else "and above"


class RateWindow(models.Model):
    """A time-of-use window of a metered price, e.g. peak 07:00–23:00 at 0.15 per kWh."""

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="rate_windows", verbose_name=_("price"))
    name = models.CharField(_("name"), max_length=50, help_text=_("e.g. “peak”."))
    start_time = models.TimeField(_("from"), help_text=_("Local time the window starts (inclusive), e.g. 07:00."))
    end_time = models.TimeField(_("until"), help_text=_("Local time the window ends (exclusive), e.g. 23:00."))
    unit_amount = models.DecimalField(
        _("unit amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Rate inside this window."),
    )

    class Meta:
        ordering = ["price_id", "start_time", "id"]
        verbose_name = _("time-of-use window")
        verbose_name_plural = _("time-of-use windows")

    def __str__(self) -> str:
        return f"{self.name} {self.start_time:%H:%M}–{self.end_time:%H:%M}"
