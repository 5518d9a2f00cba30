"""Proration per second over the current period, each line rounded on its own. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import round_money
from subscriptions.domain.proration import (
    ProratedItem,
    ProrationLine,
    prorate_cancellation,
    prorate_change,
    proration_fraction,
)

D = Decimal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


APRIL = (utc(2024, 4, 1), utc(2024, 5, 1))  # 30 days
JANUARY = (utc(2025, 1, 1), utc(2025, 2, 1))  # 31 days
STARTER = ProratedItem("Starter plan", D("29.00"), price_id=1)
PRO = ProratedItem("Pro plan", D("49.00"), price_id=2)


def change(old, new, at, period=APRIL, currency="EUR"):
    start, end = period
    return prorate_change(old=old, new=new, period_start=start, period_end=end, at=at, currency=currency)


# --- proration_fraction ------------------------------------------------------------------------


def test_fraction_mid_april_is_one_half():
    assert proration_fraction(*APRIL, utc(2024, 4, 16)) == D("0.5")


def test_fraction_at_start_is_one_and_at_end_is_zero():
    assert proration_fraction(*APRIL, APRIL[0]) == 1
    assert proration_fraction(*APRIL, APRIL[1]) == 0


def test_fraction_is_per_second_and_carries_100_significant_digits():
    with localcontext(Context(prec=100)):
        assert proration_fraction(*APRIL, APRIL[1] - timedelta(seconds=1)) == D(1) / D(2_592_000)
        assert proration_fraction(*JANUARY, utc(2025, 1, 16)) == D(16) / D(31)
    assert abs(Fraction(proration_fraction(*JANUARY, utc(2025, 1, 16))) - Fraction(16, 31)) < Fraction(1, 10**99)
    assert proration_fraction(*APRIL, utc(2024, 4, 25)) == D("0.2")


def test_fraction_counts_microseconds():
    start = utc(2024, 4, 1)
    assert proration_fraction(start, start + timedelta(seconds=1), start + timedelta(microseconds=250_000)) == D("0.75")


@pytest.mark.parametrize("at", [utc(2024, 3, 31, 23, 59, 59), utc(2024, 5, 1, 0, 0, 0, 1)])
def test_fraction_outside_the_period_is_refused(at):
    with pytest.raises(DomainError) as caught:
        proration_fraction(*APRIL, at)
    assert caught.value.code == "outside_period"
    assert caught.value.fields == {"at": [caught.value.message]}


def test_empty_or_reversed_period_is_refused():
    with pytest.raises(DomainError) as caught:
        proration_fraction(APRIL[1], APRIL[0], APRIL[0])
    assert caught.value.code == "invalid_period"
    with pytest.raises(DomainError) as caught:
        proration_fraction(APRIL[0], APRIL[0], APRIL[0])
    assert caught.value.code == "invalid_period"


def test_naive_datetimes_are_refused():
    with pytest.raises(DomainError) as caught:
        proration_fraction(APRIL[0], APRIL[1], datetime(2024, 4, 16))  # noqa: DTZ001
    assert caught.value.code == "naive_datetime"


# --- prorate_change ----------------------------------------------------------------------------


def test_upgrade_mid_april():
    at = utc(2024, 4, 16)
    assert change([STARTER], [PRO], at) == [
        ProrationLine(
            description="Unused time on Starter plan after 16 Apr 2024",
            amount=D("-14.50"),
            quantity=D(1),
            unit_amount=D("-14.500000000000"),
            period_start=at,
            period_end=APRIL[1],
            price_id=1,
            kind="credit",
        ),
        ProrationLine(
            description="Remaining time on Pro plan from 16 Apr 2024",
            amount=D("24.50"),
            quantity=D(1),
            unit_amount=D("24.500000000000"),
            period_start=at,
            period_end=APRIL[1],
            price_id=2,
            kind="charge",
        ),
    ]


def test_change_at_the_first_second_credits_and_charges_in_full():
    lines = change([STARTER], [PRO], APRIL[0])
    assert [(line.kind, line.amount) for line in lines] == [("credit", D("-29.00")), ("charge", D("49.00"))]
    assert lines[0].description == "Unused time on Starter plan after 01 Apr 2024"
    assert (lines[0].period_start, lines[0].period_end) == APRIL


def test_change_at_the_last_second_rounds_to_nothing():
    assert change([STARTER], [PRO], APRIL[1] - timedelta(seconds=1)) == []


def test_change_at_the_period_end_prorates_nothing():
    assert change([STARTER], [PRO], APRIL[1]) == []


def test_a_large_amount_at_the_last_second_still_prorates():
    """1,000,000.00 a month: one second of 30 days is 0.385802… → 0.39."""
    item = ProratedItem("Enterprise", D("1000000.00"))
    lines = change([item], [], APRIL[1] - timedelta(seconds=1))
    assert [line.amount for line in lines] == [D("-0.39")]


def test_thirty_one_day_month():
    """16 of 31 days left: 29.00 × 16/31 = 14.967… → 14.97; 49.00 × 16/31 = 25.290… → 25.29."""
    lines = change([STARTER], [PRO], utc(2025, 1, 16), period=JANUARY)
    assert [line.amount for line in lines] == [D("-14.97"), D("25.29")]
    assert lines[0].description == "Unused time on Starter plan after 16 Jan 2025"


def test_thirty_one_day_month_credit_of_a_third_of_a_period():
    """10 of 31 days left of 50.00: 16.129… → credit −16.13."""
    lines = prorate_cancellation(
        items=[ProratedItem("Team plan", D("50.00"))],
        period_start=JANUARY[0],
        period_end=JANUARY[1],
        at=utc(2025, 1, 22),
        currency="EUR",
    )
    assert [line.amount for line in lines] == [D("-16.13")]


def test_jpy_rounds_to_whole_yen_half_up():
    """1001 JPY × ½ = 500.5 → 501 both ways (half away from zero)."""
    item = ProratedItem("Basic", D(1001))
    lines = change([item], [item], utc(2024, 4, 16), currency="JPY")
    assert [line.amount for line in lines] == [D(-501), D(501)]
    assert [line.unit_amount for line in lines] == [D("-501.000000000000"), D("501.000000000000")]


def test_jpy_third_of_a_period():
    item = ProratedItem("Basic", D(1000))
    lines = change([item], [], utc(2024, 4, 21), currency="jpy")
    assert [line.amount for line in lines] == [D(-333)]


def test_kwd_rounds_to_three_decimals():
    item = ProratedItem("Basic", D("10.001"))
    lines = change([item], [], utc(2024, 4, 16), currency="KWD")
    assert [line.amount for line in lines] == [D("-5.001")]  # 5.0005 → 5.001


def test_each_line_is_rounded_separately():
    """Two 0.01 items at half the period: each 0.005 → 0.01, so 0.02 — not round(0.01) of the sum."""
    items = [ProratedItem("Seat A", D("0.01")), ProratedItem("Seat B", D("0.01"))]
    lines = change([], items, utc(2024, 4, 16))
    assert [line.amount for line in lines] == [D("0.01"), D("0.01")]


def test_quantity_and_unit_amount():
    seats = ProratedItem("Seats", D("87.00"), price_id=7, quantity=D(3))
    more = ProratedItem("Seats", D("145.00"), price_id=7, quantity=D(5))
    credit, charge = change([seats], [more], utc(2024, 4, 16))
    assert (credit.amount, credit.quantity, credit.unit_amount) == (D("-43.50"), D(3), D("-14.500000000000"))
    assert (charge.amount, charge.quantity, charge.unit_amount) == (D("72.50"), D(5), D("14.500000000000"))


def test_unit_amount_is_quantized_to_twelve_places():
    item = ProratedItem("Seats", D("30.00"), quantity=D(3))
    (line,) = change([], [item], utc(2024, 4, 21))  # 10 of 30 days: 10.00 over 3 seats
    assert line.amount == D("10.00")
    assert line.unit_amount == D("3.333333333333")


def test_zero_quantity_flat_fee_gets_quantity_one():
    item = ProratedItem("Platform fee", D("20.00"), quantity=D(0))
    (line,) = change([item], [], utc(2024, 4, 16))
    assert (line.amount, line.quantity, line.unit_amount) == (D("-10.00"), D(1), D("-10.000000000000"))


def test_zero_amount_items_give_no_line():
    free = ProratedItem("Free plan", D("0.00"))
    assert change([free], [PRO], utc(2024, 4, 16)) == [change([], [PRO], utc(2024, 4, 16))[0]]


def test_credits_come_first_in_item_order_then_charges():
    old = [ProratedItem("A", D("10.00")), ProratedItem("B", D("20.00"))]
    new = [ProratedItem("C", D("30.00")), ProratedItem("D", D("40.00"))]
    lines = change(old, new, utc(2024, 4, 16))
    assert [(line.kind, line.amount) for line in lines] == [
        ("credit", D("-5.00")),
        ("credit", D("-10.00")),
        ("charge", D("15.00")),
        ("charge", D("20.00")),
    ]


def test_change_outside_the_period_is_refused():
    with pytest.raises(DomainError) as caught:
        change([STARTER], [PRO], utc(2024, 5, 2))
    assert caught.value.code == "outside_period"


def test_unknown_currency_is_refused():
    with pytest.raises(DomainError) as caught:
        change([STARTER], [PRO], utc(2024, 4, 16), currency="EURO")
    assert caught.value.code == "invalid_currency"


@pytest.mark.parametrize("amount", [D("-1.00"), 29.0, "29.00"])
def test_negative_or_inexact_billed_amounts_are_refused(amount):
    with pytest.raises(DomainError) as caught:
        change([ProratedItem("Starter plan", amount)], [], utc(2024, 4, 16))
    assert caught.value.code == "invalid_amount"
    assert "Starter plan" in caught.value.message


def test_cancellation_credits_only():
    lines = prorate_cancellation(
        items=[STARTER, PRO], period_start=APRIL[0], period_end=APRIL[1], at=utc(2024, 4, 16), currency="EUR"
    )
    assert [(line.kind, line.amount, line.price_id) for line in lines] == [
        ("credit", D("-14.50"), 1),
        ("credit", D("-24.50"), 2),
    ]


# --- properties ---------------------------------------------------------------------------------

CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}


@st.composite
def periods(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))  # noqa: DTZ001
    length = draw(st.integers(1, 400 * 86_400 * 10**6))
    return start, start + timedelta(microseconds=length)


def moment_in(period: tuple[datetime, datetime], share: int) -> datetime:
    """The moment ``share`` millionths of the way through ``period`` (to the microsecond)."""
    start, end = period
    return start + timedelta(microseconds=(end - start) // timedelta(microseconds=1) * share // 10**6)


shares = st.integers(0, 10**6)


@st.composite
def billed(draw: st.DrawFn) -> tuple[str, Decimal]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    return currency, Decimal(draw(st.integers(0, 10**9))).scaleb(-CURRENCIES[currency])


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCIES[currency])


@given(period=periods(), first=shares, second=shares)
def test_fraction_is_between_zero_and_one_and_shrinks_over_time(period, first, second):
    early, late = sorted((moment_in(period, first), moment_in(period, second)))
    assert 0 <= proration_fraction(*period, late) <= proration_fraction(*period, early) <= 1


@given(period=periods(), money=billed(), share=shares, quantity=st.integers(0, 1000))
def test_lines_never_exceed_what_was_billed(period, money, share, quantity):
    currency, amount = money
    at = moment_in(period, share)
    item = ProratedItem("Plan", amount, price_id=3, quantity=Decimal(quantity))
    lines = change([item], [item], at, period=period, currency=currency)
    for line in lines:
        assert line.amount != 0
        assert -amount <= line.amount <= amount
        assert line.amount == round_money(line.amount, currency)
        assert (line.kind == "credit") == (line.amount < 0)
        assert (line.period_start, line.period_end, line.price_id) == (at, period[1], 3)
        assert abs(line.unit_amount * line.quantity - line.amount) <= line.quantity * Decimal("0.5E-12")


@given(period=periods(), money=billed(), share=shares)
def test_the_same_items_before_and_after_cost_nothing(period, money, share):
    currency, amount = money
    items = [ProratedItem("Plan", amount), ProratedItem("Add-on", amount // 3)]
    lines = change(items, items, moment_in(period, share), period=period, currency=currency)
    assert sum((line.amount for line in lines), Decimal(0)) == 0


@given(period=periods(), money=billed())
def test_a_change_at_the_start_credits_everything_billed(period, money):
    currency, amount = money
    lines = change([ProratedItem("Plan", amount)], [], period[0], period=period, currency=currency)
    assert sum((line.amount for line in lines), Decimal(0)) == -amount


@given(period=periods(), money=billed(), first=shares, second=shares)
def test_splitting_the_unused_time_adds_up_within_one_minor_unit(period, money, first, second):
    """Credit for [at, split) + credit for [split, end) ≈ credit for [at, end): each line rounds on its own."""
    currency, amount = money
    at, split = sorted((moment_in(period, first), moment_in(period, second)))
    item = ProratedItem("Plan", amount)

    def credited(moment: datetime) -> Decimal:
        return sum((line.amount for line in change([item], [], moment, period=period, currency=currency)), Decimal(0))

    first_part = round_money(-amount * (proration_fraction(*period, at) - proration_fraction(*period, split)), currency)
    assert abs(first_part + credited(split) - credited(at)) <= minor_unit(currency)


@given(period=periods(), money=billed(), first=shares, second=shares)
def test_two_changes_in_one_period_bill_the_time_between_within_one_minor_unit(period, money, first, second):
    """Upgrade to a plan at ``at`` (charge the rest), change away at ``later`` (credit the rest)."""
    currency, amount = money
    at, later = sorted((moment_in(period, first), moment_in(period, second)))
    plan = ProratedItem("Plan", amount)
    charged = sum((line.amount for line in change([], [plan], at, period=period, currency=currency)), Decimal(0))
    credited = sum((line.amount for line in change([plan], [], later, period=period, currency=currency)), Decimal(0))
    us = timedelta(microseconds=1)
    used = Fraction(amount) * Fraction((later - at) // us, (period[1] - period[0]) // us)
    assert abs(Fraction(charged + credited) - used) <= Fraction(minor_unit(currency))
