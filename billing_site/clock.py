"""The one source of "now".

Services and domain code take ``now`` as an argument; interfaces (views, tasks, commands) get it
from here. Test clocks plug in through resolvers: a resolver maps a subject (a customer, a
subscription) to the frozen time of the test clock it belongs to, or ``None``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from billing_site.errors import DomainError

TestClockResolver = Callable[[object], datetime | None]

_resolvers: list[TestClockResolver] = []
_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("billing_clock_frozen", default=None)


def register_test_clock_resolver(resolver: TestClockResolver) -> None:
    """Let an app (subscriptions, with its test clocks) answer "what time is it for this subject"."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def now(subject: object | None = None) -> datetime:
    """Current time, timezone-aware UTC; the test clock's frozen time when ``subject`` is on one."""
    if subject is not None:
        for resolver in _resolvers:
            simulated = resolver(subject)
            if simulated is not None:
                return simulated
    frozen = _frozen.get()
    if frozen is not None:
        return frozen
    return datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    """Freeze the wall clock (tests, scenario scripts, ``--now`` options of commands)."""
    if moment.tzinfo is None:
        raise DomainError("naive_datetime", "A time must carry its time zone (for example 2026-01-31T00:00:00Z).")
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _frozen.reset(token)
