"""Test clocks: a simulated "now" for test customers, moved forward by finance to try a scenario.

Advancing a clock runs, in time order, everything that would have happened to its customers
between the old and the new time (renewals, trial ends, scheduled changes, pauses ending): the
subscription service ``subscriptions_process_due`` does the work; this module moves the clock,
guards its state and records what happened. Deleting a clock deletes its test customers with
everything they have: that is what test data is for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record, snapshot
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from subscriptions.domain.periods import add_intervals
from subscriptions.models import Customer, Subscription, TestClock, TestClockStatus, UsageAlert, UsageEvent

__all__ = [
    "ADVANCE_STEPS",
    "MAX_ADVANCE_YEARS",
    "TEST_CLOCK_FIELDS",
    "TestClockAdvance",
    "TestClockDeletion",
    "test_clock_advance",
    "test_clock_check_advance",
    "test_clock_create",
    "test_clock_delete",
    "test_clock_latest_time",
    "test_clock_update",
    "register_advance_step",
]

TEST_CLOCK_FIELDS = {"name"}
#: How far one advance may move a clock: far enough for a year of monthly renewals and a renewal of a
#: yearly plan, short enough that one request does not run for minutes.
MAX_ADVANCE_YEARS = 2
#: Results kept in the audit event of an advance (the API and admin get them all).
AUDITED_RESULTS = 200

#: Allowed status transitions (state machine of a test clock).
TRANSITIONS: dict[str, set[str]] = {
    TestClockStatus.READY: {TestClockStatus.ADVANCING},
    TestClockStatus.ADVANCING: {TestClockStatus.READY},
}

PROCESS_DUE_MODULE = "subscriptions.services.subscriptions"
PROCESS_DUE_FUNCTION = "subscriptions_process_due"


#: Later steps of an advance, after the lifecycle (the billing run finalizes invoices there):
#: ``step(now=…, customers=…, actor=…)`` returns a list of results like ``subscriptions_process_due``.
ADVANCE_STEPS: list[Callable[..., Any]] = []


def register_advance_step(step: Callable[..., Any]) -> None:
    if step not in ADVANCE_STEPS:
        ADVANCE_STEPS.append(step)


#: Called with the test customers about to be deleted, inside the deletion's transaction, so that
#: other apps remove their test data first (invoices of test customers).
DELETE_STEPS: list[Callable[[list[Customer]], None]] = []


def register_delete_step(step: Callable[[list[Customer]], None]) -> None:
    if step not in DELETE_STEPS:
        DELETE_STEPS.append(step)


@dataclasses.dataclass(frozen=True)
class TestClockAdvance:
    """What one advance did: from when to when, for how many customers, and what the subscriptions went through."""

    __test__ = False  # not a pytest test class

    clock: TestClock
    previous_time: dt.datetime
    frozen_time: dt.datetime
    customers: int
    results: list[Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous_time": self.previous_time,
            "frozen_time": self.frozen_time,
            "customers": self.customers,
            "results": [describe_result(r) for r in self.results],
        }


@dataclasses.dataclass(frozen=True)
class TestClockDeletion:
    __test__ = False  # not a pytest test class

    clock_id: int
    name: str
    customers: int
    subscriptions: int
    usage_events: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _validate_clock(clock: TestClock) -> None:
    clock.name = (clock.name or "").strip()
    if not clock.name:
        raise DomainError(
            "name_required",
            "Give the test clock a name that says what you try, e.g. “Upgrade mid-month”.",
            fields={"name": "Required."},
        )
    _require_aware(clock.frozen_time, field="frozen_time")
    full_clean_or_raise(clock)


def _require_aware(moment: Any, *, field: str) -> None:
    if not isinstance(moment, dt.datetime):
        raise DomainError(
            "invalid_time", "Give a date and time, e.g. 2026-01-31T00:00:00Z.", fields={field: "Date and time."}
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DomainError(
            "naive_datetime",
            "A time must carry its time zone (for example 2026-01-31T00:00:00Z).",
            fields={field: "Add the time zone, e.g. Z for UTC."},
        )


@transaction.atomic
def test_clock_create(*, name: str, frozen_time: dt.datetime, actor: Actor, now: dt.datetime) -> TestClock:
    """A new clock at ``frozen_time`` (any moment, past or future); attach test customers to it next."""
    if isinstance(frozen_time, dt.datetime) and frozen_time.tzinfo is not None:
        frozen_time = frozen_time.astimezone(dt.UTC)
    return record_create(
        TestClock(created_at=now, status=TestClockStatus.READY),
        fields={"name": name, "frozen_time": frozen_time},
        allowed={"name", "frozen_time"},
        actor=actor,
        now=now,
        action="test_clock.created",
        validate=_validate_clock,
    )


@transaction.atomic
def test_clock_update(*, clock: TestClock, actor: Actor, now: dt.datetime, **changes: Any) -> TestClock:
    """Rename a clock. Its time only moves through ``test_clock_advance``."""
    if "frozen_time" in changes:
        raise DomainError(
            "test_clock_time_not_editable",
            "A test clock's time only moves forward, by advancing it: that runs what happens in between.",
            fields={"frozen_time": "Advance the clock instead."},
        )
    return record_update(
        TestClock.objects.select_for_update().get(pk=clock.pk),
        changes=changes,
        allowed=TEST_CLOCK_FIELDS,
        actor=actor,
        now=now,
        action="test_clock.updated",
        validate=_validate_clock,
    )


def _transition(
    clock: TestClock,
    *,
    to: str,
    actor: Actor,
    now: dt.datetime,
    action: str,
    details: dict[str, Any],
    frozen_time: dt.datetime | None = None,
) -> None:
    """The only place that assigns a clock's status (and moves its time): checks, saves, audits."""
    if to not in TRANSITIONS.get(clock.status, set()):
        raise DomainError(
            "test_clock_advancing" if clock.status == TestClockStatus.ADVANCING else "invalid_transition",
            f"The test clock “{clock.name}” is {clock.get_status_display().lower()}; "
            "wait until it is ready and try again.",
        )
    before = {"status": clock.status, "frozen_time": clock.frozen_time}
    clock.status = to
    if frozen_time is not None:
        clock.frozen_time = frozen_time
    clock.save(update_fields=["status", "frozen_time"])
    audit_record(
        actor=actor,
        action=action,
        obj=clock,
        now=now,
        before=before,
        after={"status": clock.status, "frozen_time": clock.frozen_time, **details},
    )


