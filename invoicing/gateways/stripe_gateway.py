"""Stripe behind our gateway interface: the only module of the project that imports ``stripe``.

Every call goes through ``stripe.StripeClient`` (API version pinned to ``STRIPE_API_VERSION``, the
answers this module was written against), built from ``settings.STRIPE_SECRET_KEY`` when a call is
made, never at import. Stripe's answers become ours in two pure functions the webhook processor
shares (``payment_intent_result``, ``method_details_from``); Stripe's errors become ours in one
function (``gateway_error``). A card decline is an answer, not an error: ``charge`` returns it as a
failed ``ChargeResult``.

Nothing here writes to the database: callers store the ids we return. The secret key is never
logged and never part of a message.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import stripe
from django.conf import settings

from billing_site.errors import DomainError
from billing_site.money import minor_units
from invoicing.gateways.base import (
    ChargeRequest,
    ChargeResult,
    GatewayError,
    MethodDetails,
    RefundResult,
    SetupSession,
)

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        CustomerUpdateParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
    )
    from stripe.params.checkout import SessionCreateParams

    from invoicing.models import Payment, PaymentAttempt, PaymentMethod, Refund
    from subscriptions.models import Customer

logger = logging.getLogger(__name__)

#: The Stripe API version the mapping below was written and tested against (sent as ``Stripe-Version``).
STRIPE_API_VERSION = "2026-10-28.endive"

#: Connection errors, 409 and 5xx answers are retried by the SDK with the same Idempotency-Key.
MAX_NETWORK_RETRIES = 2

#: Builds the HTTP client under the SDK; ``None`` uses the SDK's own. Tests put a stub here
#: (``invoicing.tests.gateways.stripe_stub.StripeStub.install``) so that every ``StripeGateway()`` uses it.
http_client_factory: Callable[[], stripe.HTTPClient] | None = None

_FAILED_MESSAGE = "The payment was declined."
_AUTHENTICATION_MESSAGE = "The customer's bank asks them to confirm this payment (3-D Secure)."
_REFUND_FAILURES = {
    "lost_or_stolen_card": "The card was reported lost or stolen, so the bank did not accept the refund.",
    "expired_or_canceled_card": "The card has expired or was canceled, so the bank did not accept the refund.",
    "insufficient_funds": "The Stripe balance was too low to pay the refund.",
    "declined": "The customer's bank declined the refund.",
    "merchant_request": "The refund was canceled in Stripe.",
}


# ---------------------------------------------------------------------------------------------------
# Pure mapping of Stripe's objects (also used by the webhook processor on event payloads)
# ---------------------------------------------------------------------------------------------------


def payment_intent_result(pi: Mapping[str, Any]) -> ChargeResult:
    """Our ``ChargeResult`` for a PaymentIntent as Stripe sends it (API answer or webhook ``data.object``).

    ``requires_payment_method`` after an ``authentication_required`` decline is ``requires_action``:
    the card is fine, the customer must confirm the payment with their bank, which an off-session
    charge cannot ask for. A status we do not know is ``processing``: wait for Stripe's webhook rather
    than call a payment paid or failed.
    """
    return _intent_result(pi, error=None)


def method_details_from(pm: Mapping[str, Any]) -> MethodDetails:
    """What we keep of a Stripe PaymentMethod: brand, last four digits, expiry; nothing else of it, ever."""
    kind = pm.get("type")
    if kind == "card":
        card = pm.get("card") or {}
        return MethodDetails(
            provider_id=pm["id"],
            kind="card",
            brand=str(card.get("brand") or ""),
            last4=_last4(card.get("last4")),
            exp_month=_int_or_none(card.get("exp_month")),
            exp_year=_int_or_none(card.get("exp_year")),
        )
    if kind == "sepa_debit":
        return MethodDetails(
            provider_id=pm["id"], kind="sepa_debit", last4=_last4((pm.get("sepa_debit") or {}).get("last4"))
        )
    return MethodDetails(provider_id=pm["id"], kind="other")


def gateway_error(error: stripe.StripeError) -> GatewayError:
    """The one place where Stripe's errors become ours, with a message finance can act on.

    Stripe's own message is repeated only for a refused request (it names what was wrong); never for
    an authentication error, whose message quotes part of the key.
    """
    if isinstance(error, stripe.CardError):
        return GatewayError(error.code or "card_declined", error.user_message or _FAILED_MESSAGE)
    if isinstance(error, stripe.AuthenticationError):
        return GatewayError(
            "provider_auth_failed",
            "Stripe did not accept our secret key. An administrator must check STRIPE_SECRET_KEY.",
        )
    if isinstance(error, stripe.PermissionError):
        return GatewayError(
            "provider_auth_failed",
            "Our Stripe key is not allowed to do this. An administrator must check the key's permissions in Stripe.",
        )
    if isinstance(error, stripe.RateLimitError):
        return GatewayError(
            "provider_rate_limited", "Stripe received too many requests. Try again in a few minutes.", retryable=True
        )
    if isinstance(error, stripe.APIConnectionError):
        return GatewayError(
            "provider_unavailable", "Stripe could not be reached. Try again in a few minutes.", retryable=True
        )
    if isinstance(error, stripe.IdempotencyError):
        return GatewayError(
            "provider_invalid_request",
            "Stripe refused the request because an earlier request with the same reference had different details. "
            "Nothing was done by this request.",
        )
    if isinstance(error, stripe.InvalidRequestError):
        detail = f": {error.user_message}" if error.user_message else "."
        return GatewayError("provider_invalid_request", f"Stripe refused the request{detail}")
    if isinstance(error, stripe.APIError):
        return GatewayError(
            "provider_unavailable", "Stripe had a temporary problem. Try again in a few minutes.", retryable=True
        )
    return GatewayError("provider_invalid_request", "Stripe refused the request.")


def card_error_result(error_body: Mapping[str, Any]) -> ChargeResult:
    """Our ``ChargeResult`` for a card error's JSON body (HTTP 402): the decline is an answer, not an error."""
    error = error_body.get("error") or {}
    return _intent_result(error.get("payment_intent") or {}, error=error)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("79.50")`` EUR → 7950, ``Decimal("1200")`` JPY → 1200; refuses anything finer than the currency."""
    scaled = Decimal(amount).scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise DomainError("invalid_amount", f"{amount} {currency.upper()} has more decimals than the currency allows.")
    return int(scaled)


def _intent_result(pi: Mapping[str, Any], *, error: Mapping[str, Any] | None) -> ChargeResult:
    status = pi.get("status") or ""
    payment_id = pi.get("id") or ""
    charge_id = _id_of(pi.get("latest_charge"))
    if status == "succeeded":
        return ChargeResult("succeeded", payment_id, charge_id)
    if status == "processing":
        return ChargeResult("processing", payment_id, charge_id)
    if status == "requires_action":
        return ChargeResult(
            "requires_action",
            payment_id,
            failure_code="authentication_required",
            message=_AUTHENTICATION_MESSAGE,
            action_url=_redirect_url(pi),
        )
    if status == "requires_confirmation":
        return ChargeResult("requires_action", payment_id, message="The payment waits for the customer to confirm it.")
    last_error = pi.get("last_payment_error") or error or {}
    code = last_error.get("code") or ""
    if status in ("requires_payment_method", "") and code == "authentication_required":
        return ChargeResult(
            "requires_action",
            payment_id,
            failure_code=code,
            decline_code=last_error.get("decline_code") or "",
            message=_AUTHENTICATION_MESSAGE,
            action_url=_redirect_url(pi),
        )
    if status in ("requires_payment_method", "canceled") or error is not None:
        canceled = status == "canceled" and not last_error
        return ChargeResult(
            "failed",
            payment_id,
            charge_id or _id_of(last_error.get("charge")),
            failure_code=code or ("payment_canceled" if canceled else "card_declined"),
            decline_code=last_error.get("decline_code") or "",
            message=last_error.get("message")
            or ("The payment was canceled in Stripe." if canceled else _FAILED_MESSAGE),
        )
    return ChargeResult("processing", payment_id, charge_id)


def _redirect_url(pi: Mapping[str, Any]) -> str:
    redirect = (pi.get("next_action") or {}).get("redirect_to_url") or {}
    return redirect.get("url") or ""


def _id_of(value: Any) -> str:
    """An id that Stripe sends either as a string or as the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id") or ""
    return value or ""


