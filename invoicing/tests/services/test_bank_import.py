"""Bank statement import: the preview matches and explains without writing; apply records what was ticked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from invoicing.models import Invoice, Payment, PaymentKind
from invoicing.services.bank_import import LineStatus, bank_statement_apply, bank_statement_preview
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.entities import billing_entity_create, customer_entity_set
from invoicing.services.invoices import invoice_finalize, invoice_mark_paid, invoice_void
from invoicing.tests.factories import ACTOR, eu_rates
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 10, 12)
IMPORTED = utc(2026, 3, 12, 9)


@pytest.fixture(autouse=True)
def rates():
    eu_rates()


def invoice_of(amount: str, customer=None) -> Invoice:
    """A finalized invoice of ``amount`` plus 21% Dutch VAT."""
    draft = invoice_create_manual(
        customer=customer or make_customer(),
        lines=[{"description": "Consulting", "quantity": "1", "unit_amount": amount}],
        actor=ACTOR,
        now=NOW,
    )
    return invoice_finalize(invoice=draft, actor=ACTOR, now=NOW)


@pytest.fixture
def invoices():
    """Four open invoices: 121.00, 242.00, 121.00 and 60.50 due."""
    return [invoice_of("100.00"), invoice_of("200.00"), invoice_of("100.00"), invoice_of("50.00")]


def statement(*lines: str) -> str:
    return "Booking date;Amount;Currency;Name;Description\n" + "\n".join(lines) + "\n"


def spaced(invoice: Invoice) -> str:
    """The RF reference as a customer types it: in lower case, grouped by four."""
    return invoice.payment_reference.lower()


def snapshot() -> tuple:
    """Everything a preview must leave alone."""
    return (
        Payment.objects.count(),
        list(Invoice.objects.order_by("pk").values_list("status", "amount_paid", "amount_due")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def text(invoices):
    first, second, third, fourth = invoices
    return statement(
        f"2026-03-11;121,00;EUR;Alpha B.V.;{spaced(first)}",  # full, by RF reference with spaces
        f"11-03-2026;100,00;EUR;Beta B.V.;Invoice {second.number} part 1",  # partial, by invoice number
        f"11.03.2026;150,00;EUR;Gamma B.V.;{third.payment_reference}",  # more than is due
        "2026-03-11;99,00;EUR;Delta;RF18 5390 0754 7034",  # a valid RF reference that is not ours
        "2026-03-11;-12,50;EUR;Bank;Monthly fees",  # money going out
        f"2026-03-11;60,50;USD;Epsilon;{fourth.number}",  # another currency
        "03/04/2026;10,00;EUR;Zeta;whatever",  # an ambiguous date
    )


def statuses(preview) -> list[tuple[int, str]]:
    return [(row.line.line_number, row.status) for row in preview.rows]


def test_the_preview_says_what_each_line_would_do_and_writes_nothing(invoices, text):
    first, second, third, fourth = invoices
    before = snapshot()

    preview = bank_statement_preview(text=text, now=IMPORTED)

    assert snapshot() == before
    assert preview.error == ""
    assert statuses(preview) == [
        (2, LineStatus.MATCHED_FULL),
        (3, LineStatus.MATCHED_PARTIAL),
        (4, LineStatus.OVERPAID),
        (5, LineStatus.NO_MATCH),
        (6, LineStatus.NOT_INCOMING),
        (7, LineStatus.CURRENCY_MISMATCH),
        (8, LineStatus.INVALID),
    ]
    rows = preview.rows
    assert [row.invoice for row in rows] == [first, second, third, None, None, fourth, None]
    assert (rows[0].due_before, rows[0].due_after) == (D("121.00"), D("0.00"))
    assert (rows[1].due_before, rows[1].due_after) == (D("242.00"), D("142.00"))
    assert rows[0].explanation == f"Pays {first.number} ({first.customer.name}) in full."
    assert rows[1].explanation == (
        f"Pays €100.00 of the €242.00 due on {second.number} ({second.customer.name}); €142.00 stays due."
    )
    assert rows[2].explanation.startswith(
        f"€150.00 is €29.00 more than the €121.00 due on {third.number} ({third.customer.name}), so it is not "
        "recorded automatically. Record €121.00 on the invoice by hand"
    )
    assert rows[3].explanation.startswith("RF18 5390 0754 7034 is not the reference of any of our invoices")
    assert rows[4].explanation == "Ignored: money going out."
    assert rows[5].explanation.startswith(f"The transfer is in USD but {fourth.number} is in EUR")
    assert rows[6].explanation.startswith("The date “03/04/2026” could be 3 April 2026 or 4 March 2026")
    assert [row.applicable for row in rows] == [True, True, False, False, False, False, False]
    assert preview.expected == {rows[0].key: first.pk, rows[1].key: second.pk}
    totals = {total.status: (total.count, total.amounts) for total in preview.totals()}
    assert totals[LineStatus.MATCHED_FULL] == (1, {"EUR": D("121.00")})
    assert totals[LineStatus.NOT_INCOMING] == (1, {"EUR": D("-12.50")})
    assert totals[LineStatus.CURRENCY_MISMATCH] == (1, {"USD": D("60.50")})


def test_apply_records_exactly_the_chosen_lines(invoices, text):
    first, second, third, fourth = invoices
    preview = bank_statement_preview(text=text, now=IMPORTED)
    full, partial = preview.applicable

    result = bank_statement_apply(
        text=text, line_keys=[full.key, partial.key], actor=ACTOR, now=IMPORTED, expected=preview.expected
    )

    assert [(a.row.line.line_number, a.payment.amount.amount) for a in result.applied] == [
        (2, D("121.00")),
        (3, D("100.00")),
    ]
    assert (result.skipped, result.not_chosen) == ([], 5)
    for invoice in invoices:
        invoice.refresh_from_db()
    assert [(i.status, i.amount_paid.amount, i.amount_due.amount) for i in invoices] == [
        ("paid", D("121.00"), D("0.00")),
        ("open", D("100.00"), D("142.00")),
        ("open", D("0.00"), D("121.00")),
        ("open", D("0.00"), D("60.50")),
    ]
    payment = Payment.objects.get(invoice=first)
    assert (payment.kind, payment.provider, payment.reference, payment.bank_line_key, payment.recorded_by) == (
        PaymentKind.BANK_TRANSFER,
        "manual",
        spaced(first),
        full.key,
        ACTOR.label,
    )
    assert payment.note == "Bank statement line 2, from Alpha B.V."
    # Noon in Amsterdam (the legal entity's zone) on the bank's day: 11:00 UTC in winter time.
    assert payment.received_at == utc(2026, 3, 11, 11)
    assert payment.created_at == IMPORTED
    assert AuditEvent.objects.filter(action="invoice.payment_recorded", object_id=str(second.pk)).count() == 1


def test_the_same_file_imported_again_records_nothing_more(invoices, text):
    preview = bank_statement_preview(text=text, now=IMPORTED)
    keys = [row.key for row in preview.applicable]
    bank_statement_apply(text=text, line_keys=keys, actor=ACTOR, now=IMPORTED)
    after_first = snapshot()

    again = bank_statement_preview(text=text, now=IMPORTED)
    assert statuses(again)[:2] == [(2, LineStatus.ALREADY_RECORDED), (3, LineStatus.ALREADY_RECORDED)]
    assert again.rows[0].explanation == (
        f"Already recorded on 2026-03-12 as a payment of {invoices[0].number}: a statement line pays only once."
    )
    assert again.applicable == []

    result = bank_statement_apply(text=text, line_keys=keys, actor=ACTOR, now=IMPORTED)

    assert result.applied == []
    assert [s.reason for s in result.skipped] == [
        f"Not recorded: Already recorded on 2026-03-12 as a payment of {invoices[0].number}: a statement line pays "
        "only once.",
        f"Not recorded: Already recorded on 2026-03-12 as a payment of {invoices[1].number}: a statement line pays "
        "only once.",
    ]
    assert snapshot() == after_first


def test_a_duplicate_line_in_the_file_is_a_second_transfer_and_is_more_than_is_due(invoices):
    first = invoices[0]
    line = f"2026-03-11;121,00;EUR;Alpha;{first.number}"
    text = statement(line, line)

    preview = bank_statement_preview(text=text, now=IMPORTED)

    assert statuses(preview) == [(2, LineStatus.MATCHED_FULL), (3, LineStatus.OVERPAID)]
    assert preview.rows[1].explanation.startswith(f"Line 2 of this file already pays {first.number} in full")
    assert preview.rows[0].key != preview.rows[1].key


def test_two_partial_payments_in_one_file_add_up(invoices):
    second = invoices[1]
    text = statement(f"2026-03-11;100,00;EUR;B;{second.number}", f"2026-03-12;142,00;EUR;B;{second.number}")

    preview = bank_statement_preview(text=text, now=IMPORTED)
    assert statuses(preview) == [(2, LineStatus.MATCHED_PARTIAL), (3, LineStatus.MATCHED_FULL)]

    result = bank_statement_apply(text=text, line_keys=list(preview.expected), actor=ACTOR, now=IMPORTED)

    assert len(result.applied) == 2
    second.refresh_from_db()
    assert (second.status, second.amount_due.amount) == ("paid", D("0.00"))


def test_a_line_whose_match_changed_since_the_preview_is_skipped_and_the_others_are_recorded(invoices, text):
    first, second, *_ = invoices
    preview = bank_statement_preview(text=text, now=IMPORTED)
    full, partial = preview.applicable
    invoice_mark_paid(invoice=first, actor=ACTOR, now=IMPORTED)  # paid by hand meanwhile

    result = bank_statement_apply(
        text=text, line_keys=[full.key, partial.key], actor=ACTOR, now=IMPORTED, expected=preview.expected
    )

    assert [a.row.invoice for a in result.applied] == [second]
    (skipped,) = result.skipped
    assert skipped.line.line_number == 2
    assert skipped.reason.startswith(f"Not recorded: {first.number} ({first.customer.name}) is already paid")
    assert Payment.objects.filter(invoice=first).count() == 1  # only the one recorded by hand


def test_a_voided_invoice_is_not_paid_by_a_stale_preview(invoices, text):
    first = invoices[0]
    preview = bank_statement_preview(text=text, now=IMPORTED)
    invoice_void(invoice=first, actor=ACTOR, now=IMPORTED, reason="Wrong customer")

    result = bank_statement_apply(
        text=text, line_keys=[preview.rows[0].key], actor=ACTOR, now=IMPORTED, expected=preview.expected
    )

    assert result.applied == []
    assert result.skipped[0].reason == (
        f"Not recorded: No open invoice has this reference ({first.number} is void): nothing is due on it."
    )
    assert not Payment.objects.filter(invoice=first).exists()


def test_a_line_that_now_matches_another_invoice_than_the_preview_showed_is_skipped(invoices, text):
    first, second, *_ = invoices
    preview = bank_statement_preview(text=text, now=IMPORTED)
    key = preview.rows[0].key

    result = bank_statement_apply(text=text, line_keys=[key], actor=ACTOR, now=IMPORTED, expected={key: second.pk})

    assert result.applied == []
    assert result.skipped[0].reason == (
        f"Not recorded: since the preview this line matches {first.number}, not {second.number} as the preview "
        "showed. Upload the statement again to check it."
    )


def test_a_reference_naming_two_open_invoices_is_ambiguous(invoices):
    first, second, *_ = invoices
    text = statement(f"2026-03-11;363,00;EUR;A;{first.number} and {second.number}")

    (row,) = bank_statement_preview(text=text, now=IMPORTED).rows

    assert row.status == LineStatus.AMBIGUOUS
    assert row.explanation.startswith(f"The reference names 2 open invoices: {first.number} (")
    assert row.explanation.endswith("A statement line pays one invoice: record it by hand on the right one(s).")


def test_a_line_without_reference_or_for_a_paid_invoice_explains_itself(invoices):
    first = invoices[0]
    invoice_mark_paid(invoice=first, actor=ACTOR, now=NOW)
    text = statement("2026-03-11;10,00;EUR;A;", f"2026-03-11;121,00;EUR;A;{first.payment_reference}")

    no_reference, paid = bank_statement_preview(text=text, now=IMPORTED).rows

    assert no_reference.status == LineStatus.NO_MATCH
    assert no_reference.explanation.startswith("The line has no reference or description")
    assert paid.status == LineStatus.OVERPAID
    assert paid.explanation.startswith(f"{first.number} ({first.customer.name}) is already paid: this €121.00")


def test_a_line_dated_in_the_future_or_more_precise_than_the_currency_is_not_recorded(invoices):
    first = invoices[0]
    text = statement(f"2026-04-30;121,00;EUR;A;{first.number}", f"2026-03-11;1,2345;EUR;A;{first.number}")

    future, precise = bank_statement_preview(text=text, now=IMPORTED).rows

    assert (future.status, future.explanation) == (
        LineStatus.INVALID,
        "The line is dated 2026-04-30, after today: check the statement.",
    )
    assert (precise.status, precise.explanation) == (
        LineStatus.INVALID,
        "The amount 1.2345 has more decimals than EUR allows.",
    )


def test_an_entity_limits_matching_to_its_own_invoices():
    nordic = billing_entity_create(
        actor=ACTOR,
        now=NOW,
        name="Nordic AB",
        address_line1="Gatan 1",
        postal_code="111 51",
        city="Stockholm",
        country="SE",
        time_zone="America/New_York",
    )
    swedish_customer = make_customer()
    customer_entity_set(customer=swedish_customer, entity=nordic, actor=ACTOR, now=NOW)
    ours, theirs = invoice_of("100.00"), invoice_of("100.00", customer=swedish_customer)
    assert ours.number == theirs.number  # both entities number INV-2026-00001
    text = statement(f"2026-03-11;121,00;EUR;A;{ours.number}")

    assert bank_statement_preview(text=text, now=IMPORTED).rows[0].status == LineStatus.AMBIGUOUS
    assert "choose the bank account's entity" in bank_statement_preview(text=text, now=IMPORTED).rows[0].explanation
    row = bank_statement_preview(text=text, now=IMPORTED, entity=nordic).rows[0]
    assert (row.status, row.invoice) == (LineStatus.MATCHED_FULL, theirs)

    result = bank_statement_apply(text=text, line_keys=[row.key], actor=ACTOR, now=IMPORTED, entity=nordic)

    # Noon in New York on 11 March 2026 (daylight saving time since 8 March): 16:00 UTC.
    assert result.applied[0].payment.received_at == dt.datetime(2026, 3, 11, 16, tzinfo=dt.UTC)
    ours.refresh_from_db()
    assert ours.status == "open"


def test_a_file_that_cannot_be_read_is_explained_and_apply_refuses_it(invoices):
    preview = bank_statement_preview(text="Datum;Bedrag\n", now=IMPORTED)

    assert preview.rows == []
    assert preview.error.startswith("The first line must name the columns.")
    with pytest.raises(DomainError) as refused:
        bank_statement_apply(text="Datum;Bedrag\n", line_keys=[], actor=ACTOR, now=IMPORTED)
    assert refused.value.code == "invalid_statement"
