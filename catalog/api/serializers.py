"""Input and output shapes of the catalog API.

Input serializers only check the *shape* of a request (types, formats, which ids exist) and hand
plain values to the services, which own every business rule. Output serializers only present.
Price-definition amounts are decimal strings next to the price's ``currency``; billed amounts
(quotes, a coupon's amount off) are money objects ``{"amount": "79.50", "currency": "EUR"}``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_site.api.fields import DECIMAL_STRING_SCHEMA, MONEY_SCHEMA, DecimalStringField, MoneyField
from billing_site.api.serializers import (
    INT_MAX,
    SMALL_INT_MAX,
    IdField,
    StrictInput,
    amount_text,
    money_dict,
    quantity_text,
    whole_number,
)
from catalog.domain.pricing import PackageRounding, PricingModel
from catalog.models import (
    Aggregation,
    BillableMetric,
    BillingInterval,
    Coupon,
    CouponDuration,
    DiscountType,
    Plan,
    PlanVersion,
    Price,
    Product,
    PromotionCode,
    TaxCategory,
    TaxRate,
    TaxRateCategory,
    UsageType,
)

DECIMAL_SCHEMA = {**DECIMAL_STRING_SCHEMA, "example": "7.00"}


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": "The usage metric's id or its code, e.g. 42 or “api_calls”.",
    }
)
class MetricRefField(serializers.RelatedField):
    """A usage metric by id (42) or by code ("api_calls"): CRMs know the code, the admin shows the id."""

    default_error_messages = {
        "does_not_exist": "There is no usage metric with the id or code “{value}”.",
        "incorrect_type": "Give the usage metric's id or code, such as “api_calls”.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", BillableMetric.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip():
            metric = self.get_queryset().filter(code=data.strip()).first()
            if metric is not None:
                return metric
        pk = whole_number(data)
        if pk is None and not isinstance(data, str):
            self.fail("incorrect_type")
        metric = self.get_queryset().filter(pk=pk).first() if pk is not None and 0 < pk < 2**63 else None
        if metric is None:
            self.fail("does_not_exist", value=data)
        return metric

    def to_representation(self, value):
        return value.pk


@extend_schema_field(DECIMAL_SCHEMA)
class PriceAmountField(serializers.Field):
    """A price-definition amount shown in the currency of the price it belongs to."""

    def __init__(self, *, currency_of, **kwargs):
        self.currency_of = currency_of
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return super().get_attribute(instance), self.currency_of(instance)

    def to_representation(self, value):
        amount, currency = value
        return amount_text(amount, currency)


@extend_schema_field({**DECIMAL_SCHEMA, "example": "5"})
class QuantityTextField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return quantity_text(value)


def amount_input(**kwargs: Any) -> DecimalStringField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    return DecimalStringField(**kwargs)


# --- products and metrics -----------------------------------------------------------------


class ProductInput(StrictInput):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    unit_label = serializers.CharField(required=False, allow_blank=True, max_length=50)
    tax_category = serializers.ChoiceField(choices=TaxCategory.choices, required=False)
    active = serializers.BooleanField(required=False)


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "description", "unit_label", "tax_category", "active", "created_at", "updated_at"]


class MetricInput(StrictInput):
    code = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    aggregation = serializers.ChoiceField(choices=Aggregation.choices, required=False)
    property = serializers.CharField(required=False, allow_blank=True, max_length=100)
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        required=False,
        help_text='Only count events whose properties match, e.g. {"region": ["eu-west", "eu-north"]}.',
    )
    active = serializers.BooleanField(required=False)


class MetricOutput(serializers.ModelSerializer):
    filters = serializers.DictField(child=serializers.ListField(child=serializers.JSONField()))

    class Meta:
        model = BillableMetric
        fields = [
            "id",
            "code",
            "name",
            "description",
            "aggregation",
            "property",
            "filters",
            "active",
            "created_at",
            "updated_at",
        ]


# --- prices -------------------------------------------------------------------------------


class TierInput(StrictInput):
    up_to = DecimalStringField(
        allow_null=True,
        help_text="Last unit of the tier (inclusive). null (or “inf”) on the last tier: no upper limit.",
    )
    unit_amount = amount_input(allow_null=False, help_text="Price per unit in this tier, e.g. “7.00”.")
    flat_amount = amount_input(allow_null=False, help_text="Added once when the quantity reaches this tier.")

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("up_to"), str) and data["up_to"].strip().lower() == "inf":
            data = {**data, "up_to": None}
        return super().to_internal_value(data)


class RateWindowInput(StrictInput):
    name = serializers.CharField(max_length=50, help_text="e.g. “peak”.")
    start = serializers.TimeField(
        source="start_time", help_text="Local time the window starts (inclusive), e.g. 07:00."
    )
    end = serializers.TimeField(source="end_time", help_text="Local time the window ends (exclusive), e.g. 23:00.")
    unit_amount = DecimalStringField(help_text="Rate inside this window, e.g. “0.15”.")


class PriceInput(StrictInput):
    product = IdField(queryset=Product.objects.all())
    plan_version = IdField(
        queryset=PlanVersion.objects.select_related("plan"),
        required=False,
        allow_null=True,
        help_text="The draft plan version this price belongs to. Omit for a standalone add-on.",
    )
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=200)
    currency = serializers.CharField(max_length=10, help_text="Three-letter ISO code, e.g. EUR.")
    pricing_model = serializers.ChoiceField(choices=[m.value for m in PricingModel])
    unit_amount = amount_input(help_text="Per unit or per package; up to 12 decimals, e.g. “0.000125”.")
    flat_amount = amount_input(help_text="Flat prices: the amount per period.")
    package_size = serializers.IntegerField(required=False, allow_null=True, max_value=INT_MAX)
    package_rounding = serializers.ChoiceField(choices=[r.value for r in PackageRounding], required=False)
    minimum_amount = amount_input(help_text="Optional minimum charge per period.")
    tiers = TierInput(many=True, required=False)
    rate_windows = RateWindowInput(
        many=True, required=False, help_text="Time-of-use windows (metered per-unit prices)."
    )
    interval = serializers.ChoiceField(choices=BillingInterval.choices, required=False)
    interval_count = serializers.IntegerField(required=False, max_value=SMALL_INT_MAX)
    usage_type = serializers.ChoiceField(choices=UsageType.choices, required=False)
    metric = MetricRefField(required=False, allow_null=True)
    trial_days = serializers.IntegerField(required=False, max_value=SMALL_INT_MAX)
    time_zone = serializers.CharField(required=False, max_length=64)
    active = serializers.BooleanField(required=False)


class TierOutput(serializers.Serializer):
    up_to = QuantityTextField(allow_null=True)
    unit_amount = PriceAmountField(currency_of=lambda tier: tier.price.currency)
    flat_amount = PriceAmountField(currency_of=lambda tier: tier.price.currency)


class RateWindowOutput(serializers.Serializer):
    name = serializers.CharField()
    start = serializers.TimeField(source="start_time", format="%H:%M")
    end = serializers.TimeField(source="end_time", format="%H:%M")
    unit_amount = PriceAmountField(currency_of=lambda window: window.price.currency)


def _price_currency(price: Price) -> str:
    return price.currency


class PriceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id")
    plan_version = serializers.IntegerField(source="plan_version_id", allow_null=True)
    is_addon = serializers.BooleanField(help_text="A standalone add-on (no plan version).")
    is_editable = serializers.BooleanField(help_text="False once its plan version is published.")
    nickname = serializers.CharField()
    currency = serializers.CharField()
    pricing_model = serializers.CharField()
    unit_amount = PriceAmountField(currency_of=_price_currency, allow_null=True)
    flat_amount = PriceAmountField(currency_of=_price_currency, allow_null=True)
    package_size = serializers.IntegerField(allow_null=True)
    package_rounding = serializers.CharField()
    minimum_amount = PriceAmountField(currency_of=_price_currency, allow_null=True)
    tiers = TierOutput(many=True, source="tiers.all")
    rate_windows = RateWindowOutput(many=True, source="rate_windows.all")
    interval = serializers.CharField()
    interval_count = serializers.IntegerField()
    usage_type = serializers.CharField()
    metric = serializers.IntegerField(source="metric_id", allow_null=True)
    metric_code = serializers.CharField(source="metric.code", allow_null=True, default=None)
    trial_days = serializers.IntegerField()
    time_zone = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class QuoteInput(StrictInput):
    quantity = DecimalStringField(required=False, help_text="Units to price, as a decimal string, e.g. “12”.")
    quantities = serializers.DictField(
        child=DecimalStringField(),
        required=False,
        help_text='Time-of-use prices: usage per rate, e.g. {"peak": "100", "off-peak": "50"}.',
    )

    def validate(self, attrs):
        if ("quantity" in attrs) == ("quantities" in attrs):
            message = 'Send either “quantity” (e.g. "12") or, for a time-of-use price, “quantities” per rate.'
            raise serializers.ValidationError({"quantity": [message]})
        return attrs


@extend_schema_field(MONEY_SCHEMA)
class MoneyOutputField(serializers.DictField):
    pass


class QuoteLineOutput(serializers.Serializer):
    label = serializers.CharField(help_text="A line a person can read, e.g. “Tier 2 (6–10): 5 × 6.50”.")
    quantity = serializers.CharField()
    unit_amount = serializers.CharField()
    flat_amount = serializers.CharField()
    amount = MoneyOutputField()
    tier = serializers.IntegerField(allow_null=True, help_text="Tier number (1-based) for tiered prices.")
    above = serializers.CharField(allow_null=True, help_text="The tier covers quantities above this…")
    up_to = serializers.CharField(allow_null=True, help_text="…up to and including this (null: no limit).")
    rate_window = serializers.CharField(allow_null=True, help_text="Time-of-use rate of this line.")


class QuoteOutput(serializers.Serializer):
    price = serializers.IntegerField()
    currency = serializers.CharField()
    quantity = serializers.CharField()
    amount = MoneyOutputField()
    breakdown = QuoteLineOutput(many=True)


def quote_data(*, price: Price, breakdown) -> dict[str, Any]:
    """The engine's breakdown as the API shows it (amounts as money, unit amounts at full precision)."""
    currency = breakdown.currency
    return {
        "price": price.pk,
        "currency": currency,
        "quantity": quantity_text(breakdown.quantity),
        "amount": money_dict(breakdown.total, currency),
        "breakdown": [
            {
                "label": line.label,
                "quantity": quantity_text(line.quantity),
                "unit_amount": amount_text(line.unit_amount, currency),
                "flat_amount": amount_text(line.flat_amount, currency),
                "amount": money_dict(line.amount, currency),
                "tier": line.tier,
                "above": quantity_text(line.above),
                "up_to": quantity_text(line.up_to),
                "rate_window": line.rate_window,
            }
            for line in breakdown.lines
        ],
    }


