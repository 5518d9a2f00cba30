"""Query-string filters of the catalog lists (django-filter); a bad value is a 400, never ignored."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError

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


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0): django-filter's default quietly ignores "maybe" and returns everything."""

    widget = forms.TextInput

    def to_python(self, value):
        text = "" if value is None else str(value).strip().lower()
        if not text:
            return None
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class IdFilter(filters.NumberFilter):
    """An object id: a whole number within the id column's range (a huge one is a 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


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
