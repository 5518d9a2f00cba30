"""Dunning: chasing an unpaid invoice until it is paid or the policy gives up, and the collection run.

A ``DunningCase`` starts at the first failed charge (or when a send-invoice invoice passes its due
date) and follows its ``DunningPolicy``: the schedule's days count from the start; on each day a retry
is made while attempts remain and the last decline was soft, otherwise the customer is reminded.
Access is suspended ``suspend_after_days`` after the start; when the schedule ends unpaid, the final
action is taken. A payment ends the case at once (recovered) and reactivates the subscription; a new
payment method retries at once. Every step is an audit event on the invoice (its timeline).

``collection_run`` does whatever is due, in time order: first charges not made yet, answers that never
came back, invoices that became overdue, dunning steps and suspensions. For a test clock it walks the
clock's jump event by event, so that a jump of ten days makes each retry on its own day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from billing_site.actors import Actor
from billing_site.services.audit import audit_record
from invoicing.domain.declines import HARD
from invoicing.models import (
    AttemptStatus,
    AttemptTrigger,
    CustomerDunningPolicy,
    DunningCase,
    DunningPolicy,
    DunningStatus,
    FinalAction,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PlanDunningPolicy,
)
from invoicing.services.collection import (
    COLLECTABLE,
    IN_FLIGHT,
    Locked,
    _enqueue,
    attempt_ask_again,
    attempts_cancel,
    collection_lock,
    default_payment_method,
    invoice_collect,
)
from subscriptions.models import CollectionMethod, Customer, Subscription, SubscriptionStatus
from subscriptions.services.lifecycle.transitions import subscription_transition

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
#: An attempt with no answer after this long is asked about again (same idempotency key).
LOST_AFTER = dt.timedelta(minutes=10)
#: Subscription statuses that a failed payment moves to past due.
GOES_PAST_DUE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
OPEN_CASE = Q(status=DunningStatus.ACTIVE) | Q(status=DunningStatus.EXHAUSTED, invoice__status__in=COLLECTABLE)


# --- policy ----------------------------------------------------------------------------------------


def dunning_policy_default() -> DunningPolicy:
    """The default policy (a migration creates "Standard"; recreated if someone removed every default)."""
    policy = DunningPolicy.objects.filter(is_default=True).first()
    if policy is not None:
        return policy
    from billing_site import clock

    now = clock.now()
    policy, _ = DunningPolicy.objects.get_or_create(
        name="Standard",
        defaults={
            "is_default": True,
            "retry_days": [1, 3, 5, 7],
            "max_attempts": 5,
            "created_at": now,
            "updated_at": now,
        },
    )
    return policy


def dunning_policy_for(*, customer: Customer, subscription: Subscription | None) -> DunningPolicy:
    """The customer's policy, else the plan's, else the default."""
    link = CustomerDunningPolicy.objects.filter(customer=customer).select_related("policy").first()
    if link is not None:
        return link.policy
    version = subscription.plan_version if subscription is not None else None
    if version is not None:
        plan_link = PlanDunningPolicy.objects.filter(plan_id=version.plan_id).select_related("policy").first()
        if plan_link is not None:
            return plan_link.policy
    return dunning_policy_default()


def _step_at(case: DunningCase, step: int) -> dt.datetime | None:
    days = case.policy.retry_days
    return case.started_at + dt.timedelta(days=days[step]) if step < len(days) else None


def _attempts(invoice: Invoice) -> int:
    return PaymentAttempt.objects.filter(invoice=invoice).exclude(status=AttemptStatus.CANCELED).count()


def _next_retry_at(case: DunningCase, invoice: Invoice) -> dt.datetime | None:
    """When the next automatic retry will be made, if one will."""
    if case.needs_payment_method or invoice.collection_method != CollectionMethod.CHARGE_AUTOMATICALLY:
        return None
    if _attempts(invoice) >= case.policy.max_attempts:
        return None
    return case.next_step_at


def _audit(case: DunningCase, invoice: Invoice, *, action: str, actor: Actor, now: dt.datetime, **after) -> None:
    audit_record(
        actor=actor, action=f"dunning.{action}", obj=invoice, now=now, after={"policy": case.policy.name, **after}
    )


# --- starting and failing --------------------------------------------------------------------------


def _open_case(locked: Locked, *, now: dt.datetime, started_at: dt.datetime | None = None) -> DunningCase:
    policy = dunning_policy_for(customer=locked.customer, subscription=locked.subscription)
    start = started_at or now
    case = DunningCase(
        invoice=locked.invoice,
        customer=locked.customer,
        subscription=locked.subscription,
        policy=policy,
        started_at=start,
        currency=locked.invoice.currency,
        amount_at_risk=locked.invoice.amount_due.amount,
    )
    case.next_step_at = _step_at(case, 0)
    if policy.suspend_after_days is not None:
        case.suspend_at = start + dt.timedelta(days=policy.suspend_after_days)
    case.save()
    return case


def _past_due(locked: Locked, *, actor: Actor, now: dt.datetime, reason: str) -> None:
    subscription = locked.subscription
    if subscription is not None and subscription.status in GOES_PAST_DUE:
        subscription_transition(subscription, to=SubscriptionStatus.PAST_DUE, actor=actor, now=now, reason=reason)
        subscription.updated_at = now
        subscription.save(update_fields=["status", "updated_at"])


def dunning_on_failure(
    locked: Locked, *, attempt: PaymentAttempt | None, actor: Actor, now: dt.datetime
) -> DunningCase | None:
    """A charge failed, waits for authentication, or could not be made (no payment method): start or continue."""
    invoice = locked.invoice
    case = DunningCase.objects.select_for_update().filter(invoice=invoice).first()
    if case is not None and case.status != DunningStatus.ACTIVE:
        return case  # a retry finance asked for after dunning ended: the failure is on the timeline already
    new = case is None
    if case is None:
        case = _open_case(locked, now=now)
    waiting = attempt is not None and attempt.status == AttemptStatus.REQUIRES_ACTION
    hard = attempt is None or attempt.decline_type == HARD
    if not waiting:
        case.last_decline_code = (attempt.decline_code or attempt.failure_code) if attempt else "payment_method_missing"
        case.needs_payment_method = case.needs_payment_method or hard
    case.save()
    if new:
        _audit(
            case, invoice, action="started", actor=actor, now=now,
            amount_at_risk=str(case.amount_at_risk.amount), next_step=case.next_step_at,
        )  # fmt: skip
        _past_due(locked, actor=actor, now=now, reason=f"Invoice {invoice.number} is unpaid.")
    if not waiting and case.policy.send_reminders:
        if hard:
            reason = "no_payment_method" if attempt is None else "hard_decline"
            _email("payment_method_required", invoice.pk, reason, case.step)
        else:
            retry_at = _next_retry_at(case, invoice)
            _email("payment_failed", attempt.pk, retry_at.isoformat() if retry_at else None)  # type: ignore[union-attr]
    _maybe_suspend(case, locked, actor=actor, now=now)
    if case.next_step_at is None and not waiting:
        _exhaust(case, locked, actor=actor, now=now)
    return case


def _email(kind: str, *args: object) -> None:
    transaction.on_commit(lambda: _enqueue("invoicing.tasks.dunning_email_task", kind, *args))


# --- steps -----------------------------------------------------------------------------------------


def _maybe_suspend(case: DunningCase, locked: Locked, *, actor: Actor, now: dt.datetime) -> None:
    if case.suspend_at is None or case.access_suspended_at is not None or case.suspend_at > now:
        return
    case.access_suspended_at = now
    case.save(update_fields=["access_suspended_at"])
    subscription = locked.subscription
    if subscription is not None and subscription.access_suspended_at is None:
        subscription.access_suspended_at = now
        subscription.save(update_fields=["access_suspended_at"])
    _audit(case, locked.invoice, action="access_suspended", actor=actor, now=now)
    _email("dunning_final", locked.invoice.pk, "suspend")


def _exhaust(case: DunningCase, locked: Locked, *, actor: Actor, now: dt.datetime) -> None:
    """The schedule ended unpaid: take the policy's final action."""
    action = case.policy.final_action
    case.status = DunningStatus.EXHAUSTED
    case.ended_at = now
    case.next_step_at = None
    case.final_action_taken = action
    case.save()
    subscription = locked.subscription
    reason = f"Invoice {locked.invoice.number} stayed unpaid after dunning."
    if subscription is not None and subscription.status in (SubscriptionStatus.PAST_DUE, *GOES_PAST_DUE):
        if action == FinalAction.CANCEL:
            from subscriptions.services.lifecycle.cancel import subscription_end

            subscription_end(subscription, actor=actor, at=now, reason_code="payment_failed", reason_text=reason)
        elif action == FinalAction.MARK_UNPAID and subscription.status == SubscriptionStatus.PAST_DUE:
            subscription_transition(subscription, to=SubscriptionStatus.UNPAID, actor=actor, now=now, reason=reason)
            subscription.access_suspended_at = subscription.access_suspended_at or now
            subscription.updated_at = now
            subscription.save(update_fields=["status", "access_suspended_at", "updated_at"])
    _audit(case, locked.invoice, action="exhausted", actor=actor, now=now, final_action=action)
    _email("dunning_final", locked.invoice.pk, action)


