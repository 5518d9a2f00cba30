"""Prices: tiers and time-of-use windows edited inline, saved by one service call; a price calculator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing_site.errors import DomainError
from catalog.admin.base import (
    ServiceForm,
    ServiceModelAdmin,
    form_values,
    now,
    plain_number,
    staff_actor,
)
from catalog.admin.formatting import interval_text, money_text, price_summary, status_badge, unit_amount_text
from catalog.admin.inlines import EditableInline
from catalog.domain import pricing
from catalog.models import PlanVersion, PlanVersionStatus, Price, RateWindow, Tier
from catalog.selectors import price_quote
from catalog.services.prices import PRICE_FIELDS, price_create, price_delete, price_spec, price_update

TIER_FIELDS = ["up_to", "unit_amount", "flat_amount"]
RATE_WINDOW_FIELDS = ["name", "start_time", "end_time", "unit_amount"]


class TierInline(EditableInline):
    model = Tier
    fields = TIER_FIELDS
    intro = _(
        "For graduated and volume prices only. One row per tier, from the lowest quantity up. "
        "“Up to” is the last unit of the tier (inclusive); leave it empty on the last tier so that every "
        "quantity has a price. Example: up to 5 at 7.00, up to 10 at 6.50, then (empty) at 6.00."
    )

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


class RateWindowInline(EditableInline):
    model = RateWindow
    fields = RATE_WINDOW_FIELDS
    intro = _(
        "Metered per-unit prices only. Usage inside a window is billed at the window's rate; usage at all "
        "other times at the price's unit amount (the “off-peak” rate). Times are in the price's time zone."
    )


class PriceForm(ServiceForm):
    class Meta:
        model = Price
        fields = "__all__"


class PriceStatusFilter(admin.SimpleListFilter):
    title = _("sold as")
    parameter_name = "sold_as"

    def lookups(self, request, model_admin):
        return [
            ("addon", _("Add-on (no plan)")),
            ("draft", _("In a draft plan version")),
            ("published", _("In a published plan version")),
            ("archived", _("In an archived plan version")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "addon":
            return queryset.filter(plan_version__isnull=True)
        if value in PlanVersionStatus.values:
            return queryset.filter(plan_version__status=value)
        return queryset


# --- the calculator ------------------------------------------------------------------------

QUANTITY_ERRORS = {
    "required": _("Enter a quantity, such as 12."),
    "invalid": _("Enter the quantity as a number, such as 12 or 12.5 (with a dot for decimals)."),
    "min_value": _("A quantity cannot be negative. Enter 0 or more."),
    "max_digits": _("That quantity is too large to price."),
    "max_whole_digits": _("That quantity is too large to price."),
    "max_decimal_places": _("Use at most 12 decimal places."),
}


def _quantity_field(label, help_text="") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        min_value=Decimal(0),
        max_digits=30,
        decimal_places=12,
        error_messages=QUANTITY_ERRORS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 12}),
    )


class CalculatorForm(forms.Form):
    """One quantity, or for a time-of-use price one quantity per rate."""

    def __init__(self, *args, rates: list[tuple[str, str]] | None = None, unit_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if rates:
            for key, label in rates:
                self.fields[key] = _quantity_field(label)
        else:
            help_text = _("Counted in: %(unit)s. For example 12, or 12.5.") % {"unit": unit_label} if unit_label else ""
            self.fields["quantity"] = _quantity_field(_("Quantity"), help_text)


def _rates(price: Price) -> list[tuple[str, str, RateWindow | None]]:
    windows = list(price.rate_windows.all())
    if not windows:
        return []
    base = price_spec(price).base_rate_name
    rates: list[tuple[str, str, RateWindow | None]] = [
        (
            f"rate_{number}",
            _("Usage in “%(name)s” (%(start)s–%(end)s)")
            % {"name": w.name, "start": f"{w.start_time:%H:%M}", "end": f"{w.end_time:%H:%M}"},
            w,
        )
        for number, w in enumerate(windows, start=1)
    ]
    rates.append(("rate_base", _("Usage at all other times (“%(name)s”)") % {"name": base}, None))
    return rates


def _short_label(line: pricing.BreakdownLine) -> str:
    """The line's own label without the sum the other columns show: "Tier 1 (1–5)"."""
    if line.tier is not None or line.rate_window is not None:
        return line.label.split(": ", 1)[0]
    return line.label


