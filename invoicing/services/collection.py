"""Getting open invoices paid: charge attempts, their results, payments received, and their effects.

An attempt is made in three steps so that no lock is held while a provider is on the line:

1. ``_attempt_start``: under the customer → subscription → invoice locks, apply account credit, pick the
   default payment method and write a ``pending`` attempt with its idempotency key. A partial unique
   constraint allows one attempt in flight per invoice, so a second worker finds it and stops.
2. The gateway is called with that key (a repeated request is answered, not charged, again).
3. ``attempt_apply_result`` locks again and applies the answer once: a payment and a paid invoice, a
   failure that dunning takes up, or a request for the customer to authenticate.

An answer that never came back (a crash, a timeout) leaves the attempt ``pending``; the collection
run asks the provider again with the same key. Webhooks deliver the same answers through
``attempt_apply_result``, which ignores an answer for an attempt that already ended or an event
older than the newest one applied.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import round_money
from billing_site.services.audit import audit_record
from invoicing.domain.declines import decline_type
from invoicing.gateways import ChargeRequest, ChargeResult, GatewayError, gateway_for
from invoicing.models import (
    AttemptStatus,
    AttemptTrigger,
    BalanceKind,
    BalanceTransaction,
    DunningCase,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentKind,
    PaymentMethod,
    PaymentMethodStatus,
    PaymentStatus,
    Provider,
)
from invoicing.services.invoices import customer_balance, invoice_settle, invoice_transition
from invoicing.services.links import payment_action_link
from subscriptions.models import CollectionMethod, Customer, Subscription

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
IN_FLIGHT = (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION)
ENDED = (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED, AttemptStatus.CANCELED)
COLLECTABLE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
#: Triggers of a person asking for a charge: a refusal is an error they must see.
ASKED = (AttemptTrigger.STAFF, AttemptTrigger.CUSTOMER)


@dataclass(frozen=True)
class Locked:
    customer: Customer
    subscription: Subscription | None
    invoice: Invoice


def collection_lock(invoice_id: int) -> Locked:
    """Lock the customer, the invoice's subscription, then the invoice (the house order)."""
    assert transaction.get_connection().in_atomic_block, "lock rows inside the service's transaction"
    customer_id, subscription_id = Invoice.objects.values_list("customer_id", "subscription_id").get(pk=invoice_id)
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    subscription = None
    if subscription_id is not None:
        subscription = Subscription.objects.select_for_update(of=("self",)).get(pk=subscription_id)
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("entity").get(pk=invoice_id)
    invoice.customer = customer
    if subscription is not None:
        subscription.customer = customer
        invoice.subscription = subscription
    return Locked(customer, subscription, invoice)


def default_payment_method(customer: Customer) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(customer=customer, status=PaymentMethodStatus.ACTIVE, is_default=True).first()


def _refuse(code: str, message: str) -> DomainError:
    return DomainError(code, message)


# --- account credit --------------------------------------------------------------------------------


def _apply_balance(invoice: Invoice, *, actor: Actor, now: dt.datetime) -> Decimal:
    """Use the customer's credit for what is due before charging a card (locked invoice); returns the amount."""
    due = invoice.amount_due.amount
    available = customer_balance(invoice.customer, invoice.currency)
    used = min(available, due) if available > 0 and due > 0 else ZERO
    if not used:
        return ZERO
    BalanceTransaction.objects.create(
        customer_id=invoice.customer_id,
        kind=BalanceKind.APPLIED,
        currency=invoice.currency,
        amount=-used,
        invoice=invoice,
        description=f"Used for invoice {invoice.number}",
        created_at=now,
    )
    invoice.credit_applied = invoice.credit_applied.amount + used
    invoice.amount_due = due - used
    fields = ["credit_applied", "amount_due", "status", "updated_at"]
    if invoice.amount_due.amount == 0:
        invoice_transition(invoice, to=InvoiceStatus.PAID, actor=actor, now=now, reason="Paid from account credit")
        invoice.paid_at = now
        fields.append("paid_at")
    else:
        audit_record(
            actor=actor,
            action="invoice.credit_applied",
            obj=invoice,
            now=now,
            after={"credit_applied": str(used), "amount_due": str(invoice.amount_due.amount)},
        )
        invoice.updated_at = now
    invoice.save(update_fields=fields)
    return used


