"""Prices: create, change while editable, and turn into the pricing engine's definition."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, changed_fields, snapshot
from billing_site.services.validation import apply_changes, full_clean_or_raise
from catalog.domain import pricing
from catalog.models import PlanVersion, Price, RateWindow, Tier, UsageType

PRICE_FIELDS = {
    "plan_version",
    "product",
    "nickname",
    "currency",
    "pricing_model",
    "unit_amount",
    "flat_amount",
    "package_size",
    "package_rounding",
    "minimum_amount",
    "interval",
    "interval_count",
    "usage_type",
    "metric",
    "trial_days",
    "time_zone",
    "active",
}
# What may still change on a price of a published plan version: nothing that alters an amount.
PUBLISHED_PRICE_FIELDS = {"nickname", "active"}


def _field(data: Mapping[str, Any] | models.Model, *names: str) -> Any:
    """Read a tier or window from a saved row or from input rows (``start`` or ``start_time``)."""
    for name in names:
        value = data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)
        if value is not None:
            return value
    return None


def _tier_from(data: Mapping[str, Any] | Tier) -> pricing.Tier:
    up_to = _field(data, "up_to")
    return pricing.Tier(
        up_to=None if up_to is None else Decimal(up_to),
        unit_amount=Decimal(_field(data, "unit_amount") or 0),
        flat_amount=Decimal(_field(data, "flat_amount") or 0),
    )


def _window_from(data: Mapping[str, Any] | RateWindow) -> pricing.RateWindow:
    start, end = _field(data, "start_time", "start"), _field(data, "end_time", "end")
    if not isinstance(start, dt.time) or not isinstance(end, dt.time):
        raise DomainError(
            "invalid_rate_window",
            "Each time-of-use window needs a start and an end time, e.g. 07:00 and 23:00.",
            fields={"rate_windows": "Start and end times are required."},
        )
    return pricing.RateWindow(
        name=str(_field(data, "name") or ""),
        start=start,
        end=end,
        unit_amount=Decimal(_field(data, "unit_amount") or 0),
    )


def price_spec(
    price: Price,
    *,
    tiers: Iterable[Mapping[str, Any] | Tier] | None = None,
    rate_windows: Iterable[Mapping[str, Any] | RateWindow] | None = None,
) -> pricing.PriceSpec:
    """The pricing engine's view of a price (saved, or being edited with the given tiers)."""
    if tiers is None:
        tiers = price.tiers.all() if price.pk else []
    if rate_windows is None:
        rate_windows = price.rate_windows.all() if price.pk else []
    return pricing.PriceSpec(
        pricing_model=price.pricing_model,
        currency=price.currency,
        unit_amount=price.unit_amount,
        flat_amount=price.flat_amount,
        package_size=price.package_size,
        package_rounding=price.package_rounding,
        tiers=tuple(_tier_from(t) for t in tiers),
        minimum_amount=price.minimum_amount,
        rate_windows=tuple(_window_from(w) for w in rate_windows),
    )


