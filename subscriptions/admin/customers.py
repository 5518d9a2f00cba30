"""Customers in the admin: finance adds and edits them, support finds and corrects them, pricing looks.

A skin over ``subscriptions.services.customers``: the form is validated by a dry run of the service
(``catalog.admin.base``), so a bad VAT number or a CRM id that is taken is shown on its field in the
service's words. The customer's page also shows its subscriptions, its usage this period and
everything that happened to it (the audit timeline).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from catalog.admin.base import ReadOnlyInline, ServiceModelAdmin, form_values, plain_number, staff_actor
from catalog.admin.formatting import money_text
from subscriptions.admin.timeline import action_label, change_summary
from subscriptions.models import Customer, Subscription
from subscriptions.selectors.customers import customer_timeline, customer_usage_overview
from subscriptions.services.customers import (
    CUSTOMER_FIELDS,
    MAX_INVOICE_EMAILS,
    country_codes,
    country_name,
    customer_create,
    customer_update,
)

_EMAIL_SEPARATORS = re.compile(r"[\s,;]+")


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def country_choices() -> list[tuple[str, str]]:
    language = _language()
    named = sorted(((code, country_name(code, language)) for code in country_codes()), key=lambda c: c[1])
    return [("", "---------"), *((code, f"{name} ({code})") for code, name in named)]


class InvoiceEmailsField(forms.CharField):
    """A list of e-mail addresses typed one per line (commas work too); the service checks each one."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        text = super().to_python(value) or ""
        return [part for part in _EMAIL_SEPARATORS.split(text) if part]

    def has_changed(self, initial, data):
        return list(initial or []) != self.to_python(data)


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ["subscription", "plan", "status", "period", "items_summary", "started"]
    readonly_fields = fields
    show_change_link = False  # the "subscription" column links to the page, when there is one
    verbose_name_plural = _("subscriptions")
    template = "admin/catalog/edit_inline/tabular_with_help.html"  # rows without their name above them

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("plan_version__plan")
            .prefetch_related("items__price__product")
            .order_by("-created_at", "-id")
        )

    @admin.display(description=_("subscription"))
    def subscription(self, subscription: Subscription):
        url = admin_change_url(subscription)
        label = f"#{subscription.pk}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=_("plan"))
    def plan(self, subscription: Subscription) -> str:
        if subscription.plan_version_id is None:
            return str(_("Custom prices"))
        return f"{subscription.plan_version.plan.name} v{subscription.plan_version.number}"

    @admin.display(description=_("status"))
    def status(self, subscription: Subscription) -> str:
        return subscription.get_status_display()

    @admin.display(description=_("current period"))
    def period(self, subscription: Subscription) -> str:
        return f"{subscription.current_period_start:%Y-%m-%d} – {subscription.current_period_end:%Y-%m-%d}"

    @admin.display(description=_("started"))
    def started(self, subscription: Subscription) -> str:
        return f"{subscription.created_at:%Y-%m-%d}"

    @admin.display(description=_("items"))
    def items_summary(self, subscription: Subscription) -> str:
        items = list(subscription.items.all())
        if not items:
            return "—"
        return ", ".join(f"{item.price.product.name} × {item.quantity}" for item in items)


def admin_change_url(obj) -> str | None:
    """The admin page of ``obj`` when its model is in the admin (the subscription pages may not be yet)."""
    if not admin.site.is_registered(type(obj)):
        return None
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


class CountryFilter(admin.SimpleListFilter):
    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        language = _language()
        codes = model_admin.get_queryset(request).order_by().values_list("country", flat=True).distinct()
        return sorted(((code, country_name(code, language)) for code in codes), key=lambda c: c[1])

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


