"""Invoice tax: which rate applies to a sale, and the VAT breakdown of an invoice.

Pure Python: no Django, no I/O. The billing run, the upcoming-invoice preview and one-off
invoices all call ``compute_tax`` (and ``applicable_rate`` per line), so every door taxes the
same way.

Computing the tax (``compute_tax``)
-----------------------------------
EN 16931 has one VAT breakdown (BG-23) per VAT category and rate. Lines are grouped by
(category, percentage); the tax of a group is rounded once, with ``round_money``, never per
line: three lines of 0.10 at 25% carry 0.08 tax (0.30 x 25% = 0.075), not 3 x 0.03 = 0.09.

Exclusive (net) prices
    taxable amount = sum of the line nets; tax = round_money(taxable x rate / 100). This is
    exactly EN 16931 BR-CO-17.
Inclusive (gross) prices
    The customer was promised the gross amount, so it is kept to the cent: per group, tax =
    round_money(gross x rate / (100 + rate)), net = gross - tax. The group net is then
    allocated over the lines in minor units by largest remainder: each line gets the floor
    of its exact net (gross x 100 / (100 + rate)), and the units still missing go one each
    to the largest fractions (ties to the earlier line). The line nets add up exactly to the
    group net and each is within one minor unit of its exact net, credits included. In rare cases the
    group tax then differs by one minor unit from round(net x rate / 100) (gross 0.03 at 21%:
    tax 0.01, net 0.02, 0.02 x 21% = 0.0042). CEN's CII schematron for BR-CO-17 tolerates one
    unit; a strict check does not. Changing the gross the customer was promised is worse.
Mixed invoices
    An invoice is either net priced or gross priced: lines at a non-zero inclusive rate and
    lines at a non-zero exclusive rate on one invoice are refused (``mixed_tax_inclusion``).
    A 0% rate's inclusive flag is ignored: its net is its gross either way, so an exempt or
    reverse-charge line never makes an invoice "mixed", and never splits a breakdown in two.

Line amounts must already be billed amounts: rounded to the currency's minor unit, after
discounts. Negative lines (credits) are allowed. Breakdowns are ordered standard rates from
the highest percentage down, then zero-rated, exempt and reverse charge. Exempt and
reverse-charge groups carry the exemption reason of their rates (BR-E-10, BR-AE-10); distinct
reasons within one group are joined with "; ".

Choosing the rate (``applicable_rate``)
---------------------------------------
First match wins:

1. Customer exempt (``customer_exemption == "exempt"``): the 0% ``exempt`` rate of the
   customer's country, else of the seller's country.
2. Reverse charge: ``customer_exemption == "reverse"``, or a business customer (VAT id
   present) in an EU member state other than the seller's country. The ``reverse_charge``
   rate of the seller's country, else of the customer's; the legal mention
   (``REVERSE_CHARGE_MENTION``) is filled in when the configured rate has no reason.
3. Domestic (same country): the seller country's rate for the product.
4. Customer outside the EU: the ``zero`` (export) rate of the seller's country, else of the
   customer's country.
5. Consumer (no VAT id) in another EU member state: the destination country's rate for the
   product (EU one-stop shop rules).

"Rate for the product" maps the product tax category to an EN 16931 category: standard and
reduced -> ``standard`` (S, with a percentage), zero -> ``zero``, exempt -> ``exempt``. The
caller passes the active rates that apply to the product's tax category (filtered on
``TaxRate.product_tax_category``), so a reduced-rate product only sees reduced rates; the
zero, exempt and reverse-charge rates used by rules 1, 2 and 4 are looked up in the same
list. When several rates fit, the highest percentage wins, then the lowest id.
A VAT id counts when it is not blank: checking it against VIES is the caller's job. Nothing
found raises ``no_tax_rate`` with a message that says which rate to add.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext

from billing_site.errors import DomainError
from billing_site.money import minor_units, round_money, validate_currency

__all__ = [
    "EU_MEMBER_STATES",
    "REVERSE_CHARGE_MENTION",
    "TaxBreakdown",
    "TaxRateInfo",
    "TaxResult",
    "TaxableLine",
    "applicable_rate",
    "compute_tax",
]

#: ISO 3166-1 alpha-2 codes of the 27 EU member states (Greece is GR here; its VAT ids use EL).
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

REVERSE_CHARGE_MENTION = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"

STANDARD = "standard"
ZERO = "zero"
EXEMPT = "exempt"
REVERSE_CHARGE = "reverse_charge"
_CATEGORY_ORDER = {STANDARD: 0, ZERO: 1, EXEMPT: 2, REVERSE_CHARGE: 3}
_NEEDS_REASON = frozenset({EXEMPT, REVERSE_CHARGE})
_CATEGORY_NAMES = {
    STANDARD: "standard",
    ZERO: "zero-rated",
    EXEMPT: "exempt",
    REVERSE_CHARGE: "reverse-charge",
}
#: Product tax category -> EN 16931 category of the rate that taxes it.
_PRODUCT_CATEGORY_TO_RATE_CATEGORY = {"standard": STANDARD, "reduced": STANDARD, "zero": ZERO, "exempt": EXEMPT}
_EXEMPTIONS = frozenset({"none", "exempt", "reverse"})

_EXACT = Context(prec=100, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxRateInfo:
    """A tax rate as the domain sees it: a snapshot of ``catalog.TaxRate``."""

    id: int | None
    name: str
    country: str
    percentage: Decimal
    category: str
    inclusive: bool
    exemption_reason: str = ""


@dataclass(frozen=True)
class TaxableLine:
    """One invoice line: its billed amount after discounts, net if the rate is exclusive, gross if inclusive."""

    key: Hashable
    net_or_gross_amount: Decimal
    rate: TaxRateInfo


@dataclass(frozen=True)
class TaxBreakdown:
    """One EN 16931 VAT breakdown (BG-23): BT-118 category, BT-119 rate, BT-116 taxable, BT-117 tax, BT-120 reason."""

    category: str
    rate_percentage: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str


@dataclass(frozen=True)
class TaxResult:
    """The net amount of every line (by key, in line order), the breakdowns and the invoice totals."""

    lines_net: dict[Hashable, Decimal]
    breakdowns: tuple[TaxBreakdown, ...]
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal


# ---------------------------------------------------------------------------------------------
# compute_tax


@dataclass
class _Group:
    category: str
    percentage: Decimal
    inclusive: bool
    reasons: list[str] = dataclasses.field(default_factory=list)
    lines: list[tuple[Hashable, int]] = dataclasses.field(default_factory=list)  # (key, amount in minor units)


def compute_tax(*, lines: Sequence[TaxableLine], currency: str) -> TaxResult:
    """Tax an invoice's lines: one breakdown per category and rate, each rounded once. See the module doc."""
    currency = validate_currency(currency)
    places = minor_units(currency)
    groups: dict[tuple[str, Decimal], _Group] = {}
    lines_units: dict[Hashable, int] = {}
    inclusion: dict[bool, str] = {}

    for line in lines:
        rate = line.rate
        _validate_rate(rate)
        if line.key in lines_units:
            raise DomainError("duplicate_line_key", f"Two invoice lines share the key {line.key!r}.")
        units = _to_units(line.net_or_gross_amount, currency, places)
        if rate.percentage:
            inclusion.setdefault(rate.inclusive, rate.name)
        group = groups.get((rate.category, rate.percentage))
        if group is None:
            inclusive = rate.inclusive and not rate.percentage.is_zero()
            group = groups[(rate.category, rate.percentage)] = _Group(rate.category, rate.percentage, inclusive)
        if rate.exemption_reason and rate.exemption_reason not in group.reasons:
            group.reasons.append(rate.exemption_reason)
        group.lines.append((line.key, units))
        lines_units[line.key] = units

    if len(inclusion) > 1:
        raise DomainError(
            "mixed_tax_inclusion",
            f"This invoice mixes prices that include tax (“{inclusion[True]}”) with prices that exclude it "
            f"(“{inclusion[False]}”). An invoice is either priced with tax included or without: use tax rates "
            "of one kind for all its lines.",
        )

    breakdowns = []
    total_net = total_tax = 0
    for group in sorted(groups.values(), key=lambda g: (_CATEGORY_ORDER[g.category], -g.percentage)):
        amount = sum(units for _, units in group.lines)
        if group.inclusive:
            tax = _tax_units(amount, group.percentage, _HUNDRED + group.percentage, currency, places)
            net = amount - tax
            shares = _allocate(net, [_exact_net(units, group.percentage) for _, units in group.lines])
            for (key, _), share in zip(group.lines, shares, strict=True):
                lines_units[key] = share
        else:
            net = amount
            tax = _tax_units(amount, group.percentage, _HUNDRED, currency, places)
        total_net += net
        total_tax += tax
        breakdowns.append(
            TaxBreakdown(
                category=group.category,
                rate_percentage=group.percentage,
                taxable_amount=_from_units(net, places),
                tax_amount=_from_units(tax, places),
                exemption_reason="; ".join(group.reasons),
            )
        )

    return TaxResult(
        lines_net={key: _from_units(units, places) for key, units in lines_units.items()},
        breakdowns=tuple(breakdowns),
        total_net=_from_units(total_net, places),
        total_tax=_from_units(total_tax, places),
        total_gross=_from_units(total_net + total_tax, places),
    )


