"""Products and usage metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, changed_fields, snapshot
from billing_site.services.validation import apply_changes, full_clean_or_raise
from catalog.models import AGGREGATION_FIELDS, BillableMetric, Product
from catalog.models.metric import AGGREGATIONS_WITHOUT_PROPERTY

PRODUCT_FIELDS = {"name", "description", "unit_label", "tax_category", "active"}
METRIC_FIELDS = {"code", "name", "description", "aggregation", "property", "filters", "active"}


@transaction.atomic
def product_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> Product:
    product = Product(created_at=now, updated_at=now)
    apply_changes(product, fields, allowed=PRODUCT_FIELDS)
    full_clean_or_raise(product)
    product.save()
    audit_record(actor=actor, action="product.created", obj=product, now=now, after=snapshot(product))
    return product


@transaction.atomic
def product_update(*, product: Product, actor: Actor, now: dt.datetime, **changes: Any) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product)
    if not apply_changes(product, changes, allowed=PRODUCT_FIELDS):
        return product
    full_clean_or_raise(product)
    product.updated_at = now
    product.save()
    old, new = changed_fields(before, snapshot(product))
    audit_record(actor=actor, action="product.updated", obj=product, now=now, before=old, after=new)
    return product


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
    metric = BillableMetric(created_at=now, updated_at=now)
    apply_changes(metric, fields, allowed=METRIC_FIELDS)
    _validate_metric(metric)
    metric.save()
    audit_record(actor=actor, action="metric.created", obj=metric, now=now, after=snapshot(metric))
    return metric


@transaction.atomic
def metric_update(*, metric: BillableMetric, actor: Actor, now: dt.datetime, **changes: Any) -> BillableMetric:
    """How a metric counts cannot change while a published price bills by it: that would rewrite agreed prices."""
    metric = BillableMetric.objects.select_for_update().get(pk=metric.pk)
    before = snapshot(metric)
    changed = apply_changes(metric, changes, allowed=METRIC_FIELDS)
    if not changed:
        return metric
    locked = sorted(set(changed) & AGGREGATION_FIELDS)
    if locked and metric.prices.filter(plan_version__status="published").exists():
        raise DomainError(
            "metric_in_use",
            f"“{metric.name}” is used by published prices, so its {', '.join(locked)} cannot change. "
            "Create a new metric and use it in a new plan version instead.",
            fields={name: "Used by published prices." for name in locked},
        )
    _validate_metric(metric)
    metric.updated_at = now
    metric.save()
    old, new = changed_fields(before, snapshot(metric))
    audit_record(actor=actor, action="metric.updated", obj=metric, now=now, before=old, after=new)
    return metric
