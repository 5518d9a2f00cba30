"""Stripe webhook test data: events shaped like Stripe's, signed the way Stripe signs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from invoicing.domain.signatures import stripe_signature_header

SECRET = "whsec_test_0123456789abcdef"
#: The wall clock of these tests, and the provider times of the events (seconds since 1970).
NOW = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
URL = "/webhooks/stripe"


def stripe_event(type: str, obj: dict[str, Any], *, id: str = "evt_1", created: int = NOW_TS - 60) -> dict[str, Any]:
    """An event as Stripe sends it (API version of the gateway, test mode)."""
    return {
        "id": id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, indent=2).encode()


def deliver(client, event: dict[str, Any] | bytes, *, secret: str = SECRET, timestamp: int = NOW_TS, header=None):
    """POST the event to the endpoint as Stripe would: the raw JSON body and its Stripe-Signature."""
    body = event if isinstance(event, bytes) else body_of(event)
    if header is None:
        header = stripe_signature_header(body, secret, timestamp)
    extra = {} if header is False else {"HTTP_STRIPE_SIGNATURE": header}
    return client.post(URL, data=body, content_type="application/json", **extra)
