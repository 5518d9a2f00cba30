"""Invoice and credit note PDFs: what a customer reads on them, checked in the extracted text. No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import re
from decimal import Decimal

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from billing_site.money import format_money
from invoicing.domain.reference import creditor_reference
from invoicing.pdf import Branding, Document, DocumentLine, Party, TaxRow, TierRow, render_pdf
from invoicing.pdf.labels import LABELS, label_language, labels_for, stamp_text
from invoicing.pdf.render import printable

D = Decimal
UTC = dt.UTC

SELLER = Party(
    name="Acme Cloud B.V.",
    address_lines=("Keizersgracht 123", "1015 CJ Amsterdam"),
    country="NL",
    vat_id="NL123456789B01",
    registration_id="12345678",
    email="billing@acme.example",
)
BUYER = Party(
    name="Nordic Widgets AB",
    address_lines=("Storgatan 1", "111 22 Stockholm"),
    country="SE",
    vat_id="SE556677889901",
)
REVERSE_CHARGE = "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)."
MARCH = {"period_start": dt.datetime(2026, 3, 1, tzinfo=UTC), "period_end": dt.datetime(2026, 4, 1, tzinfo=UTC)}


def png(width: int = 8, height: int = 4, fmt: str = "PNG") -> bytes:
    image = PILImage.new(
        "RGBA" if fmt == "PNG" else "RGB", (width, height), (31, 78, 121, 255)[: 4 if fmt == "PNG" else 3]
    )
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def invoice(**overrides) -> Document:
    """A one-page English invoice: reverse-charged B2B sale to Sweden, €1,234.50 due."""
    lines = (
        DocumentLine("Team plan", D(5), D("200.00"), D("1000.00"), tax_label="0% (reverse charge)", **MARCH),
        DocumentLine("Onboarding", D(1), None, D("234.50"), tax_label="0% (reverse charge)"),
    )
    values = {
        "kind": "invoice",
        "number": "INV-2026-0042",
        "language": "en",
        "currency": "EUR",
        "issue_date": dt.date(2026, 4, 1),
        "due_date": dt.date(2026, 4, 15),
        "seller": SELLER,
        "buyer": BUYER,
        "lines": lines,
        "subtotal": D("1234.50"),
        "discount": D("0"),
        "tax_rows": (
            TaxRow(
                "VAT 0% reverse charge", "AE", D("0"), D("1234.50"), D("0.00"), exemption_reason="Intra-EU B2B supply"
            ),
        ),
        "tax": D("0.00"),
        "total": D("1234.50"),
        "amount_due": D("1234.50"),
        "notes": (REVERSE_CHARGE,),
        "payment_terms": "Payment within 14 days",
        "iban": "NL91ABNA0417164300",
        "bic": "ABNANL2A",
        "payment_reference": creditor_reference("INV-2026-0042"),
    }
    return Document(**(values | overrides))


def long_dutch_invoice(count: int = 46) -> Document:
    lines = tuple(
        DocumentLine(f"Werkplek licentie {i}", D(1), D("19.95"), D("19.95"), tax_label="21%", **MARCH)
        for i in range(1, count + 1)
    )
    subtotal = D("19.95") * count
    tax = (subtotal * D("0.21")).quantize(D("0.01"))
    return invoice(
        number="F2026-000123",
        language="nl",
        lines=lines,
        subtotal=subtotal,
        tax_rows=(TaxRow("Btw 21%", "S", D("21"), subtotal, tax),),
        tax=tax,
        total=subtotal + tax,
        amount_due=subtotal + tax,
        notes=(),
        branding=Branding(footer="Acme Cloud B.V. · KvK 12345678"),
    )


def pages(pdf: bytes) -> list[str]:
    """Each page's text; the no-break spaces Babel puts in amounts read as spaces, lines without edge blanks."""
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    texts = [page.extract_text().replace("\xa0", " ").replace("\u202f", " ") for page in reader.pages]
    return [re.sub(r" *\n *", "\n", page) for page in texts]


def text(pdf: bytes) -> str:
    return "\n".join(pages(pdf))