@dataclass
class StepOutcome:
    retry: bool = False
    at: dt.datetime | None = None


@transaction.atomic
def _dunning_step(case_id: int, *, actor: Actor, now: dt.datetime) -> StepOutcome:
    """The case's next scheduled day (or its suspension) has come: retry, remind, suspend or give up."""
    invoice_id = DunningCase.objects.values_list("invoice_id", flat=True).get(pk=case_id)
    locked = collection_lock(invoice_id)
    case = DunningCase.objects.select_for_update().select_related("policy").get(pk=case_id)
    invoice = locked.invoice
    if case.status != DunningStatus.ACTIVE:
        return StepOutcome()
    if invoice.status not in COLLECTABLE or invoice.amount_due.amount <= 0:
        _close(case, locked, actor=actor, now=now)
        return StepOutcome()
    _maybe_suspend(case, locked, actor=actor, now=now)
    if case.next_step_at is None or case.next_step_at > now:
        return StepOutcome()
    case.step += 1
    case.next_step_at = _step_at(case, case.step)
    while case.next_step_at is not None and case.next_step_at <= now:  # after downtime: one step, not a burst
        case.step += 1
        case.next_step_at = _step_at(case, case.step)
    case.save(update_fields=["step", "next_step_at"])
    automatic = invoice.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
    in_flight = PaymentAttempt.objects.filter(invoice=invoice, status__in=IN_FLIGHT).first()
    retry = (
        automatic
        and not case.needs_payment_method
        and _attempts(invoice) < case.policy.max_attempts
        and default_payment_method(locked.customer) is not None
        and (in_flight is None or in_flight.status == AttemptStatus.REQUIRES_ACTION)
    )
    if retry and in_flight is not None:  # still not authenticated: a new try, and a new link for the customer
        attempts_cancel(
            PaymentAttempt.objects.filter(pk=in_flight.pk),
            now=now,
            why="Not authenticated in time; a new attempt was made.",
        )
    _audit(case, invoice, action="step", actor=actor, now=now, step=case.step, retry=retry, next_step=case.next_step_at)
    if retry:
        return StepOutcome(retry=True, at=now)
    if case.policy.send_reminders:
        if automatic and case.needs_payment_method:
            reason = "no_payment_method" if case.last_decline_code == "payment_method_missing" else "hard_decline"
            _email("payment_method_required", invoice.pk, reason, case.step)
        else:
            _email("invoice_overdue", invoice.pk, case.step + (0 if automatic else 1))
    if case.next_step_at is None:
        _exhaust(case, locked, actor=actor, now=now)
    return StepOutcome()