# --- starting an attempt ---------------------------------------------------------------------------


def invoice_collect(*, invoice: Invoice, actor: Actor, now: dt.datetime, trigger: str) -> PaymentAttempt | None:
    """Try to charge what is due on ``invoice`` with the customer's default payment method.

    Returns the attempt (with its outcome), or ``None`` when nothing was charged: paid from credit,
    nothing due, a payment already in flight, or no payment method (then dunning asks for one).
    Staff and customers asking for a charge get a ``DomainError`` saying why instead of ``None``.
    """
    attempt = _attempt_start(invoice.pk, actor=actor, now=now, trigger=trigger)
    if attempt is None:
        return None
    return attempt_send(attempt=attempt, actor=actor, now=now)


@transaction.atomic
def _attempt_start(invoice_id: int, *, actor: Actor, now: dt.datetime, trigger: str) -> PaymentAttempt | None:
    locked = collection_lock(invoice_id)
    invoice = locked.invoice
    asked = trigger in ASKED
    refusal = _refusal(invoice, trigger=trigger)
    if refusal is not None:
        if asked:
            raise refusal
        logger.info("Invoice %s not charged: %s", invoice.pk, refusal.message)
        return None
    if _apply_balance(invoice, actor=actor, now=now) and invoice.amount_due.amount == 0:
        on_invoice_paid(locked, actor=actor, now=now)
        return None
    method = default_payment_method(locked.customer)
    if method is None:
        if asked:
            raise _refuse(
                "no_payment_method",
                f"{locked.customer} has no payment method on file: ask them to add one, or record a bank transfer.",
            )
        from invoicing.services.dunning import dunning_on_failure

        dunning_on_failure(locked, attempt=None, actor=actor, now=now)
        return None
    number = (PaymentAttempt.objects.filter(invoice=invoice).aggregate(n=Max("number"))["n"] or 0) + 1
    attempt = PaymentAttempt.objects.create(
        invoice=invoice,
        customer=locked.customer,
        payment_method=method,
        provider=method.provider,
        number=number,
        currency=invoice.currency,
        amount=invoice.amount_due.amount,
        status=AttemptStatus.PENDING,
        trigger=trigger,
        idempotency_key=f"invoice-{invoice.pk}-attempt-{number}",
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="payment.attempt_started",
        obj=invoice,
        now=now,
        after={"attempt": number, "amount": str(attempt.amount.amount), "payment_method": str(method)},
        reason=str(AttemptTrigger(trigger).label),
    )
    return attempt


def _refusal(invoice: Invoice, *, trigger: str) -> DomainError | None:
    if invoice.status not in COLLECTABLE:
        state = invoice.get_status_display().lower()
        return _refuse("invoice_not_collectable", f"Invoice {invoice} is {state}: there is nothing to collect.")
    if invoice.amount_due.amount <= 0:
        return _refuse("nothing_due", f"Nothing is due on invoice {invoice}.")
    in_flight = invoice.payment_attempts.filter(status__in=IN_FLIGHT).first()
    if in_flight is not None:
        return _refuse(
            "payment_in_progress",
            f"A payment of invoice {invoice} is already in progress (attempt {in_flight.number}, "
            f"{in_flight.get_status_display().lower()}): wait for its outcome.",
        )
    first_charge = trigger in (AttemptTrigger.FINALIZED, AttemptTrigger.SWEEP)
    if first_charge and (invoice.payment_attempts.exists() or DunningCase.objects.filter(invoice=invoice).exists()):
        return _refuse("already_collecting", f"Invoice {invoice} was charged before: dunning takes it from here.")
    automatic = trigger not in ASKED and trigger != AttemptTrigger.PAYMENT_METHOD_UPDATED
    if automatic and invoice.collection_method != CollectionMethod.CHARGE_AUTOMATICALLY:
        return _refuse("not_charged_automatically", f"Invoice {invoice} is paid by the customer, not charged.")
    subscription = invoice.subscription if invoice.subscription_id else None
    if subscription is not None and subscription.pause_behavior and trigger not in ASKED:
        return _refuse("collection_paused", f"Collection is paused for the subscription of invoice {invoice}.")
    return None


