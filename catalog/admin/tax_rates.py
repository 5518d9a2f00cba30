"""Tax rates (owned by Finance; Pricing may add and change them too)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from catalog.admin.base import ServiceModelAdmin, form_values, now, staff_actor
from catalog.models import TaxRate
from catalog.services.tax_rates import TAX_RATE_FIELDS, tax_rate_create, tax_rate_update


@admin.register(TaxRate)
class TaxRateAdmin(ServiceModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "country", "region", "percentage", "inclusive"]}),
        (_("Which invoices it applies to"), {"fields": ["category", "product_tax_category", "exemption_reason"]}),
        (None, {"fields": ["active"]}),
    ]
    help_texts = {
        "category": _(
            "The VAT category printed on e-invoices. Zero rated, exempt and reverse charge rates are 0% and, "
            "except zero rated, need an exemption reason."
        ),
        "active": _("Inactive rates are not used for new invoices."),
    }
    list_display = [
        "name",
        "country",
        "region",
        "percentage",
        "category",
        "inclusive",
        "product_tax_category",
        "active",
    ]
    list_filter = ["country", "category", "inclusive", "product_tax_category", "active"]
    search_fields = ["name", "country", "region", "exemption_reason"]

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, TAX_RATE_FIELDS, change=change)
        if change:
            return tax_rate_update(tax_rate=form.instance, actor=staff_actor(request), now=now(), **fields)
        return tax_rate_create(actor=staff_actor(request), now=now(), **fields)
