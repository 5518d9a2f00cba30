"""The pricing engine: (price definition, quantity) -> amount and a breakdown a person can read.

Pure Python: no Django, no I/O. The Django models, the API quote endpoint, invoicing and the
portal's cost forecast all call ``price_amount`` (or ``time_of_use_amount``), so every door
prices the same way. Semantics follow Stripe's documented ones.

Pricing models
--------------
``flat``
    ``flat_amount`` once per period, whatever the quantity, including 0: it is the price of
    the period, not of units (use ``per_unit`` for "per seat").
``per_unit``
    quantity x ``unit_amount``.
``package``
    ``unit_amount`` per started (``up``) or completed (``down``) package of ``package_size``
    units: 5.00 per 100 units, 101 units -> 10.00 rounded up, 5.00 rounded down.
``graduated``
    Each tier prices only the units that fall in it; a tier's ``flat_amount`` is added once
    when any part of the quantity falls in that tier.
``volume``
    All units are priced at the tier the total quantity falls in, plus that tier's
    ``flat_amount``.

Tiers
-----
``up_to`` is inclusive: "up to 5" covers units 1..5, the next tier starts above 5. The last
tier has ``up_to=None`` (no upper limit). Quantities may be fractional (12.5 GB-month); with
tiers "up to 5" and "up to 10", 5.5 puts 0.5 in the second tier.

Quantity 0 (decided after checking Stripe's documentation and Stripe emulators)
    * graduated: no unit falls in any tier, so no tier is reached: total 0, no lines, no flat
      amount. A base fee that must be paid even without usage is a separate ``flat`` price,
      as in Stripe's own "fixed fee and overage" recipe (two prices on one product).
    * volume: 0 falls in the first tier (Stripe shows the first tier as starting at unit 0),
      so the first tier applies with 0 units and its flat amount IS charged. A pricing person
      who wants nothing charged without usage leaves the first tier's flat amount at 0.

Rounding
--------
Amounts are Decimal and unit amounts may carry 12 decimals (0.000125 per API call). Each
breakdown line is rounded to the currency's minor unit with ``round_money`` (ROUND_HALF_UP);
the total is the sum of the rounded lines, so the breakdown always adds up to the total. Every
line satisfies ``amount == round_money(quantity * unit_amount + flat_amount)``.

Minimum charge
--------------
When ``minimum_amount`` is set and the total is below it, a "Minimum charge top-up" line
brings the total up to the minimum.

Time of use
-----------
A metered ``per_unit`` price may have rate windows ("peak" 07:00-23:00 at 0.15); its
``unit_amount`` is the rate at all other times (named ``base_rate_name``, "off-peak" by
default). Windows are in local time, start inclusive, end exclusive, may wrap midnight
(22:00-06:00) and must not overlap. Usage must be split per window before pricing, so such a
price is priced with ``time_of_use_amount``; ``price_amount`` refuses it rather than guess.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum

from billing_site.errors import DomainError
from billing_site.money import (
    MAX_DECIMAL_PLACES,
    minor_units,
    parse_amount,
    round_money,
    validate_currency,
)

__all__ = [
    "BreakdownLine",
    "PackageRounding",
    "PriceBreakdown",
    "PriceSpec",
    "PricingModel",
    "RateWindow",
    "Tier",
    "price_amount",
    "rate_window_for",
    "time_of_use_amount",
    "validate_price_spec",
]

#: Quantities beyond 10^18 are not usage anyone bills; the cap keeps every product exact.
MAX_QUANTITY_INTEGER_DIGITS = 18
# Wide enough that quantity x unit amount + flat amount is always computed exactly.
_EXACT = Context(prec=100, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_MICROSECONDS_PER_DAY = 24 * 60 * 60 * 1_000_000


class PricingModel(StrEnum):
    FLAT = "flat"
    PER_UNIT = "per_unit"
    PACKAGE = "package"
    GRADUATED = "graduated"
    VOLUME = "volume"


class PackageRounding(StrEnum):
    UP = "up"
    DOWN = "down"


_TIERED = frozenset({PricingModel.GRADUATED, PricingModel.VOLUME})
_MODEL_NAMES = {
    PricingModel.FLAT: "flat",
    PricingModel.PER_UNIT: "per unit",
    PricingModel.PACKAGE: "package",
    PricingModel.GRADUATED: "graduated",
    PricingModel.VOLUME: "volume",
}


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier: units above the previous tier's ``up_to`` up to and including this one."""

    up_to: Decimal | None
    unit_amount: Decimal
    flat_amount: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class RateWindow:
    """A time-of-use rate in local time: ``start`` inclusive, ``end`` exclusive; may wrap midnight."""

    name: str
    start: time
    end: time
    unit_amount: Decimal

    def contains(self, local_time: time) -> bool:
        moment, start, end = (_naive(t) for t in (local_time, self.start, self.end))
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """What a price says, independent of how it is stored. Amounts are in major units (7.00 EUR)."""

    pricing_model: str
    currency: str
    unit_amount: Decimal | None = None
    flat_amount: Decimal | None = None
    package_size: int | None = None
    package_rounding: str = PackageRounding.UP
    tiers: tuple[Tier, ...] = ()
    minimum_amount: Decimal | None = None
    rate_windows: tuple[RateWindow, ...] = ()
    base_rate_name: str = "off-peak"


