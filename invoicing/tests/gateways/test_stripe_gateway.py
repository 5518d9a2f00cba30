"""The Stripe gateway through the real SDK, with only its HTTP layer stubbed (no network, no database)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
import stripe
from djmoney.money import Money

from billing_site.errors import DomainError
from invoicing.gateways import gateway_for
from invoicing.gateways.base import ChargeRequest, ChargeResult, GatewayError, MethodDetails, RefundResult, SetupSession
from invoicing.gateways.stripe_gateway import (
    STRIPE_API_VERSION,
    StripeGateway,
    card_error_result,
    method_details_from,
    payment_intent_result,
    refund_result,
    to_minor_units,
)
from invoicing.models import Payment, PaymentAttempt, PaymentMethod, Refund
from invoicing.tests.gateways.stripe_stub import (
    StripeStub,
    card_payment_method,
    error_body,
    list_of,
    payment_intent,
)
from subscriptions.models import Customer

D = Decimal
KEY = "sk_test_51SecretThatMustNeverBeLogged"
PI_PATH = "/v1/payment_intents"


@pytest.fixture
def stub(monkeypatch) -> StripeStub:
    return StripeStub().install(monkeypatch, api_key=KEY)


def make_customer(**fields) -> Customer:
    values = {
        "pk": 42,
        "name": "Acme B.V.",
        "email": "billing@acme.test",
        "address_line1": "Keizersgracht 1",
        "address_line2": "",
        "postal_code": "1015 AA",
        "city": "Amsterdam",
        "region": "",
        "country": "NL",
        "currency": "EUR",
        "language": "nl",
        "external_id": "crm-981",
        "stripe_id": "",
    }
    return Customer(**{**values, **fields})


def make_attempt(amount: str = "79.50", currency: str = "EUR", **fields) -> PaymentAttempt:
    customer = make_customer(stripe_id="cus_acme", currency=currency)
    method = PaymentMethod(customer=customer, provider="stripe", provider_id="pm_card_visa", brand="visa", last4="4242")
    values = {
        "pk": 7,
        "invoice_id": 3,
        "customer": customer,
        "payment_method": method,
        "provider": "stripe",
        "number": 1,
        "amount": Money(D(amount), currency),
        "idempotency_key": "invoice-3-attempt-1",
        "trigger": "finalized",
    }
    return PaymentAttempt(**{**values, **fields})


def charge_request(amount: str = "79.50", currency: str = "EUR") -> ChargeRequest:
    return ChargeRequest(
        amount=D(amount),
        currency=currency,
        customer_provider_id="cus_acme",
        method_provider_id="pm_card_visa",
        idempotency_key="invoice-3-attempt-1",
        description="Invoice 2026-0001",
        metadata={"invoice_number": "2026-0001"},
    )


PI_FORM = {
    "amount": "7950",
    "currency": "eur",
    "customer": "cus_acme",
    "payment_method": "pm_card_visa",
    "off_session": "true",
    "confirm": "true",
    "automatic_payment_methods[enabled]": "true",
    "automatic_payment_methods[allow_redirects]": "never",
    "metadata[invoice_number]": "2026-0001",
    "metadata[invoice_id]": "3",
    "metadata[attempt_id]": "7",
    "metadata[attempt_number]": "1",
    "description": "Invoice 2026-0001",
}


def charge(amount: str = "79.50", currency: str = "EUR") -> ChargeResult:
    return StripeGateway().charge(attempt=make_attempt(amount, currency), request=charge_request(amount, currency))


# --- the client ---------------------------------------------------------------------------------------


def test_gateway_for_stripe_is_this_gateway():
    assert isinstance(gateway_for("stripe"), StripeGateway)


def test_requests_carry_the_configured_key_and_the_pinned_api_version(stub):
    stub.add("GET", f"{PI_PATH}/pi_1", payment_intent("pi_1", "succeeded", latest_charge="ch_1"))

    StripeGateway().confirm(attempt=make_attempt(provider_payment_id="pi_1"))

    assert stub.last.api_key == KEY
    assert stub.last.stripe_version == STRIPE_API_VERSION == "2026-10-28.endive"


def test_without_a_secret_key_nothing_is_sent(stub, settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(GatewayError) as caught:
        charge()

    assert (caught.value.code, caught.value.message, caught.value.retryable) == (
        "provider_auth_failed",
        "Stripe is not set up: the server has no STRIPE_SECRET_KEY.",
        False,
    )
    assert stub.requests == []


def test_an_injected_client_is_used_as_is():
    stub = StripeStub().add("GET", f"{PI_PATH}/pi_1", payment_intent("pi_1", "processing"))
    client = stripe.StripeClient(api_key="sk_test_injected", http_client=stub)

    result = StripeGateway(client=client).confirm(attempt=make_attempt(provider_payment_id="pi_1"))

    assert result == ChargeResult("processing", "pi_1")
    assert stub.last.api_key == "sk_test_injected"


# --- customers ----------------------------------------------------------------------------------------


def test_customer_sync_creates_once_with_a_stable_idempotency_key(stub):
    stub.add("POST", "/v1/customers", {"id": "cus_new", "object": "customer"})

    stripe_id = StripeGateway().customer_sync(make_customer())

    assert stripe_id == "cus_new"
    assert stub.last.method == "POST"
    assert stub.last.path == "/v1/customers"
    assert stub.last.idempotency_key == "customer-42-create"
    assert stub.last.form == {
        "name": "Acme B.V.",
        "email": "billing@acme.test",
        "address[line1]": "Keizersgracht 1",
        "address[city]": "Amsterdam",
        "address[postal_code]": "1015 AA",
        "address[country]": "NL",
        "preferred_locales[0]": "nl",
        "metadata[customer_id]": "42",
        "metadata[external_id]": "crm-981",
    }


def test_customer_sync_updates_and_clears_what_was_removed(stub):
    stub.add("POST", "/v1/customers/cus_acme", {"id": "cus_acme", "object": "customer"})
    customer = make_customer(stripe_id="cus_acme", external_id="", region="Noord-Holland", language="en")

    stripe_id = StripeGateway().customer_sync(customer)

    assert stripe_id == "cus_acme"
    assert stub.last.path == "/v1/customers/cus_acme"
    assert stub.last.form == {
        "name": "Acme B.V.",
        "email": "billing@acme.test",
        "address[line1]": "Keizersgracht 1",
        "address[line2]": "",
        "address[city]": "Amsterdam",
        "address[postal_code]": "1015 AA",
        "address[state]": "Noord-Holland",
        "address[country]": "NL",
        "preferred_locales[0]": "en",
        "metadata[customer_id]": "42",
        "metadata[external_id]": "",
    }
    assert stub.last.idempotency_key != "customer-42-create"


# --- charges ------------------------------------------------------------------------------------------


def test_charge_creates_an_off_session_payment_intent(stub):
    stub.add("POST", PI_PATH, payment_intent("pi_1", "succeeded", latest_charge="ch_1"))

    result = charge()

    assert result == ChargeResult("succeeded", "pi_1", "ch_1")
    assert [(r.method, r.path) for r in stub.requests] == [("POST", PI_PATH)]
    assert stub.last.form == PI_FORM
    assert stub.last.idempotency_key == "invoice-3-attempt-1"


def test_charge_in_a_zero_decimal_currency(stub):
    stub.add("POST", PI_PATH, payment_intent("pi_1", "succeeded", amount=1200, currency="jpy", latest_charge="ch_1"))

    charge("1200", "JPY")

    assert (stub.last.form["amount"], stub.last.form["currency"]) == ("1200", "jpy")


def test_minor_units_follow_the_currency():
    assert to_minor_units(D("79.50"), "EUR") == 7950
    assert to_minor_units(D("0.01"), "eur") == 1
    assert to_minor_units(D("1200"), "JPY") == 1200
    assert to_minor_units(D("12.345"), "KWD") == 12345


def test_minor_units_refuse_an_amount_finer_than_the_currency():
    with pytest.raises(DomainError) as caught:
        to_minor_units(D("79.505"), "EUR")
    assert (caught.value.code, caught.value.message) == (
        "invalid_amount",
        "79.505 EUR has more decimals than the currency allows.",
    )
    with pytest.raises(DomainError):
        to_minor_units(D("12.5"), "JPY")


def test_a_soft_decline_is_a_failed_result_not_an_error(stub):
    stub.add_error(
        "POST",
        PI_PATH,
        status=402,
        type="card_error",
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
        charge="ch_declined",
        payment_intent=payment_intent("pi_declined", "requires_payment_method", latest_charge="ch_declined"),
    )

    result = charge()

    assert result == ChargeResult(
        "failed",
        "pi_declined",
        "ch_declined",
        failure_code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    )
    assert len(stub.requests) == 1


def test_a_hard_decline_keeps_the_issuer_reason(stub):
    stub.add_error(
        "POST",
        PI_PATH,
        status=402,
        type="card_error",
        code="card_declined",
        decline_code="stolen_card",
        message="Your card was declined.",
        charge="ch_stolen",
        payment_intent=payment_intent("pi_stolen", "requires_payment_method", latest_charge="ch_stolen"),
    )

    assert charge() == ChargeResult(
        "failed",
        "pi_stolen",
        "ch_stolen",
        failure_code="card_declined",
        decline_code="stolen_card",
        message="Your card was declined.",
    )


def test_authentication_required_asks_the_customer_to_act(stub):
    stub.add_error(
        "POST",
        PI_PATH,
        status=402,
        type="card_error",
        code="authentication_required",
        decline_code="authentication_required",
        message="Your card was declined. This transaction requires authentication.",
        charge="ch_3ds",
        payment_intent=payment_intent("pi_3ds", "requires_payment_method", latest_charge="ch_3ds"),
    )

    assert charge() == ChargeResult(
        "requires_action",
        "pi_3ds",
        failure_code="authentication_required",
        decline_code="authentication_required",
        message="The customer's bank asks them to confirm this payment (3-D Secure).",
    )


def test_a_card_error_without_a_payment_intent_is_still_a_decline():
    body = error_body("card_error", code="expired_card", message="Your card has expired.")

    assert card_error_result(body) == ChargeResult(
        "failed", failure_code="expired_card", message="Your card has expired."
    )


@pytest.mark.parametrize(
    ("status", "error", "code", "message", "retryable", "tries"),
    [
        (
            401,
            {"type": "invalid_request_error", "message": f"Invalid API Key provided: {KEY[:8]}****ged"},
            "provider_auth_failed",
            "Stripe did not accept our secret key. An administrator must check STRIPE_SECRET_KEY.",
            False,
            1,
        ),
        (
            403,
            {"type": "invalid_request_error", "message": "The provided key does not have access."},
            "provider_auth_failed",
            "Our Stripe key is not allowed to do this. An administrator must check the key's permissions in Stripe.",
            False,
            1,
        ),
        (
            429,
            {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."},
            "provider_rate_limited",
            "Stripe received too many requests. Try again in a few minutes.",
            True,
            1,
        ),
        (
            500,
            {"type": "api_error", "message": "Something went wrong on Stripe's end."},
            "provider_unavailable",
            "Stripe had a temporary problem. Try again in a few minutes.",
            True,
            3,
        ),
        (
            400,
            {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            },
            "provider_invalid_request",
            "Stripe refused the request because an earlier request with the same reference had different details. "
            "Nothing was done by this request.",
            False,
            1,
        ),
        (
            400,
            {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "customer",
                "message": "No such customer: 'cus_acme'",
            },
            "provider_invalid_request",
            "Stripe refused the request: No such customer: 'cus_acme'",
            False,
            1,
        ),
    ],
    ids=["401", "403", "429", "500", "idempotency_error", "invalid_request"],
)
def test_stripe_errors_become_gateway_errors(stub, status, error, code, message, retryable, tries):
    stub.add("POST", PI_PATH, {"error": error}, status=status, times=tries)

    with pytest.raises(GatewayError) as caught:
        charge()

    assert (caught.value.code, caught.value.message, caught.value.retryable) == (code, message, retryable)
    assert len(stub.requests) == tries
    assert {r.idempotency_key for r in stub.requests} == {"invoice-3-attempt-1"}
    stub.assert_all_used()


def test_a_connection_error_is_retried_with_the_same_key_then_reported(stub):
    stub.add_connection_error("POST", PI_PATH, times=3)

    with pytest.raises(GatewayError) as caught:
        charge()

    assert (caught.value.code, caught.value.message, caught.value.retryable) == (
        "provider_unavailable",
        "Stripe could not be reached. Try again in a few minutes.",
        True,
    )
    assert [r.idempotency_key for r in stub.requests] == ["invoice-3-attempt-1"] * 3


def test_a_connection_blip_is_absorbed_by_the_retry(stub):
    stub.add_connection_error("POST", PI_PATH)
    stub.add("POST", PI_PATH, payment_intent("pi_1", "succeeded", latest_charge="ch_1"))

    assert charge() == ChargeResult("succeeded", "pi_1", "ch_1")
    assert [r.form for r in stub.requests] == [PI_FORM, PI_FORM]
    assert [r.idempotency_key for r in stub.requests] == ["invoice-3-attempt-1"] * 2


def test_the_secret_key_is_never_logged(stub, caplog):
    """Not by the SDK (even at DEBUG, bodies included) nor by us; Stripe's own message quoting it is not repeated."""
    caplog.set_level(logging.DEBUG)
    stub.add("POST", PI_PATH, payment_intent("pi_1", "succeeded", latest_charge="ch_1"))
    masked = f"Invalid API Key provided: {KEY[:8]}{'*' * (len(KEY) - 12)}{KEY[-4:]}"  # how Stripe quotes a key
    stub.add_error("POST", PI_PATH, status=401, type="invalid_request_error", message=masked)

    charge()
    with pytest.raises(GatewayError) as caught:
        charge()

    assert KEY not in caplog.text
    assert KEY not in str(caught.value)
    assert KEY[-4:] not in caught.value.message
    assert [r.getMessage() for r in caplog.records if r.name == "invoicing.gateways.stripe_gateway"] == [
        "Stripe charge failed: provider_auth_failed (HTTP 401, request req_stub_2)"
    ]


