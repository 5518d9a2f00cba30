"""Invoicing resources under /api/v1/. Every route answers with and without a trailing slash."""

from __future__ import annotations

from billing_site.api.views import route
from invoicing.api import payments, views

urlpatterns = [
    *route("invoices", views.InvoiceListApi, "invoice-list"),
    # Before "invoices/<id>" (which takes only numbers anyway): "upcoming" is not an id.
    *route("invoices/upcoming", views.InvoiceUpcomingApi, "invoice-upcoming"),
    *route("invoices/<int:pk>", views.InvoiceDetailApi, "invoice-detail"),
    *route("invoices/<int:pk>/pdf", views.InvoicePdfApi, "invoice-pdf"),
    *route("invoices/<int:pk>/finalize", views.InvoiceFinalizeApi, "invoice-finalize"),
    *route("invoices/<int:pk>/void", views.InvoiceVoidApi, "invoice-void"),
    *route("invoices/<int:pk>/mark-uncollectible", views.InvoiceMarkUncollectibleApi, "invoice-mark-uncollectible"),
    *route("invoices/<int:pk>/mark-paid", views.InvoiceMarkPaidApi, "invoice-mark-paid"),
    *route("credit-notes", views.CreditNoteListApi, "credit-note-list"),
    *route("credit-notes/<int:pk>", views.CreditNoteDetailApi, "credit-note-detail"),
    *route("credit-notes/<int:pk>/pdf", views.CreditNotePdfApi, "credit-note-pdf"),
    # Collection: payment methods, payments, an invoice's attempts, charge and dunning.
    *route("customers/<int:pk>/payment-methods", payments.CustomerPaymentMethodListApi, "customer-payment-methods"),
    *route(
        "customers/<int:pk>/payment-method-setup",
        payments.CustomerPaymentMethodSetupApi,
        "customer-payment-method-setup",
    ),
    *route("payment-methods/<int:pk>", payments.PaymentMethodDetailApi, "payment-method-detail"),
    *route("payment-methods/<int:pk>/default", payments.PaymentMethodDefaultApi, "payment-method-default"),
    *route("payments", payments.PaymentListApi, "payment-list"),
    *route("payments/<int:pk>", payments.PaymentDetailApi, "payment-detail"),
    *route("invoices/<int:pk>/payment-attempts", payments.InvoicePaymentAttemptListApi, "invoice-payment-attempts"),
    *route("invoices/<int:pk>/pay", payments.InvoicePayApi, "invoice-pay"),
    *route("invoices/<int:pk>/dunning", payments.InvoiceDunningApi, "invoice-dunning"),
]
