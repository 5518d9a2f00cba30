"""Bank transfers in the admin: recording one by hand on the invoice, and importing a bank statement."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing_site.models import AuditEvent
from invoicing.models import Invoice, Payment
from invoicing.tests.admin import D, dutch_vat, finalized, make_customer, messages_of, one_off, utc

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:invoicing_bank_import")


@pytest.fixture(autouse=True)
def vat():
    return dutch_vat()


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def invoices():
    """Three open invoices of 242.00 (200.00 + 21% VAT) for three customers."""
    return [
        finalized(one_off(make_customer(name, f"{name.split()[0].lower()}@example.com")))
        for name in ("Alpha B.V.", "Beta B.V.", "Gamma B.V.")
    ]


def snapshot() -> tuple:
    return (
        Payment.objects.count(),
        list(Invoice.objects.order_by("pk").values_list("status", "amount_paid", "amount_due")),
        AuditEvent.objects.count(),
    )


def csv_file(text: str, name: str = "statement.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def statement_for(invoices) -> str:
    alpha, beta, gamma = invoices
    return (
        "Booking date;Amount;Name;Remittance information\n"
        f"2026-01-19;242,00;Alpha B.V.;{alpha.payment_reference.lower()}\n"  # full, RF reference with spaces
        f"19-01-2026;100,00;Beta B.V.;Invoice {beta.number}\n"  # partial, by number
        f"19.01.2026;300,00;Gamma B.V.;{gamma.number}\n"  # more than is due
        "2026-01-19;50,00;Someone;RF18 5390 0754 7034\n"  # not one of ours
        "2026-01-19;-9,95;Bank;Account fees\n"  # money going out
    )


def upload(client, text: str, **extra):
    return client.post(IMPORT, {"step": "preview", "file": csv_file(text), **extra})


def ticked(response) -> list[str]:
    """The keys of the lines ticked on the preview page, as a browser would send them."""
    html = response.content.decode()
    return re.findall(r'<input type="checkbox" name="line" value="([0-9a-f]{64})"[^>]*\bchecked\b', html)


def signed(response) -> str:
    return re.search(r'name="statement" value="([^"]+)"', response.content.decode())[1]


# --- importing a statement ----------------------------------------------------------------------------


def test_the_payments_list_links_to_the_import_for_finance(finance):
    if Payment not in admin.site._registry:
        pytest.skip("the Payments list arrives with the collection admin")
    response = finance.get(reverse("admin:invoicing_payment_changelist"))

    assert response.status_code == 200
    assert IMPORT in response.content.decode()


def test_finance_uploads_a_statement_and_sees_what_each_line_would_do_before_anything_is_written(finance, invoices):
    before = snapshot()

    page = finance.get(IMPORT)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()

    preview = upload(finance, statement_for(invoices))

    assert preview.status_code == 200
    assert snapshot() == before
    rows = preview.context["rows"]
    assert [(row["line_number"], row["status"], row["checked"]) for row in rows] == [
        (2, "matched_full", True),
        (3, "matched_partial", True),
        (4, "overpaid", False),
        (5, "no_match", False),
        (6, "not_incoming", False),
    ]
    assert [row["amount"] for row in rows] == ["€242.00", "€100.00", "€300.00", "50.00", "-9.95"]
    assert rows[1]["due"] == "€242.00 → €142.00"
    assert len(ticked(preview)) == 2
    assert {t["status"]: (t["count"], t["amount"]) for t in preview.context["totals"]} == {
        "matched_full": (1, "€242.00"),
        "matched_partial": (1, "€100.00"),
        "overpaid": (1, "€300.00"),
        "no_match": (1, "50.00"),
        "not_incoming": (1, "-9.95"),
    }
    html = preview.content.decode()
    assert "€300.00 is €58.00 more than the €242.00 due on INV-2026-00003 (Gamma B.V.)" in html
    assert "Ignored: money going out." in html


def test_recording_the_ticked_lines_then_importing_the_same_file_again_records_nothing_more(finance, invoices):
    alpha, beta, gamma = invoices
    text = statement_for(invoices)
    preview = upload(finance, text)

    result = finance.post(IMPORT, {"step": "apply", "statement": signed(preview), "line": ticked(preview)})

    assert result.status_code == 200
    assert [(row["line_number"], row["amount"], row["now"]) for row in result.context["applied"]] == [
        (2, "€242.00", "paid"),
        (3, "€100.00", "€142.00 still due"),
    ]
    assert (result.context["skipped"], result.context["not_chosen"]) == ([], 3)
    for invoice in invoices:
        invoice.refresh_from_db()
    assert [(i.status, i.amount_paid.amount, i.amount_due.amount) for i in invoices] == [
        ("paid", D("242.00"), D("0.00")),
        ("open", D("100.00"), D("142.00")),
        ("open", D("0.00"), D("242.00")),
    ]
    payment = Payment.objects.get(invoice=alpha)
    assert (payment.kind, payment.recorded_by, payment.received_at) == (
        "bank_transfer",
        "finance",
        utc(2026, 1, 19, 11),
    )
    after = snapshot()

    again = upload(finance, text)
    assert [row["status"] for row in again.context["rows"]][:2] == ["already_recorded", "already_recorded"]
    assert ticked(again) == []
    assert 'data-testid="record"' not in again.content.decode()
    replay = finance.post(IMPORT, {"step": "apply", "statement": signed(preview), "line": ticked(preview)})
    assert replay.context["applied"] == []
    assert [row["reason"][:40] for row in replay.context["skipped"]] == ["Not recorded: Already recorded on 2026-0"] * 2
    assert snapshot() == after


def test_only_the_lines_left_ticked_are_recorded(finance, invoices):
    alpha, beta, _gamma = invoices
    preview = upload(finance, statement_for(invoices))
    full, partial = ticked(preview)

    finance.post(IMPORT, {"step": "apply", "statement": signed(preview), "line": [partial]})

    assert list(Payment.objects.values_list("invoice", "amount")) == [(beta.pk, D("100.00"))]


def test_nothing_ticked_shows_the_preview_again_with_a_message(finance, invoices):
    preview = upload(finance, statement_for(invoices))
    before = snapshot()

    again = finance.post(IMPORT, {"step": "apply", "statement": signed(preview)})

    assert again.context["error"] == "Tick at least one line to record."
    assert ticked(again) == []
    assert snapshot() == before


def test_an_altered_statement_is_refused_and_nothing_is_written(finance, invoices):
    preview = upload(finance, statement_for(invoices))
    value = signed(preview)
    before = snapshot()

    refused = finance.post(IMPORT, {"step": "apply", "statement": value[:-2] + "xx", "line": ticked(preview)})

    assert refused.status_code == 200
    assert refused.context["error"] == "This preview cannot be used (the page was changed): upload the statement again."
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date;amount;reference\n2026-01-19;5,00;Café crème\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b"PK\x03\x04\x00\x00binary", "This is not a CSV text file"),
        (b"Datum;Bedrag\n2026-01-19;5,00\n", "The first line must name the columns. No date, amount or reference"),
        (b"", "The submitted file is empty."),
    ],
)
def test_files_that_cannot_be_imported_are_refused_with_a_clear_message(finance, invoices, content, message):
    before = snapshot()

    response = finance.post(
        IMPORT, {"step": "preview", "file": SimpleUploadedFile("x.csv", content, content_type="text/csv")}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert errors[0].startswith(message), errors
    assert snapshot() == before


def test_a_file_over_two_megabytes_is_refused(finance, invoices):
    text = "date;amount;reference\n" + "2026-01-19;5,00;x\n" * 130_000

    response = upload(finance, text)

    assert response.context["form"].errors["file"] == [
        "The file is 2.2 MB; at most 2 MB can be imported at once. Export a shorter period."
    ]


def test_a_utf8_file_with_a_byte_order_mark_is_read(finance, invoices):
    alpha = invoices[0]
    content = f"date,amount,reference\n2026-01-19,242.00,{alpha.number}\n".encode("utf-8-sig")

    response = finance.post(
        IMPORT, {"step": "preview", "file": SimpleUploadedFile("x.csv", content, content_type="text/csv")}
    )

    assert [row["status"] for row in response.context["rows"]] == ["matched_full"]


@pytest.mark.parametrize("user", ["support_user", "pricing_user"])
def test_only_finance_may_import(client, request, invoices, user):
    client.force_login(request.getfixturevalue(user))

    assert client.get(IMPORT).status_code == 403
    assert upload(client, statement_for(invoices)).status_code == 403
    assert client.post(IMPORT, {"step": "apply", "statement": "x", "line": ["y"]}).status_code == 403
    assert Payment.objects.count() == 0


def test_a_preview_signed_for_another_user_is_refused(finance, invoices, client, finance_user, django_user_model):
    from django.contrib.auth.models import Group

    preview = upload(finance, statement_for(invoices))
    colleague = django_user_model.objects.create_user(username="colleague", password="x", is_staff=True)
    colleague.groups.add(Group.objects.get(name="Finance"))
    client.force_login(colleague)

    refused = client.post(IMPORT, {"step": "apply", "statement": signed(preview), "line": ticked(preview)})

    assert refused.context["error"] == "This preview was made by someone else: upload the statement again."
    assert Payment.objects.count() == 0


# --- recording a payment by hand on the invoice ---------------------------------------------------------


def mark_paid(invoice) -> str:
    return reverse("admin:invoicing_invoice_action", args=[invoice.pk, "mark-paid"])


def test_a_partial_payment_by_hand_leaves_the_rest_due(finance, invoices):
    alpha = invoices[0]

    done = finance.post(mark_paid(alpha), {"amount": "42.00", "reason": "Bank transfer 2026-01-19"}, follow=True)

    assert messages_of(done) == ["Payment recorded: €200.00 is still due on INV-2026-00001."]
    payment = Payment.objects.get(invoice=alpha)
    assert (payment.amount.amount, payment.kind, payment.note) == (D("42.00"), "manual", "Bank transfer 2026-01-19")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("300.00", "Invoice INV-2026-00001 has €242.00 left to pay; 300.00 is more than that."),
        ("0", "A payment must be more than zero."),
        ("-5.00", "Amount received must not be negative."),
        (
            "12,50",
            "Amount received contains a comma: use a dot for decimals and no thousands separator, such as 1234.50.",
        ),
        ("12.505", "Amount received has too many decimal places. Use at most 2 decimal places."),
        ("twelve", "Amount received must be a number such as 79.50."),
    ],
)
def test_a_wrong_amount_by_hand_is_explained_and_changes_nothing(finance, invoices, amount, message):
    alpha = invoices[0]
    before = snapshot()

    refused = finance.post(mark_paid(alpha), {"amount": amount})

    assert refused.status_code == 200
    assert message in refused.content.decode()
    assert snapshot() == before
