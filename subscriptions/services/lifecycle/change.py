"""Changing what a subscription holds: plan, prices, quantity, add-ons; now (prorated) or at period end.

The change and its preview run the same pure planning step (``change_plan``), so what the preview
shows is exactly what the change writes.

Proration behaviours (``proration=``)
-------------------------------------
``create_prorations``
    Credit the unused time of what was billed for each changed item, charge the remaining time at
    the new items, each line rounded separately; the lines wait as PendingLines (kind
    ``"proration"``) for the next invoice.
``always_invoice``
    The same lines with kind ``"invoice_now"``: the invoicing issue turns these into an invoice
    straight away instead of waiting for the renewal.
``none``
    No lines: the new items are simply billed from the next period on.

Only items whose price or quantity changes are prorated; metered items never are (their usage is
billed in arrears), nor is anything in a trial (nothing was billed). Changing the billing cycle
(monthly → yearly) is refused: cancel and start a new subscription instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from catalog.models import Plan, PlanVersion, Price
from subscriptions.domain.periods import require_aware
from subscriptions.domain.proration import ProrationLine, prorate_change
from subscriptions.models import (
    PendingLine,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.services.lifecycle.items import (
    PlannedItem,
    billed_period,
    check_items,
    check_quantity,
    current_items,
    explicit_items,
    item_description,
    items_snapshot,
    plan_items,
    prorated_items,
    resolve_plan_version,
)
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.lifecycle.transitions import ENDED

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")
WHEN = ("now", "period_end")

#: ``PendingLine.kind`` values written here. The invoicing issue invoices ``invoice_now`` lines at once.
PENDING_KIND_PRORATION = "proration"
PENDING_KIND_INVOICE_NOW = "invoice_now"

SCHEDULED_CHANGE_TRANSITIONS = {
    ScheduledChangeStatus.PENDING: {ScheduledChangeStatus.APPLIED, ScheduledChangeStatus.CANCELED},
    ScheduledChangeStatus.APPLIED: set(),
    ScheduledChangeStatus.CANCELED: set(),
}


@dataclass(frozen=True)
class ChangePlan:
    """What a change does: the items after it and the proration lines it writes. Nothing saved."""

    subscription: Subscription
    when: str
    proration: str
    effective_at: dt.datetime
    plan_version: PlanVersion | None
    old_items: tuple[PlannedItem, ...]
    items: tuple[PlannedItem, ...]
    lines: tuple[ProrationLine, ...]
    description: str
    request: dict[str, Any]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def pending_kind(self) -> str:
        return PENDING_KIND_INVOICE_NOW if self.proration == "always_invoice" else PENDING_KIND_PRORATION


def _error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, fields={field: message} if field else None)


def _interval_change_error() -> DomainError:
    return _error(
        "interval_change_not_supported",
        "The new prices bill on another cycle than this subscription. Changing the billing cycle is not "
        "supported: cancel this subscription and start a new one.",
    )


def _check_can_change(subscription: Subscription, *, when: str, scheduled: bool) -> None:
    if subscription.status in ENDED:
        raise _error(
            "subscription_canceled",
            f"This subscription is {subscription.get_status_display().lower()}: it cannot change any more. "
            "Create a new subscription instead.",
        )
    if scheduled:
        return
    if when == "now" and subscription.status == SubscriptionStatus.PAUSED:
        raise _error(
            "subscription_paused",
            "This subscription is paused. Resume it first, or schedule the change for the end of the period.",
            "when",
        )
    if when == "period_end":
        if subscription.cancel_at_period_end:
            raise _error(
                "cancellation_scheduled",
                "This subscription cancels at the end of the period, so a change then would never apply. "
                "Reactivate it first.",
                "when",
            )
        if subscription.scheduled_changes.filter(status=ScheduledChangeStatus.PENDING).exists():
            raise _error(
                "change_already_scheduled",
                "A change is already scheduled for the end of the period. Cancel that one first.",
                "when",
            )


def _seats(items: Iterable[PlannedItem]) -> int:
    licensed = [i.quantity for i in items if not i.metered]
    return max(licensed) if licensed else 1


def _describe(
    *,
    version_changed: PlanVersion | None,
    quantity: int | None,
    items: list[PlannedItem] | None,
    addons: list[PlannedItem] | None,
) -> str:
    parts = []
    if version_changed is not None:
        parts.append(f"switch to {version_changed}")
    if quantity is not None:
        parts.append(f"quantity {quantity}")
    if items is not None:
        parts.append("prices " + ", ".join(item_description(i.price, i.quantity) for i in items))
    if addons is not None:
        parts.append(
            ("add-ons " + ", ".join(item_description(i.price, i.quantity) for i in addons)) if addons else "no add-ons"
        )
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _changed(item: PlannedItem, other: dict[int, PlannedItem]) -> bool:
    """The item is not in the other set with the same quantity: it is credited or charged."""
    counterpart = other.get(item.price.pk)
    return counterpart is None or counterpart.quantity != item.quantity


def change_plan(
    subscription: Subscription,
    *,
    now: dt.datetime,
    plan_version: Plan | PlanVersion | None = None,
    items: Iterable[Any] | None = None,
    quantity: int | None = None,
    addons: Iterable[Any] | None = None,
    proration: str = "create_prorations",
    when: str = "now",
    scheduled: bool = False,
) -> ChangePlan:
    """Work out a change without saving anything (``scheduled``: a change applied at its date).

    ``plan_version`` switches the plan (a Plan means its current version); the plan's licensed items
    keep their seats unless ``quantity`` says otherwise. ``items`` replaces the price items that are
    not the plan's, ``addons`` replaces the add-ons (an empty list removes them); ``None`` keeps them.
    """
    require_aware(now, "now")
    if proration not in PRORATION_BEHAVIORS:
        raise _error(
            "invalid_proration", "Choose the proration: create_prorations, always_invoice or none.", "proration"
        )
    if when not in WHEN:
        raise _error("invalid_when", "Choose when the change takes effect: now or period_end.", "when")
    _check_can_change(subscription, when=when, scheduled=scheduled)
    if plan_version is None and items is None and quantity is None and addons is None:
        raise _error("nothing_to_change", "Say what changes: the plan, the prices, the quantity or the add-ons.")
    if quantity is not None:
        check_quantity(quantity)
    check_available = not scheduled

    old = current_items(subscription)
    current_version_id = subscription.plan_version_id
    old_plan = [
        i for i in old if not i.is_addon and current_version_id and i.price.plan_version_id == current_version_id
    ]
    old_explicit = [i for i in old if not i.is_addon and i not in old_plan]
    old_addons = [i for i in old if i.is_addon]

    version = subscription.plan_version
    if plan_version is not None:
        if check_available:
            version = resolve_plan_version(plan_version)
        else:
            version = plan_version if isinstance(plan_version, PlanVersion) else plan_version.current_version
    version_changed = version if version is not None and version.pk != current_version_id else None
    seats = quantity if quantity is not None else _seats(old_plan)

    if version is None:
        new_plan: list[PlannedItem] = []
    elif version_changed is None:
        new_plan = [replace(i, quantity=i.quantity if i.metered else seats) for i in old_plan]
    else:
        try:
            new_plan = plan_items(
                version,
                seats,
                currency=subscription.currency,
                interval=subscription.interval,
                interval_count=subscription.interval_count,
            )
        except DomainError as error:
            if error.code != "plan_interval_not_offered":
                raise
            raise _interval_change_error() from error
    new_explicit = explicit_items(items, is_addon=False, check_available=check_available) if items is not None else None
    if version is None and quantity is not None:
        if new_explicit is not None or not any(not i.metered for i in old_explicit):
            raise _error(
                "quantity_needs_plan",
                "The quantity sets the seats of a plan. Without a plan, give each price item its quantity.",
                "quantity",
            )
        new_explicit = [i if i.metered else replace(i, quantity=quantity) for i in old_explicit]
    new_addons = explicit_items(addons, is_addon=True, check_available=check_available) if addons is not None else None
    new = new_plan + (new_explicit if new_explicit is not None else old_explicit)
    new += new_addons if new_addons is not None else old_addons

    interval = check_items(new, currency=subscription.currency)
    if interval != (subscription.interval, subscription.interval_count):
        raise _interval_change_error()
    old_map = {i.price.pk: i for i in old}
    new_map = {i.price.pk: i for i in new}
    if version_changed is None and old_map == new_map:
        raise _error("nothing_to_change", "The subscription already has exactly these prices and quantities.")

    lines: list[ProrationLine] = []
    if when == "now" and proration != "none" and subscription.status != SubscriptionStatus.TRIALING:
        changed_old = [i for i in old if _changed(i, new_map)]
        changed_new = [i for i in new if _changed(i, old_map)]
        start, end = billed_period(subscription)
        if now < start:
            start = subscription.current_period_start
        lines = prorate_change(
            old=prorated_items(changed_old),
            new=prorated_items(changed_new),
            period_start=start,
            period_end=end,
            at=now,
            currency=subscription.currency,
        )
    request = {
        "plan_version": version_changed.pk if version_changed is not None else None,
        "quantity": quantity,
        "items": [[i.price.pk, i.quantity] for i in new_explicit or ()] if items is not None else None,
        "addons": [[i.price.pk, i.quantity] for i in new_addons] if new_addons is not None else None,
    }
    return ChangePlan(
        subscription=subscription,
        when=when,
        proration=proration,
        effective_at=now if when == "now" else subscription.current_period_end,
        plan_version=version,
        old_items=tuple(old),
        items=tuple(new),
        lines=tuple(lines),
        description=_describe(
            version_changed=version_changed,
            quantity=quantity,
            items=new_explicit if items is not None else None,
            addons=new_addons,
        ),
        request=request,
    )


def lines_snapshot(lines: Iterable[ProrationLine], *, kind: str) -> list[dict[str, Any]]:
    """Pending lines as the audit trail records them."""
    return [{"description": line.description, "amount": str(line.amount), "kind": kind} for line in lines]


def change_apply(plan: ChangePlan, *, actor: Actor, now: dt.datetime, reason: str = "") -> list[PendingLine]:
    """Write a planned change: items, plan version, pending lines, one audit event. Subscription locked."""
    subscription = plan.subscription
    wanted = {i.price.pk: i for i in plan.items}
    stored = {item.price_id: item for item in SubscriptionItem.objects.filter(subscription=subscription)}
    SubscriptionItem.objects.filter(subscription=subscription).exclude(price_id__in=wanted).delete()
    for price_id, item in wanted.items():
        row = stored.get(price_id)
        if row is None:
            SubscriptionItem.objects.create(
                subscription=subscription,
                price=item.price,
                quantity=item.quantity,
                is_addon=item.is_addon,
                created_at=now,
            )
        elif (row.quantity, row.is_addon) != (item.quantity, item.is_addon):
            row.quantity, row.is_addon = item.quantity, item.is_addon
            row.save(update_fields=["quantity", "is_addon"])
    before_version = subscription.plan_version_id
    subscription.plan_version = plan.plan_version
    subscription.updated_at = now
    subscription.save(update_fields=["plan_version", "updated_at"])
    lines = PendingLine.objects.bulk_create(
        PendingLine(
            subscription=subscription,
            price_id=line.price_id,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            currency=subscription.currency,
            period_start=line.period_start,
            period_end=line.period_end,
            proration=True,
            kind=plan.pending_kind,
            created_at=now,
        )
        for line in plan.lines
    )
    audit_record(
        actor=actor,
        action="subscription.changed",
        obj=subscription,
        now=now,
        before={"plan_version": before_version, "items": items_snapshot(plan.old_items)},
        after={
            "plan_version": subscription.plan_version_id,
            "items": items_snapshot(plan.items),
            "proration": plan.proration,
            "pending_lines": lines_snapshot(plan.lines, kind=plan.pending_kind),
        },
        reason=reason or plan.description,
    )
    return lines


def scheduled_change_transition(
    change: ScheduledChange, *, to: ScheduledChangeStatus, actor: Actor, now: dt.datetime, reason: str = ""
) -> None:
    """Pending → applied | canceled, audited on the subscription's timeline. The caller saves."""
    if to not in SCHEDULED_CHANGE_TRANSITIONS[ScheduledChangeStatus(change.status)]:
        raise _error("invalid_transition", f"This scheduled change is already {change.get_status_display().lower()}.")
    before = change.status
    change.status = to
    change.resolved_at = now
    audit_record(
        actor=actor,
        action=f"subscription.scheduled_change_{to.value}",
        obj=change.subscription,
        now=now,
        before={"scheduled_change": change.pk, "status": before},
        after={"scheduled_change": change.pk, "status": to.value},
        reason=reason or change.description,
    )


