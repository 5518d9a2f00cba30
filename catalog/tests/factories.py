"""Catalog test data, built through the real services so that every invariant holds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing_site.actors import Actor
from catalog.models import BillableMetric, Plan, PlanVersion, Price, Product
from catalog.services.plans import plan_create, plan_version_publish
from catalog.services.prices import price_create
from catalog.services.products import metric_create, product_create

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTOR = Actor.system("factories")

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_product(**fields: Any) -> Product:
    fields.setdefault("name", f"Product {_next()}")
    return product_create(actor=ACTOR, now=T0, **fields)


def make_metric(**fields: Any) -> BillableMetric:
    n = _next()
    fields.setdefault("code", f"metric_{n}")
    fields.setdefault("name", f"Metric {n}")
    fields.setdefault("aggregation", "sum")
    return metric_create(actor=ACTOR, now=T0, **fields)


def make_plan(**fields: Any) -> Plan:
    n = _next()
    fields.setdefault("code", f"plan-{n}")
    fields.setdefault("name", f"Plan {n}")
    return plan_create(actor=ACTOR, now=T0, **fields)


def draft_version(plan: Plan | None = None) -> PlanVersion:
    plan = plan or make_plan()
    return plan.versions.get(status="draft")


def make_price(**fields: Any) -> Price:
    """A per-unit EUR monthly price of 10.00 on a new add-on product, unless told otherwise."""
    if "product" not in fields:
        fields["product"] = make_product()
    fields.setdefault("currency", "EUR")
    fields.setdefault("pricing_model", "per_unit")
    if fields["pricing_model"] in ("per_unit", "package"):
        fields.setdefault("unit_amount", Decimal("10.00"))
    if fields["pricing_model"] == "package":
        fields.setdefault("package_size", 10)
    if fields["pricing_model"] == "flat":
        fields.setdefault("flat_amount", Decimal("10.00"))
    return price_create(actor=ACTOR, now=T0, **fields)


STRIPE_GRADUATED_TIERS = [
    {"up_to": Decimal(5), "unit_amount": Decimal("7.00"), "flat_amount": Decimal(0)},
    {"up_to": Decimal(10), "unit_amount": Decimal("6.50"), "flat_amount": Decimal(0)},
    {"up_to": None, "unit_amount": Decimal("6.00"), "flat_amount": Decimal(0)},
]


def make_graduated_price(**fields: Any) -> Price:
    fields.setdefault("tiers", STRIPE_GRADUATED_TIERS)
    return make_price(pricing_model="graduated", **fields)


def make_published_version(**plan_fields: Any) -> PlanVersion:
    version = draft_version(make_plan(**plan_fields))
    make_price(plan_version=version, unit_amount=Decimal("29.00"))
    return plan_version_publish(version=version, actor=ACTOR, now=T0)
