"""Products and usage metrics."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from catalog.admin.base import ServiceModelAdmin, form_values, now, staff_actor
from catalog.models import BillableMetric, Product
from catalog.services.products import (
    METRIC_FIELDS,
    PRODUCT_FIELDS,
    metric_create,
    metric_update,
    product_create,
    product_update,
)


@admin.register(Product)
class ProductAdmin(ServiceModelAdmin):
    fields = ["name", "description", "unit_label", "tax_category", "active"]
    readonly_fields = ["created_at", "updated_at"]
    list_display = ["name", "unit_label", "tax_category", "price_count", "active"]
    list_filter = ["active", "tax_category"]
    search_fields = ["name", "description", "unit_label"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_prices=Count("prices"))

    @admin.display(description=_("prices"), ordering="n_prices")
    def price_count(self, product: Product) -> int:
        return product.n_prices

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, PRODUCT_FIELDS, change=change)
        if change:
            return product_update(product=form.instance, actor=staff_actor(request), now=now(), **fields)
        return product_create(actor=staff_actor(request), now=now(), **fields)


@admin.register(BillableMetric)
class BillableMetricAdmin(ServiceModelAdmin):
    fields = ["name", "code", "description", "aggregation", "property", "filters", "active"]
    help_texts = {
        "description": _("Optional. What is measured, for colleagues."),
        "active": _("Inactive metrics are not offered for new prices."),
    }
    list_display = ["name", "code", "aggregation", "property", "active"]
    list_filter = ["active", "aggregation"]
    search_fields = ["name", "code", "property", "description"]

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, METRIC_FIELDS, change=change)
        if change:
            return metric_update(metric=form.instance, actor=staff_actor(request), now=now(), **fields)
        return metric_create(actor=staff_actor(request), now=now(), **fields)
