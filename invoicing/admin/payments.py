"""Payment methods, charge attempts, payments and refunds in the admin: read-only lists and pages.

They are written by the collection services only (a charge, a webhook, a payment finance records on
the invoice page, a refund for a credit note), so nobody adds, changes or deletes one here. A payment
method is a reference at the provider: brand, last four digits and expiry, never a card number.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from invoicing.admin.common import link, money
from invoicing.admin.common import moment as _moment
from invoicing.models import Payment, PaymentAttempt, PaymentMethod, Refund


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list and a page to read; every field shown is read-only."""

    actions = None
    list_per_page = 50
    empty_value_display = "—"

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or [])

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_display(self, obj):
        return link(obj.customer, obj.customer.name, site=self.admin_site)

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_display(self, obj):
        return link(obj.invoice, obj.invoice.number or f"#{obj.invoice_id}", site=self.admin_site)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj) -> str:
        return money(obj.amount, obj.currency)


class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = [
        "customer_display",
        "kind",
        "brand_display",
        "last4_display",
        "expiry_display",
        "is_default",
        "status",
        "provider",
        "created_display",
    ]
    list_display_links = ["brand_display"]
    list_filter = ["status", "provider", "kind", "is_default"]
    search_fields = ["customer__name", "customer__email", "=last4", "=provider_id"]
    search_help_text = _("Search by the customer's name or e-mail, the last four digits or the provider's id.")
    list_select_related = ["customer"]
    fields = [
        "customer_display",
        "kind",
        "brand_display",
        "last4_display",
        "expiry_display",
        "is_default",
        "status",
        "provider",
        "provider_id",
        "created_display",
        "detached_display",
    ]

    @admin.display(description=_("brand"), ordering="brand")
    def brand_display(self, method: PaymentMethod) -> str:
        return method.brand.title() if method.brand else method.get_kind_display()

    @admin.display(description=_("last four digits"), ordering="last4")
    def last4_display(self, method: PaymentMethod) -> str:
        return f"•••• {method.last4}" if method.last4 else "—"

    @admin.display(description=_("expiry"))
    def expiry_display(self, method: PaymentMethod) -> str:
        if method.exp_month and method.exp_year:
            return f"{method.exp_month:02d}/{method.exp_year}"
        return "—"

    @admin.display(description=_("added"), ordering="created_at")
    def created_display(self, method: PaymentMethod) -> str:
        return _moment(method.created_at)

    @admin.display(description=_("removed"))
    def detached_display(self, method: PaymentMethod) -> str:
        return _moment(method.detached_at)


class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "attempt_display",
        "invoice_display",
        "customer_display",
        "number",
        "amount_display",
        "status",
        "decline_code_display",
        "decline_type",
        "trigger",
        "provider",
        "provider_payment_id",
        "created_display",
        "completed_display",
    ]
    list_display_links = ["attempt_display"]
    list_filter = ["status", "decline_type", "provider", "trigger"]
    search_fields = ["invoice__number", "customer__name", "=provider_payment_id", "=provider_charge_id"]
    search_help_text = _("Search by invoice number, the customer's name, or the provider's payment or charge id.")
    list_select_related = ["invoice", "customer"]
    date_hierarchy = "created_at"
    fields = [
        "invoice_display",
        "customer_display",
        "number",
        "amount_display",
        "status",
        "trigger",
        "payment_method_display",
        "failure_code",
        "decline_code",
        "decline_type",
        "failure_message",
        "provider",
        "provider_payment_id",
        "provider_charge_id",
        "idempotency_key",
        "created_display",
        "completed_display",
    ]

    @admin.display(description=_("attempt"), ordering="created_at")
    def attempt_display(self, attempt: PaymentAttempt) -> str:
        return f"#{attempt.pk}"

    @admin.display(description=_("decline code"), ordering="decline_code")
    def decline_code_display(self, attempt: PaymentAttempt) -> str:
        return attempt.decline_code or attempt.failure_code or "—"

    @admin.display(description=_("payment method"))
    def payment_method_display(self, attempt: PaymentAttempt):
        return link(attempt.payment_method, site=self.admin_site) if attempt.payment_method_id else "—"

    @admin.display(description=_("started"), ordering="created_at")
    def created_display(self, attempt: PaymentAttempt) -> str:
        return _moment(attempt.created_at)

    @admin.display(description=_("completed"), ordering="completed_at")
    def completed_display(self, attempt: PaymentAttempt) -> str:
        return _moment(attempt.completed_at)