# --- the English one-pager ------------------------------------------------------------------------


def test_a_one_page_invoice_shows_who_what_and_how_much():
    content = pages(render_pdf(invoice()))
    assert len(content) == 1
    page = content[0]
    for expected in [
        "Invoice",
        "INV-2026-0042",
        "Acme Cloud B.V.",
        "Keizersgracht 123",
        "Netherlands",
        "NL123456789B01",
        "Bill to".upper(),
        "Nordic Widgets AB",
        "Sweden",
        "SE556677889901",
        "Apr 1, 2026",
        "Apr 15, 2026",
        "Team plan",
        "Mar 1, 2026 – Mar 31, 2026",
        "€200.00",
        "€1,000.00",
        "€1,234.50",
        "Amount due",
        "Page 1 of 1",
    ]:
        assert expected in page, expected


def test_the_reverse_charge_note_and_the_exemption_reason_are_printed():
    page = text(render_pdf(invoice()))
    assert REVERSE_CHARGE in page.replace("\n", " ")
    assert "VAT 0% reverse charge (AE)\n€1,234.50\n€0.00\nIntra-EU B2B supply" in page


def test_the_payment_block_carries_the_rf_reference_iban_and_bic():
    page = text(render_pdf(invoice()))
    assert "RF73 INV2 0260 042" in page
    assert "Please quote this reference with your payment." in page
    assert "NL91 ABNA 0417 1643 00" in page
    assert "ABNANL2A" in page
    assert "Payment within 14 days" in page


def test_an_unspaced_rf_reference_is_printed_in_groups_of_four():
    assert "RF18 5390 0754 7034" in text(render_pdf(invoice(payment_reference="rf18539007547034")))


def test_a_reference_that_is_not_rf_is_printed_as_given():
    assert "OCR 1234567890" in text(render_pdf(invoice(payment_reference="OCR 1234567890")))


def test_unit_prices_keep_their_precision_and_tiers_their_breakdown():
    tiers = (
        TierRow("First 1,000 calls", D(1000), D("0"), D("0"), D("0.00")),
        TierRow("Next 9,000 calls", D(9000), D("0.002"), D("5.00"), D("23.00")),
        TierRow("Above 10,000 calls", D(400000), D("0.000125"), D("0"), D("50.00")),
    )
    line = DocumentLine("API calls", D(410000), None, D("73.00"), tiers=tiers, **MARCH)
    page = text(render_pdf(invoice(lines=(line,), subtotal=D("73.00"), total=D("73.00"), amount_due=D("73.00"))))
    assert "€0.000125" in page
    assert "400,000" in page
    assert "Next 9,000 calls + flat fee €5.00" in page
    assert "€23.00" in page and "€50.00" in page


def test_a_line_discount_is_shown_under_its_line_and_in_the_totals():
    line = DocumentLine("Team plan", D(5), D("200.00"), D("1000.00"), discount=D("100.00"), proration=True, **MARCH)
    document = invoice(
        lines=(line,),
        subtotal=D("1000.00"),
        discount=D("100.00"),
        tax_rows=(TaxRow("VAT 21%", "S", D("21"), D("900.00"), D("189.00")),),
        tax=D("189.00"),
        total=D("1089.00"),
        credit_applied=D("89.00"),
        amount_paid=D("500.00"),
        amount_due=D("500.00"),
    )
    page = text(render_pdf(document))
    assert re.search(r"Discount\n-€100\.00", page)
    assert "prorated" in page
    for label, amount in [
        ("Subtotal", "€1,000.00"),
        ("Discount", "-€100.00"),
        ("Net amount", "€900.00"),
        ("VAT 21%", "€189.00"),
        ("Total", "€1,089.00"),
        ("Credit applied", "-€89.00"),
        ("Amount paid", "-€500.00"),
        ("Amount due", "€500.00"),
    ]:
        assert f"{label}\n{amount}" in page, label


