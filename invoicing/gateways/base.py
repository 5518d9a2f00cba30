"""The one interface every payment provider is reached through.

Collection code (``invoicing.services.collection``) speaks only these types; a gateway turns them into
its provider's calls and its provider's answers (and errors) back into them. No card number, CVC or
bank account number ever passes through here: a payment method is the provider's id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from invoicing.models import Payment, PaymentAttempt, PaymentMethod, Refund
    from subscriptions.models import Customer


class GatewayError(Exception):
    """The provider could not be reached or refused the request itself (not a card decline).

    ``code`` is ours (``provider_unavailable``, ``provider_auth_failed``, ``provider_invalid_request``,
    ``provider_rate_limited``); ``retryable`` says whether the same request may be sent again later.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class MethodDetails:
    """What we keep of a payment method: the provider's id and what lets a person recognise it."""

    provider_id: str
    kind: str = "card"
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of one charge request.

    ``status``: ``succeeded``, ``failed``, ``requires_action`` (the customer must authenticate, SCA)
    or ``processing`` (the provider will tell by webhook). For a failure, ``failure_code`` is ours
    (``card_declined``, ``expired_card``, ``authentication_required`` …) and ``decline_code`` is the
    issuer's reason as the provider gives it (``insufficient_funds``, ``stolen_card`` …).
    """

    status: str
    provider_payment_id: str = ""
    provider_charge_id: str = ""
    failure_code: str = ""
    decline_code: str = ""
    message: str = ""
    action_url: str = ""


@dataclass(frozen=True)
class RefundResult:
    status: str  # "succeeded", "pending" or "failed"
    provider_refund_id: str = ""
    message: str = ""


@dataclass(frozen=True)
class SetupSession:
    """Where to send the customer to enter a card on the provider's page (never ours)."""

    url: str
    provider_id: str
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class ChargeRequest:
    amount: Decimal
    currency: str
    customer_provider_id: str
    method_provider_id: str
    idempotency_key: str
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class Gateway(Protocol):
    name: str

    def customer_sync(self, customer: Customer) -> str:
        """Create or update the customer at the provider; returns the provider's customer id."""

    def charge(self, *, attempt: PaymentAttempt, request: ChargeRequest) -> ChargeResult:
        """Charge a payment method off-session. Safe to repeat with the same ``idempotency_key``."""

    def charge_status(self, *, attempt: PaymentAttempt) -> ChargeResult:
        """Ask the provider how an attempt ended (an attempt whose answer was lost)."""

    def confirm(self, *, attempt: PaymentAttempt) -> ChargeResult:
        """The customer authenticated (SCA): complete the payment."""

    def setup_session(self, *, customer: Customer, success_url: str, cancel_url: str) -> SetupSession:
        """A page of the provider's where the customer adds or replaces a card."""

    def method_details(self, *, provider_id: str) -> MethodDetails:
        """Brand, last four digits and expiry of a payment method, as the provider knows it."""

    def method_attach(self, *, customer: Customer, token: str) -> MethodDetails:
        """Attach a tokenised method (from the provider's page or a test token) to the customer."""

    def method_detach(self, *, method: PaymentMethod) -> None:
        """Remove the payment method at the provider."""

    def refund(self, *, refund: Refund, payment: Payment, idempotency_key: str) -> RefundResult:
        """Send money back for a payment, in part or in full. Safe to repeat with the same key."""
