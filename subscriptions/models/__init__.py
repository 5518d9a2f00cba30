from subscriptions.models.customer import Customer, TaxExemption
from subscriptions.models.subscription import (
    CancellationReason,
    CollectionMethod,
    PauseBehavior,
    PendingLine,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.models.test_clock import TestClock, TestClockStatus
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing, UsageEvent

__all__ = [
    "CancellationReason",
    "CollectionMethod",
    "Customer",
    "PauseBehavior",
    "PendingLine",
    "ScheduledChange",
    "ScheduledChangeStatus",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionStatus",
    "TaxExemption",
    "TestClock",
    "TestClockStatus",
    "UsageAlert",
    "UsageAlertCrossing",
    "UsageEvent",
]
