"""Money going back: refunds of credit notes through the provider that took the money, and what the
provider tells us about refunds and disputes it saw (webhooks).

A credit note's refund is spread over the invoice's payments, newest first. Each part is a ``Refund``
written before the provider is called, with an idempotency key derived from the credit note and the
payment, so that a retried job cannot refund twice. A bank transfer cannot be sent back by a
provider: its part is marked "to be paid back by transfer" for finance.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing_site.actors import Actor
from billing_site.services.audit import audit_record
from invoicing.gateways import GatewayError, gateway_for
from invoicing.models import CreditNote, CreditNoteStatus, Payment, PaymentStatus, Provider, Refund, RefundStatus

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
COUNTED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.MANUAL)


def _refundable(payment: Payment) -> Decimal:
    taken = Refund.objects.filter(payment=payment, status__in=COUNTED).aggregate(t=Sum("amount"))["t"] or ZERO
    return payment.amount.amount - Decimal(taken)


@transaction.atomic
def _plan(note: CreditNote, *, actor: Actor, now: dt.datetime) -> list[Refund]:
    note = CreditNote.objects.select_for_update().get(pk=note.pk)
    if note.status != CreditNoteStatus.ISSUED:
        return []
    already = note.refunds.filter(status__in=COUNTED).aggregate(t=Sum("amount"))["t"] or ZERO
    left = note.refund_amount.amount - Decimal(already)
    refunds: list[Refund] = []
    payments = Payment.objects.select_for_update().filter(invoice_id=note.invoice_id).order_by("-received_at", "-pk")
    for payment in payments:
        if left <= 0:
            break
        part = min(left, _refundable(payment))
        if part <= 0:
            continue
        manual = payment.provider == Provider.MANUAL
        refunds.append(
            Refund.objects.create(
                credit_note=note,
                payment=payment,
                provider=payment.provider,
                currency=note.currency,
                amount=part,
                status=RefundStatus.MANUAL if manual else RefundStatus.PENDING,
                idempotency_key=f"credit-note-{note.pk}-payment-{payment.pk}",
                created_at=now,
            )
        )
        left -= part
    if refunds or left > 0:
        audit_record(
            actor=actor,
            action="credit_note.refund_started",
            obj=note,
            now=now,
            after={
                "parts": [f"{r.amount.amount} via {r.get_provider_display()}" for r in refunds],
                "unmatched": str(left) if left > 0 else "0",
            },
            reason="Money without a recorded payment to send it back through is paid back by hand." if left > 0 else "",
        )
    return [r for r in refunds if r.status == RefundStatus.PENDING]


def refund_execute(*, credit_note: CreditNote, actor: Actor, now: dt.datetime) -> list[Refund]:
    """Send a credit note's refund to the providers that took the money. Safe to run twice."""
    pending = _plan(credit_note, actor=actor, now=now)
    pending += list(
        credit_note.refunds.filter(status=RefundStatus.PENDING, provider_refund_id="").exclude(
            pk__in=[r.pk for r in pending]
        )
    )
    done = []
    for refund in pending:
        payment = Payment.objects.select_related("attempt").get(pk=refund.payment_id)
        try:
            result = gateway_for(refund.provider).refund(
                refund=refund, payment=payment, idempotency_key=refund.idempotency_key
            )
        except GatewayError as error:
            if error.retryable:
                logger.warning("Refund %s: %s; will be asked again", refund.pk, error.message)
                continue
            refund_apply_result(
                refund=refund, status="failed", provider_refund_id="", message=error.message, actor=actor, now=now
            )
            continue
        done.append(
            refund_apply_result(
                refund=refund,
                status=result.status,
                provider_refund_id=result.provider_refund_id,
                message=result.message,
                actor=actor,
                now=now,
            )  # fmt: skip
        )
    return done


@transaction.atomic
def refund_apply_result(
    *, refund: Refund, status: str, provider_refund_id: str, message: str, actor: Actor, now: dt.datetime
) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.MANUAL):
        return refund
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    if status == "succeeded":
        refund.status = RefundStatus.SUCCEEDED
        refund.completed_at = now
        refund.save()
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        # The provider's total (a webhook) may already include this refund: never count it twice.
        ours = Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).aggregate(t=Sum("amount"))["t"]
        _refunded(payment, max(payment.amount_refunded.amount, Decimal(ours or 0)))
    elif status == "failed":
        refund.status = RefundStatus.FAILED
        refund.completed_at = now
        refund.failure_message = message[:300]
    refund.save()
    audit_record(
        actor=actor,
        action=f"refund.{refund.status}",
        obj=refund.credit_note,
        now=now,
        after={"amount": str(refund.amount.amount), "provider_refund_id": refund.provider_refund_id},
        reason=refund.failure_message,
    )
    return refund


def _refunded(payment: Payment, total: Decimal) -> None:
    payment.amount_refunded = min(total, payment.amount.amount)
    if payment.status != PaymentStatus.DISPUTED:
        full = payment.amount_refunded.amount >= payment.amount.amount
        payment.status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    payment.save(update_fields=["amount_refunded", "status"])


@transaction.atomic
def payment_provider_refunded(
    *, provider: str, provider_charge_id: str, amount_refunded: Decimal, actor: Actor, now: dt.datetime
) -> Payment | None:
    """The provider says a charge has ``amount_refunded`` refunded in all (its own total: applying it twice is safe)."""
    payment = (
        Payment.objects.select_for_update().filter(provider=provider, provider_charge_id=provider_charge_id).first()
    )
    if payment is None:
        return None
    if amount_refunded <= payment.amount_refunded.amount:
        return payment
    before = payment.amount_refunded.amount
    _refunded(payment, amount_refunded)
    audit_record(
        actor=actor,
        action="payment.refunded",
        obj=payment.invoice,
        now=now,
        before={"refunded": str(before)},
        after={"refunded": str(payment.amount_refunded.amount), "payment": payment.pk},
    )
    return payment


@transaction.atomic
def payment_disputed(
    *, provider: str, provider_charge_id: str, amount: Decimal, reason: str, actor: Actor, now: dt.datetime
) -> Payment | None:
    """The customer disputed a charge with their bank (a chargeback): visible on the invoice for finance."""
    payment = (
        Payment.objects.select_for_update().filter(provider=provider, provider_charge_id=provider_charge_id).first()
    )
    if payment is None or payment.status == PaymentStatus.DISPUTED:
        return payment
    payment.status = PaymentStatus.DISPUTED
    payment.disputed_at = now
    payment.save(update_fields=["status", "disputed_at"])
    audit_record(
        actor=actor,
        action="payment.disputed",
        obj=payment.invoice,
        now=now,
        after={"payment": payment.pk, "amount": str(amount), "reason": reason},
        reason="The customer disputed the charge with their bank: answer the dispute at the provider.",
    )
    return payment
