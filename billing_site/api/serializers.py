"""Serializer pieces every API resource uses: strict input, ids, money and quantities, the error shape."""

from __future__ import annotations

from decimal import Decimal

from moneyed import Money
from rest_framework import serializers

from billing_site.api.fields import money_json

# The ranges of the integer columns on every database we run on (SQLite would store anything).
SMALL_INT_MAX = 32767
INT_MAX = 2147483647


# --- presentation helpers -----------------------------------------------------------------


def amount_text(value: Decimal | None, currency: str) -> str | None:
    """A price amount at full precision but with at least the currency's minor digits: "7.00", "0.000125"."""
    return None if value is None else money_json(Money(value, currency))["amount"]


def quantity_text(value: Decimal | None) -> str | None:
    """A quantity without exponent or trailing zeros: "12", "12.5"."""
    if value is None:
        return None
    value = Decimal(value)
    return "0" if value.is_zero() else format(value.normalize(), "f")


def money_dict(amount: Decimal, currency: str) -> dict[str, str]:
    return money_json(Money(amount, currency))


# --- shared fields ------------------------------------------------------------------------


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know, so a typo ("unit_price") never passes silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - {name for name, field in self.fields.items() if not field.read_only})
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: ["This field is unknown. Check its spelling against the API documentation."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def whole_number(data: object) -> int | None:
    """An id as sent in JSON: 42, "42" or 42.0 (our parser's Decimal); anything else is None."""
    if isinstance(data, str) and data.strip().isascii() and data.strip().isdigit():
        return int(data.strip())
    if isinstance(data, Decimal) and data.is_finite() and data == data.to_integral_value():
        return int(data)
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    return None


class IdField(serializers.PrimaryKeyRelatedField):
    """An object referenced by its numeric id; an unknown id is a 400 naming the field."""

    default_error_messages = {
        "required": "This field is required.",
        "does_not_exist": "There is no {model} with id {pk_value}.",
        "incorrect_type": "Give the id as a whole number, such as 42.",
    }

    def to_internal_value(self, data):
        pk = whole_number(data)
        if pk is None:
            self.fail("incorrect_type")
        if not 0 < pk < 2**63:  # beyond the id column: no such row (and no overflow in the database driver)
            self.fail("does_not_exist", pk_value=pk)
        return super().to_internal_value(pk)

    def fail(self, key, **kwargs):
        kwargs.setdefault("model", self.get_queryset().model._meta.verbose_name)
        super().fail(key, **kwargs)


# --- errors -------------------------------------------------------------------------------


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. “tiers_not_ascending”.")
    message = serializers.CharField(help_text="What went wrong, in words a person understands.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field, e.g. {“tiers.1.up_to”: […]}.",
    )


class ErrorOutput(serializers.Serializer):
    error = ErrorDetailOutput()
