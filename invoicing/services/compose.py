"""Composing an invoice in memory: lines → discounts → tax → totals, the same for every door.

The billing run (batched or one subscription at a time), the upcoming-invoice preview, one-off
invoices and draft edits all build ``DraftInvoice`` objects and call ``draft_compute``; only then
are rows written (``draft_rows``). Tax and discounts come from the pure domain code in
``invoicing.domain`` (docs/adr/0011).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing_site.errors import DomainError
from billing_site.money import round_money
from catalog.models import Coupon
from invoicing.domain import discounts, tax
from invoicing.models import BillingEntity, Invoice, InvoiceLine, InvoiceTax
from subscriptions.models import Customer, Subscription

ZERO = Decimal(0)


@dataclass
class DraftLine:
    kind: str
    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    amount: Decimal
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    proration: bool = False
    price_id: int | None = None
    product_id: int | None = None
    plan_id: int | None = None
    product_tax_category: str = "standard"
    rate: tax.TaxRateInfo | None = None
    tiers: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    discount: Decimal = ZERO
    net: Decimal = ZERO


@dataclass
class DraftInvoice:
    customer: Customer
    entity: BillingEntity
    kind: str
    currency: str
    subscription: Subscription | None = None
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    lines: list[DraftLine] = field(default_factory=list)
    coupons: list[discounts.CouponTerms] = field(default_factory=list)
    # computed by draft_compute
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    prices_include_tax: bool = False
    tax_rows: tuple[tax.TaxBreakdown, ...] = ()
    notes: list[str] = field(default_factory=list)
    hold_reason: str = ""


def coupon_terms(coupon: Coupon) -> discounts.CouponTerms:
    return discounts.CouponTerms(
        coupon_id=coupon.pk,
        name=coupon.name,
        discount_type=coupon.discount_type,
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
        currency=coupon.currency or None,
        applies_to_products=frozenset(getattr(coupon, "product_ids", ())),
        applies_to_plans=frozenset(getattr(coupon, "plan_ids", ())),
    )


def rate_info(rate: Any) -> tax.TaxRateInfo:
    return tax.TaxRateInfo(
        id=rate.pk,
        name=rate.name,
        country=rate.country,
        percentage=rate.percentage,
        category=rate.category,
        inclusive=rate.inclusive,
        exemption_reason=rate.exemption_reason,
    )


def line_rate(
    *, customer: Customer, entity: BillingEntity, product_tax_category: str, rates: list[tax.TaxRateInfo]
) -> tax.TaxRateInfo:
    """The rate for one product sold by ``entity`` to ``customer`` (EU rules in invoicing.domain.tax)."""
    return tax.applicable_rate(
        seller_country=entity.country,
        customer_country=customer.country,
        customer_vat_id=customer.vat_id,
        customer_exemption=customer.tax_exemption,
        product_tax_category=product_tax_category,
        rates=rates,
    )


def draft_compute(draft: DraftInvoice) -> DraftInvoice:
    """Discounts, tax and totals of ``draft`` (lines already rounded). A tax problem puts it on hold."""
    currency = draft.currency
    for line in draft.lines:
        line.amount = round_money(line.amount, currency)
    lines = [
        discounts.DiscountLine(
            key=index, amount=line.amount, product_id=line.product_id, plan_id=line.plan_id, proration=line.proration
        )
        for index, line in enumerate(draft.lines)
    ]
    allocations = discounts.allocate_discounts(lines=lines, coupons=draft.coupons, currency=currency)
    nets = discounts.net_amounts(lines=lines, allocations=allocations)
    for index, line in enumerate(draft.lines):
        line.discount = line.amount - nets[index]
    draft.subtotal = sum((line.amount for line in draft.lines), ZERO)
    draft.discount = sum((a.total for a in allocations), ZERO)
    draft.hold_reason = ""
    missing = next((line for line in draft.lines if line.rate is None), None)
    try:
        if missing is not None:
            raise DomainError("no_tax_rate", missing.source.get("tax_error", "A line has no tax rate."))
        result = tax.compute_tax(
            lines=[
                tax.TaxableLine(key=index, net_or_gross_amount=nets[index], rate=line.rate)  # type: ignore[arg-type]
                for index, line in enumerate(draft.lines)
            ],
            currency=currency,
        )
    except DomainError as error:  # untaxed, so on hold: never finalized like this
        draft.hold_reason = error.message
        draft.tax, draft.tax_rows, draft.notes, draft.prices_include_tax = ZERO, (), [], False
        draft.total = draft.subtotal - draft.discount
        for index, line in enumerate(draft.lines):
            line.net = nets[index]
        return draft
    for index, line in enumerate(draft.lines):
        line.net = result.lines_net[index]
    draft.prices_include_tax = any(
        line.rate is not None and line.rate.inclusive and line.rate.percentage for line in draft.lines
    )
    draft.tax = result.total_tax
    draft.tax_rows = result.breakdowns
    draft.total = round_money(result.total_gross, currency)
    # The legal mention in full (Art. 226(11a) of the VAT directive), whatever short reason the rate carries.
    draft.notes = (
        [tax.REVERSE_CHARGE_MENTION] if any(b.category == tax.REVERSE_CHARGE for b in result.breakdowns) else []
    )
    return draft


def invoice_row(draft: DraftInvoice, *, now: dt.datetime, **fields: Any) -> Invoice:
    return Invoice(
        entity=draft.entity,
        customer=draft.customer,
        subscription=draft.subscription,
        kind=draft.kind,
        currency=draft.currency,
        period_start=draft.period_start,
        period_end=draft.period_end,
        subtotal=draft.subtotal,
        discount=draft.discount,
        tax=draft.tax,
        total=draft.total,
        amount_due=max(draft.total, ZERO),
        prices_include_tax=draft.prices_include_tax,
        notes=draft.notes,
        coupon_ids=[c.coupon_id for c in draft.coupons],
        language=draft.customer.language,
        on_hold=bool(draft.hold_reason),
        tax_hold=bool(draft.hold_reason),
        hold_reason=draft.hold_reason[:300],
        created_at=now,
        updated_at=now,
        **fields,
    )


def line_rows(invoice: Invoice, draft: DraftInvoice) -> list[InvoiceLine]:
    rows = []
    for position, line in enumerate(draft.lines, start=1):
        rate = line.rate
        rows.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                kind=line.kind,
                description=line.description[:300],
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                currency=draft.currency,
                amount=line.amount,
                discount=line.discount,
                net_amount=line.net,
                period_start=line.period_start,
                period_end=line.period_end,
                proration=line.proration,
                price_id=line.price_id,
                product_id_snapshot=line.product_id,
                tax_rate_id=rate.id if rate else None,
                tax_name=rate.name if rate else "",
                tax_category=rate.category if rate else "",
                tax_percentage=rate.percentage if rate else None,
                tax_inclusive=bool(rate and rate.inclusive),
                tiers=line.tiers,
                source=line.source,
            )
        )
    return rows


def tax_rows(invoice: Invoice, draft: DraftInvoice) -> list[InvoiceTax]:
    names = {(line.rate.category, line.rate.percentage): line.rate.name for line in draft.lines if line.rate}
    return [
        InvoiceTax(
            invoice=invoice,
            name=names.get((row.category, row.rate_percentage), ""),
            category=row.category,
            percentage=row.rate_percentage,
            currency=draft.currency,
            taxable_amount=row.taxable_amount,
            tax_amount=row.tax_amount,
            exemption_reason=row.exemption_reason[:300],
        )
        for row in draft.tax_rows
    ]
