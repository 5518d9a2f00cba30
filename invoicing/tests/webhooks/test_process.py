"""Processing stored events: each handed to the service that owns it, once, in the provider's order."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from invoicing.models import Payment, PaymentAttempt, PaymentMethod, Refund, WebhookEvent
from invoicing.services.webhooks import webhook_process, webhook_process_pending, webhook_retry
from invoicing.tests.gateways.stripe_stub import StripeStub, card_payment_method, payment_intent
from invoicing.tests.webhooks import NOW, stripe_event
from subscriptions.tests.factories import utc

pytestmark = pytest.mark.django_db
LATER = utc(2026, 2, 2, 12, 5)


def stored(event: dict) -> WebhookEvent:
    """An event as ``webhook_receive`` stores it (the receiving side has its own tests)."""
    return WebhookEvent.objects.create(
        event_id=event["id"],
        type=event["type"],
        created=event["created"],
        payload=event,
        received_at=NOW,
    )


def process(event: dict, now=LATER) -> WebhookEvent:
    return webhook_process(event=stored(event), now=now)


def state(event: WebhookEvent) -> tuple:
    event.refresh_from_db()
    return event.status, event.attempts, event.result, event.last_error, event.processed_at


def intent_event(kind: str, status: str, *, created: int, id: str = "evt_1", **fields) -> dict:
    fields.setdefault("amount", 12100)
    return stripe_event(kind, payment_intent("pi_123", status, **fields), id=id, created=created)


SUCCEEDED = {"latest_charge": "ch_123"}
DECLINED = {
    "last_payment_error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "charge": "ch_122",
    }
}


# --- payments ----------------------------------------------------------------------------------------


def test_a_succeeded_payment_intent_pays_the_invoice(attempt):
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, **SUCCEEDED))
    assert state(event) == ("processed", 1, "payment attempt 1 on invoice INV-2026-00001: succeeded", "", LATER)
    attempt.refresh_from_db()
    attempt.invoice.refresh_from_db()
    assert (attempt.status, attempt.provider_charge_id, attempt.provider_updated) == ("succeeded", "ch_123", 200)
    assert (attempt.invoice.status, attempt.invoice.amount_due.amount) == ("paid", D("0.00"))
    payment = Payment.objects.get()
    assert (payment.amount.amount, payment.provider, payment.provider_charge_id) == (D("121.00"), "stripe", "ch_123")
    by_webhooks = AuditEvent.objects.filter(actor_id="stripe webhooks").values_list("action", flat=True)
    assert "invoice.paid" in set(by_webhooks)


def test_the_attempt_is_found_by_our_metadata_when_its_payment_intent_id_was_lost(attempt):
    PaymentAttempt.objects.filter(pk=attempt.pk).update(provider_payment_id="")
    metadata = {"attempt_id": str(attempt.pk), "invoice_id": str(attempt.invoice_id)}
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, metadata=metadata, **SUCCEEDED))
    attempt.refresh_from_db()
    assert (state(event)[0], attempt.status, attempt.provider_payment_id) == ("processed", "succeeded", "pi_123")


@pytest.mark.parametrize(
    "metadata",
    [
        {"attempt_id": "999999"},
        {"attempt_id": "1; DROP TABLE"},
        {},
    ],
)
def test_a_payment_intent_that_is_not_ours_is_ignored(attempt, metadata):
    event = stripe_event("payment_intent.succeeded", payment_intent("pi_other", "succeeded", metadata=metadata))
    assert state(process(event))[:3] == ("ignored", 1, "not a payment of ours")
    attempt.refresh_from_db()
    assert attempt.status == "pending"


def test_metadata_naming_our_attempt_for_another_invoice_is_not_trusted(attempt):
    PaymentAttempt.objects.filter(pk=attempt.pk).update(provider_payment_id="")
    metadata = {"attempt_id": str(attempt.pk), "invoice_id": str(attempt.invoice_id + 1000)}
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, metadata=metadata))
    assert state(event)[:3] == ("ignored", 1, "not a payment of ours")


def test_a_declined_payment_fails_the_attempt(attempt):
    event = process(intent_event("payment_intent.payment_failed", "requires_payment_method", created=100, **DECLINED))
    assert state(event)[:3] == ("processed", 1, "payment attempt 1 on invoice INV-2026-00001: failed")
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code, attempt.decline_code, attempt.decline_type) == (
        "failed",
        "card_declined",
        "insufficient_funds",
        "soft",
    )
    attempt.invoice.refresh_from_db()
    assert attempt.invoice.status == "open"


def test_out_of_order_an_older_failure_after_the_success_changes_nothing(attempt):
    process(intent_event("payment_intent.succeeded", "succeeded", id="evt_ok", created=200, **SUCCEEDED))
    late = process(
        intent_event("payment_intent.payment_failed", "requires_payment_method", id="evt_no", created=100, **DECLINED)
    )
    assert state(late)[:3] == (
        "ignored",
        1,
        "older than what we know of payment attempt 1 on invoice INV-2026-00001 (succeeded)",
    )
    attempt.refresh_from_db()
    attempt.invoice.refresh_from_db()
    assert (attempt.status, attempt.failure_code, attempt.provider_updated) == ("succeeded", "", 200)
    assert (attempt.invoice.status, attempt.invoice.amount_due.amount) == ("paid", D("0.00"))
    assert Payment.objects.count() == 1


def test_a_success_confirmed_by_webhook_after_the_api_answer_is_ignored(attempt):
    from invoicing.gateways.base import ChargeResult
    from invoicing.services.collection import attempt_apply_result

    attempt_apply_result(
        attempt=attempt, result=ChargeResult("succeeded", "pi_123", "ch_123"), actor=Actor.system("t"), now=NOW
    )
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, **SUCCEEDED))
    assert state(event)[:3] == (
        "ignored",
        1,
        "payment attempt 1 on invoice INV-2026-00001 had already ended (succeeded)",
    )
    assert Payment.objects.count() == 1


def test_requires_action_and_processing(attempt, enqueued):
    action = intent_event(
        "payment_intent.requires_action",
        "requires_action",
        id="evt_a",
        created=100,
        next_action={"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds"}},
    )
    assert state(process(action))[:3] == (
        "processed",
        1,
        "payment attempt 1 on invoice INV-2026-00001: waiting for the customer to authenticate",
    )
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == ("requires_action", "authentication_required")
    processing = process(intent_event("payment_intent.processing", "processing", id="evt_p", created=150))
    attempt.refresh_from_db()
    assert (state(processing)[0], attempt.status, attempt.provider_updated) == ("processed", "requires_action", 150)


def test_processing_a_processed_event_again_changes_nothing(attempt):
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, **SUCCEEDED))
    before = state(event)
    audit = AuditEvent.objects.count()
    again = webhook_process(event=event, now=utc(2026, 2, 3))
    assert state(again) == before
    assert (Payment.objects.count(), AuditEvent.objects.count()) == (1, audit)


def test_the_job_is_safe_to_run_twice(attempt):
    from invoicing.tasks import webhook_event_task

    event = stored(intent_event("payment_intent.succeeded", "succeeded", created=200, **SUCCEEDED))
    assert webhook_event_task(event.pk) == "processed"
    assert webhook_event_task(event.pk) == "processed"
    assert (state(event)[:2], Payment.objects.count()) == (("processed", 1), 1)


# --- payment methods ---------------------------------------------------------------------------------


def test_a_card_saved_on_stripes_page_becomes_the_default(customer, card, monkeypatch):
    stub = StripeStub().install(monkeypatch)
    stub.add(
        "GET",
        "/v1/payment_methods/pm_new",
        card_payment_method("pm_new", brand="mastercard", last4="4444", exp_month=3, exp_year=2031),
    )
    setup_intent = {
        "id": "seti_1",
        "object": "setup_intent",
        "customer": "cus_123",
        "payment_method": "pm_new",
        "status": "succeeded",
        "usage": "off_session",
        "metadata": {},
    }
    event = process(stripe_event("setup_intent.succeeded", setup_intent, created=500))
    assert state(event)[:3] == ("processed", 1, "Mastercard •••• 4444 (03/2031) saved for Globex B.V. as the default")
    new = PaymentMethod.objects.get(provider_id="pm_new")
    card.refresh_from_db()
    assert (new.customer_id, new.is_default, new.provider_updated, card.is_default) == (customer.pk, True, 500, False)
    stub.assert_all_used()


def test_a_setup_intent_of_a_customer_we_do_not_know_is_ignored(customer, monkeypatch):
    StripeStub().install(monkeypatch)  # no answers: a call would fail the test
    setup_intent = {"id": "seti_1", "object": "setup_intent", "customer": "cus_unknown", "payment_method": "pm_x"}
    assert state(process(stripe_event("setup_intent.succeeded", setup_intent)))[:3] == (
        "ignored",
        1,
        "not a customer of ours",
    )
    assert PaymentMethod.objects.count() == 0


def test_checkout_in_setup_mode_is_left_to_the_setup_intent(customer):
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "setup",
        "customer": "cus_123",
        "setup_intent": "seti_1",
    }
    assert state(process(stripe_event("checkout.session.completed", session)))[:3] == (
        "processed",
        1,
        "handled by setup_intent.succeeded",
    )
    payment_mode = {**session, "mode": "payment"}
    assert state(process(stripe_event("checkout.session.completed", payment_mode, id="evt_2")))[:3] == (
        "ignored",
        1,
        "not needed",
    )


def test_an_updated_card_gets_its_new_expiry(card):
    updated = card_payment_method("pm_123", exp_month=1, exp_year=2033)
    event = process(stripe_event("payment_method.automatically_updated", updated, created=300))
    assert state(event)[:3] == ("processed", 1, "Visa •••• 4242 (01/2033) of Globex B.V. updated")
    card.refresh_from_db()
    assert (card.exp_month, card.exp_year, card.provider_updated, card.is_default) == (1, 2033, 300, True)


def test_an_update_older_than_what_we_know_changes_nothing(card):
    PaymentMethod.objects.filter(pk=card.pk).update(provider_updated=400)
    older = card_payment_method("pm_123", last4="1111", exp_month=1, exp_year=2027)
    event = process(stripe_event("payment_method.updated", older, created=300))
    assert state(event)[:3] == ("ignored", 1, "older than what we know of Visa •••• 4242 (12/2030)")
    card.refresh_from_db()
    assert (card.last4, card.exp_month, card.exp_year, card.provider_updated) == ("4242", 12, 2030, 400)


def test_an_update_of_a_card_we_do_not_know_is_ignored(card):
    event = process(stripe_event("payment_method.updated", card_payment_method("pm_someone_else")))
    assert state(event)[:3] == ("ignored", 1, "not a payment method of ours")
    assert PaymentMethod.objects.count() == 1


def test_a_card_removed_at_stripe_is_removed_here(card, monkeypatch):
    StripeStub().install(monkeypatch)  # Stripe already removed it: nothing is sent there
    detached = {**card_payment_method("pm_123"), "customer": None}
    event = process(stripe_event("payment_method.detached", detached, created=300))
    assert state(event)[:3] == ("processed", 1, "Visa •••• 4242 (12/2030) of Globex B.V. removed")
    card.refresh_from_db()
    assert (card.status, card.is_default, card.detached_at, card.provider_updated) == ("detached", False, LATER, 300)
    again = process(stripe_event("payment_method.detached", detached, id="evt_2", created=301))
    assert state(again)[:3] == ("ignored", 1, "Visa •••• 4242 (12/2030) was already removed")


# --- refunds and disputes ----------------------------------------------------------------------------


@pytest.fixture
def paid(attempt) -> Payment:
    process(intent_event("payment_intent.succeeded", "succeeded", id="evt_paid", created=200, **SUCCEEDED))
    return Payment.objects.get()


def charge(amount_refunded: int, refunds: list[dict] | None = None, currency: str = "eur") -> dict:
    obj = {
        "id": "ch_123",
        "object": "charge",
        "amount": 12100,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "payment_intent": "pi_123",
        "refunded": amount_refunded == 12100,
        "status": "succeeded",
    }
    if refunds is not None:
        obj["refunds"] = {"object": "list", "data": refunds, "has_more": False}
    return obj


def test_a_refund_made_at_stripe_is_recorded_exactly(paid):
    event = process(stripe_event("charge.refunded", charge(2550), created=300))
    assert state(event)[:3] == ("processed", 1, f"25.50 of 121.00 refunded on invoice payment {paid.pk}")
    paid.refresh_from_db()
    assert (paid.amount_refunded.amount, paid.status) == (D("25.50"), "partially_refunded")
    full = process(stripe_event("charge.refunded", charge(12100), id="evt_2", created=400))
    paid.refresh_from_db()
    assert (state(full)[0], paid.amount_refunded.amount, paid.status) == ("processed", D("121.00"), "refunded")


def test_our_pending_refund_is_settled_and_not_counted_twice(paid):
    from invoicing.services.credit_notes import credit_note_create

    line = paid.invoice.lines.get()
    note = credit_note_create(
        invoice=paid.invoice,
        lines=[{"invoice_line": line.pk, "amount": "20.00"}],
        reason="billing_error",
        paid_money="refund",
        actor=Actor.system("t"),
        now=NOW,
    )
    refund = Refund.objects.create(
        credit_note=note,
        payment=paid,
        provider="stripe",
        currency="EUR",
        amount=D("24.20"),
        status="pending",
        idempotency_key=f"credit-note-{note.pk}-payment-{paid.pk}",
        provider_refund_id="re_1",
        created_at=NOW,
    )
    stripe_refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 2420,
        "currency": "eur",
        "status": "succeeded",
        "charge": "ch_123",
    }
    event = process(stripe_event("charge.refunded", charge(2420, [stripe_refund]), created=300))
    assert state(event)[:3] == (
        "processed",
        1,
        f"refund {refund.pk} refunded; 24.20 of 121.00 refunded on invoice payment {paid.pk}",
    )
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert (refund.status, refund.completed_at) == ("succeeded", LATER)
    assert (paid.amount_refunded.amount, paid.status) == (D("24.20"), "partially_refunded")


def test_minor_units_become_exact_decimals():
    from invoicing.services.webhooks import _amount

    assert (_amount(1200, "jpy"), _amount(7950, "eur"), _amount(1234, "kwd")) == (D("1200"), D("79.50"), D("1.234"))
    with pytest.raises(DomainError):
        _amount(79.5, "eur")


def test_a_refund_of_a_charge_we_do_not_know_is_ignored(paid):
    event = process(stripe_event("charge.refunded", {**charge(100), "id": "ch_other"}))
    assert state(event)[:3] == ("ignored", 1, "not a payment of ours")


def test_a_dispute_marks_the_payment(paid):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 12100,
        "currency": "eur",
        "charge": "ch_123",
        "reason": "fraudulent",
        "status": "needs_response",
    }
    event = process(stripe_event("charge.dispute.created", dispute, created=300))
    assert state(event)[:3] == ("processed", 1, f"payment {paid.pk} disputed: 121.00 EUR (fraudulent)")
    paid.refresh_from_db()
    assert (paid.status, paid.disputed_at) == ("disputed", LATER)
    audit = AuditEvent.objects.get(action="payment.disputed")
    assert audit.after == {"payment": paid.pk, "amount": "121.00", "reason": "fraudulent"}


def test_other_events_are_ignored_as_not_needed(db):
    event = process(stripe_event("customer.created", {"id": "cus_9", "object": "customer"}))
    assert state(event)[:3] == ("ignored", 1, "not needed")


# --- failures and retries ----------------------------------------------------------------------------


def test_a_failing_handler_marks_the_event_failed_and_a_retry_processes_it(attempt, monkeypatch):
    from invoicing.services import collection

    real = collection.attempt_apply_result

    def broken(**kwargs):
        raise DomainError("invoice_locked", "The invoice is being changed: try again.")

    monkeypatch.setattr(collection, "attempt_apply_result", broken)
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200, **SUCCEEDED))
    assert state(event) == ("failed", 1, "", "The invoice is being changed: try again.", None)
    attempt.refresh_from_db()
    assert attempt.status == "pending"
    assert webhook_process(event=event, now=LATER).status == "failed"  # the job again: still failing
    monkeypatch.setattr(collection, "attempt_apply_result", real)
    staff = Actor.system("finance")
    done = webhook_retry(event=event, actor=staff, now=utc(2026, 2, 2, 13))
    assert state(done)[:3] == ("processed", 3, "payment attempt 1 on invoice INV-2026-00001: succeeded")
    assert AuditEvent.objects.filter(action="webhook.retried", object_id=str(event.pk)).count() == 1
    with pytest.raises(DomainError) as refused:
        webhook_retry(event=event, actor=staff, now=utc(2026, 2, 2, 14))
    assert refused.value.code == "webhook_not_failed"


def test_an_unexpected_error_is_kept_short_and_without_traceback(attempt, monkeypatch):
    from invoicing.services import webhooks

    monkeypatch.setitem(webhooks.HANDLERS, "payment_intent.succeeded", lambda obj, created, now: obj["nothing"])
    event = process(intent_event("payment_intent.succeeded", "succeeded", created=200))
    assert state(event)[:4] == ("failed", 1, "", "KeyError: 'nothing'")


def test_an_event_without_an_object_fails(db):
    event = process({**stripe_event("charge.refunded", {}), "data": {}})
    assert state(event)[:4] == ("failed", 1, "", "The event has no data.object.")


def test_the_command_processes_what_the_worker_missed(attempt):
    from io import StringIO

    from django.core.management import call_command

    stored(intent_event("payment_intent.succeeded", "succeeded", id="evt_b", created=200, **SUCCEEDED))
    stored(
        intent_event("payment_intent.payment_failed", "requires_payment_method", id="evt_a", created=100, **DECLINED)
    )
    stored(stripe_event("customer.created", {"id": "cus_9"}, id="evt_c", created=50))
    out = StringIO()
    call_command("process_webhooks", stdout=out)
    assert out.getvalue().splitlines() == ["processed: 2", "ignored: 1", "failed: 0"]
    attempt.refresh_from_db()
    assert attempt.status == "succeeded"  # the failure (older) came first, the success won
    assert dict(WebhookEvent.objects.values_list("event_id", "status")) == {
        "evt_a": "processed",
        "evt_b": "processed",
        "evt_c": "ignored",
    }
    assert webhook_process_pending(now=NOW) == {"pending": 0, "processed": 0, "ignored": 0, "failed": 0}


def test_the_command_retries_failed_events_only_when_asked_and_stops_at_the_limit(db):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    broken = process({**stripe_event("charge.refunded", {}, id="evt_broken", created=10), "data": {}})
    stored(stripe_event("customer.created", {"id": "cus_1"}, id="evt_1", created=20))
    stored(stripe_event("customer.created", {"id": "cus_2"}, id="evt_2", created=30))
    out = StringIO()
    call_command("process_webhooks", "--limit", "1", stdout=out)
    assert out.getvalue().splitlines() == ["processed: 0", "ignored: 1", "failed: 0"]
    assert WebhookEvent.objects.get(event_id="evt_2").status == "pending"
    out = StringIO()
    call_command("process_webhooks", "--include-failed", stdout=out)
    assert out.getvalue().splitlines() == ["processed: 0", "ignored: 1", "failed: 1"]
    assert state(broken)[:2] == ("failed", 2)
    with pytest.raises(CommandError):
        call_command("process_webhooks", "--limit", "0")


def test_a_setup_intent_with_its_payment_method_expanded_needs_no_call_to_stripe(customer, monkeypatch):
    StripeStub().install(monkeypatch)  # no answers: a call would fail the test
    expanded = card_payment_method("pm_new", last4="0005", exp_month=8, exp_year=2029)
    setup_intent = {"id": "seti_1", "object": "setup_intent", "customer": "cus_123", "payment_method": expanded}
    event = process(stripe_event("setup_intent.succeeded", setup_intent, created=500))
    assert state(event)[:3] == ("processed", 1, "Visa •••• 0005 (08/2029) saved for Globex B.V. as the default")
