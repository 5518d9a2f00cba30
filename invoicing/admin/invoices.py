"""Invoices in the admin: the list finance works from, the invoice page, and every button on it.

A skin over ``invoicing.services``: nothing here changes an invoice except through a service, with the
staff user as actor and the customer's time (a test clock's, for test customers) as ``now``. The page
itself has no form fields: drafts are changed through the buttons (add or remove a line, hold,
edit the note …), finalized invoices only through what their status allows (mark paid, void, credit
note). Every refusal is the service's own sentence, shown as a message or on the field it concerns.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from billing_site.money import minor_units, parse_amount
from catalog.admin.base import plain_number
from catalog.admin.formatting import unit_amount_text
from invoicing.admin import forms as invoice_forms
from invoicing.admin.common import dry_run, link, moment, money, show_error, status_badge
from invoicing.models import CreditNote, EmailLog, Invoice, InvoiceLine, InvoiceStatus, LineKind
from invoicing.services.billing import billing_run
from invoicing.services.documents import invoice_pdf_bytes
from invoicing.services.drafts import (
    invoice_create_manual,
    invoice_delete_draft,
    invoice_hold,
    invoice_line_add,
    invoice_line_remove,
    invoice_release,
    invoice_update_draft,
)
from invoicing.services.invoices import (
    invoice_finalize,
    invoice_mark_paid,
    invoice_mark_uncollectible,
    invoice_void,
)
from invoicing.services.payment_methods import customer_has_payment_method
from subscriptions.admin.timeline import action_label, change_summary
from subscriptions.models import CollectionMethod, Subscription, SubscriptionStatus

S = InvoiceStatus
CHANGE = "invoicing.change_invoice"
ADD = "invoicing.add_invoice"  # one-off invoices and "Run billing now"
DELETE = "invoicing.delete_invoice"
ADD_CREDIT_NOTE = "invoicing.add_creditnote"


def invoice_label(invoice: Invoice) -> str:
    return invoice.number or f"{_('Draft')} #{invoice.pk}"


def actor(request: HttpRequest) -> Actor:
    return Actor.staff(request.user)


def now_for(invoice: Invoice) -> dt.datetime:
    return clock.now(invoice.customer)


def day(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else "—"


def moment_text(value: dt.datetime | None) -> str:
    return f"{moment(value)} UTC" if value else "—"


# --- list filters ----------------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue (open, past its due date)")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        overdue = Q(status=S.OPEN, due_at__lt=clock.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


class PeriodFilter(admin.SimpleListFilter):
    title = _("billing period")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        months = model_admin.get_queryset(request).datetimes("period_start", "month", order="DESC")
        return [(f"{m:%Y-%m}", date_format(m, "F Y")) for m in months[:24]] + [("none", _("No period (one-off)"))]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(period_start__isnull=True)
        match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
        if not match:
            return queryset
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            return queryset.none()
        start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        return queryset.filter(period_start__gte=start, period_start__lt=end)


# --- the buttons -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceAction:
    title: Any
    button: Any
    statuses: tuple[str, ...]
    form: Callable[..., forms.Form]
    call: Callable[..., str]
    explanation: Any = ""
    permission: str = CHANGE
    danger: bool = False
    preview: bool = False


def _finalize(request, invoice: Invoice, form) -> str:
    done = invoice_finalize(invoice=invoice, actor=actor(request), now=now_for(invoice))
    text = _("%(draft)s is finalized as %(number)s, due on %(due)s.") % {
        "draft": f"Draft #{invoice.pk}",
        "number": done.number,
        "due": day(done.due_at),
    }
    if done.status == S.PAID:
        text += " " + str(_("Nothing is left to pay: it is paid."))
    return text


def _hold(request, invoice: Invoice, form) -> str:
    invoice_hold(invoice=invoice, actor=actor(request), now=now_for(invoice), reason=form.cleaned_data["reason"])
    return _("%(invoice)s is on hold: it will not be finalized until someone releases it.") % {
        "invoice": invoice_label(invoice)
    }


def _release(request, invoice: Invoice, form) -> str:
    done = invoice_release(invoice=invoice, actor=actor(request), now=now_for(invoice))
    if done.auto_finalize_at:
        return _(
            "%(invoice)s is released: it is finalized automatically from %(when)s UTC, or when you finalize it."
        ) % {
            "invoice": invoice_label(done),
            "when": f"{done.auto_finalize_at:%Y-%m-%d %H:%M}",
        }
    return _("%(invoice)s is released: finalize it when it is ready.") % {"invoice": invoice_label(done)}


def _add_line(request, invoice: Invoice, form) -> str:
    done = invoice_line_add(invoice=invoice, line=form.line(), actor=actor(request), now=now_for(invoice))
    return _("Line added. The total is now %(total)s.") % {"total": money(done.total, done.currency)}


def _remove_line(request, invoice: Invoice, form) -> str:
    done = invoice_line_remove(
        invoice=invoice, line_id=int(form.cleaned_data["line"]), actor=actor(request), now=now_for(invoice)
    )
    return _("Line removed. The total is now %(total)s.") % {"total": money(done.total, done.currency)}


def _edit(request, invoice: Invoice, form) -> str:
    changes = form.changes()
    if changes:
        invoice_update_draft(invoice=invoice, actor=actor(request), now=now_for(invoice), **changes)
        return _("Saved.")
    return _("Nothing was changed.")


def _delete(request, invoice: Invoice, form) -> str:
    label = invoice_label(invoice)
    invoice_delete_draft(invoice=invoice, actor=actor(request), now=now_for(invoice))
    return _("%(invoice)s is deleted. No number was used.") % {"invoice": label}


def _mark_paid(request, invoice: Invoice, form) -> str:
    amount = (form.cleaned_data.get("amount") or "").strip()
    value = None
    if amount:
        value = parse_amount(
            amount, field="amount", max_decimal_places=minor_units(invoice.currency), label=str(_("Amount received"))
        )
    done = invoice_mark_paid(
        invoice=invoice, actor=actor(request), now=now_for(invoice), amount=value, reason=form.cleaned_data["reason"]
    )
    if done.status == S.PAID:
        return _("Payment recorded: %(invoice)s is paid.") % {"invoice": invoice_label(done)}
    return _("Payment recorded: %(due)s is still due on %(invoice)s.") % {
        "due": money(done.amount_due, done.currency),
        "invoice": invoice_label(done),
    }


def _charge(request, invoice: Invoice, form) -> str:
    from invoicing.models import AttemptTrigger
    from invoicing.services.collection import invoice_collect

    attempt = invoice_collect(invoice=invoice, actor=actor(request), now=now_for(invoice), trigger=AttemptTrigger.STAFF)
    invoice.refresh_from_db()
    if attempt is None:
        return _("%(invoice)s is paid from the customer's account credit.") % {"invoice": invoice_label(invoice)}
    values = {
        "invoice": invoice_label(invoice),
        "amount": money(attempt.amount, attempt.currency),
        "card": attempt.payment_method,
    }
    if attempt.status == "succeeded":
        return _("%(amount)s was charged to %(card)s: %(invoice)s is paid.") % values
    if attempt.status == "requires_action":
        return _("The bank asks the customer to confirm the payment of %(amount)s; they were e-mailed a link.") % values
    if attempt.status == "pending":
        return _("The payment provider did not answer yet; the outcome will appear here when it does.")
    reason = attempt.failure_message or attempt.decline_code
    messages.error(request, _("The charge of %(amount)s to %(card)s failed: %(reason)s") % {**values, "reason": reason})
    return ""


def _uncollectible(request, invoice: Invoice, form) -> str:
    invoice_mark_uncollectible(
        invoice=invoice, actor=actor(request), now=now_for(invoice), reason=form.cleaned_data["reason"]
    )
    return _("%(invoice)s is marked uncollectible. A payment can still be recorded later.") % {
        "invoice": invoice_label(invoice)
    }


def _void(request, invoice: Invoice, form) -> str:
    invoice_void(invoice=invoice, actor=actor(request), now=now_for(invoice), reason=form.cleaned_data["reason"])
    return _("%(invoice)s is void. It keeps its number; nothing is due on it any more.") % {
        "invoice": invoice_label(invoice)
    }


def _line_form(invoice: Invoice, data=None):
    return invoice_forms.LineForm(data)


def _remove_form(invoice: Invoice, data=None):
    class RemoveLineForm(forms.Form):
        line = forms.TypedChoiceField(
            label=_("Line"),
            coerce=int,
            choices=[
                (line.pk, f"{line.description} ({money(line.amount, line.currency)})") for line in invoice.lines.all()
            ],
        )

    return RemoveLineForm(data)


def _simple(form_class):
    return lambda invoice, data=None: form_class(data)


ACTIONS: dict[str, InvoiceAction] = {
    "finalize": InvoiceAction(
        _("Finalize now"),
        _("Yes, finalize"),
        (S.DRAFT,),
        _simple(invoice_forms.EmptyForm),
        _finalize,
        _(
            "Finalizing gives the invoice the next number of its legal entity, fixes its amounts and sends it to the "
            "customer. Afterwards it cannot be changed: corrections are made with credit notes."
        ),
        preview=True,
    ),
    "hold": InvoiceAction(
        _("Hold"),
        _("Put on hold"),
        (S.DRAFT,),
        _simple(invoice_forms.HoldForm),
        _hold,
        _("A draft on hold is not finalized automatically at the end of its review window."),
    ),
    "release": InvoiceAction(
        _("Release"),
        _("Release"),
        (S.DRAFT,),
        _simple(invoice_forms.EmptyForm),
        _release,
        _("The draft is recomputed with today's tax rates and is finalized on schedule again."),
    ),
    "add-line": InvoiceAction(_("Add a line"), _("Add the line"), (S.DRAFT,), _line_form, _add_line),
    "remove-line": InvoiceAction(
        _("Remove a line"),
        _("Remove the line"),
        (S.DRAFT,),
        _remove_form,
        _remove_line,
        _("Usage or changes billed on the line go back to waiting for the next invoice."),
    ),
    "edit": InvoiceAction(
        _("Edit note, PO and payment terms"),
        _("Save"),
        (S.DRAFT,),
        lambda invoice, data=None: invoice_forms.DraftEditForm.for_invoice(invoice, data),
        _edit,
    ),
    "delete": InvoiceAction(
        _("Delete draft"),
        _("Yes, delete the draft"),
        (S.DRAFT,),
        _simple(invoice_forms.EmptyForm),
        _delete,
        _(
            "The draft and its lines are deleted. It has no number yet, so no number is lost. Usage and changes "
            "it billed wait for the next invoice."
        ),
        permission=DELETE,
        danger=True,
    ),
    "mark-paid": InvoiceAction(
        _("Mark paid"),
        _("Record the payment"),
        (S.OPEN, S.UNCOLLECTIBLE),
        _simple(invoice_forms.MarkPaidForm),
        _mark_paid,
        _("For money received outside the system, e.g. a bank transfer. A part payment leaves the rest due."),
    ),
    "charge": InvoiceAction(
        _("Charge now"),
        _("Yes, charge the payment method"),
        (S.OPEN, S.UNCOLLECTIBLE),
        _simple(invoice_forms.EmptyForm),
        _charge,
        _(
            "Charges what is due to the customer's default payment method now (account credit is used first). "
            "A payment already in progress is never charged a second time."
        ),
    ),
    "uncollectible": InvoiceAction(
        _("Mark uncollectible"),
        _("Yes, mark uncollectible"),
        (S.OPEN,),
        _simple(invoice_forms.UncollectibleForm),
        _uncollectible,
        _(
            "For a debt you do not expect to be paid. The invoice keeps its number and amount due; a payment can "
            "still be recorded later."
        ),
        danger=True,
        preview=True,
    ),
    "void": InvoiceAction(
        _("Void"),
        _("Yes, void the invoice"),
        (S.OPEN, S.UNCOLLECTIBLE),
        _simple(invoice_forms.VoidForm),
        _void,
        _(
            "A void invoice keeps its number but is no longer owed. Use it for an invoice that should never have "
            "been sent; for a partial correction create a credit note instead. This cannot be undone."
        ),
        danger=True,
        preview=True,
    ),
}

#: Buttons on the page, in this order (remove-line sits on each line).
PAGE_BUTTONS = ["finalize", "hold", "release", "edit", "delete", "charge", "mark-paid", "uncollectible", "void"]


def outcome_of(invoice: Invoice) -> dict[str, Any]:
    """What an invoice looks like after a service call (read inside a dry run, from a fresh copy)."""
    numbered = bool(invoice.number)
    invoice = Invoice.objects.get(pk=invoice.pk)
    return {
        "new_number": invoice.number if invoice.number and not numbered else "",
        "status": invoice.get_status_display(),
        "status_code": invoice.status,
        "number": invoice.number,
        "due": day(invoice.due_at),
        "amount_due": money(invoice.amount_due, invoice.currency),
        "credit_applied": money(invoice.credit_applied, invoice.currency) if invoice.credit_applied.amount else "",
    }


# --- the admin -------------------------------------------------------------------------------------------


class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number_display",
        "customer",
        "status_display",
        "kind",
        "period_display",
        "total_display",
        "amount_due_display",
        "due_display",
        "on_hold",
    ]
    list_display_links = ["number_display"]
    list_filter = [
        "status",
        "entity",
        OverdueFilter,
        PeriodFilter,
        ("customer", admin.RelatedOnlyFieldListFilter),
        "kind",
        "on_hold",
    ]
    search_fields = ["number", "customer__name", "customer__email"]
    search_help_text = _("Search by invoice number, “#12” for draft 12, or the customer's name or e-mail.")
    list_select_related = ["customer", "entity"]
    list_per_page = 50
    actions = ["finalize_selected", "void_selected"]
    change_list_template = "admin/invoicing/invoice/change_list.html"
    change_form_template = "admin/invoicing/invoice/change_form.html"
    fieldsets = [
        (None, {"fields": ["customer_link", "entity_link", "kind", "subscription_link", "period_display"]}),
        (
            _("Dates"),
            {"fields": ["created_display", "auto_finalize_display", "finalized_display", "due_date", "closed_display"]},
        ),
        (
            _("On the invoice"),
            {"fields": ["memo", "purchase_order", "days_until_due", "payment_reference", "collection_display"]},
        ),
    ]

    # --- permissions: the page is read-only; buttons check their own permission -------------------------

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False  # no form fields: drafts change through the buttons, finalized invoices never
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # drafts are deleted through the service ("Delete draft")

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def get_queryset(self, request) -> QuerySet[Invoice]:
        return super().get_queryset(request).select_related("customer", "entity", "subscription")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        match = re.fullmatch(r"\s*(?:draft\s*)?#\s*(\d+)\s*", search_term, flags=re.IGNORECASE)
        if match:
            results = queryset.filter(pk=int(match[1]))
        return results, duplicates

    # --- columns -------------------------------------------------------------------------------------------

    @admin.display(description=_("number"), ordering="number")
    def number_display(self, invoice: Invoice) -> str:
        return invoice_label(invoice)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, invoice: Invoice):
        extra = ""
        if invoice.status == S.OPEN and invoice.due_at and invoice.due_at < clock.now(invoice.customer):
            extra = str(_("overdue"))
        return status_badge(invoice.status, invoice.get_status_display(), extra=extra)

    @admin.display(description=_("period"), ordering="period_start")
    def period_display(self, invoice: Invoice) -> str:
        if not invoice.period_start:
            return "—"
        return (
            f"{invoice.period_start:%Y-%m-%d} – {invoice.period_end:%Y-%m-%d}"
            if invoice.period_end
            else day(invoice.period_start)
        )

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return money(invoice.total, invoice.currency)

    @admin.display(description=_("amount due"), ordering="amount_due")
    def amount_due_display(self, invoice: Invoice) -> str:
        return money(invoice.amount_due, invoice.currency)

    @admin.display(description=_("due"), ordering="due_at")
    def due_display(self, invoice: Invoice) -> str:
        return day(invoice.due_at)

    @admin.display(description=_("customer"))
    def customer_link(self, invoice: Invoice):
        return link(invoice.customer, invoice.customer.name, site=self.admin_site)

    @admin.display(description=_("legal entity"))
    def entity_link(self, invoice: Invoice) -> str:
        return invoice.entity.name

    @admin.display(description=_("subscription"))
    def subscription_link(self, invoice: Invoice):
        if invoice.subscription_id is None:
            return "—"
        return link(invoice.subscription, f"#{invoice.subscription_id}", site=self.admin_site)

    @admin.display(description=_("created"))
    def created_display(self, invoice: Invoice) -> str:
        return moment_text(invoice.created_at)

    @admin.display(description=_("finalized"))
    def finalized_display(self, invoice: Invoice) -> str:
        return moment_text(invoice.finalized_at)

    @admin.display(description=_("due"))
    def due_date(self, invoice: Invoice) -> str:
        return day(invoice.due_at)

    @admin.display(description=_("collection"))
    def collection_display(self, invoice: Invoice) -> str:
        labels = dict(CollectionMethod.choices)
        return str(labels.get(invoice.collection_method, invoice.collection_method or "—"))

    @admin.display(description=_("finalizes automatically"))
    def auto_finalize_display(self, invoice: Invoice) -> str:
        if invoice.status != S.DRAFT:
            return "—"
        if invoice.on_hold:
            return str(_("No: on hold"))
        if invoice.auto_finalize_at is None:
            return str(_("No: finalize it yourself"))
        return moment_text(invoice.auto_finalize_at)

    @admin.display(description=_("closed"))
    def closed_display(self, invoice: Invoice) -> str:
        for when, what in (
            (invoice.paid_at, _("paid")),
            (invoice.voided_at, _("voided")),
            (invoice.uncollectible_at, _("marked uncollectible")),
        ):
            if when:
                return f"{what} {moment_text(when)}"
        return "—"

    # --- the page ------------------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if invoice is not None:
            extra = self.page_context(request, invoice)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def available_buttons(self, request, invoice: Invoice) -> list[dict[str, Any]]:
        buttons = []
        for name in PAGE_BUTTONS:
            action = ACTIONS[name]
            if invoice.status not in action.statuses or not request.user.has_perm(action.permission):
                continue
            if name == "hold" and invoice.on_hold or name == "release" and not invoice.on_hold:
                continue
            if name == "finalize" and invoice.on_hold:
                continue
            if name == "charge" and not customer_has_payment_method(invoice.customer):
                continue
            buttons.append(
                {
                    "name": name,
                    "title": action.title,
                    "url": self.action_url(invoice, name),
                    "danger": action.danger,
                    "post": name == "release",
                }
            )
        if invoice.status in (S.OPEN, S.PAID, S.UNCOLLECTIBLE) and request.user.has_perm(ADD_CREDIT_NOTE):
            buttons.append(
                {
                    "name": "credit-note",
                    "title": _("Create credit note"),
                    "url": reverse("admin:invoicing_invoice_credit_note", args=[invoice.pk]),
                    "danger": False,
                    "post": False,
                }
            )
        return buttons

    def action_url(self, invoice: Invoice, name: str) -> str:
        return reverse("admin:invoicing_invoice_action", args=[invoice.pk, name])

    def page_context(self, request, invoice: Invoice) -> dict[str, Any]:
        currency = invoice.currency
        editable = invoice.status == S.DRAFT and request.user.has_perm(CHANGE)
        lines = list(invoice.lines.all())
        notes = list(invoice.credit_notes.order_by("created_at", "id"))
        emails = list(invoice.emails.order_by("-sent_at", "-id"))
        can_see_emails = EmailLog in self.admin_site._registry and request.user.has_perm("invoicing.view_emaillog")
        amounts = [
            (_("Subtotal"), money(invoice.subtotal, currency), False),
            *([(_("Discount"), "−" + money(invoice.discount, currency), False)] if invoice.discount.amount else []),
            (_("Tax"), money(invoice.tax, currency), False),
            (_("Total"), money(invoice.total, currency), True),
            (_("Paid from the customer's credit balance"), money(invoice.credit_applied, currency), False),
            (_("Credited by credit notes"), money(invoice.amount_credited, currency), False),
            (_("Paid"), money(invoice.amount_paid, currency), False),
            (_("Amount due"), money(invoice.amount_due, currency), True),
        ]
        return {
            "invoice": invoice,
            "invoice_label": invoice_label(invoice),
            "status_badge": self.status_display(invoice),
            "buttons": self.available_buttons(request, invoice),
            "editable": editable,
            "amounts": amounts,
            "lines": [self._line_row(line, currency, editable) for line in lines],
            "prices_include_tax": invoice.prices_include_tax,
            "tax_rows": [
                {
                    "name": row.name or f"{row.percentage.normalize():f}%",
                    "category": row.category,
                    "percentage": f"{row.percentage.normalize():f}%",
                    "taxable": money(row.taxable_amount, currency),
                    "tax": money(row.tax_amount, currency),
                    "exemption_reason": row.exemption_reason,
                }
                for row in invoice.tax_rows.all()
            ],
            "credit_notes": [
                {
                    "label": str(note),
                    "url": reverse("admin:invoicing_creditnote_change", args=[note.pk]),
                    "status": status_badge(note.status, note.get_status_display()),
                    "total": money(note.total, note.currency),
                    "reason": note.get_reason_display(),
                    "created": f"{note.created_at:%Y-%m-%d}",
                }
                for note in notes
            ],
            "emails": [
                {
                    "sent": f"{email.sent_at:%Y-%m-%d %H:%M}",
                    "subject": email.subject,
                    "to": ", ".join(email.to or []),
                    "status": email.get_status_display(),
                    "failed": email.status == "failed",
                    "url": reverse("admin:invoicing_emaillog_change", args=[email.pk]) if can_see_emails else None,
                }
                for email in emails
            ],
            **collection_context(invoice),
            "pdf_url": reverse("admin:invoicing_invoice_pdf", args=[invoice.pk]),
            "add_line_form": invoice_forms.LineForm() if editable else None,
            "add_line_url": self.action_url(invoice, "add-line"),
            "remove_line_url": self.action_url(invoice, "remove-line"),
            "timeline": self.timeline(invoice, notes),
            "can_view_audit": request.user.has_perm("billing_site.view_auditevent"),
            "audit_url": reverse("admin:billing_site_auditevent_changelist")
            + f"?object_type=invoicing.invoice&object_id={invoice.pk}",
            "invoice_now": now_for(invoice),
        }

    @staticmethod
    def _line_row(line: InvoiceLine, currency: str, editable: bool) -> dict[str, Any]:
        tax = ""
        if line.tax_percentage is not None:
            tax = line.tax_name or f"{line.tax_percentage.normalize():f}%"
        elif line.source.get("tax_error"):
            tax = str(_("no tax rate"))
        period = ""
        if line.period_start and line.period_end:
            period = f"{line.period_start:%Y-%m-%d} – {line.period_end:%Y-%m-%d}"
        return {
            "pk": line.pk,
            "description": line.description,
            "kind": line.get_kind_display() if line.kind != LineKind.MANUAL else "",
            "period": period,
            "quantity": plain_number(line.quantity),
            "unit_price": unit_amount_text(line.unit_amount, currency) if line.unit_amount is not None else "—",
            "discount": "−" + money(line.discount, currency) if line.discount.amount else "—",
            "tax": tax,
            "tax_error": line.source.get("tax_error", ""),
            "amount": money(line.amount, currency),
            "tiers": [
                {
                    "label": tier.get("label", ""),
                    "quantity": plain_number(_decimal(tier.get("quantity"))),
                    "unit_price": unit_amount_text(_decimal(tier.get("unit_amount")), currency),
                    "flat": money(_decimal(tier.get("flat_amount")), currency)
                    if _decimal(tier.get("flat_amount"))
                    else "",
                    "amount": money(_decimal(tier.get("amount")), currency),
                }
                for tier in (line.tiers or [])
            ],
            "removable": editable,
        }

    @staticmethod
    def timeline(invoice: Invoice, notes: list[CreditNote]) -> list[dict[str, Any]]:
        about = Q(object_type="invoicing.invoice", object_id=str(invoice.pk))
        if notes:
            about |= Q(object_type="invoicing.creditnote", object_id__in=[str(n.pk) for n in notes])
        events = AuditEvent.objects.filter(about).order_by("-occurred_at", "-id")[:200]
        return [
            {
                "event": event,
                "label": TIMELINE_LABELS.get(event.action) or action_label(event.action),
                "subject": event.object_repr if event.object_type == "invoicing.creditnote" else "",
                "changes": [(name, _amount_text(old), _amount_text(new)) for name, old, new in change_summary(event)],
                "url": reverse("admin:billing_site_auditevent_change", args=[event.pk]),
            }
            for event in events
        ]

    # --- URLs ----------------------------------------------------------------------------------------------

    def get_urls(self):
        from invoicing.admin.credit_notes import credit_note_create_view
        from invoicing.admin.customer_payments import urls as payment_method_urls

        wrap = self.admin_site.admin_view
        return [
            *payment_method_urls(self.admin_site),
            path("run-billing/", wrap(self.run_billing_view), name="invoicing_invoice_run_billing"),
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="invoicing_invoice_pdf"),
            path("<path:object_id>/do/<slug:name>/", wrap(self.action_view), name="invoicing_invoice_action"),
            path(
                "<path:object_id>/credit-note/",
                wrap(lambda request, object_id: credit_note_create_view(self, request, object_id)),
                name="invoicing_invoice_credit_note",
            ),
            *super().get_urls(),
        ]

    def get_invoice(self, request, object_id) -> Invoice:
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            raise Http404(_("This invoice does not exist (any more)."))
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice

    def page_url(self, invoice: Invoice) -> str:
        return reverse("admin:invoicing_invoice_change", args=[invoice.pk])

    @xframe_options_sameorigin
    def pdf_view(self, request, object_id):
        """The invoice as PDF: shown in the page's preview, or downloaded with ``?download=1``."""
        invoice = self.get_invoice(request, object_id)
        try:
            content = invoice_pdf_bytes(invoice)
        except (DomainError, OSError) as error:
            messages.error(request, _("The PDF cannot be shown: %(why)s") % {"why": getattr(error, "message", error)})
            return HttpResponseRedirect(self.page_url(invoice))
        name = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
        response = HttpResponse(content, content_type="application/pdf")
        disposition = "attachment" if request.GET.get("download") else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{name}"'
        return response

    def action_view(self, request, object_id, name):
        action = ACTIONS.get(name)
        if action is None:
            raise Http404(_("There is no such action."))
        invoice = self.get_invoice(request, object_id)
        if not request.user.has_perm(action.permission):
            raise PermissionDenied
        page = self.page_url(invoice)
        if invoice.status not in action.statuses:
            messages.error(
                request,
                _("%(invoice)s is %(status)s: “%(action)s” is not possible.")
                % {
                    "invoice": invoice_label(invoice),
                    "status": invoice.get_status_display().lower(),
                    "action": action.title,
                },
            )
            return HttpResponseRedirect(page)
        form = action.form(invoice, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                text = action.call(request, invoice, form)
            except DomainError as error:
                show_error(form, error)
            else:
                if text:  # an action that failed in the world (a declined card) said so itself
                    messages.success(request, text)
                if name == "delete":
                    return HttpResponseRedirect(reverse("admin:invoicing_invoice_changelist"))
                return HttpResponseRedirect(page)
        outcome, refusal = None, None
        if action.preview and not form.errors:
            try:
                outcome = dry_run(
                    lambda: action.call(request, invoice, _Filled(form)), lambda _text: outcome_of(invoice)
                )
            except DomainError as error:
                refusal = error.message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": invoice,
            "invoice_label": invoice_label(invoice),
            "title": f"{action.title}: {invoice_label(invoice)}",
            "action": action,
            "form": form,
            "outcome": outcome,
            "refusal": refusal,
            "facts": self._facts(invoice),
            "change_url": page,
        }
        return TemplateResponse(request, "admin/invoicing/invoice/action.html", context)

    @staticmethod
    def _facts(invoice: Invoice) -> list[tuple[Any, Any]]:
        return [
            (_("Customer"), invoice.customer.name),
            (_("Status"), invoice.get_status_display()),
            (_("Total"), money(invoice.total, invoice.currency)),
            (_("Amount due"), money(invoice.amount_due, invoice.currency)),
            *([(_("On hold"), invoice.hold_reason)] if invoice.on_hold else []),
        ]

    # --- bulk actions ----------------------------------------------------------------------------------

    @admin.action(description=_("Finalize selected drafts…"), permissions=["change"])
    def finalize_selected(self, request, queryset):
        return self._bulk(request, queryset, "finalize")

    @admin.action(description=_("Void selected invoices…"), permissions=["change"])
    def void_selected(self, request, queryset):
        return self._bulk(request, queryset, "void")

    BULK_TEXTS = {
        "finalize": (
            _("Finalize drafts"),
            _(
                "Each draft below gets the next number of its legal entity and is sent to the customer. Afterwards "
                "it cannot be changed: corrections are made with credit notes."
            ),
            _("Yes, finalize them"),
        ),
        "void": (
            _("Void invoices"),
            _(
                "Each invoice below keeps its number but is no longer owed; balance credit it used goes back to the "
                "customer. This cannot be undone."
            ),
            _("Yes, void them"),
        ),
    }

    def _bulk_call(self, request, kind: str, invoice: Invoice, reason: str) -> Invoice:
        if kind == "finalize":
            return invoice_finalize(invoice=invoice, actor=actor(request), now=now_for(invoice))
        return invoice_void(invoice=invoice, actor=actor(request), now=now_for(invoice), reason=reason)

    def _bulk_run(self, request, kind: str, invoices: list[Invoice], reason: str) -> tuple[list, bool]:
        """Every invoice in one transaction: one refusal and none of them changes. Returns rows and success."""
        rows: list[dict[str, Any]] = []
        for invoice in invoices:
            row: dict[str, Any] = {
                "invoice": invoice,
                "label": invoice_label(invoice),
                "url": self.page_url(invoice),
                "total": money(invoice.total, invoice.currency),
            }
            try:
                row["outcome"] = outcome_of(self._bulk_call(request, kind, invoice, reason))
            except DomainError as error:
                row["refusal"] = error.message
            rows.append(row)
        return rows, not any("refusal" in row for row in rows)

    def _bulk(self, request, queryset, kind: str):
        invoices = list(queryset.select_related("customer", "entity").order_by("pk"))
        confirmed = request.POST.get("confirm") == "yes"
        reason = request.POST.get("reason", "").strip()
        reason_missing = kind == "void" and confirmed and not reason
        if confirmed and not reason_missing:
            rows: list[dict[str, Any]] = []

            class _Refused(Exception):
                pass

            try:
                with transaction.atomic():
                    rows, ok = self._bulk_run(request, kind, invoices, reason)
                    if not ok:
                        raise _Refused
            except _Refused:
                pass  # nothing stays: shown below with the reasons
            else:
                done = [row["outcome"]["number"] or row["label"] for row in rows]
                if kind == "finalize":
                    text = ngettext(
                        "%(count)d invoice finalized: %(numbers)s.",
                        "%(count)d invoices finalized: %(numbers)s.",
                        len(done),
                    )
                else:
                    text = ngettext(
                        "%(count)d invoice voided: %(numbers)s.", "%(count)d invoices voided: %(numbers)s.", len(done)
                    )
                messages.success(request, text % {"count": len(done), "numbers": ", ".join(done)})
                return None
        else:
            rows = dry_run(lambda: self._bulk_run(request, kind, invoices, reason or "—"))[0]
        refused = [row for row in rows if "refusal" in row]
        title, explanation, button = self.BULK_TEXTS[kind]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "kind": kind,
            "explanation": explanation,
            "button": button,
            "rows": rows,
            "refused": refused,
            "reason": reason,
            "reason_missing": reason_missing,
            "ask_reason": kind == "void",
            "action": f"{kind}_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": reverse("admin:invoicing_invoice_changelist"),
        }
        return TemplateResponse(request, "admin/invoicing/invoice/bulk_confirm.html", context)

    # --- the list page: one-off invoices and the billing run ----------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra = {
            "can_run_billing": request.user.has_perm(ADD),
            "run_billing_url": reverse("admin:invoicing_invoice_run_billing"),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        """“Add invoice” is a one-off invoice: customer, lines, note → a draft to review."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else {}
        form = invoice_forms.ManualInvoiceForm(data, initial=initial, site=self.admin_site)
        formset = invoice_forms.ManualLineFormSet(data, prefix="lines")
        if data is not None and form.is_valid() and formset.is_valid():
            used = [row for row in formset.forms if row.cleaned_data and not row.is_blank()]
            if not used:
                formset._non_form_errors = formset.error_class([_("Add at least one line.")])
            else:
                customer = form.cleaned_data["customer"]
                try:
                    invoice = invoice_create_manual(
                        customer=customer,
                        lines=[row.line() for row in used],
                        actor=actor(request),
                        now=clock.now(customer),
                        memo=form.cleaned_data["memo"],
                        days_until_due=form.cleaned_data["days_until_due"],
                        purchase_order=form.cleaned_data["purchase_order"],
                    )
                except DomainError as error:
                    self._manual_error(error, form, formset, used)
                else:
                    messages.success(
                        request,
                        _(
                            "Draft #%(pk)s for %(customer)s is ready: check it, then finalize it. It is not finalized "
                            "automatically."
                        )
                        % {"pk": invoice.pk, "customer": customer.name},
                    )
                    return HttpResponseRedirect(self.page_url(invoice))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("New one-off invoice"),
            "form": form,
            "formset": formset,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/invoicing/invoice/manual.html", context)

    @staticmethod
    def _manual_error(error: DomainError, form, formset, used) -> None:
        placed = []
        for name, texts in error.fields.items():
            match = re.fullmatch(r"lines\.(\d+)\.(\w+)", name)
            if match and int(match[1]) < len(used):
                row, field = used[int(match[1])], {"unit_amount": "unit_price"}.get(match[2], match[2])
                if field in row.fields:
                    row.add_error(field, texts)
                    placed += texts
            elif name in form.fields:
                form.add_error(name, texts)
                placed += texts
        if error.message not in placed:
            form.add_error(None, error.message)

    def run_billing_view(self, request):
        if not request.user.has_perm(ADD):
            raise PermissionDenied
        changelist = reverse("admin:invoicing_invoice_changelist")
        at = clock.now()
        if request.method == "POST":
            try:
                result = billing_run(now=at, actor=actor(request))
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "Billing run done: %(renewed)d subscriptions renewed and invoiced, %(events)d other subscription "
                        "events (trials, changes, cancellations), %(updates)d invoices for changes billed at once, "
                        "%(finalized)d drafts finalized."
                    )
                    % {
                        "renewed": result.renewed_in_batches,
                        "events": result.lifecycle_events,
                        "updates": result.update_invoices,
                        "finalized": result.finalized,
                    },
                )
            return HttpResponseRedirect(changelist)
        drafts = Invoice.objects.filter(status=S.DRAFT)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Run billing now"),
            "now": at,
            "due_subscriptions": Subscription.objects.filter(
                current_period_end__lte=at,
                status__in=[
                    SubscriptionStatus.ACTIVE,
                    SubscriptionStatus.PAST_DUE,
                    SubscriptionStatus.UNPAID,
                    SubscriptionStatus.TRIALING,
                ],
                customer__test_clock__isnull=True,
            ).count(),
            "due_drafts": drafts.filter(on_hold=False, auto_finalize_at__lte=at).count(),
            "held_drafts": drafts.filter(on_hold=True).count(),
            "cancel_url": changelist,
        }
        return TemplateResponse(request, "admin/invoicing/invoice/run_billing.html", context)


class _Filled:
    """A valid form's cleaned data for a dry run before the form was submitted (confirmation pages)."""

    def __init__(self, form: forms.Form):
        self.cleaned_data = {name: field.initial or "" for name, field in form.fields.items()}
        if form.is_bound and form.is_valid():
            self.cleaned_data.update(form.cleaned_data)

    def changes(self):
        return {}

    def line(self):
        return {}


