"""Every webhook test runs at ``NOW`` with the signing secret set and the job queue captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_site import clock
from invoicing.models import Invoice, PaymentAttempt, PaymentMethod
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize
from invoicing.tests.factories import ACTOR, eu_rates
from invoicing.tests.webhooks import NOW, SECRET
from subscriptions.models import Customer
from subscriptions.tests.factories import make_customer, utc


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(NOW):
        yield NOW


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_WEBHOOK_TOLERANCE = 300
    return SECRET


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    """The jobs enqueued, as (function, args): nothing runs."""
    import django_q.tasks

    calls: list[tuple] = []
    monkeypatch.setattr(django_q.tasks, "async_task", lambda func, *args, **kwargs: calls.append((func, args)))
    return calls


@pytest.fixture
def customer(db) -> Customer:
    customer = make_customer(name="Globex B.V.", email="finance@globex.example")
    Customer.objects.filter(pk=customer.pk).update(stripe_id="cus_123")
    customer.refresh_from_db()
    return customer


@pytest.fixture
def invoice(customer) -> Invoice:
    """A finalized one-off invoice of 121.00 EUR (2 × 50.00 plus 21% VAT)."""
    eu_rates()
    draft = invoice_create_manual(
        customer=customer,
        lines=[{"description": "Consulting", "quantity": "2", "unit_amount": "50.00"}],
        actor=ACTOR,
        now=utc(2026, 2, 1),
    )
    return invoice_finalize(invoice=draft, actor=ACTOR, now=utc(2026, 2, 1, 1))


@pytest.fixture
def card(customer) -> PaymentMethod:
    return PaymentMethod.objects.create(
        customer=customer,
        provider="stripe",
        provider_id="pm_123",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
        is_default=True,
        created_at=utc(2026, 1, 5),
    )


@pytest.fixture
def attempt(invoice, card) -> PaymentAttempt:
    """Attempt 1 on the invoice, sent to Stripe (PaymentIntent pi_123) and waiting for its answer."""
    return PaymentAttempt.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        payment_method=card,
        provider="stripe",
        number=1,
        currency="EUR",
        amount=Decimal("121.00"),
        status="pending",
        trigger="finalized",
        idempotency_key=f"invoice-{invoice.pk}-attempt-1",
        provider_payment_id="pi_123",
        created_at=utc(2026, 2, 1, 1),
    )
