"""Row locks on PostgreSQL: concurrent changes to one subscription serialize; batch runs skip what is held."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from subscriptions.models import Subscription
from subscriptions.services.lifecycle.locks import subscription_lock
from subscriptions.services.subscriptions import subscription_change, subscriptions_process_due
from subscriptions.tests.factories import ACTOR, make_plan_with_prices, make_subscription, pending_lines, utc

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

APR_1, APR_16 = utc(2026, 4, 1), utc(2026, 4, 16)
D = Decimal
WAIT = 10


def in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def seats():
    version = make_plan_with_prices({"unit_amount": D("10.00"), "nickname": "Seat"})
    return make_subscription(plan_version=version, quantity=5, now=APR_1)


def test_two_changes_of_one_subscription_serialize(seats):
    first_locked, release, second_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[Exception] = []

    def first():
        with transaction.atomic():
            subscription_change(subscription=seats, actor=ACTOR, now=APR_16, quantity=8)
            first_locked.set()
            release.wait(WAIT)  # hold the lock: the second change must wait for this commit

    def second():
        subscription_change(subscription=seats, actor=ACTOR, now=APR_16, quantity=10)
        second_done.set()

    one = in_thread(first, errors)
    assert first_locked.wait(WAIT)
    two = in_thread(second, errors)

    assert not second_done.wait(0.5), "the second change did not wait for the first one's lock"
    release.set()
    one.join(WAIT)
    two.join(WAIT)

    assert errors == []
    assert Subscription.objects.get(pk=seats.pk).items.get().quantity == 10
    # The second change saw the first one's 8 seats: it credits 8, not 5.
    assert pending_lines(seats) == [
        ("Unused time on 5 × Seat after 16 Apr 2026", D("-25.00"), "proration"),
        ("Remaining time on 8 × Seat from 16 Apr 2026", D("40.00"), "proration"),
        ("Unused time on 8 × Seat after 16 Apr 2026", D("-40.00"), "proration"),
        ("Remaining time on 10 × Seat from 16 Apr 2026", D("50.00"), "proration"),
    ]


def test_a_batch_run_skips_a_subscription_someone_holds_and_takes_it_next_time(seats):
    locked, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def holder():
        with transaction.atomic():
            subscription_lock(seats)
            locked.set()
            release.wait(WAIT)

    thread = in_thread(holder, errors)
    assert locked.wait(WAIT)
    try:
        assert subscriptions_process_due(now=utc(2026, 5, 1)) == []
    finally:
        release.set()
        thread.join(WAIT)

    assert errors == []
    assert [e.kind for e in subscriptions_process_due(now=utc(2026, 5, 1))] == ["renewed"]


def test_two_workers_renew_each_period_exactly_once(seats):
    results: list[list] = [[], []]
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def worker(index):
        def run():
            start.wait(WAIT)
            results[index].extend(subscriptions_process_due(now=utc(2027, 4, 1)))

        return run

    threads = [in_thread(worker(0), errors), in_thread(worker(1), errors)]
    for thread in threads:
        thread.join(WAIT * 3)

    assert errors == []
    renewals = sorted(e.period.period_start for e in results[0] + results[1])
    assert renewals == [utc(2026, month, 1) for month in range(5, 13)] + [utc(2027, m, 1) for m in range(1, 5)]
    assert Subscription.objects.get(pk=seats.pk).current_period_start == utc(2027, 4, 1)
