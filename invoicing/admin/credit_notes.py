"""Credit notes in the admin: the list, a read-only page with its PDF, and creating one from an invoice.

Creating one is a two-step form on the invoice: the amounts to credit per line, the reason and what
happens to money already paid; then a check page with what the service computed (tax, total, what
lowers the amount due, refund, balance credit) before anything is written. Above the legal entity's
approval limit the credit note waits for an Approver (``billing_site.admin.approvals``).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApprovalRequest, AuditEvent
from catalog.admin.base import plain_number
from invoicing.admin import forms as invoice_forms
from invoicing.admin.common import dry_run, link, money, status_badge
from invoicing.models import CreditNote, CreditNoteStatus, Invoice
from invoicing.services.credit_notes import (
    APPROVAL_KIND,
    CREDITABLE,
    credit_note_create,
    creditable_amount,
    credited_per_line,
    credited_total,
)
from invoicing.services.documents import credit_note_pdf_bytes
from subscriptions.admin.timeline import action_label, change_summary

ZERO = Decimal(0)
PARTS = ("refund_amount", "credit_amount", "out_of_band_amount")


class CreditNoteAdmin(admin.ModelAdmin):
    list_display = [
        "number_display",
        "invoice_display",
        "customer",
        "status_display",
        "total_display",
        "reason",
        "created_at",
    ]
    list_display_links = ["number_display"]
    list_filter = ["status", "reason", "entity"]
    search_fields = ["number", "invoice__number", "customer__name", "customer__email"]
    search_help_text = _("Search by credit note or invoice number, or the customer's name or e-mail.")
    list_select_related = ["invoice", "customer"]
    date_hierarchy = "created_at"
    actions = None
    change_form_template = "admin/invoicing/creditnote/change_form.html"
    fieldsets = [
        (None, {"fields": ["invoice_display", "customer_display", "status_display", "reason", "memo"]}),
        (_("Who and when"), {"fields": ["author", "created_at", "issued_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # created from the invoice it corrects ("Create credit note" on the invoice page)

    def has_change_permission(self, request, obj=None):
        return False  # issued documents never change

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "customer", "entity")

    @admin.display(description=_("number"), ordering="number")
    def number_display(self, note: CreditNote) -> str:
        return note.number or str(_("(no number yet)"))

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_display(self, note: CreditNote):
        return link(note.invoice, site=self.admin_site)

    @admin.display(description=_("customer"))
    def customer_display(self, note: CreditNote):
        return link(note.customer, note.customer.name, site=self.admin_site)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, note: CreditNote):
        return status_badge(note.status, note.get_status_display())

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, note: CreditNote) -> str:
        return money(note.total, note.currency)

    def get_urls(self):
        return [
            path("<path:object_id>/pdf/", self.admin_site.admin_view(self.pdf_view), name="invoicing_creditnote_pdf"),
            *super().get_urls(),
        ]

    @xframe_options_sameorigin
    def pdf_view(self, request, object_id):
        note = self.get_object(request, unquote(object_id))
        if note is None:
            raise Http404(_("This credit note does not exist."))
        if not self.has_view_permission(request, note):
            raise PermissionDenied
        if note.status != CreditNoteStatus.ISSUED:
            messages.error(request, _("The credit note has its PDF once it is issued (approved)."))
            return HttpResponseRedirect(reverse("admin:invoicing_creditnote_change", args=[note.pk]))
        try:
            content = credit_note_pdf_bytes(note)
        except (DomainError, OSError) as error:
            messages.error(request, _("The PDF cannot be shown: %(why)s") % {"why": getattr(error, "message", error)})
            return HttpResponseRedirect(reverse("admin:invoicing_creditnote_change", args=[note.pk]))
        response = HttpResponse(content, content_type="application/pdf")
        disposition = "inline" if request.GET.get("inline") else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{note.number}.pdf"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        note = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if note is not None:
            extra = note_context(request, note)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


def note_context(request, note: CreditNote) -> dict[str, Any]:
    currency = note.currency
    approval = (
        ApprovalRequest.objects.filter(kind=APPROVAL_KIND, object_type="invoicing.creditnote", object_id=str(note.pk))
        .order_by("-requested_at", "-id")
        .first()
    )
    events = AuditEvent.objects.filter(object_type="invoicing.creditnote", object_id=str(note.pk)).order_by(
        "-occurred_at", "-id"
    )
    return {
        "note": note,
        "status_badge": status_badge(note.status, note.get_status_display()),
        "lines": [
            {
                "description": line.description,
                "quantity": plain_number(line.quantity),
                "tax": line.tax_name
                or (f"{line.tax_percentage.normalize():f}%" if line.tax_percentage is not None else ""),
                "amount": money(line.amount, currency),
            }
            for line in note.lines.all()
        ],
        "tax_rows": [
            {
                "name": row.get("name") or row.get("category", ""),
                "percentage": f"{Decimal(row.get('percentage', '0')).normalize():f}%",
                "taxable": money(Decimal(row.get("taxable", "0")), currency),
                "tax": money(Decimal(row.get("tax", "0")), currency),
            }
            for row in note.tax_summary or []
        ],
        "figures": [
            (_("Subtotal"), money(note.subtotal, currency), False),
            (_("Tax"), money(note.tax, currency), False),
            (_("Total"), money(note.total, currency), True),
            (_("Lowers the amount due on the invoice"), money(note.pre_payment_amount, currency), False),
            (_("Refunded"), money(note.refund_amount, currency), False),
            (_("Kept as balance credit"), money(note.credit_amount, currency), False),
            (_("Settled outside the system"), money(note.out_of_band_amount, currency), False),
        ],
        "pdf_url": reverse("admin:invoicing_creditnote_pdf", args=[note.pk])
        if note.status == CreditNoteStatus.ISSUED
        else None,
        "invoice_url": reverse("admin:invoicing_invoice_change", args=[note.invoice_id]),
        "approval": approval,
        "approval_url": reverse("admin:billing_site_approvalrequest_change", args=[approval.pk])
        if approval is not None and request.user.has_perm("billing_site.view_approvalrequest")
        else None,
        "timeline": [
            {
                "event": event,
                "label": action_label(event.action),
                "changes": change_summary(event),
                "url": reverse("admin:billing_site_auditevent_change", args=[event.pk]),
            }
            for event in events[:100]
        ],
        "can_view_audit": request.user.has_perm("billing_site.view_auditevent"),
    }


# --- creating a credit note from an invoice ------------------------------------------------------------


def _line_rows(invoice: Invoice) -> list[dict[str, Any]]:
    already = credited_per_line(invoice)
    rows = []
    for line in invoice.lines.all():
        charged = creditable_amount(line)
        credited = already.get(line.pk, ZERO)
        rows.append(
            {
                "line": line,
                "charged": money(charged, invoice.currency),
                "credited": money(credited, invoice.currency) if credited else "—",
                "left": money(charged - credited, invoice.currency),
                "left_plain": plain_number(max(charged - credited, ZERO), 2),
            }
        )
    return rows


def _place_error(error: DomainError, form, formset, used: list[int]) -> None:
    placed: list[str] = []
    for name, texts in error.fields.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(used):
            formset.forms[used[int(parts[1])]].add_error("amount", texts)
            placed += texts
        elif name in form.fields:
            form.add_error(name, texts)
            placed += texts
    if error.message not in placed:
        form.add_error(None, error.message)


def credit_note_create_view(invoice_admin, request, object_id):
    invoice = invoice_admin.get_invoice(request, object_id)
    if not request.user.has_perm("invoicing.add_creditnote"):
        raise PermissionDenied
    page = invoice_admin.page_url(invoice)
    if invoice.status not in CREDITABLE:
        messages.error(
            request,
            _("%(invoice)s is %(status)s: only open, paid or uncollectible invoices can be credited.")
            % {"invoice": invoice, "status": invoice.get_status_display().lower()},
        )
        return HttpResponseRedirect(page)
    line_rows = _line_rows(invoice)
    data = request.POST if request.method == "POST" else None
    form = invoice_forms.CreditNoteForm(data)
    formset = invoice_forms.CreditLineFormSet(
        data, prefix="lines", initial=[{"invoice_line": r["line"].pk} for r in line_rows]
    )
    preview = None
    if data is not None and form.is_valid() and formset.is_valid():
        known = {r["line"].pk for r in line_rows}
        used = [
            i
            for i, row in enumerate(formset.forms)
            if (row.cleaned_data.get("amount") or "").strip() and row.cleaned_data.get("invoice_line") in known
        ]
        if not used:
            form.add_error(None, _("Enter the amount to credit on at least one line."))
        else:
            rows = [
                {
                    "invoice_line": formset.forms[i].cleaned_data["invoice_line"],
                    "amount": formset.forms[i].cleaned_data["amount"].strip(),
                }
                for i in used
            ]
            parts = _parts(form)
            common = {
                "invoice": invoice,
                "lines": rows,
                "reason": form.cleaned_data["reason"],
                "memo": form.cleaned_data["memo"],
                "actor": Actor.staff(request.user),
                "now": clock.now(invoice.customer),
                "user": request.user,
                **parts,
            }
            checked = _signature(request.POST)
            try:
                if request.POST.get("confirm") == "yes" and request.POST.get("checked") == checked:
                    note = credit_note_create(**common)
                    return _created(request, note, invoice)
                preview = dry_run(lambda: credit_note_create(**common), _preview_of)
                preview["checked"] = checked
            except DomainError as error:
                _place_error(error, form, formset, used)
    for row, line_form in zip(line_rows, formset.forms, strict=True):
        row["form"] = line_form
    context = {
        **invoice_admin.admin_site.each_context(request),
        "opts": invoice_admin.opts,
        "title": _("Credit note for %(invoice)s") % {"invoice": invoice},
        "invoice": invoice,
        "change_url": page,
        "form": form,
        "formset": formset,
        "line_rows": line_rows,
        "preview": preview,
        "figures": [
            (_("Invoice total"), money(invoice.total, invoice.currency)),
            (_("Still due"), money(invoice.amount_due, invoice.currency)),
            (_("Already paid"), money(invoice.amount_paid, invoice.currency)),
            (_("Paid from balance credit"), money(invoice.credit_applied, invoice.currency)),
            (
                _("Credited before, tax included (also those waiting for approval)"),
                money(credited_total(invoice), invoice.currency),
            ),
        ],
        "limit": invoice.entity.credit_note_approval_above,
        "limit_text": money(invoice.entity.credit_note_approval_above, invoice.currency)
        if invoice.entity.credit_note_approval_above is not None
        else "",
    }
    return TemplateResponse(request, "admin/invoicing/invoice/credit_note_form.html", context)


def _signature(data) -> str:
    """The inputs the check page showed: "Yes, create" only creates what was checked."""
    names = sorted(name for name in data if name not in ("csrfmiddlewaretoken", "confirm", "checked", "check"))
    text = "\n".join(f"{name}={'|'.join(data.getlist(name))}" for name in names)
    return hashlib.sha256(text.encode()).hexdigest()


def _parts(form) -> dict[str, str]:
    """The split of money already paid: as typed ("split"), or all of it to the chosen part (the service computes it)."""
    choice = form.cleaned_data.get("paid_money") or "refund"
    if choice == "split":
        return {name: (form.cleaned_data.get(name) or "").strip() or "0" for name in PARTS}
    return {"paid_money": choice}


def _preview_of(note: CreditNote) -> dict[str, Any]:
    currency = note.currency
    note.refresh_from_db()
    return {
        "pending": note.status == CreditNoteStatus.PENDING_APPROVAL,
        "lines": [(line.description, money(line.amount, currency)) for line in note.lines.all()],
        "figures": [
            (_("Subtotal"), money(note.subtotal, currency), False),
            (_("Tax"), money(note.tax, currency), False),
            (_("Total"), money(note.total, currency), True),
            (_("Lowers the amount due on the invoice"), money(note.pre_payment_amount, currency), False),
            (_("Refunded to the customer"), money(note.refund_amount, currency), False),
            (_("Kept as balance credit"), money(note.credit_amount, currency), False),
            (_("Settled outside the system"), money(note.out_of_band_amount, currency), False),
        ],
    }


def _created(request, note: CreditNote, invoice: Invoice):
    total = money(note.total, note.currency)
    if note.status == CreditNoteStatus.PENDING_APPROVAL:
        messages.warning(
            request,
            _(
                "The credit note of %(total)s is above the approval limit of %(entity)s: it waits for an Approver. "
                "It gets its number and takes effect once approved."
            )
            % {"total": total, "entity": invoice.entity},
        )
    else:
        messages.success(
            request, _("Credit note %(number)s of %(total)s is issued.") % {"number": note.number, "total": total}
        )
    return HttpResponseRedirect(reverse("admin:invoicing_creditnote_change", args=[note.pk]))


def register(site: admin.AdminSite) -> None:
    if CreditNote not in site._registry:
        site.register(CreditNote, CreditNoteAdmin)
