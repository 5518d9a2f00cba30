"""Reading a bank statement exported as CSV: one line per booking, with what is wrong with it in plain words.

Banks export in many dialects, so the reader is forgiving where there is only one sensible reading and
strict where there are two:

* The first line names the columns, in any order and any case: a date ("Date", "Booking date",
  "Value date" …), an amount ("Amount", "Amount (EUR)" …) and one or more text columns that may carry
  the payment reference ("Reference", "Description", "Remittance information" …, all kept, joined with
  " / "). A currency and a counterparty column are optional; other columns are ignored.
* Values are separated by ``;``, ``,`` or a tab: the separator is the one that makes sense of the header
  (an Excel ``sep=;`` first line is honoured too).
* Dates are ``YYYY-MM-DD``, ``DD-MM-YYYY`` or ``DD.MM.YYYY``. ``03/04/2026`` could be 3 April or
  4 March and is refused; with slashes only a date that can be read one way (``13/04/2026``) is taken.
  Two-digit years are refused.
* Amounts are ``1234.56``, ``1,234.56``, ``1.234,56``, ``1234,56`` or ``-12.00``. ``1,234`` could be
  1234 or 1.234 and is refused. Money going out (negative) is kept but marked ``ignored``.

Each line gets a **line key**: sha256 of its date, amount, reference (letters and digits only, case
folded, so "RF18 5390 0754 7034" and "rf18539007547034" are the same) and how many identical lines came
before it in the file. The same line imported twice has the same key, so it can pay only once
(``Payment.bank_line_key`` is unique), while two identical transfers on the same day stay two payments.

Pure Python: no Django, no I/O.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing_site.errors import DomainError
from billing_site.money import parse_amount, validate_currency

__all__ = [
    "ParsedStatement",
    "StatementLine",
    "line_key",
    "parse_statement",
    "parse_statement_amount",
    "parse_statement_date",
    "reference_key",
    "reference_keys",
]

#: What a person can write in the header for each column, after lower-casing and turning punctuation into
#: spaces ("Booking-Date" → "booking date"). For the date, the first one found in this order wins.
DATE_HEADERS = (
    "date",
    "booking date",
    "book date",
    "transaction date",
    "posting date",
    "entry date",
    "value date",
)
AMOUNT_HEADERS = ("amount", "transaction amount", "booked amount", "amount received")
REFERENCE_HEADERS = frozenset(
    {
        "reference",
        "payment reference",
        "structured reference",
        "creditor reference",
        "description",
        "remittance information",
        "remittance info",
        "remittance",
        "communication",
        "details",
        "payment details",
        "narrative",
        "memo",
        "message",
        "purpose",
    }
)
CURRENCY_HEADERS = frozenset({"currency", "ccy", "currency code"})
COUNTERPARTY_HEADERS = frozenset(
    {
        "counterparty",
        "counterparty name",
        "counter party",
        "name",
        "payer",
        "payer name",
        "debtor",
        "debtor name",
        "ordering party",
        "from",
    }
)
DELIMITERS = (";", ",", "\t")
DATE_FORMATS = "YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY"
#: Letter-and-digit groups joined when looking for a reference: "RF18 5390 0754 7034 0000 0000 0" has 7.
MAX_REFERENCE_GROUPS = 8
MAX_REFERENCE_KEY = 40

_ALNUM = re.compile(r"[A-Za-z0-9]+")
_AMOUNT_WITH_CURRENCY = re.compile(r"(?P<name>.+) (?P<currency>[a-z]{3})")
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_YEAR_FIRST = re.compile(r"(\d{4})([-./])(\d{1,2})\2(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})([-.])(\d{1,2})\2(\d{4})")
_SLASHES = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_SHORT_YEAR = re.compile(r"\d{1,2}([-./])\d{1,2}\1\d{2}")
_AMOUNT_BODY = re.compile(r"[0-9][0-9.,]*")
_BLANKS = str.maketrans("", "", " \u00a0\u202f\u2009'’")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booking of the statement. ``error`` says what is wrong with it; ``ignored`` why it is not a payment."""

    line_number: int
    date: dt.date | None
    amount: Decimal | None
    currency: str = ""
    reference: str = ""
    counterparty: str = ""
    key: str = ""
    error: str = ""

    @property
    def is_valid(self) -> bool:
        return not self.error

    @property
    def ignored(self) -> str:
        """Why a valid line is not money received, or "" when it is."""
        if self.error or self.amount is None:
            return ""
        if self.amount < 0:
            return "money going out"
        if self.amount == 0:
            return "nothing was received (the amount is zero)"
        return ""


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """The lines of a statement, or ``error`` when the file as a whole cannot be read (then no lines)."""

    lines: list[StatementLine] = field(default_factory=list)
    error: str = ""
    delimiter: str = ""


