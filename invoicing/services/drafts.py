"""Drafts: one-off invoices, line edits, holds and deletion — everything before a number is given.

Every edit recomputes discounts, tax and totals with the same code as the billing run
(``invoicing.services.compose``), so a draft always shows what finalizing it would issue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import parse_amount, round_money, validate_currency
from billing_site.services.audit import audit_record
from catalog.models import Product
from invoicing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, InvoiceTax, LineKind
from invoicing.services.compose import (
    DraftInvoice,
    DraftLine,
    coupon_terms,
    draft_compute,
    invoice_row,
    line_rows,
    tax_rows,
)
from invoicing.services.invoices import invoice_lock
from invoicing.services.period_lines import BillingContext, _set_rate
from subscriptions.models import Customer
from subscriptions.services.lifecycle.locks import customer_lock

ZERO = Decimal(0)
TAX_CATEGORIES = ("standard", "reduced", "zero", "exempt")


def _error(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def _manual_line(
    context: BillingContext, draft: DraftInvoice, raw: Mapping[str, Any], index: int, field_prefix: str = "lines"
) -> DraftLine:
    field = f"{field_prefix}.{index}"
    description = str(raw.get("description", "")).strip()
    if not description:
        raise _error("description_required", "Describe what the line charges.", f"{field}.description")
    if len(description) > 300:
        raise _error("description_too_long", "Keep the description under 300 characters.", f"{field}.description")
    quantity = parse_amount(raw.get("quantity", 1), field=f"{field}.quantity", max_decimal_places=6, label="Quantity")
    if quantity == 0:
        raise _error("invalid_quantity", "Quantity must be more than 0.", f"{field}.quantity")
    unit = parse_amount(raw.get("unit_amount"), field=f"{field}.unit_amount", allow_negative=True, label="Unit price")
    product = raw.get("product")
    category = raw.get("tax_category") or (product.tax_category if isinstance(product, Product) else "standard")
    if category not in TAX_CATEGORIES:
        raise _error(
            "invalid_tax_category", "Tax category: standard, reduced, zero or exempt.", f"{field}.tax_category"
        )
    line = DraftLine(
        kind=LineKind.MANUAL,
        description=description,
        quantity=quantity,
        unit_amount=unit,
        amount=round_money(quantity * unit, draft.currency),
        product_id=product.pk if isinstance(product, Product) else None,
        product_tax_category=category,
        source={"tax_category": category},
    )
    _set_rate(context, draft, line)
    return line


@transaction.atomic
def invoice_create_manual(
    *,
    customer: Customer,
    lines: Sequence[Mapping[str, Any]],
    actor: Actor,
    now: dt.datetime,
    memo: str = "",
    days_until_due: int | None = None,
    purchase_order: str = "",
) -> Invoice:
    """A one-off invoice for ``customer``: a draft finance reviews and finalizes."""
    customer = customer_lock(customer)
    currency = validate_currency(customer.currency)
    if not lines:
        raise _error("no_lines", "Add at least one line.", "lines")
    context = BillingContext()
    draft = DraftInvoice(
        customer=customer, entity=context.entity_for(customer), kind=InvoiceKind.MANUAL, currency=currency
    )
    draft.lines = [_manual_line(context, draft, raw, index) for index, raw in enumerate(lines)]
    draft_compute(draft)
    if days_until_due is not None and (isinstance(days_until_due, bool) or not 0 <= int(days_until_due) <= 365):
        raise _error("invalid_days_until_due", "Days to pay: 0 to 365.", "days_until_due")
    invoice = invoice_row(
        draft,
        now=now,
        collection_method="send_invoice",
        days_until_due=draft.entity.payment_terms_days if days_until_due is None else int(days_until_due),
        memo=memo,
        purchase_order=purchase_order[:100],
    )
    invoice.save()
    InvoiceLine.objects.bulk_create(line_rows(invoice, draft))
    InvoiceTax.objects.bulk_create(tax_rows(invoice, draft))
    audit_record(
        actor=actor,
        action="invoice.created",
        obj=invoice,
        now=now,
        after={"kind": invoice.kind, "total": str(invoice.total.amount), "lines": len(draft.lines)},
    )
    return invoice


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise DomainError(
            "invoice_not_draft",
            f"Invoice {invoice} is finalized: it cannot be changed. Correct it with a credit note.",
        )


def _stored_draft(invoice: Invoice, context: BillingContext) -> DraftInvoice:
    draft = DraftInvoice(
        customer=invoice.customer,
        entity=invoice.entity,
        kind=invoice.kind,
        currency=invoice.currency,
        subscription=invoice.subscription,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
    )
    for line in invoice.lines.select_related("price__product").order_by("position", "id"):
        category = line.source.get("tax_category") or (line.price.product.tax_category if line.price_id else "standard")
        source = {k: v for k, v in line.source.items() if k != "tax_error"}
        item = DraftLine(
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount.amount,
            period_start=line.period_start,
            period_end=line.period_end,
            proration=line.proration,
            price_id=line.price_id,
            product_id=line.product_id_snapshot,
            plan_id=line.price.plan_version.plan_id if line.price_id and line.price.plan_version_id else None,
            product_tax_category=category,
            tiers=line.tiers,
            source=source,
        )
        _set_rate(context, draft, item)
        draft.lines.append(item)
    draft.coupons = [coupon_terms(context.coupon(pk)) for pk in invoice.coupon_ids]
    return draft


def invoice_recompute(invoice: Invoice, *, now: dt.datetime) -> Invoice:
    """Recompute a locked draft from its lines with today's tax rates (and release a tax hold if it is fixed)."""
    _require_draft(invoice)
    context = BillingContext()
    draft = draft_compute(_stored_draft(invoice, context))
    invoice.lines.all().delete()
    invoice.tax_rows.all().delete()
    InvoiceLine.objects.bulk_create(line_rows(invoice, draft))
    InvoiceTax.objects.bulk_create(tax_rows(invoice, draft))
    fresh = invoice_row(draft, now=now)
    for name in ("subtotal", "discount", "tax", "total", "amount_due", "prices_include_tax", "notes"):
        setattr(invoice, name, getattr(fresh, name))
    if draft.hold_reason:
        invoice.on_hold, invoice.tax_hold, invoice.hold_reason = True, True, draft.hold_reason[:300]
    elif invoice.tax_hold:  # its tax can be computed now: the hold it was given for that is lifted
        invoice.on_hold, invoice.tax_hold, invoice.hold_reason = False, False, ""
    invoice.updated_at = now
    invoice.save()
    return invoice


