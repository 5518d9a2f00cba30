"""Invoicing test data, through the real services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from catalog.services.tax_rates import tax_rate_create
from catalog.tests.factories import ACTOR, T0
from invoicing.models import Invoice, InvoiceStatus

D = Decimal


def make_tax_rate(country: str = "NL", percentage: str = "21", **fields: Any):
    fields.setdefault("name", f"VAT {percentage}%")
    fields.setdefault("category", "standard")
    fields.setdefault("product_tax_category", "standard")
    fields.setdefault("inclusive", False)
    return tax_rate_create(actor=ACTOR, now=T0, country=country, percentage=D(percentage), **fields)


def eu_rates() -> None:
    """NL 21% and DE 19% standard, NL reverse charge and export zero rate."""
    make_tax_rate("NL", "21")
    make_tax_rate("DE", "19")
    make_tax_rate(
        "NL",
        "0",
        name="Reverse charge",
        category="reverse_charge",
        exemption_reason="Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)",
    )
    make_tax_rate("NL", "0", name="Export", category="zero", exemption_reason="Export of services outside the EU")


def lines_of(invoice: Invoice) -> list[tuple]:
    """(description, quantity, unit amount, amount, discount, period start, period end) of each line."""
    return [
        (
            line.description,
            line.quantity.normalize(),
            None if line.unit_amount is None else line.unit_amount.normalize(),
            line.amount.amount,
            line.discount.amount,
            line.period_start,
            line.period_end,
        )
        for line in invoice.lines.order_by("position")
    ]


def totals_of(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (
        invoice.subtotal.amount,
        invoice.discount.amount,
        invoice.tax.amount,
        invoice.total.amount,
        invoice.amount_due.amount,
    )


def invoices_of(subscription) -> list[Invoice]:
    return list(Invoice.objects.filter(subscription=subscription).order_by("created_at", "id"))


__all__ = ["ACTOR", "D", "InvoiceStatus", "eu_rates", "invoices_of", "lines_of", "make_tax_rate", "totals_of"]