def _fmt(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def process_due_function() -> Callable[..., Any] | None:
    """The subscription service that runs what is due, or None while it does not exist yet.

    Looked up lazily: the lifecycle service imports this app's models, and the clock must keep
    working (for customers without subscriptions) in a checkout that does not have it.
    """
    if importlib.util.find_spec(PROCESS_DUE_MODULE) is None:
        return None
    return getattr(importlib.import_module(PROCESS_DUE_MODULE), PROCESS_DUE_FUNCTION, None)


def describe_result(result: Any) -> Any:
    """One result of ``subscriptions_process_due`` as plain data (for the audit trail and the API)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {field.name: _plain(getattr(result, field.name)) for field in dataclasses.fields(result)}
    as_dict = getattr(result, "as_dict", None)
    if callable(as_dict):
        return _plain(as_dict())
    return _plain(result)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return describe_result(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Model):
        return {"type": value._meta.label_lower, "id": value.pk, "name": str(value)}
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # Decimal, Money, enums …: as a person would read them


def _as_list(results: Any) -> list[Any]:
    if results is None:
        return []
    if isinstance(results, list | tuple):
        return list(results)
    return [results]


def test_clock_latest_time(clock: TestClock) -> dt.datetime:
    """The furthest one advance may take the clock."""
    return add_intervals(clock.frozen_time, "year", MAX_ADVANCE_YEARS, 1)


def test_clock_check_advance(*, clock: TestClock, to: dt.datetime) -> dt.datetime:
    """Whether ``clock`` may advance to ``to`` (the rules of ``test_clock_advance``); returns ``to`` in UTC.

    Lets a screen ask before it confirms, without running the advance.
    """
    _require_aware(to, field="frozen_time")
    to = to.astimezone(dt.UTC)
    previous = clock.frozen_time
    if clock.status != TestClockStatus.READY:
        raise DomainError(
            "test_clock_advancing", f"The test clock “{clock.name}” is advancing; wait until it is ready."
        )
    if to <= previous:
        raise DomainError(
            "test_clock_time_not_later",
            f"The test clock “{clock.name}” is at {_fmt(previous)}; choose a later time. "
            "A test clock only moves forward.",
            fields={"frozen_time": f"Must be after {_fmt(previous)}."},
        )
    latest = test_clock_latest_time(clock)
    if to > latest:
        raise DomainError(
            "test_clock_advance_too_far",
            f"A test clock moves at most {MAX_ADVANCE_YEARS} years at a time: advance “{clock.name}” to "
            f"{_fmt(latest)} at the latest, then advance it again.",
            fields={"frozen_time": f"At most {_fmt(latest)}."},
        )
    return to


@transaction.atomic
def test_clock_advance(*, clock: TestClock, to: dt.datetime, actor: Actor, now: dt.datetime) -> TestClockAdvance:
    """Move ``clock`` forward to ``to``, running everything due for its customers on the way, in time order.

    One transaction: if anything fails on the way, the clock and every subscription stay where they
    were. The clock is locked first (before customers and subscriptions), so two advances of the same
    clock run one after the other and the second sees the first's time.
    """
    clock = TestClock.objects.select_for_update().get(pk=clock.pk)
    to = test_clock_check_advance(clock=clock, to=to)
    previous = clock.frozen_time
    customers = Customer.objects.filter(test_clock=clock).order_by("pk")
    n_customers = customers.count()
    process_due = process_due_function()
    if process_due is None and Subscription.objects.filter(customer__test_clock=clock).exists():
        raise DomainError(
            "test_clock_processing_unavailable",
            f"The customers of “{clock.name}” have subscriptions, but renewals and trial ends cannot be run yet "
            "in this installation, so the clock was not moved.",
        )

    _transition(
        clock,
        to=TestClockStatus.ADVANCING,
        actor=actor,
        now=now,
        action="test_clock.advancing",
        details={"target_time": to},
    )
    results = _as_list(process_due(now=to, customers=customers, actor=actor)) if process_due else []
    for step in ADVANCE_STEPS:
        results.extend(_as_list(step(now=to, customers=customers, actor=actor)))
    advance = TestClockAdvance(
        clock=clock, previous_time=previous, frozen_time=to, customers=n_customers, results=results
    )
    summary = advance.as_dict()
    _transition(
        clock,
        to=TestClockStatus.READY,
        actor=actor,
        now=now,
        action="test_clock.advanced",
        frozen_time=to,
        details={
            "customers": n_customers,
            "result_count": len(results),
            "results": summary["results"][:AUDITED_RESULTS],
        },
    )
    return advance


@transaction.atomic
def test_clock_delete(*, clock: TestClock, actor: Actor, now: dt.datetime, reason: str = "") -> TestClockDeletion:
    """Delete the clock with its test customers and their subscriptions, usage and alerts.

    Only customers attached to this clock are touched. Anything another part of the product keeps
    for good (a finalized invoice protects its customer) stops the deletion with an explanation.
    """
    clock = TestClock.objects.select_for_update().get(pk=clock.pk)
    if clock.status != TestClockStatus.READY:
        raise DomainError(
            "test_clock_advancing", f"The test clock “{clock.name}” is advancing; delete it when it is ready."
        )
    customers = list(Customer.objects.select_for_update().filter(test_clock=clock).order_by("pk"))
    subscriptions = list(Subscription.objects.select_for_update().filter(customer__in=customers).order_by("pk"))
    deletion = TestClockDeletion(
        clock_id=clock.pk,
        name=clock.name,
        customers=len(customers),
        subscriptions=len(subscriptions),
        usage_events=UsageEvent.objects.filter(customer__in=customers).count(),
    )
    why = reason or f"Deleted with the test clock “{clock.name}”."
    for subscription in subscriptions:
        audit_record(
            actor=actor,
            action="subscription.deleted",
            obj=subscription,
            now=now,
            before=snapshot(subscription),
            reason=why,
        )
    for customer in customers:
        audit_record(
            actor=actor, action="customer.deleted", obj=customer, now=now, before=snapshot(customer), reason=why
        )
    audit_record(
        actor=actor,
        action="test_clock.deleted",
        obj=clock,
        now=now,
        before=snapshot(clock),
        after={**deletion.as_dict(), "customer_names": [c.name for c in customers]},
        reason=reason,
    )
    try:
        with transaction.atomic():
            # Usage first: deleting subscriptions would otherwise rewrite each event's subscription to NULL.
            for step in DELETE_STEPS:
                step(customers)
            UsageEvent.objects.filter(customer__in=customers).delete()
            UsageAlert.objects.filter(customer__in=customers).delete()
            Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).delete()
            Customer.objects.filter(pk__in=[c.pk for c in customers]).delete()
            clock.delete()
    except ProtectedError as error:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise DomainError(
            "test_clock_has_protected_data",
            f"The test clock “{clock.name}” cannot be deleted: its customers have {', '.join(kinds)} "
            "that must be kept (for example finalized invoices). Nothing was deleted.",
        ) from error
    return deletion


# This module's name matches pytest's test-file pattern: tell pytest these services are not tests.
for _service in (
    test_clock_create,
    test_clock_update,
    test_clock_advance,
    test_clock_delete,
    test_clock_check_advance,
    test_clock_latest_time,
):
    _service.__test__ = False  # type: ignore[union-attr]
