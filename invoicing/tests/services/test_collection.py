"""Collecting an invoice: credit before charging, one attempt in flight, lost answers asked again with
the same idempotency key, and refusals that change nothing."""

from __future__ import annotations

import threading
import time
from decimal import Decimal as D

import pytest
from django.db import connection

from billing_site.errors import DomainError
from invoicing.gateways import ChargeResult, GatewayError
from invoicing.gateways.simulated import SimulatedGateway
from invoicing.models import (
    AttemptStatus,
    BalanceKind,
    BalanceTransaction,
    DunningCase,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
)
from invoicing.services.collection import attempt_apply_result, invoice_collect
from invoicing.services.dunning import collection_run
from invoicing.services.payment_methods import payment_method_add
from invoicing.tests.factories import ACTOR, eu_rates, invoices_of
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc

JAN15 = utc(2026, 1, 15)
LATER = utc(2026, 1, 15, 1)


def open_invoice(token="tok_visa", **customer_fields):  # noqa: S107 - a test card name
    """A live customer's first invoice, finalized and open (its charge job not run yet)."""
    eu_rates()
    customer = make_customer(**customer_fields)
    if token:
        payment_method_add(customer=customer, token=token, actor=ACTOR, now=JAN15)
    subscription = make_subscription(customer, plan_version=make_flat_plan("29.00"), now=JAN15)
    (invoice,) = invoices_of(subscription)
    from invoicing.services.invoices import invoice_finalize

    invoice_finalize(invoice=invoice, actor=ACTOR, now=LATER)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount) == (InvoiceStatus.OPEN, D("35.09"))
    return invoice


@pytest.mark.django_db
def test_account_credit_is_used_before_the_card_is_charged():
    invoice = open_invoice()
    BalanceTransaction.objects.create(
        customer=invoice.customer, kind=BalanceKind.ADJUSTMENT, currency="EUR", amount=D("10.00"),
        description="Goodwill", created_at=JAN15,
    )  # fmt: skip

    attempt = invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized")

    invoice.refresh_from_db()
    assert attempt.amount.amount == D("25.09")
    assert (invoice.status, invoice.credit_applied.amount, invoice.amount_paid.amount, invoice.amount_due.amount) == (
        InvoiceStatus.PAID, D("10.00"), D("25.09"), D("0.00"),
    )  # fmt: skip
    assert [(p.amount.amount, p.kind) for p in Payment.objects.filter(invoice=invoice)] == [(D("25.09"), "card")]


@pytest.mark.django_db
def test_credit_that_covers_everything_charges_nothing():
    invoice = open_invoice()
    BalanceTransaction.objects.create(
        customer=invoice.customer, kind=BalanceKind.ADJUSTMENT, currency="EUR", amount=D("50.00"),
        description="Goodwill", created_at=JAN15,
    )  # fmt: skip

    assert invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized") is None

    invoice.refresh_from_db()
    assert (invoice.status, invoice.credit_applied.amount) == (InvoiceStatus.PAID, D("35.09"))
    assert PaymentAttempt.objects.count() == 0


@pytest.mark.django_db
def test_an_attempt_in_flight_blocks_a_second_one_and_a_lost_answer_is_asked_again_with_the_same_key(monkeypatch):
    invoice = open_invoice()
    keys: list[str] = []
    real_charge = SimulatedGateway.charge

    def timeout(self, *, attempt, request):
        keys.append(request.idempotency_key)
        raise GatewayError("provider_unavailable", "The provider did not answer.", retryable=True)

    monkeypatch.setattr(SimulatedGateway, "charge", timeout)
    first = invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized")
    assert first.status == AttemptStatus.PENDING
    with pytest.raises(DomainError) as refused:
        invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="staff")
    assert refused.value.code == "payment_in_progress"
    assert invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized") is None

    def answer(self, *, attempt, request):
        keys.append(request.idempotency_key)
        return real_charge(self, attempt=attempt, request=request)

    monkeypatch.setattr(SimulatedGateway, "charge", answer)
    collection_run(now=utc(2026, 1, 15, 1, 5), actor=ACTOR)  # not lost yet: 5 minutes
    assert PaymentAttempt.objects.get().status == AttemptStatus.PENDING
    collection_run(now=utc(2026, 1, 15, 1, 11), actor=ACTOR)

    assert keys == [f"invoice-{invoice.pk}-attempt-1"] * 2
    assert [(a.number, a.status) for a in PaymentAttempt.objects.all()] == [(1, AttemptStatus.SUCCEEDED)]
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


@pytest.mark.django_db
def test_an_answer_applied_twice_records_one_payment():
    invoice = open_invoice()
    attempt = invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized")
    again = ChargeResult("succeeded", attempt.provider_payment_id, attempt.provider_charge_id)

    attempt_apply_result(attempt=attempt, result=again, actor=ACTOR, now=LATER)
    attempt_apply_result(attempt=attempt, result=ChargeResult("failed", decline_code="x"), actor=ACTOR, now=LATER)

    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert DunningCase.objects.count() == 0


@pytest.mark.django_db
def test_refusals_say_why_and_change_nothing():
    invoice = open_invoice(token=None)
    with pytest.raises(DomainError) as no_method:
        invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="staff")
    assert no_method.value.code == "no_payment_method"
    assert "has no payment method on file" in no_method.value.message
    assert (PaymentAttempt.objects.count(), DunningCase.objects.count()) == (0, 0)

    # Automatic collection without a method opens dunning and asks for one instead.
    assert invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized") is None
    case = DunningCase.objects.get()
    assert (case.needs_payment_method, case.last_decline_code) == (True, "payment_method_missing")

    payment_method_add(customer=invoice.customer, token="tok_visa", actor=ACTOR, now=utc(2026, 1, 16))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    with pytest.raises(DomainError) as paid:
        invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="staff")
    assert paid.value.code == "invoice_not_collectable"


@pytest.mark.django_db
def test_an_unknown_test_card_is_refused():
    customer = make_customer()
    with pytest.raises(DomainError) as refused:
        payment_method_add(customer=customer, token="4242424242424242", actor=ACTOR, now=JAN15)
    assert refused.value.code == "unknown_test_card"
    assert "4242424242424242" not in refused.value.message
    assert customer.payment_methods.count() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_collecting_one_invoice_charge_it_once(monkeypatch):
    invoice = open_invoice()
    calls: list[str] = []
    real_charge = SimulatedGateway.charge

    def slow(self, *, attempt, request):
        calls.append(request.idempotency_key)
        time.sleep(0.5)  # the second worker arrives while the provider is on the line
        return real_charge(self, attempt=attempt, request=request)

    monkeypatch.setattr(SimulatedGateway, "charge", slow)
    start = threading.Barrier(2)
    results: list[object] = []
    errors: list[Exception] = []

    def work():
        try:
            start.wait(10)
            results.append(invoice_collect(invoice=invoice, actor=ACTOR, now=LATER, trigger="finalized"))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert calls == [f"invoice-{invoice.pk}-attempt-1"]
    assert sorted(r is None for r in results) == [False, True]
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount) == (InvoiceStatus.PAID, D("35.09"))
