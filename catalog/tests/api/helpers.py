"""Helpers for the catalog API tests: the error shape, and proof that nothing else changed."""

from __future__ import annotations

from billing_site.models import AuditEvent
from catalog.models import (
    BillableMetric,
    Coupon,
    Plan,
    PlanVersion,
    Price,
    Product,
    PromotionCode,
    RateWindow,
    TaxRate,
    Tier,
)

API = "/api/v1"


def error_of(response) -> dict:
    """The one error shape, checked on every failure a test looks at."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"], body
    return body["error"]


def catalog_counts() -> dict[str, int]:
    """Rows of everything a catalog write could create: a refused request must leave all of them alone."""
    models = [Product, BillableMetric, Plan, PlanVersion, Price, Tier, RateWindow, Coupon, PromotionCode, TaxRate]
    counts = {model.__name__: model.objects.count() for model in models}
    counts["AuditEvent"] = AuditEvent.objects.count()
    return counts