def price_validate(
    price: Price,
    *,
    tiers: Iterable[Mapping[str, Any] | Tier] | None = None,
    rate_windows: Iterable[Mapping[str, Any] | RateWindow] | None = None,
) -> pricing.PriceSpec:
    """Every rule a price must follow, with messages a pricing person understands."""
    if price.currency:
        price.currency = price.currency.strip().upper()
    if price.plan_version_id:
        # Read the status under a row lock: a version published a moment ago must not gain prices.
        price.plan_version = (
            PlanVersion.objects.select_for_update().select_related("plan").get(pk=price.plan_version_id)
        )
        if not price.plan_version.is_editable:
            raise DomainError(
                "plan_version_published",
                f"{price.plan_version} is published and cannot be edited. Start a new draft version to change prices.",
            )
    if price.product_id is None:
        raise DomainError("product_required", "Choose the product this price is for.", fields={"product": "Required."})
    if not price.product.active:
        raise DomainError(
            "product_inactive", f"The product “{price.product}” is inactive.", fields={"product": "Inactive product."}
        )
    if price.usage_type == UsageType.METERED:
        if price.metric_id is None:
            raise DomainError(
                "metric_required",
                "A metered price needs a usage metric: choose which meter's usage is billed.",
                fields={"metric": "Required for metered prices."},
            )
    elif price.metric_id is not None:
        raise DomainError(
            "metric_not_allowed",
            "Only metered prices use a usage metric. Choose “Metered” or clear the metric.",
            fields={"metric": "Only for metered prices."},
        )
    full_clean_or_raise(price)
    spec = price_spec(price, tiers=tiers, rate_windows=rate_windows)
    pricing.validate_price_spec(spec)
    if spec.rate_windows and price.usage_type != UsageType.METERED:
        raise DomainError(
            "time_of_use_needs_metered",
            "Time-of-use windows only apply to metered prices.",
            fields={"rate_windows": "Only for metered prices."},
        )
    try:
        zoneinfo.ZoneInfo(price.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError(
            "invalid_time_zone",
            f"“{price.time_zone}” is not a time zone we know. Use a name such as Europe/Amsterdam or UTC.",
            fields={"time_zone": "Unknown time zone."},
        ) from exc
    return spec


def _replace_children(price: Price, tiers, rate_windows) -> None:
    if tiers is not None:
        price.tiers.all().delete()
        Tier.objects.bulk_create(
            Tier(price=price, position=i, up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount)
            for i, t in enumerate(tiers)
        )
    if rate_windows is not None:
        price.rate_windows.all().delete()
        RateWindow.objects.bulk_create(
            RateWindow(price=price, name=w.name, start_time=w.start, end_time=w.end, unit_amount=w.unit_amount)
            for w in rate_windows
        )


def _price_snapshot(price: Price) -> dict[str, Any]:
    data = snapshot(price)
    data["tiers"] = [
        {"up_to": t.up_to, "unit_amount": t.unit_amount, "flat_amount": t.flat_amount} for t in price.tiers.all()
    ]
    data["rate_windows"] = [
        {"name": w.name, "start": w.start_time, "end": w.end_time, "unit_amount": w.unit_amount}
        for w in price.rate_windows.all()
    ]
    return data


@transaction.atomic
def price_create(
    *,
    actor: Actor,
    now: dt.datetime,
    tiers: Iterable[Mapping[str, Any]] = (),
    rate_windows: Iterable[Mapping[str, Any]] = (),
    **fields: Any,
) -> Price:
    price = Price(created_at=now, updated_at=now)
    apply_changes(price, fields, allowed=PRICE_FIELDS)
    spec = price_validate(price, tiers=list(tiers), rate_windows=list(rate_windows))
    price.save()
    _replace_children(price, spec.tiers, spec.rate_windows)
    audit_record(actor=actor, action="price.created", obj=price, now=now, after=_price_snapshot(price))
    return price


@transaction.atomic
def price_update(
    *,
    price: Price,
    actor: Actor,
    now: dt.datetime,
    tiers: Iterable[Mapping[str, Any]] | None = None,
    rate_windows: Iterable[Mapping[str, Any]] | None = None,
    **changes: Any,
) -> Price:
    """Change a price while it is editable. ``tiers``/``rate_windows`` replace the old ones when given."""
    price = Price.objects.select_for_update(of=("self",)).select_related("plan_version", "product").get(pk=price.pk)
    before = _price_snapshot(price)
    if not price.is_editable:
        editable_now = PUBLISHED_PRICE_FIELDS
        if tiers is not None or rate_windows is not None or set(changes) - editable_now:
            raise DomainError(
                "plan_version_published",
                f"{price.plan_version} is published, so its prices cannot change (only the name on the invoice and "
                "whether the price is active). Start a new draft version to change amounts.",
            )
    changed = apply_changes(price, changes, allowed=PRICE_FIELDS)
    tiers = list(tiers) if tiers is not None else None
    rate_windows = list(rate_windows) if rate_windows is not None else None
    if not changed and tiers is None and rate_windows is None:
        return price
    if price.is_editable:
        spec = price_validate(price, tiers=tiers, rate_windows=rate_windows)
    else:
        full_clean_or_raise(price)
    price.updated_at = now
    price.save()
    if price.is_editable:
        _replace_children(
            price, spec.tiers if tiers is not None else None, spec.rate_windows if rate_windows is not None else None
        )
    old, new = changed_fields(before, _price_snapshot(price))
    audit_record(actor=actor, action="price.updated", obj=price, now=now, before=old, after=new)
    return price


@transaction.atomic
def price_delete(*, price: Price, actor: Actor, now: dt.datetime) -> None:
    """Remove a price from a draft plan version (a published one keeps what was sold)."""
    price = Price.objects.select_for_update(of=("self",)).select_related("plan_version", "product").get(pk=price.pk)
    if price.plan_version is None:
        raise DomainError(
            "addon_not_deletable",
            f"“{price}” is an add-on that subscriptions may use. Deactivate it instead of deleting it.",
        )
    if not price.plan_version.is_editable:
        raise DomainError(
            "plan_version_published",
            f"{price.plan_version} is published, so its prices cannot be deleted. Deactivate the price instead.",
        )
    audit_record(actor=actor, action="price.deleted", obj=price, now=now, before=_price_snapshot(price))
    price.delete()
