"""ISO 11649 structured creditor references ("RF18 5390 0754 7034") built from invoice numbers.

A customer who quotes the reference on a bank transfer lets finance match the payment to the
invoice automatically, and the two check digits catch a mistyped reference before it is sent.
Pure Python: no Django, no I/O.
"""

from __future__ import annotations

import string

__all__ = ["MAX_REFERENCE_LENGTH", "creditor_reference", "is_valid_creditor_reference"]

#: ISO 11649 allows at most 21 characters after "RF" and the two check digits.
MAX_REFERENCE_LENGTH = 21

_ALPHANUMERIC = frozenset(string.ascii_uppercase + string.digits)


def _as_digits(text: str) -> str:
    """ "RF00" -> "271500": digits stay, letters become A=10 … Z=35 (ISO 7064 MOD 97-10)."""
    return "".join(str(int(char, 36)) for char in text)


def _check_digits(reference: str) -> str:
    remainder = int(_as_digits(reference + "RF00")) % 97
    return f"{98 - remainder:02d}"


def _grouped(compact: str) -> str:
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def creditor_reference(number: str) -> str:
    """The RF reference of an invoice number, printed in groups of four: "RF18 5390 0754 7034".

    Only the ASCII letters and digits of the number are kept ("INV-2026/0042" -> "INV20260042"),
    in upper case. A number without any, or with more than 21 of them, cannot be carried by an
    RF reference and raises ``ValueError``.
    """
    reference = "".join(char for char in number.upper() if char in _ALPHANUMERIC)
    if not reference:
        raise ValueError(f"“{number}” has no letters or digits to build a creditor reference from.")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise ValueError(
            f"“{number}” has {len(reference)} letters and digits; a creditor reference holds at most "
            f"{MAX_REFERENCE_LENGTH}."
        )
    return _grouped(f"RF{_check_digits(reference)}{reference}")


def is_valid_creditor_reference(text: str) -> bool:
    """True for a well-formed RF reference whose check digits match; spaces and case are ignored."""
    if not isinstance(text, str):
        return False
    compact = "".join(text.split()).upper()
    if not (5 <= len(compact) <= 4 + MAX_REFERENCE_LENGTH) or not compact.startswith("RF"):
        return False
    if not compact[2:4].isdigit() or not 2 <= int(compact[2:4]) <= 98 or not set(compact) <= _ALPHANUMERIC:
        return False  # check digits run from 02 to 98: "RF99…" matches "RF02…" modulo 97 but is never issued
    return int(_as_digits(compact[4:] + compact[:4])) % 97 == 1