def test_service_periods_are_printed_as_dates_of_the_documents_time_zone():
    # Midnight in Stockholm is 23:00 UTC the day before (22:00 in summer time).
    line = DocumentLine(
        "Team plan",
        D(1),
        D("10.00"),
        D("10.00"),
        period_start=dt.datetime(2026, 2, 28, 23, 0, tzinfo=UTC),
        period_end=dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
    )
    page = text(render_pdf(invoice(language="sv", time_zone="Europe/Stockholm", lines=(line,))))
    assert "1 mars 2026 – 31 mars 2026" in page


def test_a_one_day_period_is_one_date():
    line = DocumentLine(
        "Day pass",
        D(1),
        D("10.00"),
        D("10.00"),
        period_start=dt.datetime(2026, 3, 5, tzinfo=UTC),
        period_end=dt.datetime(2026, 3, 6, tzinfo=UTC),
    )
    page = text(render_pdf(invoice(lines=(line,))))
    assert "Mar 5, 2026" in page
    assert "Mar 5, 2026 –" not in page


def test_the_pdf_metadata_names_the_document_and_the_seller():
    reader = PdfReader(io.BytesIO(render_pdf(invoice())))
    assert reader.metadata.title == "Invoice INV-2026-0042"
    assert reader.metadata.author == "Acme Cloud B.V."
    assert reader.pages[0].mediabox.width == pytest.approx(595.27, abs=0.1)  # A4
    assert reader.pages[0].mediabox.height == pytest.approx(841.89, abs=0.1)


# --- Dutch, long ----------------------------------------------------------------------------------


def test_dutch_amounts_are_formatted_the_dutch_way():
    assert format_money(D("1234.50"), "EUR", "nl") == "€\xa01.234,50"  # what Babel produces
    page = text(render_pdf(invoice(language="nl")))
    assert "Factuur" in page
    assert "Te betalen\n€ 1.234,50" in page
    assert "1 apr 2026" in page
    assert "Zweden" in page  # the buyer's country, in Dutch


def test_a_long_dutch_invoice_repeats_the_table_header_and_numbers_its_pages():
    content = pages(render_pdf(long_dutch_invoice()))
    assert len(content) == 3
    assert [f"Pagina {n} van 3" in page for n, page in enumerate(content, 1)] == [True, True, True]
    for page in content:
        assert "Omschrijving\nAantal\nPrijs per stuk\nBtw\nBedrag" in page
        assert "Acme Cloud B.V. · KvK 12345678" in page  # the entity's footer
    assert "Factuur F2026-000123" in content[1]  # running header on later pages
    assert "Factuur F2026-000123" in content[2]
    assert "Factuurdatum" in content[0] and "Factuurdatum" not in content[1]
    assert all(f"Werkplek licentie {i}\n" in "\n".join(content) for i in range(1, 47))
    assert "Te betalen" in content[2] and "Te betalen" not in content[0] + content[1]


def test_the_totals_and_payment_block_stay_together_after_the_last_line():
    content = pages(render_pdf(long_dutch_invoice()))
    last = content[-1]
    assert "Werkplek licentie 46" in last
    after_the_last_line = last[last.index("Werkplek licentie 46") :]
    assert all(word in after_the_last_line for word in ["Subtotaal", "Totaal", "Te betalen", "Betalingskenmerk"])


def test_five_hundred_lines_render_on_many_pages_all_numbered():
    content = pages(render_pdf(long_dutch_invoice(500)))
    assert len(content) > 15
    assert f"Pagina {len(content)} van {len(content)}" in content[-1]
    assert "Werkplek licentie 500" in content[-1]


# --- Swedish credit note --------------------------------------------------------------------------