@transaction.atomic
def _overdue_start(invoice_id: int, *, actor: Actor, now: dt.datetime) -> None:
    """A send-invoice invoice passed its due date unpaid: dunning starts at the due date, with a first reminder."""
    locked = collection_lock(invoice_id)
    invoice = locked.invoice
    if (
        invoice.status not in COLLECTABLE
        or invoice.amount_due.amount <= 0
        or DunningCase.objects.filter(invoice=invoice).exists()
    ):
        return
    case = _open_case(locked, now=now, started_at=invoice.due_at)
    _audit(case, invoice, action="started", actor=actor, now=now, overdue_since=invoice.due_at,
           amount_at_risk=str(case.amount_at_risk.amount), next_step=case.next_step_at)  # fmt: skip
    _past_due(locked, actor=actor, now=now, reason=f"Invoice {invoice.number} is overdue.")
    if case.policy.send_reminders:
        _email("invoice_overdue", invoice.pk, 1)
    _maybe_suspend(case, locked, actor=actor, now=now)
    if case.next_step_at is None:
        _exhaust(case, locked, actor=actor, now=now)


# --- ending ----------------------------------------------------------------------------------------


def _reactivate(locked: Locked, case: DunningCase, *, actor: Actor, now: dt.datetime) -> None:
    subscription = locked.subscription
    if subscription is None:
        return
    others = DunningCase.objects.filter(OPEN_CASE, subscription=subscription).exclude(pk=case.pk)
    if others.exists():
        return
    fields = []
    if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        subscription_transition(
            subscription, to=SubscriptionStatus.ACTIVE, actor=actor, now=now,
            reason=f"Invoice {locked.invoice.number} was settled.",
        )  # fmt: skip
        fields.append("status")
    if subscription.access_suspended_at is not None:
        subscription.access_suspended_at = None
        fields.append("access_suspended_at")
    if fields:
        subscription.updated_at = now
        subscription.save(update_fields=[*fields, "updated_at"])


