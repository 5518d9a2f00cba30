"""Stripe's webhooks: received once, processed by a job, kept with their outcome.

Receiving (``webhook_receive``, called by the view) checks the signature before anything else, stores
the event once (a unique constraint on the provider's event id: a repeated delivery finds the stored
row) with card and bank numbers removed, and enqueues its processing after the commit, so that Stripe
gets its answer at once.

Processing (``webhook_process``, by the job) hands the event to the service that owns what it is
about, each in its own transaction: payment results to ``attempt_apply_result``, cards to
``payment_method_record`` / ``payment_method_detach``, refunds and disputes to the refund services.
Those services ignore what they already know and anything older than it (``provider_time`` is the
event's ``created``), so an event processed twice, or two events out of order, change nothing twice.
No transaction is held around a handler: a new default card may be charged at once, over the network.

An event ends ``processed``, ``ignored`` (not needed, not ours, or older than what we know; ``result``
says which) or ``failed`` (``last_error``), which finance can retry from the admin.

Checkout in setup mode: the card is saved by ``setup_intent.succeeded``, which Stripe sends for the
Checkout page's SetupIntent as for any other; ``checkout.session.completed`` only records that.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import minor_units, round_money
from billing_site.services.audit import audit_record
from invoicing.domain.signatures import SignatureError, stripe_signature_verify
from invoicing.gateways import GatewayError
from invoicing.models import (
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodStatus,
    Provider,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookStatus,
)
from subscriptions.models import Customer

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("stripe webhooks")
STRIPE = Provider.STRIPE
TASK = "invoicing.tasks.webhook_event_task"

#: Keys whose values are full card or bank account numbers: never stored, at any depth of a payload.
#: ``last4`` and ``fingerprint`` stay: they identify a card without revealing it.
REDACTED_KEYS = frozenset({"number", "cvc", "cvv", "account_number", "iban", "routing_number"})

#: An event that ended is never processed again; a failed one only when asked (retry, command).
DONE = (WebhookStatus.PROCESSED, WebhookStatus.IGNORED)
#: The event's transitions: the only place that says which status may follow which.
TRANSITIONS: dict[str, frozenset[str]] = {
    WebhookStatus.PENDING: frozenset({WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FAILED}),
    WebhookStatus.FAILED: frozenset({WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FAILED}),
    WebhookStatus.PROCESSED: frozenset(),
    WebhookStatus.IGNORED: frozenset(),
}
_ERROR_LENGTH = 500


# --- receiving -------------------------------------------------------------------------------------


def webhook_secrets() -> list[str]:
    """``STRIPE_WEBHOOK_SECRET``: one secret, or several separated by commas while one is being rolled."""
    return [secret.strip() for secret in (settings.STRIPE_WEBHOOK_SECRET or "").split(",") if secret.strip()]


def redact(value: Any) -> Any:
    """``value`` without any key of ``REDACTED_KEYS``, however deep (dicts inside lists included)."""
    if isinstance(value, Mapping):
        return {key: redact(item) for key, item in value.items() if key not in REDACTED_KEYS}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise DomainError("invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(event, dict):
        raise DomainError("invalid_event", "The request body is not a Stripe event.")
    event_id, kind, created = event.get("id"), event.get("type"), event.get("created")
    if not (isinstance(event_id, str) and event_id and isinstance(kind, str) and kind):
        raise DomainError("invalid_event", "The event has no id or no type.")
    if not isinstance(created, int) or isinstance(created, bool):
        raise DomainError("invalid_event", "The event has no creation time.")
    if len(event_id) > 100 or len(kind) > 100:
        raise DomainError("invalid_event", "The event's id or type is too long to be Stripe's.")
    return event


def webhook_receive(*, payload: bytes, signature: str, now: dt.datetime) -> tuple[WebhookEvent, bool]:
    """Verify, store once and enqueue a Stripe delivery; returns the event and whether it is new.

    Raises ``DomainError`` (signature missing or wrong, timestamp too old or too far ahead, body not
    a JSON event) before anything is stored. A repeated delivery returns the stored event unchanged.
    """
    try:
        stripe_signature_verify(
            payload=payload,
            header=signature,
            secrets=webhook_secrets(),
            now=int(now.timestamp()),
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
    except SignatureError as error:
        raise DomainError(error.code, error.message) from None
    event = _parse(payload)
    existing = WebhookEvent.objects.filter(provider=STRIPE, event_id=event["id"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                provider=STRIPE,
                event_id=event["id"],
                type=event["type"],
                created=event["created"],
                livemode=bool(event.get("livemode")),
                payload=redact(event),
                status=WebhookStatus.PENDING,
                received_at=now,
            )
            event_pk = stored.pk
            transaction.on_commit(lambda: _enqueue(event_pk))
    except IntegrityError:  # the same event, delivered twice at once: the other request stored it
        return WebhookEvent.objects.get(provider=STRIPE, event_id=event["id"]), False
    return stored, True


def _enqueue(event_pk: int) -> None:
    from django_q.tasks import async_task

    async_task(TASK, event_pk, task_name=f"webhook_event_task {event_pk}")


# --- processing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a handler did: ``processed`` or ``ignored``, and in words."""

    status: str
    result: str


