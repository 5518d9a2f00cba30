"""``POST /webhooks/stripe``: verified before anything is stored, stored once, processed by a job."""

from __future__ import annotations

import pytest

from invoicing.models import WebhookEvent
from invoicing.tests.gateways.stripe_stub import card_payment_method, payment_intent
from invoicing.tests.webhooks import NOW, NOW_TS, SECRET, URL, body_of, deliver, stripe_event

pytestmark = pytest.mark.django_db
TASK = "invoicing.tasks.webhook_event_task"


def succeeded(**kwargs):
    return stripe_event(
        "payment_intent.succeeded", payment_intent("pi_123", "succeeded", latest_charge="ch_123"), **kwargs
    )


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_genuine_event_is_answered_at_once_stored_and_queued(client, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, succeeded(id="evt_42", created=NOW_TS - 5))
    assert (response.status_code, response.json()) == (200, {"received": True})
    event = WebhookEvent.objects.get()
    assert (
        event.provider,
        event.event_id,
        event.type,
        event.created,
        event.livemode,
        event.status,
        event.attempts,
        event.received_at,
        event.processed_at,
    ) == ("stripe", "evt_42", "payment_intent.succeeded", NOW_TS - 5, False, "pending", 0, NOW, None)
    assert event.payload["data"]["object"]["id"] == "pi_123"
    assert enqueued == [(TASK, (event.pk,))]


def test_the_same_event_delivered_twice_is_stored_once(client, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, succeeded())
        second = deliver(client, succeeded(), timestamp=NOW_TS - 10)  # Stripe's retry: signed again
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"received": True}
    assert WebhookEvent.objects.count() == 1
    assert enqueued == [(TASK, (WebhookEvent.objects.get().pk,))]


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ({"secret": "whsec_someone_else"}, "signature_mismatch"),
        ({"timestamp": NOW_TS - 301}, "timestamp_outside_tolerance"),
        ({"timestamp": NOW_TS + 301}, "timestamp_outside_tolerance"),
        ({"header": False}, "signature_missing"),
        ({"header": ""}, "signature_missing"),
        ({"header": "t=1,v0=abc"}, "signature_malformed"),
    ],
)
def test_a_delivery_not_signed_by_stripe_now_is_refused_and_nothing_stored(
    client, enqueued, django_capture_on_commit_callbacks, how, code
):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, succeeded(), **how)
    assert error_of(response) == (400, code)
    assert response.json()["error"]["message"]
    assert (WebhookEvent.objects.count(), enqueued) == (0, [])


def test_a_timestamp_300_seconds_old_is_still_accepted(client, enqueued):
    assert deliver(client, succeeded(), timestamp=NOW_TS - 300).status_code == 200


def test_a_changed_body_with_the_original_signature_is_refused(client, enqueued):
    from invoicing.domain.signatures import stripe_signature_header

    original = body_of(succeeded())
    tampered = original.replace(b'"succeeded"', b'"failed"')
    response = deliver(client, tampered, header=stripe_signature_header(original, SECRET, NOW_TS))
    assert error_of(response) == (400, "signature_mismatch")
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_event"),
        (b'{"id": "evt_1", "created": 1}', "invalid_event"),
        (b'{"id": "evt_1", "type": "charge.refunded"}', "invalid_event"),
        (b'{"id": "evt_1", "type": "charge.refunded", "created": "yesterday"}', "invalid_event"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client, enqueued, body, code):
    assert error_of(deliver(client, body)) == (400, code)
    assert WebhookEvent.objects.count() == 0


def test_without_a_configured_secret_every_delivery_is_refused(client, enqueued, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = deliver(client, succeeded(), secret="")
    assert error_of(response) == (400, "webhook_secret_missing")
    assert WebhookEvent.objects.count() == 0


def test_several_secrets_while_rolling_one(client, enqueued, settings):
    settings.STRIPE_WEBHOOK_SECRET = f"whsec_old, {SECRET}"
    assert deliver(client, succeeded(id="evt_new")).status_code == 200
    assert deliver(client, succeeded(id="evt_old"), secret="whsec_old").status_code == 200
    assert error_of(deliver(client, succeeded(id="evt_x"), secret="whsec_other")) == (400, "signature_mismatch")
    assert sorted(WebhookEvent.objects.values_list("event_id", flat=True)) == ["evt_new", "evt_old"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_answered(client, method):
    response = getattr(client, method)(URL)
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_card_and_bank_numbers_are_removed_before_storing(client, enqueued):
    method = card_payment_method("pm_9")
    method["card"].update({"number": "4242424242424242", "cvc": "123"})
    method["sepa_debit"] = {"iban": "DE89370400440532013000", "last4": "3000", "fingerprint": "fp_1"}
    method["history"] = [
        {"bank_account": {"account_number": "000123456789", "routing_number": "110000000", "last4": "6789"}}
    ]
    raw = body_of(stripe_event("payment_method.updated", method))
    assert deliver(client, raw).status_code == 200
    stored = WebhookEvent.objects.get().payload["data"]["object"]
    assert stored["card"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "fingerprint": "Xt5EWLLDS7FJjR1c",
        "funding": "credit",
        "country": "US",
        "checks": {"cvc_check": "pass"},
    }
    assert stored["sepa_debit"] == {"last4": "3000", "fingerprint": "fp_1"}
    assert stored["history"] == [{"bank_account": {"last4": "6789"}}]
    text = str(WebhookEvent.objects.values_list("payload", flat=True).get())
    for secret in ("4242424242424242", "'123'", "DE89370400440532013000", "000123456789", "110000000"):
        assert secret not in text


def test_the_payload_is_never_logged(client, enqueued, caplog):
    caplog.set_level("DEBUG")
    method = card_payment_method("pm_9")
    method["card"]["number"] = "4242424242424242"
    deliver(client, stripe_event("payment_method.updated", method))
    deliver(client, stripe_event("payment_method.updated", method), secret="whsec_wrong")
    assert "4242424242424242" not in caplog.text
    assert "Jenny Rosen" not in caplog.text
