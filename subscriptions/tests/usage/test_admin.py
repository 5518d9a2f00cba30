"""The usage admin: events and crossings read-only and searchable, alerts saved through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing_site.models import AuditEvent
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing, UsageEvent
from subscriptions.services.usage import usage_alert_create
from subscriptions.tests.usage.helpers import (
    ACTOR,
    D,
    event,
    ingest,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    utc,
)

pytestmark = pytest.mark.django_db

EVENTS = reverse("admin:subscriptions_usageevent_changelist")
ALERTS = reverse("admin:subscriptions_usagealert_changelist")
CROSSINGS = reverse("admin:subscriptions_usagealertcrossing_changelist")


@pytest.fixture
def usage(db):
    acme = make_customer(name="Acme B.V.", external_id="CRM-7")
    globex = make_customer(name="Globex")
    calls = make_metric(code="api_calls", name="API calls", aggregation="sum")
    storage = make_metric(code="storage", name="Storage", aggregation="max")
    ingest(
        [
            event(acme, calls, "acme-calls-1", value="1"),
            event(acme, storage, "acme-storage-1", value="5"),
            event(globex, calls, "globex-calls-1", value="2"),
        ]
    )
    return acme, globex, calls


def keys(response) -> set[str]:
    return {e.idempotency_key for e in response.context["cl"].result_list}


def test_events_are_listed_newest_first_filtered_by_metric_and_found_by_key_or_customer(admin_client, usage):
    acme, globex, _ = usage

    everything = admin_client.get(EVENTS)
    assert everything.status_code == 200
    assert [e.idempotency_key for e in everything.context["cl"].result_list] == [
        "globex-calls-1",
        "acme-storage-1",
        "acme-calls-1",
    ]  # the batch is written in (customer, key) order; ids follow it
    assert keys(admin_client.get(EVENTS, {"metric": "api_calls"})) == {"acme-calls-1", "globex-calls-1"}
    assert keys(admin_client.get(EVENTS, {"late__exact": "1"})) == set()
    assert keys(admin_client.get(EVENTS, {"q": "acme-storage-1"})) == {"acme-storage-1"}
    assert keys(admin_client.get(EVENTS, {"q": "CRM-7"})) == {"acme-calls-1", "acme-storage-1"}
    assert keys(admin_client.get(EVENTS, {"q": "glob"})) == {"globex-calls-1"}
    assert keys(admin_client.get(EVENTS, {"q": str(globex.pk)})) == {"globex-calls-1"}
    assert keys(admin_client.get(EVENTS, {"q": "acme-storage"})) == set()  # keys match exactly, never in part


def test_events_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, usage):
    stored = UsageEvent.objects.get(idempotency_key="acme-calls-1")
    change = reverse("admin:subscriptions_usageevent_change", args=[stored.pk])

    page = admin_client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(change, {"value": "100"}).status_code == 403
    assert admin_client.get(reverse("admin:subscriptions_usageevent_add")).status_code == 403
    assert admin_client.post(reverse("admin:subscriptions_usageevent_delete", args=[stored.pk])).status_code == 403
    stored.refresh_from_db()
    assert stored.value == D(1)


def test_an_alert_added_in_the_admin_is_created_by_the_service_as_the_staff_user(admin_client, admin_user, usage):
    acme, _, calls = usage

    response = admin_client.post(
        reverse("admin:subscriptions_usagealert_add"),
        {
            "customer": acme.pk,
            "metric_code": "api_calls",
            "kind": "quantity",
            "threshold": "1000",
            "notify_email": "ops@acme.example",
            "active": "on",
            "crossings-TOTAL_FORMS": "0",
            "crossings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    alert = UsageAlert.objects.get()
    assert (alert.customer, alert.metric_code, alert.threshold, alert.notify_email) == (
        acme,
        "api_calls",
        D(1000),
        "ops@acme.example",
    )
    audit = AuditEvent.objects.get(action="usage_alert.created")
    assert (audit.actor_kind, audit.actor_id) == ("staff", str(admin_user.pk))


def test_an_alert_the_service_refuses_shows_why_and_is_not_saved(admin_client, usage):
    acme, _, _ = usage

    response = admin_client.post(
        reverse("admin:subscriptions_usagealert_add"),
        {
            "customer": acme.pk,
            "metric_code": "api_calls",
            "kind": "amount",
            "threshold": "10",
            "active": "on",
            "crossings-TOTAL_FORMS": "0",
            "crossings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "Watch the quantity instead." in response.content.decode()
    assert UsageAlert.objects.count() == 0


def test_changing_an_alert_goes_through_the_service_and_keeps_the_customer(admin_client, usage):
    acme, globex, calls = usage
    make_subscription(acme, metered_price(calls))
    alert = usage_alert_create(
        actor=ACTOR, now=utc(2026, 1, 15), customer=acme, metric_code="api_calls", threshold=D(5)
    )
    change = reverse("admin:subscriptions_usagealert_change", args=[alert.pk])
    assert admin_client.get(change).status_code == 200

    response = admin_client.post(
        change,
        {
            "customer": globex.pk,  # read-only on a saved alert: ignored
            "metric_code": "api_calls",
            "kind": "amount",
            "threshold": "7.5",
            "notify_email": "",
            "active": "on",
            "crossings-TOTAL_FORMS": "0",
            "crossings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    alert.refresh_from_db()
    assert (alert.customer, alert.kind, alert.threshold) == (acme, "amount", D("7.5"))
    assert AuditEvent.objects.get(action="usage_alert.updated").after == {"kind": "amount", "threshold": "7.5"}


def test_crossings_are_listed_read_only(admin_client, usage):
    acme, _, _ = usage
    alert = usage_alert_create(
        actor=ACTOR, now=utc(2026, 1, 15), customer=acme, metric_code="api_calls", threshold=D(1)
    )
    UsageAlertCrossing.objects.create(
        alert=alert, period_start=utc(2026, 1, 1), period_end=utc(2026, 2, 1), value=D(1), crossed_at=utc(2026, 1, 15)
    )

    page = admin_client.get(CROSSINGS)

    assert page.status_code == 200
    assert "Acme B.V." in page.content.decode()
    assert admin_client.get(reverse("admin:subscriptions_usagealertcrossing_add")).status_code == 403
    assert admin_client.get(ALERTS).status_code == 200


def test_support_staff_read_usage_but_change_no_alert(client, support_user, usage):
    client.force_login(support_user)

    assert client.get(EVENTS).status_code == 200
    assert client.get(CROSSINGS).status_code == 200
    assert client.get(reverse("admin:subscriptions_usagealert_add")).status_code == 403