def dunning_recover(locked: Locked, *, actor: Actor, now: dt.datetime) -> DunningCase | None:
    """The invoice is paid: its case (if any) is recovered and the subscription active again."""
    case = DunningCase.objects.select_for_update().filter(invoice=locked.invoice).first()
    if case is None or case.status in (DunningStatus.RECOVERED, DunningStatus.CLOSED):
        return case
    received = (
        Payment.objects.filter(invoice=locked.invoice, received_at__gte=case.started_at).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )
    case.amount_recovered = min(Decimal(received), case.amount_at_risk.amount)
    case.status = DunningStatus.RECOVERED
    case.ended_at = now
    case.next_step_at = None
    case.needs_payment_method = False
    case.save()
    _audit(case, locked.invoice, action="recovered", actor=actor, now=now, recovered=str(case.amount_recovered.amount))
    _reactivate(locked, case, actor=actor, now=now)
    return case


def _close(case: DunningCase, locked: Locked, *, actor: Actor, now: dt.datetime) -> None:
    """The invoice was voided, written off or credited: nothing left to chase."""
    if locked.invoice.status == InvoiceStatus.PAID:
        dunning_recover(locked, actor=actor, now=now)
        return
    case.status = DunningStatus.CLOSED
    case.ended_at = now
    case.next_step_at = None
    case.save()
    _audit(case, locked.invoice, action="closed", actor=actor, now=now, invoice_status=locked.invoice.status)
    _reactivate(locked, case, actor=actor, now=now)


# --- a new payment method ----------------------------------------------------------------------------


def collection_on_new_payment_method(*, customer: Customer, actor: Actor, now: dt.datetime) -> list[PaymentAttempt]:
    """A new default payment method: retry at once every invoice it could pay (dunning or not yet charged)."""
    invoices = (
        Invoice.objects.filter(customer=customer, status__in=COLLECTABLE, amount_due__gt=0)
        .filter(Q(dunning__status=DunningStatus.ACTIVE) | Q(collection_method=CollectionMethod.CHARGE_AUTOMATICALLY, dunning__isnull=True))
        .order_by("due_at", "pk")
    )  # fmt: skip
    attempts = []
    for invoice in invoices:
        with transaction.atomic():
            locked = collection_lock(invoice.pk)
            case = DunningCase.objects.select_for_update().filter(invoice=invoice).first()
            if case is not None and case.needs_payment_method:
                case.needs_payment_method = False
                case.save(update_fields=["needs_payment_method"])
            attempts_cancel(
                PaymentAttempt.objects.filter(invoice=invoice, status=AttemptStatus.REQUIRES_ACTION),
                now=now,
                why="Replaced by a payment with the new payment method.",
            )
            if case is not None:
                _audit(case, locked.invoice, action="payment_method_updated", actor=actor, now=now)
        attempt = invoice_collect(invoice=invoice, actor=actor, now=now, trigger=AttemptTrigger.PAYMENT_METHOD_UPDATED)
        if attempt is not None:
            attempts.append(attempt)
    return attempts


# --- the collection run ------------------------------------------------------------------------------


@dataclass
class CollectionRun:
    charged: int = 0
    asked_again: int = 0
    overdue: int = 0
    steps: int = 0
    retries: int = 0
    events: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ("charged", "asked_again", "overdue", "steps", "retries")}


def _scoped(queryset, customers: Iterable[Customer] | None, path: str = "customer"):
    if customers is None:
        return queryset.filter(**{f"{path}__test_clock__isnull": True})
    return queryset.filter(**{f"{path}__in": list(customers)})


