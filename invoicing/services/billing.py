"""The billing run: everything due at ``now`` becomes invoices, once, even with several workers.

Two paths build the same invoices with the same code (``invoice_for_period``):

* **Batched** (the common case: an active subscription whose period ended, nothing else due):
  a batch of subscriptions is locked with ``skip_locked`` (customers, then subscriptions), renewed
  and invoiced with a handful of queries and bulk writes, in one transaction per batch. Two workers
  never take the same subscription; a run killed halfway leaves whole batches done and the rest
  still due, so the next run resumes where it stopped.
* **One by one** (trials ending, cancellations, scheduled changes, pauses, several periods to
  catch up, test clocks): ``subscriptions_process_due`` moves each subscription on and calls the
  period-start hook registered here, inside its transaction.

Either way the unique constraint (subscription, period start, kind) makes a second invoice for the
same period impossible. Then drafts whose review window ended are finalized (numbered, frozen).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from billing_site.actors import Actor
from billing_site.models import AuditEvent
from billing_site.services.audit import audit_event
from billing_site.services.bulk import bulk_insert_rows, bulk_update_rows, reserve_ids
from invoicing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, InvoiceTax
from invoicing.services.compose import DraftInvoice, draft_compute, invoice_row, line_rows, tax_rows
from invoicing.services.invoices import finalize_locked
from invoicing.services.period_lines import (
    BillingContext,
    fee_lines,
    late_usage_lines,
    late_usage_since,
    pending_for,
    pending_lines,
    subscription_coupons,
    usage_lines,
)
from subscriptions.models import Customer, PendingLine, Subscription, SubscriptionItem, SubscriptionStatus, UsageEvent
from subscriptions.services.lifecycle.due import RENEWAL_FIELDS, next_renewal, renewal_apply
from subscriptions.services.lifecycle.hooks import PeriodStart, SubscriptionEnded
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.subscriptions import subscriptions_process_due

logger = logging.getLogger(__name__)
SYSTEM = Actor.system("billing run")
RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
KIND_BY_REASON = {
    "created": InvoiceKind.SUBSCRIPTION_CREATE,
    "trial_started": InvoiceKind.SUBSCRIPTION_CREATE,
    "renewal": InvoiceKind.SUBSCRIPTION_CYCLE,
    "trial_converted": InvoiceKind.SUBSCRIPTION_CYCLE,
    "resumed": InvoiceKind.SUBSCRIPTION_CYCLE,
}


def review_window() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "INVOICE_REVIEW_MINUTES", 60)))


# --- building ----------------------------------------------------------------------------------


def invoice_for_period(
    *,
    context: BillingContext,
    subscription: Subscription,
    event: PeriodStart,
    items: list[SubscriptionItem],
    pending: list[PendingLine],
    now: dt.datetime,
    late_since: dt.datetime | None = None,
    with_late: bool = True,
) -> DraftInvoice:
    """The invoice for a period that starts: its fees in advance, the previous period's usage in arrears."""
    customer = subscription.customer
    draft = DraftInvoice(
        customer=customer,
        entity=context.entity_for(customer),
        kind=KIND_BY_REASON[event.reason],
        currency=subscription.currency,
        subscription=subscription,
        period_start=event.period_start,
        period_end=event.period_end,
    )
    trial = event.reason == "trial_started"
    draft.lines += fee_lines(context, draft, items, event.period_start, event.period_end, trial=trial)
    if event.previous_start is not None:
        draft.lines += usage_lines(context, draft, items, event.previous_start, event.period_start)
    draft.lines += pending_lines(context, draft, pending)
    if with_late:
        draft.lines += late_usage_lines(context, draft, until=now, since=late_since)
    draft.coupons = [] if trial else subscription_coupons(context, subscription)
    return draft_compute(draft)