# --- the file --------------------------------------------------------------------------------------------


def parse_statement(text: str) -> ParsedStatement:
    """Read CSV text into statement lines; a line that cannot be read says why and the others still count."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return ParsedStatement(error="The file is empty.")
    raw_lines = text.splitlines()
    first = next(index for index, line in enumerate(raw_lines) if line.strip())
    forced = ""
    if raw_lines[first].strip().lower().startswith("sep=") and len(raw_lines[first].strip()) == 5:
        forced = raw_lines[first].strip()[4]
        first = next((index for index in range(first + 1, len(raw_lines)) if raw_lines[index].strip()), -1)
        if first < 0:
            return ParsedStatement(error="The file has no lines after “sep=”.")
    header_text = raw_lines[first]
    delimiter, columns = _sniff(header_text, forced)
    missing = [
        name
        for name, found in (("date", columns.date), ("amount", columns.amount), ("reference", columns.references))
        if found is None or found == ()
    ]
    if missing:
        found = ", ".join(f"“{cell.strip()}”" for cell in _cells(header_text, delimiter or ",") if cell.strip())
        return ParsedStatement(
            error=(
                f"The first line must name the columns. No {_join(missing)} column was found "
                f"(the first line has {found or 'nothing'}). Name them for example “date;amount;reference”; "
                "“Booking date”, “Amount” and “Description” are understood too."
            )
        )
    reader = csv.reader(io.StringIO("\n".join(raw_lines[first + 1 :])), delimiter=delimiter)
    lines: list[StatementLine] = []
    seen: Counter[tuple[str, str, str]] = Counter()
    previous_end = 0
    try:
        for row in reader:
            line_number = first + 2 + previous_end
            previous_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            line = _line(row, line_number, columns)
            if line.date is not None and line.amount is not None and not line.error:
                identity = (line.date.isoformat(), _canonical(line.amount), _key_text(line.reference))
                line = _with_key(line, line_key(line.date, line.amount, line.reference, seen[identity]))
                seen[identity] += 1
            lines.append(line)
    except csv.Error as error:
        return ParsedStatement(
            error=f'Line {first + 2 + previous_end} cannot be read as CSV ({error}): is a quote (") left open?'
        )
    if not lines:
        return ParsedStatement(error="The file names its columns but has no lines below them.", delimiter=delimiter)
    return ParsedStatement(lines=lines, delimiter=delimiter)


@dataclass(frozen=True, slots=True)
class _Columns:
    date: int | None = None
    amount: int | None = None
    references: tuple[int, ...] = ()
    currency: int | None = None
    counterparty: int | None = None
    count: int = 0
    default_currency: str = ""

    @property
    def recognised(self) -> int:
        return sum(1 for found in (self.date, self.amount, self.references or None) if found is not None)


def _cells(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return [text]


def _header_name(cell: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", cell.lower()).split())


def _columns(cells: Sequence[str]) -> _Columns:
    names = [_header_name(cell) for cell in cells]
    date = next((names.index(alias) for alias in DATE_HEADERS if alias in names), None)
    amount, default_currency = None, ""
    for index, name in enumerate(names):
        shaped = _AMOUNT_WITH_CURRENCY.fullmatch(name)
        if name in AMOUNT_HEADERS or (shaped and shaped["name"] in AMOUNT_HEADERS):
            amount = index
            default_currency = shaped["currency"].upper() if shaped and name not in AMOUNT_HEADERS else ""
            break
    return _Columns(
        date=date,
        amount=amount,
        references=tuple(index for index, name in enumerate(names) if name in REFERENCE_HEADERS),
        currency=next((index for index, name in enumerate(names) if name in CURRENCY_HEADERS), None),
        counterparty=next((index for index, name in enumerate(names) if name in COUNTERPARTY_HEADERS), None),
        count=len(cells),
        default_currency=default_currency,
    )


def _sniff(header: str, forced: str) -> tuple[str, _Columns]:
    """The separator that makes sense of the header: most columns recognised, then most columns."""
    candidates = (forced,) if forced else DELIMITERS
    scored = [(delimiter, _columns(_cells(header, delimiter))) for delimiter in candidates]
    return max(scored, key=lambda pair: (pair[1].recognised, pair[1].count))


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- one line --------------------------------------------------------------------------------------------


def _line(row: list[str], line_number: int, columns: _Columns) -> StatementLine:
    errors: list[str] = []
    extra = row[columns.count :]
    if any(cell.strip() for cell in extra):
        errors.append(
            f"The line has {len(row)} values but the first line names {columns.count} columns: "
            "is there a separator inside an amount or a text that is not in quotes?"
        )

    def cell(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    date = amount = None
    try:
        date = parse_statement_date(cell(columns.date))
    except DomainError as error:
        errors.append(error.message)
    try:
        amount = parse_statement_amount(cell(columns.amount))
    except DomainError as error:
        errors.append(error.message)
    currency = cell(columns.currency) or columns.default_currency
    if currency:
        try:
            currency = validate_currency(currency)
        except DomainError:
            errors.append(f"“{currency}” is not a currency code we know: use a three-letter code such as EUR.")
    references = [cell(index) for index in columns.references]
    return StatementLine(
        line_number=line_number,
        date=date,
        amount=amount,
        currency=currency.upper(),
        reference=" / ".join(" ".join(text.split()) for text in references if text),
        counterparty=" ".join(cell(columns.counterparty).split()),
        error=" ".join(errors),
    )


def _with_key(line: StatementLine, key: str) -> StatementLine:
    return StatementLine(
        line_number=line.line_number,
        date=line.date,
        amount=line.amount,
        currency=line.currency,
        reference=line.reference,
        counterparty=line.counterparty,
        key=key,
        error=line.error,
    )


def _date_error(message: str) -> DomainError:
    return DomainError("invalid_date", message)


def _calendar_date(text: str, year: str, month: str, day: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise _date_error(f"The date “{text}” is not a day of the calendar.") from None


def _spoken(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def parse_statement_date(text: str) -> dt.date:
    """ "2026-04-03", "03-04-2026", "03.04.2026" (and a time after it) → 3 April 2026; anything else is refused."""
    text = text.strip()
    if not text:
        raise _date_error("The date is missing.")
    bare = _TIME_SUFFIX.sub("", text, count=1) if _TIME_SUFFIX.search(text) else text
    if match := _YEAR_FIRST.fullmatch(bare):
        return _calendar_date(text, match[1], match[3], match[4])
    if match := _DAY_FIRST.fullmatch(bare):
        return _calendar_date(text, match[4], match[3], match[1])
    if match := _SLASHES.fullmatch(bare):
        readings: list[dt.date] = []
        for day, month in ((match[1], match[2]), (match[2], match[1])):
            try:
                reading = dt.date(int(match[3]), int(month), int(day))
            except ValueError:
                continue
            if reading not in readings:
                readings.append(reading)
        if len(readings) == 1:
            return readings[0]
        if readings:
            raise _date_error(
                f"The date “{text}” could be {_spoken(readings[0])} or {_spoken(readings[1])}: export the "
                f"statement with dates as {DATE_FORMATS}."
            )
        raise _date_error(f"The date “{text}” is not a day of the calendar.")
    if _SHORT_YEAR.fullmatch(bare):
        raise _date_error(f"The date “{text}” has a two-digit year: use {DATE_FORMATS}.")
    raise _date_error(f"The date “{text}” is not in a form we read: use {DATE_FORMATS}.")


def _amount_error(message: str) -> DomainError:
    return DomainError("invalid_amount", message)


def _grouped(digits: str, separator: str, raw: str) -> str:
    """ "1,234,567" → "1234567" when every group after the first has three digits, else refused."""
    groups = digits.split(separator)
    if not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
        raise _amount_error(
            f"The amount “{raw}” has its thousands separators in the wrong places: write it such as 1234.56."
        )
    return "".join(groups)


def parse_statement_amount(text: str) -> Decimal:
    """ "1234.56", "1,234.56", "1.234,56", "1234,56", "-12.00" → an exact Decimal; "1,234" is refused."""
    raw = text.strip()
    if not raw:
        raise _amount_error("The amount is missing.")
    body = raw.translate(_BLANKS).replace("−", "-")
    sign = ""
    if body[:1] in "+-":
        sign, body = ("-" if body[0] == "-" else ""), body[1:]
    if not _AMOUNT_BODY.fullmatch(body) or body[-1] in ".,":
        raise _amount_error(f"The amount “{raw}” is not a number such as 1234.56.")
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal_mark = "." if body.rfind(".") > body.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, fraction = body.rsplit(decimal_mark, 1)
        if thousands in fraction or body.count(decimal_mark) > 1:
            raise _amount_error(f"The amount “{raw}” is not a number such as 1234.56.")
        plain = f"{_grouped(whole, thousands, raw)}.{fraction}"
    elif dots + commas == 0:
        plain = body
    else:
        mark = "." if dots else ","
        if dots + commas > 1:
            plain = _grouped(body, mark, raw)
        else:
            whole, fraction = body.split(mark)
            if len(fraction) == 3 and whole != "0":
                raise _amount_error(
                    f"The amount “{raw}” could mean {whole}{fraction} or {whole}.{fraction}: export the statement "
                    f"with the decimals written out, such as {whole}{fraction}.00."
                )
            plain = f"{whole}.{fraction}"
    return parse_amount(sign + plain, allow_negative=True, label=f"The amount “{raw}”")


# --- references and keys ---------------------------------------------------------------------------------


def reference_key(text: str) -> str:
    """What a reference or an invoice number is compared by: its ASCII letters and digits, in upper case.

    "RF18 5390 0754 7034" → "RF18539007547034", "inv-2026-00012" → "INV202600012".
    """
    return "".join(_ALNUM.findall(text)).upper()


def reference_keys(text: str) -> frozenset[str]:
    """Every run of consecutive letter-and-digit groups of ``text``, joined: what a reference may be.

    "Paid INV-2026-00012, thanks" holds "INV202600012" (the groups INV, 2026 and 00012 joined) but not
    "INV20260001", so an invoice number matches only as a whole; an RF reference written in groups of
    four ("RF18 5390 0754 7034") or in one piece matches the same way.
    """
    groups = [group.upper() for group in _ALNUM.findall(text)]
    keys: set[str] = set()
    for start in range(len(groups)):
        joined = ""
        for group in groups[start : start + MAX_REFERENCE_GROUPS]:
            joined += group
            if len(joined) > MAX_REFERENCE_KEY:
                break
            keys.add(joined)
    return frozenset(keys)


def _key_text(reference: str) -> str:
    return "".join(char for char in reference.casefold() if char.isalnum())


def _canonical(amount: Decimal) -> str:
    """ "12.50", "12.5" and "12.500" are one amount: "12.5"."""
    return f"{amount.normalize():f}"


def line_key(date: dt.date, amount: Decimal, reference: str, occurrence: int = 0) -> str:
    """The identity of a statement line: the same booking exported twice has the same key.

    ``occurrence`` counts identical lines (same date, amount and reference) earlier in the same file, so
    that two real transfers of the same amount on the same day are two lines, not one.
    """
    material = "|".join((date.isoformat(), _canonical(amount), _key_text(reference), str(occurrence)))
    return hashlib.sha256(material.encode()).hexdigest()
