"""Money helpers: currency codes, the one rounding rule, formatting and parsing amounts.

Pure Python (Babel only) so that domain code can use it without Django. Amounts are
``Decimal`` everywhere; a ``float`` is refused outright because it cannot hold 0.1 exactly
and would silently drift invoice totals.

Stored amounts live in django-money fields; this module only holds the rules that every
part of the product must apply the same way:

* ``round_money`` is the single rounding helper: ROUND_HALF_UP (half away from zero) to the
  currency's minor unit (EUR 2, JPY 0, KWD 3). Billed amounts go through it, nothing else.
* ``parse_amount`` turns what a person or an API client typed into a ``Decimal``, with
  messages a non-programmer understands.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, is_currency

from billing_site.errors import DomainError

__all__ = [
    "MAX_DECIMAL_PLACES",
    "MAX_INTEGER_DIGITS",
    "format_money",
    "format_unit_amount",
    "is_valid_currency",
    "minor_units",
    "parse_amount",
    "round_money",
    "validate_currency",
]

#: Unit prices may be as fine as 0.000125; Stripe allows the same 12 places.
MAX_DECIMAL_PLACES = 12
#: 15 digits before the point is beyond any real invoice and keeps sums exact in SQL.
MAX_INTEGER_DIGITS = 15

DEFAULT_LANGUAGE = "en"

_CURRENCY_SHAPE = re.compile(r"[A-Z]{3}")
# ISO 4217 codes that name no money at all ("no currency", "testing"): nobody bills in them.
_NOT_BILLABLE = frozenset({"XXX", "XTS"})
# Plain decimal notation only: no exponents ("1e3"), underscores ("1_000") or non-ASCII digits,
# which Decimal() would otherwise accept and a person would never mean.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Wide enough that quantizing or multiplying our amounts is always exact.
_EXACT = Context(prec=100, rounding=ROUND_HALF_UP)


def _currency_error(code: object, field: str) -> DomainError:
    message = f"“{code}” is not a currency code we know. Use a three-letter ISO code such as EUR."
    return DomainError("invalid_currency", message, fields={field: message})


def validate_currency(code: object, *, field: str = "currency") -> str:
    """Return the ISO 4217 code in upper case, or raise ``invalid_currency``.

    Lower case and surrounding blanks are forgiven ("eur " -> "EUR"); anything Babel does not
    know as a currency is not.
    """
    if not isinstance(code, str):
        raise _currency_error(code, field)
    normalised = code.strip().upper()
    if not _is_known_currency(normalised):
        raise _currency_error(code.strip(), field)
    return normalised


@functools.lru_cache(maxsize=512)
def _is_known_currency(normalised: str) -> bool:
    """Cached: Babel's look-up is slow and the same few currencies are checked on every quote."""
    return bool(_CURRENCY_SHAPE.fullmatch(normalised)) and normalised not in _NOT_BILLABLE and is_currency(normalised)


@functools.lru_cache(maxsize=512)
def _precision(currency: str) -> int:
    return get_currency_precision(currency)


def is_valid_currency(code: object) -> bool:
    """True when ``validate_currency`` would accept the code."""
    try:
        validate_currency(code)
    except DomainError:
        return False
    return True


def minor_units(currency: str) -> int:
    """Number of decimals of the currency's smallest coin: EUR 2, JPY 0, KWD 3."""
    return _precision(validate_currency(currency))


