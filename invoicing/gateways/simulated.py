"""The simulated provider: test tokens that behave like the cards they name, with no card ever entered.

Each token is a payment method that always behaves the same way, so that every collection path can be
demonstrated and tested: success, soft and hard declines, authentication (SCA), a card about to expire,
and a card that fails twice and then pays (a dunning recovery). Ids are derived from our idempotency
keys, so a repeated request gives the same answer, as a real provider's does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from billing_site import clock
from billing_site.errors import DomainError
from invoicing.gateways.base import ChargeRequest, ChargeResult, MethodDetails, RefundResult, SetupSession


@dataclass(frozen=True)
class TestCard:
    label: str
    brand: str
    last4: str
    outcome: str  # succeeds | declines | requires_action | declines_twice
    decline_code: str = ""
    expires_next_month: bool = False


TEST_CARDS: dict[str, TestCard] = {
    "tok_visa": TestCard("Card succeeds", "visa", "4242", "succeeds"),
    "tok_mastercard": TestCard("Mastercard succeeds", "mastercard", "4444", "succeeds"),
    "tok_insufficient_funds": TestCard(
        "Card declined (insufficient funds)", "visa", "9995", "declines", "insufficient_funds"
    ),
    "tok_insufficient_funds_twice": TestCard(
        "Declined twice (insufficient funds), then succeeds", "visa", "3155", "declines_twice", "insufficient_funds"
    ),
    "tok_processing_error": TestCard(
        "Card declined (processing error)", "visa", "0119", "declines", "processing_error"
    ),
    "tok_stolen": TestCard("Card declined (stolen)", "visa", "9979", "declines", "stolen_card"),
    "tok_lost": TestCard("Card declined (lost)", "visa", "9987", "declines", "lost_card"),
    "tok_requires_authentication": TestCard("Requires authentication (3-D Secure)", "visa", "3184", "requires_action"),
    "tok_expires_next_month": TestCard("Card expires next month", "visa", "1881", "succeeds", expires_next_month=True),
}

_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "stolen_card": "Your card was declined.",
    "lost_card": "Your card was declined.",
}


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def _card(provider_id: str) -> TestCard:
    token = provider_id.rsplit(":", 1)[0].removeprefix("sim:")
    card = TEST_CARDS.get(token)
    if card is None:
        raise DomainError("unknown_test_card", f"{provider_id!r} is not a simulated test card.")
    return card


class SimulatedGateway:
    name = "simulated"

    def customer_sync(self, customer) -> str:
        return f"sim_cus_{customer.pk}"

    def charge(self, *, attempt, request: ChargeRequest) -> ChargeResult:
        card = _card(request.method_provider_id)
        payment_id = _id("sim_pi", request.idempotency_key)
        succeeded = ChargeResult("succeeded", payment_id, _id("sim_ch", request.idempotency_key))
        if card.outcome == "succeeds":
            return succeeded
        if card.outcome == "requires_action":
            return ChargeResult("requires_action", payment_id, failure_code="authentication_required",
                                message="The customer must authenticate this payment.")  # fmt: skip
        if card.outcome == "declines_twice":
            failed_before = attempt.payment_method.attempts.filter(status="failed").exclude(pk=attempt.pk).count()
            if failed_before >= 2:
                return succeeded
        return ChargeResult(
            "failed",
            payment_id,
            _id("sim_ch", request.idempotency_key),
            failure_code="card_declined",
            decline_code=card.decline_code,
            message=_MESSAGES.get(card.decline_code, "Your card was declined."),
        )

    def charge_status(self, *, attempt) -> ChargeResult:
        from invoicing.gateways.base import ChargeRequest as Request

        return self.charge(
            attempt=attempt,
            request=Request(
                amount=attempt.amount.amount,
                currency=attempt.currency,
                customer_provider_id="",
                method_provider_id=attempt.payment_method.provider_id,
                idempotency_key=attempt.idempotency_key,
            ),
        )

    def confirm(self, *, attempt) -> ChargeResult:
        key = attempt.idempotency_key
        return ChargeResult("succeeded", attempt.provider_payment_id or _id("sim_pi", key), _id("sim_ch", key))

    def setup_session(self, *, customer, success_url: str, cancel_url: str) -> SetupSession:
        raise DomainError(
            "setup_not_available",
            "The simulated provider has no card page: choose a test card for the customer instead.",
        )

    def method_details(self, *, provider_id: str) -> MethodDetails:
        return self._details(provider_id, _card(provider_id), customer=None)

    def method_attach(self, *, customer, token: str) -> MethodDetails:
        if token not in TEST_CARDS:
            choices = ", ".join(TEST_CARDS)
            # The token is not repeated: whatever was typed there (even a card number) is never echoed or logged.
            raise DomainError("unknown_test_card", f"That is not a test card: use one of {choices}.",
                              fields={"token": "Not a test card."})  # fmt: skip
        serial = hashlib.sha256(f"{customer.pk}:{token}:{clock.now(customer).isoformat()}".encode()).hexdigest()[:12]
        return self._details(f"sim:{token}:{serial}", TEST_CARDS[token], customer=customer)

    def _details(self, provider_id: str, card: TestCard, *, customer) -> MethodDetails:
        now = clock.now(customer)
        if card.expires_next_month:
            month, year = (1, now.year + 1) if now.month == 12 else (now.month + 1, now.year)
        else:
            month, year = 12, now.year + 4
        return MethodDetails(provider_id, "card", card.brand, card.last4, month, year)

    def method_detach(self, *, method) -> None:
        return None

    def refund(self, *, refund, payment, idempotency_key: str) -> RefundResult:
        return RefundResult("succeeded", _id("sim_re", idempotency_key))
