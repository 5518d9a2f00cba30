"""Usage alerts: set by staff (audited), crossed once per period, e-mailed once, checked by a job."""

from __future__ import annotations

import pytest
from django.core import mail

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing
from subscriptions.services import usage as usage_services
from subscriptions.services.usage import (
    usage_alert_create,
    usage_alert_notifications_send,
    usage_alert_update,
    usage_alerts_check,
)
from subscriptions.tasks import check_usage_alerts_task
from subscriptions.tests.usage.helpers import (
    ACTOR,
    D,
    make_customer,
    make_metric,
    make_subscription,
    metered_price,
    send,
    usage_counts,
    utc,
)

pytestmark = pytest.mark.django_db

NOW = utc(2026, 1, 11)
FIFTH = utc(2026, 1, 5)


@pytest.fixture
def customer():
    return make_customer(name="Acme B.V.", email="finance@acme.example")


@pytest.fixture
def api_calls():
    return make_metric(code="api_calls", name="API calls", aggregation="sum")


@pytest.fixture
def subscription(customer, api_calls):
    return make_subscription(customer, metered_price(api_calls))  # 0.01 per call, January


def use(customer, metric, value, when=FIFTH):
    send(customer, metric, (value, when), now=max(NOW, when))


def check(customer, now=NOW, *, callbacks):
    with callbacks(execute=True):
        return usage_alerts_check(customer=customer, now=now)


def test_staff_create_and_change_alerts_and_each_write_is_audited(customer, subscription, api_calls):
    alert = usage_alert_create(
        actor=ACTOR, now=NOW, customer=customer, subscription=subscription, metric_code="api_calls",
        kind="amount", threshold=D("50"), notify_email="ops@acme.example",
    )  # fmt: skip

    usage_alert_update(alert=alert, actor=ACTOR, now=NOW, threshold=D("75"), active=False)

    alert.refresh_from_db()
    assert (alert.threshold, alert.active, alert.created_at) == (D(75), False, NOW)
    events = AuditEvent.objects.filter(object_type="subscriptions.usagealert", object_id=str(alert.pk))
    assert sorted(events.values_list("action", flat=True)) == ["usage_alert.created", "usage_alert.updated"]
    assert events.get(action="usage_alert.updated").after == {"threshold": "75", "active": False}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"metric_code": "nope"}, "unknown_metric"),
        ({"threshold": D(0)}, "invalid_threshold"),
        ({"threshold": D("-1")}, "invalid_threshold"),
        ({"kind": "amount"}, "metric_not_billed"),
        ({"notify_email": "not an address"}, "invalid"),
        ({"customer": None}, "customer_required"),
    ],
)
def test_bad_alerts_are_refused_and_nothing_is_written(customer, api_calls, fields, code):
    before = usage_counts()

    with pytest.raises(DomainError) as error:
        usage_alert_create(
            actor=ACTOR, now=NOW, **{"customer": customer, "metric_code": "api_calls", "threshold": D(10), **fields}
        )

    assert error.value.code == code
    assert usage_counts() == before


def test_an_alert_cannot_watch_another_customers_subscription(customer, subscription):
    with pytest.raises(DomainError) as error:
        usage_alert_create(
            actor=ACTOR, now=NOW, customer=make_customer(), subscription=subscription, metric_code="api_calls",
            threshold=D(1),
        )  # fmt: skip
    assert error.value.code == "subscription_not_of_customer"


