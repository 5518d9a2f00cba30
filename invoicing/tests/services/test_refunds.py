"""A credit note's refund goes back through the provider that took the money, once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from invoicing.models import PaymentStatus, Refund, RefundStatus
from invoicing.services.collection import invoice_collect, payment_record
from invoicing.services.credit_notes import credit_note_create
from invoicing.services.refunds import payment_disputed, payment_provider_refunded, refund_execute
from invoicing.tests.factories import ACTOR
from invoicing.tests.services.test_collection import LATER, open_invoice
from subscriptions.tests.factories import utc

pytestmark = pytest.mark.django_db
LATER_STILL = utc(2026, 1, 20)


def paid_by_card():
    invoice = open_invoice()
    invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized")
    invoice.refresh_from_db()
    return invoice


def refund_of(invoice, amount):
    line = invoice.lines.get()
    return credit_note_create(
        invoice=invoice, lines=[{"invoice_line": line.pk, "amount": "10.00", "description": "Outage"}],
        reason="goodwill", actor=ACTOR, now=LATER_STILL, refund_amount=amount,
    )  # fmt: skip


def test_a_credit_note_refund_goes_to_the_card_once():
    invoice = paid_by_card()
    note = refund_of(invoice, "12.10")

    refund_execute(credit_note=note, actor=ACTOR, now=LATER_STILL)
    refund_execute(credit_note=note, actor=ACTOR, now=LATER_STILL)  # a retried job

    (refund,) = Refund.objects.filter(credit_note=note)
    assert (refund.status, refund.amount.amount, refund.idempotency_key) == (
        RefundStatus.SUCCEEDED, D("12.10"), f"credit-note-{note.pk}-payment-{refund.payment_id}",
    )  # fmt: skip
    payment = refund.payment
    payment.refresh_from_db()
    assert (payment.amount_refunded.amount, payment.status) == (D("12.10"), PaymentStatus.PARTIALLY_REFUNDED)

    # The provider reports the same refund in its total: not counted twice.
    payment_provider_refunded(
        provider=payment.provider, provider_charge_id=payment.provider_charge_id, amount_refunded=D("12.10"),
        actor=ACTOR, now=LATER_STILL,
    )  # fmt: skip
    payment.refresh_from_db()
    assert payment.amount_refunded.amount == D("12.10")


def test_the_providers_total_first_then_our_refund_counts_once():
    invoice = paid_by_card()
    payment = invoice.payments.get()
    note = refund_of(invoice, "12.10")
    payment_provider_refunded(
        provider=payment.provider, provider_charge_id=payment.provider_charge_id, amount_refunded=D("12.10"),
        actor=ACTOR, now=LATER_STILL,
    )  # fmt: skip

    refund_execute(credit_note=note, actor=ACTOR, now=LATER_STILL)

    payment.refresh_from_db()
    assert payment.amount_refunded.amount == D("12.10")


def test_money_that_came_by_transfer_is_paid_back_by_hand():
    invoice = open_invoice(token=None)
    payment_record(invoice=invoice, amount=D("35.09"), actor=ACTOR, now=LATER, reference="RF")
    invoice.refresh_from_db()
    note = refund_of(invoice, "12.10")

    assert refund_execute(credit_note=note, actor=ACTOR, now=LATER_STILL) == []

    (refund,) = Refund.objects.filter(credit_note=note)
    assert (refund.status, refund.provider, refund.amount.amount) == (RefundStatus.MANUAL, "manual", D("12.10"))


def test_a_dispute_is_recorded_once():
    invoice = paid_by_card()
    payment = invoice.payments.get()

    for _ in range(2):
        payment_disputed(
            provider=payment.provider, provider_charge_id=payment.provider_charge_id, amount=D("35.09"),
            reason="fraudulent", actor=ACTOR, now=LATER_STILL,
        )  # fmt: skip

    payment.refresh_from_db()
    assert (payment.status, payment.disputed_at) == (PaymentStatus.DISPUTED, LATER_STILL)
    assert [e.action for e in invoice_events(invoice) if e.action == "payment.disputed"] == ["payment.disputed"]


def invoice_events(invoice):
    from billing_site.models import AuditEvent

    return AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(invoice.pk)).order_by("id")
