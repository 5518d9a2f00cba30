"""The subscription page and its actions: every action shows what will happen, then the service does it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site import clock
from subscriptions.models import PendingLine, Subscription
from subscriptions.tests.factories import (
    make_plan_with_prices,
    make_subscription,
    pending_lines,
    subscription_state,
    utc,
)

pytestmark = pytest.mark.django_db

APR_1, APR_16 = utc(2026, 4, 1), utc(2026, 4, 16)
D = Decimal


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(APR_16):
        yield APR_16


def flat(amount: str, name: str):
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D(amount), "nickname": name}, name=name, code=name.lower()
    )


@pytest.fixture
def starter():
    return flat("29.00", "Starter")


@pytest.fixture
def pro():
    return flat("49.00", "Pro")


@pytest.fixture
def subscription(starter):
    return make_subscription(plan_version=starter, now=APR_1)


def page(subscription):
    return reverse("admin:subscriptions_subscription_change", args=[subscription.pk])


def action(subscription, name):
    return reverse("admin:subscriptions_subscription_action", args=[subscription.pk, name])


def test_the_page_shows_items_period_actions_and_timeline(client, finance_user, subscription):
    client.force_login(finance_user)

    response = client.get(page(subscription))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Starter v1" in html
    assert "2026-04-01 00:00 – 2026-05-01 00:00" in html
    assert "€29.00" in html
    assert [name for name, _title, _url in response.context["subscription_actions"]] == ["change", "pause", "cancel"]
    assert [row["label"] for row in response.context["timeline"]] == ["Subscription started"]


def test_change_shows_the_preview_then_writes_it(client, finance_user, subscription, pro):
    client.force_login(finance_user)
    body = {"plan_version": pro.pk, "when": "now", "proration": "create_prorations"}

    preview = client.post(action(subscription, "change"), body)

    assert preview.status_code == 200
    assert preview.context["confirm"] is True
    assert preview.context["preview"]["lines"] == [
        {"description": "Unused time on Starter after 16 Apr 2026", "amount": "-€14.50"},
        {"description": "Remaining time on Pro from 16 Apr 2026", "amount": "€24.50"},
    ]
    assert preview.context["preview"]["total"] == "€10.00"
    assert PendingLine.objects.count() == 0

    done = client.post(action(subscription, "change"), {**body, "confirm": "yes"})

    assert done.status_code == 302
    assert [amount for _d, amount, _k in pending_lines(subscription)] == [D("-14.50"), D("24.50")]
    assert Subscription.objects.get().plan_version == pro


def test_the_timeline_describes_a_change_in_words_not_data(client, finance_user, subscription, pro):
    client.force_login(finance_user)
    body = {"plan_version": pro.pk, "when": "now", "proration": "create_prorations", "confirm": "yes"}
    client.post(action(subscription, "change"), body)

    response = client.get(page(subscription))

    changed = response.context["timeline"][0]
    assert changed["label"] == "Subscription changed"
    assert changed["changes"] == [
        ("plan version", "Starter v1", "Pro v1"),
        ("proration", "—", "create_prorations"),
    ]
    assert '"quantity"' not in response.content.decode()


def test_a_service_pause_is_confirmed_first(client, finance_user, subscription):
    client.force_login(finance_user)
    body = {"kind": "service", "periods": "1"}

    preview = client.post(action(subscription, "pause"), body)

    outcome = preview.context["outcome"]
    assert (outcome["before"]["status"], outcome["after"]["status"]) == ("Active", "Paused")
    assert Subscription.objects.get().status == "active"
    client.post(action(subscription, "pause"), {**body, "confirm": "yes"})
    assert Subscription.objects.get().status == "paused"


def test_cancel_now_with_credit_shows_the_credit(client, finance_user, subscription):
    client.force_login(finance_user)
    body = {"when": "now", "prorate_credit": "on", "reason_code": "too_expensive", "reason_text": ""}

    preview = client.post(action(subscription, "cancel"), body)

    assert preview.context["outcome"]["lines"] == [
        {"description": "Unused time on Starter after 16 Apr 2026", "amount": "-€14.50"}
    ]
    assert Subscription.objects.get().status == "active"
    client.post(action(subscription, "cancel"), {**body, "confirm": "yes"})
    assert Subscription.objects.get().status == "canceled"


def test_a_refused_action_shows_the_services_words_and_changes_nothing(client, finance_user, subscription):
    client.force_login(finance_user)
    before = subscription_state(subscription)

    response = client.post(action(subscription, "resume"), {"confirm": "yes"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This subscription is already active: there is nothing to resume."
    ]
    assert subscription_state(subscription) == before


def test_support_pauses_but_does_not_change_prices(client, support_user, subscription, pro):
    client.force_login(support_user)

    response = client.get(page(subscription))

    assert [name for name, _title, _url in response.context["subscription_actions"]] == ["pause", "cancel"]
    assert client.post(action(subscription, "change"), {"plan_version": pro.pk}).status_code == 403
    client.post(action(subscription, "pause"), {"kind": "collection", "behavior": "keep_as_draft", "confirm": "yes"})
    assert Subscription.objects.get().pause_behavior == "keep_as_draft"


def test_no_adding_or_deleting_in_the_admin(client, finance_user, subscription):
    client.force_login(finance_user)

    assert client.get(reverse("admin:subscriptions_subscription_add")).status_code == 403
    assert client.get(reverse("admin:subscriptions_subscription_delete", args=[subscription.pk])).status_code == 403
    assert client.get(reverse("admin:subscriptions_subscription_changelist")).status_code == 200


def test_the_page_lists_pending_lines_and_the_scheduled_change(client, finance_user, subscription, pro):
    from subscriptions.services.subscriptions import subscription_change
    from subscriptions.tests.factories import ACTOR

    subscription_change(subscription=subscription, actor=ACTOR, now=APR_16, quantity=3)
    subscription_change(subscription=subscription, actor=ACTOR, now=APR_16, plan_version=pro, when="period_end")
    client.force_login(finance_user)

    response = client.get(page(subscription))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Unused time on Starter after 16 Apr 2026" in html
    assert "-€14.50" in html
    assert "Switch to Pro v1" in html
    assert [name for name, _title, _url in response.context["subscription_actions"]] == [
        "change",
        "pause",
        "cancel-scheduled-change",
        "cancel",
    ]
    assert [row["label"] for row in response.context["timeline"]] == [
        "Change scheduled",
        "Subscription changed",
        "Subscription started",
    ]