# --- plans --------------------------------------------------------------------------------


class PlanInput(StrictInput):
    code = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class PlanCreateInput(PlanInput):
    notes = serializers.CharField(required=False, allow_blank=True, help_text="Notes of the first draft version.")


class PlanVersionCreateInput(StrictInput):
    from_version = IdField(
        queryset=PlanVersion.objects.all(),
        required=False,
        allow_null=True,
        help_text="Copy the prices of this version. Default: the current published version.",
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class PlanVersionArchiveInput(StrictInput):
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Why, for the audit trail.")


class PlanVersionOutput(serializers.ModelSerializer):
    prices = PriceOutput(many=True, source="prices.all")

    class Meta:
        model = PlanVersion
        fields = ["id", "plan", "number", "status", "notes", "created_at", "published_at", "archived_at", "prices"]


class PlanOutput(serializers.ModelSerializer):
    versions = PlanVersionOutput(many=True, source="versions.all")

    class Meta:
        model = Plan
        fields = ["id", "code", "name", "description", "active", "created_at", "updated_at", "versions"]


# --- coupons ------------------------------------------------------------------------------


class CouponInput(StrictInput):
    code = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    discount_type = serializers.ChoiceField(choices=DiscountType.choices)
    percent_off = DecimalStringField(max_decimal_places=2, required=False, allow_null=True, help_text="e.g. “20”.")
    amount_off = MoneyField(
        max_decimal_places=6,
        required=False,
        allow_null=True,
        help_text='Fixed discounts: {"amount": "10.00", "currency": "EUR"}.',
    )
    duration = serializers.ChoiceField(choices=CouponDuration.choices, required=False)
    duration_in_periods = serializers.IntegerField(required=False, allow_null=True, max_value=SMALL_INT_MAX)
    redeem_by = serializers.DateTimeField(required=False, allow_null=True)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True, max_value=INT_MAX)
    applies_to_plans = IdField(queryset=Plan.objects.all(), many=True, required=False)
    applies_to_products = IdField(queryset=Product.objects.all(), many=True, required=False)
    active = serializers.BooleanField(required=False)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "amount_off" in values:
            money = values.pop("amount_off")
            values["amount_off"] = None if money is None else money.amount
            values["currency"] = "" if money is None else str(money.currency)
        return values


