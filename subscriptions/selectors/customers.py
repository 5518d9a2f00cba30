"""Reads about customers: lists and search, their audit timeline, their usage, what a test clock holds."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from billing_site.models import AuditEvent
from subscriptions.models import Customer, Subscription, TestClock, UsageAlert, UsageEvent

USAGE_SELECTOR_MODULE = "subscriptions.selectors.usage"
USAGE_SELECTOR_FUNCTION = "customer_usage_summary"


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.select_related("test_clock")


def customer_search(queryset: QuerySet[Customer], q: str) -> QuerySet[Customer]:
    """Customers whose name or e-mail (main or invoice address) contains every word of ``q``."""
    for word in q.split():
        queryset = queryset.filter(
            Q(name__icontains=word) | Q(email__icontains=word) | Q(invoice_emails__icontains=word)
        )
    return queryset


def customer_subscriptions(*, customer: Customer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("plan_version__plan")
        .prefetch_related("items__price__product")
        .order_by("-created_at", "-id")
    )


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[AuditEvent]:
    """What happened to the customer and its subscriptions and usage alerts, newest first."""
    subscription_ids = [str(pk) for pk in Subscription.objects.filter(customer=customer).values_list("pk", flat=True)]
    alert_ids = [str(pk) for pk in UsageAlert.objects.filter(customer=customer).values_list("pk", flat=True)]
    about = Q(object_type="subscriptions.customer", object_id=str(customer.pk))
    if subscription_ids:
        about |= Q(object_type="subscriptions.subscription", object_id__in=subscription_ids)
    if alert_ids:
        about |= Q(object_type="subscriptions.usagealert", object_id__in=alert_ids)
    return list(AuditEvent.objects.filter(about).order_by("-occurred_at", "-id")[:limit])


@dataclass(frozen=True)
class UsageOverview:
    """The customer's usage this period, or why it cannot be shown."""

    available: bool
    summary: Any = None
    problem: str = ""


def customer_usage_overview(*, customer: Customer, now: dt.datetime) -> UsageOverview:
    """``customer_usage_summary`` of the usage selectors, guarded: the page still opens without it."""
    if importlib.util.find_spec(USAGE_SELECTOR_MODULE) is None:
        return UsageOverview(available=False, problem="usage summary not available")
    summary_of = getattr(importlib.import_module(USAGE_SELECTOR_MODULE), USAGE_SELECTOR_FUNCTION, None)
    if summary_of is None:
        return UsageOverview(available=False, problem="usage summary not available")
    return UsageOverview(available=True, summary=summary_of(customer=customer, now=now))


def test_clock_list() -> QuerySet[TestClock]:
    return TestClock.objects.annotate(customer_count=Count("customers"))


test_clock_list.__test__ = False  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TestClockContents:
    """What deleting a test clock deletes."""

    __test__ = False

    customers: Sequence[Customer]
    subscriptions: int
    usage_events: int


def test_clock_contents(*, clock: TestClock) -> TestClockContents:
    customers = list(
        Customer.objects.filter(test_clock=clock).annotate(subscription_count=Count("subscriptions")).order_by("name")
    )
    return TestClockContents(
        customers=customers,
        subscriptions=Subscription.objects.filter(customer__test_clock=clock).count(),
        usage_events=UsageEvent.objects.filter(customer__test_clock=clock).count(),
    )


test_clock_contents.__test__ = False  # type: ignore[attr-defined]
