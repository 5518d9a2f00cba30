"""Money in the API: {"amount": "79.50", "currency": "EUR"} — a decimal string in major units."""

from __future__ import annotations

from decimal import Decimal

from moneyed import Money
from rest_framework import serializers

from billing_site.errors import DomainError
from billing_site.money import parse_amount, validate_currency


class MoneyField(serializers.Field):
    default_error_messages = {
        "invalid": 'Send money as {"amount": "79.50", "currency": "EUR"}.',
    }

    def __init__(self, *, max_decimal_places: int = 12, allow_negative: bool = False, **kwargs):
        self.max_decimal_places = max_decimal_places
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return money_json(value)

    def to_internal_value(self, data):
        if not isinstance(data, dict) or set(data) - {"amount", "currency"} or "amount" not in data:
            self.fail("invalid")
        try:
            amount = parse_amount(
                data["amount"],
                field=self.field_name,
                max_decimal_places=self.max_decimal_places,
                allow_negative=self.allow_negative,
            )
            currency = validate_currency(data.get("currency", ""))
        except DomainError as error:
            raise serializers.ValidationError(error.message) from error
        return Money(amount, currency)


class DecimalStringField(serializers.Field):
    """A plain decimal (a unit amount, a quantity) given as a string; floats are refused."""

    def __init__(self, *, max_decimal_places: int = 12, allow_negative: bool = False, **kwargs):
        self.max_decimal_places = max_decimal_places
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value is None else decimal_str(value)

    def to_internal_value(self, data):
        try:
            return parse_amount(
                data,
                field=self.field_name,
                max_decimal_places=self.max_decimal_places,
                allow_negative=self.allow_negative,
            )
        except DomainError as error:
            raise serializers.ValidationError(error.message) from error


def decimal_str(value: Decimal) -> str:
    """Plain notation without exponent or needless trailing zeros beyond two places."""
    value = Decimal(value)
    text = format(value.normalize(), "f")
    if "." not in text:
        return text
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def money_json(value: Money) -> dict:
    return {"amount": format(value.amount, "f"), "currency": str(value.currency)}