_STORED_AMOUNT = re.compile(r"-?\d+\.\d{3,}")


def _amount_text(value: str) -> str:
    """The audit trail keeps amounts as stored ("302.5000"); people read "302.50"."""
    return plain_number(_decimal(value), 2) if _STORED_AMOUNT.fullmatch(value) else value


def _decimal(value: Any):
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


#: Audit actions of invoices and credit notes as finance reads them.
TIMELINE_LABELS = {
    "invoice.created": _("Draft created"),
    "invoice.finalized": _("Finalized and numbered"),
    "invoice.paid": _("Paid"),
    "invoice.void": _("Voided"),
    "invoice.uncollectible": _("Marked uncollectible"),
    "invoice.payment_recorded": _("Part payment recorded"),
    "invoice.line_added": _("Line added"),
    "invoice.line_removed": _("Line removed"),
    "invoice.updated": _("Draft changed"),
    "invoice.held": _("Put on hold"),
    "invoice.released": _("Released from hold"),
    "invoice.deleted": _("Draft deleted"),
    "invoice.credit_applied": _("Account credit used"),
    "payment.attempt_started": _("Payment attempt started"),
    "payment.failed": _("Payment failed"),
    "payment.requires_action": _("Payment waits for the customer's authentication"),
    "payment.overpaid": _("Overpayment kept as credit"),
    "payment.refunded": _("Refunded at the payment provider"),
    "payment.disputed": _("Payment disputed by the customer"),
    "dunning.started": _("Dunning started"),
    "dunning.step": _("Dunning step"),
    "dunning.access_suspended": _("Service access suspended"),
    "dunning.exhausted": _("Dunning ended unpaid: final action taken"),
    "dunning.recovered": _("Dunning ended: paid"),
    "dunning.closed": _("Dunning closed"),
    "dunning.payment_method_updated": _("New payment method: retried at once"),
    "credit_note.requested": _("Credit note waiting for approval"),
    "credit_note.issued": _("Credit note issued"),
    "credit_note.rejected": _("Credit note rejected"),
}


