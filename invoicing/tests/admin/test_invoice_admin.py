"""The invoice list and page: filters, bulk finalize and void, draft buttons, payments, PDF, billing run."""

from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from billing_site.models import AuditEvent
from invoicing.models import Invoice, InvoiceStatus, NumberSeries
from invoicing.services.invoices import invoice_mark_paid
from invoicing.tests.admin import (
    ACTOR,
    D,
    dutch_vat,
    finalized,
    listed,
    make_customer,
    messages_of,
    one_off,
    paid,
    subscription_draft,
    totals,
    utc,
)

pytestmark = pytest.mark.django_db

LIST = reverse("admin:invoicing_invoice_changelist")


def page(invoice):
    return reverse("admin:invoicing_invoice_change", args=[invoice.pk])


def action(invoice, name):
    return reverse("admin:invoicing_invoice_action", args=[invoice.pk, name])


def state(*invoices):
    """Everything a refused action must leave alone."""
    return (
        [
            (i.status, i.number, i.amount_due.amount, i.total.amount, i.on_hold, i.lines.count())
            for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices]).order_by("pk")
        ],
        list(NumberSeries.objects.values_list("document", "year", "last_number")),
        AuditEvent.objects.count(),
    )


@pytest.fixture(autouse=True)
def vat():
    return dutch_vat()


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def support(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def alpha():
    return make_customer("Alpha Trading B.V.", "ap@alpha.example")


@pytest.fixture
def beta():
    return make_customer("Beta Studio", "finance@beta.example")


# --- the list ----------------------------------------------------------------------------------------


@pytest.fixture
def book(alpha, beta):
    """A draft from a subscription, an overdue and a current open invoice, a paid one."""
    draft = subscription_draft(alpha)
    overdue = finalized(
        one_off(beta, ("Workshop", "1", "500.00"), at=utc(2025, 12, 20), days_until_due=7), at=utc(2026, 1, 2)
    )
    current = finalized(one_off(beta, ("Training", "1", "300.00"), days_until_due=14), at=utc(2026, 1, 19))
    settled = paid(finalized(one_off(alpha, ("Setup", "1", "50.00")), at=utc(2026, 1, 12)), at=utc(2026, 1, 13))
    return {"draft": draft, "overdue": overdue, "current": current, "paid": settled}


def test_the_list_shows_numbers_drafts_status_and_amounts(finance, book):
    response = finance.get(LIST)

    html = response.content.decode()
    assert listed(response) == {i.pk for i in book.values()}
    assert f"Draft #{book['draft'].pk}" in html
    assert "INV-2026-00001" in html  # finalized on 2 January 2026 (Amsterdam time): the first of the year
    assert "€605.00" in html  # the overdue workshop: 500.00 + 21%
    assert "overdue" in html
    assert "Run billing now" in html and "New one-off invoice" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=draft", ["draft"]),
        ("status__exact=open", ["overdue", "current"]),
        ("overdue=yes", ["overdue"]),
        ("overdue=no", ["draft", "current", "paid"]),
        ("period=2026-01", ["draft"]),
        ("period=none", ["overdue", "current", "paid"]),
        ("q=INV-2026-00002", ["current"]),
        ("q=alpha", ["draft", "paid"]),
        ("q=finance%40beta.example", ["overdue", "current"]),
    ],
)
def test_filters_and_search_return_exactly_the_expected_invoices(finance, book, query, expected):
    assert listed(finance.get(f"{LIST}?{query}")) == {book[name].pk for name in expected}


def test_filter_by_customer_entity_and_draft_number(finance, book, beta, _default_billing_entity):
    assert listed(finance.get(f"{LIST}?customer__id__exact={beta.pk}")) == {book["overdue"].pk, book["current"].pk}
    assert listed(finance.get(f"{LIST}?entity__id__exact={_default_billing_entity.pk}")) == {
        i.pk for i in book.values()
    }
    assert listed(finance.get(f"{LIST}?q=%23{book['draft'].pk}")) == {book["draft"].pk}


# --- bulk actions ----------------------------------------------------------------------------------------


def bulk(client, name, invoices, **extra):
    data = {"action": name, helpers.ACTION_CHECKBOX_NAME: [str(i.pk) for i in invoices], **extra}
    return client.post(LIST, data, follow=True)


