"""An invoice's life: numbering, finalization, payment, void, uncollectible; draft edits and holds.

One transition table (``TRANSITIONS``) and one function that moves an invoice (``invoice_transition``);
nothing else assigns ``status``. Finalizing takes the next number of the entity's series under a
row lock on the series (gap-free: a draft has no number, deleting one consumes none, a void keeps
its number) and freezes the invoice: seller and buyer as they are now, tax and totals as computed.
Batches (the billing run) finalize many invoices with one lock and one number range per entity.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from billing_site.money import round_money
from billing_site.services.audit import audit_event, audit_record
from billing_site.services.bulk import bulk_insert_rows, bulk_update_rows
from invoicing.domain.reference import creditor_reference
from invoicing.models import (
    BalanceKind,
    BalanceTransaction,
    BillingEntity,
    Invoice,
    InvoiceStatus,
    NumberReset,
    NumberSeries,
)
from subscriptions.models import CollectionMethod, Customer

S = InvoiceStatus
ZERO = Decimal(0)

#: Allowed moves; everything else is refused with a clear error.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.OPEN}),
    S.OPEN: frozenset({S.PAID, S.VOID, S.UNCOLLECTIBLE}),
    S.UNCOLLECTIBLE: frozenset({S.PAID, S.VOID}),
    S.PAID: frozenset(),
    S.VOID: frozenset(),
}

_REFUSALS = {
    S.PAID: "it is paid; correct it with a credit note",
    S.VOID: "it is void",
    S.DRAFT: "it is still a draft: finalize it first",
}


def invoice_check_transition(invoice: Invoice, *, to: str) -> None:
    if to not in TRANSITIONS.get(invoice.status, frozenset()):
        why = _REFUSALS.get(invoice.status, f"it is {invoice.get_status_display().lower()}")
        target = S(to).label.lower()
        raise DomainError(
            "invoice_transition_not_allowed",
            f"Invoice {invoice} cannot become {target}: {why}.",
        )


def invoice_transition(invoice: Invoice, *, to: str, actor: Actor, now: dt.datetime, reason: str = "") -> None:
    """Check, assign and audit a status change (the caller saves)."""
    invoice_check_transition(invoice, to=to)
    before = invoice.status
    invoice.status = to
    invoice.updated_at = now
    audit_record(
        actor=actor,
        action=f"invoice.{to}",
        obj=invoice,
        now=now,
        before={"status": before},
        after={"status": to},
        reason=reason,
    )


def invoice_lock(pk: int) -> Invoice:
    """Lock the customer, then the invoice (the house order), and return the invoice as stored now."""
    assert transaction.get_connection().in_atomic_block, "lock rows inside the service's transaction"
    customer_id = Invoice.objects.values_list("customer_id", flat=True).get(pk=pk)
    Customer.objects.select_for_update(of=("self",)).filter(pk=customer_id).first()
    return Invoice.objects.select_for_update(of=("self",)).select_related("entity", "customer").get(pk=pk)


# --- numbering -------------------------------------------------------------------------------


def _series_year(entity: BillingEntity, at: dt.datetime) -> int:
    if entity.number_reset == NumberReset.CONTINUOUS:
        return 0
    return at.astimezone(ZoneInfo(entity.time_zone or "UTC")).year


def format_number(prefix: str, year: int, number: int) -> str:
    return f"{prefix}{year}-{number:05d}" if year else f"{prefix}{number:05d}"


def numbers_take(*, entity: BillingEntity, document: str, at: dt.datetime, count: int = 1) -> list[str]:
    """The next ``count`` numbers of a series, consecutive; the series row stays locked until commit."""
    year = _series_year(entity, at)
    NumberSeries.objects.get_or_create(entity=entity, document=document, year=year)
    series = NumberSeries.objects.select_for_update().get(entity=entity, document=document, year=year)
    first = series.last_number + 1
    series.last_number += count
    series.save(update_fields=["last_number"])
    prefix = entity.invoice_prefix if document == "invoice" else entity.credit_note_prefix
    return [format_number(prefix, year, n) for n in range(first, first + count)]


# --- snapshots -------------------------------------------------------------------------------


def _lines(*parts: str) -> list[str]:
    return [p for p in parts if p and p.strip()]


def seller_snapshot(entity: BillingEntity) -> dict:
    return {
        "name": entity.name,
        "address_lines": _lines(
            entity.address_line1, entity.address_line2, f"{entity.postal_code} {entity.city}".strip(), entity.region
        ),
        "country": entity.country,
        "vat_id": entity.vat_id,
        "registration_id": entity.registration_id,
        "email": entity.email,
        "iban": entity.iban,
        "bic": entity.bic,
        "time_zone": entity.time_zone,
    }


def buyer_snapshot(customer: Customer) -> dict:
    return {
        "name": customer.name,
        "address_lines": _lines(
            customer.address_line1,
            customer.address_line2,
            f"{customer.postal_code} {customer.city}".strip(),
            customer.region,
        ),
        "country": customer.country,
        "vat_id": customer.vat_id,
        "email": customer.email,
    }


# --- balance ---------------------------------------------------------------------------------


def customer_balances(customer_ids: Sequence[int], currency: str | None = None) -> dict[tuple[int, str], Decimal]:
    """Credit each customer has with us, per currency (sum of the append-only ledger)."""
    rows = BalanceTransaction.objects.filter(customer_id__in=list(customer_ids))
    if currency:
        rows = rows.filter(currency=currency)
    return {
        (customer_id, cur): Decimal(total or 0)
        for customer_id, cur, total in rows.values("customer_id", "currency")
        .order_by()
        .annotate(total=Sum("amount"))
        .values_list("customer_id", "currency", "total")
    }


def customer_balance(customer: Customer, currency: str) -> Decimal:
    return customer_balances([customer.pk], currency).get((customer.pk, currency), ZERO)


# --- finalization ------------------------------------------------------------------------------


def zero_amount_policy() -> str:
    return getattr(settings, "ZERO_AMOUNT_INVOICES", "finalize")


def _due(invoice: Invoice, at: dt.datetime) -> dt.datetime:
    return at + dt.timedelta(days=invoice.days_until_due)


def finalize_locked(
    invoices: Sequence[Invoice], *, actor: Actor, now: dt.datetime, auto: bool = False, persist: bool = True
) -> list[Invoice]:
    """Finalize drafts already locked by the caller (customers first): numbers, balance, snapshot, audit.

    ``auto``: the review window ended; each invoice is finalized as of its ``auto_finalize_at``.
    Returns the invoices finalized (drafts on hold or zero drafts kept as drafts are skipped).
    ``persist=False``: the invoices are about to be inserted (with their ids already taken); only
    their fields are set here, the rows around them (numbers, balance, audit) are written.
    """
    todo = []
    for invoice in sorted(invoices, key=lambda i: (i.auto_finalize_at or now, i.pk)):
        if invoice.status != S.DRAFT:
            continue
        if invoice.on_hold:
            if auto:
                continue
            raise DomainError(
                "invoice_on_hold",
                f"Draft #{invoice.pk} is on hold ({invoice.hold_reason or 'no reason given'}): release it first.",
            )
        if auto and invoice.total.amount == 0 and zero_amount_policy() == "keep_draft":
            continue
        todo.append(invoice)
    if not todo:
        return []
    by_entity: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in todo:
        by_entity[invoice.entity_id].append(invoice)
    balances = customer_balances(sorted({i.customer_id for i in todo}))
    ledger: list[BalanceTransaction] = []
    audits: list[AuditEvent] = []
    for entity_invoices in by_entity.values():
        entity = entity_invoices[0].entity
        seller = seller_snapshot(entity)
        # Numbers follow the order of finalization; a range per (series) year.
        by_year: dict[int, list[Invoice]] = defaultdict(list)
        for invoice in entity_invoices:
            at = invoice.auto_finalize_at if auto and invoice.auto_finalize_at else now
            invoice.finalized_at = min(at, now)
            by_year[_series_year(entity, invoice.finalized_at)].append(invoice)
        for year_invoices in by_year.values():
            numbers = numbers_take(
                entity=entity, document="invoice", at=year_invoices[0].finalized_at, count=len(year_invoices)
            )
            for invoice, number in zip(year_invoices, numbers, strict=True):
                _freeze(invoice, number=number, seller=seller, balances=balances, ledger=ledger, actor=actor)
                audits.append(_audit_event(invoice, actor=actor))
    if persist:
        bulk_update_rows(todo, FINALIZE_FIELDS)
    BalanceTransaction.objects.bulk_create(ledger)
    bulk_insert_rows(audits)
    ids = [i.pk for i in todo]
    transaction.on_commit(lambda: _enqueue_documents(ids))
    to_charge = [
        i.pk for i in todo
        if i.status == S.OPEN and i.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY and i.customer.test_clock_id is None
    ]  # fmt: skip
    if to_charge:  # a test clock's advance collects in the clock's time instead
        transaction.on_commit(lambda: _enqueue_collection(to_charge))
    return todo


FINALIZE_FIELDS = [
    "status", "number", "finalized_at", "updated_at", "due_at", "seller", "buyer", "payment_reference",
    "credit_applied", "amount_due", "amount_paid", "paid_at", "auto_finalize_at", "language",
]  # fmt: skip


def _freeze(invoice: Invoice, *, number: str, seller: dict, balances: dict, ledger: list, actor: Actor) -> None:
    at = invoice.finalized_at
    assert at is not None
    invoice_check_transition(invoice, to=S.OPEN)
    invoice.number = number
    invoice.seller = seller
    invoice.buyer = buyer_snapshot(invoice.customer)
    invoice.language = invoice.customer.language
    invoice.payment_reference = creditor_reference(number)
    invoice.due_at = _due(invoice, at)
    invoice.updated_at = at
    invoice.auto_finalize_at = None
    total = invoice.total.amount
    key = (invoice.customer_id, invoice.currency)
    balance = balances.get(key, ZERO)
    applied = min(balance, max(total, ZERO)) if balance > 0 else ZERO
    if applied:
        balances[key] = balance - applied
        ledger.append(_movement(invoice, BalanceKind.APPLIED, -applied, f"Used for invoice {number}", at))
    if total < 0:
        balances[key] = balances.get(key, ZERO) - total
        ledger.append(_movement(invoice, BalanceKind.NEGATIVE_INVOICE, -total, f"Invoice {number} in your favour", at))
    due = max(total, ZERO) - applied
    invoice.credit_applied = applied
    invoice.amount_due = due
    invoice.amount_paid = ZERO
    if due == 0:
        invoice.status = S.PAID
        invoice.paid_at = at
    else:
        invoice.status = S.OPEN


def _movement(invoice: Invoice, kind: str, amount: Decimal, description: str, at: dt.datetime) -> BalanceTransaction:
    return BalanceTransaction(
        customer_id=invoice.customer_id,
        kind=kind,
        currency=invoice.currency,
        amount=amount,
        invoice=invoice,
        description=description,
        created_at=at,
    )


def _audit_event(invoice: Invoice, *, actor: Actor) -> AuditEvent:
    return audit_event(
        actor=actor,
        action="invoice.finalized",
        obj=invoice,
        now=invoice.finalized_at,  # type: ignore[arg-type]
        before={"status": "draft"},
        after={
            "status": invoice.status,
            "number": invoice.number,
            "total": invoice.total.amount,
            "amount_due": invoice.amount_due.amount,
        },
    )


def _enqueue_collection(ids: list[int]) -> None:
    from django_q.tasks import async_task

    async_task("invoicing.tasks.collect_invoices_task", ids, task_name=f"collect {ids[0]}…")


def _enqueue_documents(ids: list[int]) -> None:
    from django_q.tasks import async_task

    async_task("invoicing.tasks.invoice_documents_task", ids, task_name=f"invoice documents {ids[0]}…")


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, actor: Actor, now: dt.datetime) -> Invoice:
    """Finalize a draft now (finance finalizing early, or the API): number, freeze, e-mail and PDF after commit."""
    locked = invoice_lock(invoice.pk)
    invoice_check_transition(locked, to=S.OPEN)
    if not locked.lines.exists():
        raise DomainError("invoice_empty", f"Draft #{locked.pk} has no lines: add a line or delete the draft.")
    finalize_locked([locked], actor=actor, now=now)
    return locked


# --- after finalization ------------------------------------------------------------------------


def _save(invoice: Invoice, *fields: str) -> None:
    invoice.save(update_fields=[*fields, "status", "updated_at"])


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: Actor, now: dt.datetime, reason: str = "") -> Invoice:
    """Void an open or uncollectible invoice: it keeps its number; balance it used is given back."""
    locked = invoice_lock(invoice.pk)
    invoice_transition(locked, to=S.VOID, actor=actor, now=now, reason=reason)
    if locked.amount_paid.amount:
        raise DomainError(
            "invoice_partly_paid",
            f"Invoice {locked} is partly paid ({locked.amount_paid}): refund with a credit note instead of voiding.",
        )
    if locked.credit_applied.amount:
        BalanceTransaction.objects.create(
            customer_id=locked.customer_id,
            kind=BalanceKind.VOIDED,
            currency=locked.currency,
            amount=locked.credit_applied.amount,
            invoice=locked,
            description=f"Credit given back: invoice {locked.number} was voided",
            created_at=now,
        )
    locked.voided_at = now
    locked.amount_due = ZERO
    _save(locked, "voided_at", "amount_due")
    return locked


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, actor: Actor, now: dt.datetime, reason: str = "") -> Invoice:
    locked = invoice_lock(invoice.pk)
    invoice_transition(locked, to=S.UNCOLLECTIBLE, actor=actor, now=now, reason=reason)
    locked.uncollectible_at = now
    _save(locked, "uncollectible_at")
    return locked


def invoice_settle(invoice: Invoice, *, amount: Decimal, actor: Actor, now: dt.datetime, reason: str) -> None:
    """Record ``amount`` paid on a locked open/uncollectible invoice; paid in full moves it to paid."""
    if amount <= 0:
        raise DomainError("invalid_amount", "A payment must be more than zero.")
    if round_money(amount, invoice.currency) != amount:
        raise DomainError(
            "invalid_amount",
            f"{amount} has more decimals than {invoice.currency} allows.",
            fields={"amount": "Too precise."},
        )
    due = invoice.amount_due.amount
    if amount > due:
        raise DomainError(
            "overpayment", f"Invoice {invoice} has {invoice.amount_due} left to pay; {amount} is more than that."
        )
    invoice.amount_paid = invoice.amount_paid.amount + amount
    invoice.amount_due = due - amount
    fields = ["amount_paid", "amount_due"]
    if invoice.amount_due.amount == 0:
        invoice_transition(invoice, to=S.PAID, actor=actor, now=now, reason=reason)
        invoice.paid_at = now
        fields.append("paid_at")
    else:
        audit_record(
            actor=actor,
            action="invoice.payment_recorded",
            obj=invoice,
            now=now,
            after={"amount": str(amount), "amount_due": str(invoice.amount_due.amount)},
            reason=reason,
        )
        invoice.updated_at = now
    _save(invoice, *fields)


def invoice_mark_paid(
    *, invoice: Invoice, actor: Actor, now: dt.datetime, amount: Decimal | None = None, reason: str = ""
) -> Invoice:
    """Finance records a payment received outside the system (bank transfer, cash): full or partial.

    The payment is a ``Payment`` like any other (``invoicing.services.collection.payment_record``):
    it ends dunning, reactivates the subscription and sends a receipt.
    """
    from invoicing.services.collection import payment_record

    invoice = Invoice.objects.get(pk=invoice.pk)  # as stored now: the caller's copy may be older
    if invoice.status not in (S.OPEN, S.UNCOLLECTIBLE):
        invoice_check_transition(invoice, to=S.PAID)
    paid = invoice.amount_due.amount if amount is None else amount
    if paid <= 0:
        raise DomainError("invalid_amount", "A payment must be more than zero.", fields={"amount": "More than zero."})
    why = reason or "Paid outside the system"
    payment_record(invoice=invoice, amount=paid, actor=actor, now=now, note=why, reason=why)
    invoice.refresh_from_db()
    return invoice


def _enqueue_credit_note_documents(pk: int) -> None:
    from django_q.tasks import async_task

    async_task("invoicing.tasks.credit_note_documents_task", pk, task_name=f"credit note documents {pk}")
