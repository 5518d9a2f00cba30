"""Credit notes from the invoice page: check first, then issue; above the limit they wait for approval."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing_site.models import ApprovalRequest, AuditEvent
from invoicing.models import BalanceTransaction, CreditNote, CreditNoteStatus, Invoice, InvoiceStatus
from invoicing.tests.admin import D, dutch_vat, finalized, make_customer, messages_of, one_off, paid, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def vat():
    return dutch_vat()


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def customer():
    return make_customer("Alpha Trading B.V.", "ap@alpha.example")


@pytest.fixture
def invoice(customer):
    """INV-2026-00001: consulting 2 × 100.00 and a setup fee of 50.00, 21% VAT: 302.50 due."""
    return finalized(one_off(customer, ("Consulting", "2", "100.00"), ("Setup fee", "1", "50.00")))


def form_url(invoice: Invoice) -> str:
    return reverse("admin:invoicing_invoice_credit_note", args=[invoice.pk])


def credit_form(invoice: Invoice, amounts: dict[str, str], **fields: Any) -> dict[str, str]:
    lines = list(invoice.lines.order_by("position"))
    data = {
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "reason": "billing_error",
        "memo": "",
        "paid_money": "refund",
        "refund_amount": "",
        "credit_amount": "",
        "out_of_band_amount": "",
    }
    for index, line in enumerate(lines):
        data[f"lines-{index}-invoice_line"] = str(line.pk)
        data[f"lines-{index}-amount"] = amounts.get(line.description, "")
    data.update(fields)
    return data


def check_then_create(client, invoice, amounts, **fields):
    """Press "Next: check", then "Yes, create" as the browser would: same inputs plus the check's token."""
    data = credit_form(invoice, amounts, **fields)
    checked = client.post(form_url(invoice), data)
    assert checked.status_code == 200
    assert checked.context["preview"] is not None, checked.context["form"].errors
    created = client.post(
        form_url(invoice), {**data, "confirm": "yes", "checked": checked.context["preview"]["checked"]}, follow=True
    )
    return checked, created


def note_figures(note: CreditNote) -> tuple[Decimal, ...]:
    note.refresh_from_db()
    return (
        note.subtotal.amount,
        note.tax.amount,
        note.total.amount,
        note.pre_payment_amount.amount,
        note.refund_amount.amount,
        note.credit_amount.amount,
        note.out_of_band_amount.amount,
    )


def test_the_form_lists_every_line_with_what_can_still_be_credited(finance, invoice):
    response = finance.get(form_url(invoice))

    assert response.status_code == 200
    rows = [(r["line"].description, r["charged"], r["credited"], r["left"]) for r in response.context["line_rows"]]
    assert rows == [("Consulting", "€200.00", "—", "€200.00"), ("Setup fee", "€50.00", "—", "€50.00")]
    assert dict(response.context["figures"])["Still due"] == "€302.50"


def test_check_shows_the_exact_amounts_then_the_note_is_issued(finance, invoice):
    checked, created = check_then_create(finance, invoice, {"Consulting": "100.00"}, memo="One day was not worked")

    assert [(str(label), value) for label, value, _ in checked.context["preview"]["figures"][:4]] == [
        ("Subtotal", "€100.00"),
        ("Tax", "€21.00"),
        ("Total", "€121.00"),
        ("Lowers the amount due on the invoice", "€121.00"),
    ]
    note = CreditNote.objects.get()
    assert (note.number, note.status, note.reason, note.memo) == (
        "CN-2026-00001",
        "issued",
        "billing_error",
        "One day was not worked",
    )
    assert note_figures(note) == (D("100.00"), D("21.00"), D("121.00"), D("121.00"), D("0"), D("0"), D("0"))
    assert list(note.lines.values_list("description", "amount")) == [("Consulting", D("100.00"))]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount, invoice.amount_credited.amount) == (
        "open",
        D("181.50"),
        D("121.00"),
    )
    assert messages_of(created) == ["Credit note CN-2026-00001 of €121.00 is issued."]
    assert created.redirect_chain[-1][0] == reverse("admin:invoicing_creditnote_change", args=[note.pk])
    assert note.author == "finance"


def test_checking_writes_nothing(finance, invoice):
    events = AuditEvent.objects.count()

    finance.post(form_url(invoice), credit_form(invoice, {"Consulting": "100.00"}))
    # A "Yes" with inputs changed after the check only checks again.
    finance.post(
        form_url(invoice), {**credit_form(invoice, {"Consulting": "150.00"}), "confirm": "yes", "checked": "old"}
    )

    assert not CreditNote.objects.exists()
    assert AuditEvent.objects.count() == events
    invoice.refresh_from_db()
    assert invoice.amount_due.amount == D("302.50")


