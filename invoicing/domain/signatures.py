"""Checking that a webhook really comes from Stripe (pure: no Django, no ``stripe``).

Stripe signs each delivery with the endpoint's signing secret: ``Stripe-Signature: t=<unix time>,v1=<hex>``
where ``v1`` is HMAC-SHA256 of ``"<t>.<raw body>"``. While a secret is being rolled, Stripe sends one
``v1`` per active secret, and we may hold several secrets (the old and the new one): a delivery is
genuine when any ``v1`` matches any of our secrets. ``v0`` (Stripe's test-mode legacy scheme) is never
trusted. A timestamp further than ``tolerance`` seconds from now, in either direction, is refused, so
that a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = ["SignatureError", "stripe_signature_header", "stripe_signature_verify"]


class SignatureError(Exception):
    """The delivery is refused. ``code`` is stable; ``message`` says why, without echoing any secret."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def stripe_signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload`` (for tests and local tools)."""
    return f"t={timestamp},v1={_sign(payload, secret, timestamp)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                timestamp = None
                break
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise SignatureError("signature_malformed", "The Stripe-Signature header has no timestamp or no v1 signature.")
    return timestamp, signatures


def stripe_signature_verify(*, payload: bytes, header: str, secrets: Sequence[str], now: int, tolerance: int) -> None:
    """Return if ``header`` signs ``payload`` with one of ``secrets`` within ``tolerance`` seconds; raise otherwise.

    Every candidate is compared in constant time, so the comparison leaks nothing about how close a
    forged signature came.
    """
    usable = [secret for secret in (s.strip() for s in secrets) if secret]
    if not usable:
        raise SignatureError(
            "webhook_secret_missing", "No webhook signing secret is configured: every delivery is refused."
        )
    if not header or not header.strip():
        raise SignatureError("signature_missing", "The request has no Stripe-Signature header.")
    timestamp, signatures = _parse(header)
    matched = False
    for secret in usable:
        expected = _sign(payload, secret, timestamp)
        for candidate in signatures:
            matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise SignatureError(
            "signature_mismatch", "The Stripe-Signature does not match the payload with our signing secret."
        )
    if tolerance > 0 and abs(now - timestamp) > tolerance:
        raise SignatureError(
            "timestamp_outside_tolerance",
            f"The signature's timestamp is more than {tolerance} seconds away from now: a replayed or delayed delivery.",
        )
