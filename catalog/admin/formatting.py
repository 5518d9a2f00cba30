"""Short texts that describe a price to a person (lists, banners, the calculator)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from billing_site.errors import DomainError
from billing_site.money import format_money, format_unit_amount
from catalog.admin.base import plain_number
from catalog.models import PlanVersion, Price


def language() -> str:
    return get_language() or "en"


def unit_amount_text(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    try:
        return format_unit_amount(Decimal(amount), currency, language())
    except DomainError:
        return f"{currency} {plain_number(Decimal(amount), 2)}"


def money_text(amount: Decimal, currency: str) -> str:
    try:
        return format_money(Decimal(amount), currency, language())
    except DomainError:
        return f"{currency} {plain_number(Decimal(amount), 2)}"


def interval_text(price: Price) -> str:
    texts = {
        "day": (_("daily"), _("every %(count)s days")),
        "week": (_("weekly"), _("every %(count)s weeks")),
        "month": (_("monthly"), _("every %(count)s months")),
        "year": (_("yearly"), _("every %(count)s years")),
    }
    once, every = texts.get(price.interval, (price.interval, price.interval))
    return once if price.interval_count == 1 else every % {"count": price.interval_count}


def price_summary(price: Price) -> str:
    """E.g. "€7.00 per seat", "3 tiers, from €7.00 per seat", "€5.00 per 100 GB"."""
    currency = price.currency
    unit = (price.product.unit_label if price.product_id else "") or _("unit")
    model = price.pricing_model
    if model == "flat":
        text = _("%(amount)s per period") % {"amount": unit_amount_text(price.flat_amount, currency)}
    elif model == "per_unit":
        text = _("%(amount)s per %(unit)s") % {"amount": unit_amount_text(price.unit_amount, currency), "unit": unit}
    elif model == "package":
        text = _("%(amount)s per %(size)s × %(unit)s") % {
            "amount": unit_amount_text(price.unit_amount, currency),
            "size": price.package_size or "?",
            "unit": unit,
        }
    else:
        tiers = list(price.tiers.all())
        first = tiers[0].unit_amount if tiers else None
        text = _("%(count)s tiers, from %(amount)s per %(unit)s") % {
            "count": len(tiers),
            "amount": unit_amount_text(first, currency),
            "unit": unit,
        }
    windows = list(price.rate_windows.all())
    if windows:
        text += " · " + _("time-of-use: %(names)s") % {"names": ", ".join(w.name for w in windows)}
    if price.minimum_amount:
        text += " · " + _("minimum %(amount)s") % {"amount": money_text(price.minimum_amount, currency)}
    return text


def status_badge(version: PlanVersion):
    """A short coloured status ("Draft", "Published", "Archived") with the full wording as its tooltip."""
    short = {"draft": _("Draft"), "published": _("Published"), "archived": _("Archived")}
    return format_html(
        '<span class="catalog-status catalog-status-{}" title="{}">{}</span>',
        version.status,
        version.get_status_display(),
        short.get(version.status, version.get_status_display()),
    )
