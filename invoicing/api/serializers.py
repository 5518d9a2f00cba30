"""Shapes of the invoicing API: invoices (stored or upcoming), credit notes, and what the actions take.

Output serializers describe the JSON for the documentation; the values come from ``invoice_data``,
``upcoming_data`` and ``credit_note_data``, which read the stored rows (or the in-memory
``DraftInvoice`` of an upcoming invoice) the same way, so both kinds of invoice look alike.
Money is ``{"amount": "121.00", "currency": "EUR"}``; quantities, unit amounts and percentages are
decimal strings ("2", "0.000125", "21").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_site.api.fields import DECIMAL_STRING_SCHEMA, MONEY_SCHEMA, DecimalStringField, decimal_str
from billing_site.api.serializers import SMALL_INT_MAX, IdField, StrictInput, amount_text, money_dict, quantity_text
from invoicing.domain.tax import TaxRateInfo
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReason,
    CreditNoteStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from invoicing.services.compose import DraftInvoice, DraftLine
from invoicing.services.drafts import TAX_CATEGORIES
from subscriptions.models import Customer

UPCOMING = "upcoming"


# --- fields ------------------------------------------------------------------------------------


@extend_schema_field(MONEY_SCHEMA)
class MoneyOutputField(serializers.DictField):
    """Money as the API sends it (the dict is built by ``money_dict``)."""


@extend_schema_field(DECIMAL_STRING_SCHEMA)
class DecimalTextField(serializers.CharField):
    """A decimal already formatted as text ("2", "0.000125")."""


# --- input -------------------------------------------------------------------------------------


class ManualLineInput(StrictInput):
    description = serializers.CharField(max_length=300, help_text="What the line charges, as printed.")
    quantity = DecimalStringField(
        required=False, max_decimal_places=6, help_text="More than 0, at most 6 decimals. Default 1."
    )
    unit_amount = DecimalStringField(
        allow_negative=True,
        help_text="Price of one unit in the customer's currency, up to 12 decimals (“0.000125”). "
        "The line amount is quantity × unit amount, rounded to the currency's minor unit.",
    )
    tax_category = serializers.ChoiceField(
        choices=list(TAX_CATEGORIES),
        required=False,
        help_text="Which of the customer's tax rates applies. Default `standard`.",
    )


class InvoiceCreateInput(StrictInput):
    customer = IdField(queryset=Customer.objects.all(), help_text="Customer id; the invoice is in their currency.")
    lines = ManualLineInput(many=True, help_text="At least one line.")
    memo = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="A note to the customer, printed on the invoice."
    )
    days_until_due = serializers.IntegerField(
        required=False,
        allow_null=True,
        max_value=SMALL_INT_MAX,
        help_text="Payment terms, 0 to 365 days from finalization. Default: the legal entity's terms.",
    )
    purchase_order = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="The customer's purchase order number."
    )


class ReasonInput(StrictInput):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Why: kept in the audit trail."
    )


class MarkPaidInput(ReasonInput):
    amount = DecimalStringField(
        required=False,
        help_text="What was received, e.g. “50.00”, for a partial payment. Default: the whole amount due.",
    )


class CreditNoteLineInput(StrictInput):
    invoice_line = IdField(queryset=InvoiceLine.objects.all(), help_text="The id of the invoice line credited.")
    amount = DecimalStringField(
        help_text="How much of the line is credited, as the invoice priced it (excluding tax, or including it when "
        "the invoice's prices include tax). At most what the line charged after discount, less earlier credits."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="Default: the invoice line's description."
    )


class CreditNoteCreateInput(StrictInput):
    invoice = IdField(queryset=Invoice.objects.all(), help_text="A finalized invoice (open, paid or uncollectible).")
    reason = serializers.ChoiceField(choices=CreditNoteReason.choices)
    memo = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="Explanation printed on the credit note."
    )
    lines = CreditNoteLineInput(many=True, help_text="At least one line of the invoice.")
    refund_amount = DecimalStringField(
        required=False, help_text="Of the part already paid: refunded to the customer. Default 0."
    )
    credit_amount = DecimalStringField(
        required=False, help_text="Of the part already paid: kept as credit on the customer's balance. Default 0."
    )
    out_of_band_amount = DecimalStringField(
        required=False, help_text="Of the part already paid: settled outside the system. Default 0."
    )


# --- output: invoices --------------------------------------------------------------------------


class DocumentLineTaxRateOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The tax rate's id (the line keeps a copy of it).")
    name = serializers.CharField()
    percentage = DecimalTextField(help_text="e.g. “21”.")
    category = serializers.CharField(help_text="standard, zero, exempt or reverse_charge.")
    inclusive = serializers.BooleanField(help_text="The line's amount includes this tax.")


class InvoiceTierOutput(serializers.Serializer):
    label = serializers.CharField(help_text="A line a person can read, e.g. “Tier 2 (6–10): 5 × 6.50”.")
    quantity = DecimalTextField()
    unit_amount = DecimalTextField()
    flat_amount = DecimalTextField()
    amount = MoneyOutputField()


class InvoiceLineOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null on an upcoming invoice.")
    kind = serializers.ChoiceField(choices=LineKind.choices)
    description = serializers.CharField()
    price = serializers.IntegerField(allow_null=True, help_text="The catalog price billed, if any.")
    quantity = DecimalTextField()
    unit_amount = DecimalTextField(allow_null=True, help_text="null when the price is not per unit (flat, tiered).")
    amount = MoneyOutputField(help_text="Rounded, before discount, as priced (net, or gross with inclusive tax).")
    discount = MoneyOutputField()
    net_amount = MoneyOutputField(help_text="After discount, excluding tax.")
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    proration = serializers.BooleanField()
    tax_rate = DocumentLineTaxRateOutput(
        allow_null=True, help_text="null: no tax rate was found (the invoice is on hold)."
    )
    tiers = InvoiceTierOutput(many=True, help_text="How a tiered or time-of-use price added up; empty otherwise.")


class DocumentTaxSummaryOutput(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.CharField()
    percentage = DecimalTextField()
    taxable_amount = MoneyOutputField()
    tax_amount = MoneyOutputField()
    exemption_reason = serializers.CharField(help_text="Printed for zero, exempt and reverse-charge rows.")


class InvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null on an upcoming invoice.")
    number = serializers.CharField(allow_null=True, help_text="Given at finalization; null for drafts.")
    status = serializers.ChoiceField(
        choices=[*InvoiceStatus.values, UPCOMING], help_text="`upcoming` only on the upcoming-invoice preview."
    )
    kind = serializers.ChoiceField(choices=InvoiceKind.choices)
    customer = serializers.IntegerField()
    subscription = serializers.IntegerField(allow_null=True)
    entity = serializers.IntegerField(help_text="The legal entity that issues the invoice.")
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    currency = serializers.CharField()
    subtotal = MoneyOutputField(help_text="Sum of the lines before discount.")
    discount = MoneyOutputField()
    tax = MoneyOutputField()
    total = MoneyOutputField()
    credit_applied = MoneyOutputField(help_text="Customer balance used at finalization.")
    amount_credited = MoneyOutputField(help_text="Credited by issued credit notes.")
    amount_due = MoneyOutputField()
    amount_paid = MoneyOutputField()
    due_date = serializers.DateField(
        allow_null=True, help_text="The last day to pay, in the legal entity's time zone (as printed)."
    )
    days_until_due = serializers.IntegerField(allow_null=True)
    finalized_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    on_hold = serializers.BooleanField(help_text="A held draft is not finalized automatically.")
    hold_reason = serializers.CharField()
    prices_include_tax = serializers.BooleanField()
    memo = serializers.CharField()
    purchase_order = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField(), help_text="Legal mentions, e.g. reverse charge.")
    payment_reference = serializers.CharField(allow_null=True, help_text="Structured creditor reference (RF…).")
    tax_summary = DocumentTaxSummaryOutput(many=True, help_text="One row per tax category and rate (EN 16931).")
    lines = InvoiceLineOutput(many=True)
    pdf_url = serializers.CharField(allow_null=True, help_text="Where to download the PDF; null when upcoming.")
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Invoice | DraftInvoice) -> dict[str, Any]:
        if isinstance(instance, DraftInvoice):
            return super().to_representation(upcoming_data(instance))
        return super().to_representation(invoice_data(instance, pdf_url=pdf_url(self.context, "invoice", instance.pk)))


class CreditNoteLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    invoice_line = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()
    quantity = DecimalTextField()
    amount = MoneyOutputField(help_text="As the invoice priced it (net, or gross when its prices include tax).")
    tax_rate = DocumentLineTaxRateOutput(allow_null=True)


class CreditNoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="Given when issued; null while waiting for approval.")
    status = serializers.ChoiceField(choices=CreditNoteStatus.choices)
    invoice = serializers.IntegerField()
    customer = serializers.IntegerField()
    entity = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=CreditNoteReason.choices)
    memo = serializers.CharField()
    currency = serializers.CharField()
    subtotal = MoneyOutputField()
    tax = MoneyOutputField()
    total = MoneyOutputField()
    pre_payment_amount = MoneyOutputField(help_text="Lowers what is still due on the invoice.")
    refund_amount = MoneyOutputField()
    credit_amount = MoneyOutputField(help_text="Kept as credit on the customer's balance.")
    out_of_band_amount = MoneyOutputField(help_text="Settled outside the system.")
    tax_summary = DocumentTaxSummaryOutput(many=True)
    lines = CreditNoteLineOutput(many=True)
    pdf_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: CreditNote) -> dict[str, Any]:
        url = pdf_url(self.context, "credit-note", instance.pk)
        return super().to_representation(credit_note_data(instance, pdf_url=url))


# --- data ----------------------------------------------------------------------------------------


def pdf_url(context: dict[str, Any], document: str, pk: int) -> str:
    from django.urls import reverse

    path = reverse(f"{document}-pdf", kwargs={"pk": pk})
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return money_dict(Decimal(value), currency)


def _local_date(moment: datetime | None, zone: str) -> date | None:
    return moment.astimezone(ZoneInfo(zone or "UTC")).date() if moment else None


def _rate(
    *, pk: int | None, name: str, percentage: Decimal | None, category: str, inclusive: bool
) -> dict[str, Any] | None:
    if percentage is None and not category:
        return None
    return {
        "id": pk,
        "name": name,
        "percentage": decimal_str(percentage or Decimal(0)),
        "category": category,
        "inclusive": inclusive,
    }


def _tiers(rows: Iterable[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "label": row["label"],
            "quantity": quantity_text(Decimal(row["quantity"])),
            "unit_amount": amount_text(Decimal(row["unit_amount"]), currency),
            "flat_amount": amount_text(Decimal(row["flat_amount"]), currency),
            "amount": _money(Decimal(row["amount"]), currency),
        }
        for row in rows
    ]


def _tax_row(
    *, name: str, category: str, percentage: Decimal, taxable: Decimal, tax: Decimal, reason: str, currency: str
) -> dict[str, Any]:
    return {
        "name": name,
        "category": category,
        "percentage": decimal_str(percentage),
        "taxable_amount": _money(taxable, currency),
        "tax_amount": _money(tax, currency),
        "exemption_reason": reason,
    }


def invoice_line_data(line: InvoiceLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "kind": line.kind,
        "description": line.description,
        "price": line.price_id,
        "quantity": quantity_text(line.quantity),
        "unit_amount": amount_text(line.unit_amount, currency),
        "amount": _money(line.amount.amount, currency),
        "discount": _money(line.discount.amount, currency),
        "net_amount": _money(line.net_amount.amount, currency),
        "period_start": line.period_start,
        "period_end": line.period_end,
        "proration": line.proration,
        "tax_rate": _rate(
            pk=line.tax_rate_id,
            name=line.tax_name,
            percentage=line.tax_percentage,
            category=line.tax_category,
            inclusive=line.tax_inclusive,
        ),
        "tiers": _tiers(line.tiers, currency),
    }


def invoice_data(invoice: Invoice, *, pdf_url: str | None) -> dict[str, Any]:
    currency = invoice.currency
    zone = (invoice.seller or {}).get("time_zone") or invoice.entity.time_zone
    return {
        "id": invoice.pk,
        "number": invoice.number or None,
        "status": invoice.status,
        "kind": invoice.kind,
        "customer": invoice.customer_id,
        "subscription": invoice.subscription_id,
        "entity": invoice.entity_id,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "currency": currency,
        **{
            name: _money(getattr(invoice, name).amount, currency)
            for name in (
                "subtotal",
                "discount",
                "tax",
                "total",
                "credit_applied",
                "amount_credited",
                "amount_due",
                "amount_paid",
            )
        },
        "due_date": _local_date(invoice.due_at, zone),
        "days_until_due": invoice.days_until_due,
        "finalized_at": invoice.finalized_at,
        "paid_at": invoice.paid_at,
        "on_hold": invoice.on_hold,
        "hold_reason": invoice.hold_reason,
        "prices_include_tax": invoice.prices_include_tax,
        "memo": invoice.memo,
        "purchase_order": invoice.purchase_order,
        "notes": list(invoice.notes),
        "payment_reference": invoice.payment_reference or None,
        "tax_summary": [
            _tax_row(
                name=row.name,
                category=row.category,
                percentage=row.percentage,
                taxable=row.taxable_amount.amount,
                tax=row.tax_amount.amount,
                reason=row.exemption_reason,
                currency=currency,
            )
            for row in invoice.tax_rows.all()
        ],
        "lines": [invoice_line_data(line, currency) for line in invoice.lines.all()],
        "pdf_url": pdf_url,
        "created_at": invoice.created_at,
        "updated_at": invoice.updated_at,
    }


def _draft_rate(rate: TaxRateInfo | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return _rate(
        pk=rate.id, name=rate.name, percentage=rate.percentage, category=rate.category, inclusive=rate.inclusive
    )


def _draft_line(line: DraftLine, currency: str) -> dict[str, Any]:
    return {
        "id": None,
        "kind": line.kind,
        "description": line.description,
        "price": line.price_id,
        "quantity": quantity_text(line.quantity),
        "unit_amount": amount_text(line.unit_amount, currency),
        "amount": _money(line.amount, currency),
        "discount": _money(line.discount, currency),
        "net_amount": _money(line.net, currency),
        "period_start": line.period_start,
        "period_end": line.period_end,
        "proration": line.proration,
        "tax_rate": _draft_rate(line.rate),
        "tiers": _tiers(line.tiers, currency),
    }


def upcoming_data(draft: DraftInvoice) -> dict[str, Any]:
    """An invoice that does not exist yet: no id, number, dates of its own or PDF; the balance applies later."""
    currency = draft.currency
    names = {(line.rate.category, line.rate.percentage): line.rate.name for line in draft.lines if line.rate}
    zero = _money(Decimal(0), currency)
    return {
        "id": None,
        "number": None,
        "status": UPCOMING,
        "kind": draft.kind,
        "customer": draft.customer.pk,
        "subscription": draft.subscription.pk if draft.subscription is not None else None,
        "entity": draft.entity.pk,
        "period_start": draft.period_start,
        "period_end": draft.period_end,
        "currency": currency,
        "subtotal": _money(draft.subtotal, currency),
        "discount": _money(draft.discount, currency),
        "tax": _money(draft.tax, currency),
        "total": _money(draft.total, currency),
        "credit_applied": zero,
        "amount_credited": zero,
        "amount_due": _money(max(draft.total, Decimal(0)), currency),
        "amount_paid": zero,
        "due_date": None,
        "days_until_due": None,
        "finalized_at": None,
        "paid_at": None,
        "on_hold": bool(draft.hold_reason),
        "hold_reason": draft.hold_reason,
        "prices_include_tax": draft.prices_include_tax,
        "memo": "",
        "purchase_order": "",
        "notes": list(draft.notes),
        "payment_reference": None,
        "tax_summary": [
            _tax_row(
                name=names.get((row.category, row.rate_percentage), ""),
                category=row.category,
                percentage=row.rate_percentage,
                taxable=row.taxable_amount,
                tax=row.tax_amount,
                reason=row.exemption_reason,
                currency=currency,
            )
            for row in draft.tax_rows
        ],
        "lines": [_draft_line(line, currency) for line in draft.lines],
        "pdf_url": None,
        "created_at": None,
        "updated_at": None,
    }


# --- data: credit notes ------------------------------------------------------------------------


def _credit_note_line(line: CreditNoteLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "invoice_line": line.invoice_line_id,
        "description": line.description,
        "quantity": quantity_text(line.quantity),
        "amount": _money(line.amount.amount, currency),
        "tax_rate": _rate(
            pk=None,
            name=line.tax_name,
            percentage=line.tax_percentage,
            category=line.tax_category,
            inclusive=line.tax_inclusive,
        ),
    }


def credit_note_data(note: CreditNote, *, pdf_url: str) -> dict[str, Any]:
    currency = note.currency
    return {
        "id": note.pk,
        "number": note.number or None,
        "status": note.status,
        "invoice": note.invoice_id,
        "customer": note.customer_id,
        "entity": note.entity_id,
        "reason": note.reason,
        "memo": note.memo,
        "currency": currency,
        **{
            name: _money(getattr(note, name).amount, currency)
            for name in (
                "subtotal",
                "tax",
                "total",
                "pre_payment_amount",
                "refund_amount",
                "credit_amount",
                "out_of_band_amount",
            )
        },
        "tax_summary": [
            _tax_row(
                name=row.get("name", ""),
                category=row["category"],
                percentage=Decimal(row["percentage"]),
                taxable=Decimal(row["taxable"]),
                tax=Decimal(row["tax"]),
                reason=row.get("exemption_reason", ""),
                currency=currency,
            )
            for row in note.tax_summary or []
        ],
        "lines": [_credit_note_line(line, currency) for line in note.lines.all()],
        "pdf_url": pdf_url,
        "created_at": note.created_at,
        "issued_at": note.issued_at,
    }