def _schedule(plan: ChangePlan, *, actor: Actor, now: dt.datetime) -> ScheduledChange:
    subscription = plan.subscription
    change = ScheduledChange.objects.create(
        subscription=subscription,
        effective_at=plan.effective_at,
        description=plan.description[:300],
        change=plan.request,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="subscription.change_scheduled",
        obj=subscription,
        now=now,
        after={"scheduled_change": change.pk, "effective_at": change.effective_at, "change": change.change},
        reason=change.description,
    )
    return change


@transaction.atomic
def subscription_change(
    *,
    subscription: Subscription,
    actor: Actor,
    now: dt.datetime,
    plan_version: Plan | PlanVersion | None = None,
    items: Iterable[Any] | None = None,
    quantity: int | None = None,
    addons: Iterable[Any] | None = None,
    proration: str = "create_prorations",
    when: str = "now",
) -> Subscription:
    """Change the plan, prices, quantity or add-ons: now (prorated) or at the period end (scheduled).

    ``when="period_end"`` stores a ScheduledChange (one per subscription: ``change_already_scheduled``
    otherwise; ``subscription_cancel_scheduled_change`` removes it) that the renewal applies without
    proration. See the module docstring for ``proration``.
    """
    locked = subscription_lock(subscription)
    assert locked is not None
    plan = change_plan(
        locked,
        now=now,
        plan_version=plan_version,
        items=items,
        quantity=quantity,
        addons=addons,
        proration=proration,
        when=when,
    )
    if when == "period_end":
        _schedule(plan, actor=actor, now=now)
    else:
        change_apply(plan, actor=actor, now=now)
    return locked


