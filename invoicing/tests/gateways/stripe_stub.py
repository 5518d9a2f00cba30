"""A fake HTTP layer under Stripe's real Python SDK: records each request, replays canned JSON answers.

The SDK still builds every request (paths, form encoding, headers, Idempotency-Key, API version) and
still reads every answer (objects, error classes by HTTP status), so tests see what production does,
without the network::

    stub = StripeStub().install(monkeypatch)          # every StripeGateway() now talks to this stub
    stub.add("POST", "/v1/payment_intents", payment_intent("pi_1", "succeeded", latest_charge="ch_1"))
    stub.add_error("POST", "/v1/payment_intents", status=402, type="card_error", code="card_declined",
                   decline_code="insufficient_funds", payment_intent=payment_intent("pi_2", "requires_payment_method"))
    stub.add_connection_error("GET", "/v1/payment_intents/pi_1", times=3)

    StripeGateway().charge(attempt=..., request=...)
    assert stub.last.form["amount"] == "7950"
    assert stub.last.idempotency_key == "invoice-7-attempt-1"

Answers are matched by method and path (without the query string), first added first used; ``times``
says how often an answer is given (``None``: every time). ``body`` may be a function of the request,
for answers that echo what was sent. A request that has no answer left fails the test, naming it.

The gateway lets the SDK retry connection errors, 409 and 5xx answers twice (three tries, with the
same Idempotency-Key; the stub does not sleep between them): queue those with ``times=3``.

Object builders (``payment_intent``, ``card_payment_method``, ``list_of``, ``error_body``) give the
JSON shapes Stripe sends, for the stub and for webhook payloads alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from requests.structures import CaseInsensitiveDict

Body = Mapping[str, Any] | Callable[["StubRequest"], Mapping[str, Any]]


@dataclass(frozen=True)
class StubRequest:
    """One request as it left the SDK."""

    method: str  # "GET", "POST", "DELETE"
    path: str  # "/v1/payment_intents/pi_1"
    form: dict[str, str]  # the form body (POST) or query string (GET), flat: {"metadata[invoice_id]": "7"}
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")

    @property
    def stripe_version(self) -> str | None:
        return self.headers.get("Stripe-Version")

    @property
    def api_key(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


@dataclass
class _Answer:
    method: str
    path: str
    status: int
    body: Body | None
    headers: dict[str, str]
    times: int | None
    connection_error: bool = False
    used: int = field(default=0)

    @property
    def left(self) -> bool:
        return self.times is None or self.used < self.times


class StripeStub(stripe.HTTPClient):
    """An ``stripe.HTTPClient`` that answers from a list of canned answers and records every request."""

    name = "stripe-stub"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[StubRequest] = []
        self._answers: list[_Answer] = []

    # --- set-up ------------------------------------------------------------------------------------

    def install(self, monkeypatch: Any, *, api_key: str = "sk_test_stub") -> StripeStub:
        """Make every ``StripeGateway()`` use this stub and ``api_key`` for the rest of the test."""
        from django.conf import settings

        from invoicing.gateways import stripe_gateway

        monkeypatch.setattr(stripe_gateway, "http_client_factory", lambda: self)
        monkeypatch.setattr(settings, "STRIPE_SECRET_KEY", api_key)
        return self

    def add(
        self,
        method: str,
        path: str,
        body: Body | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> StripeStub:
        """Answer ``method path`` with ``body`` (JSON) and ``status``."""
        self._answers.append(_Answer(method.upper(), path, status, body, dict(headers or {}), times))
        return self

    def add_error(
        self,
        method: str,
        path: str,
        *,
        status: int,
        type: str,  # Stripe's own name
        code: str | None = None,
        message: str | None = None,
        decline_code: str | None = None,
        payment_intent: Mapping[str, Any] | None = None,
        charge: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> StripeStub:
        """Answer with Stripe's error shape: ``{"error": {"type": …, "code": …, …}}`` and an error status."""
        body = error_body(
            type,
            code=code,
            message=message,
            decline_code=decline_code,
            payment_intent=payment_intent,
            charge=charge,
            param=param,
        )
        return self.add(method, path, body, status=status, headers=headers, times=times)

    def add_connection_error(self, method: str, path: str, *, times: int | None = 1) -> StripeStub:
        """Fail as a real HTTP client does when Stripe cannot be reached (the SDK's ``APIConnectionError``)."""
        self._answers.append(_Answer(method.upper(), path, 0, None, {}, times, connection_error=True))
        return self

    # --- what happened -----------------------------------------------------------------------------

    @property
    def last(self) -> StubRequest:
        assert self.requests, "No request reached the Stripe stub."
        return self.requests[-1]

    def requests_to(self, method: str, path: str) -> list[StubRequest]:
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def assert_all_used(self) -> None:
        """Every answer that was added was asked for (answers with ``times=None`` need one use)."""
        unused = [f"{a.method} {a.path}" for a in self._answers if a.used == 0 or (a.times and a.used < a.times)]
        assert not unused, f"Answers never asked for: {unused}"

    # --- the HTTPClient interface the SDK calls --------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        raw = post_data.decode() if isinstance(post_data, bytes) else (post_data or parts.query)
        recorded = StubRequest(
            method=method.upper(),
            path=parts.path,
            form=dict(parse_qsl(raw, keep_blank_values=True)),
            headers=dict(headers or {}),
        )
        self.requests.append(recorded)
        answer = self._next_answer(recorded)
        answer.used += 1
        if answer.connection_error:
            raise stripe.APIConnectionError(
                "Unexpected error communicating with Stripe (stubbed connection failure).", should_retry=True
            )
        body = answer.body(recorded) if callable(answer.body) else answer.body
        response_headers = CaseInsensitiveDict({"Request-Id": f"req_stub_{len(self.requests)}", **answer.headers})
        return json.dumps(body or {}), answer.status, response_headers

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise AssertionError("The Stripe stub does not stream.")

    def close(self) -> None:
        return None

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0

    def _next_answer(self, request: StubRequest) -> _Answer:
        for answer in self._answers:
            if answer.method == request.method and answer.path == request.path and answer.left:
                return answer
        queued = [f"{a.method} {a.path}" for a in self._answers if a.left]
        raise AssertionError(f"The Stripe stub has no answer for {request.method} {request.path}; left: {queued}")