def test_bulk_finalize_shows_what_will_happen_then_numbers_the_drafts(finance, alpha, beta):
    first, second = one_off(alpha), one_off(beta, ("Audit", "1", "1000.00"))
    before = state(first, second)

    confirm = bulk(finance, "finalize_selected", [second, first])

    html = confirm.content.decode()
    assert "Gets number INV-2026-00001" in html and "Gets number INV-2026-00002" in html
    assert 'name="confirm" value="yes"' in html
    assert state(first, second) == before  # the confirmation page changes nothing

    done = bulk(finance, "finalize_selected", [first, second], confirm="yes")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.number) == (InvoiceStatus.OPEN, "INV-2026-00001")
    assert (second.status, second.number) == (InvoiceStatus.OPEN, "INV-2026-00002")
    assert first.due_at == utc(2026, 2, 3, 10, 0)  # 14 days of the entity's terms from now
    assert messages_of(done) == ["2 invoices finalized: INV-2026-00001, INV-2026-00002."]


def test_bulk_finalize_with_a_paid_invoice_refuses_and_changes_nothing(finance, alpha):
    draft = one_off(alpha)
    settled = paid(finalized(one_off(alpha, ("Setup", "1", "50.00"))))
    before = state(draft, settled)

    page_ = bulk(finance, "finalize_selected", [draft, settled])

    html = page_.content.decode()
    assert "Nothing was changed" in html
    assert "Invoice INV-2026-00001 cannot become open (awaiting payment): it is paid" in html
    assert 'name="confirm"' not in html
    assert state(draft, settled) == before

    # Even a forged confirmation finalizes nothing while one of them is refused.
    forced = bulk(finance, "finalize_selected", [draft, settled], confirm="yes")

    assert "Nothing was changed" in forced.content.decode()
    assert state(draft, settled) == before


def test_bulk_void_asks_for_a_reason_then_voids(finance, alpha):
    invoice = finalized(one_off(alpha))

    missing = bulk(finance, "void_selected", [invoice], confirm="yes")
    assert "Say why the invoices are voided." in missing.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN

    done = bulk(finance, "void_selected", [invoice], confirm="yes", reason="Sent to the wrong customer")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.amount_due.amount) == (InvoiceStatus.VOID, "INV-2026-00001", D("0"))
    assert AuditEvent.objects.filter(action="invoice.void", reason="Sent to the wrong customer").count() == 1
    assert messages_of(done) == ["1 invoice voided: INV-2026-00001."]


# --- the page ----------------------------------------------------------------------------------------------


def test_a_finalized_invoice_page_has_no_fields_and_a_post_changes_nothing(finance, alpha):
    invoice = finalized(one_off(alpha, ("Consulting", "2", "100.00")), at=utc(2026, 1, 12))

    response = finance.get(page(invoice))

    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    html = response.content.decode()
    for text in ("INV-2026-00001", "Consulting", "€200.00", "€42.00", "€242.00", "VAT 21%", "Finalized and numbered"):
        assert text in html
    for name in ("memo", "purchase_order", "days_until_due", "description"):
        assert f'name="{name}"' not in html
    assert [b["name"] for b in response.context["buttons"]] == ["mark-paid", "uncollectible", "void", "credit-note"]
    before = state(invoice)

    posted = finance.post(page(invoice), {"memo": "changed", "purchase_order": "PO-1", "days_until_due": "3"})

    assert posted.status_code == 403
    assert state(invoice) == before
    invoice.refresh_from_db()
    assert (invoice.memo, invoice.purchase_order, invoice.days_until_due) == ("", "", 14)


def test_the_page_shows_lines_tiers_tax_amounts_and_the_pdf_preview(finance, alpha):
    draft = subscription_draft(alpha, "79.50")

    response = finance.get(page(draft))

    html = response.content.decode()
    assert response.context["lines"][0]["description"] == "Subscription fee"
    assert response.context["lines"][0]["period"] == "2026-01-15 – 2026-02-15"
    assert [(label, value) for label, value, _ in response.context["amounts"]] == [
        ("Subtotal", "€79.50"),
        ("Tax", "€16.70"),
        ("Total", "€96.20"),
        ("Paid from the customer's credit balance", "€0.00"),
        ("Credited by credit notes", "€0.00"),
        ("Paid", "€0.00"),
        ("Amount due", "€96.20"),
    ]
    pdf = reverse("admin:invoicing_invoice_pdf", args=[draft.pk])
    assert f'<iframe class="inv-pdf" src="{pdf}"' in html
    assert "Draft created" in html  # the timeline
    assert [b["name"] for b in response.context["buttons"]] == ["finalize", "hold", "edit", "delete"]