def test_a_swedish_credit_note_names_the_invoice_it_corrects():
    line = DocumentLine("Återbetalning, outnyttjad tid", D(1), D("1234.50"), D("1234.50"), tax_label="25%")
    document = invoice(
        kind="credit_note",
        number="KF-2026-0007",
        language="sv",
        currency="SEK",
        lines=(line,),
        subtotal=D("1234.50"),
        tax_rows=(TaxRow("Moms 25 %", "S", D("25"), D("1234.50"), D("308.63")),),
        tax=D("308.63"),
        total=D("1543.13"),
        amount_due=D("0"),
        notes=(),
        related_number="F-2026-0042",
        reason="Kunden bytte till en billigare plan.",
        status_stamp="paid",
        buyer=Party("Åkesson & Öberg HB", ("Ängsvägen 3", "752 36 Uppsala"), "SE"),
    )
    assert format_money(D("1543.13"), "SEK", "sv") == "1\xa0543,13\xa0kr"  # what Babel produces
    page = text(render_pdf(document))
    assert "Kreditfaktura" in page
    assert "Kreditfakturanummer\nKF-2026-0007" in page
    assert "Krediterar faktura\nF-2026-0042" in page
    assert "Orsak: Kunden bytte till en billigare plan." in page
    assert "Summa kreditering\n1 543,13 kr" in page
    assert "Att betala" not in page
    assert "Åkesson & Öberg HB" in page
    assert "BETALD" in page
    assert "Sida 1 av 1" in page


# --- drafts, stamps, escaping, logos, fonts -------------------------------------------------------


def test_a_draft_is_marked_draft_and_has_no_number():
    pdf = render_pdf(invoice(number="", payment_reference=""))
    page = text(pdf)
    assert "DRAFT" in page
    assert "Invoice number\nDraft" in page
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Invoice Draft"


def test_a_dutch_draft_is_a_concept():
    page = text(render_pdf(invoice(number="", language="nl")))
    assert "CONCEPT" in page
    assert "Factuurnummer\nConcept" in page


def test_every_page_of_a_long_draft_carries_the_watermark():
    document = dataclasses.replace(long_dutch_invoice(), number="")
    assert all("CONCEPT" in page for page in pages(render_pdf(document)))


@pytest.mark.parametrize(("stamp", "printed"), [("PAID", "PAID"), ("void", "VOID"), ("Disputed", "Disputed")])
def test_status_stamps_are_translated_when_known(stamp, printed):
    assert printed in text(render_pdf(invoice(status_stamp=stamp)))


def test_customer_text_is_printed_literally_never_as_markup():
    buyer = dataclasses.replace(BUYER, name="A & B <Ltd>", address_lines=("<b>Unit 5</b> & Co",))
    line = DocumentLine("Plan <Pro> & support </para>", D(1), D("1234.50"), D("1234.50"))
    page = text(render_pdf(invoice(buyer=buyer, lines=(line,), purchase_order="PO <7> & 8")))
    assert "A & B <Ltd>" in page
    assert "<b>Unit 5</b> & Co" in page
    assert "Plan <Pro> & support </para>" in page
    assert "PO <7> & 8" in page
    assert "&amp;" not in page


def test_a_long_description_wraps_inside_its_column():
    words = "Premium support with a dedicated account manager, quarterly business reviews and " * 4
    unbroken = "Z" * 300
    lines = (DocumentLine(words, D(1), D("1.00"), D("1.00")), DocumentLine(unbroken, D(1), D("1.00"), D("1.00")))
    page = text(render_pdf(invoice(lines=lines)))
    assert max(len(run) for run in re.findall(r"Z+", page)) < 80
    assert sum(len(run) for run in re.findall(r"Z+", page)) == 300
    description_lines = [row for row in page.splitlines() if "account manager" in row or "business reviews" in row]
    assert len(description_lines) >= 3
    assert all(len(row) < 80 for row in description_lines)


def test_a_png_logo_is_drawn():
    pdf = render_pdf(invoice(branding=Branding(logo=png(), color="#8A1538")))
    resources = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    assert len(resources["/XObject"]) >= 1


def test_a_wide_jpeg_logo_is_drawn():
    pdf = render_pdf(invoice(branding=Branding(logo=png(900, 60, "JPEG"))))
    assert len(PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]) >= 1


def test_a_broken_logo_is_left_out_rather_than_costing_the_invoice(caplog):
    with caplog.at_level(logging.WARNING, logger="invoicing.pdf.render"):
        page = text(render_pdf(invoice(branding=Branding(logo=b"not an image"))))
    assert "INV-2026-0042" in page
    assert "logo" in caplog.text


