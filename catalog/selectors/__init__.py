"""Reads of the catalog."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from catalog.domain import pricing
from catalog.models import Plan, PlanVersion, Price
from catalog.services.prices import price_spec


def price_list() -> QuerySet[Price]:
    return Price.objects.select_related("product", "plan_version__plan", "metric").prefetch_related(
        "tiers", "rate_windows"
    )


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.prefetch_related(
        Prefetch(
            "versions",
            queryset=PlanVersion.objects.order_by("-number").prefetch_related(
                Prefetch("prices", queryset=price_list())
            ),
        )
    )


def price_quote(*, price: Price, quantity: Decimal) -> pricing.PriceBreakdown:
    """What ``quantity`` units cost at this price, with the per-tier breakdown (no time-of-use split)."""
    return pricing.price_amount(price_spec(price), quantity)
