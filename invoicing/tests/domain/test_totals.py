"""Invoice totals and the customer's credit balance, with exact amounts. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import minor_units
from invoicing.domain.totals import InvoiceTotals, invoice_totals

D = Decimal


def totals(lines, discount="0.00", tax="0.00", balance="0.00", currency="EUR") -> InvoiceTotals:
    return invoice_totals(
        line_amounts=[D(x) for x in lines],
        discount=D(discount),
        tax=D(tax),
        customer_balance=D(balance),
        currency=currency,
    )


def test_plain_invoice_without_balance():
    assert totals(["10.00", "20.00", "33.33"], discount="12.67", tax="10.13") == InvoiceTotals(
        subtotal=D("63.33"),
        discount=D("12.67"),
        total_excluding_tax=D("50.66"),
        tax=D("10.13"),
        total=D("60.79"),
        balance_applied=D("0.00"),
        amount_due=D("60.79"),
        balance_after=D("0.00"),
    )


def test_balance_bigger_than_the_total_pays_it_all_and_the_rest_stays():
    result = totals(["100.00"], tax="21.00", balance="150.00")
    assert result.total == D("121.00")
    assert result.balance_applied == D("121.00")
    assert result.amount_due == D("0.00")
    assert result.balance_after == D("29.00")


def test_balance_smaller_than_the_total_is_used_up():
    result = totals(["100.00"], discount="10.00", tax="18.90", balance="25.50")
    assert result.total == D("108.90")
    assert result.balance_applied == D("25.50")
    assert result.amount_due == D("83.40")
    assert result.balance_after == D("0.00")


def test_balance_equal_to_the_total():
    result = totals(["50.00"], balance="50.00")
    assert (result.balance_applied, result.amount_due, result.balance_after) == (D("50.00"), D("0.00"), D("0.00"))


def test_negative_invoice_adds_to_the_balance():
    # A downgrade: the unused time of the old plan is credited, the new plan charged.
    result = totals(["-80.00", "30.00"], tax="-10.50", balance="5.00")
    assert result.subtotal == D("-50.00")
    assert result.total == D("-60.50")
    assert result.balance_applied == D("0.00")
    assert result.amount_due == D("0.00")
    assert result.balance_after == D("65.50")


def test_zero_invoice():
    result = totals([], balance="12.00")
    assert result == InvoiceTotals(*(D("0.00"),) * 7, balance_after=D("12.00"))
    assert str(result.total) == "0.00"


def test_figures_carry_the_currency_exponent_and_no_negative_zero():
    result = totals(["10", "-10.0"])
    assert str(result.subtotal) == "0.00"
    assert str(result.total) == "0.00"
    assert str(result.balance_after) == "0.00"


def test_jpy():
    result = totals(["1000", "333"], discount="133", tax="120", balance="200", currency="JPY")
    assert result.total == D("1320")
    assert result.amount_due == D("1120")
    assert str(result.amount_due) == "1120"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lines": ["10.001"]},
        {"lines": ["10.00"], "discount": "0.005"},
        {"lines": ["10.00"], "tax": "2.105"},
        {"lines": ["10.00"], "balance": "0.001"},
        {"lines": ["10.5"], "currency": "JPY"},
    ],
)
def test_unrounded_input_is_refused(kwargs):
    with pytest.raises(DomainError) as error:
        totals(**kwargs)
    assert error.value.code == "not_rounded"


def test_negative_discount_is_refused():
    with pytest.raises(DomainError) as error:
        totals(["10.00"], discount="-1.00")
    assert error.value.code == "negative_discount"


def test_negative_balance_is_refused():
    with pytest.raises(DomainError) as error:
        totals(["10.00"], balance="-1.00")
    assert error.value.code == "negative_balance"


def test_float_is_refused():
    with pytest.raises(DomainError) as error:
        invoice_totals(line_amounts=[10.0], discount=D(0), tax=D(0), customer_balance=D(0), currency="EUR")  # type: ignore[list-item]
    assert error.value.code == "invalid_amount"


# --- properties --------------------------------------------------------------------------


@st.composite
def invoices(draw: st.DrawFn) -> dict:
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD"]))
    places = minor_units(currency)

    def money(low: int, high: int) -> Decimal:
        return Decimal(draw(st.integers(low, high))).scaleb(-places)

    return {
        "line_amounts": [money(-(10**6), 10**7) for _ in range(draw(st.integers(0, 6)))],
        "discount": money(0, 10**6),
        "tax": money(-(10**5), 10**6),
        "customer_balance": money(0, 10**6),
        "currency": currency,
    }


@given(invoices())
def test_total_is_lines_minus_discount_plus_tax(invoice):
    result = invoice_totals(**invoice)
    assert result.subtotal == sum(invoice["line_amounts"], Decimal(0))
    assert result.total == sum(invoice["line_amounts"], Decimal(0)) - invoice["discount"] + invoice["tax"]
    assert result.total == result.total_excluding_tax + result.tax


@given(invoices())
def test_amount_due_is_never_negative_and_balance_is_conserved(invoice):
    result = invoice_totals(**invoice)
    balance_before = invoice["customer_balance"]
    assert result.amount_due >= 0
    assert result.balance_after >= 0
    assert 0 <= result.balance_applied <= balance_before
    assert balance_before + max(-result.total, Decimal(0)) - result.balance_applied == result.balance_after
    assert result.amount_due + result.balance_applied == max(result.total, Decimal(0))