def test_a_usage_line_shows_its_tier_breakdown(finance, alpha):
    draft = one_off(alpha, ("API calls", "12", "6.75"))
    # The pricing breakdown as the billing run stores it on usage lines (the documents read the same keys).
    draft.lines.update(
        tiers=[
            {"label": "1 – 5", "quantity": "5", "unit_amount": "7.00", "flat_amount": "0", "amount": "35.00"},
            {"label": "6 – 10", "quantity": "5", "unit_amount": "6.50", "flat_amount": "0", "amount": "32.50"},
            {"label": "11 and more", "quantity": "2", "unit_amount": "6.00", "flat_amount": "2.00", "amount": "14.00"},
        ]
    )

    response = finance.get(page(draft))

    tiers = response.context["lines"][0]["tiers"]
    assert [(t["label"], t["quantity"], t["unit_price"], t["flat"], t["amount"]) for t in tiers] == [
        ("1 – 5", "5", "€7.00", "", "€35.00"),
        ("6 – 10", "5", "€6.50", "", "€32.50"),
        ("11 and more", "2", "€6.00", "€2.00", "€14.00"),
    ]
    assert "↳ 11 and more" in response.content.decode()


def test_draft_lines_are_added_and_removed_with_exact_totals(finance, alpha):
    draft = one_off(alpha, ("Consulting", "2", "100.00"))
    assert totals(draft) == (D("200.00"), D("42.00"), D("242.00"), D("242.00"))

    added = finance.post(
        action(draft, "add-line"),
        {"description": "Setup fee", "quantity": "1", "unit_price": "50.00", "tax_category": "standard"},
        follow=True,
    )

    assert messages_of(added) == ["Line added. The total is now €302.50."]
    assert totals(draft) == (D("250.00"), D("52.50"), D("302.50"), D("302.50"))
    line = draft.lines.get(description="Setup fee")

    removed = finance.post(action(draft, "remove-line"), {"line": str(line.pk)}, follow=True)

    assert messages_of(removed) == ["Line removed. The total is now €242.00."]
    assert totals(draft) == (D("200.00"), D("42.00"), D("242.00"), D("242.00"))
    assert list(draft.lines.values_list("description", flat=True)) == ["Consulting"]


def test_a_bad_line_is_refused_on_its_field_and_nothing_changes(finance, alpha):
    draft = one_off(alpha)
    before = state(draft)

    response = finance.post(
        action(draft, "add-line"),
        {"description": "Setup fee", "quantity": "abc", "unit_price": "50.00", "tax_category": "standard"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"quantity": ["Quantity must be a number such as 79.50."]}
    assert state(draft) == before


def test_hold_and_release(finance, alpha):
    draft = subscription_draft(alpha)

    held = finance.post(action(draft, "hold"), {"reason": "Waiting for the PO number"}, follow=True)

    draft.refresh_from_db()
    assert (draft.on_hold, draft.hold_reason) == (True, "Waiting for the PO number")
    assert "Waiting for the PO number" in held.content.decode()
    assert [b["name"] for b in held.context["buttons"]] == ["release", "edit", "delete"]

    refused = finance.post(action(draft, "finalize"), {}, follow=True)
    assert "is on hold (Waiting for the PO number): release it first." in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT

    finance.post(action(draft, "release"), {}, follow=True)

    draft.refresh_from_db()
    assert (draft.on_hold, draft.hold_reason, draft.status) == (False, "", InvoiceStatus.DRAFT)


def test_finalize_now_shows_the_number_first_then_finalizes(finance, alpha):
    draft = one_off(alpha)

    confirm = finance.get(action(draft, "finalize"))

    assert confirm.context["outcome"]["new_number"] == "INV-2026-00001"
    assert confirm.context["outcome"]["due"] == "2026-02-03"
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, "")
    assert not NumberSeries.objects.filter(last_number__gt=0).exists()

    done = finance.post(action(draft, "finalize"), {}, follow=True)

    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.OPEN, "INV-2026-00001")
    assert messages_of(done) == [f"Draft #{draft.pk} is finalized as INV-2026-00001, due on 2026-02-03."]


