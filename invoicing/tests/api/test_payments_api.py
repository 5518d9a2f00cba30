"""The collection API: payment methods, the provider's card page, payments, attempts, charging now, dunning.

Card data never gets in: a body with card fields is refused before anything else reads it, and the
values are neither echoed nor logged.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from billing_site.models import AuditEvent
from billing_site.services.audit import snapshot
from invoicing.gateways import GatewayError, SetupSession
from invoicing.gateways.simulated import SimulatedGateway
from invoicing.models import (
    BalanceTransaction,
    DunningCase,
    Invoice,
    Payment,
    PaymentAttempt,
    PaymentMethod,
)
from invoicing.services.collection import payment_record
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize
from invoicing.services.payment_methods import payment_method_add, payment_method_detach
from subscriptions.tests.factories import ACTOR, make_customer, utc

pytestmark = pytest.mark.django_db

JAN_15 = utc(2026, 1, 15, 9, 30)
D = Decimal
CARD_NUMBER = "4242424242424242"
CARD_MESSAGE = "Card details are entered on the payment provider's page, never sent to this API."


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def finalized(customer) -> Invoice:
    """An open invoice of 100.00 + 21% VAT = 121.00, paid by the customer (not charged by itself)."""
    draft = invoice_create_manual(
        customer=customer,
        lines=[{"description": "Workshop", "quantity": D(2), "unit_amount": D("50.00")}],
        actor=ACTOR,
        now=JAN_15,
    )
    return invoice_finalize(invoice=draft, actor=ACTOR, now=JAN_15)


def card(customer, token: str = "tok_visa", **kwargs: Any) -> PaymentMethod:  # noqa: S107 - a test card name
    return payment_method_add(customer=customer, token=token, actor=ACTOR, now=JAN_15, **kwargs)


def state() -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    return {
        "methods": [snapshot(method) for method in PaymentMethod.objects.order_by("pk")],
        "invoices": [snapshot(invoice) for invoice in Invoice.objects.order_by("pk")],
        "payments": Payment.objects.count(),
        "attempts": PaymentAttempt.objects.count(),
        "dunning": DunningCase.objects.count(),
        "balance": BalanceTransaction.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- payment methods -------------------------------------------------------------------------------


def test_add_a_payment_method_answers_the_reference_only(api_client, customer):
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/payment-methods", {"token": "tok_visa", "make_default": True}, format="json"
    )

    assert response.status_code == 201, response.json()
    method = PaymentMethod.objects.get()
    assert response.json() == {
        "id": method.pk,
        "customer": customer.pk,
        "provider": "simulated",
        "kind": "card",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "is_default": True,
        "status": "active",
        "created_at": "2026-01-15T09:30:00Z",
        "detached_at": None,
    }
    assert method.provider_id.startswith("sim:tok_visa:")
    assert method.provider_id not in response.content.decode()
    assert AuditEvent.objects.get(action="payment_method.added").actor_kind == "api_key"


def test_a_second_method_need_not_become_the_default(api_client, customer):
    first = card(customer)

    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/payment-methods",
        {"token": "tok_mastercard", "make_default": False},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["brand"], response.json()["last4"], response.json()["is_default"]) == (
        "mastercard",
        "4444",
        False,
    )
    assert PaymentMethod.objects.get(is_default=True) == first


def test_list_a_customers_payment_methods_paged_and_filtered_by_status(read_only_client, customer):
    visa = card(customer)
    mastercard = card(customer, "tok_mastercard")
    removed = card(customer, "tok_insufficient_funds", make_default=False)
    payment_method_detach(method=removed, actor=ACTOR, now=JAN_15)
    card(make_customer(), "tok_visa")  # someone else's
    url = f"/api/v1/customers/{customer.pk}/payment-methods"

    first = read_only_client.get(url, {"limit": 2})
    second = read_only_client.get(first.json()["next"])
    active = read_only_client.get(url, {"status": "active"})

    assert ids(first) == [visa.pk, mastercard.pk]
    assert ids(second) == [removed.pk]
    assert [(row["last4"], row["is_default"], row["status"]) for row in first.json()["results"]] == [
        ("4242", False, "active"),
        ("4444", True, "active"),
    ]
    assert second.json()["results"][0]["status"] == "detached"
    assert ids(active) == [visa.pk, mastercard.pk]


def test_a_bad_status_filter_is_a_400(api_client, customer):
    response = api_client.get(f"/api/v1/customers/{customer.pk}/payment-methods", {"status": "gone"})

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["status"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"token": "tok_nonsense"}, "unknown_test_card", "token"),
        ({"token": ""}, "invalid", "token"),
        ({}, "invalid", "token"),
        ({"token": "tok_visa", "make_default": "maybe"}, "invalid", "make_default"),
        ({"token": "tok_visa", "brand": "visa"}, "invalid", "brand"),
    ],
)
def test_a_refused_payment_method_changes_nothing(api_client, customer, body, code, field):
    before = state()

    response = api_client.post(f"/api/v1/customers/{customer.pk}/payment-methods", body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert state() == before


def test_without_a_card_gateway_no_method_can_be_added(api_client, customer, settings):
    settings.PAYMENT_GATEWAY = "manual"
    before = state()

    response = api_client.post(f"/api/v1/customers/{customer.pk}/payment-methods", {"token": "tok_visa"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "payment_methods_unavailable"
    assert state() == before


def test_make_another_method_the_default(api_client, customer):
    visa = card(customer)
    mastercard = card(customer, "tok_mastercard", make_default=False)

    response = api_client.post(f"/api/v1/payment-methods/{mastercard.pk}/default", format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["is_default"]) == (mastercard.pk, True)
    assert list(PaymentMethod.objects.filter(is_default=True)) == [mastercard]
    visa.refresh_from_db()
    assert visa.is_default is False
    assert AuditEvent.objects.get(action="payment_method.default").actor_kind == "api_key"


def test_a_removed_method_cannot_be_the_default(api_client, customer):
    method = card(customer)
    payment_method_detach(method=method, actor=ACTOR, now=JAN_15)
    before = state()

    response = api_client.post(f"/api/v1/payment-methods/{method.pk}/default")

    assert response.status_code == 400
    assert error_of(response)["code"] == "payment_method_removed"
    assert state() == before


def test_get_and_remove_a_payment_method(api_client, customer):
    method = card(customer)

    got = api_client.get(f"/api/v1/payment-methods/{method.pk}")
    removed = api_client.delete(f"/api/v1/payment-methods/{method.pk}")
    again = api_client.delete(f"/api/v1/payment-methods/{method.pk}/")

    assert got.status_code == 200, got.json()
    assert (got.json()["status"], got.json()["is_default"]) == ("active", True)
    assert removed.status_code == 200, removed.json()
    assert (removed.json()["id"], removed.json()["status"], removed.json()["is_default"]) == (
        method.pk,
        "detached",
        False,
    )
    assert removed.json()["detached_at"] == "2026-01-15T09:30:00Z"
    assert again.status_code == 200
    assert again.json() == removed.json()
    assert AuditEvent.objects.filter(action="payment_method.removed").count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/customers/999999/payment-methods"),
        ("post", "/api/v1/customers/999999/payment-methods"),
        ("post", "/api/v1/customers/999999/payment-method-setup"),
        ("get", "/api/v1/payment-methods/999999"),
        ("delete", "/api/v1/payment-methods/999999"),
        ("post", "/api/v1/payment-methods/999999/default"),
        ("get", "/api/v1/payments/999999"),
        ("get", "/api/v1/invoices/999999/payment-attempts"),
        ("post", "/api/v1/invoices/999999/pay"),
        ("get", "/api/v1/invoices/999999/dunning"),
    ],
)
def test_unknown_ids_are_a_404(api_client, method, url):
    body = {"token": "tok_visa"} if url.endswith("payment-methods") else None

    response = getattr(api_client, method)(url, body, format="json")

    assert response.status_code == 404, response.json()
    assert error_of(response)["code"] == "not_found"


# --- card data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"token": "tok_visa", "card_number": CARD_NUMBER},
        {"number": CARD_NUMBER, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        {"token": "tok_visa", "card": {"details": [{"cardNumber": CARD_NUMBER}]}},
        {"token": "tok_visa", "CVV": "123"},
        {"token": CARD_NUMBER},
        {"token": "4242 4242 4242 4242"},
        {"token": "4242-4242-4242-4242 12/30 123"},
    ],
)
def test_card_data_is_refused_without_being_echoed_or_logged(api_client, customer, body, caplog):
    before = state()
    caplog.set_level(logging.DEBUG)

    response = api_client.post(f"/api/v1/customers/{customer.pk}/payment-methods", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "card_data_refused", "message": CARD_MESSAGE, "fields": {}}}
    assert "4242" not in caplog.text
    assert state() == before


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/payments", {"invoice": 1, "amount": "1.00", "card_number": CARD_NUMBER}),
        ("/api/v1/invoices/{invoice}/pay", {"card": {"number": CARD_NUMBER, "cvc": "123"}}),
        ("/api/v1/customers/{customer}/payment-method-setup", {"success_url": "https://a.example", "cvv": "123"}),
        ("/api/v1/payment-methods/{method}/default", {"number": CARD_NUMBER}),
    ],
)
def test_every_write_refuses_card_data(api_client, customer, url, body, caplog):
    invoice = finalized(customer)
    method = card(customer, "tok_mastercard", make_default=False)
    before = state()
    caplog.set_level(logging.DEBUG)

    response = api_client.post(
        url.format(invoice=invoice.pk, customer=customer.pk, method=method.pk), body, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "card_data_refused"
    assert CARD_NUMBER not in response.content.decode() + caplog.text
    assert state() == before


# --- the provider's card page ----------------------------------------------------------------------


def test_the_simulated_provider_has_no_card_page(api_client, customer):
    before = state()

    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/payment-method-setup",
        {"success_url": "https://crm.example.com/done", "cancel_url": "https://crm.example.com/cancel"},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "setup_not_available"
    assert state() == before


def test_the_setup_page_answers_where_to_send_the_customer(api_client, customer, monkeypatch):
    asked: list[tuple[str, str]] = []

    def setup_session(self, *, customer, success_url, cancel_url):
        asked.append((success_url, cancel_url))
        return SetupSession("https://checkout.stripe.com/c/pay/cs_test_a1", "cs_test_a1", utc(2026, 1, 16, 9, 30))

    monkeypatch.setattr(SimulatedGateway, "setup_session", setup_session)

    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/payment-method-setup",
        {"success_url": "https://crm.example.com/done?s={CHECKOUT_SESSION_ID}", "cancel_url": "http://localhost/x"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": "cs_test_a1",
        "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
        "expires_at": "2026-01-16T09:30:00Z",
    }
    assert asked == [("https://crm.example.com/done?s={CHECKOUT_SESSION_ID}", "http://localhost/x")]
    assert AuditEvent.objects.get(action="payment_method.setup_started").after == {"session": "cs_test_a1"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"success_url": "ftp://crm.example.com/done", "cancel_url": "https://crm.example.com"}, ["success_url"]),
        ({"success_url": "https://crm.example.com", "cancel_url": "javascript:alert(1)"}, ["cancel_url"]),
        ({"success_url": "crm.example.com/done", "cancel_url": "not a url"}, ["success_url", "cancel_url"]),
        ({"success_url": "https://crm.example.com"}, ["cancel_url"]),
    ],
)
def test_setup_urls_must_be_web_addresses(api_client, customer, body, fields):
    before = state()

    response = api_client.post(f"/api/v1/customers/{customer.pk}/payment-method-setup", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], sorted(error["fields"])) == ("invalid", sorted(fields))
    assert state() == before


# --- payments --------------------------------------------------------------------------------------


def test_record_a_bank_transfer_in_part_then_in_full(api_client, customer):
    invoice = finalized(customer)

    first = api_client.post(
        "/api/v1/payments",
        {"invoice": invoice.pk, "amount": "79.50", "reference": "TRF 2026-0042", "note": "First half"},
        format="json",
    )
    invoice.refresh_from_db()
    after_first = (invoice.status, invoice.amount_due.amount, invoice.amount_paid.amount)
    second = api_client.post(
        "/api/v1/payments",
        {"invoice": invoice.pk, "amount": "41.50", "received_at": "2026-01-14T16:00:00+01:00", "kind": "manual"},
        format="json",
    )

    assert first.status_code == 201, first.json()
    payment = Payment.objects.get(reference="TRF 2026-0042")
    assert first.json() == {
        "id": payment.pk,
        "customer": customer.pk,
        "invoice": {"id": invoice.pk, "number": "INV-2026-00001"},
        "amount": money("79.50"),
        "amount_refunded": money("0.00"),
        "kind": "bank_transfer",
        "provider": "manual",
        "status": "succeeded",
        "reference": "TRF 2026-0042",
        "note": "First half",
        "received_at": "2026-01-15T09:30:00Z",
        "created_at": "2026-01-15T09:30:00Z",
    }
    assert after_first == ("open", D("41.50"), D("79.50"))
    assert second.status_code == 201, second.json()
    assert (second.json()["kind"], second.json()["amount"], second.json()["received_at"]) == (
        "manual",
        money("41.50"),
        "2026-01-14T15:00:00Z",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount, invoice.amount_paid.amount) == ("paid", D("0.00"), D("121.00"))
    assert sorted(p.amount.amount for p in Payment.objects.filter(invoice=invoice)) == [D("41.50"), D("79.50")]
    assert Payment.objects.get(pk=payment.pk).recorded_by.startswith("API key “CRM”")


def test_a_json_number_is_read_as_an_exact_decimal(api_client, customer):
    invoice = finalized(customer)

    response = api_client.post(
        "/api/v1/payments", f'{{"invoice": {invoice.pk}, "amount": 12.5}}', content_type="application/json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == money("12.50")
    assert Payment.objects.get().amount.amount == D("12.50")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0.30000000000000004", "invalid"),  # what 0.1 + 0.2 gives as a float
        ("12,50", "invalid"),
        ("-5.00", "invalid"),
        ("ten", "invalid"),
        ("10.005", "invalid_amount"),
        ("0", "invalid_amount"),
        ("121.01", "overpayment"),
    ],
)
def test_a_refused_payment_changes_nothing(api_client, customer, amount, code):
    invoice = finalized(customer)
    before = state()

    response = api_client.post("/api/v1/payments", {"invoice": invoice.pk, "amount": amount}, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert "amount" in error["fields"], error
    assert state() == before


def test_a_float_artefact_sent_as_a_json_number_is_refused(api_client, customer):
    invoice = finalized(customer)
    before = state()

    response = api_client.post(
        "/api/v1/payments",
        f'{{"invoice": {invoice.pk}, "amount": 0.30000000000000004}}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["amount"]
    assert state() == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"invoice": 999999, "amount": "1.00"}, "invalid", "invoice"),
        ({"invoice": "INV-2026-00001", "amount": "1.00"}, "invalid", "invoice"),
        ({"amount": "1.00"}, "invalid", "invoice"),
        ({"invoice": "{invoice}", "amount": "1.00", "kind": "card"}, "invalid", "kind"),
        ({"invoice": "{invoice}", "amount": "1.00", "received_at": "yesterday"}, "invalid", "received_at"),
        ({"invoice": "{invoice}", "amount": "1.00", "method": "cash"}, "invalid", "method"),
    ],
)
def test_bad_payment_input_changes_nothing(api_client, customer, body, code, field):
    invoice = finalized(customer)
    body = {key: invoice.pk if value == "{invoice}" else value for key, value in body.items()}
    before = state()

    response = api_client.post("/api/v1/payments", body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == (code, [field])
    assert state() == before


def test_a_draft_or_paid_invoice_takes_no_payment(api_client, customer):
    draft = invoice_create_manual(
        customer=customer, lines=[{"description": "X", "unit_amount": D("10.00")}], actor=ACTOR, now=JAN_15
    )
    paid = finalized(customer)
    payment_record(invoice=paid, amount=D("121.00"), actor=ACTOR, now=JAN_15)
    before = state()

    for invoice in (draft, paid):
        response = api_client.post("/api/v1/payments", {"invoice": invoice.pk, "amount": "1.00"}, format="json")
        assert response.status_code == 400
        assert error_of(response)["code"] == "invoice_not_collectable"
    assert state() == before


def test_list_payments_paged_and_filtered(read_only_client, customer):
    invoice = finalized(customer)
    other_invoice = finalized(make_customer())
    early = payment_record(
        invoice=invoice, amount=D("20.00"), actor=ACTOR, now=JAN_15, received_at=utc(2026, 1, 10), kind="bank_transfer"
    )
    late = payment_record(invoice=invoice, amount=D("30.00"), actor=ACTOR, now=JAN_15, kind="manual")
    other = payment_record(invoice=other_invoice, amount=D("121.00"), actor=ACTOR, now=JAN_15, kind="bank_transfer")

    first = read_only_client.get("/api/v1/payments", {"limit": 2})
    second = read_only_client.get(first.json()["next"])

    assert ids(first) == [early.pk, late.pk]
    assert ids(second) == [other.pk]
    assert ids(read_only_client.get("/api/v1/payments", {"customer": customer.pk})) == [early.pk, late.pk]
    assert ids(read_only_client.get("/api/v1/payments", {"invoice": other_invoice.pk})) == [other.pk]
    assert ids(read_only_client.get("/api/v1/payments", {"kind": "manual"})) == [late.pk]
    assert ids(read_only_client.get("/api/v1/payments", {"status": "succeeded"})) == [early.pk, late.pk, other.pk]
    assert ids(read_only_client.get("/api/v1/payments", {"status": "refunded"})) == []
    since = read_only_client.get("/api/v1/payments", {"received_since": "2026-01-12T00:00:00Z"})
    assert ids(since) == [late.pk, other.pk]
    detail = read_only_client.get(f"/api/v1/payments/{early.pk}")
    assert detail.status_code == 200
    assert (detail.json()["amount"], detail.json()["received_at"]) == (money("20.00"), "2026-01-10T00:00:00Z")


@pytest.mark.parametrize(
    "query",
    [
        {"customer": "abc"},
        {"invoice": "0"},
        {"kind": "cash"},
        {"status": "paid"},
        {"received_since": "2026-01-12"},
        {"received_since": "2026-01-12T00:00:00"},
    ],
)
def test_bad_payment_filters_are_a_400(api_client, query):
    response = api_client.get("/api/v1/payments", query)

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == list(query)


# --- charging now, attempts and dunning ------------------------------------------------------------


def test_pay_with_a_good_card_pays_the_invoice(api_client, customer):
    method = card(customer)
    invoice = finalized(customer)

    response = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")

    assert response.status_code == 200, response.json()
    attempt = PaymentAttempt.objects.get()
    assert response.json() == {
        "attempt": {
            "id": attempt.pk,
            "invoice": {"id": invoice.pk, "number": "INV-2026-00001"},
            "number": 1,
            "status": "succeeded",
            "amount": money("121.00"),
            "payment_method": method.pk,
            "provider": "simulated",
            "trigger": "staff",
            "failure_code": "",
            "decline_code": "",
            "decline_type": "",
            "failure_message": "",
            "provider_payment_id": attempt.provider_payment_id,
            "action_url": "",
            "created_at": "2026-01-15T09:30:00Z",
            "completed_at": "2026-01-15T09:30:00Z",
        },
        "invoice": {
            "id": invoice.pk,
            "number": "INV-2026-00001",
            "status": "paid",
            "amount_due": money("0.00"),
            "amount_paid": money("121.00"),
        },
    }
    assert attempt.provider_payment_id.startswith("sim_pi_")
    payment = Payment.objects.get()
    assert (payment.invoice_id, payment.amount.amount, payment.kind, payment.attempt_id) == (
        invoice.pk,
        D("121.00"),
        "card",
        attempt.pk,
    )
    assert DunningCase.objects.count() == 0


def test_pay_with_a_declined_card_answers_the_failed_attempt_and_dunning_starts(api_client, customer):
    card(customer, "tok_insufficient_funds")
    invoice = finalized(customer)

    response = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay/")

    assert response.status_code == 200, response.json()
    attempt, state_after = response.json()["attempt"], response.json()["invoice"]
    assert (attempt["status"], attempt["decline_code"], attempt["decline_type"], attempt["failure_code"]) == (
        "failed",
        "insufficient_funds",
        "soft",
        "card_declined",
    )
    assert (attempt["failure_message"], attempt["amount"], attempt["completed_at"]) == (
        "Your card has insufficient funds.",
        money("121.00"),
        "2026-01-15T09:30:00Z",
    )
    assert (state_after["status"], state_after["amount_due"]) == ("open", money("121.00"))
    assert Payment.objects.count() == 0
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.last_decline_code, case.needs_payment_method) == ("active", "insufficient_funds", False)


def test_get_the_dunning_case_with_exact_values(api_client, read_only_client, customer):
    card(customer, "tok_insufficient_funds")
    invoice = finalized(customer)
    api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")
    case = DunningCase.objects.select_related("policy").get()
    first_retry = case.policy.retry_days[0]

    response = read_only_client.get(f"/api/v1/invoices/{invoice.pk}/dunning")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": case.pk,
        "invoice": {"id": invoice.pk, "number": "INV-2026-00001"},
        "customer": customer.pk,
        "status": "active",
        "policy": {"id": case.policy_id, "name": case.policy.name},
        "started_at": "2026-01-15T09:30:00Z",
        "step": 0,
        "next_step_at": f"2026-01-{15 + first_retry}T09:30:00Z",
        "needs_payment_method": False,
        "last_decline_code": "insufficient_funds",
        "amount_at_risk": money("121.00"),
        "amount_recovered": money("0.00"),
        "suspend_at": None,
        "access_suspended_at": None,
        "final_action_taken": "",
        "ended_at": None,
    }


@pytest.mark.django_db(transaction=True)
def test_the_provider_is_called_outside_any_transaction(api_client, customer, monkeypatch):
    """No row stays locked while the provider is on the line, and its answer is not rolled back with the request."""
    card(customer)
    invoice = finalized(customer)
    in_transaction: list[bool] = []
    real_charge = SimulatedGateway.charge

    def charge(self, *, attempt, request):
        in_transaction.append(connection.in_atomic_block)
        return real_charge(self, attempt=attempt, request=request)

    monkeypatch.setattr(SimulatedGateway, "charge", charge)

    response = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")

    assert response.status_code == 200, response.json()
    assert in_transaction == [False]
    assert Payment.objects.get().amount.amount == D("121.00")


def test_a_new_default_card_recovers_the_invoice_and_the_attempts_tell_the_story(api_client, customer):
    card(customer, "tok_insufficient_funds")
    invoice = finalized(customer)
    api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")

    added = api_client.post(f"/api/v1/customers/{customer.pk}/payment-methods", {"token": "tok_visa"}, format="json")
    attempts = api_client.get(f"/api/v1/invoices/{invoice.pk}/payment-attempts")
    dunning = api_client.get(f"/api/v1/invoices/{invoice.pk}/dunning")

    assert added.status_code == 201, added.json()
    assert attempts.status_code == 200, attempts.json()
    assert [
        (row["number"], row["status"], row["trigger"], row["decline_code"], row["amount"])
        for row in attempts.json()["results"]
    ] == [
        (1, "failed", "staff", "insufficient_funds", money("121.00")),
        (2, "succeeded", "payment_method_updated", "", money("121.00")),
    ]
    assert (dunning.json()["status"], dunning.json()["amount_recovered"]) == ("recovered", money("121.00"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount) == ("paid", D("121.00"))


def test_a_payment_waiting_for_authentication_blocks_a_second_charge(api_client, customer):
    card(customer, "tok_requires_authentication")
    invoice = finalized(customer)

    first = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")
    before = state()
    second = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")

    assert first.status_code == 200, first.json()
    attempt = first.json()["attempt"]
    assert (attempt["status"], attempt["failure_code"]) == ("requires_action", "authentication_required")
    assert attempt["action_url"]
    assert second.status_code == 400
    error = error_of(second)
    assert error["code"] == "payment_in_progress"
    assert "INV-2026-00001" in error["message"]
    assert state() == before


def test_a_charge_the_provider_has_not_answered_is_pending(api_client, customer, monkeypatch):
    card(customer)
    invoice = finalized(customer)

    def timeout(self, *, attempt, request):
        raise GatewayError("provider_unavailable", "The provider did not answer.", retryable=True)

    monkeypatch.setattr(SimulatedGateway, "charge", timeout)

    response = api_client.post(f"/api/v1/invoices/{invoice.pk}/pay")

    assert response.status_code == 200, response.json()
    assert (response.json()["attempt"]["status"], response.json()["attempt"]["completed_at"]) == ("pending", None)
    assert response.json()["invoice"]["status"] == "open"
    assert Payment.objects.count() == 0


def test_pay_is_refused_without_a_payment_method_or_when_nothing_is_collectable(api_client, customer):
    unpaid = finalized(customer)
    paid = finalized(customer)
    payment_record(invoice=paid, amount=D("121.00"), actor=ACTOR, now=JAN_15)
    draft = invoice_create_manual(
        customer=customer, lines=[{"description": "X", "unit_amount": D("10.00")}], actor=ACTOR, now=JAN_15
    )
    before = state()

    no_method = api_client.post(f"/api/v1/invoices/{unpaid.pk}/pay")
    already_paid = api_client.post(f"/api/v1/invoices/{paid.pk}/pay")
    not_final = api_client.post(f"/api/v1/invoices/{draft.pk}/pay")

    assert no_method.status_code == 400
    assert error_of(no_method)["code"] == "no_payment_method"
    assert already_paid.status_code == 400
    assert error_of(already_paid)["code"] == "invoice_not_collectable"
    assert not_final.status_code == 400
    assert error_of(not_final)["code"] == "invoice_not_collectable"
    assert state() == before


def test_an_invoice_never_in_dunning_is_a_404_that_says_so(api_client, customer):
    invoice = finalized(customer)

    response = api_client.get(f"/api/v1/invoices/{invoice.pk}/dunning")

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert error["message"] == (
        "Invoice INV-2026-00001 is not in dunning: no payment of it has failed and it is not overdue."
    )


def test_an_invoice_without_attempts_lists_none(read_only_client, customer):
    invoice = finalized(customer)

    response = read_only_client.get(f"/api/v1/invoices/{invoice.pk}/payment-attempts")

    assert response.status_code == 200
    assert (response.json()["results"], response.json()["next"]) == ([], None)


# --- scopes and documentation ----------------------------------------------------------------------


def test_a_read_only_key_reads_but_cannot_write(read_only_client, customer):
    method = card(customer)
    invoice = finalized(customer)
    before = state()

    reads = [
        read_only_client.get(f"/api/v1/customers/{customer.pk}/payment-methods"),
        read_only_client.get(f"/api/v1/payment-methods/{method.pk}"),
        read_only_client.get("/api/v1/payments"),
        read_only_client.get(f"/api/v1/invoices/{invoice.pk}/payment-attempts"),
    ]
    writes = [
        read_only_client.post(f"/api/v1/customers/{customer.pk}/payment-methods", {"token": "tok_visa"}, format="json"),
        read_only_client.post(
            f"/api/v1/customers/{customer.pk}/payment-method-setup",
            {"success_url": "https://a.example", "cancel_url": "https://a.example"},
            format="json",
        ),
        read_only_client.post(f"/api/v1/payment-methods/{method.pk}/default"),
        read_only_client.delete(f"/api/v1/payment-methods/{method.pk}"),
        read_only_client.post("/api/v1/payments", {"invoice": invoice.pk, "amount": "1.00"}, format="json"),
        read_only_client.post(f"/api/v1/invoices/{invoice.pk}/pay"),
    ]

    assert [response.status_code for response in reads] == [200] * len(reads)
    assert [response.status_code for response in writes] == [403] * len(writes)
    assert {error_of(response)["code"] for response in writes} == {"permission_denied"}
    assert state() == before


def test_without_a_key_nothing_is_shown(client, customer):
    assert client.get(f"/api/v1/customers/{customer.pk}/payment-methods").status_code == 401
    assert client.get("/api/v1/payments").status_code == 401


def test_the_schema_documents_the_collection_routes_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))

    text = target.read_text()
    for path in (
        "/api/v1/customers/{id}/payment-methods:",
        "/api/v1/customers/{id}/payment-method-setup:",
        "/api/v1/payment-methods/{id}:",
        "/api/v1/payment-methods/{id}/default:",
        "/api/v1/payments:",
        "/api/v1/payments/{id}:",
        "/api/v1/invoices/{id}/payment-attempts:",
        "/api/v1/invoices/{id}/pay:",
        "/api/v1/invoices/{id}/dunning:",
    ):
        assert f"\n  {path}\n" in text, path