def _validate_rate(rate: TaxRateInfo) -> None:
    percentage = rate.percentage
    if isinstance(percentage, bool) or not isinstance(percentage, Decimal) or not percentage.is_finite():
        raise DomainError("invalid_tax_rate", f"The rate of “{rate.name}” must be an exact decimal percentage.")
    if rate.category not in _CATEGORY_ORDER:
        raise DomainError(
            "invalid_tax_rate",
            f"“{rate.name}” has the tax category “{rate.category}”; use standard, zero, exempt or reverse_charge.",
        )
    if not _ZERO <= percentage <= _HUNDRED:
        raise DomainError("invalid_tax_rate", f"The rate of “{rate.name}” must be between 0% and 100%.")
    if rate.category != STANDARD and not percentage.is_zero():
        raise DomainError(
            "invalid_tax_rate", f"“{rate.name}” is {_CATEGORY_NAMES[rate.category]}, so its rate must be 0%."
        )
    if rate.category in _NEEDS_REASON and not rate.exemption_reason.strip():
        raise DomainError(
            "missing_exemption_reason",
            f"“{rate.name}” is {_CATEGORY_NAMES[rate.category]}: give it the exemption reason the invoice must print.",
        )


def _to_units(amount: Decimal, currency: str, places: int) -> int:
    """A billed amount in minor units (12.34 EUR -> 1234); refuses floats and unrounded amounts."""
    rounded = round_money(amount, currency)
    if rounded != amount:
        raise DomainError(
            "invalid_amount",
            f"Invoice line amount {amount} is not rounded to the currency's smallest unit "
            f"({places} decimals for {currency}): round each line before computing tax.",
        )
    with localcontext(_EXACT):
        return int(rounded.scaleb(places))