def test_memo_po_and_payment_terms_of_a_draft(finance, alpha):
    draft = one_off(alpha)

    finance.post(action(draft, "edit"), {"memo": "Thank you!", "purchase_order": "PO-77", "days_until_due": "30"})

    draft.refresh_from_db()
    assert (draft.memo, draft.purchase_order, draft.days_until_due) == ("Thank you!", "PO-77", 30)


def test_delete_a_draft_after_confirming(finance, alpha):
    draft = one_off(alpha)

    assert finance.get(action(draft, "delete")).status_code == 200
    assert Invoice.objects.filter(pk=draft.pk).exists()

    done = finance.post(action(draft, "delete"), {}, follow=True)

    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert done.redirect_chain[-1][0] == LIST


def test_partial_then_full_payment(finance, alpha):
    invoice = finalized(one_off(alpha))  # 242.00 due

    partial = finance.post(
        action(invoice, "mark-paid"), {"amount": "100.00", "reason": "Bank transfer 4711"}, follow=True
    )

    assert messages_of(partial) == ["Payment recorded: €142.00 is still due on INV-2026-00001."]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount, invoice.amount_due.amount) == ("open", D("100.00"), D("142.00"))

    too_much = finance.post(action(invoice, "mark-paid"), {"amount": "500.00"})
    assert "€142.00 left to pay; 500.00 is more than that" in too_much.content.decode()

    finance.post(action(invoice, "mark-paid"), {"amount": ""})

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount, invoice.amount_due.amount) == ("paid", D("242.00"), D("0.00"))


def test_void_needs_a_reason_and_a_partly_paid_invoice_is_refused(finance, alpha):
    invoice = finalized(one_off(alpha))
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=utc(2026, 1, 13), amount=D("10.00"))
    before = state(invoice)

    preview = finance.get(action(invoice, "void"))
    assert "partly paid" in preview.context["refusal"]

    refused = finance.post(action(invoice, "void"), {"reason": "Wrong customer"})
    assert "refund with a credit note instead of voiding" in refused.content.decode()
    assert state(invoice) == before


def test_the_void_page_shows_the_invoice_as_it_is_and_what_voiding_does(finance, alpha):
    invoice = finalized(one_off(alpha))

    response = finance.get(action(invoice, "void"))

    assert dict(response.context["facts"])["Status"] == "Open (awaiting payment)"
    assert (response.context["outcome"]["status"], response.context["outcome"]["amount_due"]) == ("Void", "€0.00")
    assert response.context["outcome"]["new_number"] == ""
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount) == (InvoiceStatus.OPEN, D("242.00"))


def test_mark_uncollectible(finance, alpha):
    invoice = finalized(one_off(alpha))

    finance.post(action(invoice, "uncollectible"), {"reason": "Bankrupt"})

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE


def test_the_pdf_view_serves_a_pdf(finance, alpha):
    draft = one_off(alpha)
    invoice = finalized(one_off(alpha, ("Training", "1", "300.00")))

    shown = finance.get(reverse("admin:invoicing_invoice_pdf", args=[draft.pk]))
    downloaded = finance.get(reverse("admin:invoicing_invoice_pdf", args=[invoice.pk]) + "?download=1")

    assert shown["Content-Type"] == "application/pdf"
    assert shown.content.startswith(b"%PDF")
    assert shown["Content-Disposition"] == f'inline; filename="draft-{draft.pk}.pdf"'
    assert shown["X-Frame-Options"] == "SAMEORIGIN"  # the page's preview may show it
    assert downloaded["Content-Disposition"] == 'attachment; filename="INV-2026-00001.pdf"'
    assert downloaded.content.startswith(b"%PDF")


