"""An invoice's totals and what the customer's credit balance does to them.

Pure Python: no Django, no I/O. Every input is an amount already rounded to the currency's
minor unit (lines, the allocated discount, the tax rounded per category), so the totals are
sums of rounded parts and never need rounding themselves; an unrounded input is refused
(``not_rounded``) rather than silently rounded a second time.

Customer balance
----------------
``customer_balance`` is credit the customer has with us (never negative: nothing in the
product lets a customer owe us through the balance). Credit is applied up to the invoice total;
what is left stays on the balance. An invoice whose credits exceed its charges has a negative
total: nothing is due and the negative total is added to the customer's balance, to be used
by the next invoices.

    subtotal            = Σ lines
    total_excluding_tax = subtotal − discount
    total               = total_excluding_tax + tax
    balance_applied     = min(balance, max(total, 0))
    amount_due          = max(total, 0) − balance_applied          (never negative)
    balance_after       = balance − balance_applied − min(total, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing_site.errors import DomainError
from billing_site.money import round_money, validate_currency

__all__ = ["InvoiceTotals", "invoice_totals"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """The figures printed at the bottom of an invoice, all in the invoice currency."""

    subtotal: Decimal
    discount: Decimal
    total_excluding_tax: Decimal
    tax: Decimal
    total: Decimal
    balance_applied: Decimal
    amount_due: Decimal
    balance_after: Decimal


def invoice_totals(
    *,
    line_amounts: Sequence[Decimal],
    discount: Decimal,
    tax: Decimal,
    customer_balance: Decimal,
    currency: str,
) -> InvoiceTotals:
    """Totals of one invoice and the customer's balance once it is issued (see the module docstring)."""
    currency = validate_currency(currency)
    for index, amount in enumerate(line_amounts, start=1):
        _check_rounded(amount, currency, f"Line {index}")
    _check_rounded(discount, currency, "The discount")
    _check_rounded(tax, currency, "The tax")
    _check_rounded(customer_balance, currency, "The customer balance")
    if discount < 0:
        raise DomainError("negative_discount", "A discount cannot be negative.")
    if customer_balance < 0:
        raise DomainError("negative_balance", "A customer's credit balance cannot be negative.")

    # Every figure is a sum of rounded parts; round_money only fixes the exponent ("12.5" ->
    # "12.50") and turns "-0.00" into "0.00", it never changes a value here.
    subtotal = sum(line_amounts, _ZERO)
    total = subtotal - discount + tax
    balance_applied = min(customer_balance, max(total, _ZERO))
    return InvoiceTotals(
        subtotal=round_money(subtotal, currency),
        discount=round_money(discount, currency),
        total_excluding_tax=round_money(subtotal - discount, currency),
        tax=round_money(tax, currency),
        total=round_money(total, currency),
        balance_applied=round_money(balance_applied, currency),
        amount_due=round_money(max(total, _ZERO) - balance_applied, currency),
        balance_after=round_money(customer_balance - balance_applied - min(total, _ZERO), currency),
    )


def _check_rounded(amount: Decimal, currency: str, label: str) -> None:
    if round_money(amount, currency) != amount:
        raise DomainError("not_rounded", f"{label} ({amount}) is not rounded to whole {currency} minor units.")
