"""Coupons on an invoice: durations, eligibility and exact allocation over lines. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import minor_units
from invoicing.domain.discounts import (
    Allocation,
    CouponTerms,
    DiscountLine,
    allocate_discount,
    allocate_discounts,
    coupon_applies,
    net_amounts,
)

D = Decimal


def percent(pct: str, *, coupon_id: int = 1, products=(), plans=()) -> CouponTerms:
    return CouponTerms(
        coupon_id=coupon_id,
        name=f"{pct}% off",
        discount_type="percent",
        percent_off=D(pct),
        amount_off=None,
        currency=None,
        applies_to_products=frozenset(products),
        applies_to_plans=frozenset(plans),
    )


def amount(off: str, currency: str | None = "EUR", *, coupon_id: int = 2, products=(), plans=()) -> CouponTerms:
    return CouponTerms(
        coupon_id=coupon_id,
        name=f"{off} off",
        discount_type="amount",
        percent_off=None,
        amount_off=D(off),
        currency=currency,
        applies_to_products=frozenset(products),
        applies_to_plans=frozenset(plans),
    )


def line(key: str, value: str, **kwargs) -> DiscountLine:
    return DiscountLine(key=key, amount=D(value), **kwargs)


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "periods", "already", "applies"),
    [
        ("once", None, 0, True),
        ("once", None, 1, False),
        ("once", None, 7, False),
        ("repeating", 3, 0, True),
        ("repeating", 3, 2, True),
        ("repeating", 3, 3, False),
        ("repeating", 3, 10, False),
        ("repeating", 1, 0, True),
        ("repeating", 1, 1, False),
        ("forever", None, 0, True),
        ("forever", None, 1_000, True),
    ],
)
def test_coupon_applies_matrix(duration, periods, already, applies):
    assert coupon_applies(duration=duration, duration_in_periods=periods, periods_already_discounted=already) is applies


@pytest.mark.parametrize(
    ("duration", "periods", "already"),
    [("weekly", None, 0), ("repeating", None, 0), ("repeating", 0, 0), ("once", None, -1)],
)
def test_coupon_applies_refuses_nonsense(duration, periods, already):
    with pytest.raises(DomainError) as error:
        coupon_applies(duration=duration, duration_in_periods=periods, periods_already_discounted=already)
    assert error.value.code == "invalid_coupon"


# --- percent -----------------------------------------------------------------------------


def test_percent_is_rounded_once_and_split_by_largest_remainder():
    # 63.33 x 20% = 12.666 -> 12.67; shares 2.0006 / 4.0013 / 6.6681 -> floors 2.00 / 4.00 / 6.66,
    # the spare cent goes to the largest remainder (the third line).
    lines = [line("a", "10.00"), line("b", "20.00"), line("c", "33.33")]
    allocation = allocate_discount(lines=lines, coupon=percent("20"), currency="EUR")
    assert allocation == Allocation(
        coupon_id=1, per_line={"a": D("2.00"), "b": D("4.00"), "c": D("6.67")}, total=D("12.67")
    )
    assert list(allocation.per_line) == ["a", "b", "c"]


def test_proration_line_is_not_discounted():
    lines = [line("fee", "50.00"), line("prorated", "-12.34", proration=True), line("upgrade", "30.00", proration=True)]
    allocation = allocate_discount(lines=lines, coupon=percent("10"), currency="EUR")
    assert allocation.per_line == {"fee": D("5.00")}
    assert allocation.total == D("5.00")


def test_negative_credit_line_is_not_discounted():
    lines = [line("fee", "40.00"), line("credit", "-15.00")]
    allocation = allocate_discount(lines=lines, coupon=percent("25"), currency="EUR")
    assert allocation.per_line == {"fee": D("10.00")}
    assert allocation.total == D("10.00")


def test_zero_line_gets_nothing():
    lines = [line("free", "0.00"), line("fee", "9.99")]
    assert allocate_discount(lines=lines, coupon=percent("50"), currency="EUR").per_line == {"fee": D("5.00")}


def test_product_restriction():
    lines = [line("seats", "100.00", product_id=7), line("support", "50.00", product_id=8), line("misc", "10.00")]
    allocation = allocate_discount(lines=lines, coupon=percent("10", products={7}), currency="EUR")
    assert allocation.per_line == {"seats": D("10.00")}
    assert allocation.total == D("10.00")


def test_plan_restriction():
    lines = [line("team", "80.00", plan_id=3), line("addon", "20.00", product_id=9)]
    allocation = allocate_discount(lines=lines, coupon=percent("50", plans={3}), currency="EUR")
    assert allocation.per_line == {"team": D("40.00")}


def test_product_and_plan_restrictions_are_a_union():
    lines = [
        line("team", "80.00", plan_id=3),
        line("addon", "20.00", product_id=9),
        line("other", "5.00", product_id=1),
    ]
    allocation = allocate_discount(lines=lines, coupon=percent("10", products={9}, plans={3}), currency="EUR")
    assert allocation.per_line == {"team": D("8.00"), "addon": D("2.00")}


def test_hundred_percent_discounts_every_eligible_line_entirely():
    lines = [line("a", "0.01"), line("b", "19.99"), line("c", "-5.00")]
    allocation = allocate_discount(lines=lines, coupon=percent("100"), currency="EUR")
    assert allocation.per_line == {"a": D("0.01"), "b": D("19.99")}
    assert allocation.total == D("20.00")


def test_jpy_has_no_minor_unit():
    # 633 x 15% = 94.95 -> 95; shares 15.008 / 30.016 / 49.976 -> 15 / 30 / 49 + 1 to the last.
    lines = [line("a", "100"), line("b", "200"), line("c", "333")]
    allocation = allocate_discount(lines=lines, coupon=percent("15"), currency="JPY")
    assert allocation.per_line == {"a": D("15"), "b": D("30"), "c": D("50")}
    assert allocation.total == D("95")


def test_kwd_has_three_decimals():
    lines = [line("a", "1.000"), line("b", "2.001")]
    allocation = allocate_discount(lines=lines, coupon=percent("10"), currency="KWD")
    # 3.001 x 10% = 0.3001 -> 0.300; shares 99.97 / 200.03 fils -> 99 / 200 + 1 to the first.
    assert allocation.per_line == {"a": D("0.100"), "b": D("0.200")}
    assert allocation.total == D("0.300")


def test_small_discount_is_not_lost_on_many_lines():
    lines = [line(f"l{i}", "0.10") for i in range(5)]
    allocation = allocate_discount(lines=lines, coupon=percent("10"), currency="EUR")
    # 0.50 x 10% = 0.05: one cent per line.
    assert allocation.per_line == {f"l{i}": D("0.01") for i in range(5)}


def test_ties_go_to_the_earlier_line():
    lines = [line("a", "1.00"), line("b", "1.00"), line("c", "1.00")]
    allocation = allocate_discount(lines=lines, coupon=amount("0.10"), currency="EUR")
    assert allocation.per_line == {"a": D("0.04"), "b": D("0.03"), "c": D("0.03")}
    reordered = allocate_discount(lines=lines[::-1], coupon=amount("0.10"), currency="EUR")
    assert reordered.per_line == {"c": D("0.04"), "b": D("0.03"), "a": D("0.03")}


def test_one_cent_between_two_equal_lines_goes_to_the_first_and_zero_parts_are_left_out():
    lines = [line("a", "5.00"), line("b", "5.00")]
    allocation = allocate_discount(lines=lines, coupon=amount("0.01"), currency="EUR")
    assert allocation.per_line == {"a": D("0.01")}
    assert allocation.total == D("0.01")


def test_nothing_eligible_gives_an_empty_allocation():
    lines = [line("credit", "-10.00"), line("prorated", "10.00", proration=True)]
    allocation = allocate_discount(lines=lines, coupon=percent("20"), currency="EUR")
    assert allocation == Allocation(coupon_id=1, per_line={}, total=D("0"))
    assert allocate_discount(lines=[], coupon=amount("5.00"), currency="EUR").total == 0


# --- amount ------------------------------------------------------------------------------


def test_amount_coupon_split_proportionally():
    lines = [line("a", "30.00"), line("b", "70.00")]
    allocation = allocate_discount(lines=lines, coupon=amount("10.00"), currency="EUR")
    assert allocation.per_line == {"a": D("3.00"), "b": D("7.00")}
    assert allocation.total == D("10.00")


def test_amount_coupon_bigger_than_the_eligible_sum_is_capped():
    lines = [line("a", "30.00"), line("b", "20.00"), line("prorated", "40.00", proration=True)]
    allocation = allocate_discount(lines=lines, coupon=amount("100.00"), currency="EUR")
    assert allocation.per_line == {"a": D("30.00"), "b": D("20.00")}
    assert allocation.total == D("50.00")


def test_amount_coupon_capped_by_restriction():
    lines = [line("seats", "8.00", product_id=7), line("support", "50.00", product_id=8)]
    allocation = allocate_discount(lines=lines, coupon=amount("10.00", products={7}), currency="EUR")
    assert allocation.per_line == {"seats": D("8.00")}


def test_amount_off_is_rounded_half_up_to_the_invoice_currency():
    allocation = allocate_discount(lines=[line("a", "20.00")], coupon=amount("5.005"), currency="EUR")
    assert allocation.total == D("5.01")
    assert str(allocation.total) == "5.01"


def test_amount_coupon_in_jpy():
    lines = [line("a", "1000"), line("b", "2000")]
    allocation = allocate_discount(lines=lines, coupon=amount("500", "JPY"), currency="jpy")
    assert allocation.per_line == {"a": D("167"), "b": D("333")}


@pytest.mark.parametrize("coupon_currency", ["USD", None, ""])
def test_amount_coupon_in_another_currency_is_refused(coupon_currency):
    with pytest.raises(DomainError) as error:
        allocate_discount(lines=[line("a", "20.00")], coupon=amount("5.00", coupon_currency), currency="EUR")
    assert error.value.code == "coupon_currency_mismatch"
    assert "EUR" in error.value.message


def test_currency_case_does_not_matter():
    allocation = allocate_discount(lines=[line("a", "20.00")], coupon=amount("5.00", "eur"), currency="EUR")
    assert allocation.total == D("5.00")


def test_percent_coupon_ignores_its_currency_field():
    coupon = CouponTerms(1, "10%", "percent", D("10"), None, "USD")
    assert allocate_discount(lines=[line("a", "20.00")], coupon=coupon, currency="EUR").total == D("2.00")


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "coupon",
    [
        CouponTerms(1, "bad", "percent", None, None, None),
        CouponTerms(1, "bad", "percent", D("0"), None, None),
        CouponTerms(1, "bad", "percent", D("100.01"), None, None),
        CouponTerms(1, "bad", "amount", None, None, "EUR"),
        CouponTerms(1, "bad", "amount", None, D("-1"), "EUR"),
        CouponTerms(1, "bad", "free_lunch", None, None, None),
    ],
)
def test_invalid_coupon_is_refused(coupon):
    with pytest.raises(DomainError) as error:
        allocate_discount(lines=[line("a", "20.00")], coupon=coupon, currency="EUR")
    assert error.value.code == "invalid_coupon"


def test_unrounded_line_is_refused():
    with pytest.raises(DomainError) as error:
        allocate_discount(lines=[line("a", "20.005")], coupon=percent("10"), currency="EUR")
    assert error.value.code == "not_rounded"


def test_duplicate_line_keys_are_refused():
    with pytest.raises(DomainError) as error:
        allocate_discount(lines=[line("a", "1.00"), line("a", "2.00")], coupon=percent("10"), currency="EUR")
    assert error.value.code == "duplicate_line"


def test_unknown_invoice_currency_is_refused():
    with pytest.raises(DomainError) as error:
        allocate_discount(lines=[line("a", "1.00")], coupon=percent("10"), currency="EURO")
    assert error.value.code == "invalid_currency"


# --- several coupons ---------------------------------------------------------------------


def test_coupons_apply_in_order_on_what_is_left():
    lines = [line("a", "100.00")]
    first, second = allocate_discounts(lines=lines, coupons=[percent("10"), amount("5.00")], currency="EUR")
    assert first.total == D("10.00")
    assert second.total == D("5.00")
    ten_then_ten = allocate_discounts(lines=lines, coupons=[percent("10"), percent("10", coupon_id=3)], currency="EUR")
    assert [a.total for a in ten_then_ten] == [D("10.00"), D("9.00")]
    assert [a.coupon_id for a in ten_then_ten] == [1, 3]


def test_second_coupon_cannot_discount_a_line_the_first_used_up():
    lines = [line("a", "10.00", product_id=1), line("b", "30.00", product_id=2)]
    first, second = allocate_discounts(
        lines=lines, coupons=[amount("50.00", products={1}), percent("50")], currency="EUR"
    )
    assert first.per_line == {"a": D("10.00")}
    assert second.per_line == {"b": D("15.00")}
    assert net_amounts(lines=lines, allocations=[first, second]) == {"a": D("0.00"), "b": D("15.00")}


def test_net_amounts_keep_undiscounted_lines():
    lines = [line("fee", "50.00"), line("prorated", "-12.34", proration=True)]
    allocations = allocate_discounts(lines=lines, coupons=[percent("10")], currency="EUR")
    assert net_amounts(lines=lines, allocations=allocations) == {"fee": D("45.00"), "prorated": D("-12.34")}


def test_no_coupons_no_allocations():
    assert allocate_discounts(lines=[line("a", "1.00")], coupons=[], currency="EUR") == ()


# --- properties --------------------------------------------------------------------------

currencies = st.sampled_from(["EUR", "JPY", "KWD"])


@st.composite
def invoice_lines(draw: st.DrawFn, currency: str) -> list[DiscountLine]:
    places = minor_units(currency)
    size = draw(st.integers(0, 8))
    return [
        DiscountLine(
            key=index,
            amount=Decimal(draw(st.integers(-50_000, 10**7))).scaleb(-places),
            product_id=draw(st.sampled_from([None, 1, 2])),
            plan_id=draw(st.sampled_from([None, 10, 20])),
            proration=draw(st.booleans()),
        )
        for index in range(size)
    ]


@st.composite
def coupons(draw: st.DrawFn, currency: str) -> CouponTerms:
    products = frozenset(draw(st.sets(st.sampled_from([1, 2]))))
    plans = frozenset(draw(st.sets(st.sampled_from([10, 20]))))
    if draw(st.booleans()):
        pct = Decimal(draw(st.integers(1, 10_000))).scaleb(-2)
        return CouponTerms(1, "p", "percent", pct, None, None, products, plans)
    off = Decimal(draw(st.integers(1, 10**8))).scaleb(-6)
    return CouponTerms(2, "a", "amount", None, off, currency, products, plans)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[DiscountLine], list[CouponTerms]]:
    currency = draw(currencies)
    return currency, draw(invoice_lines(currency)), draw(st.lists(coupons(currency), min_size=1, max_size=3))


def _eligible_sum(lines: list[DiscountLine], coupon: CouponTerms) -> Decimal:
    restricted = coupon.applies_to_products or coupon.applies_to_plans
    return sum(
        (
            item.amount
            for item in lines
            if not item.proration
            and item.amount > 0
            and (
                not restricted
                or item.product_id in coupon.applies_to_products
                or item.plan_id in coupon.applies_to_plans
            )
        ),
        Decimal(0),
    )


@given(cases())
def test_parts_add_up_and_never_exceed_their_line(case):
    currency, lines, coupon_list = case
    by_key = {item.key: item for item in lines}
    for coupon in coupon_list:
        allocation = allocate_discount(lines=lines, coupon=coupon, currency=currency)
        assert sum(allocation.per_line.values(), Decimal(0)) == allocation.total
        assert allocation.total <= _eligible_sum(lines, coupon)
        for key, part in allocation.per_line.items():
            item = by_key[key]
            assert 0 < part <= item.amount
            assert not item.proration


@given(cases())
def test_percent_discount_is_within_half_a_minor_unit_of_exact(case):
    currency, lines, coupon_list = case
    half = Decimal(1).scaleb(-minor_units(currency)) / 2
    for coupon in coupon_list:
        if coupon.discount_type != "percent":
            continue
        assert coupon.percent_off is not None
        exact = _eligible_sum(lines, coupon) * coupon.percent_off / 100
        allocation = allocate_discount(lines=lines, coupon=coupon, currency=currency)
        assert abs(allocation.total - exact) <= half


@given(cases())
def test_stacked_coupons_never_push_a_line_below_zero(case):
    currency, lines, coupon_list = case
    allocations = allocate_discounts(lines=lines, coupons=coupon_list, currency=currency)
    nets = net_amounts(lines=lines, allocations=allocations)
    for item in lines:
        discounted = item.amount - nets[item.key]
        assert discounted >= 0
        if discounted:
            assert 0 <= nets[item.key] < item.amount


@given(cases())
def test_allocation_is_deterministic(case):
    currency, lines, coupon_list = case
    first = allocate_discounts(lines=lines, coupons=coupon_list, currency=currency)
    assert first == allocate_discounts(lines=list(lines), coupons=list(coupon_list), currency=currency)