def _next_event(now: dt.datetime, customers: Iterable[Customer] | None) -> tuple[dt.datetime, str, int] | None:
    """The earliest thing due at or before ``now``: (when, what, id)."""
    candidates: list[tuple[dt.datetime, str, int]] = []
    first = (
        _scoped(Invoice.objects, customers)
        .filter(
            status=InvoiceStatus.OPEN,
            collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
            amount_due__gt=0,
            finalized_at__lte=now,
            payment_attempts__isnull=True,
            dunning__isnull=True,
        )
        .exclude(subscription__pause_behavior__gt="")
        .order_by("finalized_at", "pk")
        .values_list("finalized_at", "pk")
        .first()
    )
    if first:
        candidates.append((first[0], "charge", first[1]))
    overdue = (
        _scoped(Invoice.objects, customers)
        .filter(
            status=InvoiceStatus.OPEN,
            collection_method=CollectionMethod.SEND_INVOICE,
            amount_due__gt=0,
            due_at__lt=now,
            dunning__isnull=True,
        )
        .order_by("due_at", "pk")
        .values_list("due_at", "pk")
        .first()
    )
    if overdue:
        candidates.append((overdue[0], "overdue", overdue[1]))
    cases = _scoped(DunningCase.objects, customers).filter(status=DunningStatus.ACTIVE)
    step = cases.filter(next_step_at__lte=now).order_by("next_step_at", "pk").values_list("next_step_at", "pk").first()
    if step:
        candidates.append((step[0], "step", step[1]))
    suspend = (
        cases.filter(suspend_at__lte=now, access_suspended_at__isnull=True)
        .order_by("suspend_at", "pk")
        .values_list("suspend_at", "pk")
        .first()
    )
    if suspend:
        candidates.append((suspend[0], "step", suspend[1]))
    return min(candidates) if candidates else None


def collection_run(*, now: dt.datetime, actor: Actor, customers: Iterable[Customer] | None = None) -> CollectionRun:
    """Everything collection has to do up to ``now``, in time order. Safe to run twice, and in parallel.

    ``customers`` (a test clock's) are processed at each event's own time; without it, every live
    customer is processed now.
    """
    customers = list(customers) if customers is not None else None
    run = CollectionRun()
    lost = _scoped(PaymentAttempt.objects, customers).filter(
        status=AttemptStatus.PENDING, created_at__lt=now - LOST_AFTER
    )
    for attempt in lost.order_by("pk"):
        attempt_ask_again(attempt=attempt, actor=actor, now=now)
        run.asked_again += 1
    _close_settled(now=now, actor=actor, customers=customers)
    seen: set[tuple[str, int, dt.datetime]] = set()
    while (event := _next_event(now, customers)) is not None:
        when, what, pk = event
        if (what, pk, when) in seen:  # nothing changed: do not loop on it
            logger.warning("Collection: %s %s at %s made no progress; left for the next run", what, pk, when)
            break
        seen.add((what, pk, when))
        at = when if customers is not None else now
        if what == "charge":
            invoice = Invoice.objects.get(pk=pk)
            invoice_collect(
                invoice=invoice, actor=actor, now=max(at, invoice.finalized_at or at), trigger=AttemptTrigger.SWEEP
            )
            run.charged += 1
        elif what == "overdue":
            _overdue_start(pk, actor=actor, now=at)
            run.overdue += 1
        else:
            outcome = _dunning_step(pk, actor=actor, now=at)
            run.steps += 1
            if outcome.retry:
                case = DunningCase.objects.select_related("invoice").get(pk=pk)
                invoice_collect(invoice=case.invoice, actor=actor, now=at, trigger=AttemptTrigger.RETRY)
                run.retries += 1
        run.events.append({"kind": f"collection_{what}", "at": at, "id": pk})
    return run


def _close_settled(*, now: dt.datetime, actor: Actor, customers: list[Customer] | None) -> None:
    """Cases whose invoice was paid, voided or written off some other way end now."""
    stale = (
        _scoped(DunningCase.objects, customers)
        .filter(status=DunningStatus.ACTIVE)
        .exclude(invoice__status=InvoiceStatus.OPEN, invoice__amount_due__gt=0)
    )
    for case_id, invoice_id in stale.values_list("pk", "invoice_id"):
        with transaction.atomic():
            locked = collection_lock(invoice_id)
            case = DunningCase.objects.select_for_update().get(pk=case_id)
            if case.status == DunningStatus.ACTIVE:
                _close(case, locked, actor=actor, now=now)


def advance_step(*, now: dt.datetime, customers: Iterable[Customer], actor: Actor) -> list[dict]:
    """A test clock's advance: collect, retry and remind as the clock's time passes."""
    return collection_run(now=now, actor=actor, customers=customers).events
