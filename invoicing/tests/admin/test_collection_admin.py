"""Collection on the invoice and customer pages: charge now, the payments panel, payment methods."""

from __future__ import annotations

import pytest
from django.urls import reverse

from invoicing.models import AttemptStatus, DunningCase, InvoiceStatus, PaymentAttempt, PaymentMethod
from invoicing.services.invoices import invoice_finalize
from invoicing.services.payment_methods import payment_method_add
from invoicing.tests.admin import ACTOR, JAN_15, D, dutch_vat, make_customer, one_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice():
    dutch_vat()
    customer = make_customer("Dutch Shop B.V.", "billing@shop.example")
    draft = one_off(customer)
    return invoice_finalize(invoice=draft, actor=ACTOR, now=JAN_15)


def charge_url(invoice):
    return reverse("admin:invoicing_invoice_action", args=[invoice.pk, "charge"])


def card_url(op, pk):
    return reverse("admin:invoicing_customer_payment_method", args=[op, pk])


def test_finance_charges_an_open_invoice_and_sees_the_payment(client, finance_user, invoice):
    payment_method_add(customer=invoice.customer, token="tok_visa", actor=ACTOR, now=JAN_15)
    client.force_login(finance_user)
    page = client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk]))
    assert charge_url(invoice) in page.content.decode()

    response = client.post(charge_url(invoice), follow=True)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount) == (InvoiceStatus.PAID, D("242.00"))
    text = response.content.decode()
    assert "€242.00 was charged to Visa •••• 4242" in text
    assert 'data-testid="invoice-payments"' in text
    assert "Card / automatic" in text


def test_a_declined_charge_is_shown_and_dunning_starts(client, finance_user, invoice):
    payment_method_add(customer=invoice.customer, token="tok_insufficient_funds", actor=ACTOR, now=JAN_15)
    client.force_login(finance_user)

    response = client.post(charge_url(invoice), follow=True)

    text = response.content.decode()
    assert "The charge of €242.00 to Visa •••• 9995 (12/2030) failed: Your card has insufficient funds." in text
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert (attempt.status, attempt.decline_code, attempt.trigger) == (
        AttemptStatus.FAILED,
        "insufficient_funds",
        "staff",
    )
    assert DunningCase.objects.filter(invoice=invoice).exists()
    page = client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert "Dunning started" in page
    assert 'data-testid="invoice-dunning"' in page


def test_no_charge_button_without_a_payment_method_and_support_cannot_charge(
    client, finance_user, support_user, invoice
):
    client.force_login(finance_user)
    page = client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert charge_url(invoice) not in page
    payment_method_add(customer=invoice.customer, token="tok_visa", actor=ACTOR, now=JAN_15)
    client.force_login(support_user)

    assert client.post(charge_url(invoice)).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert PaymentAttempt.objects.count() == 0


def test_finance_adds_a_test_card_makes_another_default_and_removes_one(client, finance_user, invoice):
    customer = invoice.customer
    client.force_login(finance_user)
    page = client.get(reverse("admin:subscriptions_customer_change", args=[customer.pk])).content.decode()
    assert 'data-testid="customer-payment-methods"' in page
    assert "No payment method on file" in page

    client.post(card_url("add", customer.pk), {"token": "tok_mastercard", "make_default": "on"})
    client.post(card_url("add", customer.pk), {"token": "tok_visa", "make_default": ""})

    master, visa = PaymentMethod.objects.filter(customer=customer).order_by("pk")
    assert [(m.brand, m.last4, m.is_default) for m in (master, visa)] == [
        ("mastercard", "4444", True),
        ("visa", "4242", False),
    ]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN  # an invoice the customer pays by transfer is not charged

    client.post(card_url("default", visa.pk))
    client.post(card_url("remove", master.pk))

    master.refresh_from_db()
    visa.refresh_from_db()
    assert (master.status, master.is_default, visa.is_default) == ("detached", False, True)
    page = client.get(reverse("admin:subscriptions_customer_change", args=[customer.pk])).content.decode()
    assert "Visa •••• 4242" in page


def test_a_card_number_typed_as_a_test_card_is_refused_without_being_shown(client, finance_user, invoice):
    client.force_login(finance_user)

    response = client.post(card_url("add", invoice.customer.pk), {"token": "4242424242424242"})

    assert response.status_code == 200
    assert "4242424242424242" not in response.content.decode()
    assert PaymentMethod.objects.count() == 0
