"""Billing-period maths: Stripe-style month-end anchors, half-open periods, far-away moments. No database."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from subscriptions.domain import periods
from subscriptions.domain.periods import (
    add_intervals,
    next_period,
    period_containing,
    periods_between,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def boundaries(anchor: datetime, interval: str, count: int, ns: range) -> list[datetime]:
    return [add_intervals(anchor, interval, count, n) for n in ns]


# --- add_intervals: months and years from the anchor, day clamped -----------------------------


def test_month_end_anchor_in_a_leap_year():
    anchor = utc(2024, 1, 31, 9, 30)
    assert boundaries(anchor, "month", 1, range(13)) == [
        utc(2024, 1, 31, 9, 30),
        utc(2024, 2, 29, 9, 30),
        utc(2024, 3, 31, 9, 30),
        utc(2024, 4, 30, 9, 30),
        utc(2024, 5, 31, 9, 30),
        utc(2024, 6, 30, 9, 30),
        utc(2024, 7, 31, 9, 30),
        utc(2024, 8, 31, 9, 30),
        utc(2024, 9, 30, 9, 30),
        utc(2024, 10, 31, 9, 30),
        utc(2024, 11, 30, 9, 30),
        utc(2024, 12, 31, 9, 30),
        utc(2025, 1, 31, 9, 30),
    ]


def test_month_end_anchor_in_a_common_year():
    anchor = utc(2025, 1, 31)
    assert boundaries(anchor, "month", 1, range(5)) == [
        utc(2025, 1, 31),
        utc(2025, 2, 28),
        utc(2025, 3, 31),
        utc(2025, 4, 30),
        utc(2025, 5, 31),
    ]


def test_months_are_counted_from_the_anchor_not_chained():
    """Chaining Feb 28 + 1 month would give Mar 28; from the anchor it is Mar 31."""
    anchor = utc(2025, 1, 31)
    assert add_intervals(anchor, "month", 1, 2) == utc(2025, 3, 31)
    assert add_intervals(anchor, "month", 1, 13) == utc(2026, 2, 28)
    assert add_intervals(anchor, "month", 1, 37) == utc(2028, 2, 29)


def test_day_30_anchor_only_clamps_in_february():
    anchor = utc(2025, 1, 30)
    assert boundaries(anchor, "month", 1, range(4)) == [
        utc(2025, 1, 30),
        utc(2025, 2, 28),
        utc(2025, 3, 30),
        utc(2025, 4, 30),
    ]


def test_yearly_leap_day_anchor():
    anchor = utc(2024, 2, 29, 12)
    assert boundaries(anchor, "year", 1, range(5)) == [
        utc(2024, 2, 29, 12),
        utc(2025, 2, 28, 12),
        utc(2026, 2, 28, 12),
        utc(2027, 2, 28, 12),
        utc(2028, 2, 29, 12),
    ]
    assert add_intervals(anchor, "year", 1, 76) == utc(2100, 2, 28, 12)  # 2100 is not a leap year
    assert add_intervals(anchor, "year", 1, 76 + 4) == utc(2104, 2, 29, 12)


def test_quarterly_is_three_months_from_the_anchor():
    anchor = utc(2024, 11, 30)
    assert boundaries(anchor, "month", 3, range(5)) == [
        utc(2024, 11, 30),
        utc(2025, 2, 28),
        utc(2025, 5, 30),
        utc(2025, 8, 30),
        utc(2025, 11, 30),
    ]


def test_two_yearly():
    assert add_intervals(utc(2024, 2, 29), "year", 2, 1) == utc(2026, 2, 28)
    assert add_intervals(utc(2024, 2, 29), "year", 2, 2) == utc(2028, 2, 29)


def test_negative_and_zero_n():
    anchor = utc(2024, 3, 31, 8)
    assert add_intervals(anchor, "month", 1, 0) == anchor
    assert add_intervals(anchor, "month", 1, -1) == utc(2024, 2, 29, 8)
    assert add_intervals(anchor, "month", 1, -2) == utc(2024, 1, 31, 8)
    assert add_intervals(anchor, "month", 1, -3) == utc(2023, 12, 31, 8)
    assert add_intervals(anchor, "month", 1, -13) == utc(2023, 2, 28, 8)
    assert add_intervals(anchor, "year", 1, -1) == utc(2023, 3, 31, 8)


def test_days_and_weeks_are_exact_multiples():
    anchor = utc(2024, 2, 27, 23, 59, 59, 999_999)
    assert add_intervals(anchor, "day", 1, 3) == utc(2024, 3, 1, 23, 59, 59, 999_999)
    assert add_intervals(anchor, "day", 14, 1) == utc(2024, 3, 12, 23, 59, 59, 999_999)
    assert add_intervals(anchor, "week", 1, 1) == utc(2024, 3, 5, 23, 59, 59, 999_999)
    assert add_intervals(anchor, "week", 2, -1) == utc(2024, 2, 13, 23, 59, 59, 999_999)
    assert add_intervals(anchor, "day", 1, -1) == utc(2024, 2, 26, 23, 59, 59, 999_999)


def test_time_of_day_and_tzinfo_are_kept():
    anchor = utc(2024, 1, 31, 13, 14, 15, 161_718)
    result = add_intervals(anchor, "month", 1, 1)
    assert result == utc(2024, 2, 29, 13, 14, 15, 161_718)
    assert result.tzinfo is UTC


def test_naive_anchor_is_refused():
    with pytest.raises(DomainError) as caught:
        add_intervals(datetime(2024, 1, 31), "month", 1, 1)  # noqa: DTZ001
    assert caught.value.code == "naive_datetime"
    assert "timezone" in caught.value.message


def test_naive_moment_is_refused():
    with pytest.raises(DomainError) as caught:
        period_containing(utc(2024, 1, 1), "month", 1, datetime(2024, 5, 1))  # noqa: DTZ001
    assert caught.value.code == "naive_datetime"
    assert caught.value.fields == {"moment": [caught.value.message]}


@pytest.mark.parametrize("interval", ["fortnight", "Month", "", None, "months"])
def test_unknown_interval_is_refused(interval):
    with pytest.raises(DomainError) as caught:
        add_intervals(utc(2024, 1, 1), interval, 1, 1)
    assert caught.value.code == "invalid_interval"
    assert "day, week, month or year" in caught.value.message


@pytest.mark.parametrize("count", [0, -1, True, 1.0, "1", None])
def test_count_below_one_or_not_whole_is_refused(count):
    with pytest.raises(DomainError) as caught:
        add_intervals(utc(2024, 1, 1), "month", count, 1)
    assert caught.value.code == "invalid_interval"


def test_beyond_year_9999_is_a_domain_error():
    with pytest.raises(DomainError) as caught:
        add_intervals(utc(9999, 12, 1), "month", 1, 1)
    assert caught.value.code == "date_out_of_range"
    with pytest.raises(DomainError) as caught:
        add_intervals(utc(9999, 12, 30), "day", 1, 5)
    assert caught.value.code == "date_out_of_range"
    with pytest.raises(DomainError) as caught:
        add_intervals(utc(1, 1, 1), "year", 1, -1)
    assert caught.value.code == "date_out_of_range"
    with pytest.raises(DomainError) as caught:
        period_containing(utc(2024, 1, 1), "month", 1, utc(9999, 12, 31))
    assert caught.value.code == "date_out_of_range"


# --- period_containing: half-open, before and after the anchor, far away ----------------------


def test_moment_inside_a_period():
    anchor = utc(2024, 1, 31)
    assert period_containing(anchor, "month", 1, utc(2024, 3, 15)) == (utc(2024, 2, 29), utc(2024, 3, 31))


def test_moment_on_a_boundary_belongs_to_the_next_period():
    anchor = utc(2024, 1, 31)
    assert period_containing(anchor, "month", 1, utc(2024, 3, 31)) == (utc(2024, 3, 31), utc(2024, 4, 30))
    assert period_containing(anchor, "month", 1, anchor) == (utc(2024, 1, 31), utc(2024, 2, 29))


def test_moment_just_before_a_boundary():
    anchor = utc(2024, 1, 31)
    last = utc(2024, 3, 31) - timedelta(microseconds=1)
    assert period_containing(anchor, "month", 1, last) == (utc(2024, 2, 29), utc(2024, 3, 31))


def test_same_calendar_day_but_earlier_time_is_the_previous_period():
    """Anchor at 12:00 on the 15th: May 15 at 11:59 is still in the April period."""
    anchor = utc(2024, 1, 15, 12)
    assert period_containing(anchor, "month", 1, utc(2024, 5, 15, 11, 59)) == (
        utc(2024, 4, 15, 12),
        utc(2024, 5, 15, 12),
    )
    assert period_containing(anchor, "month", 1, utc(2024, 5, 15, 12)) == (utc(2024, 5, 15, 12), utc(2024, 6, 15, 12))


def test_moment_before_the_anchor():
    anchor = utc(2024, 3, 31)
    assert period_containing(anchor, "month", 1, utc(2024, 3, 30)) == (utc(2024, 2, 29), utc(2024, 3, 31))
    assert period_containing(anchor, "month", 1, utc(2023, 12, 31)) == (utc(2023, 12, 31), utc(2024, 1, 31))
    assert period_containing(anchor, "week", 1, utc(2024, 3, 30, 23)) == (utc(2024, 3, 24), utc(2024, 3, 31))
    assert period_containing(anchor, "day", 1, anchor - timedelta(microseconds=1)) == (utc(2024, 3, 30), anchor)


def test_weekly_and_daily_periods():
    anchor = utc(2024, 1, 1, 6)  # a Monday
    assert period_containing(anchor, "week", 1, utc(2024, 1, 17)) == (utc(2024, 1, 15, 6), utc(2024, 1, 22, 6))
    assert period_containing(anchor, "week", 2, utc(2024, 1, 17)) == (utc(2024, 1, 15, 6), utc(2024, 1, 29, 6))
    assert period_containing(anchor, "day", 1, utc(2024, 2, 29, 5)) == (utc(2024, 2, 28, 6), utc(2024, 2, 29, 6))
    assert period_containing(anchor, "day", 1, utc(2024, 2, 29, 6)) == (utc(2024, 2, 29, 6), utc(2024, 3, 1, 6))


def test_quarterly_period_containing():
    anchor = utc(2024, 1, 31)
    assert period_containing(anchor, "month", 3, utc(2024, 6, 1)) == (utc(2024, 4, 30), utc(2024, 7, 31))
    assert period_containing(anchor, "month", 3, utc(2024, 4, 29)) == (utc(2024, 1, 31), utc(2024, 4, 30))
    assert period_containing(anchor, "month", 3, utc(2023, 11, 1)) == (utc(2023, 10, 31), utc(2024, 1, 31))


def test_yearly_period_containing_around_a_leap_day():
    anchor = utc(2024, 2, 29)
    assert period_containing(anchor, "year", 1, utc(2025, 2, 28)) == (utc(2025, 2, 28), utc(2026, 2, 28))
    assert period_containing(anchor, "year", 1, utc(2025, 2, 27)) == (utc(2024, 2, 29), utc(2025, 2, 28))
    assert period_containing(anchor, "year", 1, utc(2028, 3, 1)) == (utc(2028, 2, 29), utc(2029, 2, 28))


def test_far_away_moments_are_found_arithmetically():
    anchor = utc(2000, 1, 31, 1, 2, 3)
    assert period_containing(anchor, "day", 1, utc(9000, 6, 1)) == (utc(9000, 5, 31, 1, 2, 3), utc(9000, 6, 1, 1, 2, 3))
    assert period_containing(anchor, "month", 1, utc(9000, 3, 1)) == (
        utc(9000, 2, 28, 1, 2, 3),  # 9000 is divisible by 100 and not by 400: a common year
        utc(9000, 3, 31, 1, 2, 3),
    )
    assert period_containing(anchor, "year", 1, utc(9000, 1, 31, 1, 2, 3)) == (
        utc(9000, 1, 31, 1, 2, 3),
        utc(9001, 1, 31, 1, 2, 3),
    )
    assert period_containing(anchor, "month", 1, utc(1, 2, 1)) == (utc(1, 1, 31, 1, 2, 3), utc(1, 2, 28, 1, 2, 3))
    assert period_containing(anchor, "week", 3, utc(1, 2, 1)) == (utc(1, 1, 22, 1, 2, 3), utc(1, 2, 12, 1, 2, 3))


def test_moment_in_another_timezone_is_the_same_instant():
    anchor = utc(2024, 1, 31)
    amsterdam_summer = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 1, 0, tzinfo=amsterdam_summer)  # 2024-04-30 23:00 UTC
    assert period_containing(anchor, "month", 1, moment) == (utc(2024, 4, 30), utc(2024, 5, 31))
    early = datetime(2024, 4, 30, 1, 0, tzinfo=amsterdam_summer)  # 2024-04-29 23:00 UTC
    assert period_containing(anchor, "month", 1, early) == (utc(2024, 3, 31), utc(2024, 4, 30))


# --- next_period: the renewal --------------------------------------------------------------------


def test_next_period_starts_at_the_period_end():
    anchor = utc(2024, 1, 31, 10)
    assert next_period(anchor, "month", 1, utc(2024, 2, 29, 10)) == (utc(2024, 2, 29, 10), utc(2024, 3, 31, 10))
    assert next_period(anchor, "month", 1, utc(2024, 3, 31, 10)) == (utc(2024, 3, 31, 10), utc(2024, 4, 30, 10))
    assert next_period(anchor, "year", 1, anchor) == (anchor, utc(2025, 1, 31, 10))
    assert next_period(anchor, "week", 1, utc(2024, 2, 7, 10)) == (utc(2024, 2, 7, 10), utc(2024, 2, 14, 10))


def test_next_period_refuses_a_moment_that_is_not_a_boundary():
    with pytest.raises(DomainError) as caught:
        next_period(utc(2024, 1, 31), "month", 1, utc(2024, 2, 28))
    assert caught.value.code == "not_a_period_boundary"
    assert caught.value.fields == {"period_end": [caught.value.message]}


# --- periods_between: several renewals in one clock advance --------------------------------------


def test_periods_beginning_in_a_window():
    anchor = utc(2024, 1, 31)
    assert periods_between(anchor, "month", 1, utc(2024, 2, 15), utc(2024, 5, 1)) == [
        (utc(2024, 2, 29), utc(2024, 3, 31)),
        (utc(2024, 3, 31), utc(2024, 4, 30)),
        (utc(2024, 4, 30), utc(2024, 5, 31)),
    ]


def test_periods_between_is_half_open():
    anchor = utc(2024, 1, 31)
    assert periods_between(anchor, "month", 1, utc(2024, 2, 29), utc(2024, 3, 31)) == [
        (utc(2024, 2, 29), utc(2024, 3, 31)),
    ]
    assert periods_between(anchor, "month", 1, utc(2024, 3, 1), utc(2024, 3, 31)) == []


def test_periods_between_an_empty_or_reversed_window():
    anchor = utc(2024, 1, 31)
    assert periods_between(anchor, "day", 1, utc(2024, 3, 1), utc(2024, 3, 1)) == []
    assert periods_between(anchor, "day", 1, utc(2024, 3, 2), utc(2024, 3, 1)) == []


def test_periods_between_before_the_anchor_and_across_years():
    anchor = utc(2024, 2, 29)
    assert periods_between(anchor, "year", 1, utc(2022, 1, 1), utc(2026, 1, 1)) == [
        (utc(2022, 2, 28), utc(2023, 2, 28)),
        (utc(2023, 2, 28), utc(2024, 2, 29)),
        (utc(2024, 2, 29), utc(2025, 2, 28)),
        (utc(2025, 2, 28), utc(2026, 2, 28)),
    ]


def test_periods_between_weekly():
    anchor = utc(2024, 1, 1)
    result = periods_between(anchor, "week", 1, utc(2024, 1, 1), utc(2024, 12, 31))
    assert len(result) == 53
    assert result[-1] == (utc(2024, 12, 30), utc(2025, 1, 6))


# --- properties ---------------------------------------------------------------------------------

intervals = st.sampled_from(["day", "week", "month", "year"])
counts = st.integers(1, 24)
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001


@given(anchor=moments, interval=intervals, count=counts, moment=moments)
def test_periods_tile_time(anchor, interval, count, moment):
    start, end = period_containing(anchor, interval, count, moment)
    assert start <= moment < end
    assert period_containing(anchor, interval, count, start) == (start, end)
    assert period_containing(anchor, interval, count, end - timedelta(microseconds=1)) == (start, end)
    following = period_containing(anchor, interval, count, end)
    assert following[0] == end and following[1] > end
    assert next_period(anchor, interval, count, end) == following
    previous = period_containing(anchor, interval, count, start - timedelta(microseconds=1))
    assert previous[1] == start


@given(anchor=moments, interval=intervals, count=counts, n=st.integers(-300, 300))
def test_boundaries_are_the_anchor_plus_n_periods(anchor, interval, count, n):
    if interval == "year":
        n = n // count // 4  # keep within years 1..9999
    boundary = add_intervals(anchor, interval, count, n)
    assert period_containing(anchor, interval, count, boundary)[0] == boundary
    assert add_intervals(anchor, interval, count, n + 1) > boundary
    assert (boundary.hour, boundary.minute, boundary.second, boundary.microsecond) == (
        anchor.hour,
        anchor.minute,
        anchor.second,
        anchor.microsecond,
    )
    assert boundary.tzinfo is anchor.tzinfo


@given(anchor=moments, count=counts, n=st.integers(-300, 300))
def test_months_clamp_the_anchor_day(anchor, count, n):
    boundary = add_intervals(anchor, "month", count, n)
    assert boundary == add_intervals(anchor, "month", 1, n * count)
    assert (boundary.year * 12 + boundary.month) - (anchor.year * 12 + anchor.month) == n * count
    days_in_month = calendar.monthrange(boundary.year, boundary.month)[1]
    assert boundary.day == min(anchor.day, days_in_month)


@given(anchor=moments, count=st.integers(1, 8), n=st.integers(-50, 50))
def test_years_are_twelve_months(anchor, count, n):
    assert add_intervals(anchor, "year", count, n) == add_intervals(anchor, "month", 12 * count, n)


@given(anchor=moments, count=counts, n=st.integers(-300, 300))
def test_weeks_are_seven_days(anchor, count, n):
    assert add_intervals(anchor, "week", count, n) == add_intervals(anchor, "day", 7 * count, n)
    assert add_intervals(anchor, "day", count, n) - anchor == timedelta(days=count * n)


@given(
    anchor=moments,
    interval=intervals,
    count=st.integers(1, 3),
    start=moments,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
)
def test_periods_between_lists_every_boundary_in_the_window(anchor, interval, count, start, length):
    end = start + length
    result = periods_between(anchor, interval, count, start, end)
    first = period_containing(anchor, interval, count, start)
    expected = []
    period = first if first[0] == start else period_containing(anchor, interval, count, first[1])
    while period[0] < end:
        expected.append(period)
        period = next_period(anchor, interval, count, period[1])
    assert result == expected
    for (_, finish), (begin, _) in zip(result, result[1:], strict=False):
        assert finish == begin
    assert all(start <= begin < end for begin, _ in result)


@given(anchor=moments, interval=intervals, count=counts, moment=moments, hours=st.integers(-14, 14))
def test_the_timezone_of_the_moment_does_not_matter(anchor, interval, count, moment, hours):
    elsewhere = moment.astimezone(timezone(timedelta(hours=hours)))
    assert period_containing(anchor, interval, count, elsewhere) == period_containing(anchor, interval, count, moment)


def test_period_containing_does_not_walk_period_by_period(monkeypatch):
    calls = []
    real = periods._boundary

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(periods, "_boundary", counting)
    anchor = utc(1, 1, 31, 12)
    assert period_containing(anchor, "month", 1, utc(9999, 3, 31, 11)) == (utc(9999, 2, 28, 12), utc(9999, 3, 31, 12))
    assert len(calls) <= 6
    calls.clear()
    assert period_containing(utc(9999, 12, 31), "day", 1, utc(1, 1, 1, 12)) == (utc(1, 1, 1), utc(1, 1, 2))
    assert len(calls) <= 6