class TestCustomerFilter(admin.SimpleListFilter):
    __test__ = False

    title = _("test clock")
    parameter_name = "test_clock"

    def lookups(self, request, model_admin):
        from subscriptions.models import TestClock

        return [("none", _("Real customers (no test clock)"))] + [
            (str(clock.pk), clock.name) for clock in TestClock.objects.order_by("name")
        ]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(test_clock__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(test_clock_id=int(self.value()))
        return queryset


def timeline_rows(customer: Customer) -> list[dict[str, Any]]:
    rows = []
    for event in customer_timeline(customer=customer):
        subject = (
            _("customer")
            if event.object_type == "subscriptions.customer"
            else f"{event.object_type.split('.')[-1]} #{event.object_id}"
        )
        rows.append(
            {
                "event": event,
                "label": action_label(event.action),
                "subject": subject,
                "changes": change_summary(event),
                "url": reverse("admin:billing_site_auditevent_change", args=[event.pk]),
            }
        )
    return rows


def usage_rows(summary: Any) -> list[dict[str, Any]]:
    """The usage summary's metrics as table rows with readable numbers and amounts."""
    rows = []
    for usage in getattr(summary, "metrics", []) or []:
        amount, forecast = usage.amount, usage.forecast_amount
        rows.append(
            {
                "metric": usage.metric.name,
                "code": usage.metric.code,
                "subscription_id": usage.subscription_id,
                "subscription_url": (
                    reverse("admin:subscriptions_subscription_change", args=[usage.subscription_id])
                    if usage.subscription_id and admin.site.is_registered(Subscription)
                    else None
                ),
                "period": f"{usage.period_start:%Y-%m-%d} – {usage.period_end:%Y-%m-%d}",
                "quantity": plain_number(usage.quantity),
                "amount": money_text(amount.total, amount.currency) if amount is not None else "—",
                "forecast_quantity": plain_number(usage.forecast_quantity.quantize(Decimal("0.01"))),
                "forecast_amount": money_text(forecast.total, forecast.currency) if forecast is not None else "—",
                "windows": ", ".join(f"{name}: {plain_number(q)}" for name, q in (usage.windows or {}).items()),
            }
        )
    return rows


@admin.register(Customer)
class CustomerAdmin(ServiceModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "email", "invoice_emails"]}),
        (
            _("Billing address"),
            {"fields": ["address_line1", "address_line2", "postal_code", "city", "region", "country"]},
        ),
        (_("Tax and invoicing"), {"fields": ["currency", "language", "vat_id", "tax_exemption"]}),
        (
            _("Links to other systems"),
            {"fields": ["external_id", "stripe_id", "metadata"], "classes": ["collapse"]},
        ),
        (
            _("Testing"),
            {
                "fields": ["test_clock"],
                "description": _(
                    "Only for test customers: they live in the time of a test clock, which finance can move "
                    "forward to see renewals and trial ends happen."
                ),
            },
        ),
    ]
    help_texts = {
        "invoice_emails": format_lazy(
            _(
                "Optional. One address per line (at most {count}), e.g. the accounts payable team. "
                "Invoices also go to the main e-mail."
            ),
            count=MAX_INVOICE_EMAILS,
        ),
        "address_line1": _("Street and number, as printed on invoices."),
        "tax_exemption": _("Reverse charge needs the customer's VAT number."),
        "metadata": _('Free key/value data for integrations, e.g. {"segment": "enterprise"}. Values are text.'),
        "external_id": _("The customer's id in your CRM. Each customer has its own."),
    }
    list_display = ["name", "email", "country_shown", "currency", "external_id", "test_clock_display"]
    list_filter = [CountryFilter, "currency", "language", TestCustomerFilter]
    search_fields = ["name", "email", "=external_id", "vat_id"]
    search_help_text = _("Search by name, e-mail, CRM id (exact) or VAT number.")
    list_select_related = ["test_clock"]
    inlines = [SubscriptionInline]
    readonly_fields = ["created_at", "updated_at"]
    change_form_template = "admin/subscriptions/customer/change_form.html"

    # --- the form -----------------------------------------------------------------------------------

    #: Help that says more than the model's own help text.
    page_help = {
        "country": _("Where the customer is established: its taxes and the format of its VAT number follow it."),
        "vat_id": _(
            "With or without the country prefix, e.g. NL123456789B01; spaces and dots are removed. Its format is "
            "checked for the customer's country (EU, UK, Norway, Switzerland), its registration is not."
        ),
        "currency": _("Three-letter code, e.g. EUR. It cannot change once the customer has subscriptions."),
        "test_clock": _(
            "Test customers live in the time of their test clock. It can only be chosen while the customer has "
            "no subscriptions."
        ),
    }

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.page_help:
            kwargs["help_text"] = self.page_help[db_field.name]
        if db_field.name == "invoice_emails":
            return InvoiceEmailsField(
                label=db_field.verbose_name.capitalize(), required=False, help_text=self.help_texts["invoice_emails"]
            )
        if db_field.name == "country":
            return forms.ChoiceField(
                label=db_field.verbose_name.capitalize(), choices=country_choices(), help_text=db_field.help_text
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.subscriptions.exists():
            fixed = _("The customer has subscriptions, so its currency and test clock are fixed.")
            fieldsets = [
                (title, {**options, "description": fixed} if "currency" in options["fields"] else options)
                for title, options in fieldsets
            ]
        if not self.is_read_only(request, obj):
            return fieldsets
        shown = {"country": "country_display", "invoice_emails": "invoice_emails_display"}
        return [
            (title, {**options, "fields": [shown.get(name, name) for name in options["fields"]]})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.subscriptions.exists():
            # The service refuses these changes (history); the page says so before anyone tries.
            readonly += [name for name in ("currency", "test_clock") if name not in readonly]
        return readonly

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def response_add(self, request, obj, post_url_continue=None):
        """A test customer added from its clock's page goes back there, ready for the next step."""
        if (
            obj.test_clock_id is not None
            and request.GET.get("test_clock")
            and "_addanother" not in request.POST
            and "_continue" not in request.POST
        ):
            self.message_user(
                request,
                _("The test customer “%(name)s” was added to the clock.") % {"name": obj.name},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:subscriptions_testclock_change", args=[obj.test_clock_id]))
        return super().response_add(request, obj, post_url_continue)

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, CUSTOMER_FIELDS, change=change)
        if change:
            stored = Customer.objects.select_related("test_clock").get(pk=form.instance.pk)
            return customer_update(customer=stored, actor=staff_actor(request), now=clock.now(stored), **fields)
        return customer_create(actor=staff_actor(request), now=clock.now(fields.get("test_clock")), **fields)

    # --- lists and displays --------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        compact = re.sub(r"[\s.\-/]+", "", search_term).upper()
        if compact and compact != search_term.strip():
            results |= queryset.filter(vat_id__icontains=compact)
        return results, may_have_duplicates

    @admin.display(description=_("country"), ordering="country")
    def country_shown(self, customer: Customer) -> str:
        return country_name(customer.country, _language()) if customer.country else "—"

    @admin.display(description=_("country"), ordering="country")
    def country_display(self, customer: Customer) -> str:
        return f"{country_name(customer.country, _language())} ({customer.country})" if customer.country else "—"

    @admin.display(description=_("invoice e-mail addresses"))
    def invoice_emails_display(self, customer: Customer):
        if not customer.invoice_emails:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((email,) for email in customer.invoice_emails))  # noqa: S308

    @admin.display(description=_("test clock"), ordering="test_clock__name")
    def test_clock_display(self, customer: Customer):
        if customer.test_clock_id is None:
            return "—"
        url = reverse("admin:subscriptions_testclock_change", args=[customer.test_clock_id])
        return format_html('<a href="{}">{}</a>', url, customer.test_clock.name)

    # --- the customer's page -------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        extra: dict[str, Any] = {}
        if customer is not None:
            now = clock.now(customer)
            usage = customer_usage_overview(customer=customer, now=now)
            extra = {
                "customer_now": now,
                "usage": usage,
                "usage_rows": usage_rows(usage.summary) if usage.available else [],
                "timeline": timeline_rows(customer),
                "audit_url": reverse("admin:billing_site_auditevent_changelist")
                + f"?object_type=subscriptions.customer&object_id={customer.pk}",
                "can_view_audit": request.user.has_perm("billing_site.view_auditevent"),
                "test_clock_url": (
                    reverse("admin:subscriptions_testclock_change", args=[customer.test_clock_id])
                    if customer.test_clock_id
                    else None
                ),
                "has_subscriptions": customer.subscriptions.exists(),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_queryset(self, request) -> QuerySet[Customer]:
        return super().get_queryset(request).select_related("test_clock")
