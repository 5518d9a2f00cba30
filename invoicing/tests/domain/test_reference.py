"""ISO 11649 creditor references, against the standard's published example. No database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.reference import creditor_reference, is_valid_creditor_reference


def test_the_published_example():
    assert creditor_reference("539007547034") == "RF18 5390 0754 7034"
    assert is_valid_creditor_reference("RF18539007547034")
    assert is_valid_creditor_reference("RF18 5390 0754 7034")


def test_invoice_numbers_keep_only_letters_and_digits_in_upper_case():
    assert creditor_reference("inv-2026/0042") == "RF73 INV2 0260 042"
    assert creditor_reference("INV 2026 0042") == creditor_reference("INV20260042")


def test_check_digits_below_ten_keep_their_leading_zero():
    # "7" + "RF00" -> 7271500, and 7271500 mod 97 = 89: check digits 98 − 89 = 09.
    assert creditor_reference("7") == "RF09 7"
    assert is_valid_creditor_reference("RF097")


def test_letters_count_as_ten_to_thirty_five():
    # "A" + "RF00" -> 10271500, and 10271500 mod 97 = 73: check digits 98 − 73 = 25.
    assert creditor_reference("A") == "RF25 A"


@pytest.mark.parametrize("number", ["", "---", "//", "ÅÄÖ"])
def test_a_number_without_letters_or_digits_is_refused(number):
    with pytest.raises(ValueError, match="no letters or digits"):
        creditor_reference(number)


def test_twenty_one_characters_fit_and_twenty_two_do_not():
    assert is_valid_creditor_reference(creditor_reference("A" * 21))
    with pytest.raises(ValueError, match="at most 21"):
        creditor_reference("A" * 22)


@pytest.mark.parametrize(
    "text",
    [
        "RF19539007547034",  # wrong check digits
        "RF18539007547035",  # mistyped last digit
        "RF18539007574034",  # two digits swapped
        "XX18539007547034",  # not RF
        "RF1853900754703-",  # not alphanumeric
        "RF185390075470341234567890",  # 22 characters after the check digits
        "RF18",  # nothing to refer to
        "RFAB539007547034",  # letters as check digits
        "",
        "RF18 5390 0754 7034 Ä",
    ],
)
def test_invalid_references_are_refused(text):
    assert not is_valid_creditor_reference(text)


def test_check_digits_outside_02_to_98_are_refused_even_when_they_match_modulo_97():
    # "36" + "RF00" -> 36271500, and 36271500 mod 97 = 96: check digits 98 − 96 = 02.
    assert creditor_reference("36") == "RF02 36"
    assert not is_valid_creditor_reference("RF9936")  # 99 ≡ 02 (mod 97), yet never issued


def test_non_text_is_not_a_reference():
    assert not is_valid_creditor_reference(None)  # type: ignore[arg-type]


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/ ", min_size=1, max_size=30))
def test_every_reference_built_is_valid_and_a_mistyped_character_is_caught(number):
    """A digit mistyped as another digit, or a letter as another letter, always changes the remainder."""
    compact_number = "".join(char for char in number if char.isalnum())
    if not compact_number or len(compact_number) > 21:
        return
    reference = creditor_reference(number)
    assert is_valid_creditor_reference(reference)
    compact = reference.replace(" ", "")
    assert all(len(group) == 4 for group in reference.split(" ")[:-1])
    alphabet = "0123456789" if compact[-1].isdigit() else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    mistyped = alphabet[(alphabet.index(compact[-1]) + 1) % len(alphabet)]
    assert not is_valid_creditor_reference(compact[:-1] + mistyped)
