"""django-q2 tasks: load by id, call a service, nothing else. Safe to run twice."""

from __future__ import annotations

import logging

from billing_site import clock
from invoicing.models import CreditNote, Invoice

logger = logging.getLogger(__name__)


def invoice_documents_task(invoice_ids: list[int]) -> int:
    """After finalization: render and store each invoice's PDF, then e-mail it (once)."""
    from invoicing.services.documents import invoice_render_pdf
    from invoicing.services.emails import email_invoice_issued

    done = 0
    for invoice in Invoice.objects.filter(pk__in=invoice_ids).select_related("entity", "customer").order_by("pk"):
        invoice_render_pdf(invoice=invoice)
        email_invoice_issued(invoice=invoice, now=clock.now(invoice.customer))
        done += 1
    return done


def credit_note_documents_task(credit_note_id: int) -> None:
    from invoicing.services.documents import credit_note_pdf_bytes
    from invoicing.services.emails import email_credit_note_issued

    note = CreditNote.objects.select_related("entity", "customer", "invoice").get(pk=credit_note_id)
    credit_note_pdf_bytes(note)
    email_credit_note_issued(credit_note=note, now=clock.now(note.customer))


def payment_receipt_task(invoice_id: int, amount: str, dedupe_key: str) -> None:
    """A receipt for a payment recorded on an invoice (sent once per payment)."""
    from decimal import Decimal

    from invoicing.services.emails import email_payment_receipt

    invoice = Invoice.objects.select_related("entity", "customer").get(pk=invoice_id)
    email_payment_receipt(
        invoice=invoice, amount=Decimal(amount), now=clock.now(invoice.customer), dedupe_key=dedupe_key
    )


def billing_run_task() -> dict[str, int]:
    """The scheduled billing run (every 15 minutes by default)."""
    from invoicing.services.billing import billing_run

    return billing_run(now=clock.now()).as_dict()


def reminders_task() -> int:
    from invoicing.services.emails import reminders_send

    return reminders_send(now=clock.now())
