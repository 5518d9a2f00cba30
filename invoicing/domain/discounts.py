"""Coupons on an invoice: when a coupon applies, and how its discount is spread over the lines.

Pure Python: no Django, no I/O. The billing run, the upcoming-invoice preview and the admin's
draft editor all call these functions, so a coupon discounts the same way through every door.

Why allocate at all
-------------------
Tax is computed on discounted amounts, per tax category and rate. An invoice-level coupon must
therefore be spread over the lines it discounts, so that each line has a net amount to tax.

Rules
-----
* Eligible lines: not proration lines (invoice-level coupons never discount a proration), amount
  above zero (a credit line is never "discounted" into a bigger credit), and, when the coupon is
  restricted, a line whose product is in ``applies_to_products`` *or* whose plan is in
  ``applies_to_plans`` ("only for these plans or products").
* Percent: the discount is computed once on the eligible sum and rounded once with
  ``round_money``, so it is within half a minor unit of the exact percentage.
* Amount: ``amount_off`` is rounded to the invoice currency, then capped at the eligible sum; an
  amount coupon in another currency than the invoice is refused (``coupon_currency_mismatch``).
* Allocation: proportional to the eligible amounts, by largest remainder in minor units. The
  parts add up to the discount exactly, no line is discounted below zero, and ties go to the
  earlier line, so the same invoice always splits the same way.
* Several coupons apply in order, each on what the previous ones left.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Context, Decimal, localcontext

from billing_site.errors import DomainError
from billing_site.money import minor_units, round_money, validate_currency

__all__ = [
    "Allocation",
    "CouponTerms",
    "DiscountLine",
    "allocate_discount",
    "allocate_discounts",
    "coupon_applies",
    "net_amounts",
]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# Wide enough that sums and products of invoice amounts are always exact.
_EXACT = Context(prec=100, rounding=ROUND_FLOOR)
_DURATIONS = frozenset({"once", "repeating", "forever"})


@dataclass(frozen=True, slots=True)
class DiscountLine:
    """An invoice line as a coupon sees it: its rounded amount before discounts (negative for credits)."""

    key: Hashable
    amount: Decimal
    product_id: int | None = None
    plan_id: int | None = None
    proration: bool = False


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a coupon says, independent of how it is stored (see ``catalog.models.Coupon``)."""

    coupon_id: int
    name: str
    discount_type: str  # "percent" | "amount"
    percent_off: Decimal | None
    amount_off: Decimal | None
    currency: str | None
    applies_to_products: frozenset[int] = frozenset()
    applies_to_plans: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Allocation:
    """One coupon's discount on one invoice: ``total == sum(per_line.values())`` exactly.

    ``per_line`` holds only the lines actually discounted (positive amounts), in line order.
    """

    coupon_id: int
    per_line: dict[Hashable, Decimal] = field(default_factory=dict)
    total: Decimal = _ZERO


# --- durations ---------------------------------------------------------------------------


def coupon_applies(*, duration: str, duration_in_periods: int | None, periods_already_discounted: int) -> bool:
    """Whether a redeemed coupon still discounts the next invoice.

    ``periods_already_discounted`` counts the billing periods this redemption already
    discounted: ``once`` discounts only the first, ``repeating`` the first N, ``forever`` all.
    """
    if duration not in _DURATIONS:
        raise DomainError("invalid_coupon", f"“{duration}” is not a coupon duration: use once, repeating or forever.")
    if isinstance(periods_already_discounted, bool) or periods_already_discounted < 0:
        raise DomainError("invalid_coupon", "The number of periods already discounted cannot be negative.")
    if duration == "once":
        return periods_already_discounted == 0
    if duration == "forever":
        return True
    if duration_in_periods is None or duration_in_periods < 1:
        raise DomainError("invalid_coupon", "A repeating coupon needs a number of periods of at least 1.")
    return periods_already_discounted < duration_in_periods


# --- allocation --------------------------------------------------------------------------


def allocate_discount(*, lines: Sequence[DiscountLine], coupon: CouponTerms, currency: str) -> Allocation:
    """Spread one coupon's discount over the eligible lines (see the module docstring)."""
    currency = validate_currency(currency)
    _check_lines(lines, currency)
    eligible = [line for line in lines if _eligible(line, coupon)]
    base = sum((line.amount for line in eligible), _ZERO)
    discount = _discount_amount(coupon, base, currency)
    if discount.is_zero():
        return Allocation(coupon_id=coupon.coupon_id, per_line={}, total=_ZERO)
    parts = _largest_remainder(discount, [line.amount for line in eligible], currency)
    per_line = {line.key: part for line, part in zip(eligible, parts, strict=True) if part > 0}
    return Allocation(coupon_id=coupon.coupon_id, per_line=per_line, total=discount)


