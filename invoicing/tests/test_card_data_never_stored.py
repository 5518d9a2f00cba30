"""No card number, CVC or full bank account number is ever stored or logged.

A whole Stripe journey runs through the real SDK (HTTP stubbed) with a provider that, against its
habits, sends the full card number and CVC back; a webhook carries them too; someone types them into
the API and the admin. Afterwards every text of every row of every table, and everything logged,
is searched for the digits.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.urls import reverse

from invoicing.models import InvoiceStatus, Payment, PaymentMethod
from invoicing.services.collection import invoice_collect
from invoicing.services.invoices import invoice_finalize
from invoicing.services.payment_methods import payment_method_add
from invoicing.tests.factories import ACTOR, eu_rates, invoices_of
from invoicing.tests.gateways.stripe_stub import StripeStub, card_payment_method, payment_intent
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc

PAN = "4000056655665556"
CVC = "739"
IBAN = "DE89370400440532013000"
SECRETS = (PAN, PAN[:12], IBAN)
JAN15 = utc(2026, 1, 15)
WEBHOOK_SECRET = "whsec_test_secret"


def leaky_card() -> dict:
    """A payment method as a careless provider might send it: with everything a card has."""
    pm = card_payment_method("pm_card_1", brand="visa", last4=PAN[-4:], exp_month=12, exp_year=2030, customer="cus_1")
    pm["card"].update({"number": PAN, "cvc": CVC})
    pm["billing_details"] = {"name": "Jan de Vries", "iban": IBAN}
    return pm


def everything_stored() -> str:
    """Every value of every row of every table, as text."""
    texts = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            texts.append(json.dumps(row, default=str))
    return "\n".join(texts)


@pytest.mark.django_db
def test_card_and_bank_digits_are_never_stored_or_logged(
    monkeypatch, settings, caplog, client, api_client, finance_user
):
    caplog.set_level(logging.DEBUG)
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    stub = StripeStub().install(monkeypatch)
    stub.add("POST", "/v1/customers", {"id": "cus_1", "object": "customer"})
    stub.add("POST", "/v1/payment_methods/pm_card_1/attach", leaky_card())
    stub.add("POST", "/v1/customers/cus_1", {"id": "cus_1", "object": "customer"}, times=None)
    stub.add("GET", "/v1/payment_methods/pm_card_1", leaky_card(), times=None)
    stub.add(
        "POST", "/v1/payment_intents",
        payment_intent("pi_1", "succeeded", amount=3509, currency="eur", customer="cus_1",
                       payment_method="pm_card_1", latest_charge="ch_1"),
    )  # fmt: skip
    eu_rates()
    customer = make_customer(name="Jan de Vries")

    method = payment_method_add(customer=customer, token="pm_card_1", actor=ACTOR, now=JAN15)
    subscription = make_subscription(customer, plan_version=make_flat_plan("29.00"), now=JAN15)
    (invoice,) = invoices_of(subscription)
    invoice_finalize(invoice=invoice, actor=ACTOR, now=utc(2026, 1, 15, 1))
    invoice_collect(invoice=invoice, actor=ACTOR, now=utc(2026, 1, 15, 1), trigger="finalized")

    # A webhook with the digits in it.
    from invoicing.domain.signatures import stripe_signature_header

    event = {
        "id": "evt_1", "object": "event", "type": "payment_method.updated", "created": 1_800_000_000,
        "livemode": False, "data": {"object": leaky_card()},
    }  # fmt: skip
    payload = json.dumps(event).encode()
    header = stripe_signature_header(payload, WEBHOOK_SECRET, int(time.time()))
    assert (
        client.post(
            "/webhooks/stripe", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        ).status_code
        == 200
    )
    from invoicing.models import WebhookEvent
    from invoicing.services.webhooks import webhook_process

    webhook_process(event=WebhookEvent.objects.get(event_id="evt_1"), now=utc(2026, 1, 16))

    # Someone types them into the API and the admin.
    refused = api_client.post(
        f"/api/v1/customers/{customer.pk}/payment-methods",
        {"card_number": PAN, "cvc": CVC, "iban": IBAN},
        format="json",
    )
    assert refused.status_code == 400
    client.force_login(finance_user)
    form = client.post(reverse("admin:invoicing_customer_payment_method", args=["add", customer.pk]), {"token": PAN})

    invoice.refresh_from_db()
    method.refresh_from_db()
    assert (invoice.status, Payment.objects.get().amount.amount) == (InvoiceStatus.PAID, D("35.09"))
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "5556", 12, 2030)
    assert PaymentMethod.objects.count() == 1
    stored = everything_stored()
    logged = caplog.text
    for digits in SECRETS:
        assert digits not in stored
        assert digits not in logged
        assert digits not in refused.content.decode()
        assert digits not in form.content.decode()
    assert f'"cvc": "{CVC}"' not in stored
    assert "5556" in stored  # the last four digits are kept: the search would have found more
