"""Invoices and credit notes as PDF documents: built from the frozen invoice, rendered, stored.

A finalized invoice is rendered once after finalization (``invoice_documents_task``) and the file
is kept; downloads use the stored file, so a later change of the entity's logo or a customer's
address never changes an issued invoice. Drafts are rendered on demand with a DRAFT mark.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile

from invoicing.models import CreditNote, Invoice, InvoiceStatus
from invoicing.pdf import Branding, Document, DocumentLine, Party, TaxRow, TierRow, render_pdf
from invoicing.services.invoices import buyer_snapshot, seller_snapshot

_CATEGORY_CODES = {"standard": "S", "zero": "Z", "exempt": "E", "reverse_charge": "AE"}
_PAYMENT_TERMS = {
    "en": "Payment within {days} days",
    "nl": "Betaling binnen {days} dagen",
    "sv": "Betalning inom {days} dagar",
}


def _party(data: dict) -> Party:
    return Party(
        name=data.get("name", ""),
        address_lines=tuple(data.get("address_lines", ())),
        country=data.get("country", ""),
        vat_id=data.get("vat_id", ""),
        registration_id=data.get("registration_id", ""),
        email=data.get("email", ""),
    )


def _logo(entity) -> bytes | None:
    if not entity.logo:
        return None
    try:
        with entity.logo.open("rb") as handle:
            return handle.read()
    except OSError:
        return None


def _tax_label(percentage: Decimal | None, category: str) -> str:
    if percentage is None:
        return ""
    text = f"{percentage.normalize():f}%"
    if category == "reverse_charge":
        return f"{text} AE"
    if category == "exempt":
        return f"{text} E"
    return text


def _local_date(moment: dt.datetime | None, zone: str) -> dt.date | None:
    return moment.astimezone(ZoneInfo(zone)).date() if moment else None


def invoice_document(invoice: Invoice) -> Document:
    entity = invoice.entity
    seller = invoice.seller or seller_snapshot(entity)
    buyer = invoice.buyer or buyer_snapshot(invoice.customer)
    zone = seller.get("time_zone") or entity.time_zone or "UTC"
    language = invoice.language or invoice.customer.language
    lines = tuple(
        DocumentLine(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount.amount,
            discount=line.discount.amount,
            period_start=line.period_start,
            period_end=line.period_end,
            tax_label=_tax_label(line.tax_percentage, line.tax_category),
            proration=line.proration,
            tiers=tuple(
                TierRow(
                    description=t["label"],
                    quantity=Decimal(t["quantity"]),
                    unit_amount=Decimal(t["unit_amount"]),
                    flat_amount=Decimal(t["flat_amount"]),
                    amount=Decimal(t["amount"]),
                )
                for t in line.tiers
            ),
        )
        for line in invoice.lines.all()
    )
    tax_rows = tuple(
        TaxRow(
            label=row.name or f"VAT {row.percentage.normalize():f}%",
            category=_CATEGORY_CODES.get(row.category, row.category),
            rate=row.percentage,
            taxable_amount=row.taxable_amount.amount,
            tax_amount=row.tax_amount.amount,
            exemption_reason=row.exemption_reason,
        )
        for row in invoice.tax_rows.all()
    )
    stamp = {InvoiceStatus.PAID: "PAID", InvoiceStatus.VOID: "VOID"}.get(invoice.status, "")
    issued = invoice.finalized_at or invoice.created_at
    return Document(
        kind="invoice",
        number=invoice.number,
        language=language,
        currency=invoice.currency,
        issue_date=_local_date(issued, zone),
        due_date=_local_date(invoice.due_at, zone),
        seller=_party(seller),
        buyer=_party(buyer),
        lines=lines,
        subtotal=invoice.subtotal.amount,
        discount=invoice.discount.amount,
        tax_rows=tax_rows,
        tax=invoice.tax.amount,
        total=invoice.total.amount,
        branding=Branding(color=entity.brand_color, logo=_logo(entity), footer=entity.invoice_footer),
        time_zone=zone,
        credit_applied=invoice.credit_applied.amount,
        amount_paid=invoice.amount_paid.amount,
        amount_due=invoice.amount_due.amount,
        notes=tuple(invoice.notes) + ((invoice.memo,) if invoice.memo else ()),
        payment_terms=_PAYMENT_TERMS.get(language, _PAYMENT_TERMS["en"]).format(days=invoice.days_until_due),
        iban=seller.get("iban", entity.iban),
        bic=seller.get("bic", entity.bic),
        payment_reference=invoice.payment_reference,
        purchase_order=invoice.purchase_order,
        status_stamp=stamp,
    )


def credit_note_document(note: CreditNote) -> Document:
    entity = note.entity
    seller = note.seller or seller_snapshot(entity)
    zone = seller.get("time_zone") or entity.time_zone or "UTC"
    groups: dict[tuple, list] = {}
    lines = []
    for line in note.lines.all():
        lines.append(
            DocumentLine(
                description=line.description,
                quantity=line.quantity,
                unit_amount=None,
                amount=line.amount.amount,
                tax_label=_tax_label(line.tax_percentage, line.tax_category),
            )
        )
        groups.setdefault((line.tax_category, line.tax_percentage, line.tax_name, line.exemption_reason), [])
    rows = tuple(
        TaxRow(
            label=row["name"] or "VAT",
            category=_CATEGORY_CODES.get(row["category"], row["category"]),
            rate=Decimal(row["percentage"]),
            taxable_amount=Decimal(row["taxable"]),
            tax_amount=Decimal(row["tax"]),
            exemption_reason=row.get("exemption_reason", ""),
        )
        for row in (note.tax_summary or [])
    )
    return Document(
        kind="credit_note",
        number=note.number,
        language=note.language,
        currency=note.currency,
        issue_date=_local_date(note.issued_at or note.created_at, zone),
        seller=_party(seller),
        buyer=_party(note.buyer or buyer_snapshot(note.customer)),
        lines=tuple(lines),
        subtotal=note.subtotal.amount,
        discount=Decimal(0),
        tax_rows=rows,
        tax=note.tax.amount,
        total=note.total.amount,
        branding=Branding(color=entity.brand_color, logo=_logo(entity), footer=entity.invoice_footer),
        time_zone=zone,
        related_number=note.invoice.number,
        reason=" — ".join(p for p in (note.get_reason_display(), note.memo) if p),
        iban=seller.get("iban", ""),
        bic=seller.get("bic", ""),
    )


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """The stored PDF of a finalized invoice (rendered and stored now if missing); drafts render fresh."""
    if invoice.status != InvoiceStatus.DRAFT:
        if invoice.pdf and not invoice.pdf.storage.exists(invoice.pdf.name):
            # The file was lost (a restored database without its media): render it again from the frozen invoice.
            Invoice.objects.filter(pk=invoice.pk).update(pdf="")
            invoice.pdf = ""
        if not invoice.pdf:
            invoice_render_pdf(invoice=invoice)
        with invoice.pdf.open("rb") as handle:
            return handle.read()
    return render_pdf(invoice_document(invoice))


def invoice_render_pdf(*, invoice: Invoice) -> Invoice:
    """Render and store the PDF of a finalized invoice (idempotent: an existing file is kept)."""
    if invoice.status == InvoiceStatus.DRAFT or invoice.pdf:
        return invoice
    content = render_pdf(invoice_document(invoice))
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(content), save=False)
    Invoice.objects.filter(pk=invoice.pk, pdf="").update(pdf=invoice.pdf.name)
    return invoice


def credit_note_pdf_bytes(note: CreditNote) -> bytes:
    if note.pdf and not note.pdf.storage.exists(note.pdf.name):
        CreditNote.objects.filter(pk=note.pk).update(pdf="")
        note.pdf = ""
    if note.number and not note.pdf:
        content = render_pdf(credit_note_document(note))
        note.pdf.save(f"{note.number}.pdf", ContentFile(content), save=False)
        CreditNote.objects.filter(pk=note.pk, pdf="").update(pdf=note.pdf.name)
        return content
    if note.pdf:
        with note.pdf.open("rb") as handle:
            return handle.read()
    return render_pdf(credit_note_document(note))
