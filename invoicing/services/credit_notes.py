"""Credit notes: the only way to correct a finalized invoice.

A credit note credits lines of one invoice (up to what each line charged after discount) with the
invoice's own tax rates, taxed per category and rounded once, like the invoice. Its total splits in
four parts that must add up: what lowers the amount still due (first, automatically, up to what is
due), and for money already paid: refunded, kept as credit on the customer's balance, or settled
outside the system. All credit notes of an invoice together never exceed its total.

Above the entity's approval limit a credit note waits for an Approver who is not its author
(``billing_site.services.approvals``); it takes its number and has its effects only when approved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApprovalRequest
from billing_site.money import minor_units, parse_amount, round_money
from billing_site.services.approvals import approval_request_create, register_approval_handler
from billing_site.services.audit import audit_record
from invoicing.domain import tax
from invoicing.models import (
    BalanceKind,
    BalanceTransaction,
    CreditNote,
    CreditNoteLine,
    CreditNoteReason,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from invoicing.services.invoices import (
    buyer_snapshot,
    invoice_lock,
    invoice_transition,
    numbers_take,
    seller_snapshot,
)

ZERO = Decimal(0)
APPROVAL_KIND = "credit_note"
CREDITABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)
#: Where money already paid can go, in the order of the amounts it sets (refund, credit, outside).
PAID_MONEY = ("refund", "credit", "outside")


def _error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, fields={field: message} if field else None)


def _amount(value: Any, currency: str, field: str) -> Decimal:
    """A money amount in whole minor units of the invoice's currency (the project's strict parser)."""
    return parse_amount(value, field=field, max_decimal_places=minor_units(currency))


def credited_per_line(invoice: Invoice) -> dict[int, Decimal]:
    """What credit notes (issued or waiting for approval) already credit, per invoice line."""
    return {
        line_id: Decimal(total)
        for line_id, total in CreditNoteLine.objects.filter(credit_note__invoice=invoice, invoice_line__isnull=False)
        .exclude(credit_note__status=CreditNoteStatus.REJECTED)
        .values("invoice_line_id")
        .order_by()
        .annotate(total=Sum("amount"))
        .values_list("invoice_line_id", "total")
    }


def credited_total(invoice: Invoice) -> Decimal:
    total = (
        CreditNote.objects.filter(invoice=invoice)
        .exclude(status=CreditNoteStatus.REJECTED)
        .aggregate(total=Sum("total"))["total"]
    )
    return Decimal(total or 0)


def _rate(line: InvoiceLine, reasons: dict) -> tax.TaxRateInfo:
    return tax.TaxRateInfo(
        id=line.tax_rate_id,
        name=line.tax_name,
        country="",
        percentage=line.tax_percentage or ZERO,
        category=line.tax_category or "standard",
        inclusive=line.tax_inclusive,
        exemption_reason=reasons.get((line.tax_category, line.tax_percentage), ""),
    )


def creditable_amount(line: InvoiceLine) -> Decimal:
    """What a line charged after its discount, as priced (net, or gross when prices include tax)."""
    return line.amount.amount - line.discount.amount


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    lines: Sequence[Mapping[str, Any]],
    reason: str,
    actor: Actor,
    now: dt.datetime,
    memo: str = "",
    refund_amount: Any = "0",
    credit_amount: Any = "0",
    out_of_band_amount: Any = "0",
    paid_money: str = "",
    user: Any = None,
) -> CreditNote:
    """Credit ``lines`` (``[{"invoice_line": id, "amount": "10.00", "description": …}]``) of ``invoice``.

    Issued at once, or waiting for an Approver when its total is above the entity's limit. The part for
    money already paid is split as given (``refund_amount`` …), or goes wholly to ``paid_money``:
    "refund", "credit" (the customer's balance) or "outside".
    """
    invoice = invoice_lock(invoice.pk)
    currency = invoice.currency
    if invoice.status not in CREDITABLE:
        raise _error(
            "invoice_not_creditable",
            f"Invoice {invoice} is {invoice.get_status_display().lower()}: only finalized, not voided invoices "
            "can be credited."
            + (" Edit or delete the draft instead." if invoice.status == InvoiceStatus.DRAFT else ""),
        )
    if reason not in CreditNoteReason.values:
        raise _error("invalid_reason", "Choose a reason for the credit note.", "reason")
    if not lines:
        raise _error("no_lines", "Add at least one line to credit.", "lines")
    invoice_lines = {line.pk: line for line in invoice.lines.all()}
    already = credited_per_line(invoice)
    reasons = {(row.category, row.percentage): row.exemption_reason for row in invoice.tax_rows.all()}
    rows: list[CreditNoteLine] = []
    taxable: list[tax.TaxableLine] = []
    for index, raw in enumerate(lines):
        field = f"lines.{index}"
        line_id = raw.get("invoice_line")
        line_id = getattr(line_id, "pk", line_id)
        invoice_line = invoice_lines.get(line_id) if line_id is not None else None
        if invoice_line is None:
            raise _error("invalid_invoice_line", "Choose a line of this invoice to credit.", f"{field}.invoice_line")
        amount = _amount(raw.get("amount", creditable_amount(invoice_line)), currency, f"{field}.amount")
        if amount == 0:
            raise _error("invalid_amount", "A credited amount must be more than zero.", f"{field}.amount")
        left = creditable_amount(invoice_line) - already.get(invoice_line.pk, ZERO)
        if amount > left:
            raise _error(
                "credit_exceeds_line",
                f"“{invoice_line.description}” can be credited {round_money(left, currency)} {currency} at most "
                f"(charged {round_money(creditable_amount(invoice_line), currency)}, already credited "
                f"{round_money(already.get(invoice_line.pk, ZERO), currency)}).",
                f"{field}.amount",
            )
        already[invoice_line.pk] = already.get(invoice_line.pk, ZERO) + amount
        quantity = raw.get("quantity", 1)
        rows.append(
            CreditNoteLine(
                invoice_line=invoice_line,
                description=str(raw.get("description") or invoice_line.description)[:300],
                quantity=Decimal(str(quantity)),
                currency=currency,
                amount=amount,
                tax_name=invoice_line.tax_name,
                tax_category=invoice_line.tax_category,
                tax_percentage=invoice_line.tax_percentage,
                tax_inclusive=invoice_line.tax_inclusive,
            )
        )
        taxable.append(tax.TaxableLine(key=index, net_or_gross_amount=amount, rate=_rate(invoice_line, reasons)))
    result = tax.compute_tax(lines=taxable, currency=currency)
    for row in rows:
        row.exemption_reason = reasons.get((row.tax_category, row.tax_percentage), "")[:300]
    total = round_money(result.total_gross, currency)
    if credited_total(invoice) + total > invoice.total.amount:
        raise _error(
            "credit_exceeds_invoice",
            f"Credit notes of invoice {invoice} would add up to more than its total "
            f"{round_money(invoice.total.amount, currency)} {currency} (already credited "
            f"{round_money(credited_total(invoice), currency)}).",
        )
    refund = _amount(refund_amount, currency, "refund_amount")
    credit = _amount(credit_amount, currency, "credit_amount")
    outside = _amount(out_of_band_amount, currency, "out_of_band_amount")
    pre_payment = min(total, _still_due(invoice))
    post = total - pre_payment
    if paid_money:
        if paid_money not in PAID_MONEY:
            raise _error("invalid_paid_money", "Choose refund, credit or outside for money already paid.", "paid_money")
        if refund or credit or outside:
            raise _error(
                "credit_note_parts_mismatch", "Give either the split of money already paid or where all of it goes.",
                "paid_money",
            )  # fmt: skip
        refund, credit, outside = (post if paid_money == name else ZERO for name in PAID_MONEY)
    if refund + credit + outside != post:
        if post == 0:
            message = (
                f"The whole {total} {currency} lowers what is still due on the invoice: leave refund, credit and "
                "outside at 0."
            )
        else:
            message = (
                f"{post} {currency} of this credit note concerns money already paid: split it over refund, "
                f"balance credit and settled outside (now {refund + credit + outside})."
            )
        raise _error("credit_note_parts_mismatch", message, "refund_amount")
    names = {(r.tax_category, r.tax_percentage): r.tax_name for r in rows}
    note = CreditNote.objects.create(
        invoice=invoice,
        entity=invoice.entity,
        customer=invoice.customer,
        status=CreditNoteStatus.ISSUED,
        reason=reason,
        memo=memo,
        currency=currency,
        subtotal=result.total_net,
        tax=result.total_tax,
        total=total,
        pre_payment_amount=pre_payment,
        refund_amount=refund,
        credit_amount=credit,
        out_of_band_amount=outside,
        author=actor.label[:200],
        author_user_id=getattr(user, "pk", None),
        tax_summary=[
            {
                "name": names.get((b.category, b.rate_percentage), ""),
                "category": b.category,
                "percentage": str(b.rate_percentage),
                "taxable": str(b.taxable_amount),
                "tax": str(b.tax_amount),
                "exemption_reason": b.exemption_reason,
            }
            for b in result.breakdowns
        ],
        language=invoice.language,
        created_at=now,
    )
    for row in rows:
        row.credit_note = note
    CreditNoteLine.objects.bulk_create(rows)
    limit = invoice.entity.credit_note_approval_above
    if limit is not None and total > limit:
        note.status = CreditNoteStatus.PENDING_APPROVAL
        note.save(update_fields=["status"])
        audit_record(actor=actor, action="credit_note.requested", obj=note, now=now, after=_summary(note))
        approval_request_create(
            kind=APPROVAL_KIND,
            obj=note,
            summary=f"Credit note of {total} {currency} on invoice {invoice.number} ({note.get_reason_display()})",
            details=_summary(note),
            requested_by=user,
            actor=actor,
            now=now,
        )
        return note
    _issue(note, invoice=invoice, actor=actor, now=now)
    return note


def _still_due(invoice: Invoice) -> Decimal:
    """Amount due minus what credit notes waiting for approval will take off it."""
    reserved = (
        CreditNote.objects.filter(invoice=invoice, status=CreditNoteStatus.PENDING_APPROVAL).aggregate(
            total=Sum("pre_payment_amount")
        )["total"]
        or 0
    )
    if invoice.status == InvoiceStatus.PAID:
        return ZERO
    return max(invoice.amount_due.amount - Decimal(reserved), ZERO)


def _summary(note: CreditNote) -> dict[str, str]:
    return {
        "invoice": note.invoice.number,
        "total": str(note.total.amount),
        "lowers_amount_due": str(note.pre_payment_amount.amount),
        "refund": str(note.refund_amount.amount),
        "balance_credit": str(note.credit_amount.amount),
        "outside": str(note.out_of_band_amount.amount),
        "reason": note.reason,
    }


def _issue(note: CreditNote, *, invoice: Invoice, actor: Actor, now: dt.datetime) -> None:
    pre_payment = note.pre_payment_amount.amount
    if pre_payment > invoice.amount_due.amount:
        raise _error(
            "credit_note_outdated",
            f"Invoice {invoice} now has {invoice.amount_due} due, less than the {pre_payment} this credit note "
            "would take off: reject it and create a new one.",
        )
    note.number = numbers_take(entity=note.entity, document="credit_note", at=now)[0]
    note.status = CreditNoteStatus.ISSUED
    note.issued_at = now
    note.seller = seller_snapshot(note.entity)
    note.buyer = buyer_snapshot(note.customer)
    note.save(update_fields=["number", "status", "issued_at", "seller", "buyer"])
    invoice.amount_due = invoice.amount_due.amount - pre_payment
    invoice.amount_credited = invoice.amount_credited.amount + note.total.amount
    invoice.updated_at = now
    fields = ["amount_due", "amount_credited", "updated_at"]
    if (
        pre_payment
        and invoice.amount_due.amount == 0
        and invoice.status
        in (
            InvoiceStatus.OPEN,
            InvoiceStatus.UNCOLLECTIBLE,
        )
    ):
        invoice_transition(
            invoice, to=InvoiceStatus.PAID, actor=actor, now=now, reason=f"Settled by credit note {note.number}"
        )
        invoice.paid_at = now
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    if note.credit_amount.amount:
        BalanceTransaction.objects.create(
            customer=note.customer,
            kind=BalanceKind.CREDIT_NOTE,
            currency=note.currency,
            amount=note.credit_amount.amount,
            invoice=invoice,
            credit_note=note,
            description=f"Credit note {note.number}",
            created_at=now,
        )
    audit_record(actor=actor, action="credit_note.issued", obj=note, now=now, after=_summary(note))
    from invoicing.services.invoices import _enqueue_credit_note_documents

    transaction.on_commit(lambda: _enqueue_credit_note_documents(note.pk))
    if note.refund_amount.amount:
        transaction.on_commit(lambda: _enqueue_refund(note.pk))


def _enqueue_refund(pk: int) -> None:
    from django_q.tasks import async_task

    async_task("invoicing.tasks.refund_credit_note_task", pk, task_name=f"refund credit note {pk}")


def _on_decision(request: ApprovalRequest, approved: bool, actor: Actor, now: dt.datetime) -> None:
    note = CreditNote.objects.select_related("entity", "customer").get(pk=int(request.object_id))
    invoice = invoice_lock(note.invoice_id)
    note = CreditNote.objects.select_for_update().select_related("entity", "customer").get(pk=note.pk)
    if note.status != CreditNoteStatus.PENDING_APPROVAL:
        raise _error("credit_note_not_pending", f"{note} is not waiting for approval.")
    if approved:
        _issue(note, invoice=invoice, actor=actor, now=now)
    else:
        note.status = CreditNoteStatus.REJECTED
        note.save(update_fields=["status"])
        audit_record(actor=actor, action="credit_note.rejected", obj=note, now=now, reason=request.comment)


register_approval_handler(APPROVAL_KIND, _on_decision)