def _plain(value: Decimal | None) -> str | None:
    """Decimal as JSON-friendly text without exponent: Decimal("1E+6") -> "1000000"."""
    return None if value is None else format(value, "f")


@dataclass(frozen=True, slots=True)
class BreakdownLine:
    """One readable line of a price: ``amount == round_money(quantity * unit_amount + flat_amount)``.

    Tier lines carry ``tier`` (1-based) and the tier's range: quantities above ``above`` up to
    and including ``up_to`` (``None``: no upper limit). Time-of-use lines carry ``rate_window``.
    """

    label: str
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: Decimal
    amount: Decimal
    tier: int | None = None
    above: Decimal | None = None
    up_to: Decimal | None = None
    rate_window: str | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "label": self.label,
            "quantity": _plain(self.quantity),
            "unit_amount": _plain(self.unit_amount),
            "flat_amount": _plain(self.flat_amount),
            "amount": _plain(self.amount),
            "tier": self.tier,
            "above": _plain(self.above),
            "up_to": _plain(self.up_to),
            "rate_window": self.rate_window,
        }


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """The priced result: ``total`` is exactly the sum of the lines' amounts."""

    currency: str
    quantity: Decimal
    total: Decimal
    lines: tuple[BreakdownLine, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "quantity": _plain(self.quantity),
            "total": _plain(self.total),
            "lines": [line.as_dict() for line in self.lines],
        }


# --- validation --------------------------------------------------------------------------


