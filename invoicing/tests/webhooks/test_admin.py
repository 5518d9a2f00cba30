"""Webhook events in the admin: listed with their outcome, read-only, retried by Finance only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing_site.errors import DomainError
from invoicing.models import Invoice, WebhookEvent
from invoicing.services.webhooks import webhook_process
from invoicing.tests.gateways.stripe_stub import payment_intent
from invoicing.tests.webhooks import NOW, stripe_event

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:invoicing_webhookevent_changelist"
CHANGE = "admin:invoicing_webhookevent_change"
RETRY = "admin:invoicing_webhookevent_retry"
ERROR = "The invoice is being changed: try again."


@pytest.fixture
def broken(monkeypatch):
    """Applying a payment result fails until the test repairs it (``broken.undo()``)."""
    from invoicing.services import collection

    def fail(**kwargs):
        raise DomainError("invoice_locked", ERROR)

    monkeypatch.setattr(collection, "attempt_apply_result", fail)
    return monkeypatch


@pytest.fixture
def failed(attempt, broken) -> WebhookEvent:
    pi = payment_intent("pi_123", "succeeded", latest_charge="ch_123", amount=12100)
    event = stripe_event("payment_intent.succeeded", pi, id="evt_failed", created=200)
    stored = WebhookEvent.objects.create(
        event_id=event["id"], type=event["type"], created=event["created"], payload=event, received_at=NOW
    )
    return webhook_process(event=stored, now=NOW)


@pytest.fixture
def ignored(db) -> WebhookEvent:
    event = stripe_event("customer.created", {"id": "cus_9", "object": "customer"}, id="evt_ignored")
    stored = WebhookEvent.objects.create(
        event_id=event["id"], type=event["type"], created=event["created"], payload=event, received_at=NOW
    )
    return webhook_process(event=stored, now=NOW)


def test_finance_sees_each_event_with_its_outcome_or_error(client, finance_user, failed, ignored):
    client.force_login(finance_user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert [e.event_id for e in response.context["cl"].result_list] == ["evt_ignored", "evt_failed"]
    html = response.content.decode()
    assert ERROR in html and "not needed" in html
    assert "Retry processing" in html
    assert {
        e.event_id for e in client.get(reverse(CHANGELIST), {"status__exact": "failed"}).context["cl"].result_list
    } == {"evt_failed"}
    assert {e.event_id for e in client.get(reverse(CHANGELIST), {"q": "evt_ign"}).context["cl"].result_list} == {
        "evt_ignored"
    }
    type_filtered = client.get(reverse(CHANGELIST), {"type__exact": "customer.created"}).context["cl"].result_list
    assert [e.event_id for e in type_filtered] == ["evt_ignored"]


def test_the_event_page_is_read_only_with_the_payload_pretty_printed(client, finance_user, failed):
    client.force_login(finance_user)
    response = client.get(reverse(CHANGE, args=[failed.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert 'name="_save"' not in html
    assert "&quot;id&quot;: &quot;pi_123&quot;" in html  # indented JSON, escaped
    assert 'data-action="retry"' in html


def test_finance_retries_a_failed_event_from_the_list(client, finance_user, failed, ignored, broken):
    broken.undo()
    client.force_login(finance_user)
    response = client.post(
        reverse(CHANGELIST), {"action": "retry", "_selected_action": [failed.pk, ignored.pk]}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "1 processed again: 1 processed, 0 ignored, 0 failed again.",
        "1 event had not failed and was left as it is.",
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.result) == (
        "processed",
        2,
        "payment attempt 1 on invoice INV-2026-00001: succeeded",
    )
    assert Invoice.objects.get().status == "paid"


def test_finance_retries_from_the_event_page(client, finance_user, failed, broken):
    client.force_login(finance_user)
    still_broken = client.post(reverse(RETRY, args=[failed.pk]), follow=True)
    assert [str(m) for m in still_broken.context["messages"]] == [f"Processing failed again: {ERROR}"]
    broken.undo()
    response = client.post(reverse(RETRY, args=[failed.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Processed again: payment attempt 1 on invoice INV-2026-00001: succeeded"
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("processed", 3)
    assert 'data-action="retry"' not in response.content.decode()  # nothing left to retry
    assert client.get(reverse(RETRY, args=[failed.pk])).status_code == 405


@pytest.mark.parametrize("role", ["support_user", "pricing_user", "approver_user"])
def test_other_roles_cannot_see_or_retry_events(client, request, role, failed, broken):
    broken.undo()
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.post(reverse(RETRY, args=[failed.pk])).status_code == 403
    assert client.post(reverse(CHANGELIST), {"action": "retry", "_selected_action": [failed.pk]}).status_code == 403
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 1)


def test_a_user_who_may_only_read_events_gets_no_retry(client, failed, broken):
    from django.contrib.auth.models import Permission, User

    broken.undo()
    reader = User.objects.create_user("reader", password="pw-for-tests-only", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(reader)
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200 and "Retry processing" not in listing.content.decode()
    assert 'data-action="retry"' not in client.get(reverse(CHANGE, args=[failed.pk])).content.decode()
    assert client.post(reverse(RETRY, args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


@pytest.mark.parametrize("name", [CHANGELIST, RETRY])
def test_retrying_holds_no_request_transaction(name):
    """A retry may reach Stripe: no lock may be held over the network (ATOMIC_REQUESTS is on)."""
    from django.urls import resolve

    args = [] if name == CHANGELIST else [1]
    assert "default" in getattr(resolve(reverse(name, args=args)).func, "_non_atomic_requests", set())