def collection_context(invoice: Invoice) -> dict[str, Any]:
    """Attempts, payments and dunning of an invoice, for its page."""
    attempts = invoice.payment_attempts.select_related("payment_method").order_by("number")
    payments = invoice.payments.order_by("received_at", "pk")
    try:
        case = invoice.dunning
    except ObjectDoesNotExist:
        case = None
    return {
        "attempts": [
            {
                "number": a.number,
                "when": moment_text(a.created_at),
                "amount": money(a.amount, a.currency),
                "method": str(a.payment_method or "—"),
                "status": a.get_status_display(),
                "failed": a.status == "failed",
                "decline": " · ".join(
                    p
                    for p in (
                        a.decline_code or a.failure_code,
                        a.get_decline_type_display() if a.decline_type else "",
                        a.failure_message,
                    )
                    if p
                ),
                "trigger": a.get_trigger_display(),
                "provider_id": a.provider_payment_id,
            }
            for a in attempts
        ],
        "payments": [
            {
                "when": moment_text(p.received_at),
                "amount": money(p.amount, p.currency),
                "kind": p.get_kind_display(),
                "status": p.get_status_display(),
                "reference": p.reference,
                "refunded": money(p.amount_refunded, p.currency) if p.amount_refunded.amount else "",
                "by": p.recorded_by,
            }
            for p in payments
        ],
        "dunning": None
        if case is None
        else {
            "status": case.get_status_display(),
            "policy": case.policy.name,
            "started": moment_text(case.started_at),
            "step": case.step,
            "next_step": moment_text(case.next_step_at) if case.next_step_at else "—",
            "needs_payment_method": case.needs_payment_method,
            "suspended": moment_text(case.access_suspended_at) if case.access_suspended_at else "",
            "final_action": case.get_final_action_taken_display() if case.final_action_taken else "",
            "at_risk": money(case.amount_at_risk, case.currency),
            "recovered": money(case.amount_recovered, case.currency),
        },
    }


def register(site: admin.AdminSite) -> None:
    if Invoice not in site._registry:
        site.register(Invoice, InvoiceAdmin)
