"""Payment providers behind one interface (``base.Gateway``); ``gateway_for`` picks one by name."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from invoicing.gateways.base import (
    ChargeRequest,
    ChargeResult,
    Gateway,
    GatewayError,
    MethodDetails,
    RefundResult,
    SetupSession,
)

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "Gateway",
    "GatewayError",
    "MethodDetails",
    "RefundResult",
    "SetupSession",
    "default_provider",
    "gateway_for",
]


def default_provider() -> str:
    """The provider new payment methods go to: ``PAYMENT_GATEWAY`` (stripe, simulated or manual)."""
    return settings.PAYMENT_GATEWAY


def gateway_for(provider: str | None = None) -> Gateway:
    """The gateway of ``provider`` (default: the configured one). Only the Stripe module imports ``stripe``."""
    name = provider or default_provider()
    if name == "simulated":
        from invoicing.gateways.simulated import SimulatedGateway

        return SimulatedGateway()
    if name == "stripe":
        from invoicing.gateways.stripe_gateway import StripeGateway

        return StripeGateway()
    raise ImproperlyConfigured(f"No payment gateway charges through {name!r}.")