def _require_decimal(amount: object, field: str = "amount") -> Decimal:
    """Accept Decimal or int; refuse float (inexact) and anything else with ``invalid_amount``."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        kind = "a floating-point number" if isinstance(amount, float) else f"a {type(amount).__name__}"
        message = f"{_label(field)} must be an exact decimal number, not {kind}."
        raise DomainError("invalid_amount", message, fields={field: message})
    value = Decimal(amount)
    if not value.is_finite():
        message = f"{_label(field)} must be a number such as 79.50."
        raise DomainError("invalid_amount", message, fields={field: message})
    return value


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half away from zero: the product's only rounding rule.

    ``0.125 EUR -> 0.13``, ``-0.125 EUR -> -0.13``, ``2.5 JPY -> 3``. A negative zero is returned
    as zero so that "-0.00" never appears on an invoice.
    """
    value = _require_decimal(amount)
    exponent = Decimal(1).scaleb(-minor_units(currency))
    with localcontext(_EXACT):
        rounded = value.quantize(exponent, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _locale(language: str | None) -> Locale:
    """Babel locale for a language such as "nl" or "en-GB"; unknown or empty falls back to English."""
    if language:
        try:
            return Locale.parse(str(language).strip().replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):
            pass
    return Locale.parse(DEFAULT_LANGUAGE)


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """A billed amount as people in that language write it: en "€1,234.50", nl "€ 1.234,50".

    The amount is first rounded with ``round_money``: Babel on its own rounds half to even
    (0.125 -> 0.12), which would disagree with the invoice total.
    """
    currency = validate_currency(currency)
    return format_currency(round_money(amount, currency), currency, locale=_locale(language))


def format_unit_amount(amount: Decimal, currency: str, language: str) -> str:
    """A unit price without hiding its precision: "€0.000125", but "€7.00" rather than "€7".

    Keeps up to 12 decimals and at least the currency's minor digits; zeros beyond that go.
    """
    currency = validate_currency(currency)
    value = _require_decimal(amount)
    with localcontext(_EXACT):
        value = value.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES), rounding=ROUND_HALF_UP).normalize()
        if value == value.to_integral_value():  # "1E+3" -> "1000" so Babel sees a plain number
            value = value.quantize(Decimal(1))
    return format_currency(value, currency, locale=_locale(language), decimal_quantization=False)


def _label(field: str) -> str:
    """ "unit_amount" -> "Unit amount": the field as a person would name it."""
    words = field.replace("_", " ").replace(".", " ").strip()
    return (words[:1].upper() + words[1:]) if words else "Amount"


def _decimal_places(value: Decimal) -> int:
    """Significant decimals: "1.50" has 1, "2" has 0; trailing zeros do not count."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _integer_digits(value: Decimal) -> int:
    return 0 if value.is_zero() else max(0, value.adjusted() + 1)


def parse_amount(
    text: str | Decimal | int,
    *,
    field: str = "amount",
    max_decimal_places: int = MAX_DECIMAL_PLACES,
    allow_negative: bool = False,
    label: str | None = None,
) -> Decimal:
    """Turn "79.50", " 79.5 ", 79 or Decimal("79.50") into a Decimal, or explain what is wrong.

    Every refusal is ``DomainError("invalid_amount")`` with ``fields={field: message}``; the
    message names the field in plain English (``label`` overrides the name derived from
    ``field``). Floats are refused: they cannot carry a price exactly.
    """
    name = label or _label(field)

    def fail(message: str) -> DomainError:
        return DomainError("invalid_amount", message, fields={field: message})

    if isinstance(text, str):
        cleaned = text.strip()
        if not cleaned:
            raise fail(f"{name} is required.")
        if "," in cleaned:
            raise fail(f"{name} contains a comma: use a dot for decimals and no thousands separator, such as 1234.50.")
        if not _PLAIN_DECIMAL.fullmatch(cleaned):
            raise fail(f"{name} must be a number such as 79.50.")
        value = Decimal(cleaned)
    elif isinstance(text, float):
        raise fail(
            f'{name} must be an exact decimal number, not a floating-point number. Send it as text, such as "79.50".'
        )
    elif isinstance(text, Decimal | int) and not isinstance(text, bool):
        value = Decimal(text)
        if not value.is_finite():
            raise fail(f"{name} must be a number such as 79.50.")
    else:
        raise fail(f"{name} must be a number such as 79.50.")

    if value.is_zero():
        value = value.copy_abs()
    if value < 0 and not allow_negative:
        raise fail(f"{name} must not be negative.")
    if _decimal_places(value) > max_decimal_places:
        places = "place" if max_decimal_places == 1 else "places"
        raise fail(f"{name} has too many decimal places. Use at most {max_decimal_places} decimal {places}.")
    if _integer_digits(value) > MAX_INTEGER_DIGITS:
        raise fail(f"{name} is too large: use at most {MAX_INTEGER_DIGITS} digits before the decimal point.")
    return value
