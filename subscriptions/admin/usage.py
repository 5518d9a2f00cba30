"""Admin: usage events (read-only), usage alerts (through the services), alert crossings (read-only).

The events table grows by millions of rows, so its list never counts or sorts the whole table: it is
ordered by id (newest received first), counted from PostgreSQL's statistics when unfiltered, filtered
by metric from the catalog (not by a DISTINCT over the events) and searched by exact key or customer.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from catalog.admin.base import ReadOnlyInline, ServiceModelAdmin, form_values, now, staff_actor
from catalog.models import BillableMetric
from subscriptions.models import Customer
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing, UsageEvent
from subscriptions.services.usage import (
    ALERT_CREATE_FIELDS,
    ALERT_UPDATE_FIELDS,
    usage_alert_create,
    usage_alert_update,
)

#: Below this many rows an exact count is cheap enough.
ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists; PostgreSQL's row estimate for the whole, very large table."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [UsageEvent._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return super().count


class MetricFilter(admin.SimpleListFilter):
    title = _("metric")
    parameter_name = "metric"

    def lookups(self, request, model_admin):
        return [(code, f"{name} ({code})") for code, name in BillableMetric.objects.values_list("code", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(metric_code=self.value()) if self.value() else queryset


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "customer", "metric_code", "value", "idempotency_key", "subscription", "late"]
    list_filter = [MetricFilter, "late"]
    list_select_related = ["customer"]
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    search_fields = ["idempotency_key"]  # see get_search_results
    search_help_text = _("An exact idempotency key, a customer's CRM id or id, or part of the customer's name.")
    fields = [
        "customer", "subscription", "metric_code", "value", "properties", "timestamp", "idempotency_key",
        "received_at", "late",
    ]  # fmt: skip
    actions = None

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(Q(name__icontains=term) | Q(external_id=term))
        if term.isdigit():
            customers = customers | Customer.objects.filter(pk=int(term))
        return queryset.filter(Q(customer__in=customers.values("pk")) | Q(idempotency_key=term)), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # measurements are never edited; a correction is a new event

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CrossingInline(ReadOnlyInline):
    model = UsageAlertCrossing
    fields = ["period_start", "period_end", "value", "crossed_at", "notified_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(UsageAlert)
class UsageAlertAdmin(ServiceModelAdmin):
    fields = ["customer", "subscription", "metric_code", "kind", "threshold", "notify_email", "active"]
    raw_id_fields = ["customer", "subscription"]
    list_display = ["customer", "metric_code", "kind", "threshold", "notify_email", "active"]
    list_filter = ["active", "kind"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_id", "metric_code", "notify_email"]
    inlines = [CrossingInline]
    help_texts = {
        "metric_code": _("The usage metric to watch."),
        "kind": _("Quantity: the period's usage. Amount: what it costs so far (needs a price that bills the metric)."),
    }

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "customer"] if obj is not None and "customer" not in readonly else readonly

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "metric_code":
            choices = [("", "---------")] + [
                (code, f"{name} ({code})") for code, name in BillableMetric.objects.values_list("code", "name")
            ]
            return forms.ChoiceField(
                choices=choices, label=db_field.verbose_name.capitalize(), help_text=self.help_texts["metric_code"]
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def service_save(self, request, form, formsets, *, change):
        if change:
            fields = form_values(form, ALERT_UPDATE_FIELDS, change=True)
            return usage_alert_update(alert=form.instance, actor=staff_actor(request), now=now(), **fields)
        fields = form_values(form, ALERT_CREATE_FIELDS, change=False)
        return usage_alert_create(actor=staff_actor(request), now=now(), **fields)


@admin.register(UsageAlertCrossing)
class UsageAlertCrossingAdmin(admin.ModelAdmin):
    list_display = ["crossed_at", "alert", "customer", "period_start", "value", "notified_at"]
    list_select_related = ["alert__customer"]
    search_fields = ["alert__customer__name", "alert__metric_code"]
    fields = ["alert", "period_start", "period_end", "value", "crossed_at", "notified_at"]
    actions = None

    @admin.display(description=_("customer"), ordering="alert__customer__name")
    def customer(self, crossing: UsageAlertCrossing) -> Customer:
        return crossing.alert.customer

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