def _calculate(price: Price, form: CalculatorForm, rates) -> dict[str, Any] | None:
    if not form.is_valid():
        return None
    try:
        if rates:
            spec = price_spec(price)
            quantities = {
                (window.name if window is not None else spec.base_rate_name): form.cleaned_data[key]
                for key, _label, window in rates
            }
            breakdown = pricing.time_of_use_amount(spec, quantities)
        else:
            breakdown = price_quote(price=price, quantity=form.cleaned_data["quantity"])
    except DomainError as error:
        field = next((name for name in error.fields if name in form.fields), None)
        form.add_error(field, error.message)
        return None
    currency = breakdown.currency
    return {
        "quantity": plain_number(breakdown.quantity),
        "total": money_text(breakdown.total, currency),
        "lines": [
            {
                "label": _short_label(line),
                "units": plain_number(line.quantity),
                "unit_amount": unit_amount_text(line.unit_amount, currency),
                "flat_amount": money_text(line.flat_amount, currency) if line.flat_amount else "—",
                "amount": money_text(line.amount, currency),
            }
            for line in breakdown.lines
        ],
    }


# --- the admin -----------------------------------------------------------------------------


@admin.register(Price)
class PriceAdmin(ServiceModelAdmin):
    form = PriceForm
    inlines = [TierInline, RateWindowInline]
    fieldsets = [
        (
            _("What is sold"),
            {"fields": ["plan_version", "product", "nickname", "currency", "active"]},
        ),
        (
            _("How it is priced"),
            {
                "fields": [
                    "pricing_model",
                    "unit_amount",
                    "flat_amount",
                    "package_size",
                    "package_rounding",
                    "minimum_amount",
                ],
                "description": _(
                    "Fill in what the chosen pricing model uses and leave the rest empty: flat fee → flat amount; "
                    "per unit → unit amount; package → unit amount (per package) and package size; graduated or "
                    "volume → the tiers below."
                ),
            },
        ),
        (
            _("When and how it is billed"),
            {"fields": ["interval", "interval_count", "usage_type", "metric", "trial_days", "time_zone"]},
        ),
    ]
    readonly_fields = ["created_at", "updated_at"]
    help_texts = {
        "product": _("What is sold at this price. Only active products can get new prices."),
        "interval": _("How often the customer is billed for this price."),
        "usage_type": _("Licensed: a quantity agreed in advance (seats). Metered: measured usage, billed afterwards."),
    }
    list_display = ["name", "plan_version_link", "summary", "billing", "usage", "active"]
    list_display_links = ["name"]
    list_filter = [PriceStatusFilter, "pricing_model", "usage_type", "currency", "active", "plan_version__plan"]
    search_fields = ["nickname", "product__name", "plan_version__plan__name", "plan_version__plan__code", "currency"]
    list_select_related = ["product", "plan_version__plan"]

    class Media:
        js = ["catalog/price_form.js", "catalog/calculator.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers", "rate_windows")

    # Deleting: only prices of a draft plan version, one at a time, through the service.

    def has_delete_permission(self, request, obj=None):
        perm = self.opts.app_label + ".delete_price"
        return request.user.has_perm(perm) and (obj is None or (obj.plan_version_id is not None and obj.is_editable))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        price_delete(price=obj, actor=staff_actor(request), now=now())

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if self.is_read_only(request, obj):  # the "fill in what the model uses" advice is for editors
            fieldsets = [(title, {k: v for k, v in opts.items() if k != "description"}) for title, opts in fieldsets]
        if obj is not None:
            fieldsets.append((_("Record"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}))
        return fieldsets

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "plan_version":
            kwargs["queryset"] = PlanVersion.objects.filter(status=PlanVersionStatus.DRAFT).select_related("plan")
            kwargs["help_text"] = _(
                "The draft plan version this price belongs to (only drafts can get prices). "
                "Leave empty for an add-on sold on its own."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("currency", "EUR")
        return initial

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if self.is_read_only(request, obj):  # a read-only page shows the tiers or windows it has, no empty tables
            inlines = [inline for inline in inlines if inline.model.objects.filter(price=obj).exists()]
        return inlines

    # Permissions: prices of published versions are frozen for everyone.

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    # Lists

    @admin.display(description=_("plan version"), ordering="plan_version")
    def plan_version_link(self, price: Price):
        if price.plan_version is None:
            return _("Add-on (no plan)")
        url = reverse("admin:catalog_planversion_change", args=[price.plan_version_id])
        return format_html('<a href="{}">{}</a> {}', url, price.plan_version, status_badge(price.plan_version))

    @admin.display(description=_("name"), ordering="product__name")
    def name(self, price: Price) -> str:
        return price.nickname or price.product.name

    @admin.display(description=_("price"))
    def summary(self, price: Price) -> str:
        return price_summary(price)

    @admin.display(description=_("usage"), ordering="usage_type")
    def usage(self, price: Price) -> str:
        return {"licensed": _("Licensed"), "metered": _("Metered")}.get(price.usage_type, price.usage_type)

    @admin.display(description=_("billed"))
    def billing(self, price: Price) -> str:
        return interval_text(price)

    # Saving through the service

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, PRICE_FIELDS, change=change)
        children: dict[str, list[dict[str, Any]] | None] = {"tiers": None, "rate_windows": None}
        for formset in formsets:
            if formset.prefix == "tiers" and (not change or formset.has_changed()):
                children["tiers"] = formset.rows(TIER_FIELDS)
            if formset.prefix == "rate_windows" and (not change or formset.has_changed()):
                children["rate_windows"] = formset.rows(RATE_WINDOW_FIELDS)
        if change:
            return price_update(price=form.instance, actor=staff_actor(request), now=now(), **children, **fields)
        return price_create(
            actor=staff_actor(request),
            now=now(),
            tiers=children["tiers"] or [],
            rate_windows=children["rate_windows"] or [],
            **fields,
        )

    # The change page: frozen banner and calculator

    def change_view(self, request, object_id, form_url="", extra_context=None):
        price = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if price is not None and self.has_view_or_change_permission(request, price):
            extra = {**self._frozen_context(request, price), **self._calculator_context(request, price, bound=False)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _frozen_context(self, request, price: Price) -> dict[str, Any]:
        version = price.plan_version
        if version is None or version.is_editable:
            return {}
        return {
            "frozen_version": version,
            "frozen_version_url": reverse("admin:catalog_planversion_change", args=[version.pk]),
            "open_draft": version.plan.versions.filter(status=PlanVersionStatus.DRAFT).first(),
            "can_start_draft": request.user.has_perm("catalog.add_planversion"),
            "new_draft_url": reverse("admin:catalog_planversion_new_draft", args=[version.pk]),
        }

    def _calculator_context(self, request, price: Price, *, bound: bool) -> dict[str, Any]:
        rates = _rates(price)
        unit_label = price.product.unit_label if price.product_id else ""
        keys = [key for key, _label, _window in rates] or ["quantity"]
        data = request.GET if bound and any(key in request.GET for key in keys) else None
        form = CalculatorForm(data, rates=[(key, label) for key, label, _window in rates], unit_label=unit_label)
        return {
            "calculator_form": form,
            "calculation": _calculate(price, form, rates) if data is not None else None,
            "calculator_url": reverse("admin:catalog_price_calculator", args=[price.pk]),
            "calculator_price": price,
        }

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/calculator/",
                self.admin_site.admin_view(self.calculator_view),
                name="{}_{}_calculator".format(*info),
            ),
            *super().get_urls(),
        ]

    def calculator_view(self, request, object_id):
        """What a quantity costs at this price, with the per-tier breakdown; for anyone who may view prices."""
        price = self.get_object(request, unquote(object_id))
        if price is None:
            raise Http404(_("This price does not exist (any more)."))
        if not self.has_view_or_change_permission(request, price):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Price calculator"),
            "subtitle": str(price),
            "original": price,
            "price_summary": price_summary(price),
            "price_billing": interval_text(price),
            "tiers": [
                {
                    "number": number,
                    "up_to": plain_number(tier.up_to) if tier.up_to is not None else _("no limit"),
                    "unit_amount": unit_amount_text(tier.unit_amount, price.currency),
                    "flat_amount": money_text(tier.flat_amount, price.currency) if tier.flat_amount else "—",
                }
                for number, tier in enumerate(price.tiers.all(), start=1)
            ],
            "change_url": reverse("admin:catalog_price_change", args=[price.pk]),
            "has_view_permission": True,
            **self._calculator_context(request, price, bound=True),
        }
        template = "admin/catalog/price/calculator.html"
        if request.GET.get("partial") == "1":
            template = "admin/catalog/price/_calculator.html"
        return TemplateResponse(request, template, context)