def _last4(value: Any) -> str:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9]{4}", value) else ""


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _amount(value: Any) -> Decimal:
    """The Decimal of a django-money ``Money`` (or a Decimal already)."""
    return getattr(value, "amount", value)


# ---------------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------------


def _new_client(api_key: str, http_client: stripe.HTTPClient | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key=api_key,
        stripe_version=STRIPE_API_VERSION,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=http_client,
    )


@functools.lru_cache(maxsize=4)
def _shared_client(api_key: str) -> stripe.StripeClient:
    """One client per key, so that its connection pool outlives one ``gateway_for`` call."""
    return _new_client(api_key, None)


@contextmanager
def _stripe_errors(operation: str) -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as error:
        translated = gateway_error(error)
        logger.warning(
            "Stripe %s failed: %s (HTTP %s, request %s)",
            operation,
            translated.code,
            error.http_status,
            error.request_id or "-",
        )
        raise translated from error


class StripeGateway:
    """Stripe: PaymentIntents charged off-session, Checkout in setup mode for new cards, refunds.

    ``client`` is for callers that build their own ``stripe.StripeClient``; otherwise one is made
    from ``settings.STRIPE_SECRET_KEY`` on each call (shared per key).
    """

    name = "stripe"

    def __init__(self, *, client: stripe.StripeClient | None = None) -> None:
        self._injected = client

    def _client(self) -> stripe.StripeClient:
        if self._injected is not None:
            return self._injected
        api_key = settings.STRIPE_SECRET_KEY
        if not api_key:
            raise GatewayError("provider_auth_failed", "Stripe is not set up: the server has no STRIPE_SECRET_KEY.")
        if http_client_factory is not None:
            return _new_client(api_key, http_client_factory())
        return _shared_client(api_key)

    # customers ---------------------------------------------------------------------------------

    def customer_sync(self, customer: Customer) -> str:
        """Create the customer at Stripe (first time) or bring its details up to date; returns its id.

        The create's Idempotency-Key is ``customer-<pk>-create``: if our save of the new id was lost,
        the next sync within Stripe's 24 hours gets the same Stripe customer back, not a second one.
        """
        client = self._client()
        with _stripe_errors("customer_sync"):
            if customer.stripe_id:
                update = cast("CustomerUpdateParams", _customer_params(customer, create=False))
                return client.v1.customers.update(customer.stripe_id, update).id
            create = cast("CustomerCreateParams", _customer_params(customer, create=True))
            return client.v1.customers.create(create, {"idempotency_key": f"customer-{customer.pk}-create"}).id

    # charges -----------------------------------------------------------------------------------

    def charge(self, *, attempt: PaymentAttempt, request: ChargeRequest) -> ChargeResult:
        client = self._client()
        params = _payment_intent_params(attempt, request)
        with _stripe_errors("charge"):
            try:
                pi = client.v1.payment_intents.create(params, {"idempotency_key": request.idempotency_key})
            except stripe.CardError as declined:
                return card_error_result(declined.json_body if isinstance(declined.json_body, Mapping) else {})
        return payment_intent_result(pi.to_dict())

    def charge_status(self, *, attempt: PaymentAttempt) -> ChargeResult:
        """How an attempt ended when its answer was lost (a crash or a timeout after the request left).

        Without a PaymentIntent id we first look for one among the customer's latest PaymentIntents
        (by our ``attempt_id`` metadata; lists, unlike search, show new objects at once), and only if
        there is none send the create again with the attempt's Idempotency-Key. Stripe then answers
        with the first request's result if it had one instead of charging again; if the first request
        never arrived, this one is the charge. Looking first matters because Stripe forgets keys after
        24 hours: a create repeated later would charge a second time.
        """
        if attempt.provider_payment_id:
            return self._retrieve(attempt.provider_payment_id, operation="charge_status")
        client = self._client()
        customer_id = attempt.customer.stripe_id
        if customer_id:
            with _stripe_errors("charge_status"):
                listed = client.v1.payment_intents.list({"customer": customer_id, "limit": 100})
            for pi in listed.to_dict().get("data") or []:
                if (pi.get("metadata") or {}).get("attempt_id") == str(attempt.pk):
                    return payment_intent_result(pi)
        return self.charge(attempt=attempt, request=_charge_request_for(attempt))

    def confirm(self, *, attempt: PaymentAttempt) -> ChargeResult:
        """The customer confirmed the payment on Stripe's page: read where the PaymentIntent is now."""
        if not attempt.provider_payment_id:
            return self.charge_status(attempt=attempt)
        return self._retrieve(attempt.provider_payment_id, operation="confirm")

    def _retrieve(self, payment_intent_id: str, *, operation: str) -> ChargeResult:
        client = self._client()
        with _stripe_errors(operation):
            pi = client.v1.payment_intents.retrieve(payment_intent_id)
        return payment_intent_result(pi.to_dict())

    # payment methods ---------------------------------------------------------------------------

    def setup_session(self, *, customer: Customer, success_url: str, cancel_url: str) -> SetupSession:
        """A Checkout page in setup mode: the card is entered at Stripe and saved to the customer there.

        Which methods it offers (card, SEPA debit …) is chosen in the Stripe dashboard for the currency.
        """
        client = self._client()
        params: SessionCreateParams = {
            "mode": "setup",
            "customer": _stripe_customer(customer),
            "currency": customer.currency.lower(),
            "locale": customer.language,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"customer_id": str(customer.pk)},
        }
        with _stripe_errors("setup_session"):
            session = client.v1.checkout.sessions.create(params)
        expires_at = dt.datetime.fromtimestamp(session.expires_at, tz=dt.UTC) if session.expires_at else None
        return SetupSession(url=session.url or "", provider_id=session.id, expires_at=expires_at)

    def method_details(self, *, provider_id: str) -> MethodDetails:
        client = self._client()
        with _stripe_errors("method_details"):
            pm = client.v1.payment_methods.retrieve(provider_id)
        return method_details_from(pm.to_dict())

    def method_attach(self, *, customer: Customer, token: str) -> MethodDetails:
        """Attach a ``pm_…`` from Stripe.js to the customer and make it what Stripe charges by default."""
        if not re.fullmatch(r"pm_[A-Za-z0-9_]+", token or ""):
            message = "This is not a Stripe payment method: enter the card again on the payment page."
            raise DomainError("invalid_payment_method", message, fields={"token": message})
        client = self._client()
        customer_id = _stripe_customer(customer)
        with _stripe_errors("method_attach"):
            pm = client.v1.payment_methods.attach(token, {"customer": customer_id})
            client.v1.customers.update(customer_id, {"invoice_settings": {"default_payment_method": token}})
        return method_details_from(pm.to_dict())

    def method_detach(self, *, method: PaymentMethod) -> None:
        client = self._client()
        with _stripe_errors("method_detach"):
            client.v1.payment_methods.detach(method.provider_id)

    # refunds -----------------------------------------------------------------------------------

    def refund(self, *, refund: Refund, payment: Payment, idempotency_key: str) -> RefundResult:
        attempt = payment.attempt
        params: RefundCreateParams = {
            "amount": to_minor_units(_amount(refund.amount), refund.currency),
            "reason": "requested_by_customer",
            "metadata": {"credit_note_id": str(refund.credit_note_id), "refund_id": str(refund.pk)},
        }
        if attempt is not None and attempt.provider_payment_id:
            params["payment_intent"] = attempt.provider_payment_id
        elif payment.provider_charge_id:
            params["charge"] = payment.provider_charge_id
        else:
            raise GatewayError(
                "provider_invalid_request",
                "This payment was not taken through Stripe, so Stripe cannot refund it: pay it back by bank transfer.",
            )
        client = self._client()
        with _stripe_errors("refund"):
            made = client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        return refund_result(made.to_dict())


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    """Our ``RefundResult`` for a Stripe Refund (API answer or ``refund.updated`` webhook object)."""
    status = refund.get("status") or ""
    refund_id = refund.get("id") or ""
    if status == "succeeded":
        return RefundResult("succeeded", refund_id)
    if status in ("failed", "canceled"):
        reason = refund.get("failure_reason") or ""
        message = _REFUND_FAILURES.get(reason, "The refund failed at Stripe.")
        return RefundResult("failed", refund_id, message)
    return RefundResult("pending", refund_id)


