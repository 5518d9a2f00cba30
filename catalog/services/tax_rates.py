"""Tax rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from catalog.models import TaxRate
from catalog.models.tax_rate import NEEDS_EXEMPTION_REASON, TaxRateCategory

TAX_RATE_FIELDS = {
    "name",
    "country",
    "region",
    "percentage",
    "inclusive",
    "category",
    "product_tax_category",
    "exemption_reason",
    "active",
}


def tax_rate_validate(rate: TaxRate) -> None:
    rate.country = (rate.country or "").strip().upper()
    rate.region = (rate.region or "").strip().upper()
    if len(rate.country) != 2 or not rate.country.isalpha():
        raise DomainError(
            "invalid_country", "Use a two-letter country code such as NL, SE or DE.", fields={"country": "Two letters."}
        )
    if rate.category != TaxRateCategory.STANDARD and rate.percentage is not None and rate.percentage != Decimal(0):
        raise DomainError(
            "rate_must_be_zero",
            f"A {TaxRateCategory(rate.category).label.lower()} rate is 0%. Enter 0 or choose “Standard”.",
            fields={"percentage": "Must be 0 for this category."},
        )
    if rate.category in NEEDS_EXEMPTION_REASON and not rate.exemption_reason.strip():
        raise DomainError(
            "exemption_reason_required",
            "Exempt and reverse-charge rates need the reason printed on invoices, e.g. “Reverse charge”.",
            fields={"exemption_reason": "Required for this category."},
        )
    full_clean_or_raise(rate)


@transaction.atomic
def tax_rate_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> TaxRate:
    return record_create(
        TaxRate(created_at=now, updated_at=now),
        fields=fields,
        allowed=TAX_RATE_FIELDS,
        actor=actor,
        now=now,
        action="tax_rate.created",
        validate=tax_rate_validate,
    )


@transaction.atomic
def tax_rate_update(*, tax_rate: TaxRate, actor: Actor, now: dt.datetime, **changes: Any) -> TaxRate:
    """Finalized invoices keep the rate they were issued with, so a change only affects new invoices."""
    return record_update(
        TaxRate.objects.select_for_update().get(pk=tax_rate.pk),
        changes=changes,
        allowed=TAX_RATE_FIELDS,
        actor=actor,
        now=now,
        action="tax_rate.updated",
        validate=tax_rate_validate,
    )
