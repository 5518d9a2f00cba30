"""/api/v1/credit-notes: create (issued or waiting for approval), list, filters, retrieve, PDF."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from billing_site.models import ApprovalRequest, AuditEvent
from billing_site.services.audit import snapshot
from invoicing.models import BalanceTransaction, BillingEntity, CreditNote, CreditNoteLine, Invoice
from invoicing.services.credit_notes import credit_note_create
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize, invoice_mark_paid
from subscriptions.tests.factories import ACTOR, make_customer, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/credit-notes"
JAN_15 = utc(2026, 1, 15, 9, 30)
D = Decimal


@pytest.fixture
def invoice(customer) -> Invoice:
    """INV-2026-00001, open: a workshop of 100.00 + 21.00 VAT = 121.00 due."""
    return open_invoice(customer)


def open_invoice(customer) -> Invoice:
    draft = invoice_create_manual(
        customer=customer,
        lines=[{"description": "Workshop", "quantity": D(2), "unit_amount": D("50.00")}],
        actor=ACTOR,
        now=JAN_15,
    )
    return invoice_finalize(invoice=draft, actor=ACTOR, now=JAN_15)


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def line_of(invoice: Invoice) -> int:
    return invoice.lines.get().pk


def state() -> dict[str, Any]:
    return {
        "notes": list(CreditNote.objects.values_list("pk", "status", "number")),
        "lines": CreditNoteLine.objects.count(),
        "invoices": [snapshot(row) for row in Invoice.objects.order_by("pk")],
        "balance": BalanceTransaction.objects.count(),
        "approvals": ApprovalRequest.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def credit(invoice: Invoice, amount: str = "50.00", **fields: Any) -> CreditNote:
    return credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": line_of(invoice), "amount": D(amount)}],
        reason=fields.pop("reason", "billing_error"),
        actor=ACTOR,
        now=JAN_15,
        **fields,
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- create --------------------------------------------------------------------------------------


def test_a_credit_note_before_payment_lowers_the_amount_due(api_client, customer, invoice):
    body = {
        "invoice": invoice.pk,
        "reason": "billing_error",
        "memo": "One participant cancelled.",
        "lines": [{"invoice_line": line_of(invoice), "amount": "50.00", "description": "Workshop, 1 participant"}],
    }

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    note = CreditNote.objects.get()
    assert response.json() == {
        "id": note.pk,
        "number": "CN-2026-00001",
        "status": "issued",
        "invoice": invoice.pk,
        "customer": customer.pk,
        "entity": BillingEntity.objects.get(is_default=True).pk,
        "reason": "billing_error",
        "memo": "One participant cancelled.",
        "currency": "EUR",
        "subtotal": money("50.00"),
        "tax": money("10.50"),
        "total": money("60.50"),
        "pre_payment_amount": money("60.50"),
        "refund_amount": money("0.00"),
        "credit_amount": money("0.00"),
        "out_of_band_amount": money("0.00"),
        "tax_summary": [
            {
                "name": "VAT 21%",
                "category": "standard",
                "percentage": "21",
                "taxable_amount": money("50.00"),
                "tax_amount": money("10.50"),
                "exemption_reason": "",
            }
        ],
        "lines": [
            {
                "id": note.lines.get().pk,
                "invoice_line": line_of(invoice),
                "description": "Workshop, 1 participant",
                "quantity": "1",
                "amount": money("50.00"),
                "tax_rate": {
                    "id": None,
                    "name": "VAT 21%",
                    "percentage": "21",
                    "category": "standard",
                    "inclusive": False,
                },
            }
        ],
        "pdf_url": f"http://testserver/api/v1/credit-notes/{note.pk}/pdf",
        "created_at": "2026-01-15T09:30:00Z",
        "issued_at": "2026-01-15T09:30:00Z",
    }
    invoice.refresh_from_db()
    assert (invoice.amount_due.amount, invoice.amount_credited.amount) == (D("60.50"), D("60.50"))
    assert AuditEvent.objects.get(action="credit_note.issued").actor_kind == "api_key"


def test_after_payment_the_credit_is_split_over_refund_and_balance(api_client, invoice):
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=JAN_15)
    body = {
        "invoice": invoice.pk,
        "reason": "product_unsatisfactory",
        "lines": [{"invoice_line": line_of(invoice), "amount": 100}],
        "refund_amount": "100.00",
        "credit_amount": 21,
    }

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["total"], answer["pre_payment_amount"], answer["refund_amount"], answer["credit_amount"]) == (
        money("121.00"),
        money("0.00"),
        money("100.00"),
        money("21.00"),
    )
    assert BalanceTransaction.objects.get(kind="credit_note").amount.amount == D("21.00")


def test_json_numbers_are_read_as_exact_decimals(api_client, invoice):
    raw = f'{{"invoice": {invoice.pk}, "reason": "goodwill", "lines": [{{"invoice_line": {line_of(invoice)}, "amount": 0.10}}]}}'

    response = api_client.post(URL, raw, content_type="application/json")

    assert response.status_code == 201, response.json()
    assert (response.json()["subtotal"], response.json()["total"]) == (money("0.10"), money("0.12"))


def test_above_the_approval_limit_it_waits_for_an_approver_without_a_number(api_client, invoice):
    BillingEntity.objects.filter(pk=invoice.entity_id).update(credit_note_approval_above=D("50.00"))
    body = {"invoice": invoice.pk, "reason": "goodwill", "lines": [{"invoice_line": line_of(invoice), "amount": "50"}]}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["status"], answer["number"], answer["issued_at"], answer["total"]) == (
        "pending_approval",
        None,
        None,
        money("60.50"),
    )
    assert ApprovalRequest.objects.get().object_id == str(answer["id"])
    invoice.refresh_from_db()
    assert invoice.amount_due.amount == D("121.00")


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"lines": [{"amount": "121.00"}]}, "credit_exceeds_line", "lines.0.amount"),
        ({"lines": [{"amount": "0"}]}, "invalid_amount", "lines.0.amount"),
        ({"lines": [{"amount": "-1"}]}, "invalid", "lines.0.amount"),
        ({"lines": [{"amount": "1.005"}]}, "invalid_amount", "lines.0.amount"),
        ({"lines": [{"amount": "1", "tax": "0.21"}]}, "invalid", "lines.0.tax"),
        ({"lines": [{"invoice_line": 999999, "amount": "1"}]}, "invalid", "lines.0.invoice_line"),
        ({"lines": []}, "no_lines", "lines"),
        ({"reason": "because"}, "invalid", "reason"),
        ({"invoice": 999999}, "invalid", "invoice"),
        ({"refund_amount": "10.00"}, "credit_note_parts_mismatch", "refund_amount"),
        ({"approved": True}, "invalid", "approved"),
    ],
)
def test_a_refused_credit_note_saves_nothing(api_client, invoice, change, code, field):
    line: dict[str, Any] = {"invoice_line": line_of(invoice), "amount": "10.00"}
    body: dict[str, Any] = {"invoice": invoice.pk, "reason": "billing_error", "lines": [line]}
    if "lines" in change:
        body["lines"] = [{**line, **row} for row in change.pop("lines")]
    body.update(change)
    before = state()

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert state() == before


def test_a_line_of_another_invoice_is_refused(api_client, customer, invoice):
    other = open_invoice(customer)
    body = {"invoice": invoice.pk, "reason": "duplicate", "lines": [{"invoice_line": line_of(other), "amount": "1"}]}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid_invoice_line", ["lines.0.invoice_line"])


def test_a_draft_invoice_cannot_be_credited(api_client, customer):
    draft = invoice_create_manual(
        customer=customer, lines=[{"description": "X", "unit_amount": D(10)}], actor=ACTOR, now=JAN_15
    )
    body = {"invoice": draft.pk, "reason": "duplicate", "lines": [{"invoice_line": line_of(draft), "amount": "1"}]}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invoice_not_creditable"
    assert not CreditNote.objects.exists()


def test_a_read_only_key_cannot_create_a_credit_note(read_only_client, invoice):
    before = state()
    body = {"invoice": invoice.pk, "reason": "goodwill", "lines": [{"invoice_line": line_of(invoice), "amount": "1"}]}

    response = read_only_client.post(URL, body, format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert state() == before


# --- read ----------------------------------------------------------------------------------------


def test_get_and_list_with_a_read_only_key(read_only_client, invoice):
    note = credit(invoice)

    detail = read_only_client.get(f"{URL}/{note.pk}")

    assert detail.status_code == 200
    assert (detail.json()["number"], detail.json()["total"]) == ("CN-2026-00001", money("60.50"))
    assert ids(read_only_client.get(URL)) == [note.pk]


def test_an_unknown_credit_note_is_a_404(api_client):
    response = api_client.get(f"{URL}/999999")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_the_list_is_paged_with_a_cursor(api_client, invoice):
    notes = [credit(invoice, "10.00") for _ in range(3)]

    first = api_client.get(URL, {"limit": 2})
    second = api_client.get(first.json()["next"])

    assert ids(first) == [notes[0].pk, notes[1].pk]
    assert ids(second) == [notes[2].pk]
    assert second.json()["next"] is None


def test_filter_by_invoice_customer_and_status(api_client, customer, invoice):
    issued = credit(invoice, "10.00")
    other_customer = make_customer()
    other_invoice = open_invoice(other_customer)
    BillingEntity.objects.filter(pk=invoice.entity_id).update(credit_note_approval_above=D("20.00"))
    pending = credit(other_invoice, "30.00")

    assert ids(api_client.get(URL, {"invoice": invoice.pk})) == [issued.pk]
    assert ids(api_client.get(URL, {"invoice": other_invoice.pk})) == [pending.pk]
    assert ids(api_client.get(URL, {"customer": customer.pk})) == [issued.pk]
    assert ids(api_client.get(URL, {"customer": other_customer.pk})) == [pending.pk]
    assert ids(api_client.get(URL, {"status": "issued"})) == [issued.pk]
    assert ids(api_client.get(URL, {"status": "pending_approval"})) == [pending.pk]
    assert ids(api_client.get(URL, {"status": "rejected"})) == []


@pytest.mark.parametrize(
    ("name", "value"), [("invoice", "abc"), ("invoice", "0"), ("customer", "-3"), ("status", "approved")]
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(api_client, name, value):
    response = api_client.get(URL, {name: value})

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid", [name])


# --- PDF -----------------------------------------------------------------------------------------


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_issued_credit_note_pdf_is_named_after_its_number(read_only_client, invoice):
    note = credit(invoice)

    response = read_only_client.get(f"{URL}/{note.pk}/pdf", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="CN-2026-00001.pdf"'
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "CN-2026-00001" in text
    assert "INV-2026-00001" in text
    assert CreditNote.objects.get(pk=note.pk).pdf


def test_a_credit_note_waiting_for_approval_renders_as_a_draft(api_client, invoice):
    BillingEntity.objects.filter(pk=invoice.entity_id).update(credit_note_approval_above=D("10.00"))
    note = credit(invoice)

    response = api_client.get(f"{URL}/{note.pk}/pdf")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="credit-note-{note.pk}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert "DRAFT" in pdf_text(response.content)
    assert not CreditNote.objects.get(pk=note.pk).pdf


def test_the_pdf_of_an_unknown_credit_note_is_a_json_404(api_client):
    response = api_client.get(f"{URL}/999999/pdf")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
