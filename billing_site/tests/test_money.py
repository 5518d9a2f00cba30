"""Money helpers: currency codes, the one rounding rule, formatting, parsing. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import (
    format_money,
    format_unit_amount,
    is_valid_currency,
    minor_units,
    parse_amount,
    round_money,
    validate_currency,
)

NBSP = "\xa0"


# --- currencies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("EUR", 2), ("USD", 2), ("SEK", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("eur", 2)],
)
def test_minor_units(currency, digits):
    assert minor_units(currency) == digits


def test_validate_currency_normalises_case_and_blanks():
    assert validate_currency(" eur ") == "EUR"
    assert validate_currency("JPY") == "JPY"


def test_unknown_currency_message_and_field():
    with pytest.raises(DomainError) as caught:
        validate_currency("XYZ")
    assert caught.value.code == "invalid_currency"
    assert caught.value.message == ("“XYZ” is not a currency code we know. Use a three-letter ISO code such as EUR.")
    assert caught.value.fields == {"currency": [caught.value.message]}


def test_validate_currency_names_the_given_field():
    with pytest.raises(DomainError) as caught:
        validate_currency("EURO", field="billing_currency")
    assert caught.value.fields == {"billing_currency": [caught.value.message]}


@pytest.mark.parametrize("code", ["XYZ", "EU", "EURO", "", "   ", "E1R", "XXX", "XTS", None, 978])
def test_invalid_currencies_are_refused(code):
    assert is_valid_currency(code) is False
    with pytest.raises(DomainError) as caught:
        validate_currency(code)
    assert caught.value.code == "invalid_currency"


def test_minor_units_refuses_unknown_currency():
    with pytest.raises(DomainError) as caught:
        minor_units("ABC")
    assert caught.value.code == "invalid_currency"


@pytest.mark.parametrize("code", ["EUR", "usd", "JPY", "KWD"])
def test_valid_currencies(code):
    assert is_valid_currency(code) is True


# --- rounding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "EUR", "0.13"),
        ("79.495", "EUR", "79.50"),
        ("79.494999", "EUR", "79.49"),
        ("79.5", "EUR", "79.50"),
        ("0.005", "USD", "0.01"),
        ("0.004", "USD", "0.00"),
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("2.4999", "JPY", "2"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
        ("-0.125", "EUR", "-0.13"),
        ("-2.5", "JPY", "-3"),
        ("-0.124", "EUR", "-0.12"),
        ("1234567890123.455", "EUR", "1234567890123.46"),
    ],
)
def test_round_money_half_up(amount, currency, expected):
    result = round_money(Decimal(amount), currency)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_round_money_never_returns_negative_zero():
    assert str(round_money(Decimal("-0.001"), "EUR")) == "0.00"
    assert str(round_money(Decimal("-0.4"), "JPY")) == "0"


def test_round_money_accepts_int():
    assert str(round_money(7, "EUR")) == "7.00"


@pytest.mark.parametrize("amount", [0.125, "0.125", None, Decimal("NaN"), Decimal("Infinity")])
def test_round_money_refuses_inexact_or_non_numbers(amount):
    with pytest.raises(DomainError) as caught:
        round_money(amount, "EUR")
    assert caught.value.code == "invalid_amount"


def test_round_money_refuses_float_with_a_clear_message():
    with pytest.raises(DomainError) as caught:
        round_money(0.1, "EUR")
    assert caught.value.message == ("Amount must be an exact decimal number, not a floating-point number.")


def test_round_money_refuses_unknown_currency():
    with pytest.raises(DomainError) as caught:
        round_money(Decimal("1"), "ABC")
    assert caught.value.code == "invalid_currency"


@given(
    amount=st.decimals(
        min_value=Decimal("-1000000000000"),
        max_value=Decimal("1000000000000"),
        allow_nan=False,
        allow_infinity=False,
        places=12,
    ),
    currency=st.sampled_from(["EUR", "USD", "JPY", "KWD", "BHD"]),
)
def test_round_money_lands_on_the_minor_unit_within_half_of_it(amount, currency):
    digits = minor_units(currency)
    rounded = round_money(amount, currency)
    assert rounded.as_tuple().exponent == -digits
    assert abs(rounded - amount) <= Decimal("0.5").scaleb(-digits)
    assert round_money(rounded, currency) == rounded


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "€1,234.50"),
        ("nl", f"€{NBSP}1.234,50"),
        ("sv", f"1{NBSP}234,50{NBSP}€"),
        ("en-GB", "€1,234.50"),
        ("nl_NL", f"€{NBSP}1.234,50"),
        ("xx", "€1,234.50"),
        ("", "€1,234.50"),
        (None, "€1,234.50"),
    ],
)
def test_format_money_in_languages(language, expected):
    assert format_money(Decimal("1234.5"), "EUR", language) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("-1234.5", "EUR", "en", "-€1,234.50"),
        ("-1234.5", "EUR", "nl", f"€{NBSP}-1.234,50"),
        ("-1234.5", "EUR", "sv", f"-1{NBSP}234,50{NBSP}€"),
        ("1234.5", "JPY", "en", "¥1,235"),
        ("1234.5", "KWD", "en", "KWD1,234.500"),
        ("1234.5", "SEK", "sv", f"1{NBSP}234,50{NBSP}kr"),
        ("1234.5", "USD", "nl", f"US${NBSP}1.234,50"),
        ("0", "EUR", "en", "€0.00"),
    ],
)
def test_format_money_currencies_and_signs(amount, currency, language, expected):
    assert format_money(Decimal(amount), currency, language) == expected


def test_format_money_rounds_half_up_like_the_invoice():
    # Babel alone would round half to even and print €0.12 for an amount billed as 0.13.
    assert format_money(Decimal("0.125"), "EUR", "en") == "€0.13"
    assert format_money(Decimal("0.125"), "EUR", "nl") == f"€{NBSP}0,13"


def test_format_money_refuses_float_and_unknown_currency():
    with pytest.raises(DomainError) as caught:
        format_money(1.5, "EUR", "en")
    assert caught.value.code == "invalid_amount"
    with pytest.raises(DomainError) as caught:
        format_money(Decimal("1.5"), "ABC", "en")
    assert caught.value.code == "invalid_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("0.000125", "EUR", "en", "€0.000125"),
        ("0.000125", "EUR", "nl", f"€{NBSP}0,000125"),
        ("0.000125", "EUR", "sv", f"0,000125{NBSP}€"),
        ("7", "EUR", "en", "€7.00"),
        ("7.5", "EUR", "en", "€7.50"),
        ("0.100000", "EUR", "en", "€0.10"),
        ("1234567.000125", "EUR", "en", "€1,234,567.000125"),
        ("1E+3", "EUR", "en", "€1,000.00"),
        ("1.5", "JPY", "en", "¥1.5"),
        ("7", "JPY", "en", "¥7"),
        ("0.5", "KWD", "en", "KWD0.500"),
        ("0.000000000001", "EUR", "en", "€0.000000000001"),
        ("0.0000000000005", "EUR", "en", "€0.000000000001"),
        ("0.00000000000049", "EUR", "en", "€0.00"),
    ],
)
def test_format_unit_amount_keeps_precision(amount, currency, language, expected):
    assert format_unit_amount(Decimal(amount), currency, language) == expected


def test_format_unit_amount_refuses_float():
    with pytest.raises(DomainError) as caught:
        format_unit_amount(0.000125, "EUR", "en")
    assert caught.value.code == "invalid_amount"


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("79.50", "79.50"),
        ("79", "79"),
        (" 79.5 ", "79.5"),
        ("+5", "5"),
        ("0.000125", "0.000125"),
        ("79.", "79"),
        (".5", "0.5"),
        ("-0", "0"),
        ("1.500000000000000", "1.500000000000000"),
        ("999999999999999.99", "999999999999999.99"),
        (Decimal("79.50"), "79.50"),
        (79, "79"),
        (0, "0"),
    ],
)
def test_parse_amount_accepts(given_value, expected):
    result = parse_amount(given_value)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_parse_amount_allows_negative_when_asked():
    assert parse_amount("-12.30", allow_negative=True) == Decimal("-12.30")


def _refusal(value, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        parse_amount(value, **kwargs)
    assert caught.value.code == "invalid_amount"
    return caught.value


@pytest.mark.parametrize(
    ("given_value", "message"),
    [
        ("", "Amount is required."),
        ("   ", "Amount is required."),
        ("abc", "Amount must be a number such as 79.50."),
        ("NaN", "Amount must be a number such as 79.50."),
        ("Infinity", "Amount must be a number such as 79.50."),
        ("1e3", "Amount must be a number such as 79.50."),
        ("1_000", "Amount must be a number such as 79.50."),
        ("٣", "Amount must be a number such as 79.50."),
        ("€5", "Amount must be a number such as 79.50."),
        ("1.2.3", "Amount must be a number such as 79.50."),
        (Decimal("NaN"), "Amount must be a number such as 79.50."),
        (Decimal("-Infinity"), "Amount must be a number such as 79.50."),
        (None, "Amount must be a number such as 79.50."),
        (True, "Amount must be a number such as 79.50."),
        (
            "1,5",
            "Amount contains a comma: use a dot for decimals and no thousands separator, such as 1234.50.",
        ),
        (
            "1,234.50",
            "Amount contains a comma: use a dot for decimals and no thousands separator, such as 1234.50.",
        ),
        (
            1.5,
            'Amount must be an exact decimal number, not a floating-point number. Send it as text, such as "79.50".',
        ),
        ("-1", "Amount must not be negative."),
        (Decimal("-0.01"), "Amount must not be negative."),
        (
            "0.0000000000001",
            "Amount has too many decimal places. Use at most 12 decimal places.",
        ),
        (
            "1000000000000000",
            "Amount is too large: use at most 15 digits before the decimal point.",
        ),
    ],
)
def test_parse_amount_refusals(given_value, message):
    error = _refusal(given_value)
    assert error.message == message
    assert error.fields == {"amount": [message]}


def test_parse_amount_names_the_field_in_plain_english():
    error = _refusal("-1", field="unit_amount")
    assert error.message == "Unit amount must not be negative."
    assert error.fields == {"unit_amount": ["Unit amount must not be negative."]}


def test_parse_amount_label_overrides_field_name():
    error = _refusal("x", field="tiers", label="Tier 2 unit amount")
    assert error.fields == {"tiers": ["Tier 2 unit amount must be a number such as 79.50."]}


def test_parse_amount_max_decimal_places():
    assert parse_amount("1.25", max_decimal_places=2) == Decimal("1.25")
    assert parse_amount("1.2500", max_decimal_places=2) == Decimal("1.2500")
    error = _refusal("1.255", field="price", max_decimal_places=2)
    assert error.message == "Price has too many decimal places. Use at most 2 decimal places."
    error = _refusal("1.25", max_decimal_places=1)
    assert error.message == "Amount has too many decimal places. Use at most 1 decimal place."
