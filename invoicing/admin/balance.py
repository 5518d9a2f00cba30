"""The customer's credit balance (read-only ledger) and the invoicing lists on the customer's page.

The balance is the sum of an append-only ledger: credit notes kept as credit and invoices in the
customer's favour add to it (+), invoices it paid use it up (−). Nobody edits a movement here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from invoicing.admin.common import DisplayOnlyFormSet, link, money, status_badge
from invoicing.models import BalanceTransaction, Invoice, InvoiceStatus
from invoicing.services.invoices import customer_balances
from subscriptions.models import Customer

RECENT = 10


def signed(amount: Any, currency: str):
    value = getattr(amount, "amount", amount)
    text = money(abs(value), currency)
    if value > 0:
        return format_html('<span style="color:#1b5e20;font-weight:600;white-space:nowrap">+{}</span>', text)
    if value < 0:
        return format_html('<span style="color:#9b1c1c;font-weight:600;white-space:nowrap">−{}</span>', text)
    return text


class BalanceTransactionAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "kind",
        "amount_display",
        "description",
        "invoice_link",
        "credit_note_link",
    ]
    list_display_links = ["created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["customer__name", "customer__email", "description"]
    search_help_text = _("Search by the customer's name or e-mail, or the description.")
    list_select_related = ["customer", "invoice", "credit_note"]
    date_hierarchy = "created_at"
    actions = None
    fields = ["customer", "created_at", "kind", "amount_display", "description", "invoice_link", "credit_note_link"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("amount (+ credit, − used)"), ordering="amount")
    def amount_display(self, row: BalanceTransaction):
        return signed(row.amount, row.currency)

    @admin.display(description=_("invoice"))
    def invoice_link(self, row: BalanceTransaction):
        return link(row.invoice, site=self.admin_site) if row.invoice_id else "—"

    @admin.display(description=_("credit note"))
    def credit_note_link(self, row: BalanceTransaction):
        return link(row.credit_note, site=self.admin_site) if row.credit_note_id else "—"

    def changelist_view(self, request, extra_context=None):
        """Filtered to one customer, the page says what the balance is now."""
        extra: dict[str, Any] = {}
        customer_id = request.GET.get("customer__id__exact")
        if customer_id and customer_id.isdigit():
            customer = Customer.objects.filter(pk=int(customer_id)).first()
            if customer is not None:
                balances = customer_balances([customer.pk])
                extra["subtitle"] = _("%(customer)s: balance now %(balance)s") % {
                    "customer": customer.name,
                    "balance": ", ".join(money(v, cur) for (_c, cur), v in sorted(balances.items()))
                    or money(0, customer.currency),
                }
        return super().changelist_view(request, {**extra, **(extra_context or {})})


class _CustomerPanel(admin.TabularInline):
    """A panel on the customer's page drawn by its own template; it has no rows or inputs of its own."""

    formset = DisplayOnlyFormSet
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def get_formset(self, request, obj=None, **kwargs):
        self.panel = self.panel_context(request, obj) if obj is not None else {}
        return super().get_formset(request, obj, **kwargs)

    def panel_context(self, request, customer: Customer) -> dict[str, Any]:
        raise NotImplementedError


class CustomerInvoicesInline(_CustomerPanel):
    model = Invoice
    fields = ["memo"]  # never shown: the template draws the panel
    verbose_name_plural = _("invoices")
    template = "admin/invoicing/edit_inline/customer_invoices.html"

    def panel_context(self, request, customer: Customer) -> dict[str, Any]:
        invoices = list(Invoice.objects.filter(customer=customer).order_by("-created_at", "-id")[:RECENT])
        changelist = reverse("admin:invoicing_invoice_changelist")
        open_invoices = Invoice.objects.filter(
            customer=customer, status__in=[InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE]
        )
        return {
            "rows": [
                {
                    "label": invoice.number or f"{_('Draft')} #{invoice.pk}",
                    "url": reverse("admin:invoicing_invoice_change", args=[invoice.pk]),
                    "status": status_badge(invoice.status, invoice.get_status_display()),
                    "created": f"{invoice.created_at:%Y-%m-%d}",
                    "total": money(invoice.total, invoice.currency),
                    "due": money(invoice.amount_due, invoice.currency),
                    "due_at": f"{invoice.due_at:%Y-%m-%d}" if invoice.due_at else "—",
                }
                for invoice in invoices
            ],
            "count": Invoice.objects.filter(customer=customer).count(),
            "open_count": open_invoices.count(),
            "all_url": f"{changelist}?customer__id__exact={customer.pk}",
            "new_url": reverse("admin:invoicing_invoice_add") + f"?customer={customer.pk}"
            if request.user.has_perm("invoicing.add_invoice")
            else None,
        }


class CustomerBalanceInline(_CustomerPanel):
    model = BalanceTransaction
    fields = ["description"]  # never shown: the template draws the panel
    verbose_name_plural = _("credit balance")
    template = "admin/invoicing/edit_inline/customer_balance.html"

    def panel_context(self, request, customer: Customer) -> dict[str, Any]:
        balances = customer_balances([customer.pk])
        rows = list(BalanceTransaction.objects.filter(customer=customer).order_by("-created_at", "-id")[:RECENT])
        return {
            "balances": [money(value, currency) for (_c, currency), value in sorted(balances.items())]
            or [money(0, customer.currency)],
            "rows": [
                {
                    "when": f"{row.created_at:%Y-%m-%d}",
                    "kind": row.get_kind_display(),
                    "description": row.description,
                    "amount": signed(row.amount, row.currency),
                }
                for row in rows
            ],
            "all_url": reverse("admin:invoicing_balancetransaction_changelist") + f"?customer__id__exact={customer.pk}",
        }


def register(site: admin.AdminSite) -> None:
    if BalanceTransaction not in site._registry:
        site.register(BalanceTransaction, BalanceTransactionAdmin)
    customer_admin = site._registry.get(Customer)
    if customer_admin is None:
        return
    for inline in (CustomerInvoicesInline, CustomerBalanceInline):
        if inline not in customer_admin.inlines:
            customer_admin.inlines = [*customer_admin.inlines, inline]