def test_money_already_paid_is_kept_as_balance_credit(finance, invoice, customer):
    paid(invoice)

    _checked, created = check_then_create(finance, invoice, {"Setup fee": "50.00"}, paid_money="credit")

    note = CreditNote.objects.get()
    assert note_figures(note) == (D("50.00"), D("10.50"), D("60.50"), D("0"), D("0"), D("60.50"), D("0"))
    assert list(BalanceTransaction.objects.filter(customer=customer).values_list("kind", "amount")) == [
        ("credit_note", D("60.50"))
    ]
    page = finance.get(reverse("admin:subscriptions_customer_change", args=[customer.pk])).content.decode()
    assert "€60.50" in page and "Credit note CN-2026-00001" in page


def test_a_split_that_does_not_add_up_is_refused_on_the_form(finance, invoice):
    paid(invoice)

    response = finance.post(
        form_url(invoice),
        credit_form(invoice, {"Setup fee": "50.00"}, paid_money="split", refund_amount="20.00", credit_amount="10.00"),
    )

    assert response.context["form"].errors["refund_amount"] == [
        "60.50 EUR of this credit note concerns money already paid: split it over refund, balance credit and "
        "settled outside (now 30.00)."
    ]
    assert not CreditNote.objects.exists()


def test_more_than_a_line_charged_is_refused_on_that_line(finance, invoice):
    response = finance.post(form_url(invoice), credit_form(invoice, {"Setup fee": "60.00"}))

    row = response.context["line_rows"][1]["form"]
    assert row.errors["amount"] == [
        "“Setup fee” can be credited 50.00 EUR at most (charged 50.00, already credited 0.00)."
    ]
    assert not CreditNote.objects.exists()


def test_a_credit_note_above_the_limit_waits_for_approval(finance, invoice, _default_billing_entity):
    _default_billing_entity.credit_note_approval_above = D("100")
    _default_billing_entity.save()

    checked, created = check_then_create(finance, invoice, {"Consulting": "200.00"})

    assert checked.context["preview"]["pending"] is True
    note = CreditNote.objects.get()
    assert (note.status, note.number) == (CreditNoteStatus.PENDING_APPROVAL, "")
    request = ApprovalRequest.objects.get()
    assert (request.status, request.object_id, request.requested_by.username) == ("pending", str(note.pk), "finance")
    invoice.refresh_from_db()
    assert invoice.amount_due.amount == D("302.50")  # nothing changes before approval
    assert "waits for an Approver" in messages_of(created)[0]
    page = finance.get(reverse("admin:invoicing_creditnote_change", args=[note.pk])).content.decode()
    assert "Waiting for an Approver." in page
    assert reverse("admin:billing_site_approvalrequest_change", args=[request.pk]) in page


def test_support_issues_a_small_credit_note(client, support_user, invoice):
    client.force_login(support_user)

    check_then_create(client, invoice, {"Setup fee": "10.00"}, reason="goodwill")

    note = CreditNote.objects.get()
    assert (note.status, note.number, note.total.amount, note.author) == (
        "issued",
        "CN-2026-00001",
        D("12.10"),
        "support",
    )


def test_a_draft_cannot_be_credited(finance, customer):
    draft = one_off(customer)

    response = finance.get(form_url(draft), follow=True)

    assert "only open, paid or uncollectible invoices can be credited" in messages_of(response)[0]


def test_the_credit_note_list_page_and_pdf(finance, invoice):
    check_then_create(finance, invoice, {"Consulting": "100.00"})
    note = CreditNote.objects.get()

    listing = finance.get(reverse("admin:invoicing_creditnote_changelist"))
    assert [n.pk for n in listing.context["cl"].result_list] == [note.pk]
    assert "CN-2026-00001" in listing.content.decode() and "INV-2026-00001" in listing.content.decode()

    page = finance.get(reverse("admin:invoicing_creditnote_change", args=[note.pk]))
    html = page.content.decode()
    assert page.context["adminform"].form.fields == {}
    assert "Consulting" in html and "€121.00" in html and "Credit note issued" in html

    pdf = finance.get(reverse("admin:invoicing_creditnote_pdf", args=[note.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="CN-2026-00001.pdf"'
    assert pdf.content.startswith(b"%PDF")

    invoice_page = finance.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:invoicing_creditnote_change", args=[note.pk]) in invoice_page
    assert invoice.status == InvoiceStatus.OPEN
    assert utc(2026, 1, 20) < note.created_at.replace(hour=23)


def test_the_balance_ledger_shows_credit_given_and_used(finance, invoice, customer):
    paid(invoice)
    check_then_create(finance, invoice, {"Setup fee": "50.00"}, paid_money="credit")  # +60.50
    finalized(one_off(customer, ("Support hours", "1", "40.00")), at=utc(2026, 1, 16))  # 48.40, paid from credit

    response = finance.get(
        reverse("admin:invoicing_balancetransaction_changelist") + f"?customer__id__exact={customer.pk}"
    )

    html = response.content.decode()
    rows = [(row.kind, row.amount.amount) for row in response.context["cl"].result_list]
    assert sorted(rows) == [("applied_to_invoice", D("-48.40")), ("credit_note", D("60.50"))]
    assert "+€60.50" in html and "−€48.40" in html
    assert "Alpha Trading B.V.: balance now €12.10" in html
    assert finance.get(reverse("admin:invoicing_balancetransaction_add")).status_code == 403
