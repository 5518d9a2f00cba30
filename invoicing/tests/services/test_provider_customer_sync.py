"""A change to a customer's details reaches Stripe's copy of the customer."""

from __future__ import annotations

import pytest

from invoicing.tests.factories import ACTOR
from invoicing.tests.gateways.stripe_stub import StripeStub
from invoicing.tests.jobs import jobs_run_inline
from subscriptions.models import Customer
from subscriptions.services.customers import customer_update
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db


def test_a_renamed_stripe_customer_is_renamed_at_stripe(monkeypatch, django_capture_on_commit_callbacks, settings):
    settings.PAYMENT_GATEWAY = "stripe"
    stub = StripeStub().install(monkeypatch)
    stub.add("POST", "/v1/customers/cus_42", {"id": "cus_42", "object": "customer"})
    customer = make_customer(name="Old Name B.V.")
    Customer.objects.filter(pk=customer.pk).update(stripe_id="cus_42")
    other = make_customer(name="Not at Stripe B.V.")

    with jobs_run_inline(monkeypatch, django_capture_on_commit_callbacks) as ran:
        customer_update(customer=customer, actor=ACTOR, now=utc(2026, 1, 20), name="New Name B.V.")
        customer_update(customer=other, actor=ACTOR, now=utc(2026, 1, 20), name="Still not at Stripe B.V.")

    assert ran == ["invoicing.tasks.provider_customer_sync_task"]
    assert (stub.last.method, stub.last.path, stub.last.form["name"]) == (
        "POST",
        "/v1/customers/cus_42",
        "New Name B.V.",
    )
    stub.assert_all_used()
