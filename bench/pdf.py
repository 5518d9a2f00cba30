"""Invoice PDFs per second: ``invoicing.pdf.render_pdf`` on a one-page invoice and on a 500-line one.

Pure rendering in this process (reportlab and Babel): no database, no Django set-up. The 500-line
invoice has a usage line with a five-tier breakdown every tenth line and a discount every seventh,
so the table splits across pages with its header repeated, as a large customer's invoice would.
"""

from __future__ import annotations

import datetime as dt
import platform
import re
import time
from decimal import Decimal

import reportlab

from bench.registry import BenchError, BenchResult, Figure, Session, benchmark
from invoicing.domain.reference import creditor_reference
from invoicing.pdf import Branding, Document, DocumentLine, Party, TaxRow, TierRow, render_pdf

D = Decimal
TITLE = "Invoice PDFs rendered (reportlab, in process)"
MAX_RENDERS = 1_000_000

SELLER = Party(
    name="Acme Cloud B.V.",
    address_lines=("Keizersgracht 123", "1015 CJ Amsterdam"),
    country="NL",
    vat_id="NL123456789B01",
    registration_id="12345678",
    email="billing@acme.example",
)
BUYER = Party(
    "Bakkerij De Gouden Korenaar & Zonen", ("Dorpsstraat 5", "3512 AB Utrecht"), "NL", vat_id="NL001234567B02"
)
MARCH_START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MARCH_END = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
# 500,000 API calls on the five-tier graduated price of bench.quote: 1,000 free, then cheaper per call.
API_TIERS = (
    TierRow("First 1,000 calls", D(1_000), D("0"), D("0"), D("0.00")),
    TierRow("1,001 – 10,000 calls", D(9_000), D("0.002"), D("5.00"), D("23.00")),
    TierRow("10,001 – 100,000 calls", D(90_000), D("0.0015"), D("0"), D("135.00")),
    TierRow("100,001 – 1,000,000 calls", D(400_000), D("0.001"), D("0"), D("400.00")),
    TierRow("Above 1,000,000 calls", D(0), D("0.000125"), D("0"), D("0.00")),
)
API_AMOUNT = D("558.00")


def _line(number: int) -> DocumentLine:
    if number % 10 == 0:
        return DocumentLine(
            f"API calls, project {number}",
            D(500_000),
            None,
            API_AMOUNT,
            period_start=MARCH_START,
            period_end=MARCH_END,
            tax_label="21%",
            tiers=API_TIERS,
        )
    quantity = D(1 + number % 4)
    discount = D("2.00") if number % 7 == 0 else D("0")
    description = f"Workstation licence {number} (Team plan, seat {1 + number % 25})"
    return DocumentLine(
        description,
        quantity,
        D("19.95"),
        D("19.95") * quantity,
        discount=discount,
        period_start=MARCH_START,
        period_end=MARCH_END,
        tax_label="21%",
    )


def invoice(line_count: int) -> Document:
    """A Dutch B2B invoice of ``line_count`` lines, amounts adding up, VAT 21%."""
    lines = tuple(_line(number) for number in range(1, line_count + 1))
    subtotal = sum((line.amount for line in lines), D("0"))
    discount = sum((line.discount for line in lines), D("0"))
    net = subtotal - discount
    tax = (net * D("0.21")).quantize(D("0.01"))
    return Document(
        kind="invoice",
        number="F2026-000123",
        language="nl",
        currency="EUR",
        issue_date=dt.date(2026, 4, 1),
        due_date=dt.date(2026, 5, 1),
        seller=SELLER,
        buyer=BUYER,
        lines=lines,
        subtotal=subtotal,
        discount=discount,
        tax_rows=(TaxRow("Btw 21%", "S", D("21"), net, tax),),
        tax=tax,
        total=net + tax,
        amount_due=net + tax,
        branding=Branding(color="#8A1538", footer="Acme Cloud B.V. · KvK 12345678 · btw NL123456789B01"),
        payment_terms="Betaling binnen 30 dagen",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
        payment_reference=creditor_reference("F2026-000123"),
        time_zone="Europe/Amsterdam",
    )


def page_count(pdf: bytes) -> int:
    if not pdf.startswith(b"%PDF-") or not pdf.rstrip().endswith(b"%%EOF"):
        raise BenchError("render_pdf did not return a complete PDF.")
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def _measure(document: Document, seconds: float) -> tuple[int, float]:
    render_pdf(document)  # warm-up: fonts, Babel data, imports
    renders = 0
    began = time.perf_counter()
    deadline = began + seconds
    while renders < MAX_RENDERS:
        render_pdf(document)
        renders += 1
        if time.perf_counter() >= deadline:
            break
    return renders, time.perf_counter() - began


@benchmark("pdf", title=TITLE, seconds=6.0)
def pdf(session: Session, seconds: float) -> BenchResult:
    one_page, long = invoice(5), invoice(500)
    one_page_pdf, long_pdf = render_pdf(one_page), render_pdf(long)
    if page_count(one_page_pdf) != 1:
        raise BenchError(f"The five-line invoice took {page_count(one_page_pdf)} pages, expected 1.")
    long_pages = page_count(long_pdf)
    if long_pages < 10:
        raise BenchError(f"The 500-line invoice took {long_pages} pages, expected at least 10.")

    small_renders, small_elapsed = _measure(one_page, seconds / 2)
    large_renders, large_elapsed = _measure(long, seconds / 2)
    return BenchResult(
        name="pdf",
        title=TITLE,
        figures=[
            Figure("one_page_per_second", "one-page invoices/s", small_renders / small_elapsed, ",.1f"),
            Figure("one_page_ms", "ms per one-page invoice", small_elapsed / small_renders * 1e3, ",.1f"),
            Figure("lines_500_per_second", "500-line invoices/s", large_renders / large_elapsed, ",.2f"),
            Figure("lines_500_ms", "ms per 500-line invoice", large_elapsed / large_renders * 1e3, ",.0f"),
        ],
        details={
            "one_page": {
                "lines": len(one_page.lines),
                "renders": small_renders,
                "seconds": round(small_elapsed, 3),
                "bytes": len(one_page_pdf),
            },
            "lines_500": {
                "lines": len(long.lines),
                "lines_with_tiers": sum(1 for line in long.lines if line.tiers),
                "table_rows": len(long.lines) + sum(len(line.tiers) + bool(line.discount) for line in long.lines),
                "pages": long_pages,
                "renders": large_renders,
                "seconds": round(large_elapsed, 3),
                "bytes": len(long_pdf),
            },
            "what": "invoicing.pdf.render_pdf(document): layout, Babel formatting, A4 PDF bytes; single thread",
            "reportlab": reportlab.Version,
            "python": platform.python_version(),
        },
    )
