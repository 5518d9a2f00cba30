"""Products and usage metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from catalog.models import AGGREGATION_FIELDS, BillableMetric, Product
from catalog.models.metric import AGGREGATIONS_WITHOUT_PROPERTY

PRODUCT_FIELDS = {"name", "description", "unit_label", "tax_category", "active"}
METRIC_FIELDS = {"code", "name", "description", "aggregation", "property", "filters", "active"}


@transaction.atomic
def product_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> Product:
    return record_create(
        Product(created_at=now, updated_at=now),
        fields=fields,
        allowed=PRODUCT_FIELDS,
        actor=actor,
        now=now,
        action="product.created",
    )


@transaction.atomic
def product_update(*, product: Product, actor: Actor, now: dt.datetime, **changes: Any) -> Product:
    return record_update(
        Product.objects.select_for_update().get(pk=product.pk),
        changes=changes,
        allowed=PRODUCT_FIELDS,
        actor=actor,
        now=now,
        action="product.updated",
    )


def _validate_metric(metric: BillableMetric) -> None:
    full_clean_or_raise(metric)
    if metric.aggregation in AGGREGATIONS_WITHOUT_PROPERTY and metric.property:
        raise DomainError(
            "metric_property_not_used",
            "A metric that counts events does not read a property: leave “value property” empty.",
            fields={"property": "Leave empty for “Count of events”."},
        )
    filters = metric.filters
    if not isinstance(filters, dict) or not all(
        isinstance(k, str) and k and isinstance(v, list) and v and all(isinstance(x, str | int) for x in v)
        for k, v in filters.items()
    ):
        raise DomainError(
            "invalid_metric_filters",
            'Property filters must map a property name to a list of values, e.g. {"region": ["eu-west"]}.',
            fields={"filters": 'Use {"property": ["value", …]}.'},
        )


@transaction.atomic
def metric_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> BillableMetric:
    return record_create(
        BillableMetric(created_at=now, updated_at=now),
        fields=fields,
        allowed=METRIC_FIELDS,
        actor=actor,
        now=now,
        action="metric.created",
        validate=_validate_metric,
    )


@transaction.atomic
def metric_update(*, metric: BillableMetric, actor: Actor, now: dt.datetime, **changes: Any) -> BillableMetric:
    """How a metric counts cannot change while a published price bills by it: that would rewrite agreed prices."""
    return record_update(
        BillableMetric.objects.select_for_update().get(pk=metric.pk),
        changes=changes,
        allowed=METRIC_FIELDS,
        actor=actor,
        now=now,
        action="metric.updated",
        validate=_validate_metric,
        check=_check_metric_not_in_use,
    )


def _check_metric_not_in_use(metric: BillableMetric, changed: list[str]) -> None:
    locked = sorted(set(changed) & AGGREGATION_FIELDS)
    if locked and metric.prices.filter(plan_version__status="published").exists():
        raise DomainError(
            "metric_in_use",
            f"“{metric.name}” is used by published prices, so its {', '.join(locked)} cannot change. "
            "Create a new metric and use it in a new plan version instead.",
            fields={name: "Used by published prices." for name in locked},
        )