def test_a_lost_pdf_file_is_rendered_again_from_the_frozen_invoice(finance, alpha, media):
    import shutil

    invoice = finalized(one_off(alpha))
    finance.get(reverse("admin:invoicing_invoice_pdf", args=[invoice.pk]))  # rendered and stored
    shutil.rmtree(media)

    response = finance.get(reverse("admin:invoicing_invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response).startswith(b"%PDF-")


# --- one-off invoices and the billing run -----------------------------------------------------------------


def test_a_one_off_invoice_becomes_a_draft_with_exact_lines(finance, beta):
    assert finance.get(reverse("admin:invoicing_invoice_add") + f"?customer={beta.pk}").status_code == 200
    data = {
        "customer": str(beta.pk),
        "memo": "Workshop in Utrecht",
        "purchase_order": "PO-9",
        "days_until_due": "30",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Workshop day",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "450.00",
        "lines-0-tax_category": "standard",
        "lines-1-description": "Travel",
        "lines-1-quantity": "",
        "lines-1-unit_price": "35.50",
        "lines-1-tax_category": "standard",
        "lines-2-description": "",
        "lines-2-quantity": "",
        "lines-2-unit_price": "",
        "lines-2-tax_category": "",
    }

    response = finance.post(reverse("admin:invoicing_invoice_add"), data, follow=True)

    invoice = Invoice.objects.get(customer=beta)
    assert response.redirect_chain[-1][0] == page(invoice)
    assert (invoice.kind, invoice.status, invoice.memo, invoice.purchase_order, invoice.days_until_due) == (
        "manual",
        "draft",
        "Workshop in Utrecht",
        "PO-9",
        30,
    )
    assert list(invoice.lines.values_list("description", "quantity", "amount")) == [
        ("Workshop day", D("2"), D("900.00")),
        ("Travel", D("1"), D("35.50")),
    ]
    assert totals(invoice) == (D("935.50"), D("196.46"), D("1131.96"), D("1131.96"))


def test_the_customer_is_found_by_typing_part_of_the_name(finance, alpha, beta):
    response = finance.get(
        "/admin/autocomplete/",
        {"app_label": "invoicing", "model_name": "invoice", "field_name": "customer", "term": "alph"},
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Alpha Trading B.V."]


def test_a_one_off_line_with_a_comma_is_refused_on_its_field(finance, beta):
    data = {
        "customer": str(beta.pk),
        "days_until_due": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Workshop day",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "12,50",
        "lines-0-tax_category": "standard",
    }

    response = finance.post(reverse("admin:invoicing_invoice_add"), data)

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors == {
        "unit_price": [
            "Unit price contains a comma: use a dot for decimals and no thousands separator, such as 1234.50."
        ]
    }
    assert not Invoice.objects.exists()


def test_run_billing_now_finalizes_drafts_whose_review_window_ended(finance, alpha):
    draft = subscription_draft(alpha, at=utc(2026, 1, 15))  # reviewable until 15 January 11:00

    confirm = finance.get(reverse("admin:invoicing_invoice_run_billing"))
    assert confirm.status_code == 200
    assert confirm.context["due_drafts"] == 1

    done = finance.post(reverse("admin:invoicing_invoice_run_billing"), follow=True)

    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.OPEN, "INV-2026-00001")
    assert messages_of(done) == [
        "Billing run done: 0 subscriptions renewed and invoiced, 0 other subscription events (trials, changes, "
        "cancellations), 0 invoices for changes billed at once, 1 drafts finalized."
    ]


# --- support -------------------------------------------------------------------------------------------------


def test_support_reads_invoices_but_presses_no_invoice_buttons(support, alpha):
    invoice = finalized(one_off(alpha))
    draft = one_off(alpha, ("Setup", "1", "50.00"))
    before = state(invoice, draft)

    assert listed(support.get(LIST)) == {invoice.pk, draft.pk}
    response = support.get(page(invoice))
    assert response.status_code == 200
    assert [b["name"] for b in response.context["buttons"]] == ["credit-note"]
    assert "Run billing now" not in support.get(LIST).content.decode()

    assert support.get(reverse("admin:invoicing_invoice_run_billing")).status_code == 403
    assert support.post(reverse("admin:invoicing_invoice_run_billing")).status_code == 403
    assert support.post(action(draft, "finalize")).status_code == 403
    assert support.post(action(invoice, "void"), {"reason": "x"}).status_code == 403
    assert support.get(reverse("admin:invoicing_invoice_add")).status_code == 403
    assert bulk(support, "finalize_selected", [draft], confirm="yes").status_code == 200  # Django: no such action
    assert state(invoice, draft) == before


def test_the_customer_page_shows_entity_invoices_and_balance(finance, alpha):
    invoice = finalized(one_off(alpha))

    response = finance.get(reverse("admin:subscriptions_customer_change", args=[alpha.pk]))

    html = response.content.decode()
    assert "Acme Billing B.V." in html and "the default entity" in html
    assert page(invoice) in html and "INV-2026-00001" in html
    assert "Balance now:" in html and "€0.00" in html
    assert Decimal(0) == invoice.credit_applied.amount
