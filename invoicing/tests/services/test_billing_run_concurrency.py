"""Two billing runs at once bill each subscription once (PostgreSQL row locks, skip_locked);
a run killed halfway resumes where it stopped, with no duplicate and no gap."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from invoicing.models import Invoice, InvoiceKind
from invoicing.services import billing
from invoicing.services.billing import billing_run
from invoicing.tests.factories import eu_rates
from subscriptions.models import Subscription
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc

JAN15, FEB15 = utc(2026, 1, 15), utc(2026, 2, 15)
COUNT = 40


def make_many(count=COUNT):
    eu_rates()
    version = make_flat_plan("29.00")
    return [make_subscription(make_customer(), plan_version=version, now=JAN15) for _ in range(count)]


def cycle_invoices():
    return Invoice.objects.filter(kind=InvoiceKind.SUBSCRIPTION_CYCLE)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_bill_each_subscription_once():
    make_many()
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait(10)
            billing_run(now=FEB15, batch_size=7)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert cycle_invoices().count() == COUNT
    assert sorted(cycle_invoices().values_list("subscription_id", flat=True)) == sorted(
        Subscription.objects.values_list("pk", flat=True)
    )
    assert set(Subscription.objects.values_list("current_period_start", flat=True)) == {FEB15}
    numbers = sorted(Invoice.objects.exclude(number="").values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:05d}" for n in range(1, len(numbers) + 1)]


@pytest.mark.django_db
def test_a_run_killed_halfway_resumes_without_duplicates_or_gaps(monkeypatch):
    make_many(12)
    real = billing._bill_batch
    calls = {"n": 0}

    def dies_on_the_third_batch(ids, *, now, actor):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return real(ids, now=now, actor=actor)

    monkeypatch.setattr(billing, "_bill_batch", dies_on_the_third_batch)
    with pytest.raises(SystemExit):
        billing_run(now=FEB15, batch_size=4)
    assert cycle_invoices().count() == 8  # two whole batches committed, the third rolled back
    assert Subscription.objects.filter(current_period_start=FEB15).count() == 8

    monkeypatch.setattr(billing, "_bill_batch", real)
    assert billing_run(now=FEB15, batch_size=4).renewed_in_batches == 4
    assert cycle_invoices().count() == 12
    assert sorted(cycle_invoices().values_list("subscription_id", flat=True)) == sorted(
        Subscription.objects.values_list("pk", flat=True)
    )
    assert {i.total.amount for i in cycle_invoices()} == {D("35.09")}