def _processed(result: str) -> Outcome:
    return Outcome(WebhookStatus.PROCESSED, result)


def _ignored(result: str) -> Outcome:
    return Outcome(WebhookStatus.IGNORED, result)


def webhook_process(*, event: WebhookEvent, now: dt.datetime) -> WebhookEvent:
    """Process a stored event (pending, or failed when retried). An event that ended is returned as it is."""
    event = WebhookEvent.objects.get(pk=event.pk)
    if event.status in DONE:
        return event
    try:
        outcome = _dispatch(event, now=now)
    except Exception as error:  # a failure is kept with the event, for finance to see and retry
        logger.warning(
            "Stripe event %s (%s) failed: %s", event.event_id, event.type, type(error).__name__, exc_info=True
        )
        return _finish(event, to=WebhookStatus.FAILED, now=now, error=_describe(error))
    return _finish(event, to=outcome.status, now=now, result=outcome.result)


@transaction.atomic
def _finish(event: WebhookEvent, *, to: str, now: dt.datetime, result: str = "", error: str = "") -> WebhookEvent:
    event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
    if to not in TRANSITIONS[event.status]:
        return event  # another worker finished it meanwhile: its outcome stands
    event.status = to
    event.attempts += 1
    if to == WebhookStatus.FAILED:
        event.last_error = error
    else:
        event.result = result[:300]
        event.processed_at = now
    event.save(update_fields=["status", "attempts", "last_error", "result", "processed_at"])
    return event


def _describe(error: Exception) -> str:
    """A short message for the admin: the domain's or gateway's own words, else the error's kind."""
    message = getattr(error, "message", None) or str(error)
    text = message if isinstance(error, DomainError | GatewayError) else f"{type(error).__name__}: {message}"
    return " ".join(text.split())[:_ERROR_LENGTH]


def webhook_retry(*, event: WebhookEvent, actor: Actor, now: dt.datetime) -> WebhookEvent:
    """Finance asks for a failed event to be processed again (its cause fixed, or a passing error)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if event.status != WebhookStatus.FAILED:
            raise DomainError(
                "webhook_not_failed",
                f"Event {event.event_id} is {event.get_status_display().lower()}: only failed events are retried.",
            )
        audit_record(
            actor=actor,
            action="webhook.retried",
            obj=event,
            now=now,
            before={"status": event.status, "attempts": event.attempts, "last_error": event.last_error},
        )
    return webhook_process(event=event, now=now)


def webhook_process_pending(*, now: dt.datetime, include_failed: bool = False, limit: int | None = None) -> dict:
    """Process what is waiting (the job worker was down), oldest provider time first; counts per outcome."""
    statuses = [WebhookStatus.PENDING, *([WebhookStatus.FAILED] if include_failed else [])]
    ids = list(
        WebhookEvent.objects.filter(provider=STRIPE, status__in=statuses)
        .order_by("created", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {str(status): 0 for status in WebhookStatus.values}
    for pk in ids:
        counts[webhook_process(event=WebhookEvent(pk=pk), now=now).status] += 1
    return counts


# --- handlers --------------------------------------------------------------------------------------


Handler = Callable[[Mapping[str, Any], int, dt.datetime], Outcome]


def _dispatch(event: WebhookEvent, *, now: dt.datetime) -> Outcome:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return _ignored("not needed")
    data = event.payload.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise DomainError("invalid_event", "The event has no data.object.")
    return handler(obj, event.created, now)


def _id_of(value: Any) -> str:
    """An id that Stripe sends as a string or as the expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _amount(minor: Any, currency: Any) -> Decimal:
    """Stripe's integer minor units as an exact Decimal: 7950 EUR → 79.50, 1200 JPY → 1200."""
    if not isinstance(minor, int) or isinstance(minor, bool) or not isinstance(currency, str):
        raise DomainError("invalid_event", "The event's amount is not a whole number of minor units.")
    return Decimal(minor).scaleb(-minor_units(currency))