@pytest.mark.parametrize("colour", ["#FFFFFF", "#F2C200", "red", "", "#12345"])
def test_any_branding_colour_renders(colour):
    assert "INV-2026-0042" in text(render_pdf(invoice(branding=Branding(color=colour))))


def test_letters_outside_the_standard_fonts_are_folded_not_blacked_out():
    assert printable("Łódź Spółka – 1\u202f234,50 €") == "Lódz Spólka – 1\xa0234,50 €"
    assert printable("Åkesson Öberg ÄÖÅ €") == "Åkesson Öberg ÄÖÅ €"
    buyer = dataclasses.replace(BUYER, name="Łódź Spółka z o.o.")
    page = text(render_pdf(invoice(buyer=buyer)))
    assert "Lódz Spólka z o.o." in page
    assert "■" not in page


def test_an_unknown_language_falls_back_to_english_and_a_regional_one_to_its_language():
    assert "Invoice\n" in text(render_pdf(invoice(language="de")))
    assert "€1,234.50" in text(render_pdf(invoice(language="de")))
    page = text(render_pdf(invoice(language="nl-BE")))
    assert "Factuur" in page


def test_a_currency_without_minor_units_prints_whole_amounts():
    line = DocumentLine("Plan", D(1), D("1500"), D("1500"))
    page = text(render_pdf(invoice(currency="JPY", lines=(line,), subtotal=D(1500), total=D(1500), amount_due=D(1500))))
    assert "¥1,500" in page
    assert "¥1,500.00" not in page


def test_an_invoice_without_lines_or_tax_rows_still_renders():
    document = invoice(
        lines=(), subtotal=D(0), tax_rows=(), tax=D(0), total=D(0), amount_due=D(0), notes=(), iban="", bic=""
    )
    page = text(render_pdf(document))
    assert "Total\n€0.00" in page
    assert "VAT summary".upper() not in page
    assert "PAYMENT" in page  # terms and reference are still there


# --- labels ---------------------------------------------------------------------------------------


def test_every_language_has_every_label():
    for language, labels in LABELS.items():
        assert set(labels) == set(LABELS["en"]), language
        assert all(value.strip() for value in labels.values()), language


def test_label_languages():
    assert label_language("nl_BE") == "nl"
    assert label_language("SV") == "sv"
    assert label_language("fr") == "en"
    assert label_language("") == "en"
    assert labels_for("sv")["page_of"].format(page=2, pages=7) == "Sida 2 av 7"
    assert stamp_text("paid", labels_for("nl")) == "BETAALD"
    assert stamp_text(" Void ", labels_for("sv")) == "MAKULERAD"
    assert stamp_text("On hold", labels_for("sv")) == "On hold"


def test_an_english_credit_note_is_titled_and_linked_to_its_invoice():
    page = text(render_pdf(invoice(kind="credit_note", number="CN-2026-0001", related_number="INV-2026-0042")))
    assert "Credit note\n" in page
    assert "Credit note number\nCN-2026-0001" in page
    assert "Credit note for invoice\nINV-2026-0042" in page
    assert "Total credit\n€1,234.50" in page


def test_an_unknown_kind_is_refused_rather_than_printed_as_an_invoice():
    with pytest.raises(ValueError, match="credit_note"):
        render_pdf(invoice(kind="credit-note"))


def test_fractional_quantities_and_line_breaks_in_descriptions():
    line = DocumentLine("Storage\nEU region", D("12.500"), D("0.023"), D("0.29"), **MARCH)
    page = text(render_pdf(invoice(language="nl", lines=(line,))))
    assert "Storage\nEU region" in page
    assert "12,5\n" in page
    assert "€ 0,023" in page


def test_a_very_long_footer_and_stamp_stay_on_the_page():
    footer = "Acme Cloud B.V., registered in Amsterdam. " * 30
    pdf = render_pdf(invoice(branding=Branding(footer=footer), status_stamp="Awaiting approval by the finance team"))
    page = text(pdf)
    assert "Awaiting approval by the" in page
    assert "Page 1 of 1" in page