def allocate_discounts(
    *, lines: Sequence[DiscountLine], coupons: Iterable[CouponTerms], currency: str
) -> tuple[Allocation, ...]:
    """Apply several coupons in order, each on the amounts the previous coupons left."""
    remaining = list(lines)
    allocations = []
    for coupon in coupons:
        allocation = allocate_discount(lines=remaining, coupon=coupon, currency=currency)
        allocations.append(allocation)
        remaining = [
            replace(line, amount=line.amount - allocation.per_line[line.key])
            if line.key in allocation.per_line
            else line
            for line in remaining
        ]
    return tuple(allocations)


def net_amounts(*, lines: Sequence[DiscountLine], allocations: Iterable[Allocation]) -> dict[Hashable, Decimal]:
    """Each line's amount after all its discounts: what tax is computed on."""
    nets = {line.key: line.amount for line in lines}
    for allocation in allocations:
        for key, part in allocation.per_line.items():
            nets[key] -= part
    return nets


# --- internals ---------------------------------------------------------------------------


def _check_lines(lines: Sequence[DiscountLine], currency: str) -> None:
    seen: set[Hashable] = set()
    for line in lines:
        if line.key in seen:
            raise DomainError("duplicate_line", f"Two invoice lines share the key {line.key!r}.")
        seen.add(line.key)
        if round_money(line.amount, currency) != line.amount:
            raise DomainError(
                "not_rounded",
                f"The line amount {line.amount} is not rounded to whole {currency} minor units.",
            )


def _eligible(line: DiscountLine, coupon: CouponTerms) -> bool:
    if line.proration or line.amount <= 0:
        return False
    if not coupon.applies_to_products and not coupon.applies_to_plans:
        return True
    return line.product_id in coupon.applies_to_products or line.plan_id in coupon.applies_to_plans


def _discount_amount(coupon: CouponTerms, base: Decimal, currency: str) -> Decimal:
    """The coupon's discount on ``base`` (the eligible sum), rounded and never more than ``base``."""
    if coupon.discount_type == "percent":
        percent = coupon.percent_off
        if percent is None or not percent > 0 or percent > _HUNDRED:
            raise DomainError("invalid_coupon", f"The coupon “{coupon.name}” needs a percentage between 0 and 100.")
        with localcontext(_EXACT):
            exact = base * percent / _HUNDRED
        return round_money(exact, currency)
    if coupon.discount_type == "amount":
        amount = coupon.amount_off
        if amount is None or not amount > 0:
            raise DomainError("invalid_coupon", f"The coupon “{coupon.name}” needs an amount off above zero.")
        if not coupon.currency or validate_currency(coupon.currency) != currency:
            shown = coupon.currency or "no currency"
            raise DomainError(
                "coupon_currency_mismatch",
                f"The coupon “{coupon.name}” takes an amount off in {shown}, but this invoice is in {currency}.",
            )
        return round_money(min(round_money(amount, currency), base), currency)
    raise DomainError(
        "invalid_coupon",
        f"The coupon “{coupon.name}” must give a percentage or an amount off, not “{coupon.discount_type}”.",
    )


def _largest_remainder(discount: Decimal, amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``discount`` (≤ Σ amounts, all positive and rounded) proportionally, in minor units.

    Each part is floor(discount × amount / Σ) plus at most one minor unit, handed out by
    descending remainder, then line order. A part only gets that extra unit when its share was
    not whole, so it never exceeds its line's amount.
    """
    places = minor_units(currency)
    with localcontext(_EXACT):
        units = [int(amount.scaleb(places)) for amount in amounts]
        to_share = int(discount.scaleb(places))
    base = sum(units)
    floors = [to_share * unit // base for unit in units]
    remainders = [to_share * unit % base for unit in units]
    left = to_share - sum(floors)
    for index in sorted(range(len(units)), key=lambda i: (-remainders[i], i))[:left]:
        floors[index] += 1
    return [round_money(Decimal(part).scaleb(-places), currency) for part in floors]