def subscription_preview_change(
    *,
    subscription: Subscription,
    actor: Actor,
    now: dt.datetime,
    plan_version: Plan | PlanVersion | None = None,
    items: Iterable[Any] | None = None,
    quantity: int | None = None,
    addons: Iterable[Any] | None = None,
    proration: str = "create_prorations",
    when: str = "now",
) -> ChangePlan:
    """What ``subscription_change`` with the same arguments would do, without saving anything."""
    fresh = Subscription.objects.select_related("customer", "plan_version__plan").get(pk=subscription.pk)
    return change_plan(
        fresh,
        now=now,
        plan_version=plan_version,
        items=items,
        quantity=quantity,
        addons=addons,
        proration=proration,
        when=when,
    )


def _pending_change(subscription: Subscription) -> ScheduledChange | None:
    return (
        ScheduledChange.objects.select_for_update(of=("self",))
        .filter(subscription=subscription, status=ScheduledChangeStatus.PENDING)
        .first()
    )


@transaction.atomic
def subscription_cancel_scheduled_change(*, subscription: Subscription, actor: Actor, now: dt.datetime) -> Subscription:
    """Drop the change waiting for the period end; the subscription stays as it is."""
    locked = subscription_lock(subscription)
    assert locked is not None
    change = _pending_change(locked)
    if change is None:
        raise _error("no_scheduled_change", "No change is scheduled for this subscription.")
    change.subscription = locked
    scheduled_change_transition(change, to=ScheduledChangeStatus.CANCELED, actor=actor, now=now)
    change.save(update_fields=["status", "resolved_at"])
    return locked