# --- what a PaymentIntent means ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pi", "expected"),
    [
        (
            payment_intent("pi_1", "succeeded", latest_charge="ch_1"),
            ChargeResult("succeeded", "pi_1", "ch_1"),
        ),
        (
            {**payment_intent("pi_1", "succeeded"), "latest_charge": {"id": "ch_expanded", "object": "charge"}},
            ChargeResult("succeeded", "pi_1", "ch_expanded"),
        ),
        (payment_intent("pi_1", "processing"), ChargeResult("processing", "pi_1")),
        (
            payment_intent(
                "pi_1",
                "requires_action",
                next_action={"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds/x"}},
            ),
            ChargeResult(
                "requires_action",
                "pi_1",
                failure_code="authentication_required",
                message="The customer's bank asks them to confirm this payment (3-D Secure).",
                action_url="https://hooks.stripe.com/3ds/x",
            ),
        ),
        (
            payment_intent("pi_1", "requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}}),
            ChargeResult(
                "requires_action",
                "pi_1",
                failure_code="authentication_required",
                message="The customer's bank asks them to confirm this payment (3-D Secure).",
            ),
        ),
        (
            payment_intent("pi_1", "requires_confirmation"),
            ChargeResult("requires_action", "pi_1", message="The payment waits for the customer to confirm it."),
        ),
        (
            payment_intent(
                "pi_1",
                "requires_payment_method",
                latest_charge="ch_1",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                },
            ),
            ChargeResult(
                "failed",
                "pi_1",
                "ch_1",
                failure_code="card_declined",
                decline_code="insufficient_funds",
                message="Your card has insufficient funds.",
            ),
        ),
        (
            payment_intent(
                "pi_1",
                "requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "authentication_required",
                    "message": "This transaction requires authentication.",
                },
            ),
            ChargeResult(
                "requires_action",
                "pi_1",
                failure_code="authentication_required",
                message="The customer's bank asks them to confirm this payment (3-D Secure).",
            ),
        ),
        (
            payment_intent("pi_1", "canceled"),
            ChargeResult(
                "failed", "pi_1", failure_code="payment_canceled", message="The payment was canceled in Stripe."
            ),
        ),
        (payment_intent("pi_1", "requires_capture"), ChargeResult("processing", "pi_1")),
    ],
    ids=[
        "succeeded",
        "expanded_charge",
        "processing",
        "redirect",
        "sdk_action",
        "requires_confirmation",
        "declined",
        "authentication_failed_off_session",
        "canceled",
        "unknown_status",
    ],
)
def test_payment_intent_result(pi, expected):
    assert payment_intent_result(pi) == expected


