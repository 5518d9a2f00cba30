"""POST data for admin forms, as the browser sends it (management forms included)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.test import Client

from catalog.models import Price


def inline(prefix: str, rows: Iterable[Mapping[str, Any]] = (), *, initial: int = 0) -> dict[str, str]:
    rows = list(rows)
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{index}-{name}"] = "" if value is None else str(value)
    return data


THREE_TIERS = [
    {"up_to": "5", "unit_amount": "7.00", "flat_amount": "0"},
    {"up_to": "10", "unit_amount": "6.50", "flat_amount": "0"},
    {"up_to": "", "unit_amount": "6.00", "flat_amount": "0"},
]


def price_form(*, product, tiers=THREE_TIERS, windows=(), **fields: Any) -> dict[str, str]:
    """A graduated EUR monthly price of ``product`` with Stripe's example tiers, unless told otherwise."""
    data = {
        "plan_version": "",
        "product": str(product.pk),
        "nickname": "",
        "currency": "EUR",
        "active": "on",
        "pricing_model": "graduated",
        "unit_amount": "",
        "flat_amount": "",
        "package_size": "",
        "package_rounding": "up",
        "minimum_amount": "",
        "interval": "month",
        "interval_count": "1",
        "usage_type": "licensed",
        "metric": "",
        "trial_days": "0",
        "time_zone": "UTC",
        "_save": "Save",
    }
    data.update({name: "" if value is None else str(value) for name, value in fields.items()})
    data.update(inline("tiers", tiers))
    data.update(inline("rate_windows", windows))
    return data


def change_form_of(price: Price, **changes: Any) -> dict[str, str]:
    """What the change page of ``price`` posts back unchanged, with ``changes`` applied."""
    tiers = [
        {
            "id": t.pk,
            "price": price.pk,
            "up_to": t.up_to if t.up_to is not None else "",
            "unit_amount": t.unit_amount,
            "flat_amount": t.flat_amount,
        }
        for t in price.tiers.all()
    ]
    windows = [
        {
            "id": w.pk,
            "price": price.pk,
            "name": w.name,
            "start_time": f"{w.start_time:%H:%M}",
            "end_time": f"{w.end_time:%H:%M}",
            "unit_amount": w.unit_amount,
        }
        for w in price.rate_windows.all()
    ]
    data = price_form(
        product=price.product,
        tiers=[],
        plan_version=price.plan_version_id or "",
        nickname=price.nickname,
        currency=price.currency,
        pricing_model=price.pricing_model,
        unit_amount=price.unit_amount,
        flat_amount=price.flat_amount,
        package_size=price.package_size,
        package_rounding=price.package_rounding,
        minimum_amount=price.minimum_amount,
        interval=price.interval,
        interval_count=price.interval_count,
        usage_type=price.usage_type,
        metric=price.metric_id or "",
        trial_days=price.trial_days,
        time_zone=price.time_zone,
    )
    data.update(inline("tiers", tiers, initial=len(tiers)))
    data.update(inline("rate_windows", windows, initial=len(windows)))
    if not price.active:
        data.pop("active")
    data.update({name: "" if value is None else str(value) for name, value in changes.items()})
    return data


def logged_in(client: Client, user) -> Client:
    client.force_login(user)
    return client
