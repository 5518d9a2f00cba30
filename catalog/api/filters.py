"""Query-string filters of the catalog lists (django-filter); a bad value is a 400, never ignored."""

from __future__ import annotations

import django_filters as filters

from billing_site.api.filters import BooleanFilter, IdFilter
from catalog.domain.pricing import PricingModel
from catalog.models import (
    Aggregation,
    BillableMetric,
    Coupon,
    Plan,
    Price,
    Product,
    TaxCategory,
    TaxRate,
    TaxRateCategory,
    UsageType,
)


class ProductFilter(filters.FilterSet):
    active = BooleanFilter(help_text="Only active (true) or inactive (false) products.")
    tax_category = filters.ChoiceFilter(choices=TaxCategory.choices)

    class Meta:
        model = Product
        fields = ["active", "tax_category"]


class MetricFilter(filters.FilterSet):
    code = filters.CharFilter(help_text="Exact metric code, e.g. api_calls.")
    aggregation = filters.ChoiceFilter(choices=Aggregation.choices)
    active = BooleanFilter()

    class Meta:
        model = BillableMetric
        fields = ["code", "aggregation", "active"]


class PlanFilter(filters.FilterSet):
    code = filters.CharFilter(help_text="Exact plan code, e.g. team.")
    active = BooleanFilter()

    class Meta:
        model = Plan
        fields = ["code", "active"]


class PriceFilter(filters.FilterSet):
    product = IdFilter(field_name="product_id", help_text="Product id.")
    plan = IdFilter(field_name="plan_version__plan_id", help_text="Plan id (any of its versions).")
    plan_version = IdFilter(field_name="plan_version_id", help_text="Plan version id.")
    currency = filters.CharFilter(lookup_expr="iexact", help_text="Three-letter code, e.g. EUR.")
    usage_type = filters.ChoiceFilter(choices=UsageType.choices)
    pricing_model = filters.ChoiceFilter(choices=[(m.value, m.value) for m in PricingModel])
    active = BooleanFilter()
    addon = BooleanFilter(
        field_name="plan_version",
        lookup_expr="isnull",
        help_text="true: only standalone add-ons; false: only plan prices.",
    )

    class Meta:
        model = Price
        fields = ["product", "plan", "plan_version", "currency", "usage_type", "pricing_model", "active", "addon"]


class CouponFilter(filters.FilterSet):
    code = filters.CharFilter(help_text="Exact coupon code.")
    active = BooleanFilter()

    class Meta:
        model = Coupon
        fields = ["code", "active"]


class TaxRateFilter(filters.FilterSet):
    country = filters.CharFilter(lookup_expr="iexact", help_text="Two-letter country code, e.g. NL.")
    region = filters.CharFilter(lookup_expr="iexact")
    category = filters.ChoiceFilter(choices=TaxRateCategory.choices)
    active = BooleanFilter()

    class Meta:
        model = TaxRate
        fields = ["country", "region", "category", "active"]
