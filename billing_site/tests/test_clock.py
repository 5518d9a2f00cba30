from datetime import UTC, datetime, timedelta, timezone

import pytest

from billing_site import clock
from billing_site.errors import DomainError

MOMENT = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def resolvers(monkeypatch):
    """A clean resolver list for the test, so registrations do not leak into other tests."""
    registered: list = []
    monkeypatch.setattr(clock, "_resolvers", registered)
    return registered


def test_now_is_timezone_aware_utc():
    before = datetime.now(UTC)
    current = clock.now()
    after = datetime.now(UTC)

    assert current.tzinfo is UTC
    assert before <= current <= after


def test_frozen_at_freezes_and_restores():
    with clock.frozen_at(MOMENT) as frozen:
        assert frozen == MOMENT
        assert clock.now() == MOMENT
        assert clock.now() == MOMENT  # does not tick
    assert clock.now() != MOMENT
    assert clock.now().tzinfo is UTC


def test_frozen_at_converts_other_time_zones_to_utc():
    amsterdam = timezone(timedelta(hours=1))
    with clock.frozen_at(datetime(2026, 2, 1, 0, 59, 59, tzinfo=amsterdam)):
        assert clock.now() == MOMENT
        assert clock.now().utcoffset() == timedelta(0)


def test_frozen_at_nests():
    later = MOMENT + timedelta(days=1)
    with clock.frozen_at(MOMENT):
        with clock.frozen_at(later):
            assert clock.now() == later
        assert clock.now() == MOMENT


def test_frozen_at_rejects_naive_datetimes():
    with pytest.raises(DomainError) as caught, clock.frozen_at(datetime(2026, 1, 31, 12, 0)):
        pass  # pragma: no cover - never reached
    assert caught.value.code == "naive_datetime"
    assert clock.now() != datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


class Customer:
    def __init__(self, name: str, simulated: datetime | None = None):
        self.name = name
        self.simulated = simulated


def test_registered_test_clock_resolver_is_honoured_for_its_subject(resolvers):
    on_test_clock = Customer("Acme (test)", simulated=MOMENT)
    live = Customer("Acme")
    clock.register_test_clock_resolver(lambda subject: getattr(subject, "simulated", None))

    assert clock.now(on_test_clock) == MOMENT
    assert clock.now(live) != MOMENT
    assert clock.now(live).tzinfo is UTC
    assert clock.now() != MOMENT


def test_test_clock_wins_over_the_frozen_wall_clock(resolvers):
    clock.register_test_clock_resolver(lambda subject: getattr(subject, "simulated", None))
    wall = MOMENT - timedelta(days=30)
    with clock.frozen_at(wall):
        assert clock.now(Customer("Acme (test)", simulated=MOMENT)) == MOMENT
        assert clock.now(Customer("Acme")) == wall


def test_registering_the_same_resolver_twice_keeps_one(resolvers):
    def resolver(subject):
        return None

    clock.register_test_clock_resolver(resolver)
    clock.register_test_clock_resolver(resolver)

    assert resolvers == [resolver]
