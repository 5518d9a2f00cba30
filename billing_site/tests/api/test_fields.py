"""Money in the API: {"amount": "79.50", "currency": "EUR"}, and plain decimals as strings."""

from decimal import Decimal

import pytest
from moneyed import Money
from rest_framework import serializers

from billing_site.api.fields import DecimalStringField, MoneyField, decimal_str


class PriceSerializer(serializers.Serializer):
    amount = MoneyField(max_decimal_places=2)
    unit_amount = DecimalStringField()
    credit = MoneyField(allow_negative=True, required=False)


def errors_of(data: dict) -> dict:
    serializer = PriceSerializer(data=data)
    assert not serializer.is_valid()
    return {name: [str(message) for message in messages] for name, messages in serializer.errors.items()}


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("79.50", "EUR", "79.50"),
        ("79.5", "EUR", "79.50"),
        ("79.500000000000", "EUR", "79.50"),  # as a 12-place column gives it back
        ("0.000125000000", "EUR", "0.000125"),
        ("1000", "JPY", "1000"),
        ("1.5", "KWD", "1.500"),
        ("0", "EUR", "0.00"),
        ("-12.30", "EUR", "-12.30"),
    ],
)
def test_money_representation(amount, currency, expected):
    assert MoneyField().to_representation(Money(Decimal(amount), currency)) == {
        "amount": expected,
        "currency": currency,
    }


def test_money_representation_of_none_is_null():
    assert MoneyField(allow_null=True).to_representation(None) is None


def test_money_input_is_parsed_exactly():
    serializer = PriceSerializer(
        data={"amount": {"amount": "79.50", "currency": "eur"}, "unit_amount": "0.000125"},
    )

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["amount"] == Money(Decimal("79.50"), "EUR")
    assert str(serializer.validated_data["amount"].currency) == "EUR"
    assert serializer.validated_data["unit_amount"] == Decimal("0.000125")


def test_money_input_accepts_a_decimal_from_the_json_parser():
    serializer = PriceSerializer(data={"amount": {"amount": Decimal("79.50"), "currency": "EUR"}, "unit_amount": 3})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["amount"].amount == Decimal("79.50")
    assert serializer.validated_data["unit_amount"] == Decimal(3)


@pytest.mark.parametrize(
    ("money", "message"),
    [
        ("79.50", 'Send money as {"amount": "79.50", "currency": "EUR"}.'),
        ({"currency": "EUR"}, 'Send money as {"amount": "79.50", "currency": "EUR"}.'),
        ({"amount": "1", "currency": "EUR", "extra": 1}, 'Send money as {"amount": "79.50", "currency": "EUR"}.'),
        (
            {"amount": "79.50", "currency": "EURO"},
            "“EURO” is not a currency code we know. Use a three-letter ISO code such as EUR.",
        ),
        ({"amount": "79.50"}, "“” is not a currency code we know. Use a three-letter ISO code such as EUR."),
        (
            {"amount": "79,50", "currency": "EUR"},
            "Amount contains a comma: use a dot for decimals and no thousands separator, such as 1234.50.",
        ),
        ({"amount": "79.505", "currency": "EUR"}, "Amount has too many decimal places. Use at most 2 decimal places."),
        ({"amount": "-1", "currency": "EUR"}, "Amount must not be negative."),
        (
            {"amount": 79.5, "currency": "EUR"},
            'Amount must be an exact decimal number, not a floating-point number. Send it as text, such as "79.50".',
        ),
        ({"amount": "lots", "currency": "EUR"}, "Amount must be a number such as 79.50."),
    ],
)
def test_money_input_errors(money, message):
    assert errors_of({"amount": money, "unit_amount": "1"}) == {"amount": [message]}


def test_negative_money_only_where_allowed():
    serializer = PriceSerializer(
        data={
            "amount": {"amount": "1", "currency": "EUR"},
            "unit_amount": "1",
            "credit": {"amount": "-5", "currency": "EUR"},
        }
    )

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["credit"] == Money(Decimal("-5"), "EUR")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Unit amount is required."),
        ("1e3", "Unit amount must be a number such as 79.50."),
        ("0.0000000000001", "Unit amount has too many decimal places. Use at most 12 decimal places."),
        ("-0.5", "Unit amount must not be negative."),
        (
            0.5,
            'Unit amount must be an exact decimal number, not a floating-point number. Send it as text, such as "79.50".',
        ),
        ([], "Unit amount must be a number such as 79.50."),
    ],
)
def test_decimal_string_input_errors(value, message):
    assert errors_of({"amount": {"amount": "1", "currency": "EUR"}, "unit_amount": value}) == {"unit_amount": [message]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("7"), "7"),
        (Decimal("7.000000000000"), "7"),
        (Decimal("7.5"), "7.50"),
        (Decimal("0.000125000000"), "0.000125"),
        (Decimal("1E+3"), "1000"),
    ],
)
def test_decimal_string_representation(value, expected):
    assert DecimalStringField().to_representation(value) == expected
    assert decimal_str(value) == expected


def test_decimal_string_representation_of_none_is_null():
    assert DecimalStringField(allow_null=True).to_representation(None) is None