def _error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def _check_amount(value: object, *, field: str, label: str) -> Decimal:
    """A price amount: exact (Decimal or int), finite, not negative, at most 12 decimals."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        kind = "a floating-point number" if isinstance(value, float) else "text"
        raise _error(
            "invalid_amount",
            field,
            f"{label} must be an exact decimal number such as 7.00, not {kind}.",
        )
    return parse_amount(value, field=field, label=label)


def _check_quantity(value: object, *, field: str = "quantity", label: str = "Quantity") -> Decimal:
    def fail(message: str) -> DomainError:
        return _error("invalid_quantity", field, message)

    if isinstance(value, float):
        raise fail(f"{label} must be an exact decimal number, not a floating-point number.")
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise fail(f"{label} must be a number such as 12.5.")
    quantity = Decimal(value)
    if not quantity.is_finite():
        raise fail(f"{label} must be a number such as 12.5.")
    if quantity < 0:
        raise fail(f"{label} must not be negative.")
    if quantity.is_zero():
        return _ZERO
    exponent = quantity.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        raise fail(f"{label} has too many decimal places. Use at most {MAX_DECIMAL_PLACES}.")
    if quantity.adjusted() + 1 > MAX_QUANTITY_INTEGER_DIGITS:
        raise fail(f"{label} is too large to price.")
    return quantity


def _pricing_model(value: str) -> PricingModel:
    try:
        return PricingModel(value)
    except ValueError:
        choices = ", ".join(_MODEL_NAMES.values())
        raise _error(
            "invalid_pricing_model",
            "pricing_model",
            f"“{value}” is not a pricing model. Choose one of: {choices}.",
        ) from None


def _validate_tiers(spec: PriceSpec, model: PricingModel) -> None:
    tiers = tuple(spec.tiers)
    name = _MODEL_NAMES[model].capitalize()
    if model in _TIERED and not tiers:
        raise _error("tiers_required", "tiers", f"A {_MODEL_NAMES[model]} price needs at least one tier.")
    if model is PricingModel.PACKAGE and tiers:
        raise _error(
            "package_cannot_be_tiered",
            "tiers",
            "A package price cannot also be tiered. Remove the tiers, or choose graduated or volume pricing.",
        )
    if model not in _TIERED and tiers:
        raise _error(
            "tiers_not_allowed",
            "tiers",
            f"{name} prices have no tiers. Remove the tiers, or choose graduated or volume pricing.",
        )
    previous: Decimal | None = None
    for number, tier in enumerate(tiers, start=1):
        _check_amount(tier.unit_amount, field="tiers", label=f"Tier {number} unit amount")
        _check_amount(tier.flat_amount, field="tiers", label=f"Tier {number} flat amount")
        if tier.up_to is None:
            if number != len(tiers):
                raise _error(
                    "unbounded_tier_not_last",
                    "tiers",
                    f"Only the last tier can have no upper limit, but tier {number} has none. "
                    f"Give tier {number} an “up to” or remove the tiers after it.",
                )
            continue
        up_to = _check_amount(tier.up_to, field="tiers", label=f"Tier {number} “up to”")
        if up_to.is_zero():
            raise _error(
                "invalid_tier_up_to",
                "tiers",
                f"Tier {number}’s “up to” must be greater than 0.",
            )
        if previous is not None and up_to <= previous:
            raise _error(
                "tiers_not_ascending",
                "tiers",
                f"Tier {number} must start above tier {number - 1}: its “up to” "
                f"({_number(up_to)}) is not greater than {_number(previous)}.",
            )
        previous = up_to
    if tiers and tiers[-1].up_to is not None:
        raise _error(
            "last_tier_must_be_unbounded",
            "tiers",
            "The last tier must have no upper limit, so that every quantity has a price: "
            f"leave the “up to” of tier {len(tiers)} empty.",
        )


def _validate_package(spec: PriceSpec, model: PricingModel) -> None:
    if model is not PricingModel.PACKAGE:
        if spec.package_size is not None:
            raise _error(
                "package_size_not_allowed",
                "package_size",
                "A package size only applies to package prices. Clear it, or choose package pricing.",
            )
        return
    if spec.package_size is None:
        raise _error(
            "package_size_required",
            "package_size",
            "A package price needs a package size: how many units one package holds.",
        )
    size = spec.package_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise _error(
            "invalid_package_size",
            "package_size",
            f"The package size must be a whole number of at least 1, not {size}.",
        )
    try:
        PackageRounding(spec.package_rounding)
    except ValueError:
        raise _error(
            "invalid_package_rounding",
            "package_rounding",
            f"“{spec.package_rounding}” is not a package rounding. "
            "Choose “up” (charge every started package) or “down” (only full packages).",
        ) from None


def _validate_amounts(spec: PriceSpec, model: PricingModel) -> None:
    name = _MODEL_NAMES[model]
    needs_unit = model in (PricingModel.PER_UNIT, PricingModel.PACKAGE)
    if spec.unit_amount is None and needs_unit:
        what = "per package" if model is PricingModel.PACKAGE else "per unit"
        raise _error(
            "unit_amount_required",
            "unit_amount",
            f"A {name} price needs a unit amount: the price {what}.",
        )
    if spec.unit_amount is not None and not needs_unit:
        where = "on each tier" if model in _TIERED else "as the flat amount"
        raise _error(
            "unit_amount_not_allowed",
            "unit_amount",
            f"A {name} price has no unit amount of its own: set it {where}.",
        )
    if spec.flat_amount is None and model is PricingModel.FLAT:
        raise _error(
            "flat_amount_required",
            "flat_amount",
            "A flat price needs a flat amount: what is charged each period.",
        )
    if spec.flat_amount is not None and model is not PricingModel.FLAT:
        where = "on a tier" if model in _TIERED else "as a separate flat price"
        raise _error(
            "flat_amount_not_allowed",
            "flat_amount",
            f"A {name} price has no flat amount of its own: set it {where}.",
        )
    for field, label in (
        ("unit_amount", "Unit amount"),
        ("flat_amount", "Flat amount"),
        ("minimum_amount", "Minimum charge"),
    ):
        value = getattr(spec, field)
        if value is not None:
            _check_amount(value, field=field, label=label)


def _intervals(window: RateWindow) -> list[tuple[int, int]]:
    """The window as half-open microsecond ranges of one day; a wrapping window gives two."""
    start, end = _microseconds(window.start), _microseconds(window.end)
    if start < end:
        return [(start, end)]
    return [(start, _MICROSECONDS_PER_DAY), (0, end)]


def _validate_rate_windows(spec: PriceSpec, model: PricingModel) -> None:
    windows = tuple(spec.rate_windows)
    if not windows:
        return
    if model is not PricingModel.PER_UNIT:
        raise _error(
            "time_of_use_requires_per_unit",
            "rate_windows",
            "Time-of-use rates only combine with per unit pricing. "
            f"Remove the rate windows, or change this {_MODEL_NAMES[model]} price to per unit.",
        )
    base = spec.base_rate_name
    if not isinstance(base, str) or not base.strip():
        raise _error(
            "rate_window_name_required",
            "base_rate_name",
            "The rate outside every window needs a name, such as “off-peak”.",
        )
    seen: dict[str, RateWindow] = {}
    for number, window in enumerate(windows, start=1):
        name = window.name
        if not isinstance(name, str) or not name.strip():
            raise _error(
                "rate_window_name_required",
                "rate_windows",
                f"Rate window {number} needs a name, such as “peak”.",
            )
        if name in seen or name == base:
            raise _error(
                "duplicate_rate_window",
                "rate_windows",
                f"There is more than one rate called “{name}”. Give every rate its own name.",
            )
        if not isinstance(window.start, time) or not isinstance(window.end, time):
            raise _error(
                "invalid_rate_window",
                "rate_windows",
                f"Rate window “{name}” needs a start and an end time of day, such as 07:00.",
            )
        if _microseconds(window.start) == _microseconds(window.end):
            raise _error(
                "rate_window_empty",
                "rate_windows",
                f"Rate window “{name}” starts and ends at {_clock(window.start)}. "
                "A window must end at a different time than it starts.",
            )
        _check_amount(window.unit_amount, field="rate_windows", label=f"Rate window “{name}” unit amount")
        for other in seen.values():
            if any(
                max(a_start, b_start) < min(a_end, b_end)
                for a_start, a_end in _intervals(window)
                for b_start, b_end in _intervals(other)
            ):
                raise _error(
                    "rate_windows_overlap",
                    "rate_windows",
                    f"Rate windows “{other.name}” ({_clock(other.start)}–{_clock(other.end)}) and "
                    f"“{name}” ({_clock(window.start)}–{_clock(window.end)}) overlap: "
                    "every moment can have only one rate.",
                )
        seen[name] = window


def validate_price_spec(spec: PriceSpec) -> None:
    """Raise a ``DomainError`` a pricing person understands when the price cannot be charged.

    ``fields`` names the offending field (tier and window problems are reported on
    ``tiers`` and ``rate_windows``, with the tier number or window name in the message).
    """
    _validate_once(spec)


@functools.lru_cache(maxsize=4096)
def _validate_once(spec: PriceSpec) -> None:
    """Specs are immutable and equal values validate alike, so a valid spec is checked once per process."""
    model = _pricing_model(spec.pricing_model)
    validate_currency(spec.currency)
    _validate_tiers(spec, model)
    _validate_amounts(spec, model)
    _validate_package(spec, model)
    _validate_rate_windows(spec, model)


# --- labels ------------------------------------------------------------------------------


def _number(value: Decimal, min_places: int = 0) -> str:
    """English digits for labels: thousands separated, trailing zeros trimmed to ``min_places``."""
    value = _ZERO if value.is_zero() else value.normalize()
    exponent = value.as_tuple().exponent
    places = max(min_places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return f"{value:,.{places}f}"


def _money(value: Decimal, currency: str) -> str:
    """An amount in a label, with at least the currency's minor digits: "7.00", "0.000125"."""
    return _number(value, min_places=minor_units(currency))


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def _whole_units(spec: PriceSpec, quantity: Decimal) -> bool:
    """Count in whole units ("6–10") only when the tiers and the quantity are whole numbers."""
    return _whole(quantity) and all(tier.up_to is None or _whole(Decimal(tier.up_to)) for tier in spec.tiers)


