"""The one status table, and every lifecycle service against every status: refused moves change nothing."""

from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.services.subscriptions import (
    SUBSCRIPTION_TRANSITIONS,
    subscription_cancel,
    subscription_change,
    subscription_check_transition,
    subscription_end_trial,
    subscription_pause,
    subscription_pause_collection,
    subscription_reactivate,
    subscription_resume,
    subscription_resume_collection,
    subscription_transition,
)
from subscriptions.tests.factories import (
    ACTOR,
    make_customer,
    make_plan_with_prices,
    make_subscription,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

S = SubscriptionStatus
APR_1, APR_16 = utc(2026, 4, 1), utc(2026, 4, 16)

ALLOWED = {
    (S.INCOMPLETE, S.ACTIVE),
    (S.INCOMPLETE, S.INCOMPLETE_EXPIRED),
    (S.INCOMPLETE, S.CANCELED),
    (S.TRIALING, S.ACTIVE),
    (S.TRIALING, S.PAST_DUE),
    (S.TRIALING, S.PAUSED),
    (S.TRIALING, S.CANCELED),
    (S.ACTIVE, S.PAST_DUE),
    (S.ACTIVE, S.PAUSED),
    (S.ACTIVE, S.CANCELED),
    (S.PAST_DUE, S.ACTIVE),
    (S.PAST_DUE, S.UNPAID),
    (S.PAST_DUE, S.PAUSED),
    (S.PAST_DUE, S.CANCELED),
    (S.UNPAID, S.ACTIVE),
    (S.UNPAID, S.CANCELED),
    (S.PAUSED, S.ACTIVE),
    (S.PAUSED, S.PAST_DUE),
    (S.PAUSED, S.CANCELED),
}


def test_the_table_is_exactly_the_documented_moves():
    table = {(current, to) for current, targets in SUBSCRIPTION_TRANSITIONS.items() if current for to in targets}
    assert table == ALLOWED
    assert SUBSCRIPTION_TRANSITIONS[None] == {S.INCOMPLETE, S.TRIALING, S.ACTIVE}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("to", list(S))
def test_check_transition_follows_the_table(current, to):
    subscription = Subscription(status=current)
    if (current, to) in ALLOWED:
        subscription_check_transition(subscription, to=to)
    else:
        with pytest.raises(DomainError) as error:
            subscription_check_transition(subscription, to=to)
        assert error.value.code == "invalid_transition"
        assert error.value.message


def test_a_transition_assigns_and_audits_but_does_not_save():
    subscription = make_subscription(now=APR_1)

    subscription_transition(subscription, to=S.PAST_DUE, actor=ACTOR, now=APR_16, reason="Card declined")

    assert subscription.status == "past_due"
    assert Subscription.objects.get(pk=subscription.pk).status == "active"
    event = AuditEvent.objects.get(action="subscription.past_due")
    assert (event.before, event.after, event.reason, event.occurred_at) == (
        {"status": "active"},
        {"status": "past_due"},
        "Card declined",
        APR_16,
    )


def test_a_refused_transition_leaves_the_object_and_the_trail_alone():
    subscription = make_subscription(now=APR_1)
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError):
        subscription_transition(subscription, to=S.UNPAID, actor=ACTOR, now=APR_16)

    assert subscription.status == "active"
    assert AuditEvent.objects.count() == events


# --- every service × every status ---------------------------------------------------------------


def subscription_in(status: S) -> Subscription:
    """A per-seat subscription (5 × 10.00 a month from April 1), forced into ``status`` for the test."""
    version = make_plan_with_prices({"unit_amount": Decimal("10.00"), "nickname": "Seat"})
    customer = make_customer()
    if status == S.TRIALING:
        return make_subscription(customer, plan_version=version, quantity=5, now=APR_1, trial_end=utc(2026, 4, 20))
    subscription = make_subscription(customer, plan_version=version, quantity=5, now=APR_1)
    extra = {}
    if status == S.PAUSED:
        extra = {"status_before_pause": "active", "service_paused_at": utc(2026, 4, 10), "service_paused_until": None}
    if status in (S.CANCELED, S.INCOMPLETE_EXPIRED):
        extra = {"ended_at": utc(2026, 4, 10)}
    Subscription.objects.filter(pk=subscription.pk).update(status=status, **extra)
    return Subscription.objects.get(pk=subscription.pk)


