"""Test clocks in the admin: where finance tries a scenario.

Create a clock at some moment, add test customers to it (the "add customer" page comes with the clock
chosen), subscribe them, then advance the clock: a form with the target time, a confirmation that
says what will run, then a summary of what happened. Deleting a clock deletes its test customers and
everything they have, after a confirmation page that lists it. Every step calls the services in
``subscriptions.services.test_clocks``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing_site import clock as wall_clock
from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.admin.base import (
    ReadOnlyInline,
    ServiceModelAdmin,
    form_values,
    show_domain_error,
    staff_actor,
)
from subscriptions.admin.customers import admin_change_url
from subscriptions.domain.periods import add_intervals
from subscriptions.models import Customer, Subscription, TestClock
from subscriptions.selectors.customers import test_clock_contents, test_clock_list
from subscriptions.services.test_clocks import (
    MAX_ADVANCE_YEARS,
    TEST_CLOCK_FIELDS,
    test_clock_advance,
    test_clock_check_advance,
    test_clock_create,
    test_clock_delete,
    test_clock_latest_time,
    test_clock_update,
)

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

#: What ``subscriptions_process_due`` reports, as finance reads it.
RESULT_LABELS = {
    "renewed": _("Renewed: a new billing period started"),
    "trial_converted": _("Trial ended: the subscription is now active and billed"),
    "trial_canceled": _("Trial ended without a payment method: canceled"),
    "trial_paused": _("Trial ended without a payment method: paused"),
    "canceled": _("Canceled at the end of its period"),
    "scheduled_change_applied": _("Scheduled change applied"),
    "scheduled_change_canceled": _("Scheduled change dropped"),
    "collection_resumed": _("Collection resumed"),
    "service_resumed": _("Pause ended: service resumed"),
}
#: What may be due next for a subscription (``next_due``), for the confirmation page.
DUE_LABELS = {
    "period_end": _("period ends (renewal, or cancellation if requested)"),
    "trial": _("trial ends"),
    "service": _("pause ends"),
    "collection": _("collection resumes"),
}


def result_label(kind: str) -> str:
    return str(RESULT_LABELS.get(kind, kind.replace("_", " ").capitalize()))


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; the time is UTC (the back-office's time zone)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


INPUT_FORMATS = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def time_field(*, label, help_text) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=DateTimeLocalInput(), input_formats=INPUT_FORMATS, help_text=help_text
    )


class AdvanceForm(forms.Form):
    frozen_time = time_field(
        label=_("Advance to (UTC)"), help_text=_("Later than the clock's time, at most two years ahead.")
    )


class TestCustomerInline(ReadOnlyInline):
    __test__ = False

    model = Customer
    fields = ["customer", "email_shown", "currency_shown", "subscription_count"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("test customers on this clock")
    template = "admin/catalog/edit_inline/tabular_with_help.html"  # rows without their name above them

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_subscriptions=Count("subscriptions")).order_by("name")

    @admin.display(description=_("customer"))
    def customer(self, customer: Customer):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:subscriptions_customer_change", args=[customer.pk]), customer.name
        )

    @admin.display(description=_("e-mail"))
    def email_shown(self, customer: Customer) -> str:
        return customer.email

    @admin.display(description=_("currency"))
    def currency_shown(self, customer: Customer) -> str:
        return customer.currency

    @admin.display(description=_("subscriptions"))
    def subscription_count(self, customer: Customer) -> int:
        return customer.n_subscriptions


@admin.register(TestClock)
class TestClockAdmin(ServiceModelAdmin):
    __test__ = False

    list_display = ["name", "frozen_time_display", "status_display", "customer_count_display", "created_display"]
    list_filter = ["status"]
    search_fields = ["name"]
    actions = None
    inlines = [TestCustomerInline]
    change_form_template = "admin/subscriptions/testclock/change_form.html"
    help_texts = {
        "name": _("What you try with it, e.g. “Upgrade mid-month” or “Trial ends without a card”."),
    }

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "frozen_time":
            return time_field(
                label=_("Start at (UTC)"),
                help_text=_("Any moment, past or future: its customers and subscriptions start there."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": ["name", "frozen_time"],
                        "description": _(
                            "A test clock is a simulated “now” for test customers. Start it at any moment, add "
                            "customers and subscriptions to it, then move it forward to see what happens."
                        ),
                    },
                )
            ]
        return [(None, {"fields": ["name", "frozen_time_display", "status_display", "created_display"]})]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += ["frozen_time_display", "status_display", "created_display"]
        return readonly

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_queryset(self, request) -> QuerySet[TestClock]:
        return test_clock_list()

    def has_delete_permission(self, request, obj=None):
        # Deleting test data is the point of a test clock (the catalog's base refuses every delete).
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, {"frozen_time", *TEST_CLOCK_FIELDS}, change=change)
        if change:
            return test_clock_update(clock=form.instance, actor=staff_actor(request), now=wall_clock.now(), **fields)
        return test_clock_create(actor=staff_actor(request), now=wall_clock.now(), **fields)

    # --- displays ------------------------------------------------------------------------------------

    @admin.display(description=_("frozen time (UTC)"), ordering="frozen_time")
    def frozen_time_display(self, test_clock: TestClock) -> str:
        return f"{test_clock.frozen_time:%Y-%m-%d %H:%M}"

    @admin.display(description=_("created (UTC)"), ordering="created_at")
    def created_display(self, test_clock: TestClock) -> str:
        return f"{test_clock.created_at:%Y-%m-%d %H:%M}"

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, test_clock: TestClock):
        return format_html(
            '<span class="subs-status subs-status-{}">{}</span>', test_clock.status, test_clock.get_status_display()
        )

    @admin.display(description=_("test customers"), ordering="customer_count")
    def customer_count_display(self, test_clock: TestClock) -> int:
        return test_clock.customer_count

    # --- the clock's page ------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        test_clock = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if test_clock is not None:
            extra = {
                "add_customer_url": (
                    reverse("admin:subscriptions_customer_add") + "?" + urlencode({"test_clock": test_clock.pk})
                    if request.user.has_perm("subscriptions.add_customer")
                    else None
                ),
                "advance_url": (
                    reverse("admin:subscriptions_testclock_advance", args=[test_clock.pk])
                    if self.has_change_permission(request, test_clock)
                    else None
                ),
                "delete_url": (
                    reverse("admin:subscriptions_testclock_delete", args=[test_clock.pk])
                    if self.has_delete_permission(request, test_clock)
                    else None
                ),
                "advances": advance_history(test_clock),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/advance/",
                self.admin_site.admin_view(self.advance_view),
                name="subscriptions_testclock_advance",
            ),
        ]
        return custom + super().get_urls()

    def _clock_or_redirect(self, request, object_id):
        test_clock = self.get_object(request, unquote(object_id))
        if test_clock is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return test_clock, None

    def _context(self, request, test_clock: TestClock, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": test_clock,
            "change_url": reverse("admin:subscriptions_testclock_change", args=[test_clock.pk]),
            **extra,
        }

    # --- advancing ------------------------------------------------------------------------------------

    def advance_view(self, request, object_id):
        test_clock, redirect = self._clock_or_redirect(request, object_id)
        if redirect is not None:
            return redirect
        if not self.has_change_permission(request, test_clock):
            raise PermissionDenied
        change_url = reverse("admin:subscriptions_testclock_change", args=[test_clock.pk])
        confirm = False
        target: dt.datetime | None = None
        if request.method == "POST":
            form = AdvanceForm(request.POST)
            if form.is_valid():
                try:
                    target = test_clock_check_advance(clock=test_clock, to=form.cleaned_data["frozen_time"])
                    if request.POST.get("confirm") == "yes":
                        advance = test_clock_advance(
                            clock=test_clock, to=target, actor=staff_actor(request), now=wall_clock.now()
                        )
                        messages.success(
                            request, advance_message(test_clock.name, advance.previous_time, target, advance.results)
                        )
                        return HttpResponseRedirect(change_url + "#last-advance")
                    confirm = True
                except DomainError as error:
                    show_domain_error(error, form)
        else:
            wanted = _parse_time(request.GET.get("to")) or add_intervals(test_clock.frozen_time, "month", 1, 1)
            form = AdvanceForm(initial={"frozen_time": wanted.astimezone(dt.UTC).strftime(DATETIME_LOCAL)})

        frozen = test_clock.frozen_time
        presets = [
            (gettext_now("+1 day"), frozen + dt.timedelta(days=1)),
            (gettext_now("+1 week"), frozen + dt.timedelta(weeks=1)),
            (gettext_now("+1 month"), add_intervals(frozen, "month", 1, 1)),
            (gettext_now("+3 months"), add_intervals(frozen, "month", 3, 1)),
            (gettext_now("+1 year"), add_intervals(frozen, "year", 1, 1)),
        ]
        contents = test_clock_contents(clock=test_clock)
        context = self._context(
            request,
            test_clock,
            title=(
                _("Advance “%(name)s” to %(time)s UTC?") % {"name": test_clock.name, "time": f"{target:%Y-%m-%d %H:%M}"}
                if confirm and target
                else _("Advance “%(name)s”") % {"name": test_clock.name}
            ),
            form=form,
            confirm=confirm,
            target=target,
            target_value=target.strftime(DATETIME_LOCAL) if target else "",
            duration=_duration_text(frozen, target) if target else "",
            latest=test_clock_latest_time(test_clock),
            max_years=MAX_ADVANCE_YEARS,
            presets=[
                (label, "?" + urlencode({"to": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}), moment)
                for label, moment in presets
            ],
            contents=contents,
            upcoming=upcoming_events(test_clock, until=target) if confirm and target else [],
        )
        return TemplateResponse(request, "admin/subscriptions/testclock/advance.html", context)

    # --- deleting ---------------------------------------------------------------------------------------

    def delete_view(self, request, object_id, extra_context=None):
        test_clock, redirect = self._clock_or_redirect(request, object_id)
        if redirect is not None:
            return redirect
        if not self.has_delete_permission(request, test_clock):
            raise PermissionDenied
        change_url = reverse("admin:subscriptions_testclock_change", args=[test_clock.pk])
        if request.method == "POST":
            try:
                deletion = test_clock_delete(clock=test_clock, actor=staff_actor(request), now=wall_clock.now())
            except DomainError as error:
                messages.error(request, error.message)
                return HttpResponseRedirect(change_url)
            messages.success(
                request,
                ngettext(
                    "The test clock “%(name)s” was deleted with %(count)d test customer and all its data.",
                    "The test clock “%(name)s” was deleted with %(count)d test customers and all their data.",
                    deletion.customers,
                )
                % {"name": deletion.name, "count": deletion.customers},
            )
            return HttpResponseRedirect(reverse("admin:subscriptions_testclock_changelist"))
        context = self._context(
            request,
            test_clock,
            title=_("Delete the test clock “%(name)s” with its test data?") % {"name": test_clock.name},
            contents=test_clock_contents(clock=test_clock),
            customer_urls=True,
        )
        return TemplateResponse(request, "admin/subscriptions/testclock/delete_confirmation.html", context)


def _duration_text(start: dt.datetime, end: dt.datetime) -> str:
    delta = end - start
    days, seconds = delta.days, delta.seconds
    hours = seconds // 3600
    parts = []
    if days:
        parts.append(ngettext("%(count)d day", "%(count)d days", days) % {"count": days})
    if hours or not days:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
    return ", ".join(parts)


def advance_message(name: str, previous: dt.datetime, target: dt.datetime, results: list[Any]) -> str:
    kinds: dict[str, int] = {}
    for result in results:
        kind = getattr(result, "kind", None) or (result.get("kind") if isinstance(result, dict) else None) or "?"
        kinds[kind] = kinds.get(kind, 0) + 1
    happened = "; ".join(f"{count} × {result_label(kind)}" for kind, count in kinds.items())
    text = gettext_now("The test clock “%(name)s” moved from %(previous)s to %(target)s UTC.") % {
        "name": name,
        "previous": f"{previous:%Y-%m-%d %H:%M}",
        "target": f"{target:%Y-%m-%d %H:%M}",
    }
    return (
        f"{text} {gettext_now('What happened:')} {happened}."
        if happened
        else f"{text} {gettext_now('Nothing was due for its customers.')}"
    )


def upcoming_events(test_clock: TestClock, *, until: dt.datetime) -> list[dict[str, Any]]:
    """The first thing due for each subscription of the clock before ``until`` (the confirmation page)."""
    from subscriptions.services.test_clocks import process_due_function

    if process_due_function() is None:
        return []
    from subscriptions.services.subscriptions import next_due

    rows = []
    for subscription in (
        Subscription.objects.filter(customer__test_clock=test_clock).select_related("customer").order_by("pk")
    ):
        due = next_due(subscription)
        if due is not None and due[0] <= until:
            rows.append(
                {
                    "subscription": subscription,
                    "url": admin_change_url(subscription),
                    "at": due[0],
                    "what": DUE_LABELS.get(due[1], due[1]),
                }
            )
    return sorted(rows, key=lambda row: (row["at"], row["subscription"].pk))


def advance_history(test_clock: TestClock, *, limit: int = 20) -> list[dict[str, Any]]:
    """The clock's advances, newest first, each with what happened (from the audit trail)."""
    events = AuditEvent.objects.filter(
        object_type="subscriptions.testclock", object_id=str(test_clock.pk), action="test_clock.advanced"
    ).order_by("-occurred_at", "-id")[:limit]
    history = []
    subscription_customers: dict[int, Customer] = {}
    events = list(events)
    if events:
        ids = {
            result.get("subscription_id")
            for result in (events[0].after or {}).get("results", [])
            if isinstance(result, dict)
        }
        subscription_customers = {
            s.pk: s.customer
            for s in Subscription.objects.filter(pk__in=[i for i in ids if isinstance(i, int)]).select_related(
                "customer"
            )
        }
    for number, event in enumerate(events):
        after, before = event.after or {}, event.before or {}
        rows = []
        if number == 0:
            for result in after.get("results", []):
                if not isinstance(result, dict):
                    rows.append({"what": str(result)})
                    continue
                subscription_id = result.get("subscription_id")
                customer = subscription_customers.get(subscription_id)
                period = result.get("period") if isinstance(result.get("period"), dict) else None
                rows.append(
                    {
                        "at": _parse_time(result.get("at")),
                        "subscription_id": subscription_id,
                        "subscription_url": (
                            reverse("admin:subscriptions_subscription_change", args=[subscription_id])
                            if subscription_id and admin.site.is_registered(Subscription)
                            else None
                        ),
                        "customer": customer,
                        "what": result_label(str(result.get("kind", ""))),
                        "period": (
                            (_parse_time(period.get("period_start")), _parse_time(period.get("period_end")))
                            if period
                            else None
                        ),
                    }
                )
        history.append(
            {
                "event": event,
                "previous": _parse_time(before.get("frozen_time")),
                "target": _parse_time(after.get("frozen_time")),
                "count": after.get("result_count", len(after.get("results", []))),
                "rows": rows,
                "truncated": after.get("result_count", 0) > len(after.get("results", [])),
            }
        )
    return history