@transaction.atomic
def invoice_line_add(*, invoice: Invoice, line: Mapping[str, Any], actor: Actor, now: dt.datetime) -> Invoice:
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    context = BillingContext()
    draft = DraftInvoice(customer=locked.customer, entity=locked.entity, kind=locked.kind, currency=locked.currency)
    new = _manual_line(context, draft, line, 0, "line")
    position = (locked.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    draft.lines = [new]
    draft_compute(draft)
    row = line_rows(locked, draft)[0]
    row.position = position
    row.save()
    invoice_recompute(locked, now=now)
    audit_record(
        actor=actor,
        action="invoice.line_added",
        obj=locked,
        now=now,
        after={"description": new.description, "amount": str(new.amount), "total": str(locked.total.amount)},
    )
    return locked


@transaction.atomic
def invoice_line_remove(*, invoice: Invoice, line_id: int, actor: Actor, now: dt.datetime) -> Invoice:
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    line = locked.lines.filter(pk=line_id).first()
    if line is None:
        raise _error("invalid_invoice_line", "That line is not on this invoice.", "line")
    if line.source.get("pending_line"):
        from subscriptions.models import PendingLine

        PendingLine.objects.filter(pk=line.source["pending_line"]).update(invoiced_at=None)
    description, amount = line.description, line.amount.amount
    line.delete()
    invoice_recompute(locked, now=now)
    audit_record(
        actor=actor,
        action="invoice.line_removed",
        obj=locked,
        now=now,
        before={"description": description, "amount": str(amount)},
        after={"total": str(locked.total.amount)},
    )
    return locked


@transaction.atomic
def invoice_update_draft(*, invoice: Invoice, actor: Actor, now: dt.datetime, **changes: Any) -> Invoice:
    """Edit a draft's memo, purchase order or payment terms."""
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    allowed = {"memo", "purchase_order", "days_until_due"}
    unknown = set(changes) - allowed
    if unknown:
        raise _error("unknown_field", f"These cannot be changed: {', '.join(sorted(unknown))}.", sorted(unknown)[0])
    before = {name: getattr(locked, name) for name in changes}
    if "days_until_due" in changes:
        days = changes["days_until_due"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            raise _error("invalid_days_until_due", "Days to pay: a whole number from 0 to 365.", "days_until_due")
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.updated_at = now
    locked.save(update_fields=[*changes, "updated_at"])
    audit_record(actor=actor, action="invoice.updated", obj=locked, now=now, before=before, after=changes)
    return locked


@transaction.atomic
def invoice_hold(*, invoice: Invoice, actor: Actor, now: dt.datetime, reason: str) -> Invoice:
    """Keep a draft from being finalized automatically until finance releases it."""
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    if not reason.strip():
        raise _error("hold_reason_required", "Say why the draft is held, for whoever releases it.", "reason")
    locked.on_hold, locked.tax_hold, locked.hold_reason, locked.updated_at = True, False, reason.strip()[:300], now
    locked.save(update_fields=["on_hold", "tax_hold", "hold_reason", "updated_at"])
    audit_record(actor=actor, action="invoice.held", obj=locked, now=now, reason=locked.hold_reason)
    return locked


@transaction.atomic
def invoice_release(*, invoice: Invoice, actor: Actor, now: dt.datetime) -> Invoice:
    """Release a hold; the draft is recomputed (tax rates added since are used) and finalizes on schedule."""
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    locked.on_hold, locked.tax_hold, locked.hold_reason = False, False, ""
    invoice_recompute(locked, now=now)
    if locked.on_hold:
        raise DomainError("invoice_still_on_hold", f"Draft #{locked.pk} cannot be released: {locked.hold_reason}")
    audit_record(actor=actor, action="invoice.released", obj=locked, now=now)
    return locked


@transaction.atomic
def invoice_delete_draft(*, invoice: Invoice, actor: Actor, now: dt.datetime) -> None:
    """Delete a draft (it had no number, so none is lost); pending lines it held wait for the next invoice."""
    locked = invoice_lock(invoice.pk)
    _require_draft(locked)
    from subscriptions.models import PendingLine

    pending = [line.source["pending_line"] for line in locked.lines.all() if line.source.get("pending_line")]
    PendingLine.objects.filter(pk__in=pending).update(invoiced_at=None)
    audit_record(
        actor=actor,
        action="invoice.deleted",
        obj=locked,
        now=now,
        before={"kind": locked.kind, "total": str(locked.total.amount), "subscription": locked.subscription_id},
    )
    locked.delete()