def final_invoice(
    *, context: BillingContext, subscription: Subscription, ended: SubscriptionEnded, now: dt.datetime
) -> DraftInvoice:
    """When a subscription ends: the last period's usage, and credits or charges waiting for an invoice."""
    draft = DraftInvoice(
        customer=subscription.customer,
        entity=context.entity_for(subscription.customer),
        kind=InvoiceKind.SUBSCRIPTION_FINAL,
        currency=subscription.currency,
        subscription=subscription,
        period_start=ended.period_start,
        period_end=ended.ended_at,
    )
    items = list(SubscriptionItem.objects.filter(subscription=subscription).order_by("id"))
    if ended.ended_at > ended.period_start:
        draft.lines += usage_lines(context, draft, items, ended.period_start, ended.ended_at)
    pending = [
        *pending_for([subscription.pk], kind="proration", now=now).get(subscription.pk, []),
        *pending_for([subscription.pk], kind="invoice_now", now=now).get(subscription.pk, []),
    ]
    draft.lines += pending_lines(context, draft, pending)
    since = late_usage_since([subscription.pk]).get(subscription.pk)
    draft.lines += late_usage_lines(context, draft, until=now, since=since)
    draft.coupons = subscription_coupons(context, subscription)
    return draft_compute(draft)


# --- writing -----------------------------------------------------------------------------------


@dataclass
class Built:
    draft: DraftInvoice
    usage_through: dt.datetime | None = None
    pending_ids: list[int] = field(default_factory=list)


def drafts_save(built: list[Built], *, now: dt.datetime, actor: Actor) -> list[Invoice]:
    """Write invoices with their lines and tax rows in bulk; mark the pending lines they took as invoiced."""
    window = review_window()
    invoices = [
        invoice_row(
            b.draft,
            now=now,
            collection_method=b.draft.subscription.collection_method if b.draft.subscription else "send_invoice",
            days_until_due=_days_until_due(b.draft),
            auto_finalize_at=now + window,
            usage_through=b.usage_through,
            late_usage_until=now if b.draft.subscription else None,
        )
        for b in built
    ]
    # Finalized at once (no review window): numbered and frozen before they are written, saving an
    # UPDATE per invoice (PostgreSQL, where ids can be taken first; elsewhere finalized after).
    early = not window and reserve_ids(invoices)
    if not early:
        bulk_insert_rows(invoices)
    bulk_insert_rows(
        [_created_event(invoice, b, actor=actor, now=now) for invoice, b in zip(invoices, built, strict=True)]
    )
    if early:
        finalize_locked(invoices, actor=actor, now=now, persist=False)
        bulk_insert_rows(invoices)
    lines: list[InvoiceLine] = []
    taxes: list[InvoiceTax] = []
    for invoice, b in zip(invoices, built, strict=True):
        lines += line_rows(invoice, b.draft)
        taxes += tax_rows(invoice, b.draft)
    bulk_insert_rows(lines)
    bulk_insert_rows(taxes)
    pending_ids = [pk for b in built for pk in b.pending_ids]
    if pending_ids:
        PendingLine.objects.filter(pk__in=pending_ids).update(invoiced_at=now)
    if not window and not early:
        finalize_locked(invoices, actor=actor, now=now)
    return invoices


def _created_event(invoice: Invoice, built: Built, *, actor: Actor, now: dt.datetime) -> AuditEvent:
    return audit_event(
        actor=actor,
        action="invoice.created",
        obj=invoice,
        now=now,
        after={
            "kind": invoice.kind,
            "subscription": invoice.subscription_id,
            "total": invoice.total.amount,
            "lines": len(built.draft.lines),
            **({"on_hold": invoice.hold_reason} if invoice.on_hold else {}),
        },
        label=f"Draft #{invoice.pk}",
    )


def _days_until_due(draft: DraftInvoice) -> int:
    subscription = draft.subscription
    if subscription is not None and subscription.days_until_due is not None:
        return subscription.days_until_due
    return draft.entity.payment_terms_days


def _pending_ids(draft: DraftInvoice) -> list[int]:
    return [line.source["pending_line"] for line in draft.lines if "pending_line" in line.source]


# --- lifecycle hooks (one subscription, inside its transaction) ----------------------------------


def on_period_start(subscription: Subscription, event: PeriodStart) -> None:
    """Registered with the subscription lifecycle: the invoice of a period that just began."""
    kind = KIND_BY_REASON.get(event.reason)
    if kind is None:
        return
    if Invoice.objects.filter(subscription=subscription, period_start=event.period_start, kind=kind).exists():
        return
    context = BillingContext()
    now = event.period_start
    items = list(SubscriptionItem.objects.filter(subscription=subscription).order_by("id"))
    pending = pending_for([subscription.pk], kind="proration", now=now).get(subscription.pk, [])
    since = late_usage_since([subscription.pk]).get(subscription.pk)
    draft = invoice_for_period(
        context=context, subscription=subscription, event=event, items=items, pending=pending, now=now, late_since=since
    )
    through = event.period_start if event.previous_start is not None else None
    drafts_save([Built(draft, through, _pending_ids(draft))], now=now, actor=SYSTEM)


