"""Dunning policies: how finance chases unpaid invoices, and which plans and customers follow which policy.

An invoice follows its customer's policy, else its plan's, else the default one (ADR 0013). There is
always exactly one default: making a policy the default takes the title from the previous one in the
same transaction, and the default itself can be neither un-ticked nor deleted, only replaced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, snapshot
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from catalog.models import Plan
from invoicing.domain.declines import schedule_problems
from invoicing.models import CustomerDunningPolicy, DunningPolicy, DunningStatus, FinalAction, PlanDunningPolicy
from subscriptions.models import Customer

POLICY_FIELDS = {
    "name", "is_default", "retry_days", "max_attempts", "send_reminders", "final_action", "suspend_after_days",
}  # fmt: skip
#: Access is suspended within a year of the first failure, or never.
MAX_SUSPEND_DAYS = 365


def _error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def dunning_policy_problems(policy: DunningPolicy) -> dict[str, list[str]]:
    """What is wrong with the schedule, the attempts and the suspension, per field (empty when all is fine)."""
    problems: dict[str, list[str]] = {}
    attempts = policy.max_attempts
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        problems["max_attempts"] = ["Give the maximum number of attempts as a whole number, for example 5."]
        attempts = 1
    # With one attempt allowed every problem left is about the days; the rest is about the maximum.
    day_problems = schedule_problems(policy.retry_days, 1)
    if day_problems:
        problems["retry_days"] = day_problems
    elif "max_attempts" not in problems:
        attempt_problems = [p for p in schedule_problems(policy.retry_days, attempts) if p not in day_problems]
        if attempt_problems:
            problems["max_attempts"] = attempt_problems
    suspend = policy.suspend_after_days
    if suspend is not None and (isinstance(suspend, bool) or not isinstance(suspend, int)):
        problems["suspend_after_days"] = ["Give the days before access is suspended as a whole number, or nothing."]
    elif suspend is not None and not 0 <= suspend <= MAX_SUSPEND_DAYS:
        problems["suspend_after_days"] = [
            f"Suspend access between 0 and {MAX_SUSPEND_DAYS} days after the first failed payment, "
            "or leave it empty to never suspend it."
        ]
    return problems


def _validate(policy: DunningPolicy, *, actor: Actor, now: dt.datetime) -> None:
    """Check the policy; when it is to be the default, take the title from the previous default first."""
    policy.name = (policy.name or "").strip()
    if not policy.name:
        raise _error("name_required", "name", "Give the policy a name, for example “Enterprise: patient”.")
    taken = DunningPolicy.objects.filter(name__iexact=policy.name).exclude(pk=policy.pk).first()
    if taken is not None:
        raise _error(
            "policy_name_taken", "name", f"A dunning policy called “{taken.name}” already exists: choose another name."
        )
    problems = dunning_policy_problems(policy)
    if problems:
        code = "invalid_retry_schedule" if {"retry_days", "max_attempts"} & set(problems) else "invalid_suspension"
        raise DomainError(code, " ".join(p for texts in problems.values() for p in texts), fields=problems)
    if policy.final_action not in FinalAction.values:
        raise _error(
            "invalid_final_action",
            "final_action",
            "Choose what happens when retries run out: cancel, mark unpaid or leave past due.",
        )
    if policy.is_default:
        _undefault_others(policy, actor=actor, now=now)
    full_clean_or_raise(policy)


def _undefault_others(policy: DunningPolicy, *, actor: Actor, now: dt.datetime) -> None:
    for previous in DunningPolicy.objects.select_for_update().filter(is_default=True).exclude(pk=policy.pk):
        previous.is_default = False
        previous.updated_at = now
        previous.save(update_fields=["is_default", "updated_at"])
        audit_record(
            actor=actor,
            action="dunning_policy.updated",
            obj=previous,
            now=now,
            before={"is_default": True},
            after={"is_default": False},
            reason=f"“{policy.name}” became the default dunning policy.",
        )


@transaction.atomic
def dunning_policy_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> DunningPolicy:
    """A new policy; with ``is_default=True`` it replaces the default at once."""
    return record_create(
        DunningPolicy(created_at=now, updated_at=now),
        fields=fields,
        allowed=POLICY_FIELDS,
        actor=actor,
        now=now,
        action="dunning_policy.created",
        validate=lambda policy: _validate(policy, actor=actor, now=now),
    )


@transaction.atomic
def dunning_policy_update(*, policy: DunningPolicy, actor: Actor, now: dt.datetime, **fields: Any) -> DunningPolicy:
    """Change a policy. Cases already running follow the new schedule from their next step on."""
    # The current default is locked with the policy, in primary-key order, so two "make default" never cross.
    pks = {policy.pk, *DunningPolicy.objects.filter(is_default=True).values_list("pk", flat=True)}
    locked = {p.pk: p for p in DunningPolicy.objects.select_for_update().filter(pk__in=pks).order_by("pk")}
    if policy.pk not in locked:
        raise _error("dunning_policy_not_found", "policy", "This dunning policy was deleted meanwhile.")
    policy = locked[policy.pk]
    if policy.is_default and fields.get("is_default", True) is False:
        raise _error(
            "default_policy_required",
            "is_default",
            f"“{policy.name}” is the default policy: it chases every invoice whose plan and customer have none. "
            "Make another policy the default instead of unticking this one.",
        )
    return record_update(
        policy,
        changes=fields,
        allowed=POLICY_FIELDS,
        actor=actor,
        now=now,
        action="dunning_policy.updated",
        validate=lambda changed: _validate(changed, actor=actor, now=now),
    )


@transaction.atomic
def dunning_policy_delete(*, policy: DunningPolicy, actor: Actor, now: dt.datetime) -> None:
    """Delete a policy nobody is chased under; its plans and customers fall back to the default policy."""
    policy = DunningPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.is_default:
        raise _error(
            "default_policy_required",
            "is_default",
            f"“{policy.name}” is the default policy and cannot be deleted: make another policy the default first.",
        )
    active = policy.cases.filter(status=DunningStatus.ACTIVE).count()
    if active:
        raise DomainError(
            "dunning_policy_in_use",
            f"{active} invoice{'s are' if active != 1 else ' is'} being chased under “{policy.name}”: "
            "the policy can be deleted once their dunning has ended.",
        )
    ended = policy.cases.count()
    if ended:
        raise DomainError(
            "dunning_policy_has_history",
            f"“{policy.name}” chased {ended} invoice{'s' if ended != 1 else ''} before and stays for their history. "
            "To stop using it, remove it from its plans and customers.",
        )
    for plan_link in PlanDunningPolicy.objects.select_related("plan").filter(policy=policy):
        _audit_link(plan_link.plan, "plan.dunning_policy_set", policy, None, actor=actor, now=now)
    for customer_link in CustomerDunningPolicy.objects.select_related("customer").filter(policy=policy):
        _audit_link(customer_link.customer, "customer.dunning_policy_set", policy, None, actor=actor, now=now)
    PlanDunningPolicy.objects.filter(policy=policy).delete()
    CustomerDunningPolicy.objects.filter(policy=policy).delete()
    audit_record(actor=actor, action="dunning_policy.deleted", obj=policy, now=now, before=snapshot(policy))
    policy.delete()


# --- who follows which policy -------------------------------------------------------------------------------


def _audit_link(
    obj: Plan | Customer,
    action: str,
    before: DunningPolicy | None,
    after: DunningPolicy | None,
    *,
    actor: Actor,
    now: dt.datetime,
) -> None:
    """The policy by name: the plan's and the customer's timelines read it without a look-up."""
    audit_record(
        actor=actor,
        action=action,
        obj=obj,
        now=now,
        before={"dunning_policy": before.name if before else None},
        after={"dunning_policy": after.name if after else None},
    )


@transaction.atomic
def dunning_policy_assign_plan(
    *, plan: Plan, policy: DunningPolicy | None, actor: Actor, now: dt.datetime
) -> PlanDunningPolicy | None:
    """Invoices of ``plan`` follow ``policy`` from their next step (None: the default policy again).

    A plan follows one policy: assigning another one replaces it. A customer's own policy comes first.
    """
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    link = PlanDunningPolicy.objects.select_for_update().select_related("policy").filter(plan=plan).first()
    return _assign(
        link,
        policy,
        create=lambda chosen: PlanDunningPolicy.objects.create(plan=plan, policy=chosen),
        audit=lambda before: _audit_link(plan, "plan.dunning_policy_set", before, policy, actor=actor, now=now),
    )


@transaction.atomic
def dunning_policy_assign_customer(
    *, customer: Customer, policy: DunningPolicy | None, actor: Actor, now: dt.datetime
) -> CustomerDunningPolicy | None:
    """``customer``'s invoices follow ``policy`` whatever their plan (None: the plan's or the default again)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    link = CustomerDunningPolicy.objects.select_for_update().select_related("policy").filter(customer=customer).first()
    return _assign(
        link,
        policy,
        create=lambda chosen: CustomerDunningPolicy.objects.create(customer=customer, policy=chosen),
        audit=lambda before: _audit_link(customer, "customer.dunning_policy_set", before, policy, actor=actor, now=now),
    )


def _assign(
    link: Any,
    policy: DunningPolicy | None,
    *,
    create: Callable[[DunningPolicy], Any],
    audit: Callable[[DunningPolicy | None], None],
) -> Any:
    """Point ``link`` (a plan's or a customer's) at ``policy``, create it, or remove it; audit a change."""
    before = link.policy if link is not None else None
    if (before.pk if before else None) == (policy.pk if policy else None):
        return link
    if policy is not None and not DunningPolicy.objects.filter(pk=policy.pk).exists():
        raise _error("dunning_policy_not_found", "policy", "This dunning policy was deleted: choose another one.")
    if policy is None:
        link.delete()
        link = None
    elif link is not None:
        link.policy = policy
        link.save(update_fields=["policy"])
    else:
        link = create(policy)
    audit(before)
    return link
