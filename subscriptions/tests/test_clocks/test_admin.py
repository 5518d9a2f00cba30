"""The test clock screens: finance creates a clock, adds test customers, advances it (form, confirmation,
summary) and deletes it with its data (confirmation listing what goes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from billing_site import clock
from billing_site.models import AuditEvent
from subscriptions.models import Customer, Subscription, TestClock
from subscriptions.services import test_clocks as service
from subscriptions.tests.customers.helpers import counts, make_clock, make_customer, subscribe

pytestmark = pytest.mark.django_db

WALL = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
JAN_31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
needs_lifecycle = pytest.mark.skipif(service.process_due_function() is None, reason="needs subscriptions_process_due")


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(WALL):
        yield WALL


def advance_url(test_clock: TestClock) -> str:
    return reverse("admin:subscriptions_testclock_advance", args=[test_clock.pk])


def delete_url(test_clock: TestClock) -> str:
    return reverse("admin:subscriptions_testclock_delete", args=[test_clock.pk])


def change_url(test_clock: TestClock) -> str:
    return reverse("admin:subscriptions_testclock_change", args=[test_clock.pk])


def frozen_time_of(test_clock: TestClock) -> datetime:
    return TestClock.objects.get(pk=test_clock.pk).frozen_time


def text(response) -> str:
    return " ".join(response.content.decode().split())


def test_finance_creates_a_clock(client, finance_user):
    client.force_login(finance_user)

    response = client.post(
        reverse("admin:subscriptions_testclock_add"),
        {"name": "Upgrade mid-month", "frozen_time": "2026-01-31T12:00", "_save": "Save"},
    )

    assert response.status_code == 302
    created = TestClock.objects.get()
    assert (created.name, created.frozen_time, created.status, created.created_at) == (
        "Upgrade mid-month",
        JAN_31,
        "ready",
        WALL,
    )
    assert AuditEvent.objects.get(object_type="subscriptions.testclock").actor_label == "finance"


def test_the_clock_page_shows_its_time_customers_and_what_finance_can_do(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Upgrade", frozen_time=JAN_31)
    customer = make_customer(name="Test Acme", test_clock=test_clock)

    page = client.get(change_url(test_clock))

    assert page.status_code == 200
    body = text(page)
    assert "2026-01-31 12:00 UTC" in body
    assert f'href="{advance_url(test_clock)}"' in body
    assert f'href="{delete_url(test_clock)}"' in body
    assert f'href="{reverse("admin:subscriptions_customer_add")}?test_clock={test_clock.pk}"' in body
    assert f'href="{reverse("admin:subscriptions_customer_change", args=[customer.pk])}">Test Acme</a>' in body
    assert "The clock has not been advanced yet." in body


def test_support_sees_a_clock_but_cannot_advance_or_delete_it(client, support_user):
    client.force_login(support_user)
    test_clock = make_clock(frozen_time=JAN_31)
    before = counts()

    page = client.get(change_url(test_clock))
    assert page.status_code == 200
    assert advance_url(test_clock) not in page.text
    assert delete_url(test_clock) not in page.text
    assert client.get(advance_url(test_clock)).status_code == 403
    assert (
        client.post(advance_url(test_clock), {"frozen_time": "2026-03-01T00:00", "confirm": "yes"}).status_code == 403
    )
    assert client.post(delete_url(test_clock)).status_code == 403
    assert counts() == before
    assert frozen_time_of(test_clock) == JAN_31


def test_advance_form_starts_a_month_ahead_with_quick_choices(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(frozen_time=JAN_31)

    page = client.get(advance_url(test_clock))

    assert page.status_code == 200
    assert page.context["form"].initial == {"frozen_time": "2026-02-28T12:00"}
    assert [label for label, _, _ in page.context["presets"]] == [
        "+1 day",
        "+1 week",
        "+1 month",
        "+3 months",
        "+1 year",
    ]
    assert page.context["latest"] == datetime(2028, 1, 31, 12, 0, tzinfo=UTC)


def test_advance_asks_for_confirmation_first_and_changes_nothing_until_then(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Upgrade", frozen_time=JAN_31)
    make_customer(name="Test Acme", test_clock=test_clock)
    before = counts()

    page = client.post(advance_url(test_clock), {"frozen_time": "2026-03-01T00:00"})

    assert page.status_code == 200
    assert page.context["confirm"] is True
    assert page.context["duration"] == "28 days, 12 hours"
    body = text(page)
    assert "Advance “Upgrade” to 2026-03-01 00:00 UTC?" in body
    assert "Test Acme" in body
    assert 'name="confirm" value="yes"' in body
    assert frozen_time_of(test_clock) == JAN_31
    assert counts() == before


def test_confirmed_advance_moves_the_clock_and_shows_what_happened(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Upgrade", frozen_time=JAN_31)
    make_customer(test_clock=test_clock)

    response = client.post(advance_url(test_clock), {"frozen_time": "2026-03-01T00:00", "confirm": "yes"}, follow=True)

    assert response.redirect_chain == [(change_url(test_clock) + "#last-advance", 302)]
    assert frozen_time_of(test_clock) == datetime(2026, 3, 1, tzinfo=UTC)
    assert [str(m) for m in response.context["messages"]] == [
        "The test clock “Upgrade” moved from 2026-01-31 12:00 to 2026-03-01 00:00 UTC. "
        "Nothing was due for its customers."
    ]
    body = text(response)
    assert "Latest: from 2026-01-31 12:00 to 2026-03-01 00:00 UTC, by finance." in body
    assert "Nothing was due for its customers in that time." in body
    assert AuditEvent.objects.get(action="test_clock.advanced").actor_label == "finance"


@needs_lifecycle
def test_the_summary_lists_each_renewal_with_its_customer(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Renewals", frozen_time=JAN_31)
    subscription = subscribe(make_customer(name="Test Acme", test_clock=test_clock))

    confirm = client.post(advance_url(test_clock), {"frozen_time": "2026-04-01T00:00"})
    assert [(row["subscription"].pk, row["at"]) for row in confirm.context["upcoming"]] == [
        (subscription.pk, datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    ]
    response = client.post(advance_url(test_clock), {"frozen_time": "2026-04-01T00:00", "confirm": "yes"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "The test clock “Renewals” moved from 2026-01-31 12:00 to 2026-04-01 00:00 UTC. "
        "What happened: 2 × Renewed: a new billing period started."
    ]
    rows = response.context["advances"][0]["rows"]
    assert [(row["customer"].name, row["subscription_id"], row["at"], row["period"]) for row in rows] == [
        (
            "Test Acme",
            subscription.pk,
            datetime(2026, 2, 28, 12, 0, tzinfo=UTC),
            (datetime(2026, 2, 28, 12, 0, tzinfo=UTC), datetime(2026, 3, 31, 12, 0, tzinfo=UTC)),
        ),
        (
            "Test Acme",
            subscription.pk,
            datetime(2026, 3, 31, 12, 0, tzinfo=UTC),
            (datetime(2026, 3, 31, 12, 0, tzinfo=UTC), datetime(2026, 4, 30, 12, 0, tzinfo=UTC)),
        ),
    ]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("2026-01-31T12:00", "Must be after 2026-01-31 12:00 UTC."),
        ("2025-01-01T00:00", "Must be after 2026-01-31 12:00 UTC."),
        ("2028-02-01T00:00", "At most 2028-01-31 12:00 UTC."),
    ],
)
@pytest.mark.parametrize("confirmed", [False, True])
def test_advance_refuses_backwards_or_too_far_on_the_field(client, finance_user, target, error, confirmed):
    client.force_login(finance_user)
    test_clock = make_clock(frozen_time=JAN_31)
    before = counts()

    data = {"frozen_time": target, **({"confirm": "yes"} if confirmed else {})}
    page = client.post(advance_url(test_clock), data)

    assert page.status_code == 200
    assert page.context["confirm"] is False
    assert page.context["form"].errors["frozen_time"] == [error]
    assert frozen_time_of(test_clock) == JAN_31
    assert counts() == before


def test_delete_confirmation_lists_what_goes(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Old scenario")
    make_customer(name="Test Acme", email="a@test.example", test_clock=test_clock)
    make_customer(name="Test Globex", test_clock=test_clock)
    before = counts()

    page = client.get(delete_url(test_clock))

    assert page.status_code == 200
    contents = page.context["contents"]
    assert ([c.name for c in contents.customers], contents.subscriptions, contents.usage_events) == (
        ["Test Acme", "Test Globex"],
        0,
        0,
    )
    body = text(page)
    assert "Delete the test clock “Old scenario” with its test data?" in body
    assert 'Test Acme</a> <span class="quiet">a@test.example · 0 subscriptions</span>' in body
    assert counts() == before


def test_delete_removes_the_clock_and_its_customers_only(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Old scenario")
    subscribe(make_customer(test_clock=test_clock))
    real = make_customer(name="Real")
    subscribe(real)

    response = client.post(delete_url(test_clock), follow=True)

    assert response.redirect_chain == [(reverse("admin:subscriptions_testclock_changelist"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "The test clock “Old scenario” was deleted with 1 test customer and all its data."
    ]
    assert not TestClock.objects.exists()
    assert list(Customer.objects.values_list("name", flat=True)) == ["Real"]
    assert Subscription.objects.get().customer_id == real.pk


def test_pricing_cannot_create_advance_or_delete(client, pricing_user):
    client.force_login(pricing_user)
    test_clock = make_clock(frozen_time=JAN_31)
    before = counts()

    assert client.get(change_url(test_clock)).status_code == 200
    assert (
        client.post(
            reverse("admin:subscriptions_testclock_add"), {"name": "X", "frozen_time": "2026-01-01T00:00"}
        ).status_code
        == 403
    )
    assert (
        client.post(advance_url(test_clock), {"frozen_time": "2026-03-01T00:00", "confirm": "yes"}).status_code == 403
    )
    assert client.post(delete_url(test_clock)).status_code == 403
    assert counts() == before


def test_the_list_shows_time_status_and_customers(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Upgrade", frozen_time=JAN_31)
    make_customer(test_clock=test_clock)

    page = client.get(reverse("admin:subscriptions_testclock_changelist"))

    assert page.status_code == 200
    [row] = page.context["cl"].result_list
    assert (row.name, row.customer_count) == ("Upgrade", 1)
    assert "2026-01-31 12:00" in page.text