OPERATIONS = {
    "resume": lambda s: subscription_resume(subscription=s, actor=ACTOR, now=APR_16),
    "pause": lambda s: subscription_pause(subscription=s, actor=ACTOR, now=APR_16, periods=1),
    "cancel_now": lambda s: subscription_cancel(
        subscription=s, actor=ACTOR, now=APR_16, at_period_end=False, reason_code="unused"
    ),
    "cancel_at_period_end": lambda s: subscription_cancel(
        subscription=s, actor=ACTOR, now=APR_16, at_period_end=True, reason_code="unused"
    ),
    "change": lambda s: subscription_change(subscription=s, actor=ACTOR, now=APR_16, quantity=8),
    "end_trial": lambda s: subscription_end_trial(subscription=s, actor=ACTOR, now=APR_16),
    "reactivate": lambda s: subscription_reactivate(subscription=s, actor=ACTOR, now=APR_16),
    "pause_collection": lambda s: subscription_pause_collection(
        subscription=s, actor=ACTOR, now=APR_16, behavior="keep_as_draft"
    ),
    "resume_collection": lambda s: subscription_resume_collection(subscription=s, actor=ACTOR, now=APR_16),
}

ENDED = {S.CANCELED, S.INCOMPLETE_EXPIRED}


def expected(status: S, operation: str) -> str | None:
    """The error code each service gives in each status (None: it goes through)."""
    ended = status in ENDED
    if operation == "resume":
        return None if status == S.PAUSED else "invalid_transition"
    if operation == "pause":
        if status == S.TRIALING:
            return "trial_in_progress"
        return None if status in (S.ACTIVE, S.PAST_DUE) else "invalid_transition"
    if operation == "cancel_now":
        return "invalid_transition" if ended else None
    if operation == "cancel_at_period_end":
        return "invalid_transition" if ended else ("subscription_paused" if status == S.PAUSED else None)
    if operation == "change":
        return "subscription_canceled" if ended else ("subscription_paused" if status == S.PAUSED else None)
    if operation == "end_trial":
        return "invalid_transition" if ended else (None if status == S.TRIALING else "not_trialing")
    if operation == "reactivate":
        return "subscription_canceled" if ended else "not_canceling"
    if operation == "pause_collection":
        return "subscription_canceled" if ended else None
    return "subscription_canceled" if ended else "collection_not_paused"


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("status", list(S))
def test_every_service_in_every_status(status, operation):
    subscription = subscription_in(status)
    before = subscription_state(subscription)
    code = expected(status, operation)

    if code is None:
        OPERATIONS[operation](subscription)
        assert subscription_state(subscription) != before
        return
    with pytest.raises(DomainError) as error:
        OPERATIONS[operation](subscription)

    assert error.value.code == code, error.value.message
    assert error.value.message
    assert subscription_state(subscription) == before


def test_resuming_an_active_subscription_says_so_and_changes_nothing():
    subscription = subscription_in(S.ACTIVE)
    before = subscription_state(subscription)

    with pytest.raises(DomainError) as error:
        subscription_resume(subscription=subscription, actor=ACTOR, now=APR_16)

    assert (error.value.code, error.value.message) == (
        "invalid_transition",
        "This subscription is already active: there is nothing to resume.",
    )
    assert subscription_state(subscription) == before


def test_a_canceled_subscription_cannot_change():
    subscription = subscription_in(S.CANCELED)
    before = subscription_state(subscription)

    with pytest.raises(DomainError) as error:
        subscription_change(subscription=subscription, actor=ACTOR, now=APR_16, quantity=8)

    assert error.value.code == "subscription_canceled"
    assert error.value.message == (
        "This subscription is canceled: it cannot change any more. Create a new subscription instead."
    )
    assert subscription_state(subscription) == before