def _from_units(units: int, places: int) -> Decimal:
    with localcontext(_EXACT):
        return Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def _tax_units(amount: int, percentage: Decimal, divisor: Decimal, currency: str, places: int) -> int:
    """round_money(amount x percentage / divisor) in minor units.

    Exclusive tax terminates and is exact. Inclusive tax (divisor 100 + rate) may not; 100
    significant digits are then far closer than any such fraction can come to a half unit,
    so the half-up decision is still the exact one.
    """
    with localcontext(_EXACT):
        exact = Decimal(amount).scaleb(-places) * percentage / divisor
        return _to_units(round_money(exact, currency), currency, places)


def _exact_net(gross_units: int, percentage: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return Decimal(gross_units) * _HUNDRED / (_HUNDRED + percentage)


def _allocate(total: int, exact_shares: list[Decimal]) -> list[int]:
    """Split ``total`` minor units over lines whose exact shares are given: largest remainder.

    Each line gets the floor of its share; the ``total - sum(floors)`` units left (between 0
    and the number of lines, because the total is within half a unit of the exact sum) go one
    each to the largest fractional parts, ties to the earlier line.
    """
    with localcontext(_EXACT):
        floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact_shares]
        fractions = [share - floor for share, floor in zip(exact_shares, floors, strict=True)]
    left = total - sum(floors)
    if not 0 <= left <= len(floors):  # pragma: no cover - arithmetic guarantees it
        raise AssertionError(f"cannot allocate {total} over {exact_shares}")
    order = sorted(range(len(floors)), key=lambda i: (-fractions[i], i))
    winners = set(order[:left])
    return [floor + (1 if i in winners else 0) for i, floor in enumerate(floors)]