class CouponOutput(serializers.ModelSerializer):
    percent_off = DecimalStringField(read_only=True, allow_null=True)
    amount_off = serializers.SerializerMethodField()

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "name",
            "discount_type",
            "percent_off",
            "amount_off",
            "duration",
            "duration_in_periods",
            "redeem_by",
            "max_redemptions",
            "times_redeemed",
            "applies_to_plans",
            "applies_to_products",
            "active",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field({**MONEY_SCHEMA, "nullable": True})
    def get_amount_off(self, coupon: Coupon) -> dict[str, str] | None:
        if coupon.amount_off is None:
            return None
        return money_dict(coupon.amount_off, coupon.currency)


class PromotionCodeInput(StrictInput):
    code = serializers.CharField(max_length=50, help_text="What customers type, e.g. SPRING20. Not case-sensitive.")
    active = serializers.BooleanField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True, max_value=INT_MAX)
    first_time_only = serializers.BooleanField(required=False)


class PromotionCodeOutput(serializers.ModelSerializer):
    class Meta:
        model = PromotionCode
        fields = [
            "id",
            "coupon",
            "code",
            "active",
            "expires_at",
            "max_redemptions",
            "times_redeemed",
            "first_time_only",
            "created_at",
        ]


# --- tax rates ----------------------------------------------------------------------------


class TaxRateInput(StrictInput):
    name = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=10, help_text="Two-letter ISO code, e.g. NL.")
    region = serializers.CharField(required=False, allow_blank=True, max_length=50)
    percentage = DecimalStringField(max_decimal_places=4, help_text="e.g. “21” for 21%.")
    inclusive = serializers.BooleanField(required=False)
    category = serializers.ChoiceField(choices=TaxRateCategory.choices, required=False)
    product_tax_category = serializers.ChoiceField(choices=TaxCategory.choices, required=False)
    exemption_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)
    active = serializers.BooleanField(required=False)


class TaxRateOutput(serializers.ModelSerializer):
    percentage = DecimalStringField(read_only=True)

    class Meta:
        model = TaxRate
        fields = [
            "id",
            "name",
            "country",
            "region",
            "percentage",
            "inclusive",
            "category",
            "product_tax_category",
            "exemption_reason",
            "active",
            "created_at",
            "updated_at",
        ]