def test_a_crossing_is_recorded_and_mailed_once_per_period(
    customer, subscription, api_calls, django_capture_on_commit_callbacks
):
    alert = usage_alert_create(actor=ACTOR, now=NOW, customer=customer, metric_code="api_calls", threshold=D(1000))
    use(customer, api_calls, "999.5")
    assert check(customer, callbacks=django_capture_on_commit_callbacks) == []
    assert mail.outbox == []

    use(customer, api_calls, "0.5")  # exactly the threshold: reached
    (crossing,) = check(customer, callbacks=django_capture_on_commit_callbacks)
    use(customer, api_calls, "5000")
    assert check(customer, callbacks=django_capture_on_commit_callbacks) == []

    assert (crossing.alert, crossing.period_start, crossing.period_end, crossing.value, crossing.crossed_at) == (
        alert,
        utc(2026, 1, 1),
        utc(2026, 2, 1),
        D(1000),
        NOW,
    )
    assert UsageAlertCrossing.objects.get().notified_at == NOW
    (message,) = mail.outbox
    assert message.to == ["finance@acme.example"]
    assert message.subject == "Usage alert: API calls reached 1,000 for Acme B.V."
    assert "reached 1,000 in the billing period 01 January 2026 00:00 – 01 February 2026 00:00 (UTC)" in message.body
    assert AuditEvent.objects.filter(action="usage_alert.crossed", object_id=str(alert.pk)).count() == 1

    # The next period: the same alert crosses again, once.
    subscription.current_period_start, subscription.current_period_end = utc(2026, 2, 1), utc(2026, 3, 1)
    subscription.save()
    use(customer, api_calls, "1200", when=utc(2026, 2, 3))
    check(customer, now=utc(2026, 2, 4), callbacks=django_capture_on_commit_callbacks)
    assert list(UsageAlertCrossing.objects.order_by("period_start").values_list("period_start", "value")) == [
        (utc(2026, 1, 1), D(1000)),
        (utc(2026, 2, 1), D(1200)),
    ]
    assert len(mail.outbox) == 2


def test_an_amount_alert_watches_what_the_usage_costs(
    customer, subscription, api_calls, django_capture_on_commit_callbacks
):
    usage_alert_create(
        actor=ACTOR, now=NOW, customer=customer, subscription=subscription, metric_code="api_calls", kind="amount",
        threshold=D("25.00"), notify_email="ops@acme.example",
    )  # fmt: skip
    use(customer, api_calls, "2499")  # 24.99
    assert check(customer, callbacks=django_capture_on_commit_callbacks) == []

    use(customer, api_calls, "1")  # 25.00
    (crossing,) = check(customer, callbacks=django_capture_on_commit_callbacks)

    assert crossing.value == D("25.00")
    assert mail.outbox[0].to == ["ops@acme.example"]
    assert "an amount of 25" in mail.outbox[0].body


def test_inactive_alerts_and_other_metrics_do_not_fire(
    customer, subscription, api_calls, django_capture_on_commit_callbacks
):
    storage = make_metric(code="storage", aggregation="max")
    alert = usage_alert_create(actor=ACTOR, now=NOW, customer=customer, metric_code="api_calls", threshold=D(1))
    usage_alert_create(actor=ACTOR, now=NOW, customer=customer, metric_code="storage", threshold=D(100))
    usage_alert_update(alert=alert, actor=ACTOR, now=NOW, active=False)
    use(customer, api_calls, "50")
    use(customer, storage, "99")

    assert check(customer, callbacks=django_capture_on_commit_callbacks) == []
    assert mail.outbox == []


def test_a_failed_email_is_sent_by_the_next_check(
    customer, subscription, api_calls, monkeypatch, django_capture_on_commit_callbacks
):
    usage_alert_create(actor=ACTOR, now=NOW, customer=customer, metric_code="api_calls", threshold=D(10))
    use(customer, api_calls, "10")

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(usage_services, "send_mail", broken)
    check(customer, callbacks=django_capture_on_commit_callbacks)
    assert UsageAlertCrossing.objects.get().notified_at is None
    monkeypatch.undo()

    check(customer, now=utc(2026, 1, 12), callbacks=django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert UsageAlertCrossing.objects.count() == 1
    assert UsageAlertCrossing.objects.get().notified_at == utc(2026, 1, 12)
    assert usage_alert_notifications_send(customer=customer, now=utc(2026, 1, 13)) == 0


def test_the_job_loads_the_customer_and_checks_its_alerts(
    customer, subscription, api_calls, django_capture_on_commit_callbacks
):
    usage_alert_create(actor=ACTOR, now=NOW, customer=customer, metric_code="api_calls", threshold=D(10))
    use(customer, api_calls, "10")

    with clock_at(NOW), django_capture_on_commit_callbacks(execute=True):
        assert check_usage_alerts_task(customer.pk) == 1
        assert check_usage_alerts_task(customer.pk) == 0  # safe to run twice
    assert check_usage_alerts_task(987654) == 0
    assert len(mail.outbox) == 1
    assert UsageAlert.objects.get().crossings.count() == 1


def clock_at(moment):
    from billing_site import clock

    return clock.frozen_at(moment)
