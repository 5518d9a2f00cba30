"""Clock scenarios of collection: a test clock moves, the simulated cards answer, and every attempt,
dunning step, subscription status and e-mail is checked exactly."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core import mail

from invoicing.models import (
    AttemptStatus,
    DunningCase,
    DunningPolicy,
    DunningStatus,
    EmailLog,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
)
from invoicing.services.collection import attempt_confirm, payment_record
from invoicing.services.dunning_policies import dunning_policy_assign_customer, dunning_policy_create
from invoicing.services.payment_methods import payment_method_add
from invoicing.tests.factories import ACTOR, eu_rates, invoices_of
from invoicing.tests.jobs import jobs_run_inline
from subscriptions.models import SubscriptionStatus, TestClock
from subscriptions.services.test_clocks import test_clock_advance, test_clock_create
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 1, 10)
JAN15 = utc(2026, 1, 15)


@pytest.fixture
def world(monkeypatch, django_capture_on_commit_callbacks):
    """A test clock at 15 Jan 2026, a customer on it, and jobs that run as soon as they are queued."""
    eu_rates()
    clock = test_clock_create(name="Dunning", frozen_time=JAN15, actor=ACTOR, now=NOW)
    customer = make_customer(name="Dutch Shop B.V.", test_clock=clock, language="en")

    class World:
        def add_card(self, token, at):
            with jobs_run_inline(monkeypatch, django_capture_on_commit_callbacks):
                return payment_method_add(customer=customer, token=token, actor=ACTOR, now=at)

        def subscribe(self, **kwargs):
            with jobs_run_inline(monkeypatch, django_capture_on_commit_callbacks):
                return make_subscription(customer, plan_version=make_flat_plan("29.00"), now=JAN15, **kwargs)

        def advance(self, to):
            with jobs_run_inline(monkeypatch, django_capture_on_commit_callbacks):
                return test_clock_advance(clock=TestClock.objects.get(pk=clock.pk), to=to, actor=ACTOR, now=NOW)

    world = World()
    world.clock = clock
    world.customer = customer
    return world


def attempts_of(invoice):
    return [
        (a.number, a.status, a.decline_code, a.decline_type, a.amount.amount, a.trigger, a.created_at)
        for a in PaymentAttempt.objects.filter(invoice=invoice).order_by("number")
    ]


def emails_of(customer):
    return [(e.kind, e.subject) for e in EmailLog.objects.filter(customer=customer).order_by("sent_at", "id")]


def dunning_of(invoice):
    return [
        (e.action, e.occurred_at)
        for e in invoice_events(invoice)
        if e.action.startswith("dunning.") or e.action.startswith("payment.")
    ]


def invoice_events(invoice):
    from billing_site.models import AuditEvent

    return list(AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(invoice.pk)).order_by("id"))


def status_of(subscription):
    subscription.refresh_from_db()
    return subscription.status


def test_a_failed_renewal_is_retried_on_schedule_and_recovered(world):
    world.add_card("tok_visa", JAN15)
    subscription = world.subscribe()
    world.advance(utc(2026, 1, 16))
    (first,) = invoices_of(subscription)
    first.refresh_from_db()
    assert (first.status, first.total.amount) == (InvoiceStatus.PAID, D("35.09"))
    world.add_card("tok_insufficient_funds_twice", utc(2026, 2, 1))

    world.advance(utc(2026, 2, 15, 2))  # renewal, finalized at 01:00, charged: declined

    renewal = invoices_of(subscription)[1]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_due.amount) == (InvoiceStatus.OPEN, D("35.09"))
    assert status_of(subscription) == SubscriptionStatus.PAST_DUE
    case = DunningCase.objects.get(invoice=renewal)
    assert (case.status, case.step, case.next_step_at, case.amount_at_risk.amount) == (
        DunningStatus.ACTIVE, 0, utc(2026, 2, 16, 1), D("35.09"),
    )  # fmt: skip
    failed = mail.outbox[-1]
    assert failed.subject == f"Payment failed for invoice {renewal.number}"
    assert "We will try again automatically on February 16, 2026." in failed.body

    world.advance(utc(2026, 2, 17))  # day 1: retry declined again
    world.advance(utc(2026, 2, 19))  # day 3: retry succeeds

    assert attempts_of(renewal) == [
        (1, AttemptStatus.FAILED, "insufficient_funds", "soft", D("35.09"), "sweep", utc(2026, 2, 15, 1)),
        (2, AttemptStatus.FAILED, "insufficient_funds", "soft", D("35.09"), "retry", utc(2026, 2, 16, 1)),
        (3, AttemptStatus.SUCCEEDED, "", "", D("35.09"), "retry", utc(2026, 2, 18, 1)),
    ]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_paid.amount, renewal.amount_due.amount) == (
        InvoiceStatus.PAID, D("35.09"), D("0.00"),
    )  # fmt: skip
    case.refresh_from_db()
    assert (case.status, case.amount_recovered.amount, case.ended_at) == (
        DunningStatus.RECOVERED, D("35.09"), utc(2026, 2, 18, 1),
    )  # fmt: skip
    assert status_of(subscription) == SubscriptionStatus.ACTIVE
    assert [p.amount.amount for p in Payment.objects.filter(invoice=renewal)] == [D("35.09")]
    assert [action for action, _ in dunning_of(renewal)] == [
        "payment.attempt_started", "payment.failed", "dunning.started",
        "dunning.step", "payment.attempt_started", "payment.failed",
        "dunning.step", "payment.attempt_started", "dunning.recovered",
    ]  # fmt: skip
    kinds = [kind for kind, _ in emails_of(world.customer)]
    assert kinds.count("payment_failed") == 2
    assert kinds[-1] == "payment_receipt"


def test_retries_run_out_and_the_final_action_marks_the_subscription_unpaid(world):
    world.add_card("tok_insufficient_funds", JAN15)
    subscription = world.subscribe()

    world.advance(utc(2026, 1, 25))  # one jump: each retry still happens on its own day

    (invoice,) = invoices_of(subscription)
    assert [(n, s, when) for n, s, _, _, _, _, when in attempts_of(invoice)] == [
        (1, AttemptStatus.FAILED, utc(2026, 1, 15, 1)),
        (2, AttemptStatus.FAILED, utc(2026, 1, 16, 1)),
        (3, AttemptStatus.FAILED, utc(2026, 1, 18, 1)),
        (4, AttemptStatus.FAILED, utc(2026, 1, 20, 1)),
        (5, AttemptStatus.FAILED, utc(2026, 1, 22, 1)),
    ]
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.step, case.final_action_taken, case.ended_at) == (
        DunningStatus.EXHAUSTED, 4, "mark_unpaid", utc(2026, 1, 22, 1),
    )  # fmt: skip
    subscription.refresh_from_db()
    assert (subscription.status, subscription.access_suspended_at) == (
        SubscriptionStatus.UNPAID, utc(2026, 1, 22, 1),
    )  # fmt: skip
    kinds = [kind for kind, _ in emails_of(world.customer)]
    assert kinds.count("payment_failed") == 5
    assert kinds[-1] == "dunning_final"

    # Paying later still recovers the invoice and gives the service back.
    payment_record(invoice=invoice, amount=D("35.09"), actor=ACTOR, now=utc(2026, 1, 26), reference="transfer")
    case.refresh_from_db()
    subscription.refresh_from_db()
    assert (case.status, case.amount_recovered.amount) == (DunningStatus.RECOVERED, D("35.09"))
    assert (subscription.status, subscription.access_suspended_at) == (SubscriptionStatus.ACTIVE, None)


def test_a_customer_policy_cancels_the_subscription_when_retries_run_out(world):
    policy = dunning_policy_create(
        actor=ACTOR, now=NOW, name="Short", retry_days=[2], max_attempts=2, final_action="cancel",
        suspend_after_days=1, send_reminders=True,
    )  # fmt: skip
    dunning_policy_assign_customer(customer=world.customer, policy=policy, actor=ACTOR, now=NOW)
    world.add_card("tok_insufficient_funds", JAN15)
    subscription = world.subscribe()

    world.advance(utc(2026, 1, 18))

    (invoice, *_rest) = invoices_of(subscription)
    assert [(n, when) for n, _, _, _, _, _, when in attempts_of(invoice)] == [
        (1, utc(2026, 1, 15, 1)),
        (2, utc(2026, 1, 17, 1)),
    ]
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.policy, case.status, case.access_suspended_at, case.final_action_taken) == (
        policy, DunningStatus.EXHAUSTED, utc(2026, 1, 16, 1), "cancel",
    )  # fmt: skip
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_at, subscription.cancellation_reason) == (
        SubscriptionStatus.CANCELED, utc(2026, 1, 17, 1), "payment_failed",
    )  # fmt: skip
    assert ("dunning_final") in [kind for kind, _ in emails_of(world.customer)]


def test_a_hard_decline_is_not_retried_and_asks_for_a_new_payment_method(world):
    world.add_card("tok_stolen", JAN15)
    subscription = world.subscribe()

    world.advance(utc(2026, 1, 21))

    (invoice,) = invoices_of(subscription)
    assert attempts_of(invoice) == [
        (1, AttemptStatus.FAILED, "stolen_card", "hard", D("35.09"), "sweep", utc(2026, 1, 15, 1)),
    ]
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.step, case.needs_payment_method, case.last_decline_code) == (
        DunningStatus.ACTIVE, 3, True, "stolen_card",
    )  # fmt: skip
    kinds = [kind for kind, _ in emails_of(world.customer)]
    assert kinds.count("payment_method_required") == 4  # the decline, then days 1, 3 and 5
    assert "payment_failed" not in kinds
    assert status_of(subscription) == SubscriptionStatus.PAST_DUE


def test_a_new_payment_method_mid_dunning_retries_at_once_and_recovers(world):
    world.add_card("tok_stolen", JAN15)
    subscription = world.subscribe()
    world.advance(utc(2026, 1, 17))
    (invoice,) = invoices_of(subscription)
    assert status_of(subscription) == SubscriptionStatus.PAST_DUE

    method = world.add_card("tok_visa", utc(2026, 1, 17, 9, 30))

    assert attempts_of(invoice) == [
        (1, AttemptStatus.FAILED, "stolen_card", "hard", D("35.09"), "sweep", utc(2026, 1, 15, 1)),
        (2, AttemptStatus.SUCCEEDED, "", "", D("35.09"), "payment_method_updated", utc(2026, 1, 17, 9, 30)),
    ]
    assert PaymentAttempt.objects.get(invoice=invoice, number=2).payment_method == method
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.needs_payment_method) == (DunningStatus.RECOVERED, False)
    assert status_of(subscription) == SubscriptionStatus.ACTIVE


def test_a_payment_that_needs_authentication_waits_for_the_customer(world):
    world.add_card("tok_requires_authentication", JAN15)
    subscription = world.subscribe()
    world.advance(utc(2026, 1, 15, 2))
    (invoice,) = invoices_of(subscription)
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert attempt.status == AttemptStatus.REQUIRES_ACTION
    assert attempt.action_url.startswith("http://127.0.0.1:8000/portal/pay/")
    assert status_of(subscription) == SubscriptionStatus.PAST_DUE
    (email,) = [m for m in mail.outbox if attempt.action_url in m.body]
    assert invoice.number in email.subject or invoice.number in email.body

    attempt_confirm(attempt=attempt, actor=ACTOR, now=utc(2026, 1, 15, 9))

    attempt.refresh_from_db()
    invoice.refresh_from_db()
    assert (attempt.status, invoice.status) == (AttemptStatus.SUCCEEDED, InvoiceStatus.PAID)
    assert status_of(subscription) == SubscriptionStatus.ACTIVE


def test_an_overdue_send_invoice_invoice_enters_dunning_and_a_transfer_ends_it(world):
    subscription = world.subscribe(collection_method="send_invoice", days_until_due=14)
    world.advance(utc(2026, 1, 31))
    (invoice,) = invoices_of(subscription)
    invoice.refresh_from_db()
    assert invoice.due_at == utc(2026, 1, 29, 1)
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 0
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.started_at, case.step, case.next_step_at) == (utc(2026, 1, 29, 1), 1, utc(2026, 2, 1, 1))
    assert [kind for kind, _ in emails_of(world.customer)].count("invoice_overdue") == 2
    assert status_of(subscription) == SubscriptionStatus.PAST_DUE

    payment_record(invoice=invoice, amount=D("35.09"), actor=ACTOR, now=utc(2026, 1, 31, 12), reference="RF")

    case.refresh_from_db()
    assert (case.status, case.amount_recovered.amount) == (DunningStatus.RECOVERED, D("35.09"))
    assert status_of(subscription) == SubscriptionStatus.ACTIVE


def test_the_default_policy_exists():
    assert list(DunningPolicy.objects.filter(is_default=True).values_list("name", "retry_days", "max_attempts")) == [
        ("Standard", [1, 3, 5, 7], 5)
    ]