def _request(attempt: PaymentAttempt) -> ChargeRequest:
    invoice = attempt.invoice
    method = attempt.payment_method
    assert method is not None
    return ChargeRequest(
        amount=attempt.amount.amount,
        currency=attempt.currency,
        customer_provider_id=attempt.customer.stripe_id if attempt.provider == Provider.STRIPE else "",
        method_provider_id=method.provider_id,
        idempotency_key=attempt.idempotency_key,
        description=f"Invoice {invoice.number}",
        metadata={
            "invoice_id": str(invoice.pk),
            "invoice_number": invoice.number,
            "attempt_id": str(attempt.pk),
            "attempt": str(attempt.number),
            "customer_id": str(attempt.customer_id),
        },
    )


def attempt_send(*, attempt: PaymentAttempt, actor: Actor, now: dt.datetime) -> PaymentAttempt:
    """Send a pending attempt to its provider and apply the answer (again with the same key: safe)."""
    attempt = PaymentAttempt.objects.select_related("invoice", "customer", "payment_method").get(pk=attempt.pk)
    gateway = gateway_for(attempt.provider)
    try:
        result = gateway.charge(attempt=attempt, request=_request(attempt))
    except GatewayError as error:
        if error.retryable:
            logger.warning("Attempt %s: %s; the collection run asks again", attempt.pk, error.message)
            return attempt
        result = ChargeResult("failed", failure_code=error.code, message=error.message)
    return attempt_apply_result(attempt=attempt, result=result, actor=actor, now=now)


def attempt_ask_again(*, attempt: PaymentAttempt, actor: Actor, now: dt.datetime) -> PaymentAttempt:
    """An attempt whose answer was lost: ask the provider how it ended (same idempotency key)."""
    attempt = PaymentAttempt.objects.select_related("invoice", "customer", "payment_method").get(pk=attempt.pk)
    if attempt.status != AttemptStatus.PENDING:
        return attempt
    try:
        result = gateway_for(attempt.provider).charge_status(attempt=attempt)
    except GatewayError as error:
        logger.warning("Attempt %s still unknown: %s", attempt.pk, error.message)
        return attempt
    return attempt_apply_result(attempt=attempt, result=result, actor=actor, now=now)


def attempt_confirm(*, attempt: PaymentAttempt, actor: Actor, now: dt.datetime) -> PaymentAttempt:
    """The customer authenticated the payment (3-D Secure) on the page behind the e-mail's link."""
    attempt = PaymentAttempt.objects.select_related("invoice", "customer", "payment_method").get(pk=attempt.pk)
    if attempt.status != AttemptStatus.REQUIRES_ACTION:
        raise _refuse(
            "nothing_to_confirm",
            f"This payment is {attempt.get_status_display().lower()}: there is nothing to confirm.",
        )
    try:
        result = gateway_for(attempt.provider).confirm(attempt=attempt)
    except GatewayError as error:
        raise _refuse(error.code, error.message) from error
    return attempt_apply_result(attempt=attempt, result=result, actor=actor, now=now)


# --- applying an answer ----------------------------------------------------------------------------


@transaction.atomic
def attempt_apply_result(
    *, attempt: PaymentAttempt, result: ChargeResult, actor: Actor, now: dt.datetime, provider_time: int = 0
) -> PaymentAttempt:
    """Apply a provider's answer to an attempt, once.

    ``provider_time`` (seconds, from a webhook event) orders answers: one older than the newest applied
    is ignored, and an attempt that ended keeps its outcome, except that a success always wins (money
    that arrived is never dropped).
    """
    locked = collection_lock(attempt.invoice_id)
    attempt = PaymentAttempt.objects.select_for_update(of=("self",)).select_related("payment_method").get(pk=attempt.pk)
    attempt.invoice = locked.invoice
    attempt.customer = locked.customer
    if provider_time and provider_time < attempt.provider_updated:
        logger.info("Attempt %s: ignored an answer older than the one applied", attempt.pk)
        return attempt
    if attempt.status in ENDED and not (result.status == "succeeded" and attempt.status != AttemptStatus.SUCCEEDED):
        return attempt
    if provider_time:
        attempt.provider_updated = provider_time
    attempt.provider_payment_id = result.provider_payment_id or attempt.provider_payment_id
    attempt.provider_charge_id = result.provider_charge_id or attempt.provider_charge_id
    if result.status == "succeeded":
        _succeeded(locked, attempt, actor=actor, now=now)
    elif result.status == "failed":
        _failed(locked, attempt, result, actor=actor, now=now)
    elif result.status == "requires_action":
        _requires_action(locked, attempt, result, actor=actor, now=now)
    else:  # processing: the provider tells us later (webhook) or when asked again
        attempt.save(update_fields=["provider_payment_id", "provider_charge_id", "provider_updated"])
    return attempt


