"""VAT number formats, per country: real-format numbers pass (normalised), wrong shapes fail with the example."""

from __future__ import annotations

import pytest

from billing_site.errors import DomainError
from subscriptions.domain.vat import VAT_COUNTRIES, normalize_vat_id, vat_format_for

EU = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "GR", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip

# (customer's country, as typed, as stored): numbers in the published formats of each country.
VALID = [
    ("AT", "ATU13585627", "ATU13585627"),
    ("BE", "BE 0428.759.497", "BE0428759497"),
    ("BE", "1428759497", "BE1428759497"),
    ("BG", "BG175074752", "BG175074752"),
    ("BG", "BG7523169263", "BG7523169263"),
    ("CY", "CY10259033P", "CY10259033P"),
    ("CZ", "CZ25123891", "CZ25123891"),
    ("CZ", "CZ7103192745", "CZ7103192745"),
    ("DE", "DE 136 695 976", "DE136695976"),
    ("DK", "DK13585628", "DK13585628"),
    ("EE", "EE100931558", "EE100931558"),
    ("GR", "EL094259216", "EL094259216"),
    ("GR", "GR094259216", "EL094259216"),
    ("GR", "094259216", "EL094259216"),
    ("ES", "ESA28015865", "ESA28015865"),
    ("ES", "ES54362315K", "ES54362315K"),
    ("ES", "esx2482300w", "ESX2482300W"),
    ("FI", "FI20774740", "FI20774740"),
    ("FR", "FR40303265045", "FR40303265045"),
    ("FR", "FR K7 399859412", "FRK7399859412"),
    ("HR", "HR33392005961", "HR33392005961"),
    ("HU", "HU12892312", "HU12892312"),
    ("IE", "IE6388047V", "IE6388047V"),
    ("IE", "IE1234567FA", "IE1234567FA"),
    ("IE", "IE8D79739I", "IE8D79739I"),
    ("IT", "IT00743110157", "IT00743110157"),
    ("LT", "LT119511515", "LT119511515"),
    ("LT", "LT100001919017", "LT100001919017"),
    ("LU", "LU15027442", "LU15027442"),
    ("LV", "LV40003521600", "LV40003521600"),
    ("MT", "MT11679112", "MT11679112"),
    ("NL", "NL004495445B01", "NL004495445B01"),
    ("NL", "nl 0044.95.445.b01", "NL004495445B01"),
    ("NL", "004495445B01", "NL004495445B01"),
    ("PL", "PL8567346215", "PL8567346215"),
    ("PL", "856-734-62-15", "PL8567346215"),
    ("PT", "PT501964843", "PT501964843"),
    ("RO", "RO18547290", "RO18547290"),
    ("RO", "RO18", "RO18"),
    ("SE", "SE556188840401", "SE556188840401"),
    ("SI", "SI50223054", "SI50223054"),
    ("SK", "SK2022749619", "SK2022749619"),
    ("GB", "GB980780684", "GB980780684"),
    ("GB", "GB 980 7806 84 001", "GB980780684001"),
    ("GB", "GBGD001", "GBGD001"),
    ("GB", "GBHA500", "GBHA500"),
    ("GB", "XI980780684", "XI980780684"),
    ("NO", "NO974761076MVA", "NO974761076MVA"),
    ("NO", "974 761 076", "NO974761076"),
    ("CH", "CHE-116.281.710 MWST", "CHE116281710MWST"),
    ("CH", "CHE116281710TVA", "CHE116281710TVA"),
    ("CH", "116.281.710", "CHE116281710"),
    ("MC", "FR40303265045", "FR40303265045"),
    ("IM", "GB980780684", "GB980780684"),
]

