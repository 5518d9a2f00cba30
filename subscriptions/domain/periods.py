"""Billing-period maths: where a subscription's periods start and end.

Pure Python: no Django, no I/O. Renewals, proration, usage aggregation and test clocks all ask
this module for period boundaries, so every part of the product agrees on them.

Rules (DESIGN.md §3 "Time", Stripe's documented billing-cycle semantics)
-----------------------------------------------------------------------
* A period is ``count`` × ``interval`` (day, week, month or year): ``("month", 3)`` is a quarter.
* Periods are half-open ``[start, end)``: a moment exactly on a boundary belongs to the period
  that starts there.
* Every boundary is computed **from the anchor**, never by chaining one period onto the last, so
  a short month does not shift the rest of the year. The day of the month is clamped to the
  month's length: anchor Jan 31 → Feb 28 (29 in leap years) → Mar 31 → Apr 30; anchor
  Feb 29 2024 yearly → Feb 28 2025 → Feb 28 2026 → Feb 28 2027 → Feb 29 2028.
* Days and weeks are exact multiples of 24 hours (timestamps are UTC, so no daylight saving).
* The time of day and the ``tzinfo`` of the anchor are kept. Naive datetimes are refused: a
  timestamp without a timezone is ambiguous, and guessing would move money between periods.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Literal, get_args

from billing_site.errors import DomainError

__all__ = [
    "Interval",
    "add_intervals",
    "next_period",
    "period_containing",
    "periods_between",
    "require_aware",
]

Interval = Literal["day", "week", "month", "year"]

_INTERVALS: tuple[str, ...] = get_args(Interval)
_DAYS = {"day": 1, "week": 7}
_MONTHS = {"month": 1, "year": 12}


def require_aware(value: object, field: str) -> datetime:
    """``value`` if it is a timezone-aware datetime; ``naive_datetime`` (or ``invalid_datetime``) otherwise."""
    if not isinstance(value, datetime):
        message = f"The {field.replace('_', ' ')} must be a date and time."
        raise DomainError("invalid_datetime", message, fields={field: message})
    if value.tzinfo is None or value.utcoffset() is None:
        message = f"The {field.replace('_', ' ')} has no timezone; billing times must be given in UTC."
        raise DomainError("naive_datetime", message, fields={field: message})
    return value


def _check_interval(interval: object, count: object) -> None:
    if interval not in _INTERVALS:
        message = f"“{interval}” is not a billing interval. Use day, week, month or year."
        raise DomainError("invalid_interval", message, fields={"interval": message})
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        message = f"The number of {interval}s in a billing period must be a whole number of at least 1, not “{count}”."
        raise DomainError("invalid_interval", message, fields={"interval_count": message})


def _out_of_range() -> DomainError:
    return DomainError(
        "date_out_of_range",
        "This billing period would fall outside the dates the system can handle (years 1 to 9999).",
    )


def _boundary(anchor: datetime, interval: str, count: int, n: int) -> datetime:
    """``add_intervals`` without the checks, for callers that already made them."""
    try:
        if interval in _DAYS:
            return anchor + timedelta(days=_DAYS[interval] * count * n)
        months = anchor.year * 12 + (anchor.month - 1) + _MONTHS[interval] * count * n
        year, month = divmod(months, 12)
        month += 1
        day = min(anchor.day, calendar.monthrange(year, month)[1])
        return anchor.replace(year=year, month=month, day=day)
    except (OverflowError, ValueError, calendar.IllegalMonthError) as exc:
        raise _out_of_range() from exc


def add_intervals(anchor: datetime, interval: str, count: int, n: int) -> datetime:
    """The boundary ``n`` periods after ``anchor`` (``n`` may be 0 or negative).

    One period is ``count`` × ``interval``. Months and years are counted from the anchor with the
    day clamped to the month's length, so ``n`` can be any period without drifting.
    """
    require_aware(anchor, "anchor")
    _check_interval(interval, count)
    if isinstance(n, bool) or not isinstance(n, int):
        raise DomainError("invalid_interval", f"The number of periods must be a whole number, not “{n}”.")
    return _boundary(anchor, interval, count, n)


def _index_containing(anchor: datetime, interval: str, count: int, moment: datetime) -> int:
    """The ``n`` with ``boundary(n) <= moment < boundary(n + 1)``: estimated, then nudged."""
    if interval in _DAYS:
        # Exact: timedelta // timedelta floors, also for moments before the anchor.
        return (moment - anchor) // timedelta(days=_DAYS[interval] * count)
    local = moment.astimezone(anchor.tzinfo)
    months = (local.year * 12 + local.month) - (anchor.year * 12 + anchor.month)
    n = months // (_MONTHS[interval] * count)
    # The estimate is off by at most one period (day-of-month and time of day); nudge it.
    while _boundary(anchor, interval, count, n) > moment:
        n -= 1
    while _boundary(anchor, interval, count, n + 1) <= moment:
        n += 1
    return n


def period_containing(anchor: datetime, interval: str, count: int, moment: datetime) -> tuple[datetime, datetime]:
    """The half-open period ``[start, end)`` that contains ``moment``.

    ``moment`` may lie before the anchor (a period before it) or any number of periods after it:
    the period is found arithmetically, not by walking period by period.
    """
    require_aware(anchor, "anchor")
    require_aware(moment, "moment")
    _check_interval(interval, count)
    n = _index_containing(anchor, interval, count, moment)
    return _boundary(anchor, interval, count, n), _boundary(anchor, interval, count, n + 1)


def next_period(anchor: datetime, interval: str, count: int, period_end: datetime) -> tuple[datetime, datetime]:
    """The period that starts at ``period_end``: what a renewal bills.

    ``period_end`` must be a boundary of this anchor's periods; anything else means the stored
    period and the anchor disagree, and renewing would silently shift the billing cycle.
    """
    start, end = period_containing(anchor, interval, count, period_end)
    if start != period_end:
        message = (
            f"{period_end.isoformat()} is not the end of a billing period for this billing cycle "
            f"(the nearest period runs from {start.isoformat()} to {end.isoformat()})."
        )
        raise DomainError("not_a_period_boundary", message, fields={"period_end": message})
    return start, end


def periods_between(
    anchor: datetime, interval: str, count: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Every period that begins in ``[start, end)``, in time order.

    A test clock advanced from ``start`` to ``end`` renews once per period returned. The list
    is empty when ``end <= start`` or no boundary falls in between.
    """
    require_aware(anchor, "anchor")
    require_aware(start, "start")
    require_aware(end, "end")
    _check_interval(interval, count)
    if end <= start:
        return []
    n = _index_containing(anchor, interval, count, start)
    if _boundary(anchor, interval, count, n) < start:
        n += 1
    periods = []
    begin = _boundary(anchor, interval, count, n)
    while begin < end:
        finish = _boundary(anchor, interval, count, n + 1)
        periods.append((begin, finish))
        begin, n = finish, n + 1
    return periods
