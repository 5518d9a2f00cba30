"""Reads of invoicing: invoices and credit notes with everything their pages and JSON show, in a few queries.

Larger read models live in modules of their own (``invoicing.selectors.recovery``: the recovery report).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, InvoiceTax


def invoice_queryset() -> QuerySet[Invoice]:
    """Invoices with everything their JSON shows, in two extra queries for a whole page."""
    return Invoice.objects.select_related("entity", "customer").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")),
        Prefetch("tax_rows", queryset=InvoiceTax.objects.order_by("id")),
    )


def credit_note_queryset() -> QuerySet[CreditNote]:
    return CreditNote.objects.select_related("invoice", "entity", "customer").prefetch_related(
        Prefetch("lines", queryset=CreditNoteLine.objects.order_by("id"))
    )