# --- lost answers and confirmation -------------------------------------------------------------------


def test_charge_status_reads_the_known_payment_intent(stub):
    stub.add("GET", f"{PI_PATH}/pi_1", payment_intent("pi_1", "succeeded", latest_charge="ch_1"))

    result = StripeGateway().charge_status(attempt=make_attempt(provider_payment_id="pi_1"))

    assert result == ChargeResult("succeeded", "pi_1", "ch_1")
    assert [(r.method, r.path, r.form) for r in stub.requests] == [("GET", f"{PI_PATH}/pi_1", {})]


def test_charge_status_finds_a_payment_intent_whose_answer_was_lost(stub):
    stub.add(
        "GET",
        PI_PATH,
        list_of(
            payment_intent("pi_other", "succeeded", metadata={"attempt_id": "6"}),
            payment_intent("pi_lost", "succeeded", latest_charge="ch_lost", metadata={"attempt_id": "7"}),
        ),
    )

    result = StripeGateway().charge_status(attempt=make_attempt())

    assert result == ChargeResult("succeeded", "pi_lost", "ch_lost")
    assert [(r.method, r.path, r.form) for r in stub.requests] == [
        ("GET", PI_PATH, {"customer": "cus_acme", "limit": "100"})
    ]


def test_charge_status_repeats_the_create_with_the_same_key_when_stripe_has_none(stub):
    stub.add("GET", PI_PATH, list_of(payment_intent("pi_other", "succeeded", metadata={"attempt_id": "6"})))
    stub.add("POST", PI_PATH, payment_intent("pi_1", "succeeded", latest_charge="ch_1"))

    result = StripeGateway().charge_status(attempt=make_attempt())

    assert result == ChargeResult("succeeded", "pi_1", "ch_1")
    assert stub.last.path == PI_PATH
    assert stub.last.idempotency_key == "invoice-3-attempt-1"
    assert stub.last.form == {
        "amount": "7950",
        "currency": "eur",
        "customer": "cus_acme",
        "payment_method": "pm_card_visa",
        "off_session": "true",
        "confirm": "true",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[invoice_id]": "3",
        "metadata[attempt_id]": "7",
        "metadata[attempt_number]": "1",
    }