def on_ended(subscription: Subscription, ended: SubscriptionEnded) -> None:
    """Registered with the subscription lifecycle: the final invoice (usage of the last period, credits)."""
    if Invoice.objects.filter(
        subscription=subscription, period_start=ended.period_start, kind=InvoiceKind.SUBSCRIPTION_FINAL
    ).exists():
        return
    draft = final_invoice(context=BillingContext(), subscription=subscription, ended=ended, now=ended.ended_at)
    if not draft.lines:
        return
    drafts_save([Built(draft, ended.ended_at, _pending_ids(draft))], now=ended.ended_at, actor=SYSTEM)


# --- the batched path ----------------------------------------------------------------------------


def _fast_filter(now: dt.datetime) -> Q:
    return Q(
        status__in=RENEWING,
        cancel_at_period_end=False,
        pause_behavior="",
        current_period_end__lte=now,
        customer__test_clock__isnull=True,
    ) & ~Q(scheduled_changes__status="pending")


def _bill_batch(ids: list[int], *, now: dt.datetime, actor: Actor) -> int:
    """Renew and invoice one batch in one transaction; rows another worker holds are skipped."""
    with transaction.atomic():
        customer_ids = sorted(set(Subscription.objects.filter(pk__in=ids).values_list("customer_id", flat=True)))
        customers = {
            c.pk: c
            for c in Customer.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=customer_ids)
            .order_by("pk")
        }
        subscriptions = list(
            Subscription.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_fast_filter(now), pk__in=ids, customer_id__in=list(customers))
            .order_by("pk")
        )
        renewals = []
        for subscription in subscriptions:
            subscription.customer = customers[subscription.customer_id]
            start, end, anchor = next_renewal(subscription)
            if anchor != subscription.billing_cycle_anchor or end <= now:
                continue  # off the anchor's grid, or several periods to catch up: the one-by-one path does it
            renewals.append((subscription, subscription.current_period_start, start, end))
        if not renewals:
            return 0
        context = BillingContext()
        context.preload_entities(customers)
        context.preload_usage([(s, old, start) for s, old, start, _ in renewals])
        sub_ids = [s.pk for s, *_ in renewals]
        items: dict[int, list[SubscriptionItem]] = defaultdict(list)
        for item in SubscriptionItem.objects.filter(subscription_id__in=sub_ids).order_by("subscription_id", "id"):
            items[item.subscription_id].append(item)
        context.prices({i.price_id for rows in items.values() for i in rows})
        pending = pending_for(sub_ids, kind="proration", now=now)
        with_late = set(
            UsageEvent.objects.filter(late=True, subscription_id__in=sub_ids)
            .values_list("subscription_id", flat=True)
            .distinct()
        )
        late_since = late_usage_since(with_late) if with_late else {}
        built: list[Built] = []
        audits: list[AuditEvent] = []
        for subscription, old_start, start, end in renewals:
            before, after = renewal_apply(subscription, at=subscription.current_period_end)
            event = PeriodStart(subscription.pk, start, end, "renewal", previous_start=old_start)
            draft = invoice_for_period(
                context=context,
                subscription=subscription,
                event=event,
                items=items[subscription.pk],
                pending=pending.get(subscription.pk, []),
                now=now,
                late_since=late_since.get(subscription.pk),
                with_late=subscription.pk in with_late,
            )
            built.append(Built(draft, start, _pending_ids(draft)))
            audits.append(
                audit_event(
                    actor=actor,
                    action="subscription.renewed",
                    obj=subscription,
                    now=before["current_period_end"],
                    before=before,
                    after=after,
                    label=f"Subscription #{subscription.pk}",
                )
            )
        bulk_update_rows([s for s, *_ in renewals], [*RENEWAL_FIELDS, "updated_at"])
        bulk_insert_rows(audits)
        drafts_save(built, now=now, actor=actor)
        return len(renewals)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class BillingRunResult:
    renewed_in_batches: int = 0
    lifecycle_events: int = 0
    update_invoices: int = 0
    finalized: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "renewed_in_batches": self.renewed_in_batches,
            "lifecycle_events": self.lifecycle_events,
            "update_invoices": self.update_invoices,
            "finalized": self.finalized,
        }