# ---------------------------------------------------------------------------------------------
# applicable_rate


def applicable_rate(
    *,
    seller_country: str,
    customer_country: str,
    customer_vat_id: str,
    customer_exemption: str,
    product_tax_category: str,
    rates: Sequence[TaxRateInfo],
) -> TaxRateInfo:
    """The rate that taxes one product sold by this seller to this customer. The rule table is in the module doc."""
    seller = _country(seller_country, "seller_country")
    customer = _country(customer_country, "customer_country")
    if customer_exemption not in _EXEMPTIONS:
        raise DomainError(
            "invalid_tax_exemption", f"Unknown tax exemption “{customer_exemption}”; use none, exempt or reverse."
        )
    product_category = _PRODUCT_CATEGORY_TO_RATE_CATEGORY.get(product_tax_category)
    if product_category is None:
        raise DomainError(
            "invalid_tax_category",
            f"Unknown product tax category “{product_tax_category}”; use standard, reduced, zero or exempt.",
        )
    is_business = bool(customer_vat_id.strip())

    if customer_exemption == "exempt":
        return _pick(
            rates,
            EXEMPT,
            (customer, seller),
            f"The customer is exempt from tax: add an exempt tax rate (0%, with its exemption reason) for {customer}"
            f" or {seller}.",
        )
    if customer_exemption == "reverse" or (is_business and customer in EU_MEMBER_STATES and customer != seller):
        rate = _pick(
            rates,
            REVERSE_CHARGE,
            (seller, customer),
            f"Sales to businesses in {customer} are reverse charged: add a reverse-charge tax rate (0%) for {seller}.",
        )
        if not rate.exemption_reason.strip():
            rate = dataclasses.replace(rate, exemption_reason=REVERSE_CHARGE_MENTION)
        return rate
    if customer == seller:
        return _pick(rates, product_category, (seller,), _missing_product_rate(seller, product_tax_category))
    if customer not in EU_MEMBER_STATES:
        return _pick(
            rates,
            ZERO,
            (seller, customer),
            f"Sales to customers in {customer} (outside the EU) are zero-rated exports: add a zero-rated tax rate "
            f"(0%) for {seller}.",
        )
    return _pick(
        rates,
        product_category,
        (customer,),
        _missing_product_rate(customer, product_tax_category)
        + " Sales to consumers in another EU country are taxed at that country's rate (one-stop shop).",
    )


def _country(code: str, field: str) -> str:
    normalised = code.strip().upper() if isinstance(code, str) else ""
    if normalised == "EL":  # Greece's VAT prefix, sometimes typed as its country
        normalised = "GR"
    if len(normalised) != 2 or not normalised.isascii() or not normalised.isalpha():
        message = f"“{code}” is not a two-letter country code such as NL."
        raise DomainError("invalid_country", message, fields={field: message})
    return normalised


def _missing_product_rate(country: str, product_tax_category: str) -> str:
    kind = {"standard": "standard-rate", "reduced": "reduced-rate", "zero": "zero-rated", "exempt": "exempt"}
    return f"No tax rate for {kind[product_tax_category]} products in {country}: add one for {country}."


def _pick(rates: Sequence[TaxRateInfo], category: str, countries: tuple[str, ...], missing: str) -> TaxRateInfo:
    """The rate of ``category`` for the first country that has one: highest percentage, then lowest id."""
    for country in countries:
        candidates = [rate for rate in rates if rate.category == category and rate.country.strip().upper() == country]
        if candidates:
            return min(candidates, key=lambda r: (-r.percentage, r.id is None, r.id or 0, r.name))
    raise DomainError("no_tax_rate", missing)