def test_confirm_reads_the_payment_intent_after_authentication(stub):
    stub.add("GET", f"{PI_PATH}/pi_3ds", payment_intent("pi_3ds", "succeeded", latest_charge="ch_3ds"))

    result = StripeGateway().confirm(attempt=make_attempt(provider_payment_id="pi_3ds", status="requires_action"))

    assert result == ChargeResult("succeeded", "pi_3ds", "ch_3ds")
    assert [(r.method, r.path) for r in stub.requests] == [("GET", f"{PI_PATH}/pi_3ds")]


# --- payment methods ---------------------------------------------------------------------------------


def test_setup_session_is_a_checkout_page_in_setup_mode(stub):
    stub.add(
        "POST",
        "/v1/checkout/sessions",
        {
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "setup",
            "url": "https://checkout.stripe.com/c/pay/cs_test_1",
            "expires_at": 1768555800,
        },
    )

    session = StripeGateway().setup_session(
        customer=make_customer(stripe_id="cus_acme"),
        success_url="https://billing.test/portal/payment-method/done",
        cancel_url="https://billing.test/portal/payment-method/cancel",
    )

    assert session == SetupSession(
        url="https://checkout.stripe.com/c/pay/cs_test_1",
        provider_id="cs_test_1",
        expires_at=dt.datetime(2026, 1, 16, 9, 30, tzinfo=dt.UTC),
    )
    assert stub.last.form == {
        "mode": "setup",
        "customer": "cus_acme",
        "currency": "eur",
        "locale": "nl",
        "success_url": "https://billing.test/portal/payment-method/done",
        "cancel_url": "https://billing.test/portal/payment-method/cancel",
        "metadata[customer_id]": "42",
    }