# --- Stripe's JSON shapes ----------------------------------------------------------------------------


def payment_intent(
    id: str = "pi_stub",
    status: str = "succeeded",
    *,
    amount: int = 7950,
    currency: str = "eur",
    customer: str | None = "cus_stub",
    payment_method: str | None = "pm_stub",
    latest_charge: str | None = None,
    last_payment_error: Mapping[str, Any] | None = None,
    next_action: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    created: int = 1768469400,
) -> dict[str, Any]:
    """A PaymentIntent as the API (or ``data.object`` of a ``payment_intent.*`` event) gives it."""
    return {
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "payment_method": payment_method,
        "status": status,
        "latest_charge": latest_charge,
        "last_payment_error": dict(last_payment_error) if last_payment_error else None,
        "next_action": dict(next_action) if next_action else None,
        "metadata": dict(metadata or {}),
        "created": created,
        "livemode": False,
    }


def card_payment_method(
    id: str = "pm_stub",
    *,
    brand: str = "visa",
    last4: str = "4242",
    exp_month: int = 12,
    exp_year: int = 2030,
    customer: str | None = "cus_stub",
) -> dict[str, Any]:
    """A card PaymentMethod with the fields Stripe really sends that we must never keep (fingerprint …)."""
    return {
        "id": id,
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com", "address": {"country": "NL"}},
        "card": {
            "brand": brand,
            "last4": last4,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": "Xt5EWLLDS7FJjR1c",
            "funding": "credit",
            "country": "US",
            "checks": {"cvc_check": "pass"},
        },
        "livemode": False,
    }


def list_of(*objects: Mapping[str, Any], url: str = "/v1/payment_intents") -> dict[str, Any]:
    """A list answer (``GET /v1/...``)."""
    return {"object": "list", "url": url, "has_more": False, "data": [dict(o) for o in objects]}


def error_body(
    type: str,  # Stripe's own name: card_error, invalid_request_error, api_error, idempotency_error
    *,
    code: str | None = None,
    message: str | None = None,
    decline_code: str | None = None,
    payment_intent: Mapping[str, Any] | None = None,
    charge: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """Stripe's error JSON; a card error carries the PaymentIntent (with ``last_payment_error`` set) as Stripe does."""
    error: dict[str, Any] = {"type": type, "message": message or f"Stubbed {type}."}
    for key, value in (("code", code), ("decline_code", decline_code), ("charge", charge), ("param", param)):
        if value is not None:
            error[key] = value
    if payment_intent is not None:
        intent = dict(payment_intent)
        if intent.get("last_payment_error") is None:
            intent["last_payment_error"] = {k: v for k, v in error.items() if k != "payment_intent"}
        error["payment_intent"] = intent
    return {"error": error}
