"""Money in the API: {"amount": "79.50", "currency": "EUR"} — a decimal string in major units."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from moneyed import Money
from rest_framework import serializers

from billing_site.errors import DomainError
from billing_site.money import minor_units, parse_amount, validate_currency

MONEY_SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "string", "format": "decimal", "example": "79.50"},
        "currency": {"type": "string", "example": "EUR"},
    },
    "required": ["amount", "currency"],
}
DECIMAL_STRING_SCHEMA = {"type": "string", "format": "decimal", "example": "79.50"}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    default_error_messages = {
        "invalid": 'Send money as {{"amount": "79.50", "currency": "EUR"}}.',  # braces doubled: DRF formats it
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


@extend_schema_field(DECIMAL_STRING_SCHEMA)
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
    """At least the currency's minor units, no padding beyond what the amount needs.

    A stored column keeps 12 places, so EUR 79.50 comes back as 79.500000000000: it is sent as "79.50",
    a unit price of 0.000125 as "0.000125", JPY 1000 as "1000" and KWD 1.5 as "1.500".
    """
    currency = str(value.currency)
    amount = Decimal(value.amount)
    try:
        places = minor_units(currency)
    except DomainError:
        return {"amount": format(amount, "f"), "currency": currency}
    normalised = amount.normalize()
    exponent = normalised.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        normalised = amount.quantize(Decimal(1).scaleb(-places))
    return {"amount": format(normalised, "f"), "currency": currency}
