"""Plans and their versions: draft → published (immutable) → archived."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, snapshot
from billing_site.services.records import record_create, record_update
from catalog.models import Plan, PlanVersion, PlanVersionStatus, Price, RateWindow, Tier
from catalog.services.prices import price_validate

PLAN_FIELDS = {"code", "name", "description", "active"}

# The one table of allowed moves; plan_version_transition is the only code that assigns status.
PLAN_VERSION_TRANSITIONS = {
    PlanVersionStatus.DRAFT: {PlanVersionStatus.PUBLISHED},
    PlanVersionStatus.PUBLISHED: {PlanVersionStatus.ARCHIVED},
    PlanVersionStatus.ARCHIVED: set(),
}


@transaction.atomic
def plan_create(*, actor: Actor, now: dt.datetime, notes: str = "", **fields: Any) -> Plan:
    """A new plan comes with its first draft version, ready for prices."""
    plan = record_create(
        Plan(created_at=now, updated_at=now),
        fields=fields,
        allowed=PLAN_FIELDS,
        actor=actor,
        now=now,
        action="plan.created",
    )
    _version_create(plan=plan, actor=actor, now=now, notes=notes)
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, actor: Actor, now: dt.datetime, **changes: Any) -> Plan:
    return record_update(
        Plan.objects.select_for_update().get(pk=plan.pk),
        changes=changes,
        allowed=PLAN_FIELDS,
        actor=actor,
        now=now,
        action="plan.updated",
        check=_check_plan_code_unused,
    )


def _check_plan_code_unused(plan: Plan, changed: list[str]) -> None:
    if "code" in changed and plan.versions.exclude(status="draft").exists():
        raise DomainError(
            "plan_code_in_use", "The code of a plan with published versions cannot change.", fields={"code": "In use."}
        )


def _version_create(*, plan: Plan, actor: Actor, now: dt.datetime, notes: str = "") -> PlanVersion:
    if plan.versions.filter(status=PlanVersionStatus.DRAFT).exists():
        draft = plan.versions.get(status=PlanVersionStatus.DRAFT)
        raise DomainError(
            "draft_exists",
            f"{draft} is already a draft. Edit it, or publish it, before starting another one.",
        )
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = PlanVersion.objects.create(plan=plan, number=number, notes=notes, created_at=now)
    audit_record(actor=actor, action="plan_version.created", obj=version, now=now, after=snapshot(version))
    return version


@transaction.atomic
def plan_version_new_draft(
    *, plan: Plan, actor: Actor, now: dt.datetime, from_version: PlanVersion | None = None, notes: str = ""
) -> PlanVersion:
    """A draft copy of a version (by default the current published one), to change prices safely."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    source = from_version or plan.current_version
    if source is not None and source.plan_id != plan.pk:
        raise DomainError("wrong_plan", f"{source} belongs to another plan.")
    version = _version_create(
        plan=plan, actor=actor, now=now, notes=notes or (f"Copied from v{source.number}" if source else "")
    )
    if source is not None:
        for price in source.prices.prefetch_related("tiers", "rate_windows"):
            tiers, windows = list(price.tiers.all()), list(price.rate_windows.all())
            price.pk = None
            price.plan_version = version
            price.created_at = price.updated_at = now
            price.save()
            Tier.objects.bulk_create(
                Tier(
                    price=price,
                    position=t.position,
                    up_to=t.up_to,
                    unit_amount=t.unit_amount,
                    flat_amount=t.flat_amount,
                )
                for t in tiers
            )
            RateWindow.objects.bulk_create(
                RateWindow(
                    price=price, name=w.name, start_time=w.start_time, end_time=w.end_time, unit_amount=w.unit_amount
                )
                for w in windows
            )
    return version


def plan_version_check_transition(version: PlanVersion, *, to: PlanVersionStatus) -> None:
    """Raise ``invalid_transition`` unless the table allows the move (checked before any other rule)."""
    allowed = PLAN_VERSION_TRANSITIONS[PlanVersionStatus(version.status)]
    if to not in allowed:
        raise DomainError(
            "invalid_transition",
            f"{version} is {version.get_status_display().lower()} and cannot become {to.label.lower()}.",
        )


def plan_version_transition(
    version: PlanVersion, *, to: PlanVersionStatus, actor: Actor, now: dt.datetime, reason: str = ""
) -> None:
    plan_version_check_transition(version, to=to)
    before = {"status": version.status}
    version.status = to
    audit_record(
        actor=actor,
        action=f"plan_version.{to.value}",
        obj=version,
        now=now,
        before=before,
        after={"status": to.value},
        reason=reason,
    )


@transaction.atomic
def plan_version_publish(*, version: PlanVersion, actor: Actor, now: dt.datetime) -> PlanVersion:
    """Freeze a draft. Every price is checked again, so nothing invalid can be sold."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    # A published or archived version is refused as such, not as "its prices cannot be edited".
    plan_version_check_transition(version, to=PlanVersionStatus.PUBLISHED)
    prices = list(Price.objects.filter(plan_version=version).select_related("product", "plan_version", "metric"))
    if not prices:
        raise DomainError(
            "plan_version_empty", f"{version} has no prices yet. Add at least one price before publishing."
        )
    for price in prices:
        try:
            price_validate(price)
        except DomainError as error:
            raise DomainError(error.code, f"Price “{price}”: {error.message}", fields=error.fields) from error
    plan_version_transition(version, to=PlanVersionStatus.PUBLISHED, actor=actor, now=now)
    version.published_at = now
    version.save(update_fields=["status", "published_at"])
    return version


@transaction.atomic
def plan_version_archive(*, version: PlanVersion, actor: Actor, now: dt.datetime, reason: str = "") -> PlanVersion:
    """No new subscriptions on this version; existing ones keep what they agreed to."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    plan_version_transition(version, to=PlanVersionStatus.ARCHIVED, actor=actor, now=now, reason=reason)
    version.archived_at = now
    version.save(update_fields=["status", "archived_at"])
    return version


@transaction.atomic
def plan_version_update(*, version: PlanVersion, actor: Actor, now: dt.datetime, notes: str) -> PlanVersion:
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    if not version.is_editable:
        raise DomainError(
            "plan_version_published", f"{version} is published: its notes are part of what was published."
        )
    before = {"notes": version.notes}
    version.notes = notes
    version.save(update_fields=["notes"])
    audit_record(
        actor=actor, action="plan_version.updated", obj=version, now=now, before=before, after={"notes": notes}
    )
    return version


@transaction.atomic
def plan_version_delete_draft(*, version: PlanVersion, actor: Actor, now: dt.datetime) -> None:
    """Throw away a draft that was never published (its prices go with it)."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    if version.status != PlanVersionStatus.DRAFT:
        raise DomainError(
            "plan_version_published", f"{version} was published and cannot be deleted; archive it instead."
        )
    audit_record(actor=actor, action="plan_version.deleted", obj=version, now=now, before=snapshot(version))
    for price in version.prices.all():
        price.delete()
    version.delete()