def _stripe_customer(customer: Customer) -> str:
    if not customer.stripe_id:
        raise GatewayError(
            "provider_invalid_request",
            f"{customer.name} is not known to Stripe yet: the customer must be sent to Stripe first.",
        )
    return customer.stripe_id


def _customer_params(customer: Customer, *, create: bool) -> dict[str, Any]:
    """Name, e-mail, address, language and our ids. An update sends blanks too, so that Stripe forgets them."""
    address = {
        "line1": customer.address_line1,
        "line2": customer.address_line2,
        "city": customer.city,
        "postal_code": customer.postal_code,
        "state": customer.region,
        "country": customer.country,
    }
    metadata = {"customer_id": str(customer.pk), "external_id": customer.external_id or ""}
    if create:
        address = {key: value for key, value in address.items() if value}
        metadata = {key: value for key, value in metadata.items() if value}
    return {
        "name": customer.name,
        "email": customer.email,
        "address": address,
        "preferred_locales": [customer.language],
        "metadata": metadata,
    }


def _payment_intent_params(attempt: PaymentAttempt, request: ChargeRequest) -> PaymentIntentCreateParams:
    """The PaymentIntent create. Only what the attempt fixes goes in, so a repeat is the same request.

    ``allow_redirects=never``: an off-session charge has nobody to redirect, and without it Stripe asks
    for a ``return_url`` because dynamic payment methods might redirect.
    """
    params: PaymentIntentCreateParams = {
        "amount": to_minor_units(request.amount, request.currency),
        "currency": request.currency.lower(),
        "customer": request.customer_provider_id,
        "payment_method": request.method_provider_id,
        "off_session": True,
        "confirm": True,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "metadata": {
            **request.metadata,
            "invoice_id": str(attempt.invoice_id),
            "attempt_id": str(attempt.pk),
            "attempt_number": str(attempt.number),
        },
    }
    if request.description:
        params["description"] = request.description
    return params


def _charge_request_for(attempt: PaymentAttempt) -> ChargeRequest:
    """The charge an attempt stands for, rebuilt from the attempt alone (for a lost answer)."""
    method = attempt.payment_method
    return ChargeRequest(
        amount=_amount(attempt.amount),
        currency=attempt.currency,
        customer_provider_id=attempt.customer.stripe_id,
        method_provider_id=method.provider_id if method is not None else "",
        idempotency_key=attempt.idempotency_key,
    )


if TYPE_CHECKING:
    from invoicing.gateways.base import Gateway

    _conforms: Gateway = StripeGateway()
