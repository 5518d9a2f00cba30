"""Invoicing resources under /api/v1/. Every route answers with and without a trailing slash."""

from __future__ import annotations

from billing_site.api.views import route
from invoicing.api import views

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
]
