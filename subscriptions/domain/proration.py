"""Proration: what a mid-period change or cancellation credits and charges.

Pure Python: no Django, no I/O. The change, preview and cancel services call these functions;
they decide nothing about *when* lines are invoiced (``create_prorations``, ``always_invoice``),
only *what* the lines are.

Rules (DESIGN.md §4 subscriptions, decided)
--------------------------------------------
* Proration is **per second** (to the microsecond, in fact) over the current period:
  the fraction is (time from ``at`` to the period end) / (length of the period), exact.
* A change **credits the unused time of what was actually billed** for each old item (its
  ``amount_billed`` for the whole period, after discounts of the pricing engine) and **charges
  the remaining time at the new price** for each new item. A cancellation with a prorated
  credit only credits.
* Each line is rounded separately with ``round_money`` (ROUND_HALF_UP to the currency's minor
  unit); lines whose rounded amount is zero are left out. Totals are sums of these lines.
* Every line's service period is ``[at, period_end)``.
* Metered items never prorate (usage is billed in arrears): callers pass licensed items only.

Line quantities and unit amounts
--------------------------------
A line carries the item's quantity and ``unit_amount = amount / quantity`` quantized to 12
decimals (the finest unit price the product stores), so "3 × 4.833333333333" explains a
credit of 14.50 for three seats. ``quantity × unit_amount`` equals ``amount`` to within
``quantity`` × 10⁻¹²; ``amount`` is the billed figure. An item with quantity 0 that was
still billed (a flat fee) gets a line of quantity 1 with ``unit_amount == amount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum

from billing_site.errors import DomainError
from billing_site.money import MAX_DECIMAL_PLACES, parse_amount, round_money, validate_currency
from subscriptions.domain.periods import require_aware

__all__ = [
    "ProratedItem",
    "ProrationKind",
    "ProrationLine",
    "proration_fraction",
    "prorate_cancellation",
    "prorate_change",
]

# Wide enough that amount × remaining ÷ length never rounds to a false half-way value.
_EXACT = Context(prec=100, rounding=ROUND_HALF_UP)
_MICROSECOND = timedelta(microseconds=1)
_UNIT_EXPONENT = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ProrationKind(StrEnum):
    CREDIT = "credit"
    CHARGE = "charge"


@dataclass(frozen=True, slots=True)
class ProratedItem:
    """What was (or will be) billed for one item for the **whole** current period."""

    description: str
    amount_billed: Decimal
    price_id: int | None = None
    quantity: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class ProrationLine:
    """One proration line: ``kind`` "credit" has a negative ``amount``, "charge" a positive one."""

    description: str
    amount: Decimal
    quantity: Decimal
    unit_amount: Decimal
    period_start: datetime
    period_end: datetime
    price_id: int | None
    kind: str


def _microseconds(delta: timedelta) -> int:
    return delta // _MICROSECOND


def _span(period_start: datetime, period_end: datetime, at: datetime) -> tuple[int, int]:
    """(microseconds left after ``at``, microseconds in the period), after checking all three."""
    require_aware(period_start, "period_start")
    require_aware(period_end, "period_end")
    require_aware(at, "at")
    if period_end <= period_start:
        message = "A billing period must end after it starts."
        raise DomainError("invalid_period", message, fields={"period_end": message})
    if not period_start <= at <= period_end:
        message = (
            f"The change at {at.isoformat()} is outside the current billing period "
            f"({period_start.isoformat()} to {period_end.isoformat()})."
        )
        raise DomainError("outside_period", message, fields={"at": message})
    return _microseconds(period_end - at), _microseconds(period_end - period_start)


def proration_fraction(period_start: datetime, period_end: datetime, at: datetime) -> Decimal:
    """Share of the period still to come at ``at``: 1 at the start, 0 at the end.

    Exact whenever the quotient has a finite decimal expansion (15 days of 30 → 0.5); otherwise
    correct to 100 significant digits. Line amounts do not round this fraction first: they are
    computed as amount × remaining ÷ length in one step.
    """
    remaining, length = _span(period_start, period_end, at)
    with localcontext(_EXACT):
        return Decimal(remaining) / Decimal(length)


def _day(at: datetime) -> str:
    """ "16 Apr 2024", whatever the process locale (``%b`` would follow it)."""
    return f"{at.day:02d} {_MONTHS[at.month - 1]} {at.year}"


def _exact(value: object, field: str, label: str) -> Decimal:
    """A non-negative Decimal or int; text and floats are refused (``parse_amount`` would read text)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        message = f"{label} must be an exact decimal number."
        raise DomainError("invalid_amount", message, fields={field: message})
    return parse_amount(value, field=field, label=label)


def _checked_item(item: ProratedItem) -> tuple[Decimal, Decimal]:
    amount = _exact(item.amount_billed, "amount_billed", f"The amount billed for “{item.description}”")
    quantity = _exact(item.quantity, "quantity", f"The quantity of “{item.description}”")
    return amount, quantity


def _line(
    item: ProratedItem,
    kind: ProrationKind,
    *,
    remaining: int,
    length: int,
    at: datetime,
    period_end: datetime,
    currency: str,
) -> ProrationLine | None:
    amount_billed, quantity = _checked_item(item)
    with localcontext(_EXACT):
        amount = round_money(amount_billed * remaining / length, currency)
        if amount.is_zero():
            return None
        if kind is ProrationKind.CREDIT:
            amount = -amount
            description = f"Unused time on {item.description} after {_day(at)}"
        else:
            description = f"Remaining time on {item.description} from {_day(at)}"
        if quantity.is_zero():
            quantity = Decimal(1)
        unit_amount = (amount / quantity).quantize(_UNIT_EXPONENT, rounding=ROUND_HALF_UP)
    return ProrationLine(
        description=description,
        amount=amount,
        quantity=quantity,
        unit_amount=unit_amount,
        period_start=at,
        period_end=period_end,
        price_id=item.price_id,
        kind=kind.value,
    )


def _lines(
    items: Sequence[ProratedItem],
    kind: ProrationKind,
    *,
    remaining: int,
    length: int,
    at: datetime,
    period_end: datetime,
    currency: str,
) -> list[ProrationLine]:
    lines = (
        _line(item, kind, remaining=remaining, length=length, at=at, period_end=period_end, currency=currency)
        for item in items
    )
    return [line for line in lines if line is not None]


def prorate_change(
    *,
    old: Sequence[ProratedItem],
    new: Sequence[ProratedItem],
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    currency: str,
) -> list[ProrationLine]:
    """Credit lines for the unused time of ``old``, then charge lines for the rest at ``new``.

    ``old`` holds what was actually billed for the whole current period; ``new`` what the new
    items would bill for a whole period. A change at the period end prorates nothing.
    """
    currency = validate_currency(currency)
    remaining, length = _span(period_start, period_end, at)
    credits = _lines(
        old, ProrationKind.CREDIT, remaining=remaining, length=length, at=at, period_end=period_end, currency=currency
    )
    charges = _lines(
        new, ProrationKind.CHARGE, remaining=remaining, length=length, at=at, period_end=period_end, currency=currency
    )
    return credits + charges


def prorate_cancellation(
    *,
    items: Sequence[ProratedItem],
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    currency: str,
) -> list[ProrationLine]:
    """Credit lines for the unused time of ``items`` when a subscription ends at ``at``."""
    return prorate_change(old=items, new=(), period_start=period_start, period_end=period_end, at=at, currency=currency)
