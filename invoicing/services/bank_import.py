"""Importing a bank statement: match each incoming transfer to the open invoice it pays, then record it.

Two steps, so that finance sees what will happen before anything is written:

1. ``bank_statement_preview`` reads the CSV (``invoicing.domain.bank_statement``) and says for every line
   what it would do: pay an invoice in full or in part, or why not (more than is due, no or several
   matching invoices, already recorded, another currency, money going out, unreadable). Nothing is written.
2. ``bank_statement_apply`` reads the same text again and records the lines finance ticked. The preview
   may be stale (someone recorded a payment meanwhile, an invoice was voided), so every line is matched
   again against the invoices as they are now, and a line whose match changed is skipped with the reason.
   Each line is recorded by ``payment_record`` in a transaction of its own: one refusal does not undo the
   others, and the line key (unique on ``Payment``) means a line can never pay twice, even when the same
   file is imported again.

Matching: a line pays an open (or uncollectible) invoice when its reference text holds the invoice's RF
creditor reference (spaces and case do not matter) or its number ("INV-2026-00012") as a whole. Lines are
taken in file order, so a second transfer for an invoice that an earlier line pays in full is "more than
is due". A line is never split over several invoices, and a line for more than is due is not recorded
automatically: the excess needs a person's decision (refund or account credit).

When the money arrived: a statement gives a day, not a time. The payment is dated **noon of that day in
the time zone of the invoice's legal entity**: the day shown anywhere in Europe and the Americas is the
bank's day, which midnight UTC would turn into the day before west of Greenwich.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import format_money, round_money
from invoicing.domain.bank_statement import (
    ParsedStatement,
    StatementLine,
    parse_statement,
    reference_key,
    reference_keys,
)
from invoicing.domain.reference import is_valid_creditor_reference
from invoicing.models import BillingEntity, Invoice, InvoiceStatus, Payment, PaymentKind, Provider
from invoicing.services.collection import COLLECTABLE, payment_record

__all__ = [
    "AppliedLine",
    "ImportResult",
    "LineStatus",
    "PreviewRow",
    "SkippedLine",
    "StatementPreview",
    "bank_statement_apply",
    "bank_statement_preview",
]

ZERO = Decimal(0)
#: Bank line keys looked up per query (SQLite limits the parameters of one statement).
CHUNK = 500


class LineStatus(models.TextChoices):
    MATCHED_FULL = "matched_full", _("Pays in full")
    MATCHED_PARTIAL = "matched_partial", _("Pays in part")
    OVERPAID = "overpaid", _("More than is due")
    NO_MATCH = "no_match", _("No matching invoice")
    AMBIGUOUS = "ambiguous", _("Several invoices")
    ALREADY_RECORDED = "already_recorded", _("Already recorded")
    CURRENCY_MISMATCH = "currency_mismatch", _("Other currency")
    NOT_INCOMING = "not_incoming", _("Not a payment received")
    INVALID = "invalid", _("Cannot be read")


APPLICABLE = frozenset({LineStatus.MATCHED_FULL, LineStatus.MATCHED_PARTIAL})


@dataclass(frozen=True)
class PreviewRow:
    """What importing one statement line does. Amounts are in ``currency`` (the line's, else the invoice's)."""

    line: StatementLine
    status: LineStatus
    explanation: str
    invoice: Invoice | None = None
    currency: str = ""
    due_before: Decimal | None = None
    due_after: Decimal | None = None

    @property
    def key(self) -> str:
        return self.line.key

    @property
    def applicable(self) -> bool:
        """A line that would be recorded (and is ticked by default in the preview)."""
        return self.status in APPLICABLE


@dataclass(frozen=True)
class StatusTotal:
    status: LineStatus
    count: int
    amounts: dict[str, Decimal]

    @property
    def label(self) -> str:
        return str(self.status.label)


@dataclass(frozen=True)
class StatementPreview:
    """Every line of the statement with what importing it would do; ``error`` when the file cannot be read."""

    rows: list[PreviewRow] = field(default_factory=list)
    error: str = ""

    @property
    def applicable(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.applicable]

    @property
    def expected(self) -> dict[str, int]:
        """Line key → invoice id of the lines that would be recorded: what ``bank_statement_apply`` checks."""
        return {row.key: row.invoice.pk for row in self.rows if row.applicable and row.invoice is not None}

    def totals(self) -> list[StatusTotal]:
        """Per status, in the order of ``LineStatus``: how many lines and their amounts per currency."""
        counts: dict[LineStatus, int] = defaultdict(int)
        amounts: dict[LineStatus, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.rows:
            counts[row.status] += 1
            if row.line.amount is not None:
                amounts[row.status][row.currency] += row.line.amount
        return [StatusTotal(status, counts[status], dict(amounts[status])) for status in LineStatus if counts[status]]


@dataclass(frozen=True)
class AppliedLine:
    row: PreviewRow
    payment: Payment


@dataclass(frozen=True)
class SkippedLine:
    line: StatementLine | None
    reason: str
    invoice: Invoice | None = None


@dataclass(frozen=True)
class ImportResult:
    applied: list[AppliedLine] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    #: Lines of the file that were not ticked (left alone).
    not_chosen: int = 0


# --- entry points ---------------------------------------------------------------------------------------


def bank_statement_preview(*, text: str, now: dt.datetime, entity: BillingEntity | None = None) -> StatementPreview:
    """What importing ``text`` would do, line by line. Writes nothing.

    ``entity`` limits matching to the invoices of one legal entity (the owner of the bank account), for
    groups whose entities share invoice numbers.
    """
    parsed = parse_statement(text)
    if parsed.error:
        return StatementPreview(error=parsed.error)
    matcher = _Matcher(entity=entity, now=now)
    lines = parsed.lines
    candidates = {line.line_number: matcher.candidates(line) for line in lines}
    invoices = matcher.load({pk for ids in candidates.values() for pk in ids})
    recorded = _recorded(line.key for line in lines if line.key)
    due = {pk: invoice.amount_due.amount for pk, invoice in invoices.items()}
    paid_by: dict[int, int] = {}
    rows = []
    for line in lines:
        row = matcher.classify(
            line,
            recorded=recorded.get(line.key),
            invoices=[invoices[pk] for pk in candidates[line.line_number] if pk in invoices],
            due=due,
            paid_by=paid_by,
        )
        if row.applicable and row.invoice is not None and row.due_after is not None:
            due[row.invoice.pk] = row.due_after
            if row.due_after == 0:
                paid_by[row.invoice.pk] = line.line_number
        rows.append(row)
    return StatementPreview(rows=rows)


def bank_statement_apply(
    *,
    text: str,
    line_keys: Sequence[str],
    actor: Actor,
    now: dt.datetime,
    entity: BillingEntity | None = None,
    expected: Mapping[str, int] | None = None,
) -> ImportResult:
    """Record the lines of ``text`` whose key is in ``line_keys``, each matched again as things are now.

    ``expected`` (line key → invoice id, as the preview showed) makes a line that now matches another
    invoice be skipped rather than recorded somewhere the person did not see. Each line is its own
    transaction (``payment_record``); a line that cannot be recorded is skipped with the reason.
    """
    parsed: ParsedStatement = parse_statement(text)
    if parsed.error:
        raise DomainError("invalid_statement", parsed.error)
    chosen = set(line_keys)
    present = {line.key for line in parsed.lines if line.key}
    matcher = _Matcher(entity=entity, now=now)
    applied: list[AppliedLine] = []
    skipped: list[SkippedLine] = [
        SkippedLine(None, "This line is not in the file any more: upload the statement again.")
        for _key in sorted(chosen - present)
    ]
    for line in parsed.lines:
        if line.key not in chosen:
            continue
        row = matcher.classify(
            line,
            recorded=_recorded([line.key]).get(line.key),
            invoices=list(matcher.load(matcher.candidates(line)).values()),
            due=None,
            paid_by={},
        )
        if not row.applicable or row.invoice is None:
            skipped.append(SkippedLine(line, _changed(row), row.invoice))
            continue
        seen = (expected or {}).get(line.key)
        if expected is not None and seen != row.invoice.pk:
            skipped.append(SkippedLine(line, _moved(row, seen), row.invoice))
            continue
        assert line.amount is not None and line.date is not None  # an applicable line has both
        try:
            payment = payment_record(
                invoice=row.invoice,
                amount=line.amount,
                actor=actor,
                now=now,
                kind=PaymentKind.BANK_TRANSFER,
                provider=Provider.MANUAL,
                received_at=received_at(line.date, row.invoice.entity),
                reference=line.reference,
                bank_line_key=line.key,
                note=_note(line),
            )
        except DomainError as error:
            skipped.append(SkippedLine(line, error.message, row.invoice))
        except IntegrityError:  # the same line recorded at the same moment by someone else
            skipped.append(SkippedLine(line, "This bank statement line was already recorded as a payment.", None))
        else:
            applied.append(AppliedLine(row, payment))
    not_chosen = sum(1 for line in parsed.lines if line.key not in chosen)
    return ImportResult(applied=applied, skipped=skipped, not_chosen=not_chosen)


def received_at(day: dt.date, entity: BillingEntity) -> dt.datetime:
    """Noon of the bank's day in the legal entity's time zone, in UTC (see the module's docstring)."""
    try:
        zone: dt.tzinfo = ZoneInfo(entity.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return dt.datetime.combine(day, dt.time(12), tzinfo=zone).astimezone(dt.UTC)


# --- matching -------------------------------------------------------------------------------------------


def _money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    if not currency:
        return f"{amount:,}"
    try:
        return format_money(amount, currency, "en")
    except DomainError:
        return f"{currency} {amount}"


def _recorded(keys: Iterable[str]) -> dict[str, Payment]:
    keys = list(dict.fromkeys(keys))
    found: dict[str, Payment] = {}
    for start in range(0, len(keys), CHUNK):
        for payment in Payment.objects.filter(bank_line_key__in=keys[start : start + CHUNK]).select_related("invoice"):
            found[payment.bank_line_key] = payment
    return found


def _note(line: StatementLine) -> str:
    source = f"Bank statement line {line.line_number}"
    return f"{source}, from {line.counterparty}" if line.counterparty else source


class _Matcher:
    """The open invoices by their reference keys (number and RF reference), loaded once per statement."""

    def __init__(self, *, entity: BillingEntity | None, now: dt.datetime):
        self.entity = entity
        self.now = now
        self.by_key: dict[str, set[int]] = defaultdict(set)
        rows = Invoice.objects.filter(status__in=COLLECTABLE).exclude(number="")
        if entity is not None:
            rows = rows.filter(entity=entity)
        for pk, number, payment_reference in rows.values_list("pk", "number", "payment_reference"):
            for text in (number, payment_reference):
                if text and (key := reference_key(text)):
                    self.by_key[key].add(pk)

    def candidates(self, line: StatementLine) -> set[int]:
        """Open invoices whose number or RF reference the line's text holds; else any invoice it names."""
        if not line.is_valid or not line.reference:
            return set()
        keys = reference_keys(line.reference)
        found = {pk for key in keys for pk in self.by_key.get(key, ())}
        return found or self._closed(line, keys)

    def _closed(self, line: StatementLine, keys: frozenset[str]) -> set[int]:
        """Invoices the line names that are not open (or of another entity): to say why nothing matches."""
        rf = [_grouped(key) for key in keys if key.startswith("RF") and is_valid_creditor_reference(key)]
        words = {word.strip(".,;:()[]{}<>\"'") for word in line.reference.split()}
        words = {word for word in words | {word.upper() for word in words} if word}
        if not rf and not words:
            return set()
        query = Q(number__in=words) | Q(payment_reference__in=rf)
        return set(Invoice.objects.filter(query).exclude(number="").values_list("pk", flat=True)[:10])

    def load(self, ids: Iterable[int]) -> dict[int, Invoice]:
        ids = set(ids)
        if not ids:
            return {}
        return {
            invoice.pk: invoice
            for invoice in Invoice.objects.filter(pk__in=ids).select_related("customer", "entity").order_by("pk")
        }

    def classify(
        self,
        line: StatementLine,
        *,
        recorded: Payment | None,
        invoices: list[Invoice],
        due: dict[int, Decimal] | None,
        paid_by: dict[int, int],
    ) -> PreviewRow:
        """The status of one line; ``due`` carries what earlier lines of the file leave due (preview only)."""
        if not line.is_valid:
            return PreviewRow(line, LineStatus.INVALID, line.error, currency=line.currency)
        assert line.date is not None and line.amount is not None
        if line.date > (self.now + dt.timedelta(days=1)).date():
            return PreviewRow(
                line,
                LineStatus.INVALID,
                f"The line is dated {line.date:%Y-%m-%d}, after today: check the statement.",
                currency=line.currency,
            )
        if line.ignored:
            return PreviewRow(line, LineStatus.NOT_INCOMING, f"Ignored: {line.ignored}.", currency=line.currency)
        if recorded is not None:
            return PreviewRow(
                line,
                LineStatus.ALREADY_RECORDED,
                f"Already recorded on {recorded.created_at:%Y-%m-%d} as a payment of {recorded.invoice}: "
                "a statement line pays only once.",
                invoice=recorded.invoice,
                currency=recorded.currency,
            )
        if not line.reference:
            return PreviewRow(
                line,
                LineStatus.NO_MATCH,
                "The line has no reference or description: find the invoice and record the payment by hand.",
                currency=line.currency,
            )
        entity_ok = [i for i in invoices if self.entity is None or i.entity_id == self.entity.pk]
        open_ = [i for i in entity_ok if i.status in COLLECTABLE]
        if len(open_) > 1:
            return self._ambiguous(line, open_)
        if not open_:
            return self._unmatched(line, invoices, entity_ok, paid_by)
        invoice = open_[0]
        currency = invoice.currency
        if line.currency and line.currency != currency:
            return PreviewRow(
                line,
                LineStatus.CURRENCY_MISMATCH,
                f"The transfer is in {line.currency} but {invoice} is in {currency}: record it by hand on the "
                "invoice, in its currency.",
                invoice=invoice,
                currency=line.currency,
            )
        amount = line.amount
        if round_money(amount, currency) != amount:
            return PreviewRow(
                line,
                LineStatus.INVALID,
                f"The amount {amount} has more decimals than {currency} allows.",
                invoice=invoice,
                currency=currency,
            )
        owed = due[invoice.pk] if due is not None and invoice.pk in due else invoice.amount_due.amount
        if amount > owed:
            return self._overpaid(line, invoice, owed, paid_by)
        full = amount == owed
        explanation = (
            f"Pays {invoice} ({invoice.customer.name}) in full."
            if full
            else f"Pays {_money(amount, currency)} of the {_money(owed, currency)} due on {invoice} "
            f"({invoice.customer.name}); {_money(owed - amount, currency)} stays due."
        )
        return PreviewRow(
            line,
            LineStatus.MATCHED_FULL if full else LineStatus.MATCHED_PARTIAL,
            explanation,
            invoice=invoice,
            currency=currency,
            due_before=owed,
            due_after=owed - amount,
        )

    def _ambiguous(self, line: StatementLine, invoices: list[Invoice]) -> PreviewRow:
        names = ", ".join(f"{i} ({i.customer.name}, {_money(i.amount_due.amount, i.currency)} due)" for i in invoices)
        entities = {i.entity_id for i in invoices}
        hint = (
            "They belong to different legal entities: choose the bank account's entity when you upload the file."
            if len(entities) > 1 and len({reference_key(i.number) for i in invoices}) == 1
            else "A statement line pays one invoice: record it by hand on the right one(s)."
        )
        return PreviewRow(
            line, LineStatus.AMBIGUOUS, f"The reference names {len(invoices)} open invoices: {names}. {hint}"
        )

    def _overpaid(self, line: StatementLine, invoice: Invoice, owed: Decimal, paid_by: dict[int, int]) -> PreviewRow:
        currency = invoice.currency
        amount = line.amount or ZERO
        if owed == 0:
            earlier = paid_by.get(invoice.pk)
            why = (
                f"Line {earlier} of this file already pays {invoice} in full"
                if earlier
                else f"{invoice} ({invoice.customer.name}) is already paid"
            )
            explanation = (
                f"{why}: this {_money(amount, currency)} is more than is due, so it is not recorded. "
                "Refund it or keep it as the customer's credit by hand."
            )
        else:
            explanation = (
                f"{_money(amount, currency)} is {_money(amount - owed, currency)} more than the "
                f"{_money(owed, currency)} due on {invoice} ({invoice.customer.name}), so it is not recorded "
                f"automatically. Record {_money(owed, currency)} on the invoice by hand and refund the rest or "
                "keep it as the customer's credit."
            )
        return PreviewRow(
            line, LineStatus.OVERPAID, explanation, invoice=invoice, currency=currency, due_before=owed, due_after=owed
        )

    def _unmatched(
        self, line: StatementLine, invoices: list[Invoice], entity_ok: list[Invoice], paid_by: dict[int, int]
    ) -> PreviewRow:
        paid = [i for i in entity_ok if i.status == InvoiceStatus.PAID]
        if len(paid) == 1:
            return self._overpaid(line, paid[0], ZERO, paid_by)
        if entity_ok:
            closed = ", ".join(f"{i} is {i.get_status_display().lower()}" for i in entity_ok)
            explanation = f"No open invoice has this reference ({closed}): nothing is due on it."
        elif invoices:
            elsewhere = ", ".join(f"{i} of {i.entity}" for i in invoices)
            explanation = f"The reference names {elsewhere}, not an invoice of {self.entity}."
        else:
            rf = sorted(
                k for k in reference_keys(line.reference) if k.startswith("RF") and is_valid_creditor_reference(k)
            )
            explanation = (
                f"{_grouped(rf[0])} is not the reference of any of our invoices: find the invoice and record the "
                "payment by hand."
                if rf
                else "No invoice number or RF reference of an open invoice was found in the text: find the "
                "invoice and record the payment by hand."
            )
        return PreviewRow(line, LineStatus.NO_MATCH, explanation, currency=line.currency)


def _grouped(compact: str) -> str:
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _changed(row: PreviewRow) -> str:
    return f"Not recorded: {row.explanation}"


def _moved(row: PreviewRow, seen: int | None) -> str:
    before = Invoice.objects.filter(pk=seen).first() if seen is not None else None
    shown = f"not {before} as the preview showed" if before is not None else "which the preview did not show"
    return (
        f"Not recorded: since the preview this line matches {row.invoice}, {shown}. "
        "Upload the statement again to check it."
    )
