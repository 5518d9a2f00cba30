"""/api/v1/invoices: list, filters, retrieve, PDF, one-off drafts, the actions and the upcoming invoice."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from billing_site.models import AuditEvent
from billing_site.services.audit import snapshot
from invoicing.models import BalanceTransaction, BillingEntity, Invoice, InvoiceLine, InvoiceTax
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize, invoice_mark_paid
from subscriptions.models import PendingLine, Subscription
from subscriptions.services.subscriptions import subscription_cancel
from subscriptions.services.test_clocks import test_clock_create
from subscriptions.tests.factories import ACTOR, T0, make_customer, make_flat_plan, make_subscription, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/invoices"
JAN_15 = utc(2026, 1, 15, 9, 30)
D = Decimal


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


def subscription_draft(customer) -> tuple[Subscription, Invoice]:
    """A monthly 100.00 subscription from Jan 1: its first invoice is a draft of 121.00."""
    subscription = make_subscription(customer, plan_version=make_flat_plan("100.00"), now=T0)
    return subscription, Invoice.objects.get(subscription=subscription)


def manual(customer, *lines: dict[str, Any], **fields: Any) -> Invoice:
    return invoice_create_manual(
        customer=customer,
        lines=list(lines) or [{"description": "Workshop", "quantity": D(2), "unit_amount": D("50.00")}],
        actor=ACTOR,
        now=fields.pop("now", JAN_15),
        **fields,
    )


def finalized(customer, **fields: Any) -> Invoice:
    return invoice_finalize(invoice=manual(customer, **fields), actor=ACTOR, now=JAN_15)


def state() -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    return {
        "invoices": [snapshot(invoice) for invoice in Invoice.objects.order_by("pk")],
        "lines": InvoiceLine.objects.count(),
        "taxes": InvoiceTax.objects.count(),
        "balance": BalanceTransaction.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- retrieve ----------------------------------------------------------------------------------


def test_get_a_finalized_invoice_answers_every_field(api_client, customer, vat):
    subscription, invoice = subscription_draft(customer)
    invoice_finalize(invoice=invoice, actor=ACTOR, now=JAN_15)
    line = invoice.lines.get()

    response = api_client.get(f"{URL}/{invoice.pk}")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": invoice.pk,
        "number": "INV-2026-00001",
        "status": "open",
        "kind": "subscription_create",
        "customer": customer.pk,
        "subscription": subscription.pk,
        "entity": BillingEntity.objects.get(is_default=True).pk,
        "period_start": "2026-01-01T00:00:00Z",
        "period_end": "2026-02-01T00:00:00Z",
        "currency": "EUR",
        "subtotal": money("100.00"),
        "discount": money("0.00"),
        "tax": money("21.00"),
        "total": money("121.00"),
        "credit_applied": money("0.00"),
        "amount_credited": money("0.00"),
        "amount_due": money("121.00"),
        "amount_paid": money("0.00"),
        "due_date": "2026-01-29",
        "days_until_due": 14,
        "finalized_at": "2026-01-15T09:30:00Z",
        "paid_at": None,
        "on_hold": False,
        "hold_reason": "",
        "prices_include_tax": False,
        "memo": "",
        "purchase_order": "",
        "notes": [],
        "payment_reference": Invoice.objects.get(pk=invoice.pk).payment_reference,
        "tax_summary": [
            {
                "name": "VAT 21%",
                "category": "standard",
                "percentage": "21",
                "taxable_amount": money("100.00"),
                "tax_amount": money("21.00"),
                "exemption_reason": "",
            }
        ],
        "lines": [
            {
                "id": line.pk,
                "kind": "fee",
                "description": "Subscription fee",
                "price": line.price_id,
                "quantity": "1",
                "unit_amount": None,
                "amount": money("100.00"),
                "discount": money("0.00"),
                "net_amount": money("100.00"),
                "period_start": "2026-01-01T00:00:00Z",
                "period_end": "2026-02-01T00:00:00Z",
                "proration": False,
                "tax_rate": {
                    "id": vat.pk,
                    "name": "VAT 21%",
                    "percentage": "21",
                    "category": "standard",
                    "inclusive": False,
                },
                "tiers": [],
            }
        ],
        "pdf_url": f"http://testserver/api/v1/invoices/{invoice.pk}/pdf",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-15T09:30:00Z",
    }
    assert response.json()["payment_reference"].startswith("RF")


def test_a_draft_has_no_number_due_date_or_payment_reference(api_client, customer):
    _, invoice = subscription_draft(customer)

    body = api_client.get(f"{URL}/{invoice.pk}/").json()

    assert (body["status"], body["number"], body["due_date"], body["payment_reference"]) == ("draft", None, None, None)
    assert (body["finalized_at"], body["total"]) == (None, money("121.00"))


def test_an_unknown_invoice_is_a_404_in_the_error_shape(api_client):
    response = api_client.get(f"{URL}/999999")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_without_a_key_nothing_is_shown(client, customer):
    _, invoice = subscription_draft(customer)

    assert client.get(f"{URL}/{invoice.pk}").status_code == 401
    assert client.get(URL).status_code == 401


# --- list, pagination, filters -------------------------------------------------------------------


def test_the_list_is_paged_with_a_cursor_oldest_first(api_client, customer):
    invoices = [manual(customer) for _ in range(3)]

    first = api_client.get(URL, {"limit": 2})
    second = api_client.get(first.json()["next"])

    assert ids(first) == [invoices[0].pk, invoices[1].pk]
    assert ids(second) == [invoices[2].pk]
    assert second.json()["next"] is None


def test_filter_by_customer_subscription_status_entity_and_number(api_client, customer):
    subscription, draft = subscription_draft(customer)
    other = make_customer()
    open_invoice = finalized(other)
    elsewhere = BillingEntity.objects.create(
        name="Acme Nordic AB",
        address_line1="Storgatan 1",
        postal_code="111 22",
        city="Stockholm",
        country="SE",
        created_at=T0,
        updated_at=T0,
    )
    Invoice.objects.filter(pk=draft.pk).update(entity=elsewhere)

    assert ids(api_client.get(URL, {"customer": customer.pk})) == [draft.pk]
    assert ids(api_client.get(URL, {"customer": other.pk})) == [open_invoice.pk]
    assert ids(api_client.get(URL, {"subscription": subscription.pk})) == [draft.pk]
    assert ids(api_client.get(URL, {"status": "open"})) == [open_invoice.pk]
    assert ids(api_client.get(URL, {"status": "draft"})) == [draft.pk]
    assert ids(api_client.get(URL, {"status": "paid"})) == []
    assert ids(api_client.get(URL, {"entity": elsewhere.pk})) == [draft.pk]
    assert ids(api_client.get(URL, {"number": "INV-2026-00001"})) == [open_invoice.pk]
    assert ids(api_client.get(URL, {"number": "INV-2026-00002"})) == []


def test_filter_updated_since_needs_a_time_zone(api_client, customer):
    old = manual(customer, now=utc(2026, 1, 10))
    new = manual(customer, now=utc(2026, 1, 14, 12))

    assert ids(api_client.get(URL, {"updated_since": "2026-01-14T12:00:00Z"})) == [new.pk]
    assert ids(api_client.get(URL, {"updated_since": "2026-01-14T13:00:01+01:00"})) == []
    assert ids(api_client.get(URL, {"updated_since": "2026-01-01T00:00:00+00:00"})) == [old.pk, new.pk]
    # A "+" typed into the URL unencoded arrives as a space: still read as +01:00.
    assert ids(api_client.get(f"{URL}?updated_since=2026-01-14T13:00:00+01:00")) == [new.pk]

    naive = api_client.get(URL, {"updated_since": "2026-01-14T12:00:00"})
    assert naive.status_code == 400
    message = error_of(naive)["fields"]["updated_since"][0]
    assert "time zone" in message
    assert "%2B" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("customer", "abc"),
        ("customer", "0"),
        ("subscription", "-1"),
        ("subscription", str(2**64)),
        ("status", "overdue"),
        ("entity", "1.5"),
        ("updated_since", "yesterday"),
        ("updated_since", "2026-13-01T00:00:00Z"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(api_client, name, value):
    response = api_client.get(URL, {name: value})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [name]


# --- PDF -----------------------------------------------------------------------------------------


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_draft_pdf_is_rendered_now_with_a_draft_mark(api_client, customer):
    invoice = manual(customer)

    response = api_client.get(f"{URL}/{invoice.pk}/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="draft-{invoice.pk}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert "DRAFT" in pdf_text(response.content)
    assert not Invoice.objects.get(pk=invoice.pk).pdf


def test_a_finalized_invoice_pdf_is_the_stored_document_named_after_its_number(api_client, read_only_client, customer):
    invoice = finalized(customer)

    response = read_only_client.get(f"{URL}/{invoice.pk}/pdf", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-2026-00001.pdf"'
    assert response.content.startswith(b"%PDF")
    assert "INV-2026-00001" in pdf_text(response.content)
    stored = Invoice.objects.get(pk=invoice.pk).pdf
    assert stored
    assert api_client.get(f"{URL}/{invoice.pk}/pdf").content == stored.open("rb").read()


def test_the_pdf_of_an_unknown_invoice_is_a_json_404_even_when_asking_for_a_pdf(api_client):
    response = api_client.get(f"{URL}/999999/pdf", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "not_found"


# --- one-off invoices -----------------------------------------------------------------------------


def test_create_a_one_off_draft(api_client, customer, vat):
    body = {
        "customer": customer.pk,
        "lines": [{"description": "Workshop", "quantity": "3", "unit_amount": "33.333333"}],
        "memo": "Thank you for the workshop.",
        "days_until_due": 30,
        "purchase_order": "PO-7",
    }

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    answer = response.json()
    assert answer["id"] == invoice.pk
    assert {k: answer[k] for k in ("number", "status", "kind", "customer", "subscription", "currency")} == {
        "number": None,
        "status": "draft",
        "kind": "manual",
        "customer": customer.pk,
        "subscription": None,
        "currency": "EUR",
    }
    assert (answer["subtotal"], answer["tax"], answer["total"], answer["amount_due"]) == (
        money("100.00"),
        money("21.00"),
        money("121.00"),
        money("121.00"),
    )
    assert (answer["memo"], answer["purchase_order"], answer["days_until_due"]) == (
        "Thank you for the workshop.",
        "PO-7",
        30,
    )
    assert answer["created_at"] == "2026-01-15T09:30:00Z"
    assert answer["lines"] == [
        {
            "id": line.pk,
            "kind": "manual",
            "description": "Workshop",
            "price": None,
            "quantity": "3",
            "unit_amount": "33.333333",
            "amount": money("100.00"),
            "discount": money("0.00"),
            "net_amount": money("100.00"),
            "period_start": None,
            "period_end": None,
            "proration": False,
            "tax_rate": {
                "id": vat.pk,
                "name": "VAT 21%",
                "percentage": "21",
                "category": "standard",
                "inclusive": False,
            },
            "tiers": [],
        }
    ]
    event = AuditEvent.objects.get(action="invoice.created")
    assert (event.actor_kind, event.object_id) == ("api_key", str(invoice.pk))


def test_json_numbers_are_read_as_exact_decimals(api_client, customer):
    raw = f'{{"customer": {customer.pk}, "lines": [{{"description": "Hours", "quantity": 1.5, "unit_amount": 80.1}}]}}'

    response = api_client.post(URL, raw, content_type="application/json")

    assert response.status_code == 201, response.json()
    line = response.json()["lines"][0]
    assert (line["quantity"], line["unit_amount"], line["amount"]) == ("1.5", "80.10", money("120.15"))
    assert response.json()["total"] == money("145.38")  # 120.15 + 25.2315 → 25.23


def test_a_line_without_a_tax_rate_puts_the_draft_on_hold(api_client, customer):
    body = {"customer": customer.pk, "lines": [{"description": "Book", "unit_amount": "20", "tax_category": "reduced"}]}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["on_hold"] is True
    assert answer["hold_reason"]
    assert answer["lines"][0]["tax_rate"] is None
    assert (answer["tax"], answer["total"]) == (money("0.00"), money("20.00"))


def test_a_test_clock_customer_gets_a_draft_in_the_clock_time(api_client):
    test_clock = test_clock_create(name="QA", frozen_time=utc(2027, 3, 1), actor=ACTOR, now=T0)
    customer = make_customer(test_clock=test_clock)
    body = {"customer": customer.pk, "lines": [{"description": "Setup", "unit_amount": "10.00"}]}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["created_at"] == "2027-03-01T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"lines": []}, "no_lines", "lines"),
        ({"customer": 999999}, "invalid", "customer"),
        ({"customer": "globex"}, "invalid", "customer"),
        ({"colour": "red"}, "invalid", "colour"),
        ({"lines": [{"description": "X", "unit_price": "1"}]}, "invalid", "lines.0.unit_price"),
        ({"lines": [{"description": "X", "unit_amount": "1,50"}]}, "invalid", "lines.0.unit_amount"),
        (
            {"lines": [{"description": "X", "quantity": "0", "unit_amount": "1"}]},
            "invalid_quantity",
            "lines.0.quantity",
        ),
        ({"lines": [{"description": "", "unit_amount": "1"}]}, "invalid", "lines.0.description"),
        (
            {"lines": [{"description": "X", "unit_amount": "1", "tax_category": "luxury"}]},
            "invalid",
            "lines.0.tax_category",
        ),
        ({"days_until_due": 400}, "invalid_days_until_due", "days_until_due"),
    ],
)
def test_a_refused_one_off_invoice_saves_nothing(api_client, customer, change, code, field):
    body = {"customer": customer.pk, "lines": [{"description": "Workshop", "unit_amount": "50.00"}], **change}
    before = state()

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert state() == before


# --- actions -------------------------------------------------------------------------------------


def test_finalize_numbers_the_draft_and_audits_the_api_key(api_client, customer):
    _, invoice = subscription_draft(customer)

    response = api_client.post(f"{URL}/{invoice.pk}/finalize")

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["status"], answer["number"], answer["due_date"], answer["amount_due"]) == (
        "open",
        "INV-2026-00001",
        "2026-01-29",
        money("121.00"),
    )
    event = AuditEvent.objects.get(action="invoice.finalized", object_id=str(invoice.pk))
    assert event.actor_kind == "api_key"


def test_finalize_applies_the_customer_balance(api_client, customer):
    BalanceTransaction.objects.create(
        customer=customer, kind="adjustment", currency="EUR", amount=D("21.00"), description="Goodwill", created_at=T0
    )
    invoice = manual(customer)

    answer = api_client.post(f"{URL}/{invoice.pk}/finalize").json()

    assert (answer["credit_applied"], answer["amount_due"]) == (money("21.00"), money("100.00"))


def test_finalize_twice_is_refused_in_the_error_shape(api_client, customer):
    invoice = finalized(customer)
    before = state()

    response = api_client.post(f"{URL}/{invoice.pk}/finalize")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invoice_transition_not_allowed"
    assert state() == before


def test_finalize_a_held_draft_is_refused(api_client, customer):
    invoice = manual(customer, {"description": "Book", "unit_amount": D(20), "tax_category": "reduced"})
    before = state()

    response = api_client.post(f"{URL}/{invoice.pk}/finalize")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invoice_on_hold"
    assert state() == before


def test_finalize_an_unknown_invoice_is_a_404(api_client):
    response = api_client.post(f"{URL}/999999/finalize")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_void_keeps_the_number_and_records_the_reason(api_client, customer):
    invoice = finalized(customer)

    response = api_client.post(f"{URL}/{invoice.pk}/void", {"reason": "Sent to the wrong customer"}, format="json")

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["status"], answer["number"], answer["amount_due"]) == ("void", "INV-2026-00001", money("0.00"))
    assert AuditEvent.objects.get(action="invoice.void").reason == "Sent to the wrong customer"


def test_void_a_draft_is_refused(api_client, customer):
    invoice = manual(customer)
    before = state()

    response = api_client.post(f"{URL}/{invoice.pk}/void", {}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invoice_transition_not_allowed"
    assert state() == before


def test_mark_uncollectible_then_paid(api_client, customer):
    invoice = finalized(customer)

    uncollectible = api_client.post(f"{URL}/{invoice.pk}/mark-uncollectible", {"reason": "Bankrupt"}, format="json")
    paid = api_client.post(f"{URL}/{invoice.pk}/mark-paid", {}, format="json")

    assert uncollectible.status_code == 200, uncollectible.json()
    assert uncollectible.json()["status"] == "uncollectible"
    assert AuditEvent.objects.get(action="invoice.uncollectible").reason == "Bankrupt"
    assert paid.status_code == 200, paid.json()
    answer = paid.json()
    assert (answer["status"], answer["amount_paid"], answer["amount_due"], answer["paid_at"]) == (
        "paid",
        money("121.00"),
        money("0.00"),
        "2026-01-15T09:30:00Z",
    )


def test_mark_paid_with_an_amount_records_a_partial_payment(api_client, customer):
    invoice = finalized(customer)

    response = api_client.post(
        f"{URL}/{invoice.pk}/mark-paid", {"amount": "50.00", "reason": "Bank transfer"}, format="json"
    )

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["status"], answer["amount_paid"], answer["amount_due"], answer["paid_at"]) == (
        "open",
        money("50.00"),
        money("71.00"),
        None,
    )
    event = AuditEvent.objects.get(action="invoice.payment_recorded")
    assert (event.reason, event.actor_kind) == ("Bank transfer", "api_key")


def test_mark_paid_takes_a_json_number_as_a_decimal(api_client, customer):
    invoice = finalized(customer)

    response = api_client.post(f"{URL}/{invoice.pk}/mark-paid", '{"amount": 0.10}', content_type="application/json")

    assert response.status_code == 200, response.json()
    assert response.json()["amount_due"] == money("120.90")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"amount": "121.01"}, "overpayment", None),
        ({"amount": "0"}, "invalid_amount", None),
        ({"amount": "-5"}, "invalid", "amount"),
        ({"amount": "10.005"}, "invalid_amount", "amount"),
        ({"amount": "ten"}, "invalid", "amount"),
        ({"amount": "10", "method": "cash"}, "invalid", "method"),
    ],
)
def test_a_refused_payment_changes_nothing(api_client, customer, body, code, field):
    invoice = finalized(customer)
    before = state()

    response = api_client.post(f"{URL}/{invoice.pk}/mark-paid", body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    if field:
        assert field in error["fields"], error
    assert state() == before


def test_mark_paid_on_a_paid_invoice_is_refused(api_client, customer):
    invoice = finalized(customer)
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=JAN_15)

    response = api_client.post(f"{URL}/{invoice.pk}/mark-paid", {}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invoice_transition_not_allowed"


@pytest.mark.parametrize("action", ["finalize", "void", "mark-uncollectible", "mark-paid"])
def test_a_read_only_key_cannot_act(read_only_client, customer, action):
    invoice = finalized(customer) if action != "finalize" else manual(customer)
    before = state()

    response = read_only_client.post(f"{URL}/{invoice.pk}/{action}", {}, format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert state() == before


def test_a_read_only_key_can_read_but_not_create(read_only_client, customer):
    invoice = manual(customer)
    before = state()

    assert read_only_client.get(URL).status_code == 200
    assert read_only_client.get(f"{URL}/{invoice.pk}").status_code == 200
    response = read_only_client.post(
        URL, {"customer": customer.pk, "lines": [{"description": "X", "unit_amount": "1"}]}, format="json"
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert state() == before


# --- upcoming ------------------------------------------------------------------------------------


def upcoming_state(subscription: Subscription) -> dict[str, Any]:
    return {
        **state(),
        "subscription": snapshot(Subscription.objects.get(pk=subscription.pk)),
        "pending": list(PendingLine.objects.values_list("pk", "invoiced_at")),
    }


def test_upcoming_is_the_next_renewal_and_saves_nothing(read_only_client, customer, vat):
    subscription, _ = subscription_draft(customer)
    price_id = subscription.items.get().price_id
    before = upcoming_state(subscription)

    response = read_only_client.get(f"{URL}/upcoming", {"subscription": subscription.pk})

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": None,
        "number": None,
        "status": "upcoming",
        "kind": "subscription_cycle",
        "customer": customer.pk,
        "subscription": subscription.pk,
        "entity": BillingEntity.objects.get(is_default=True).pk,
        "period_start": "2026-02-01T00:00:00Z",
        "period_end": "2026-03-01T00:00:00Z",
        "currency": "EUR",
        "subtotal": money("100.00"),
        "discount": money("0.00"),
        "tax": money("21.00"),
        "total": money("121.00"),
        "credit_applied": money("0.00"),
        "amount_credited": money("0.00"),
        "amount_due": money("121.00"),
        "amount_paid": money("0.00"),
        "due_date": None,
        "days_until_due": None,
        "finalized_at": None,
        "paid_at": None,
        "on_hold": False,
        "hold_reason": "",
        "prices_include_tax": False,
        "memo": "",
        "purchase_order": "",
        "notes": [],
        "payment_reference": None,
        "tax_summary": [
            {
                "name": "VAT 21%",
                "category": "standard",
                "percentage": "21",
                "taxable_amount": money("100.00"),
                "tax_amount": money("21.00"),
                "exemption_reason": "",
            }
        ],
        "lines": [
            {
                "id": None,
                "kind": "fee",
                "description": "Subscription fee",
                "price": price_id,
                "quantity": "1",
                "unit_amount": None,
                "amount": money("100.00"),
                "discount": money("0.00"),
                "net_amount": money("100.00"),
                "period_start": "2026-02-01T00:00:00Z",
                "period_end": "2026-03-01T00:00:00Z",
                "proration": False,
                "tax_rate": {
                    "id": vat.pk,
                    "name": "VAT 21%",
                    "percentage": "21",
                    "category": "standard",
                    "inclusive": False,
                },
                "tiers": [],
            }
        ],
        "pdf_url": None,
        "created_at": None,
        "updated_at": None,
    }
    assert upcoming_state(subscription) == before


def test_upcoming_of_a_subscription_that_ends_is_refused(api_client, customer):
    subscription, _ = subscription_draft(customer)
    subscription_cancel(
        subscription=subscription, actor=ACTOR, now=JAN_15, at_period_end=True, reason_code="too_expensive"
    )

    response = api_client.get(f"{URL}/upcoming/", {"subscription": subscription.pk})

    assert response.status_code == 400
    assert error_of(response)["code"] == "no_upcoming_invoice"


def test_upcoming_of_an_unknown_subscription_is_a_404(api_client):
    response = api_client.get(f"{URL}/upcoming", {"subscription": 999999})

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "999999" in error["message"]


@pytest.mark.parametrize("query", [{}, {"subscription": "abc"}, {"subscription": "0"}, {"subscription": str(2**64)}])
def test_upcoming_needs_a_subscription_id(api_client, query):
    response = api_client.get(f"{URL}/upcoming", query)

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["subscription"]


# --- documentation -------------------------------------------------------------------------------


def test_the_schema_documents_every_route_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))

    text = target.read_text()
    for path in (
        "/api/v1/invoices:",
        "/api/v1/invoices/{id}:",
        "/api/v1/invoices/upcoming:",
        "/api/v1/invoices/{id}/pdf:",
        "/api/v1/invoices/{id}/finalize:",
        "/api/v1/invoices/{id}/void:",
        "/api/v1/invoices/{id}/mark-uncollectible:",
        "/api/v1/invoices/{id}/mark-paid:",
    ):
        assert f"\n  {path}\n" in text, path