def _succeeded(locked: Locked, attempt: PaymentAttempt, *, actor: Actor, now: dt.datetime) -> None:
    attempt.status = AttemptStatus.SUCCEEDED
    attempt.completed_at = now
    attempt.failure_code = attempt.decline_code = attempt.decline_type = attempt.failure_message = ""
    attempt.save()
    payment_apply(
        locked,
        amount=attempt.amount.amount,
        kind=PaymentKind.CARD,
        provider=attempt.provider,
        actor=actor,
        now=now,
        attempt=attempt,
        reference=attempt.provider_charge_id or attempt.provider_payment_id,
        provider_charge_id=attempt.provider_charge_id,
        note=str(attempt.payment_method or ""),
    )


def _failed(locked: Locked, attempt: PaymentAttempt, result: ChargeResult, *, actor: Actor, now: dt.datetime) -> None:
    attempt.status = AttemptStatus.FAILED
    attempt.completed_at = now
    attempt.failure_code = result.failure_code[:40]
    attempt.decline_code = result.decline_code[:40]
    attempt.decline_type = decline_type(failure_code=result.failure_code, decline_code=result.decline_code)
    attempt.failure_message = result.message[:300]
    attempt.save()
    audit_record(
        actor=actor,
        action="payment.failed",
        obj=locked.invoice,
        now=now,
        after={
            "attempt": attempt.number,
            "amount": str(attempt.amount.amount),
            "decline_code": attempt.decline_code or attempt.failure_code,
            "decline_type": attempt.decline_type,
        },
        reason=attempt.failure_message,
    )
    from invoicing.services.dunning import dunning_on_failure

    dunning_on_failure(locked, attempt=attempt, actor=actor, now=now)


def _requires_action(
    locked: Locked, attempt: PaymentAttempt, result: ChargeResult, *, actor: Actor, now: dt.datetime
) -> None:
    first_time = attempt.status != AttemptStatus.REQUIRES_ACTION
    attempt.status = AttemptStatus.REQUIRES_ACTION
    attempt.failure_code = (result.failure_code or "authentication_required")[:40]
    attempt.failure_message = result.message[:300]
    attempt.action_url = payment_action_link(attempt.pk)
    attempt.save()
    if not first_time:
        return
    audit_record(
        actor=actor,
        action="payment.requires_action",
        obj=locked.invoice,
        now=now,
        after={"attempt": attempt.number, "amount": str(attempt.amount.amount)},
        reason="The customer's bank asks them to confirm the payment.",
    )
    from invoicing.services.dunning import dunning_on_failure

    dunning_on_failure(locked, attempt=attempt, actor=actor, now=now)
    attempt_id = attempt.pk
    transaction.on_commit(lambda: _enqueue("invoicing.tasks.payment_action_email_task", attempt_id))


# --- payments received -----------------------------------------------------------------------------