# payments ------------------------------------------------------------------------------------------


def _attempt_for(pi: Mapping[str, Any]) -> PaymentAttempt | None:
    """Our attempt behind a PaymentIntent: by its id, else by our ``attempt_id`` metadata.

    The metadata is trusted only when it agrees with the attempt (same invoice, no other PaymentIntent):
    another installation sharing the Stripe account numbers its attempts the same way.
    """
    pi_id = _id_of(pi.get("id"))
    if pi_id:
        attempt = PaymentAttempt.objects.filter(provider=STRIPE, provider_payment_id=pi_id).first()
        if attempt is not None:
            return attempt
    metadata = pi.get("metadata") or {}
    attempt_id = str(metadata.get("attempt_id") or "")
    if not (attempt_id.isascii() and attempt_id.isdigit()):
        return None
    attempt = PaymentAttempt.objects.filter(pk=int(attempt_id), provider=STRIPE).first()
    if attempt is None or attempt.provider_payment_id not in ("", pi_id):
        return None
    invoice_id = str(metadata.get("invoice_id") or "")
    if invoice_id and invoice_id != str(attempt.invoice_id):
        return None
    return attempt


def _payment_intent(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    from invoicing.gateways.stripe_gateway import payment_intent_result
    from invoicing.services.collection import attempt_apply_result

    attempt = _attempt_for(obj)
    if attempt is None:
        return _ignored("not a payment of ours")
    label = f"attempt {attempt.number} on invoice {attempt.invoice.number or attempt.invoice_id}"
    applied = attempt_apply_result(
        attempt=attempt, result=payment_intent_result(obj), actor=SYSTEM, now=now, provider_time=created
    )
    if applied.provider_updated > created:
        return _ignored(f"older than what we know of payment {label} ({applied.get_status_display().lower()})")
    if applied.provider_updated < created:
        return _ignored(f"payment {label} had already ended ({applied.get_status_display().lower()})")
    return _processed(f"payment {label}: {applied.get_status_display().lower()}")


# payment methods -----------------------------------------------------------------------------------


def _customer_for(obj: Mapping[str, Any]) -> Customer | None:
    stripe_id = _id_of(obj.get("customer"))
    if stripe_id:
        customer = Customer.objects.filter(stripe_id=stripe_id).first()
        if customer is not None:
            return customer
    customer_id = str((obj.get("metadata") or {}).get("customer_id") or "")
    if customer_id.isascii() and customer_id.isdigit():
        customer = Customer.objects.filter(pk=int(customer_id)).first()
        # Only a customer not yet at Stripe, or this very one: not another installation's customer 7.
        if customer is not None and customer.stripe_id in ("", stripe_id):
            return customer
    return None


def _setup_intent(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    """A card saved on Stripe's page (Checkout in setup mode, or any SetupIntent): the customer's new default."""
    from invoicing.gateways.stripe_gateway import StripeGateway, method_details_from
    from invoicing.services.payment_methods import payment_method_record

    customer = _customer_for(obj)
    if customer is None:
        return _ignored("not a customer of ours")
    method = obj.get("payment_method")
    if isinstance(method, Mapping) and method.get("id"):
        details = method_details_from(method)
    elif _id_of(method):
        details = StripeGateway().method_details(provider_id=_id_of(method))
    else:
        return _ignored("no payment method was saved")
    saved = payment_method_record(
        customer=customer,
        provider=STRIPE,
        details=details,
        actor=SYSTEM,
        now=now,
        make_default=True,
        provider_time=created,
    )
    return _processed(f"{saved} saved for {customer.name}{' as the default' if saved.is_default else ''}")


def _checkout_session(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    if obj.get("mode") != "setup":
        return _ignored("not needed")
    return _processed("handled by setup_intent.succeeded")


def _known_method(obj: Mapping[str, Any]) -> PaymentMethod | None:
    pm_id = _id_of(obj.get("id"))
    if not pm_id:
        return None
    return PaymentMethod.objects.select_related("customer").filter(provider=STRIPE, provider_id=pm_id).first()


def _method_updated(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    """New expiry or number from the card network (automatically_updated), or an edit at Stripe."""
    from invoicing.gateways.stripe_gateway import method_details_from
    from invoicing.services.payment_methods import payment_method_record

    method = _known_method(obj)
    if method is None:
        return _ignored("not a payment method of ours")
    saved = payment_method_record(
        customer=method.customer,
        provider=STRIPE,
        details=method_details_from(obj),
        actor=SYSTEM,
        now=now,
        make_default=False,
        provider_time=created,
    )
    if saved.provider_updated > created:
        return _ignored(f"older than what we know of {saved}")
    return _processed(f"{saved} of {method.customer.name} updated")


def _method_detached(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    from invoicing.services.payment_methods import payment_method_detach

    method = _known_method(obj)
    if method is None:
        return _ignored("not a payment method of ours")
    if method.status != PaymentMethodStatus.ACTIVE:
        return _ignored(f"{method} was already removed")
    removed = payment_method_detach(method=method, actor=SYSTEM, now=now, at_provider=False, provider_time=created)
    if removed.status == PaymentMethodStatus.ACTIVE:
        return _ignored(f"older than what we know of {removed}")
    return _processed(f"{removed} of {method.customer.name} removed")


# refunds and disputes ------------------------------------------------------------------------------


def _refund_rows(charge_id: str, refunds: Iterable[Mapping[str, Any]]) -> list[tuple[Refund, Mapping[str, Any]]]:
    """Our pending refunds among a charge's refunds: by Stripe's refund id, else by our ``refund_id`` metadata."""
    found = []
    for refund in refunds:
        if not isinstance(refund, Mapping):
            continue
        row = Refund.objects.filter(provider=STRIPE, provider_refund_id=_id_of(refund.get("id")) or "-").first()
        if row is None:
            ours = str((refund.get("metadata") or {}).get("refund_id") or "")
            if ours.isascii() and ours.isdigit():
                row = Refund.objects.filter(
                    pk=int(ours), provider=STRIPE, provider_refund_id="", payment__provider_charge_id=charge_id
                ).first()
        if row is not None and row.status == RefundStatus.PENDING:
            found.append((row, refund))
    return found


def _charge_refunded(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    """A charge was refunded, in part or in full, by us or in Stripe's dashboard.

    Our own pending refunds are settled first, so that Stripe's total (``amount_refunded``) then
    only adds what was refunded outside our credit notes, instead of counting ours twice.
    """
    from invoicing.gateways.stripe_gateway import refund_result
    from invoicing.services.refunds import payment_provider_refunded, refund_apply_result

    charge_id = _id_of(obj.get("id"))
    total = _amount(obj.get("amount_refunded"), obj.get("currency"))
    listed = (obj.get("refunds") or {}).get("data") or []
    settled = []
    for row, refund in _refund_rows(charge_id, listed):
        result = refund_result(refund)
        if result.status in ("succeeded", "failed"):
            done = refund_apply_result(
                refund=row,
                status=result.status,
                provider_refund_id=result.provider_refund_id,
                message=result.message,
                actor=SYSTEM,
                now=now,
            )
            settled.append(f"refund {done.pk} {done.get_status_display().lower()}")
    payment = payment_provider_refunded(
        provider=STRIPE, provider_charge_id=charge_id, amount_refunded=total, actor=SYSTEM, now=now
    )
    if payment is None and not settled:
        return _ignored("not a payment of ours")
    parts = [*settled]
    if payment is not None:
        refunded, paid = (round_money(m.amount, payment.currency) for m in (payment.amount_refunded, payment.amount))
        parts.append(f"{refunded} of {paid} refunded on invoice payment {payment.pk}")
    return _processed("; ".join(parts))


def _dispute_created(obj: Mapping[str, Any], created: int, now: dt.datetime) -> Outcome:
    from invoicing.services.refunds import payment_disputed

    amount = _amount(obj.get("amount"), obj.get("currency"))
    payment = payment_disputed(
        provider=STRIPE,
        provider_charge_id=_id_of(obj.get("charge")),
        amount=amount,
        reason=str(obj.get("reason") or ""),
        actor=SYSTEM,
        now=now,
    )
    if payment is None:
        return _ignored("not a payment of ours")
    return _processed(
        f"payment {payment.pk} disputed: {amount} {str(obj.get('currency')).upper()} ({obj.get('reason')})"
    )


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.requires_action": _payment_intent,
    "payment_intent.processing": _payment_intent,
    "setup_intent.succeeded": _setup_intent,
    "checkout.session.completed": _checkout_session,
    "payment_method.updated": _method_updated,
    "payment_method.automatically_updated": _method_updated,
    "payment_method.detached": _method_detached,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}
