"""Reading bank statement CSVs: separators, headers, dates, amounts, errors and line keys. No database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from invoicing.domain.bank_statement import (
    line_key,
    parse_statement,
    parse_statement_amount,
    parse_statement_date,
    reference_key,
    reference_keys,
)


def rows(text: str) -> list[tuple]:
    parsed = parse_statement(text)
    assert parsed.error == "", parsed.error
    return [(line.line_number, line.date, line.amount, line.reference, line.error) for line in parsed.lines]


# --- separators and headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_the_separator_is_the_one_that_makes_sense_of_the_header(delimiter):
    text = delimiter.join(["date", "amount", "reference"]) + "\n" + delimiter.join(["2026-03-02", "121.00", "X"])

    parsed = parse_statement(text)

    assert parsed.delimiter == delimiter
    assert rows(text) == [(2, dt.date(2026, 3, 2), D("121.00"), "X", "")]


def test_columns_in_any_order_and_case_with_bank_names_and_extra_columns():
    text = (
        "IBAN;Remittance information;Booking Date;Value date;AMOUNT;Currency;Counterparty name;Balance\n"
        "NL91ABNA0417164300;RF18 5390 0754 7034;02.03.2026;03.03.2026;1.234,56;eur;ACME B.V.;9.999,00\n"
    )

    (line,) = parse_statement(text).lines

    assert (line.date, line.amount, line.currency, line.reference, line.counterparty) == (
        dt.date(2026, 3, 2),  # the booking date wins over the value date
        D("1234.56"),
        "EUR",
        "RF18 5390 0754 7034",
        "ACME B.V.",
    )


def test_every_text_column_that_may_hold_the_reference_is_kept():
    text = "Date,Amount,Reference,Description\n2026-03-02,10.00,RF18 5390 0754 7034,Invoice  INV-2026-00012\n"

    assert parse_statement(text).lines[0].reference == "RF18 5390 0754 7034 / Invoice INV-2026-00012"


def test_a_currency_in_the_amount_header_is_the_currency_of_every_line():
    text = "Date;Amount (EUR);Description\n2026-03-02;10,00;x\n"

    assert parse_statement(text).lines[0].currency == "EUR"


def test_a_utf8_bom_an_excel_separator_line_quotes_and_blank_lines_are_understood():
    text = '\ufeffsep=,\r\ndate,amount,description\r\n\r\n2026-03-02,"1,234.56","Paid, with thanks"\r\n'

    assert rows(text) == [(4, dt.date(2026, 3, 2), D("1234.56"), "Paid, with thanks", "")]


def test_a_file_without_the_columns_says_which_are_missing_and_what_it_found():
    parsed = parse_statement("Datum;Bedrag;Omschrijving\n2026-03-02;10,00;x\n")

    assert parsed.lines == []
    assert parsed.error.startswith("The first line must name the columns. No date, amount or reference column")
    assert "“Datum”, “Bedrag”, “Omschrijving”" in parsed.error


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "The file is empty."),
        ("  \n\n", "The file is empty."),
        ("date;amount;reference\n", "The file names its columns but has no lines below them."),
    ],
)
def test_empty_files_are_refused_in_plain_words(text, error):
    assert parse_statement(text).error == error


def test_a_line_with_an_unquoted_separator_in_the_amount_says_so():
    (line,) = parse_statement("date,amount,reference\n2026-03-02,1,234.56,X\n").lines

    assert line.error.startswith("The line has 4 values but the first line names 3 columns")
    assert line.key == ""


def test_a_trailing_separator_is_not_an_extra_value():
    assert rows("date;amount;reference;\n2026-03-02;5.00;X;\n") == [(2, dt.date(2026, 3, 2), D("5.00"), "X", "")]


def test_every_problem_of_a_line_is_told_and_the_other_lines_still_count():
    text = "date;amount;currency;reference\n;abc;EURO;x\n2026-03-02;5.00;EUR;y\n"

    bad, good = parse_statement(text).lines

    assert bad.error == (
        "The date is missing. The amount “abc” is not a number such as 1234.56. "
        "“EURO” is not a currency code we know: use a three-letter code such as EUR."
    )
    assert (good.error, good.amount) == ("", D("5.00"))


# --- dates -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2026-04-03", "03-04-2026", "03.04.2026", "3.4.2026", "2026-04-03 10:22:00", "2026-04-03T10:22:00Z", "2026/04/03"],
)
def test_dates_in_the_accepted_forms(text):
    assert parse_statement_date(text) == dt.date(2026, 4, 3)


def test_slashes_are_read_only_when_there_is_one_reading():
    assert parse_statement_date("13/04/2026") == dt.date(2026, 4, 13)
    assert parse_statement_date("04/13/2026") == dt.date(2026, 4, 13)
    assert parse_statement_date("05/05/2026") == dt.date(2026, 5, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "03/04/2026",
            "The date “03/04/2026” could be 3 April 2026 or 4 March 2026: export the statement with dates as "
            "YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY.",
        ),
        ("03-04-26", "The date “03-04-26” has a two-digit year: use YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY."),
        ("31-02-2026", "The date “31-02-2026” is not a day of the calendar."),
        ("20260403", "The date “20260403” is not in a form we read: use YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY."),
        ("yesterday", "The date “yesterday” is not in a form we read: use YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY."),
        ("", "The date is missing."),
    ],
)
def test_ambiguous_and_unreadable_dates_are_refused_with_the_reason(text, message):
    with pytest.raises(DomainError) as refused:
        parse_statement_date(text)
    assert refused.value.message == message


# --- amounts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("1,234,567.80", "1234567.80"),
        ("1.234.567", "1234567"),
        ("-12.00", "-12.00"),
        ("+12.00", "12.00"),
        ("−12,00", "-12.00"),
        ("0,125", "0.125"),
        ("79.5", "79.5"),
        ("100", "100"),
    ],
)
def test_amounts_in_the_usual_bank_forms_are_exact_decimals(text, amount):
    parsed = parse_statement_amount(text)
    assert isinstance(parsed, D)
    assert parsed == D(amount)
    assert str(parsed) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1,234",
            "The amount “1,234” could mean 1234 or 1.234: export the statement with the decimals written out, "
            "such as 1234.00.",
        ),
        ("1.234", "The amount “1.234” could mean 1234 or 1.234"),
        ("12,34,56", "The amount “12,34,56” has its thousands separators in the wrong places"),
        ("1.234.56", "The amount “1.234.56” has its thousands separators in the wrong places"),
        ("1,234.56,7", "The amount “1,234.56,7” is not a number such as 1234.56."),
        ("12.", "The amount “12.” is not a number such as 1234.56."),
        ("€12.00", "The amount “€12.00” is not a number such as 1234.56."),
        ("1e3", "The amount “1e3” is not a number such as 1234.56."),
        ("", "The amount is missing."),
    ],
)
def test_ambiguous_and_unreadable_amounts_are_refused_with_the_reason(text, message):
    with pytest.raises(DomainError) as refused:
        parse_statement_amount(text)
    assert refused.value.message.startswith(message)


def test_money_going_out_and_nothing_received_are_ignored_with_the_reason():
    text = "date;amount;reference\n2026-03-02;-12,00;Bank fees\n2026-03-02;0,00;x\n2026-03-02;5,00;y\n"

    debit, zero, credit = parse_statement(text).lines

    assert (debit.error, debit.ignored) == ("", "money going out")
    assert zero.ignored == "nothing was received (the amount is zero)"
    assert credit.ignored == ""


# --- references and line keys ----------------------------------------------------------------------------


def test_references_ignore_spaces_and_case():
    assert reference_key("RF18 5390 0754 7034") == reference_key("rf18539007547034") == "RF18539007547034"
    assert reference_key("INV-2026-00012") == "INV202600012"


def test_an_invoice_number_or_rf_reference_matches_anywhere_in_the_text_but_only_as_a_whole():
    keys = reference_keys("Payment INV-2026-00012, ref rf18 5390 0754 7034 thanks")

    assert {"INV202600012", "RF18539007547034"} <= keys
    assert "INV20260001" not in reference_keys("INV-2026-00012")  # a longer number does not match a shorter one
    assert "INV202600012" not in reference_keys("INV-2026-000123")


def test_the_same_line_has_the_same_key_whatever_the_bank_s_notation():
    one = parse_statement("date;amount;reference\n2026-03-02;1.234,50;RF18 5390 0754 7034\n").lines[0]
    other = parse_statement('Booking date,Amount,Description\n02.03.2026,"1,234.5",rf18539007547034\n').lines[0]

    assert one.key == other.key == line_key(dt.date(2026, 3, 2), D("1234.50"), "RF18539007547034")
    assert len(one.key) == 64


def test_identical_lines_in_one_file_have_distinct_keys_that_are_stable_across_imports():
    text = (
        "date;amount;reference\n"
        "2026-03-02;50,00;INV-2026-00012\n"
        "2026-03-02;50,00;INV-2026-00012\n"
        "2026-03-02;50,00;INV-2026-00013\n"
    )

    first, second, third = (line.key for line in parse_statement(text).lines)

    assert len({first, second, third}) == 3
    assert [line.key for line in parse_statement(text).lines] == [first, second, third]
    assert second == line_key(dt.date(2026, 3, 2), D("50"), "INV-2026-00012", occurrence=1)


def test_lines_that_cannot_be_read_have_no_key():
    (line,) = parse_statement("date;amount;reference\n03/04/2026;5,00;x\n").lines

    assert (line.key, line.date, line.amount) == ("", None, D("5.00"))


@given(
    cents=st.integers(min_value=1, max_value=10**11),
    thousands=st.sampled_from([",", ".", " ", ""]),
)
def test_any_amount_written_the_european_or_english_way_reads_back_exactly(cents, thousands):
    whole, fraction = divmod(cents, 100)
    digits = f"{whole:,}".replace(",", "\x00")
    decimal_mark = "," if thousands == "." else "."
    text = f"{digits.replace(chr(0), thousands)}{decimal_mark}{fraction:02d}"

    assert parse_statement_amount(text) == D(cents) / 100
