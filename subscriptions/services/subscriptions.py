"""Subscription services: the public face of ``subscriptions.services.lifecycle``.

Interfaces (API, admin, portal, tasks, test clocks) import from here. Every service is keyword-only,
takes the ``actor`` and ``now``, runs in one transaction, locks the customer then the subscription,
and audits what it changes; ``subscription_transition`` is the only code that assigns a status.
"""

from subscriptions.services.lifecycle.cancel import subscription_cancel, subscription_reactivate
from subscriptions.services.lifecycle.change import (
    PENDING_KIND_INVOICE_NOW,
    PENDING_KIND_PRORATION,
    PRORATION_BEHAVIORS,
    WHEN,
    ChangePlan,
    subscription_cancel_scheduled_change,
    subscription_change,
    subscription_preview_change,
)
from subscriptions.services.lifecycle.create import subscription_create
from subscriptions.services.lifecycle.due import DueEvent, next_due, subscriptions_process_due
from subscriptions.services.lifecycle.hooks import (
    PERIOD_START_HOOKS,
    PeriodStart,
    register_period_start_hook,
    unregister_period_start_hook,
)
from subscriptions.services.lifecycle.items import PlannedItem
from subscriptions.services.lifecycle.pause import (
    subscription_pause,
    subscription_pause_collection,
    subscription_resume,
    subscription_resume_collection,
)
from subscriptions.services.lifecycle.transitions import (
    SUBSCRIPTION_TRANSITIONS,
    subscription_check_transition,
    subscription_transition,
)
from subscriptions.services.lifecycle.trials import TRIAL_END_BEHAVIORS, subscription_end_trial

__all__ = [
    "PENDING_KIND_INVOICE_NOW",
    "PENDING_KIND_PRORATION",
    "PERIOD_START_HOOKS",
    "PRORATION_BEHAVIORS",
    "SUBSCRIPTION_TRANSITIONS",
    "TRIAL_END_BEHAVIORS",
    "WHEN",
    "ChangePlan",
    "DueEvent",
    "PeriodStart",
    "PlannedItem",
    "next_due",
    "register_period_start_hook",
    "subscription_cancel",
    "subscription_cancel_scheduled_change",
    "subscription_change",
    "subscription_check_transition",
    "subscription_create",
    "subscription_end_trial",
    "subscription_pause",
    "subscription_pause_collection",
    "subscription_preview_change",
    "subscription_reactivate",
    "subscription_resume",
    "subscription_resume_collection",
    "subscription_transition",
    "subscriptions_process_due",
    "unregister_period_start_hook",
]
