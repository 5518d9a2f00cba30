"""VAT numbers: is it written the way its country writes them?

Pure Python. This checks the *format* only (the prefix, the number of digits, where letters go),
which catches typos and numbers pasted into the wrong field. It does not ask VIES (the EU's VAT
Information Exchange System) or the UK's HMRC whether the number is registered: this module never
touches the network, so a well-formed number that was never issued passes. Checking registration
online belongs in a job that can fail and retry, not in saving a customer.

Covered: the 27 EU member states (Greece uses the prefix ``EL``, not its ISO code ``GR``), Northern
Ireland (``XI``, for goods under the Windsor Framework; its customers have the ISO country ``GB``),
the United Kingdom (``GB``), Norway (``NO…MVA``) and Switzerland (``CHE…MWST``). Monaco and the
Isle of Man use French and British numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billing_site.errors import DomainError

__all__ = ["VAT_COUNTRIES", "VatFormat", "normalize_vat_id", "vat_format_for"]


@dataclass(frozen=True)
class VatFormat:
    prefix: str  # what a VAT number of this kind starts with: "NL", "EL", "CHE"
    pattern: str  # the rest, after the prefix
    example: str  # a number in the right shape, with its prefix
    adjective: str  # "a valid {adjective} VAT number"

    def matches(self, compact: str) -> bool:
        return compact.startswith(self.prefix) and re.fullmatch(self.pattern, compact[len(self.prefix) :]) is not None


_FORMATS: dict[str, VatFormat] = {
    # EU member states (formats as published with VIES).
    "AT": VatFormat("AT", r"U\d{8}", "ATU12345678", "Austrian"),
    "BE": VatFormat("BE", r"[01]\d{9}", "BE0123456789", "Belgian"),
    "BG": VatFormat("BG", r"\d{9,10}", "BG123456789", "Bulgarian"),
    "CY": VatFormat("CY", r"\d{8}[A-Z]", "CY12345678X", "Cypriot"),
    "CZ": VatFormat("CZ", r"\d{8,10}", "CZ12345678", "Czech"),
    "DE": VatFormat("DE", r"\d{9}", "DE123456789", "German"),
    "DK": VatFormat("DK", r"\d{8}", "DK12345678", "Danish"),
    "EE": VatFormat("EE", r"\d{9}", "EE123456789", "Estonian"),
    "EL": VatFormat("EL", r"\d{9}", "EL123456789", "Greek"),
    # Companies: a letter, 7 digits, a letter or digit; people: 8 digits and a letter (NIE: X/Y/Z first).
    "ES": VatFormat("ES", r"[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]", "ESB12345678", "Spanish"),
    "FI": VatFormat("FI", r"\d{8}", "FI12345678", "Finnish"),
    # Two check characters (digits, or letters other than I and O), then the 9-digit SIREN.
    "FR": VatFormat("FR", r"[0-9A-HJ-NP-Z]{2}\d{9}", "FR12345678901", "French"),
    "HR": VatFormat("HR", r"\d{11}", "HR12345678901", "Croatian"),
    "HU": VatFormat("HU", r"\d{8}", "HU12345678", "Hungarian"),
    # Old style: digit, letter or + or *, 5 digits, letter; new style: 7 digits and one or two letters.
    "IE": VatFormat("IE", r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]", "IE1234567T", "Irish"),
    "IT": VatFormat("IT", r"\d{11}", "IT12345678901", "Italian"),
    "LT": VatFormat("LT", r"\d{9}|\d{12}", "LT123456789", "Lithuanian"),
    "LU": VatFormat("LU", r"\d{8}", "LU12345678", "Luxembourg"),
    "LV": VatFormat("LV", r"\d{11}", "LV12345678901", "Latvian"),
    "MT": VatFormat("MT", r"\d{8}", "MT12345678", "Maltese"),
    "NL": VatFormat("NL", r"\d{9}B\d{2}", "NL123456789B01", "Dutch"),
    "PL": VatFormat("PL", r"\d{10}", "PL1234567890", "Polish"),
    "PT": VatFormat("PT", r"\d{9}", "PT123456789", "Portuguese"),
    "RO": VatFormat("RO", r"[1-9]\d{1,9}", "RO1234567890", "Romanian"),
    "SE": VatFormat("SE", r"\d{10}01", "SE123456789001", "Swedish"),
    "SI": VatFormat("SI", r"\d{8}", "SI12345678", "Slovenian"),
    "SK": VatFormat("SK", r"\d{10}", "SK1234567890", "Slovak"),
    # Outside the EU.
    # 9 digits, 12 for a branch, GD000–GD499 government departments, HA500–HA999 health authorities.
    "GB": VatFormat("GB", r"\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2}", "GB123456789", "UK"),
    "XI": VatFormat("XI", r"\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2}", "XI123456789", "Northern Ireland"),
    "NO": VatFormat("NO", r"\d{9}(?:MVA)?", "NO123456789MVA", "Norwegian"),
    "CH": VatFormat("CHE", r"\d{9}(?:MWST|TVA|IVA|TPV)?", "CHE123456789MWST", "Swiss"),
}

#: ISO country of the customer → the VAT prefixes its customers may have (the first is the default).
_PREFIXES_OF_COUNTRY: dict[str, tuple[str, ...]] = {
    **{code: (code,) for code in _FORMATS if code not in {"EL", "XI"}},
    "GR": ("EL",),
    "GB": ("GB", "XI"),
    "MC": ("FR",),  # Monaco is in the French VAT area
    "IM": ("GB",),  # so is the Isle of Man in the UK's
}

#: Countries (ISO 3166 codes) whose VAT numbers are checked here.
VAT_COUNTRIES = frozenset(_PREFIXES_OF_COUNTRY)

_SEPARATORS = re.compile(r"[\s.\-/]+")
_LEADING_LETTERS = re.compile(r"[A-Z]{2}")


def vat_format_for(country: str) -> VatFormat | None:
    """The format of VAT numbers of customers in ``country`` (ISO code), or None when not covered."""
    prefixes = _PREFIXES_OF_COUNTRY.get((country or "").strip().upper())
    return _format_of_prefix(prefixes[0]) if prefixes else None


def _format_of_prefix(prefix: str) -> VatFormat:
    return _FORMATS["CH"] if prefix == "CHE" else _FORMATS[prefix]


def _compact(vat_id: str) -> str:
    """Without spaces, dots, dashes or slashes, in upper case: "nl 1234.56789-b01" → "NL123456789B01"."""
    return _SEPARATORS.sub("", vat_id).upper()


def _invalid(shown: str, fmt: VatFormat) -> DomainError:
    message = f"“{shown}” is not a valid {fmt.adjective} VAT number: it looks like {fmt.example}."
    return DomainError("invalid_vat_id", message, fields={"vat_id": message})


def normalize_vat_id(vat_id: str, country: str) -> str:
    """The VAT number of a customer in ``country`` as it is stored and printed: "NL123456789B01".

    Spaces, dots, dashes and slashes go, letters become upper case and the country's prefix is
    added when it is missing ("123456789B01" for NL). An empty number stays empty. Raises
    ``DomainError`` with code ``invalid_vat_id`` (the format is wrong), ``vat_id_country_mismatch``
    (a number of another country) or ``vat_id_not_supported`` (a country not covered here).
    """
    shown = (vat_id or "").strip()
    compact = _compact(shown)
    if not compact:
        return ""
    country = (country or "").strip().upper()
    prefixes = _PREFIXES_OF_COUNTRY.get(country)
    if prefixes is None:
        message = (
            f"VAT numbers can be recorded for customers in the EU, the United Kingdom, Norway and Switzerland, "
            f"not for a customer in “{country or '?'}”. Leave the VAT number empty."
        )
        raise DomainError("vat_id_not_supported", message, fields={"vat_id": message})
    if country == "GR" and compact.startswith("GR"):
        compact = "EL" + compact[2:]  # the usual mistake: Greece's VAT prefix is EL
    for prefix in prefixes:
        fmt = _format_of_prefix(prefix)
        if compact.startswith(prefix):
            if not fmt.matches(compact):
                raise _invalid(shown, fmt)
            return compact
    home = _format_of_prefix(prefixes[0])
    other = _LEADING_LETTERS.match(compact)
    if other and other.group() in _FORMATS and other.group() not in prefixes:
        message = (
            f"“{shown}” is a VAT number of another country ({other.group()}), but the customer's country is "
            f"{country}. Use the customer's own VAT number (it looks like {home.example}) or correct the country."
        )
        raise DomainError("vat_id_country_mismatch", message, fields={"vat_id": message})
    with_prefix = home.prefix + compact
    if not home.matches(with_prefix):
        raise _invalid(shown, home)
    return with_prefix