def _range(above: Decimal, up_to: Decimal | None, *, whole_units: bool) -> str:
    """Whole units: "1–5", "11 and above"; fractional usage: "up to 5", "above 5 up to 10", "above 10"."""
    if whole_units:
        first = above + 1
        if up_to is None:
            return f"{_number(first)} and above"
        return _number(first) if first == up_to else f"{_number(first)}–{_number(up_to)}"
    if up_to is None:
        return f"above {_number(above)}"
    if above.is_zero():
        return f"up to {_number(up_to)}"
    return f"above {_number(above)} up to {_number(up_to)}"


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M:%S" if moment.second or moment.microsecond else "%H:%M")


def _naive(moment: time) -> time:
    """Windows are local wall-clock times: compare without a time zone."""
    return moment.replace(tzinfo=None)


def _microseconds(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


def _units(quantity: Decimal, unit: str = "unit") -> str:
    return f"{_number(quantity)} {unit}{'' if quantity == 1 else 's'}"


# --- pricing -----------------------------------------------------------------------------


def _line(
    label: str,
    currency: str,
    quantity: Decimal,
    unit_amount: Decimal,
    flat_amount: Decimal = _ZERO,
    *,
    tier: int | None = None,
    above: Decimal | None = None,
    up_to: Decimal | None = None,
    rate_window: str | None = None,
) -> BreakdownLine:
    return BreakdownLine(
        label=label,
        quantity=quantity,
        unit_amount=unit_amount,
        flat_amount=flat_amount,
        amount=round_money(quantity * unit_amount + flat_amount, currency),
        tier=tier,
        above=above,
        up_to=up_to,
        rate_window=rate_window,
    )


def _tier_line(
    number: int,
    tier: Tier,
    above: Decimal,
    units: Decimal,
    currency: str,
    *,
    all_units: bool,
    whole_units: bool,
) -> BreakdownLine:
    up_to = None if tier.up_to is None else Decimal(tier.up_to)
    unit_amount, flat_amount = Decimal(tier.unit_amount), Decimal(tier.flat_amount)
    scope = " applied to all units" if all_units else ""
    tier_range = _range(above, up_to, whole_units=whole_units)
    label = f"Tier {number} ({tier_range}){scope}: {_number(units)} × {_money(unit_amount, currency)}"
    if flat_amount:
        label += f" + {_money(flat_amount, currency)} flat"
    return _line(label, currency, units, unit_amount, flat_amount, tier=number, above=above, up_to=up_to)


def _flat_lines(spec: PriceSpec, quantity: Decimal, currency: str) -> list[BreakdownLine]:
    return [_line("Flat fee", currency, _ONE, Decimal(spec.flat_amount or 0))]


def _per_unit_lines(spec: PriceSpec, quantity: Decimal, currency: str) -> list[BreakdownLine]:
    unit_amount = Decimal(spec.unit_amount or 0)
    label = f"{_units(quantity)} × {_money(unit_amount, currency)}"
    return [_line(label, currency, quantity, unit_amount)]


def _package_lines(spec: PriceSpec, quantity: Decimal, currency: str) -> list[BreakdownLine]:
    size = int(spec.package_size or 1)
    packages, remainder = divmod(quantity, size)
    rounding = PackageRounding(spec.package_rounding)
    if remainder and rounding is PackageRounding.UP:
        packages += 1
    note = f", rounded {rounding.value}" if remainder else ""
    label = f"{_units(packages, 'package')} of {_number(Decimal(size))} ({_units(quantity)}{note})"
    return [_line(label, currency, packages, Decimal(spec.unit_amount or 0))]


def _graduated_lines(spec: PriceSpec, quantity: Decimal, currency: str) -> list[BreakdownLine]:
    lines = []
    above = _ZERO
    whole_units = _whole_units(spec, quantity)
    for number, tier in enumerate(spec.tiers, start=1):
        if quantity <= above:
            break
        top = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
        units = top - above
        lines.append(_tier_line(number, tier, above, units, currency, all_units=False, whole_units=whole_units))
        if tier.up_to is None:
            break
        above = Decimal(tier.up_to)
    return lines


def _volume_lines(spec: PriceSpec, quantity: Decimal, currency: str) -> list[BreakdownLine]:
    above = _ZERO
    for number, tier in enumerate(spec.tiers, start=1):
        if tier.up_to is None or quantity <= tier.up_to:
            whole_units = _whole_units(spec, quantity)
            return [_tier_line(number, tier, above, quantity, currency, all_units=True, whole_units=whole_units)]
        above = Decimal(tier.up_to)
    raise AssertionError("validated tiers end with an unbounded tier")  # pragma: no cover


_PRICERS: dict[PricingModel, Callable[[PriceSpec, Decimal, str], list[BreakdownLine]]] = {
    PricingModel.FLAT: _flat_lines,
    PricingModel.PER_UNIT: _per_unit_lines,
    PricingModel.PACKAGE: _package_lines,
    PricingModel.GRADUATED: _graduated_lines,
    PricingModel.VOLUME: _volume_lines,
}


def _breakdown(spec: PriceSpec, currency: str, quantity: Decimal, lines: list[BreakdownLine]) -> PriceBreakdown:
    """Add the lines up and top up to the minimum charge if the period fell short of it."""
    total = sum((line.amount for line in lines), round_money(_ZERO, currency))
    if spec.minimum_amount is not None:
        minimum = round_money(Decimal(spec.minimum_amount), currency)
        if total < minimum:
            top_up = minimum - total
            lines.append(_line(f"Minimum charge top-up to {_money(minimum, currency)}", currency, _ONE, top_up))
            total = minimum
    return PriceBreakdown(currency=currency, quantity=quantity, total=total, lines=tuple(lines))


def price_amount(spec: PriceSpec, quantity: Decimal) -> PriceBreakdown:
    """Price ``quantity`` units for one period. Validates the spec first."""
    validate_price_spec(spec)
    quantity = _check_quantity(quantity)
    if spec.rate_windows:
        raise _error(
            "time_of_use_quantities_required",
            "quantity",
            "This price has time-of-use rates: its usage must be split per rate window before it can be priced.",
        )
    currency = validate_currency(spec.currency)
    with localcontext(_EXACT):
        lines = _PRICERS[PricingModel(spec.pricing_model)](spec, quantity, currency)
        return _breakdown(spec, currency, quantity, lines)


def time_of_use_amount(spec: PriceSpec, quantities: Mapping[str, Decimal]) -> PriceBreakdown:
    """Price usage already split per rate window: ``{"peak": 1200, "off-peak": 300}``.

    Keys are window names and the spec's ``base_rate_name``; a missing key means no usage in
    that window. Every window and the base rate get a line; the minimum applies to the sum.
    """
    validate_price_spec(spec)
    model = PricingModel(spec.pricing_model)
    if model is not PricingModel.PER_UNIT:
        raise _error(
            "time_of_use_requires_per_unit",
            "rate_windows",
            f"Time-of-use rates only combine with per unit pricing, and this is a {_MODEL_NAMES[model]} price.",
        )
    currency = validate_currency(spec.currency)
    base = spec.base_rate_name
    rates = [(window.name, window) for window in spec.rate_windows]
    known = [name for name, _ in rates] + [base]
    for key in quantities:
        if key not in known:
            raise _error(
                "unknown_rate_window",
                "quantities",
                f"This price has no rate called “{key}”. Its rates are: {', '.join(known)}.",
            )
    used = {
        name: _check_quantity(quantities.get(name, _ZERO), field="quantities", label=f"Usage in “{name}”")
        for name in known
    }
    lines = []
    with localcontext(_EXACT):
        for name, window in rates:
            unit_amount = Decimal(window.unit_amount)
            label = (
                f"{name[:1].upper()}{name[1:]} ({_clock(window.start)}–{_clock(window.end)}): "
                f"{_number(used[name])} × {_money(unit_amount, currency)}"
            )
            lines.append(_line(label, currency, used[name], unit_amount, rate_window=name))
        unit_amount = Decimal(spec.unit_amount or 0)
        label = (
            f"{base[:1].upper()}{base[1:]} (all other times): {_number(used[base])} × {_money(unit_amount, currency)}"
        )
        lines.append(_line(label, currency, used[base], unit_amount, rate_window=base))
        return _breakdown(spec, currency, sum(used.values(), _ZERO), lines)


def rate_window_for(spec_or_windows: PriceSpec | Iterable[RateWindow], local_time: time) -> str | None:
    """Name of the rate window containing ``local_time``; ``None`` means the base rate applies."""
    windows = spec_or_windows.rate_windows if isinstance(spec_or_windows, PriceSpec) else spec_or_windows
    for window in windows:
        if window.contains(local_time):
            return window.name
    return None