def test_setup_session_needs_the_customer_at_stripe_first(stub):
    with pytest.raises(GatewayError) as caught:
        StripeGateway().setup_session(
            customer=make_customer(), success_url="https://a.test", cancel_url="https://b.test"
        )

    assert (caught.value.code, caught.value.message) == (
        "provider_invalid_request",
        "Acme B.V. is not known to Stripe yet: the customer must be sent to Stripe first.",
    )
    assert stub.requests == []


def test_method_details(stub):
    stub.add("GET", "/v1/payment_methods/pm_1", card_payment_method("pm_1", brand="mastercard", last4="4444"))

    details = StripeGateway().method_details(provider_id="pm_1")

    assert details == MethodDetails("pm_1", "card", "mastercard", "4444", 12, 2030)


def test_method_details_keep_nothing_else_of_the_method():
    sepa = {
        "id": "pm_sepa",
        "type": "sepa_debit",
        "billing_details": {"name": "Jenny Rosen"},
        "sepa_debit": {"last4": "3000", "bank_code": "37040044", "country": "DE", "fingerprint": "abc"},
    }
    assert method_details_from(sepa) == MethodDetails("pm_sepa", "sepa_debit", "", "3000")
    assert method_details_from({"id": "pm_link", "type": "link", "link": {"email": "j@example.com"}}) == MethodDetails(
        "pm_link", "other"
    )
    assert method_details_from(card_payment_method("pm_1")) == MethodDetails("pm_1", "card", "visa", "4242", 12, 2030)
    odd = card_payment_method("pm_2", last4="42")
    assert method_details_from(odd).last4 == ""


