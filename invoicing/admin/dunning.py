"""Dunning in the admin: the policies finance sets, the cases running, and the recovery report.

A skin over ``invoicing.services.dunning_policies`` and ``invoicing.selectors.recovery``. The policy
form is validated by a dry run of the policy services (``catalog.admin.base``), so every rule shows up
on its field in the service's words; the form adds one check of its own input: the retry days are
typed as "1, 3, 5, 7" and must read as whole numbers. Cases are written by the collection run only:
their list and pages are read-only here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.errors import DomainError
from billing_site.money import round_money
from catalog.admin.base import ServiceForm, ServiceModelAdmin, dry_run, form_values, staff_actor
from catalog.models import Plan
from invoicing.admin.common import link, money
from invoicing.admin.common import moment as _moment
from invoicing.models import (
    CustomerDunningPolicy,
    DunningCase,
    DunningPolicy,
    DunningStatus,
    FinalAction,
    PaymentAttempt,
    PlanDunningPolicy,
)
from invoicing.selectors.recovery import RecoveryReport, RecoveryRow, recovery_report
from invoicing.services.dunning_policies import (
    POLICY_FIELDS,
    dunning_policy_assign_customer,
    dunning_policy_assign_plan,
    dunning_policy_create,
    dunning_policy_delete,
    dunning_policy_update,
)
from subscriptions.models import Customer

#: The report is for finance: it needs the cases and the policies (Support reads cases, not policies).
REPORT_PERMISSIONS = ("invoicing.view_dunningcase", "invoicing.view_dunningpolicy")


# --- a policy in words ------------------------------------------------------------------------------------


def _days_text(days: list[int]) -> str:
    texts = [str(day) for day in days]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} and {texts[-1]}"


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


_FINAL_WORDS = {
    FinalAction.CANCEL: "then cancel the subscription",
    FinalAction.MARK_UNPAID: "then mark the subscription unpaid",
    FinalAction.LEAVE_PAST_DUE: "then leave the subscription past due",
}


def policy_summary(policy: DunningPolicy) -> list[str]:
    """What the policy does, in sentences finance and support can read out to a customer.

    E.g. "Retry 1, 3, 5 and 7 days after the first failed payment; 5 attempts in all; then mark the
    subscription unpaid; access suspended after 10 days."
    """
    days = [day for day in (policy.retry_days or []) if isinstance(day, int)]
    attempts = policy.max_attempts or 0
    retries = days[: max(attempts - 1, 0)]
    parts = []
    if retries:
        unit = "day" if retries == [1] else "days"
        parts.append(f"Retry {_days_text(retries)} {unit} after the first failed payment")
        parts.append(f"{_count(attempts, 'attempt')} in all")
    else:
        parts.append("No retries: one attempt only")
    parts.append(_FINAL_WORDS.get(policy.final_action, f"then {policy.final_action}"))
    suspend = policy.suspend_after_days
    if suspend is None:
        parts.append("access never suspended")
    elif suspend == 0:
        parts.append("access suspended at once")
    else:
        parts.append(f"access suspended after {_count(suspend, 'day')}")
    sentences = ["; ".join(parts) + "."]
    unused = days[len(retries) :]
    if unused:
        sentences.append(
            f"Day{'s' if len(unused) > 1 else ''} {_days_text(unused)} of the schedule "
            f"{'are' if len(unused) > 1 else 'is'} never reached: the maximum of {attempts} attempts comes first."
        )
    if policy.send_reminders:
        sentences.append("The customer gets a reminder e-mail after every failed attempt.")
        if days:
            sentences.append(
                f"Invoices paid by bank transfer get a reminder {_days_text(days)} "
                f"{'day' if days == [1] else 'days'} after their due date."
            )
    else:
        sentences.append("No reminder e-mails are sent.")
    sentences.append("A hard decline (a stolen or closed card) stops the retries until the customer adds a new card.")
    return sentences


def schedule_text(days: Any) -> str:
    return ", ".join(str(day) for day in days) if isinstance(days, list) and days else "—"


# --- the policy form --------------------------------------------------------------------------------------

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class ScheduleField(forms.CharField):
    """The retry days typed as "1, 3, 5, 7"; the service judges the numbers, this field only reads them."""

    widget = forms.TextInput(attrs={"size": 24, "placeholder": "1, 3, 5, 7", "autocomplete": "off"})

    def prepare_value(self, value: Any) -> Any:
        return schedule_text(value).replace("—", "") if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = (super().to_python(value) or "").strip().strip(",").strip()
        if not text:
            return []
        parts = [part.strip() for part in text.split(",")]
        problems = []
        if any(not part for part in parts):
            problems.append(str(_("there is nothing between two commas")))
        problems += [
            str(_("“%(text)s” is not a whole number")) % {"text": part}
            for part in parts
            if part and not _WHOLE_NUMBER.fullmatch(part)
        ]
        if problems:
            found = ", and ".join(problems)
            raise forms.ValidationError(
                _("%(problems)s. Write the retry days as whole numbers separated by commas, for example 1, 3, 5, 7.")
                % {"problems": found[:1].upper() + found[1:]},
                code="invalid_schedule",
            )
        return [int(part) for part in parts]


class DunningPolicyForm(ServiceForm):
    retry_days = ScheduleField(
        label=_("Retry days"),
        required=False,
        help_text=_(
            "Days after the first failed payment on which the card is charged again, separated by commas, "
            "e.g. 1, 3, 5, 7. Invoices paid by bank transfer get a reminder on these days after their due date."
        ),
    )
    plans = forms.ModelMultipleChoiceField(
        label=_("Plans"),
        queryset=Plan.objects.all(),
        required=False,
        help_text=_(
            "Invoices of these plans follow this policy. A plan follows one policy: choosing it here moves it "
            "from the policy it followed."
        ),
    )
    customers = forms.ModelMultipleChoiceField(
        label=_("Customers"),
        queryset=Customer.objects.all(),
        required=False,
        help_text=_(
            "These customers follow this policy whatever their plan (e.g. an enterprise customer who pays late "
            "but always pays). Choosing a customer here moves them from the policy they followed."
        ),
    )
    admin_site: admin.AdminSite = admin.site

    class Meta:
        model = DunningPolicy
        fields = ["name", "is_default", "retry_days", "max_attempts", "send_reminders", "final_action"]
        fields += ["suspend_after_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, source in (("plans", PlanDunningPolicy), ("customers", CustomerDunningPolicy)):
            field = self.fields[name]
            remote = source._meta.get_field("plan" if name == "plans" else "customer")
            field.widget = AutocompleteSelectMultiple(remote, self.admin_site)
            field.widget.choices = field.choices
        if self.instance.pk:
            self.initial.setdefault(
                "plans", list(PlanDunningPolicy.objects.filter(policy=self.instance).values_list("plan_id", flat=True))
            )
            self.initial.setdefault(
                "customers",
                list(CustomerDunningPolicy.objects.filter(policy=self.instance).values_list("customer_id", flat=True)),
            )


# --- the policy admin -------------------------------------------------------------------------------------


class DunningPolicyAdmin(ServiceModelAdmin):
    form = DunningPolicyForm
    fieldsets = [
        (None, {"fields": ["name", "is_default"]}),
        (
            _("Retries and reminders"),
            {
                "fields": ["retry_days", "max_attempts", "send_reminders"],
                "description": _(
                    "Soft declines (insufficient funds, the bank unavailable) are retried on these days; "
                    "a hard decline (stolen or closed card) stops retries until the customer adds a new card."
                ),
            },
        ),
        (_("When retries run out"), {"fields": ["final_action", "suspend_after_days"]}),
        (
            _("Who follows this policy"),
            {
                "fields": ["plans", "customers"],
                "description": _(
                    "An invoice follows its customer's policy, else its plan's, else the default policy. "
                    "Invoices already in dunning follow the change from their next step."
                ),
            },
        ),
    ]
    list_display = [
        "name",
        "default_display",
        "schedule_display",
        "max_attempts",
        "final_action",
        "suspend_display",
        "plan_count",
        "customer_count",
        "active_cases",
    ]
    search_fields = ["name"]
    actions = None
    change_form_template = "admin/invoicing/dunningpolicy/change_form.html"
    change_list_template = "admin/invoicing/dunningpolicy/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"admin_site": self.admin_site})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.is_read_only(request, obj):
            return fieldsets
        shown = {"retry_days": "schedule_display", "plans": "plans_display", "customers": "customers_display"}
        return [
            (title, {**options, "fields": [shown.get(name, name) for name in options["fields"]]})
            for title, options in fieldsets
        ]

    def get_changeform_initial_data(self, request):
        return {"retry_days": [1, 3, 5, 7], **super().get_changeform_initial_data(request)}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                plans_n=Count("plan_links", distinct=True),
                customers_n=Count("customer_links", distinct=True),
                active_n=Count("cases", filter=Q(cases__status=DunningStatus.ACTIVE), distinct=True),
            )
        )

    # --- displays -----------------------------------------------------------------------------------------

    @admin.display(description=_("default"), boolean=True, ordering="is_default")
    def default_display(self, policy: DunningPolicy) -> bool:
        return policy.is_default

    @admin.display(description=_("retry days"))
    def schedule_display(self, policy: DunningPolicy) -> str:
        return schedule_text(policy.retry_days)

    @admin.display(description=_("suspend access after"))
    def suspend_display(self, policy: DunningPolicy) -> str:
        days = policy.suspend_after_days
        return str(_("never")) if days is None else _count(days, "day")

    @admin.display(description=_("plans"), ordering="plans_n")
    def plan_count(self, policy: DunningPolicy) -> int:
        return policy.plans_n

    @admin.display(description=_("customers"), ordering="customers_n")
    def customer_count(self, policy: DunningPolicy) -> int:
        return policy.customers_n

    @admin.display(description=_("invoices in dunning"), ordering="active_n")
    def active_cases(self, policy: DunningPolicy):
        if not policy.active_n:
            return 0
        url = (
            reverse("admin:invoicing_dunningcase_changelist")
            + "?"
            + urlencode({"policy__id__exact": policy.pk, "status__exact": DunningStatus.ACTIVE})
        )
        return format_html('<a href="{}">{}</a>', url, policy.active_n)

    @admin.display(description=_("plans"))
    def plans_display(self, policy: DunningPolicy):
        plans = [row.plan for row in PlanDunningPolicy.objects.select_related("plan").filter(policy=policy)]
        return format_html_join(", ", "{}", ((p.name,) for p in plans)) if plans else "—"

    @admin.display(description=_("customers"))
    def customers_display(self, policy: DunningPolicy):
        rows = CustomerDunningPolicy.objects.select_related("customer").filter(policy=policy)
        return format_html_join(", ", "{}", ((row.customer.name,) for row in rows)) or "—"

    # --- saving through the services ------------------------------------------------------------------------

    def service_save(self, request, form, formsets, *, change):
        actor, now = staff_actor(request), clock.now()
        fields = form_values(form, POLICY_FIELDS, change=change)
        if change:
            policy = dunning_policy_update(policy=form.instance, actor=actor, now=now, **fields)
        else:
            policy = dunning_policy_create(actor=actor, now=now, **fields)
        request._dunning_moves = self._assign(form, policy, actor=actor, now=now)
        return policy

    @staticmethod
    def _assign(form, policy: DunningPolicy, *, actor, now) -> list[str]:
        """Plans and customers as chosen on the form; returns who moved here from another policy."""
        moves: list[str] = []
        plan_links = {link.plan_id: link for link in PlanDunningPolicy.objects.select_related("policy")}
        wanted_plans = {plan.pk: plan for plan in form.cleaned_data.get("plans") or []}
        for pk, plan in sorted(wanted_plans.items()):
            before = plan_links.get(pk)
            if before is not None and before.policy_id != policy.pk:
                moves.append(f"{plan.name} (from “{before.policy.name}”)")
            dunning_policy_assign_plan(plan=plan, policy=policy, actor=actor, now=now)
        for pk, link_ in sorted(plan_links.items()):
            if link_.policy_id == policy.pk and pk not in wanted_plans:
                dunning_policy_assign_plan(plan=Plan(pk=pk), policy=None, actor=actor, now=now)
        customer_links = {link.customer_id: link for link in CustomerDunningPolicy.objects.select_related("policy")}
        wanted_customers = {customer.pk: customer for customer in form.cleaned_data.get("customers") or []}
        for pk, customer in sorted(wanted_customers.items()):
            before = customer_links.get(pk)
            if before is not None and before.policy_id != policy.pk:
                moves.append(f"{customer.name} (from “{before.policy.name}”)")
            dunning_policy_assign_customer(customer=customer, policy=policy, actor=actor, now=now)
        for pk, link_ in sorted(customer_links.items()):
            if link_.policy_id == policy.pk and pk not in wanted_customers:
                dunning_policy_assign_customer(customer=Customer(pk=pk), policy=None, actor=actor, now=now)
        return moves

    def _report_moves(self, request) -> None:
        moves = getattr(request, "_dunning_moves", [])
        if moves:
            self.message_user(
                request,
                _("Moved to this policy: %(moves)s.") % {"moves": "; ".join(moves)},
                messages.WARNING,
            )

    def response_add(self, request, obj, post_url_continue=None):
        self._report_moves(request)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self._report_moves(request)
        return super().response_change(request, obj)

    # --- pages ----------------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        if not DunningPolicy.objects.filter(is_default=True).exists():
            messages.warning(
                request,
                _(
                    "No dunning policy is the default: invoices whose plan and customer have none are not chased. "
                    "Open the policy that should chase them and tick “default policy”."
                ),
            )
        extra = {"report_url": report_url(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        policy = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if policy is not None:
            saved = DunningPolicy.objects.get(pk=policy.pk)  # what happens now, not what was just typed
            active = saved.cases.filter(status=DunningStatus.ACTIVE).count()
            extra = {
                "summary": policy_summary(saved),
                "active_cases": active,
                "cases_url": reverse("admin:invoicing_dunningcase_changelist")
                + "?"
                + urlencode({"policy__id__exact": saved.pk, "status__exact": DunningStatus.ACTIVE}),
                "report_url": report_url(request),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # --- deleting through the service -------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        """Never the default (the service refuses it too): another policy is made the default first."""
        if obj is not None and obj.is_default:
            return False
        return request.user.has_perm("invoicing.delete_dunningpolicy")

    def delete_view(self, request, object_id, extra_context=None):
        policy = self.get_object(request, unquote(object_id))
        if policy is not None and self.has_delete_permission(request, policy):
            try:
                dry_run(lambda: dunning_policy_delete(policy=policy, actor=staff_actor(request), now=clock.now()))
            except DomainError as error:
                messages.error(request, error.message)
                return HttpResponseRedirect(reverse("admin:invoicing_dunningpolicy_change", args=[policy.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs, request):
        """What deleting means, in words: the links go, plans and customers fall back to the default."""
        items: list[str] = []
        for policy in objs:
            items.append(str(_("Dunning policy “%(name)s”")) % {"name": policy.name})
            for row in PlanDunningPolicy.objects.select_related("plan").filter(policy=policy):
                items.append(str(_("Plan “%(name)s” follows the default policy again")) % {"name": row.plan.name})
            for row in CustomerDunningPolicy.objects.select_related("customer").filter(policy=policy):
                items.append(
                    str(_("Customer “%(name)s” follows their plan's or the default policy again"))
                    % {"name": row.customer.name}
                )
        return items, {str(DunningPolicy._meta.verbose_name_plural): len(objs)}, set(), []

    def delete_model(self, request, obj):
        dunning_policy_delete(policy=obj, actor=staff_actor(request), now=clock.now())

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            self.delete_model(request, policy)


# --- cases ------------------------------------------------------------------------------------------------

_CASE_COLOURS = {
    DunningStatus.ACTIVE: ("#fff1d6", "#7a4a00"),
    DunningStatus.RECOVERED: ("#e3f2e4", "#1b5e20"),
    DunningStatus.EXHAUSTED: ("#fde2e1", "#9b1c1c"),
    DunningStatus.CLOSED: ("#e5e5e5", "#555"),
}


#: Short words for the badge; the full label is its tooltip.
_CASE_SHORT = {DunningStatus.RECOVERED: _("Recovered"), DunningStatus.CLOSED: _("Closed")}


def case_badge(case: DunningCase):
    background, colour = _CASE_COLOURS.get(case.status, ("#ececec", "#444"))
    return format_html(
        '<span class="inv-badge" style="display:inline-block;padding:1px 8px;border-radius:10px;font-size:0.75rem;'
        'font-weight:600;white-space:nowrap;background:{};color:{}" title="{}">{}</span>',
        background,
        colour,
        case.get_status_display(),
        _CASE_SHORT.get(case.status, case.get_status_display()),
    )


class NeedsPaymentMethodFilter(admin.SimpleListFilter):
    title = _("waiting for a new payment method")
    parameter_name = "needs_payment_method"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes (hard decline)")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(needs_payment_method=self.value() == "yes")
        return queryset


class DunningCaseAdmin(admin.ModelAdmin):
    list_display = [
        "invoice_display",
        "customer_display",
        "policy_display",
        "status_display",
        "step",
        "next_step_display",
        "at_risk_display",
        "recovered_display",
        "needs_payment_method",
        "started_display",
    ]
    list_display_links = ["invoice_display"]
    list_filter = ["status", "policy", NeedsPaymentMethodFilter]
    search_fields = ["invoice__number", "customer__name"]
    search_help_text = _("Search by invoice number or the customer's name.")
    list_select_related = ["invoice", "customer", "policy"]
    list_per_page = 50
    actions = None
    empty_value_display = "—"
    change_list_template = "admin/invoicing/dunningcase/change_list.html"
    fieldsets = [
        (None, {"fields": ["invoice_display", "customer_display", "subscription_display", "policy_display"]}),
        (
            _("Where it stands"),
            {
                "fields": [
                    "status_display",
                    "step",
                    "next_step_display",
                    "needs_payment_method",
                    "last_decline_code",
                    "access_suspended_display",
                    "final_action_taken",
                ]
            },
        ),
        (_("Money"), {"fields": ["at_risk_display", "due_now_display", "recovered_display"]}),
        (_("Dates"), {"fields": ["started_display", "ended_display"]}),
        (_("Charge attempts on the invoice"), {"fields": ["attempts_display"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.get_fieldsets(request, obj) for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # cases are opened by the collection run

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_display(self, case: DunningCase):
        return link(case.invoice, case.invoice.number or f"#{case.invoice_id}", site=self.admin_site)

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_display(self, case: DunningCase):
        return link(case.customer, case.customer.name, site=self.admin_site)

    @admin.display(description=_("subscription"))
    def subscription_display(self, case: DunningCase):
        return link(case.subscription, site=self.admin_site) if case.subscription_id else "—"

    @admin.display(description=_("policy"), ordering="policy__name")
    def policy_display(self, case: DunningCase):
        return link(case.policy, case.policy.name, site=self.admin_site)

    @admin.display(description=_("policy"), ordering="policy__name")
    def policy_name(self, case: DunningCase) -> str:
        return case.policy.name

    @staticmethod
    def _policy_shown(request, names: list[str]) -> list[str]:
        """Support reads cases but not policies: the policy's name without a link to a page they cannot open."""
        if request.user.has_perm("invoicing.view_dunningpolicy"):
            return names
        return ["policy_name" if name == "policy_display" else name for name in names]

    def get_list_display(self, request):
        return self._policy_shown(request, list(super().get_list_display(request)))

    def get_fieldsets(self, request, obj=None):
        return [
            (title, {**options, "fields": self._policy_shown(request, list(options["fields"]))})
            for title, options in super().get_fieldsets(request, obj)
        ]

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, case: DunningCase):
        return case_badge(case)

    @admin.display(description=_("next step"), ordering="next_step_at")
    def next_step_display(self, case: DunningCase) -> str:
        return _moment(case.next_step_at)

    @admin.display(description=_("amount at risk"), ordering="amount_at_risk")
    def at_risk_display(self, case: DunningCase) -> str:
        return money(case.amount_at_risk, case.currency)

    @admin.display(description=_("still due on the invoice"))
    def due_now_display(self, case: DunningCase) -> str:
        return money(case.invoice.amount_due, case.invoice.currency)

    @admin.display(description=_("recovered"), ordering="amount_recovered")
    def recovered_display(self, case: DunningCase) -> str:
        return money(case.amount_recovered, case.currency)

    @admin.display(description=_("started"), ordering="started_at")
    def started_display(self, case: DunningCase) -> str:
        return _moment(case.started_at)

    @admin.display(description=_("ended"))
    def ended_display(self, case: DunningCase) -> str:
        return _moment(case.ended_at)

    @admin.display(description=_("access suspended"))
    def access_suspended_display(self, case: DunningCase) -> str:
        return _moment(case.access_suspended_at)

    @admin.display(description=_("attempts"))
    def attempts_display(self, case: DunningCase):
        attempts = PaymentAttempt.objects.filter(invoice_id=case.invoice_id).order_by("number")
        rows = [
            (
                attempt.number,
                _moment(attempt.created_at),
                attempt.get_status_display(),
                " / ".join(filter(None, [attempt.decline_code or attempt.failure_code, attempt.failure_message]))
                or "—",
            )
            for attempt in attempts
        ]
        if not rows:
            return "—"
        return format_html(
            '<table class="inv-attempts"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
            _("when (UTC)"),
            _("outcome"),
            _("decline"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def changelist_view(self, request, extra_context=None):
        extra = {"report_url": report_url(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def get_urls(self):
        return [
            path(
                "recovery-report/",
                self.admin_site.admin_view(self.recovery_report_view),
                name="invoicing_dunningcase_recovery_report",
            ),
            path(
                "recovery-report.csv",
                self.admin_site.admin_view(self.recovery_report_csv_view),
                name="invoicing_dunningcase_recovery_report_csv",
            ),
            *super().get_urls(),
        ]

    # --- the recovery report ------------------------------------------------------------------------------

    def recovery_report_view(self, request: HttpRequest) -> HttpResponse:
        if not can_see_report(request):
            raise PermissionDenied
        form = PeriodForm.from_request(request)
        report = form.report() if form.is_valid() else None
        today = clock.now().date()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Recovery report"),
            "form": form,
            "report": report,
            "table": report_table(report) if report else None,
            "presets": [(label, f"?{urlencode(period)}") for label, period in presets(today)],
            "csv_url": reverse("admin:invoicing_dunningcase_recovery_report_csv") + f"?{urlencode(form.period())}"
            if report
            else None,
            "cases_url": reverse("admin:invoicing_dunningcase_changelist"),
        }
        return TemplateResponse(request, "admin/invoicing/dunningcase/recovery_report.html", context)

    def recovery_report_csv_view(self, request: HttpRequest) -> HttpResponse:
        if not can_see_report(request):
            raise PermissionDenied
        form = PeriodForm.from_request(request)
        if not form.is_valid():
            page = reverse("admin:invoicing_dunningcase_recovery_report")
            return HttpResponseRedirect(f"{page}?{request.GET.urlencode()}")
        report = form.report()
        period = form.period()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="recovery-report-{period["from"]}-to-{period["to"]}.csv"'
        )
        writer = csv.writer(response)
        for row in report_csv_rows(report):
            writer.writerow(row)
        return response


# --- the report's period and table -------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def can_see_report(request: HttpRequest) -> bool:
    return all(request.user.has_perm(permission) for permission in REPORT_PERMISSIONS)


def report_url(request: HttpRequest) -> str | None:
    return reverse("admin:invoicing_dunningcase_recovery_report") if can_see_report(request) else None


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def presets(today: dt.date) -> list[tuple[Any, dict[str, str]]]:
    this_first, this_last = month_of(today)
    last_first, last_last = month_of(this_first - dt.timedelta(days=1))
    return [
        (_("This month"), {"from": this_first.isoformat(), "to": this_last.isoformat()}),
        (_("Last month"), {"from": last_first.isoformat(), "to": last_last.isoformat()}),
        (
            _("This year"),
            {"from": today.replace(month=1, day=1).isoformat(), "to": today.replace(month=12, day=31).isoformat()},
        ),
    ]


class PeriodForm(forms.Form):
    """The report's period: from and to, both days included, in UTC. Default: this month."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        messages_ = {
            "invalid": _("Enter a date as YYYY-MM-DD, for example 2026-01-31."),
        }
        self.fields["from"] = forms.DateField(
            label=_("From"),
            input_formats=["%Y-%m-%d"],
            error_messages={**messages_, "required": _("Give the first day of the period.")},
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        )
        self.fields["to"] = forms.DateField(
            label=_("To (included)"),
            input_formats=["%Y-%m-%d"],
            error_messages={**messages_, "required": _("Give the last day of the period.")},
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        )

    @classmethod
    def from_request(cls, request: HttpRequest) -> PeriodForm:
        if "from" in request.GET or "to" in request.GET:
            return cls(request.GET)
        first, last = month_of(clock.now().date())
        return cls({"from": first.isoformat(), "to": last.isoformat()})

    def clean(self):
        data = super().clean()
        first, last = data.get("from"), data.get("to")
        for name, day in (("from", first), ("to", last)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, _("Choose a day between 2000-01-01 and 2099-12-31."))
        if first and last and first > last and not self.errors:
            self.add_error(
                "to",
                _("The last day (%(to)s) is before the first day (%(from)s): swap them.")
                % {"to": last.isoformat(), "from": first.isoformat()},
            )
        return data

    def period(self) -> dict[str, str]:
        return {"from": self.cleaned_data["from"].isoformat(), "to": self.cleaned_data["to"].isoformat()}

    def report(self) -> RecoveryReport:
        start = dt.datetime.combine(self.cleaned_data["from"], dt.time.min, tzinfo=dt.UTC)
        end = dt.datetime.combine(self.cleaned_data["to"] + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        return recovery_report(start=start, end=end)


def rate_text(row: RecoveryRow) -> str:
    rate = row.recovery_rate
    return "—" if rate is None else f"{rate}%"


def report_table(report: RecoveryReport) -> dict[str, Any]:
    """The report as the page shows it: money per currency in columns of their own."""

    def cells(row: RecoveryRow) -> dict[str, Any]:
        cases = reverse("admin:invoicing_dunningcase_changelist")
        active_url = None
        if row.policy is not None and row.in_dunning:
            query = {"policy__id__exact": row.policy.pk, "status__exact": DunningStatus.ACTIVE}
            active_url = f"{cases}?{urlencode(query)}"
        return {
            "label": row.label,
            "is_default": bool(row.policy and row.policy.is_default),
            "in_dunning": row.in_dunning,
            "active_url": active_url,
            "at_risk": [money(row.at_risk[c], c) for c in report.currencies],
            "started": row.started,
            "recovered": row.recovered,
            "recovered_amount": [money(row.recovered_amount[c], c) for c in report.currencies],
            "exhausted": row.exhausted,
            "closed": row.closed,
            "ended": row.ended,
            "rate": rate_text(row),
        }

    return {
        "currencies": report.currencies,
        "rows": [cells(row) for row in report.rows],
        "total": cells(report.total),
    }


def _csv_text(text: str) -> str:
    """A name as text in a spreadsheet, never as a formula ("=HYPERLINK(…)")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_amount(amount: Decimal, currency: str) -> str:
    try:
        return str(round_money(amount, currency))
    except DomainError:
        return str(amount)


def report_csv_rows(report: RecoveryReport) -> list[list[str]]:
    """The same table as the page: one row per policy, then all policies; money per currency."""
    header = ["Policy", "In dunning now"]
    header += [f"At risk now ({c})" for c in report.currencies]
    header += ["Cases started", "Recovered"]
    header += [f"Recovered amount ({c})" for c in report.currencies]
    header += ["Retries ran out", "Closed", "Recovery rate (%)"]
    rows = [header]
    for row in [*report.rows, report.total]:
        rate = row.recovery_rate
        rows.append(
            [
                _csv_text(row.label),
                str(row.in_dunning),
                *[_csv_amount(row.at_risk[c], c) for c in report.currencies],
                str(row.started),
                str(row.recovered),
                *[_csv_amount(row.recovered_amount[c], c) for c in report.currencies],
                str(row.exhausted),
                str(row.closed),
                "" if rate is None else str(rate),
            ]
        )
    return rows


def register(site: admin.AdminSite) -> None:
    if DunningPolicy not in site._registry:
        site.register(DunningPolicy, DunningPolicyAdmin)
    if DunningCase not in site._registry:
        site.register(DunningCase, DunningCaseAdmin)
