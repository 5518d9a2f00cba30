"""Subscriptions in the admin: a page with items, status, period, scheduled change, pending lines and a
timeline, and actions (change, pause, resume, cancel, reactivate…) that show what will happen first.

A skin over ``subscriptions.services.subscriptions``. Every action is a small form; submitting it runs
the service in a transaction that is rolled back (a dry run) and shows the outcome on a confirmation
page (for a change: the preview's proration lines); confirming runs the service for real with the
staff user as actor and the customer's time (a test clock's for test customers) as ``now``.

Support can pause, resume, cancel and reactivate (``change_subscription``); changing prices and
writing credits also needs ``change_subscriptionitem`` (finance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.admin.base import ReadOnlyInline, staff_actor
from catalog.admin.formatting import money_text
from catalog.models import PlanVersion, PlanVersionStatus
from subscriptions.admin.timeline import action_label, change_summary
from subscriptions.models import (
    CancellationReason,
    PauseBehavior,
    PendingLine,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.services.lifecycle.items import item_description, period_amount
from subscriptions.services.subscriptions import (
    PRORATION_BEHAVIORS,
    ChangePlan,
    subscription_cancel,
    subscription_cancel_scheduled_change,
    subscription_change,
    subscription_end_trial,
    subscription_pause,
    subscription_pause_collection,
    subscription_preview_change,
    subscription_reactivate,
    subscription_resume,
    subscription_resume_collection,
)

PRICES_PERMISSION = "subscriptions.change_subscriptionitem"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _moment(label, help_text="") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=help_text or _("In UTC."),
    )


# --- the action forms ------------------------------------------------------------------------------


class ChangeForm(forms.Form):
    plan_version = forms.ModelChoiceField(
        queryset=PlanVersion.objects.none(),
        required=False,
        label=_("New plan"),
        help_text=_("Leave empty to keep the plan."),
    )
    quantity = forms.IntegerField(
        required=False, min_value=1, label=_("Seats"), help_text=_("Leave empty to keep the quantity.")
    )
    when = forms.ChoiceField(
        choices=[("now", _("Now, prorated")), ("period_end", _("At the end of the period (no proration)"))],
        initial="now",
        label=_("When"),
    )
    proration = forms.ChoiceField(
        choices=[
            ("create_prorations", _("Credit and charge on the next invoice")),
            ("always_invoice", _("Credit and charge on an invoice now")),
            ("none", _("No credit or charge")),
        ],
        initial="create_prorations",
        label=_("Proration"),
    )

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_version"].queryset = (
            PlanVersion.objects.filter(status=PlanVersionStatus.PUBLISHED, plan__active=True)
            .select_related("plan")
            .order_by("plan__name", "-number")
        )

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "plan_version": data.get("plan_version"),
            "quantity": data.get("quantity"),
            "when": data["when"],
            "proration": data["proration"] if data["proration"] in PRORATION_BEHAVIORS else "create_prorations",
        }


class PauseForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("collection", _("Pause collection: the service goes on, payment is not collected")),
            ("service", _("Pause the service: nothing is charged, the period moves on by the pause")),
        ],
        label=_("What to pause"),
        widget=forms.RadioSelect,
    )
    behavior = forms.ChoiceField(
        choices=[("", "---------"), *PauseBehavior.choices],
        required=False,
        label=_("Invoices meanwhile"),
        help_text=_("Collection pause only."),
    )
    resumes_at = _moment(_("Collect again on"), _("Collection pause only; optional. In UTC."))
    periods = forms.IntegerField(
        required=False, min_value=1, label=_("Billing periods"), help_text=_("Service pause: how many periods.")
    )
    until = _moment(_("Or until"), _("Service pause: the date it resumes, instead of a number of periods. In UTC."))

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "collection" and not data.get("behavior"):
            self.add_error("behavior", _("Choose what happens to invoices while collection is paused."))
        return data


class ResumeForm(forms.Form):
    at = _moment(_("Resume on"), _("Service only. Leave empty to resume now. In UTC."))

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)


class CancelForm(forms.Form):
    when = forms.ChoiceField(
        choices=[
            ("period_end", _("At the end of the current period (can be undone until then)")),
            ("now", _("Now")),
        ],
        initial="period_end",
        widget=forms.RadioSelect,
        label=_("When"),
    )
    prorate_credit = forms.BooleanField(
        required=False, label=_("Credit the unused time"), help_text=_("Only when cancelling now.")
    )
    reason_code = forms.ChoiceField(choices=CancellationReason.choices, label=_("Reason"))
    reason_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("In their words"))

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)


class EmptyForm(forms.Form):
    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)


@dataclass(frozen=True)
class Action:
    title: Any
    button: Any
    form: type[forms.Form]
    permission: str = "subscriptions.change_subscription"
    danger: bool = False


def _call_change(s, form, **common):
    return subscription_change(subscription=s, **common, **form.arguments())


def _call_pause(s, form, **common):
    data = form.cleaned_data
    if data["kind"] == "collection":
        return subscription_pause_collection(
            subscription=s, behavior=data["behavior"], resumes_at=data.get("resumes_at"), **common
        )
    return subscription_pause(subscription=s, periods=data.get("periods"), until=data.get("until"), **common)


def _call_resume(s, form, **common):
    if s.status != SubscriptionStatus.PAUSED and s.pause_behavior:
        return subscription_resume_collection(subscription=s, **common)
    return subscription_resume(subscription=s, at=form.cleaned_data.get("at"), **common)


def _call_cancel(s, form, **common):
    data = form.cleaned_data
    return subscription_cancel(
        subscription=s,
        at_period_end=data["when"] == "period_end",
        prorate_credit=data["prorate_credit"],
        reason_code=data["reason_code"],
        reason_text=data["reason_text"],
        **common,
    )


CALLS: dict[str, Callable[..., Any]] = {
    "change": _call_change,
    "pause": _call_pause,
    "resume": _call_resume,
    "cancel": _call_cancel,
    "reactivate": lambda s, form, **common: subscription_reactivate(subscription=s, **common),
    "cancel-scheduled-change": lambda s, form, **common: subscription_cancel_scheduled_change(subscription=s, **common),
    "end-trial": lambda s, form, **common: subscription_end_trial(subscription=s, **common),
}

ACTIONS: dict[str, Action] = {
    "change": Action(_("Change plan or seats"), _("Yes, make this change"), ChangeForm, PRICES_PERMISSION),
    "pause": Action(_("Pause"), _("Yes, pause"), PauseForm),
    "resume": Action(_("Resume"), _("Yes, resume"), ResumeForm),
    "cancel": Action(_("Cancel"), _("Yes, cancel the subscription"), CancelForm, danger=True),
    "reactivate": Action(_("Undo the cancellation"), _("Yes, keep the subscription"), EmptyForm),
    "cancel-scheduled-change": Action(_("Drop the scheduled change"), _("Yes, drop it"), EmptyForm),
    "end-trial": Action(_("End the trial now"), _("Yes, end the trial"), EmptyForm, PRICES_PERMISSION),
}


class _DryRun(Exception):
    def __init__(self, outcome: dict[str, Any]):
        self.outcome = outcome


def _facts(subscription: Subscription) -> dict[str, Any]:
    return {
        "status": subscription.get_status_display(),
        "period": f"{subscription.current_period_start:%Y-%m-%d %H:%M} – {subscription.current_period_end:%Y-%m-%d %H:%M}",
        "cancels": subscription.cancel_at_period_end,
        "collection": subscription.get_pause_behavior_display() if subscription.pause_behavior else "",
        "items": [item_description(i.price, i.quantity) for i in subscription.items.select_related("price__product")],
    }


def dry_run_outcome(subscription: Subscription, call: Callable[[], Any]) -> dict[str, Any]:
    """What ``call`` would do: the subscription before and after, and the lines it would write. Nothing saved."""
    before = _facts(subscription)
    existing = set(PendingLine.objects.filter(subscription=subscription).values_list("pk", flat=True))
    try:
        with transaction.atomic():
            call()
            after = Subscription.objects.get(pk=subscription.pk)
            lines = [
                {"description": line.description, "amount": money_text(line.amount.amount, str(line.amount.currency))}
                for line in PendingLine.objects.filter(subscription=after).exclude(pk__in=existing).order_by("id")
            ]
            raise _DryRun({"before": before, "after": _facts(after), "lines": lines})
    except _DryRun as done:
        return done.outcome


def preview_outcome(plan: ChangePlan) -> dict[str, Any]:
    currency = plan.subscription.currency
    return {
        "effective_at": plan.effective_at,
        "description": plan.description,
        "items": [
            {
                "description": item_description(i.price, i.quantity),
                "amount": "—" if i.metered else money_text(period_amount(i.price, i.quantity), currency),
            }
            for i in plan.items
        ],
        "lines": [
            {"description": line.description, "amount": money_text(line.amount, currency)} for line in plan.lines
        ],
        "total": money_text(plan.total, currency) if plan.lines else None,
    }


# --- inlines -----------------------------------------------------------------------------------------


class ItemInline(ReadOnlyInline):
    model = SubscriptionItem
    fields = ["description", "is_addon", "per_period"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("items")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("price__product", "subscription")

    @admin.display(description=_("item"))
    def description(self, item: SubscriptionItem) -> str:
        return item_description(item.price, item.quantity)

    @admin.display(description=_("per period"))
    def per_period(self, item: SubscriptionItem) -> str:
        if item.price.usage_type == "metered":
            return str(_("by usage"))
        return money_text(period_amount(item.price, item.quantity), item.price.currency)


class PendingLineInline(ReadOnlyInline):
    model = PendingLine
    fields = ["description", "quantity", "amount_display", "service_period", "kind", "created_at"]
    readonly_fields = ["amount_display", "service_period"]
    show_change_link = False
    verbose_name_plural = _("lines waiting for an invoice")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(invoiced_at__isnull=True)

    @admin.display(description=_("amount"))
    def amount_display(self, line: PendingLine) -> str:
        return money_text(line.amount.amount, str(line.amount.currency))

    @admin.display(description=_("service period"))
    def service_period(self, line: PendingLine) -> str:
        return f"{line.period_start:%Y-%m-%d %H:%M} – {line.period_end:%Y-%m-%d %H:%M}"


class ScheduledChangeInline(ReadOnlyInline):
    model = ScheduledChange
    fields = ["description", "effective_at", "status", "created_at"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("scheduled changes")


# --- the admin ---------------------------------------------------------------------------------------


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "plan_display", "status_display", "period_display", "cancel_at_period_end"]
    list_display_links = ["id", "customer"]
    list_filter = ["status", "collection_method", "cancel_at_period_end", "plan_version__plan"]
    search_fields = ["=id", "customer__name", "customer__email", "=customer__external_id"]
    search_help_text = _("Search by subscription number, customer name, e-mail or CRM id (exact).")
    list_select_related = ["customer", "plan_version__plan"]
    fieldsets = [
        (None, {"fields": ["customer_link", "plan_display", "status_display", "currency", "cycle_display"]}),
        (
            _("Billing period"),
            {"fields": ["period_display", "billing_cycle_anchor", "trial_start", "trial_end"]},
        ),
        (
            _("Collection and discount"),
            {"fields": ["collection_method", "days_until_due", "pause_display", "coupon", "coupon_periods_left"]},
        ),
        (
            _("Cancellation"),
            {
                "fields": [
                    "cancel_at_period_end",
                    "canceled_at",
                    "ended_at",
                    "cancellation_reason",
                    "cancellation_comment",
                ]
            },
        ),
        (_("Other"), {"fields": ["metadata", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [ItemInline, ScheduledChangeInline, PendingLineInline]
    change_form_template = "admin/subscriptions/subscription/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def get_queryset(self, request) -> QuerySet[Subscription]:
        return super().get_queryset(request).select_related("customer", "plan_version__plan", "coupon")

    def has_add_permission(self, request):
        return False  # subscriptions start through the API or the portal (the services check everything)

    def has_delete_permission(self, request, obj=None):
        return False

    # --- displays -------------------------------------------------------------------------------------

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_link(self, subscription: Subscription):
        url = reverse("admin:subscriptions_customer_change", args=[subscription.customer_id])
        return format_html('<a href="{}">{}</a>', url, subscription.customer.name)

    @admin.display(description=_("plan"), ordering="plan_version__plan__name")
    def plan_display(self, subscription: Subscription) -> str:
        if subscription.plan_version_id is None:
            return str(_("Custom prices"))
        return str(subscription.plan_version)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, subscription: Subscription) -> str:
        text = subscription.get_status_display()
        if subscription.cancel_at_period_end:
            text += f" · {_('cancels on')} {subscription.current_period_end:%Y-%m-%d}"
        if subscription.status == SubscriptionStatus.PAUSED and subscription.service_paused_until:
            text += f" · {_('resumes on')} {subscription.service_paused_until:%Y-%m-%d}"
        return text

    @admin.display(description=_("current period"), ordering="current_period_end")
    def period_display(self, subscription: Subscription) -> str:
        return f"{subscription.current_period_start:%Y-%m-%d %H:%M} – {subscription.current_period_end:%Y-%m-%d %H:%M}"

    @admin.display(description=_("billed"))
    def cycle_display(self, subscription: Subscription) -> str:
        count, interval = subscription.interval_count, subscription.interval
        return str(_("every %(interval)s") % {"interval": interval if count == 1 else f"{count} {interval}s"})

    @admin.display(description=_("collection pause"))
    def pause_display(self, subscription: Subscription) -> str:
        if not subscription.pause_behavior:
            return "—"
        until = f" · {_('until')} {subscription.pause_resumes_at:%Y-%m-%d}" if subscription.pause_resumes_at else ""
        return f"{subscription.get_pause_behavior_display()}{until}"

    # --- the page -------------------------------------------------------------------------------------

    def available_actions(self, request: HttpRequest, subscription: Subscription) -> list[tuple[str, Any, str]]:
        if not self.has_change_permission(request, subscription):
            return []
        status = subscription.status
        ended = status in (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)
        wanted: list[str] = []
        if not ended:
            if status != SubscriptionStatus.PAUSED:
                wanted.append("change")
            if status == SubscriptionStatus.TRIALING:
                wanted.append("end-trial")
            if status == SubscriptionStatus.PAUSED or subscription.pause_behavior:
                wanted.append("resume")
            if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE) or not subscription.pause_behavior:
                wanted.append("pause")
            if any(c.status == ScheduledChangeStatus.PENDING for c in subscription.scheduled_changes.all()):
                wanted.append("cancel-scheduled-change")
            wanted.append("reactivate" if subscription.cancel_at_period_end else "cancel")
        return [
            (
                name,
                ACTIONS[name].title,
                reverse("admin:subscriptions_subscription_action", args=[subscription.pk, name]),
            )
            for name in wanted
            if request.user.has_perm(ACTIONS[name].permission)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        subscription = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if subscription is not None:
            events = AuditEvent.objects.filter(
                object_type="subscriptions.subscription", object_id=str(subscription.pk)
            ).order_by("-occurred_at", "-id")[:200]
            extra = {
                "subscription_actions": self.available_actions(request, subscription),
                "subscription_now": clock.now(subscription.customer),
                "timeline": [
                    {"event": e, "label": action_label(e.action), "changes": change_summary(e)} for e in events
                ],
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        return [
            path(
                "<path:object_id>/action/<slug:name>/",
                self.admin_site.admin_view(self.action_view),
                name="subscriptions_subscription_action",
            ),
            *super().get_urls(),
        ]

    def action_view(self, request, object_id, name):
        action = ACTIONS.get(name)
        subscription = self.get_object(request, unquote(object_id))
        if subscription is None or action is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, subscription) or not request.user.has_perm(action.permission):
            raise PermissionDenied
        page = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
        form = action.form(request.POST or None, subscription=subscription)
        outcome: dict[str, Any] | None = None
        preview: dict[str, Any] | None = None
        if request.method == "POST" and form.is_valid():
            common = {"actor": staff_actor(request), "now": clock.now(subscription.customer)}

            def call():
                return CALLS[name](subscription, form, **common)

            try:
                if request.POST.get("confirm") == "yes":
                    call()
                    messages.success(request, _("Done: %(what)s.") % {"what": str(action.title).lower()})
                    return HttpResponseRedirect(page)
                if name == "change":
                    preview = preview_outcome(
                        subscription_preview_change(subscription=subscription, **common, **form.arguments())
                    )
                else:
                    outcome = dry_run_outcome(subscription, call)
            except DomainError as error:
                form.add_error(None, error.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": subscription,
            "title": f"{action.title}: {subscription}",
            "action": action,
            "form": form,
            "outcome": outcome,
            "preview": preview,
            "confirm": outcome is not None or preview is not None,
            "lines": (preview or outcome or {}).get("lines", []),
            "total": (preview or {}).get("total"),
            "change_url": page,
        }
        return TemplateResponse(request, "admin/subscriptions/subscription/action.html", context)