def payment_apply(
    locked: Locked,
    *,
    amount: Decimal,
    kind: str,
    provider: str,
    actor: Actor,
    now: dt.datetime,
    received_at: dt.datetime | None = None,
    attempt: PaymentAttempt | None = None,
    reference: str = "",
    provider_charge_id: str = "",
    bank_line_key: str = "",
    note: str = "",
    reason: str = "",
) -> Payment:
    """Money arrived for a locked invoice: record it, settle what is due, keep any excess as credit."""
    invoice = locked.invoice
    currency = invoice.currency
    if amount <= 0 or round_money(amount, currency) != amount:
        raise DomainError(
            "invalid_amount",
            f"A payment must be more than zero, with at most the decimals {currency} allows.",
            fields={"amount": "Enter an amount such as 79.50."},
        )
    payment = Payment.objects.create(
        customer=locked.customer,
        invoice=invoice,
        attempt=attempt,
        provider=provider,
        kind=kind,
        status=PaymentStatus.SUCCEEDED,
        currency=currency,
        amount=amount,
        reference=reference[:140],
        provider_charge_id=provider_charge_id,
        bank_line_key=bank_line_key,
        recorded_by=actor.label[:200],
        note=note[:300],
        received_at=received_at or now,
        created_at=now,
    )
    due = invoice.amount_due.amount if invoice.status in COLLECTABLE else ZERO
    settled = min(amount, due)
    if settled:
        why = reason or f"{PaymentKind(kind).label} {reference}".strip()
        invoice_settle(invoice, amount=settled, actor=actor, now=now, reason=why)
    excess = amount - settled
    if excess:
        BalanceTransaction.objects.create(
            customer=locked.customer,
            kind=BalanceKind.OVERPAYMENT,
            currency=currency,
            amount=excess,
            invoice=invoice,
            description=f"Paid {excess} more than was due on invoice {invoice.number}",
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="payment.overpaid",
            obj=invoice,
            now=now,
            after={"payment": payment.pk, "kept_as_credit": str(excess)},
            reason="The payment was more than what was due: the rest is kept as account credit.",
        )
    if invoice.status == InvoiceStatus.PAID:
        on_invoice_paid(locked, actor=actor, now=now)
    invoice_id, receipt_amount = invoice.pk, str(amount)
    key = f"receipt:payment:{payment.pk}"
    transaction.on_commit(lambda: _enqueue("invoicing.tasks.payment_receipt_task", invoice_id, receipt_amount, key))
    return payment


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    actor: Actor,
    now: dt.datetime,
    kind: str = PaymentKind.MANUAL,
    provider: str = Provider.MANUAL,
    received_at: dt.datetime | None = None,
    reference: str = "",
    bank_line_key: str = "",
    note: str = "",
    reason: str = "",
) -> Payment:
    """Finance records money received outside a provider (bank transfer, cash), in full or in part.

    ``bank_line_key`` identifies a bank statement line: a line can pay only once (unique constraint).
    """
    locked = collection_lock(invoice.pk)
    if locked.invoice.status not in COLLECTABLE:
        state = locked.invoice.get_status_display().lower()
        raise DomainError("invoice_not_collectable", f"Invoice {locked.invoice} is {state}: it cannot take a payment.")
    if amount > locked.invoice.amount_due.amount:
        raise DomainError(
            "overpayment",
            f"Invoice {locked.invoice} has {locked.invoice.amount_due} left to pay; {amount} is more than that.",
            fields={"amount": "More than what is due."},
        )
    if bank_line_key and Payment.objects.filter(bank_line_key=bank_line_key).exists():
        raise DomainError("bank_line_used", "This bank statement line was already recorded as a payment.")
    return payment_apply(
        locked,
        amount=amount,
        kind=kind,
        provider=provider,
        actor=actor,
        now=now,
        received_at=received_at,
        reference=reference,
        bank_line_key=bank_line_key,
        note=note,
        reason=reason,
    )


def attempts_cancel(attempts, *, now: dt.datetime, why: str) -> int:
    """End attempts still waiting (for an answer or the customer's authentication) without a payment."""
    return attempts.update(status=AttemptStatus.CANCELED, completed_at=now, failure_message=why[:300])


def on_invoice_paid(locked: Locked, *, actor: Actor, now: dt.datetime) -> None:
    """The invoice is paid: cancel any attempt still waiting, end dunning, reactivate the subscription."""
    attempts_cancel(
        PaymentAttempt.objects.filter(invoice=locked.invoice, status__in=IN_FLIGHT),
        now=now,
        why="The invoice was paid another way.",
    )
    from invoicing.services.dunning import dunning_recover

    dunning_recover(locked, actor=actor, now=now)


def _enqueue(func: str, *args: object) -> None:
    from django_q.tasks import async_task

    async_task(func, *args, task_name=f"{func.rsplit('.', 1)[-1]} {args[0]}")