# (country, as typed, the message's country word and example)
INVALID = [
    ("AT", "AT13585627", "Austrian", "ATU12345678"),
    ("BE", "BE2428759497", "Belgian", "BE0123456789"),
    ("BG", "BG1750747", "Bulgarian", "BG123456789"),
    ("CY", "CY102590331", "Cypriot", "CY12345678X"),
    ("CZ", "CZ1234567", "Czech", "CZ12345678"),
    ("DE", "DE12345678", "German", "DE123456789"),
    ("DK", "DK1358562", "Danish", "DK12345678"),
    ("EE", "EE10093155", "Estonian", "EE123456789"),
    ("GR", "EL09425921", "Greek", "EL123456789"),
    ("ES", "ES123456789", "Spanish", "ESB12345678"),
    ("FI", "FI2077474", "Finnish", "FI12345678"),
    ("FR", "FRIO303265045", "French", "FR12345678901"),
    ("HR", "HR3339200596", "Croatian", "HR12345678901"),
    ("HU", "HU1289231", "Hungarian", "HU12345678"),
    ("IE", "IE63880470", "Irish", "IE1234567T"),
    ("IT", "IT0074311015", "Italian", "IT12345678901"),
    ("LT", "LT1195115150", "Lithuanian", "LT123456789"),
    ("LU", "LU1502744", "Luxembourg", "LU12345678"),
    ("LV", "LV4000352160", "Latvian", "LV12345678901"),
    ("MT", "MT1167911", "Maltese", "MT12345678"),
    ("NL", "NL12345", "Dutch", "NL123456789B01"),
    ("PL", "PL856734621", "Polish", "PL1234567890"),
    ("PT", "PT50196484", "Portuguese", "PT123456789"),
    ("RO", "RO0123", "Romanian", "RO1234567890"),
    ("SE", "SE556188840402", "Swedish", "SE123456789001"),
    ("SI", "SI5022305", "Slovenian", "SI12345678"),
    ("SK", "SK202274961", "Slovak", "SK1234567890"),
    ("GB", "GB98078068", "UK", "GB123456789"),
    ("GB", "GBGD500", "UK", "GB123456789"),
    ("GB", "XI98078068", "Northern Ireland", "XI123456789"),
    ("NO", "NO97476107MVA", "Norwegian", "NO123456789MVA"),
    ("CH", "CH116281710", "Swiss", "CHE123456789MWST"),
    ("CH", "CHE116281710VAT", "Swiss", "CHE123456789MWST"),
]


def test_every_eu_member_state_and_gb_no_ch_are_covered():
    assert EU | {"GB", "NO", "CH"} <= VAT_COUNTRIES
    assert {vat_format_for(code).prefix for code in EU} == (EU - {"GR"}) | {"EL"}
    assert vat_format_for("GB").prefix == "GB"
    assert vat_format_for("CH").prefix == "CHE"


def test_every_covered_country_has_a_valid_example_here():
    assert {country for country, _, _ in VALID} == VAT_COUNTRIES


@pytest.mark.parametrize(("country", "typed", "stored"), VALID)
def test_valid_numbers_are_normalised(country, typed, stored):
    assert normalize_vat_id(typed, country) == stored


@pytest.mark.parametrize(("country", "typed", "stored"), VALID)
def test_normalising_twice_changes_nothing(country, typed, stored):
    assert normalize_vat_id(stored, country) == stored


@pytest.mark.parametrize(("country", "typed", "adjective", "example"), INVALID)
def test_wrong_shapes_are_refused_with_the_country_and_an_example(country, typed, adjective, example):
    with pytest.raises(DomainError) as caught:
        normalize_vat_id(typed, country)

    message = f"“{typed}” is not a valid {adjective} VAT number: it looks like {example}."
    assert caught.value.code == "invalid_vat_id"
    assert caught.value.message == message
    assert caught.value.fields == {"vat_id": [message]}


def test_the_example_of_every_format_is_itself_valid():
    for country in VAT_COUNTRIES:
        fmt = vat_format_for(country)
        assert normalize_vat_id(fmt.example, country) == fmt.example


def test_the_dutch_message_from_the_brief():
    with pytest.raises(DomainError, match="^“NL12345” is not a valid Dutch VAT number: it looks like NL123456789B01.$"):
        normalize_vat_id("NL12345", "NL")


def test_a_number_of_another_country_is_refused():
    with pytest.raises(DomainError) as caught:
        normalize_vat_id("DE136695976", "NL")

    assert caught.value.code == "vat_id_country_mismatch"
    assert caught.value.message == (
        "“DE136695976” is a VAT number of another country (DE), but the customer's country is NL. "
        "Use the customer's own VAT number (it looks like NL123456789B01) or correct the country."
    )


def test_northern_ireland_numbers_belong_to_gb_customers_only():
    with pytest.raises(DomainError) as caught:
        normalize_vat_id("XI980780684", "IE")
    assert caught.value.code == "vat_id_country_mismatch"


def test_countries_without_a_covered_format_take_no_vat_number():
    with pytest.raises(DomainError) as caught:
        normalize_vat_id("123456789", "US")

    assert caught.value.code == "vat_id_not_supported"
    assert caught.value.fields["vat_id"] == [
        "VAT numbers can be recorded for customers in the EU, the United Kingdom, Norway and Switzerland, "
        "not for a customer in “US”. Leave the VAT number empty."
    ]


@pytest.mark.parametrize("empty", ["", "   ", " . - "])
def test_an_empty_number_stays_empty(empty):
    assert normalize_vat_id(empty, "NL") == ""
    assert normalize_vat_id(empty, "US") == ""


def test_country_code_is_forgiving_about_case_and_blanks():
    assert normalize_vat_id("004495445B01", " nl ") == "NL004495445B01"