class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "payment_display",
        "invoice_display",
        "customer_display",
        "amount_display",
        "kind",
        "status",
        "received_display",
        "reference",
        "refunded_display",
    ]
    list_display_links = ["payment_display"]
    list_filter = ["status", "kind", "provider"]
    search_fields = ["invoice__number", "customer__name", "reference", "=provider_charge_id"]
    search_help_text = _("Search by invoice number, the customer's name, the bank reference or the charge id.")
    list_select_related = ["invoice", "customer"]
    date_hierarchy = "received_at"
    fields = [
        "invoice_display",
        "customer_display",
        "amount_display",
        "refunded_display",
        "kind",
        "status",
        "provider",
        "reference",
        "provider_charge_id",
        "attempt_display",
        "recorded_by",
        "note",
        "received_display",
        "created_display",
        "disputed_display",
    ]

    @admin.display(description=_("payment"), ordering="received_at")
    def payment_display(self, payment: Payment) -> str:
        return f"#{payment.pk}"

    @admin.display(description=_("refunded"), ordering="amount_refunded")
    def refunded_display(self, payment: Payment) -> str:
        return money(payment.amount_refunded, payment.currency) if payment.amount_refunded.amount else "—"

    @admin.display(description=_("charge attempt"))
    def attempt_display(self, payment: Payment):
        return link(payment.attempt, site=self.admin_site) if payment.attempt_id else "—"

    @admin.display(description=_("received"), ordering="received_at")
    def received_display(self, payment: Payment) -> str:
        return _moment(payment.received_at)

    @admin.display(description=_("recorded"))
    def created_display(self, payment: Payment) -> str:
        return _moment(payment.created_at)

    @admin.display(description=_("disputed"))
    def disputed_display(self, payment: Payment) -> str:
        return _moment(payment.disputed_at)


class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "refund_display",
        "credit_note_display",
        "payment_link",
        "amount_display",
        "status",
        "provider",
        "provider_refund_id",
        "created_display",
        "completed_display",
    ]
    list_display_links = ["refund_display"]
    list_filter = ["status", "provider"]
    search_fields = [
        "credit_note__number",
        "payment__invoice__number",
        "payment__customer__name",
        "=provider_refund_id",
    ]
    search_help_text = _("Search by credit note or invoice number, the customer's name or the provider's refund id.")
    list_select_related = ["credit_note", "payment", "payment__invoice"]
    fields = [
        "credit_note_display",
        "payment_link",
        "amount_display",
        "status",
        "provider",
        "provider_refund_id",
        "failure_message",
        "created_display",
        "completed_display",
    ]

    @admin.display(description=_("refund"), ordering="created_at")
    def refund_display(self, refund: Refund) -> str:
        return f"#{refund.pk}"

    @admin.display(description=_("credit note"), ordering="credit_note__number")
    def credit_note_display(self, refund: Refund):
        return link(refund.credit_note, site=self.admin_site)

    @admin.display(description=_("payment"))
    def payment_link(self, refund: Refund):
        payment = refund.payment
        text = f"#{payment.pk} ({payment.invoice.number or f'#{payment.invoice_id}'})"
        return link(payment, text, site=self.admin_site)

    @admin.display(description=_("requested"), ordering="created_at")
    def created_display(self, refund: Refund) -> str:
        return _moment(refund.created_at)

    @admin.display(description=_("completed"), ordering="completed_at")
    def completed_display(self, refund: Refund) -> str:
        return _moment(refund.completed_at)


def register(site: admin.AdminSite) -> None:
    for model, model_admin in (
        (PaymentMethod, PaymentMethodAdmin),
        (PaymentAttempt, PaymentAttemptAdmin),
        (Payment, PaymentAdmin),
        (Refund, RefundAdmin),
    ):
        if model not in site._registry:
            site.register(model, model_admin)
