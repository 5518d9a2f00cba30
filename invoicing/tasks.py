"""django-q2 tasks: load by id, call a service, nothing else. Safe to run twice."""

from __future__ import annotations

import logging

from billing_site import clock
from billing_site.actors import Actor
from invoicing.models import CreditNote, Invoice

logger = logging.getLogger(__name__)
SYSTEM = Actor.system("collection")


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


def collect_invoices_task(invoice_ids: list[int]) -> int:
    """After finalization: charge each invoice that is charged automatically (skips those already handled)."""
    from invoicing.models import AttemptTrigger
    from invoicing.services.collection import invoice_collect

    charged = 0
    for invoice in Invoice.objects.filter(pk__in=invoice_ids).select_related("customer").order_by("pk"):
        attempt = invoice_collect(
            invoice=invoice, actor=SYSTEM, now=clock.now(invoice.customer), trigger=AttemptTrigger.FINALIZED
        )
        charged += attempt is not None
    return charged


def collection_run_task() -> dict[str, int]:
    """The scheduled collection run: retries, reminders, overdue invoices, final actions."""
    from invoicing.services.dunning import collection_run

    return collection_run(now=clock.now(), actor=SYSTEM).as_dict()


def payment_action_email_task(attempt_id: int) -> None:
    from invoicing.models import PaymentAttempt
    from invoicing.services.emails import email_payment_action_required

    attempt = PaymentAttempt.objects.select_related("invoice__entity", "customer", "payment_method").get(pk=attempt_id)
    email_payment_action_required(attempt=attempt, now=clock.now(attempt.customer))


def dunning_email_task(kind: str, *args) -> None:
    """The e-mails of a dunning step, sent after the step committed (each once: their dedupe keys)."""
    import datetime as dt

    from invoicing.models import PaymentAttempt
    from invoicing.services import emails

    if kind == "payment_failed":
        attempt_id, retry_at = args
        attempt = PaymentAttempt.objects.select_related("invoice__entity", "customer", "payment_method").get(
            pk=attempt_id
        )
        next_retry = dt.datetime.fromisoformat(retry_at) if retry_at else None
        emails.email_payment_failed(attempt=attempt, next_retry_at=next_retry, now=clock.now(attempt.customer))
        return
    invoice = Invoice.objects.select_related("entity", "customer").get(pk=args[0])
    now = clock.now(invoice.customer)
    if kind == "payment_method_required":
        emails.email_payment_method_required(invoice=invoice, reason=args[1], step=args[2], now=now)
    elif kind == "invoice_overdue":
        emails.email_invoice_overdue(invoice=invoice, step=args[1], now=now)
    elif kind == "dunning_final":
        emails.email_dunning_final(invoice=invoice, action=args[1], now=now)
    else:
        raise ValueError(f"Unknown dunning e-mail {kind!r}")


def refund_credit_note_task(credit_note_id: int) -> int:
    """Send an issued credit note's refund to the provider(s) that took the money."""
    from invoicing.services.refunds import refund_execute

    note = CreditNote.objects.select_related("customer").get(pk=credit_note_id)
    return len(refund_execute(credit_note=note, actor=SYSTEM, now=clock.now(note.customer)))


def webhook_event_task(event_id: int) -> str:
    """Process a stored provider webhook event; one already processed (or ignored) is left as it is."""
    from invoicing.models import WebhookEvent
    from invoicing.services.webhooks import webhook_process

    event = WebhookEvent.objects.get(pk=event_id)
    return webhook_process(event=event, now=clock.now()).status


def provider_customer_sync_task(customer_id: int) -> str:
    """A customer's details changed: update the payment provider's copy (name, e-mail, address, language)."""
    from invoicing.services.payment_methods import provider_customer_sync
    from subscriptions.models import Customer

    return provider_customer_sync(customer=Customer.objects.get(pk=customer_id))