def billing_run(
    *, now: dt.datetime, actor: Actor = SYSTEM, customers: Iterable[Customer] | None = None, batch_size: int = 500
) -> BillingRunResult:
    """Bill everything due at ``now`` (everyone, or the given customers: a test clock's advance)."""
    result = BillingRunResult()
    if customers is None:
        last = 0
        while True:
            ids = list(
                Subscription.objects.filter(_fast_filter(now), pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            result.renewed_in_batches += _bill_batch(ids, now=now, actor=actor)
            last = ids[-1]
    result.lifecycle_events = len(subscriptions_process_due(now=now, customers=customers, actor=actor))
    result.update_invoices = bill_pending_now(now=now, actor=actor, customers=customers)
    result.finalized = len(finalize_due(now=now, actor=actor, customers=customers))
    return result


def advance_step(*, now: dt.datetime, customers: Iterable[Customer], actor: Actor) -> list[dict[str, object]]:
    """A test clock's advance: after the lifecycle ran, bill what waits and finalize what is due."""
    bill_pending_now(now=now, actor=actor, customers=customers)
    return [
        {
            "subscription_id": invoice.subscription_id,
            "kind": "invoice_finalized",
            "at": invoice.finalized_at,
            "invoice": invoice.number,
            "total": f"{invoice.total.amount} {invoice.currency}",
        }
        for invoice in finalize_due(now=now, actor=actor, customers=customers)
    ]


def bill_pending_now(*, now: dt.datetime, actor: Actor, customers: Iterable[Customer] | None = None) -> int:
    """Lines a change asked to invoice at once ("always invoice"): one invoice per subscription."""
    rows = PendingLine.objects.filter(kind="invoice_now", invoiced_at__isnull=True, created_at__lte=now)
    if customers is not None:
        rows = rows.filter(subscription__customer__in=customers)
    count = 0
    for subscription_id in sorted(set(rows.values_list("subscription_id", flat=True))):
        with transaction.atomic():
            subscription = subscription_lock(subscription_id, skip_locked=customers is None)
            if subscription is None:
                continue
            context = BillingContext()
            pending = pending_for([subscription_id], kind="invoice_now", now=now).get(subscription_id, [])
            if not pending:
                continue
            draft = DraftInvoice(
                customer=subscription.customer,
                entity=context.entity_for(subscription.customer),
                kind=InvoiceKind.SUBSCRIPTION_UPDATE,
                currency=subscription.currency,
                subscription=subscription,
                period_start=min(p.period_start for p in pending),
                period_end=max(p.period_end for p in pending),
            )
            draft.lines = pending_lines(context, draft, pending)
            draft_compute(draft)
            at = max(p.created_at for p in pending)
            drafts_save([Built(draft, None, _pending_ids(draft))], now=at, actor=actor)
            count += 1
    return count


def finalize_due(
    *, now: dt.datetime, actor: Actor, customers: Iterable[Customer] | None = None, batch_size: int = 500
) -> list[Invoice]:
    """Finalize drafts whose review window ended (not on hold), in batches, numbered in time order."""
    base = Invoice.objects.filter(status=InvoiceStatus.DRAFT, on_hold=False, auto_finalize_at__lte=now)
    if customers is not None:
        base = base.filter(customer__in=customers)
    done: list[Invoice] = []
    last = 0
    while True:
        ids = list(base.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return done
        last = ids[-1]
        with transaction.atomic():
            customer_ids = sorted(set(Invoice.objects.filter(pk__in=ids).values_list("customer_id", flat=True)))
            locked_customers = {
                c.pk: c
                for c in Customer.objects.select_for_update(skip_locked=customers is None, of=("self",)).filter(
                    pk__in=customer_ids
                )
            }
            invoices = list(
                Invoice.objects.select_for_update(skip_locked=customers is None, of=("self",))
                .select_related("entity")
                .filter(pk__in=ids, customer_id__in=list(locked_customers), status=InvoiceStatus.DRAFT)
                .order_by("pk")
            )
            for invoice in invoices:
                invoice.customer = locked_customers[invoice.customer_id]
            done += finalize_locked(invoices, actor=actor, now=now, auto=True)