def test_method_attach_attaches_and_makes_it_the_default(stub):
    stub.add("POST", "/v1/payment_methods/pm_new/attach", card_payment_method("pm_new", customer="cus_acme"))
    stub.add("POST", "/v1/customers/cus_acme", {"id": "cus_acme", "object": "customer"})

    details = StripeGateway().method_attach(customer=make_customer(stripe_id="cus_acme"), token="pm_new")

    assert details == MethodDetails("pm_new", "card", "visa", "4242", 12, 2030)
    assert [(r.path, r.form) for r in stub.requests] == [
        ("/v1/payment_methods/pm_new/attach", {"customer": "cus_acme"}),
        ("/v1/customers/cus_acme", {"invoice_settings[default_payment_method]": "pm_new"}),
    ]


def test_method_attach_refuses_what_is_not_a_payment_method_id(stub):
    with pytest.raises(DomainError) as caught:
        StripeGateway().method_attach(customer=make_customer(stripe_id="cus_acme"), token="4242424242424242")

    assert caught.value.code == "invalid_payment_method"
    assert stub.requests == []


def test_method_detach(stub):
    stub.add("POST", "/v1/payment_methods/pm_1/detach", card_payment_method("pm_1", customer=None))

    StripeGateway().method_detach(method=PaymentMethod(provider="stripe", provider_id="pm_1"))

    assert [(r.method, r.path, r.form) for r in stub.requests] == [("POST", "/v1/payment_methods/pm_1/detach", {})]


# --- refunds -----------------------------------------------------------------------------------------


def make_refund(payment: Payment, amount: str = "20.00") -> Refund:
    return Refund(pk=5, credit_note_id=9, payment=payment, provider="stripe", amount=Money(D(amount), "EUR"))


def test_refund_of_a_card_payment_goes_through_its_payment_intent(stub):
    stub.add("POST", "/v1/refunds", {"id": "re_1", "object": "refund", "status": "succeeded", "amount": 2000})
    payment = Payment(attempt=make_attempt(provider_payment_id="pi_1"), provider_charge_id="ch_1", provider="stripe")

    result = StripeGateway().refund(refund=make_refund(payment), payment=payment, idempotency_key="refund-5")

    assert result == RefundResult("succeeded", "re_1")
    assert stub.last.path == "/v1/refunds"
    assert stub.last.idempotency_key == "refund-5"
    assert stub.last.form == {
        "amount": "2000",
        "reason": "requested_by_customer",
        "metadata[credit_note_id]": "9",
        "metadata[refund_id]": "5",
        "payment_intent": "pi_1",
    }


def test_refund_without_an_attempt_goes_through_the_charge(stub):
    stub.add("POST", "/v1/refunds", {"id": "re_2", "object": "refund", "status": "pending"})
    payment = Payment(provider_charge_id="ch_9", provider="stripe")

    result = StripeGateway().refund(refund=make_refund(payment, "79.50"), payment=payment, idempotency_key="refund-5")

    assert result == RefundResult("pending", "re_2")
    assert (stub.last.form["charge"], stub.last.form["amount"]) == ("ch_9", "7950")
    assert "payment_intent" not in stub.last.form


def test_refund_of_a_payment_stripe_never_took_is_refused(stub):
    payment = Payment(provider="manual")

    with pytest.raises(GatewayError) as caught:
        StripeGateway().refund(refund=make_refund(payment), payment=payment, idempotency_key="refund-5")

    assert caught.value.code == "provider_invalid_request"
    assert stub.requests == []


@pytest.mark.parametrize(
    ("refund", "expected"),
    [
        ({"id": "re_1", "status": "succeeded"}, RefundResult("succeeded", "re_1")),
        ({"id": "re_1", "status": "pending"}, RefundResult("pending", "re_1")),
        ({"id": "re_1", "status": "requires_action"}, RefundResult("pending", "re_1")),
        (
            {"id": "re_1", "status": "failed", "failure_reason": "expired_or_canceled_card"},
            RefundResult(
                "failed", "re_1", "The card has expired or was canceled, so the bank did not accept the refund."
            ),
        ),
        (
            {"id": "re_1", "status": "failed", "failure_reason": "unknown"},
            RefundResult("failed", "re_1", "The refund failed at Stripe."),
        ),
    ],
)
def test_refund_result(refund, expected):
    assert refund_result(refund) == expected