def scheduled_change_apply(subscription: Subscription, *, at: dt.datetime, actor: Actor) -> ScheduledChange | None:
    """Apply the pending change due by ``at`` (a period boundary), without proration. Subscription locked.

    A change that can no longer be applied (a price of another currency since…) is canceled with the
    reason in the audit trail rather than blocking the renewal.
    """
    change = _pending_change(subscription)
    if change is None or change.effective_at > at:
        return None
    change.subscription = subscription
    request = change.change
    try:
        plan = change_plan(
            subscription,
            now=at,
            plan_version=PlanVersion.objects.get(pk=request["plan_version"]) if request.get("plan_version") else None,
            items=_stored_pairs(request.get("items")),
            quantity=request.get("quantity"),
            addons=_stored_pairs(request.get("addons")),
            proration="none",
            when="now",
            scheduled=True,
        )
    except DomainError as error:
        if error.code != "nothing_to_change":
            scheduled_change_transition(
                change, to=ScheduledChangeStatus.CANCELED, actor=actor, now=at, reason=f"Not applied: {error.message}"
            )
            change.save(update_fields=["status", "resolved_at"])
            return change
    else:
        change_apply(plan, actor=actor, now=at, reason=f"Scheduled change: {change.description}")
    scheduled_change_transition(change, to=ScheduledChangeStatus.APPLIED, actor=actor, now=at)
    change.save(update_fields=["status", "resolved_at"])
    return change


def _stored_pairs(pairs: list[list[int]] | None) -> list[tuple[Price, int]] | None:
    if pairs is None:
        return None
    prices = Price.objects.select_related("product", "plan_version").in_bulk([pk for pk, _ in pairs])
    return [(prices[pk], quantity) for pk, quantity in pairs]
