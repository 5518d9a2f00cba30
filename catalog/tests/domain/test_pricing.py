"""The pricing engine, model by model, boundary by boundary, with exact amounts. No database."""

from __future__ import annotations

from datetime import UTC, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import round_money
from catalog.domain.pricing import (
    BreakdownLine,
    PackageRounding,
    PriceBreakdown,
    PriceSpec,
    PricingModel,
    RateWindow,
    Tier,
    price_amount,
    rate_window_for,
    time_of_use_amount,
    validate_price_spec,
)
from catalog.tests.domain.strategies import amounts, price_specs, quantities, tier_lists

D = Decimal

# Stripe's documented tiered-pricing example (Typographic fonts): 1-5 at 7, 6-10 at 6.50, 11+ at 6.
STRIPE_TIERS = (
    Tier(up_to=D(5), unit_amount=D("7.00")),
    Tier(up_to=D(10), unit_amount=D("6.50")),
    Tier(up_to=None, unit_amount=D("6.00")),
)


def graduated(tiers=STRIPE_TIERS, currency="USD", **kwargs) -> PriceSpec:
    return PriceSpec(PricingModel.GRADUATED, currency, tiers=tiers, **kwargs)


def volume(tiers=STRIPE_TIERS, currency="USD", **kwargs) -> PriceSpec:
    return PriceSpec(PricingModel.VOLUME, currency, tiers=tiers, **kwargs)


def per_unit(unit_amount, currency="EUR", **kwargs) -> PriceSpec:
    return PriceSpec(PricingModel.PER_UNIT, currency, unit_amount=D(unit_amount), **kwargs)


def package(unit_amount, size, rounding="up", currency="EUR") -> PriceSpec:
    return PriceSpec(
        PricingModel.PACKAGE,
        currency,
        unit_amount=D(unit_amount),
        package_size=size,
        package_rounding=rounding,
    )


def labels(breakdown: PriceBreakdown) -> list[str]:
    return [line.label for line in breakdown.lines]


def amounts_of(breakdown: PriceBreakdown) -> list[Decimal]:
    return [line.amount for line in breakdown.lines]


# --- enums ---------------------------------------------------------------------------------


def test_enum_values_are_the_stored_values():
    assert [model.value for model in PricingModel] == [
        "flat",
        "per_unit",
        "package",
        "graduated",
        "volume",
    ]
    assert [rounding.value for rounding in PackageRounding] == ["up", "down"]


# --- flat ----------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [D(0), D(1), D(7), D("12.5")])
def test_flat_charges_once_whatever_the_quantity(quantity):
    spec = PriceSpec(PricingModel.FLAT, "EUR", flat_amount=D("49.00"))
    breakdown = price_amount(spec, quantity)
    assert breakdown.total == D("49.00")
    assert breakdown.quantity == quantity
    assert breakdown.lines == (
        BreakdownLine(
            label="Flat fee",
            quantity=D(1),
            unit_amount=D("49.00"),
            flat_amount=D(0),
            amount=D("49.00"),
        ),
    )


def test_flat_amount_is_rounded():
    spec = PriceSpec(PricingModel.FLAT, "EUR", flat_amount=D("9.995"))
    assert price_amount(spec, D(1)).total == D("10.00")


# --- per unit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "total", "label"),
    [
        (D(0), "0.00", "0 units × 7.95"),
        (D(1), "7.95", "1 unit × 7.95"),
        (D(10), "79.50", "10 units × 7.95"),
        (D("12.5"), "99.38", "12.5 units × 7.95"),  # 99.375 rounds half up
    ],
)
def test_per_unit(quantity, total, label):
    breakdown = price_amount(per_unit("7.95"), quantity)
    assert breakdown.total == D(total)
    assert labels(breakdown) == [label]


def test_per_unit_micro_price_one_million_calls():
    breakdown = price_amount(per_unit("0.000125"), D(1_000_000))
    assert breakdown.total == D("125.00")
    assert labels(breakdown) == ["1,000,000 units × 0.000125"]


def test_per_unit_micro_price_three_calls_rounds_to_nothing():
    breakdown = price_amount(per_unit("0.000125"), D(3))
    assert breakdown.total == D("0.00")
    assert labels(breakdown) == ["3 units × 0.000125"]


def test_per_unit_accepts_int_quantity():
    assert price_amount(per_unit("2.50"), 4).total == D("10.00")


def test_per_unit_jpy_rounds_to_whole_yen():
    breakdown = price_amount(per_unit("0.5", currency="JPY"), D(5))
    assert breakdown.total == D("3")  # 2.5 rounds half up
    assert str(breakdown.total) == "3"
    assert labels(breakdown) == ["5 units × 0.5"]


def test_per_unit_kwd_rounds_to_fils():
    breakdown = price_amount(per_unit("1.0005", currency="KWD"), D(1))
    assert breakdown.total == D("1.001")
    assert str(breakdown.total) == "1.001"
    assert labels(breakdown) == ["1 unit × 1.0005"]


def test_currency_is_normalised():
    breakdown = price_amount(per_unit("1", currency="eur"), D(1))
    assert breakdown.currency == "EUR"


# --- package -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "rounding", "total", "label"),
    [
        (D(101), "up", "10.00", "2 packages of 100 (101 units, rounded up)"),
        (D(101), "down", "5.00", "1 package of 100 (101 units, rounded down)"),
        (D(100), "up", "5.00", "1 package of 100 (100 units)"),
        (D(100), "down", "5.00", "1 package of 100 (100 units)"),
        (D(1), "up", "5.00", "1 package of 100 (1 unit, rounded up)"),
        (D(99), "down", "0.00", "0 packages of 100 (99 units, rounded down)"),
        (D(0), "up", "0.00", "0 packages of 100 (0 units)"),
        (D("100.5"), "up", "10.00", "2 packages of 100 (100.5 units, rounded up)"),
        (D(250), "down", "10.00", "2 packages of 100 (250 units, rounded down)"),
    ],
)
def test_package(quantity, rounding, total, label):
    breakdown = price_amount(package("5.00", 100, rounding), quantity)
    assert breakdown.total == D(total)
    assert labels(breakdown) == [label]


def test_package_label_from_the_brief():
    breakdown = price_amount(package("2.00", 10), D(115))
    assert labels(breakdown) == ["12 packages of 10 (115 units, rounded up)"]
    assert breakdown.lines[0].quantity == D(12)
    assert breakdown.lines[0].unit_amount == D("2.00")
    assert breakdown.total == D("24.00")


def test_package_of_one_is_per_unit():
    assert price_amount(package("3.00", 1), D(7)).total == D("21.00")


# --- graduated -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "total"),
    [
        (1, "7.00"),
        (5, "35.00"),
        (6, "41.50"),
        (7, "48.00"),
        (10, "67.50"),
        (11, "73.50"),
        (12, "79.50"),
        (1000, "6007.50"),
    ],
)
def test_graduated_stripe_example(quantity, total):
    assert price_amount(graduated(), D(quantity)).total == D(total)


def test_graduated_quantity_zero_is_free_with_no_lines():
    tiers = (Tier(D(5), D("7.00"), flat_amount=D("10.00")), Tier(None, D("6.00")))
    breakdown = price_amount(graduated(tiers), D(0))
    assert breakdown.total == D("0.00")
    assert breakdown.lines == ()


def test_graduated_exactly_at_up_to_stays_in_the_tier():
    breakdown = price_amount(graduated(), D(5))
    assert labels(breakdown) == ["Tier 1 (1–5): 5 × 7.00"]


def test_graduated_one_above_up_to_enters_the_next_tier():
    breakdown = price_amount(graduated(), D(6))
    assert labels(breakdown) == ["Tier 1 (1–5): 5 × 7.00", "Tier 2 (6–10): 1 × 6.50"]
    assert amounts_of(breakdown) == [D("35.00"), D("6.50")]


def test_graduated_deep_into_the_unbounded_tier():
    breakdown = price_amount(graduated(), D(1000))
    assert labels(breakdown) == [
        "Tier 1 (1–5): 5 × 7.00",
        "Tier 2 (6–10): 5 × 6.50",
        "Tier 3 (11 and above): 990 × 6.00",
    ]
    assert amounts_of(breakdown) == [D("35.00"), D("32.50"), D("5940.00")]
    third = breakdown.lines[2]
    assert (third.tier, third.above, third.up_to) == (3, D(10), None)


def test_graduated_flat_amount_per_tier_reached():
    tiers = (
        Tier(D(5), D("7.00"), flat_amount=D("10.00")),
        Tier(D(10), D("6.50"), flat_amount=D("5.00")),
        Tier(None, D("3.00"), flat_amount=D("1.00")),
    )
    assert price_amount(graduated(tiers), D(1)).total == D("17.00")
    assert price_amount(graduated(tiers), D(5)).total == D("45.00")
    assert price_amount(graduated(tiers), D(6)).total == D("56.50")
    breakdown = price_amount(graduated(tiers), D(12))
    assert labels(breakdown) == [
        "Tier 1 (1–5): 5 × 7.00 + 10.00 flat",
        "Tier 2 (6–10): 5 × 6.50 + 5.00 flat",
        "Tier 3 (11 and above): 2 × 3.00 + 1.00 flat",
    ]
    assert amounts_of(breakdown) == [D("45.00"), D("37.50"), D("7.00")]
    assert breakdown.total == D("89.50")


def test_graduated_flat_only_tier_is_a_base_fee_with_included_units():
    tiers = (Tier(D(1000), D(0), flat_amount=D("200.00")), Tier(None, D("0.04")))
    assert price_amount(graduated(tiers), D(1)).total == D("200.00")
    assert price_amount(graduated(tiers), D(1000)).total == D("200.00")
    assert price_amount(graduated(tiers), D(1250)).total == D("210.00")


def test_graduated_fractional_usage_is_split_across_tiers():
    tiers = (Tier(D(10), D("0.20")), Tier(None, D("0.10"), flat_amount=D("1.00")))
    breakdown = price_amount(graduated(tiers, currency="EUR"), D("12.5"))
    assert labels(breakdown) == [
        "Tier 1 (up to 10): 10 × 0.20",
        "Tier 2 (above 10): 2.5 × 0.10 + 1.00 flat",
    ]
    assert amounts_of(breakdown) == [D("2.00"), D("1.25")]
    assert breakdown.total == D("3.25")


def test_graduated_fractional_tier_bounds():
    tiers = (Tier(D("2.5"), D("1.00")), Tier(D(10), D("0.50")), Tier(None, D("0.25")))
    breakdown = price_amount(graduated(tiers, currency="EUR"), D(12))
    assert labels(breakdown) == [
        "Tier 1 (up to 2.5): 2.5 × 1.00",
        "Tier 2 (above 2.5 up to 10): 7.5 × 0.50",
        "Tier 3 (above 10): 2 × 0.25",
    ]
    assert breakdown.total == D("6.75")


def test_graduated_single_unit_tier_label():
    tiers = (Tier(D(5), D("1.00")), Tier(D(6), D("0.50")), Tier(None, D("0.25")))
    breakdown = price_amount(graduated(tiers, currency="EUR"), D(6))
    assert labels(breakdown) == ["Tier 1 (1–5): 5 × 1.00", "Tier 2 (6): 1 × 0.50"]


def test_graduated_rounds_each_line_and_sums_the_rounded_lines():
    tiers = (Tier(D(3), D("0.5")), Tier(None, D("0.5")))
    breakdown = price_amount(graduated(tiers, currency="JPY"), D(6))
    # Each tier is 1.5 JPY, rounded to 2; the total is the sum of what is shown, 4 (not 3).
    assert amounts_of(breakdown) == [D(2), D(2)]
    assert breakdown.total == D(4)


def test_graduated_kwd_three_decimals():
    tiers = (Tier(D(1), D("0.0005")), Tier(None, D("0.0015")))
    breakdown = price_amount(graduated(tiers, currency="KWD"), D(2))
    assert amounts_of(breakdown) == [D("0.001"), D("0.002")]
    assert breakdown.total == D("0.003")


# --- volume --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "total", "label"),
    [
        (1, "7.00", "Tier 1 (1–5) applied to all units: 1 × 7.00"),
        (5, "35.00", "Tier 1 (1–5) applied to all units: 5 × 7.00"),
        (6, "39.00", "Tier 2 (6–10) applied to all units: 6 × 6.50"),
        (7, "45.50", "Tier 2 (6–10) applied to all units: 7 × 6.50"),
        (10, "65.00", "Tier 2 (6–10) applied to all units: 10 × 6.50"),
        (11, "66.00", "Tier 3 (11 and above) applied to all units: 11 × 6.00"),
        (1000, "6000.00", "Tier 3 (11 and above) applied to all units: 1,000 × 6.00"),
    ],
)
def test_volume_stripe_example(quantity, total, label):
    breakdown = price_amount(volume(), D(quantity))
    assert breakdown.total == D(total)
    assert labels(breakdown) == [label]


def test_volume_quantity_zero_falls_in_the_first_tier_and_pays_its_flat_amount():
    tiers = (Tier(D(5), D("7.00"), flat_amount=D("10.00")), Tier(None, D("6.00")))
    breakdown = price_amount(volume(tiers), D(0))
    assert breakdown.total == D("10.00")
    assert labels(breakdown) == ["Tier 1 (1–5) applied to all units: 0 × 7.00 + 10.00 flat"]
    assert breakdown.lines[0].tier == 1


def test_volume_quantity_zero_without_flat_amount_is_free():
    breakdown = price_amount(volume(), D(0))
    assert breakdown.total == D("0.00")
    assert amounts_of(breakdown) == [D("0.00")]


def test_volume_flat_amount_of_the_tier_reached():
    tiers = (
        Tier(D(5), D("7.00"), flat_amount=D("10.00")),
        Tier(D(10), D("6.50"), flat_amount=D("5.00")),
        Tier(None, D("6.00")),
    )
    assert price_amount(volume(tiers), D(5)).total == D("45.00")
    breakdown = price_amount(volume(tiers), D(6))
    assert breakdown.total == D("44.00")
    assert labels(breakdown) == ["Tier 2 (6–10) applied to all units: 6 × 6.50 + 5.00 flat"]
    assert price_amount(volume(tiers), D(11)).total == D("66.00")


def test_volume_line_records_the_tier_range():
    line = price_amount(volume(), D(7)).lines[0]
    assert (line.tier, line.above, line.up_to, line.quantity) == (2, D(5), D(10), D(7))


def test_volume_fractional_usage():
    breakdown = price_amount(volume(currency="EUR"), D("5.5"))
    assert labels(breakdown) == ["Tier 2 (above 5 up to 10) applied to all units: 5.5 × 6.50"]
    assert breakdown.total == D("35.75")


# --- minimum charge ------------------------------------------------------------------------


def test_minimum_charge_tops_up_a_small_total():
    breakdown = price_amount(per_unit("0.10", minimum_amount=D("25.00")), D(100))
    assert labels(breakdown) == ["100 units × 0.10", "Minimum charge top-up to 25.00"]
    assert amounts_of(breakdown) == [D("10.00"), D("15.00")]
    assert breakdown.total == D("25.00")


def test_minimum_charge_not_needed_when_reached():
    spec = per_unit("0.10", minimum_amount=D("25.00"))
    assert labels(price_amount(spec, D(250))) == ["250 units × 0.10"]
    assert price_amount(spec, D(250)).total == D("25.00")
    assert price_amount(spec, D(300)).total == D("30.00")


def test_minimum_charge_with_no_usage():
    breakdown = price_amount(graduated(minimum_amount=D("5")), D(0))
    assert labels(breakdown) == ["Minimum charge top-up to 5.00"]
    assert breakdown.total == D("5.00")


def test_minimum_charge_is_rounded_to_the_currency():
    breakdown = price_amount(per_unit("0.000125", minimum_amount=D("0.005")), D(3))
    assert amounts_of(breakdown) == [D("0.00"), D("0.01")]
    assert breakdown.total == D("0.01")


# --- output --------------------------------------------------------------------------------


def test_as_dict_is_json_friendly():
    spec = graduated(minimum_amount=D("100"))
    assert price_amount(spec, D(6)).as_dict() == {
        "currency": "USD",
        "quantity": "6",
        "total": "100.00",
        "lines": [
            {
                "label": "Tier 1 (1–5): 5 × 7.00",
                "quantity": "5",
                "unit_amount": "7.00",
                "flat_amount": "0",
                "amount": "35.00",
                "tier": 1,
                "above": "0",
                "up_to": "5",
                "rate_window": None,
            },
            {
                "label": "Tier 2 (6–10): 1 × 6.50",
                "quantity": "1",
                "unit_amount": "6.50",
                "flat_amount": "0",
                "amount": "6.50",
                "tier": 2,
                "above": "5",
                "up_to": "10",
                "rate_window": None,
            },
            {
                "label": "Minimum charge top-up to 100.00",
                "quantity": "1",
                "unit_amount": "58.50",
                "flat_amount": "0",
                "amount": "58.50",
                "tier": None,
                "above": None,
                "up_to": None,
                "rate_window": None,
            },
        ],
    }


def test_as_dict_never_uses_exponent_notation():
    breakdown = price_amount(per_unit("0.000125"), D("1E+6"))
    assert breakdown.as_dict()["quantity"] == "1000000"
    assert breakdown.lines[0].as_dict()["quantity"] == "1000000"


# --- quantity errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (D(-1), "Quantity must not be negative."),
        (-1, "Quantity must not be negative."),
        (1.5, "Quantity must be an exact decimal number, not a floating-point number."),
        ("5", "Quantity must be a number such as 12.5."),
        (None, "Quantity must be a number such as 12.5."),
        (True, "Quantity must be a number such as 12.5."),
        (D("NaN"), "Quantity must be a number such as 12.5."),
        (D("Infinity"), "Quantity must be a number such as 12.5."),
        (D("0.0000000000001"), "Quantity has too many decimal places. Use at most 12."),
        (D("1E+18"), "Quantity is too large to price."),
    ],
)
def test_invalid_quantity(quantity, message):
    with pytest.raises(DomainError) as caught:
        price_amount(per_unit("1"), quantity)
    assert caught.value.code == "invalid_quantity"
    assert caught.value.message == message
    assert caught.value.fields == {"quantity": [message]}


def test_largest_quantity_is_priced_exactly():
    quantity = D("999999999999999999.999999999999")
    breakdown = price_amount(per_unit("0.000000000001"), quantity)
    assert breakdown.total == D("1000000.00")


# --- time of use ---------------------------------------------------------------------------

PEAK = RateWindow("peak", time(7, 0), time(23, 0), D("0.15"))
NIGHT = RateWindow("night", time(22, 0), time(6, 0), D("0.05"))


def time_of_use(*windows, unit_amount="0.08", **kwargs) -> PriceSpec:
    return per_unit(unit_amount, rate_windows=windows or (PEAK,), **kwargs)


@pytest.mark.parametrize(
    ("moment", "window"),
    [
        (time(0, 0), None),
        (time(6, 59, 59), None),
        (time(6, 59, 59, 999999), None),
        (time(7, 0), "peak"),
        (time(12, 0), "peak"),
        (time(22, 59, 59), "peak"),
        (time(23, 0), None),
        (time(23, 59, 59), None),
    ],
)
def test_rate_window_boundaries(moment, window):
    assert rate_window_for(time_of_use(), moment) == window


@pytest.mark.parametrize(
    ("moment", "window"),
    [
        (time(21, 59, 59), None),
        (time(22, 0), "night"),
        (time(23, 59, 59), "night"),
        (time(0, 0), "night"),
        (time(5, 59, 59), "night"),
        (time(6, 0), None),
        (time(12, 0), None),
    ],
)
def test_rate_window_wrapping_midnight(moment, window):
    assert rate_window_for([NIGHT], moment) == window


def test_rate_window_ending_at_midnight():
    evening = RateWindow("evening", time(18, 0), time(0, 0), D("0.20"))
    assert rate_window_for([evening], time(23, 59, 59)) == "evening"
    assert rate_window_for([evening], time(0, 0)) is None
    assert rate_window_for([evening], time(18, 0)) == "evening"


def test_rate_window_compares_wall_clock_time():
    assert rate_window_for([PEAK], time(7, 0, tzinfo=UTC)) == "peak"


def test_rate_window_for_with_no_windows():
    assert rate_window_for(per_unit("1"), time(12, 0)) is None


def test_time_of_use_amount_prices_each_window():
    breakdown = time_of_use_amount(time_of_use(), {"peak": D(1000), "off-peak": D(500)})
    assert labels(breakdown) == [
        "Peak (07:00–23:00): 1,000 × 0.15",
        "Off-peak (all other times): 500 × 0.08",
    ]
    assert amounts_of(breakdown) == [D("150.00"), D("40.00")]
    assert breakdown.total == D("190.00")
    assert breakdown.quantity == D(1500)
    assert [line.rate_window for line in breakdown.lines] == ["peak", "off-peak"]


def test_time_of_use_rounds_each_window_then_sums():
    breakdown = time_of_use_amount(time_of_use(), {"peak": D("0.1"), "off-peak": D("0.0625")})
    # 0.015 -> 0.02 and 0.005 -> 0.01: the total is what the lines show.
    assert amounts_of(breakdown) == [D("0.02"), D("0.01")]
    assert breakdown.total == D("0.03")


def test_time_of_use_missing_window_means_no_usage():
    breakdown = time_of_use_amount(time_of_use(), {"peak": D(10)})
    assert amounts_of(breakdown) == [D("1.50"), D("0.00")]
    assert breakdown.total == D("1.50")


def test_time_of_use_with_two_windows_and_a_custom_base_name():
    spec = time_of_use(
        RateWindow("day", time(7, 0), time(22, 0), D("0.15")),
        NIGHT,
        unit_amount="0.10",
        base_rate_name="shoulder",
    )
    assert rate_window_for(spec, time(6, 30)) is None
    breakdown = time_of_use_amount(spec, {"day": 100, "night": D(200), "shoulder": D(10)})
    assert labels(breakdown) == [
        "Day (07:00–22:00): 100 × 0.15",
        "Night (22:00–06:00): 200 × 0.05",
        "Shoulder (all other times): 10 × 0.10",
    ]
    assert breakdown.total == D("26.00")


def test_time_of_use_minimum_applies_to_the_sum():
    spec = time_of_use(minimum_amount=D("10.00"))
    breakdown = time_of_use_amount(spec, {"peak": D(20), "off-peak": D(10)})
    assert labels(breakdown)[-1] == "Minimum charge top-up to 10.00"
    assert amounts_of(breakdown) == [D("3.00"), D("0.80"), D("6.20")]
    assert breakdown.total == D("10.00")


def test_time_of_use_on_a_plain_per_unit_price_has_only_the_base_rate():
    breakdown = time_of_use_amount(per_unit("0.08"), {"off-peak": D(10)})
    assert labels(breakdown) == ["Off-peak (all other times): 10 × 0.08"]
    assert breakdown.total == D("0.80")


def test_time_of_use_unknown_window():
    with pytest.raises(DomainError) as caught:
        time_of_use_amount(time_of_use(), {"weekend": D(1)})
    assert caught.value.code == "unknown_rate_window"
    assert caught.value.message == ("This price has no rate called “weekend”. Its rates are: peak, off-peak.")


def test_time_of_use_negative_usage():
    with pytest.raises(DomainError) as caught:
        time_of_use_amount(time_of_use(), {"peak": D(-1)})
    assert caught.value.code == "invalid_quantity"
    assert caught.value.message == "Usage in “peak” must not be negative."


def test_time_of_use_needs_a_per_unit_price():
    with pytest.raises(DomainError) as caught:
        time_of_use_amount(graduated(), {})
    assert caught.value.code == "time_of_use_requires_per_unit"


def test_price_amount_refuses_to_guess_the_split_of_time_of_use_usage():
    with pytest.raises(DomainError) as caught:
        price_amount(time_of_use(), D(10))
    assert caught.value.code == "time_of_use_quantities_required"


# --- validation ----------------------------------------------------------------------------


def assert_invalid(spec: PriceSpec, code: str, field: str, message: str | None = None) -> None:
    with pytest.raises(DomainError) as caught:
        validate_price_spec(spec)
    assert caught.value.code == code
    assert list(caught.value.fields) == [field]
    if message is not None:
        assert caught.value.message == message
        assert caught.value.fields[field] == [message]
    with pytest.raises(DomainError) as again:
        price_amount(spec, D(1))
    assert again.value.code == code


def test_valid_specs_pass():
    validate_price_spec(graduated())
    validate_price_spec(volume())
    validate_price_spec(per_unit("0.000125"))
    validate_price_spec(package("5", 100, "down"))
    validate_price_spec(PriceSpec("flat", "EUR", flat_amount=D(0)))
    validate_price_spec(time_of_use(NIGHT, RateWindow("day", time(6), time(22), D("0.2"))))
    validate_price_spec(graduated((Tier(None, D(1)),)))


def test_unknown_pricing_model():
    assert_invalid(
        PriceSpec("tiered", "EUR"),
        "invalid_pricing_model",
        "pricing_model",
        "“tiered” is not a pricing model. Choose one of: flat, per unit, package, graduated, volume.",
    )


def test_unknown_currency():
    assert_invalid(per_unit("1", currency="XYZ"), "invalid_currency", "currency")


@pytest.mark.parametrize("model", [PricingModel.GRADUATED, PricingModel.VOLUME])
def test_tiers_required(model):
    assert_invalid(
        PriceSpec(model, "EUR"),
        "tiers_required",
        "tiers",
        f"A {model.value} price needs at least one tier.",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            PriceSpec("per_unit", "EUR", unit_amount=D(1), tiers=STRIPE_TIERS),
            "Per unit prices have no tiers. Remove the tiers, or choose graduated or volume pricing.",
        ),
        (
            PriceSpec("flat", "EUR", flat_amount=D(1), tiers=STRIPE_TIERS),
            "Flat prices have no tiers. Remove the tiers, or choose graduated or volume pricing.",
        ),
    ],
)
def test_tiers_not_allowed(spec, message):
    assert_invalid(spec, "tiers_not_allowed", "tiers", message)


def test_package_cannot_be_tiered():
    spec = PriceSpec("package", "EUR", unit_amount=D(5), package_size=10, tiers=STRIPE_TIERS)
    assert_invalid(
        spec,
        "package_cannot_be_tiered",
        "tiers",
        "A package price cannot also be tiered. Remove the tiers, or choose graduated or volume pricing.",
    )


def test_tiers_must_ascend():
    tiers = (Tier(D(5), D(3)), Tier(D(10), D(2)), Tier(D(5), D(1)), Tier(None, D(1)))
    assert_invalid(
        graduated(tiers),
        "tiers_not_ascending",
        "tiers",
        "Tier 3 must start above tier 2: its “up to” (5) is not greater than 10.",
    )


def test_tiers_must_not_repeat_a_bound():
    tiers = (Tier(D(5), D(3)), Tier(D(5), D(2)), Tier(None, D(1)))
    assert_invalid(
        volume(tiers),
        "tiers_not_ascending",
        "tiers",
        "Tier 2 must start above tier 1: its “up to” (5) is not greater than 5.",
    )


def test_only_the_last_tier_can_be_unbounded():
    tiers = (Tier(D(5), D(3)), Tier(None, D(2)), Tier(None, D(1)))
    assert_invalid(
        graduated(tiers),
        "unbounded_tier_not_last",
        "tiers",
        "Only the last tier can have no upper limit, but tier 2 has none. "
        "Give tier 2 an “up to” or remove the tiers after it.",
    )


def test_the_last_tier_must_be_unbounded():
    tiers = (Tier(D(5), D(3)), Tier(D(10), D(2)))
    assert_invalid(
        graduated(tiers),
        "last_tier_must_be_unbounded",
        "tiers",
        "The last tier must have no upper limit, so that every quantity has a price: "
        "leave the “up to” of tier 2 empty.",
    )


@pytest.mark.parametrize(
    ("up_to", "code", "message"),
    [
        (D(0), "invalid_tier_up_to", "Tier 1’s “up to” must be greater than 0."),
        (D(-5), "invalid_amount", "Tier 1 “up to” must not be negative."),
        (
            5.0,
            "invalid_amount",
            "Tier 1 “up to” must be an exact decimal number such as 7.00, not a floating-point number.",
        ),
    ],
)
def test_tier_up_to_must_be_positive_and_exact(up_to, code, message):
    assert_invalid(graduated((Tier(up_to, D(1)), Tier(None, D(1)))), code, "tiers", message)


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        (Tier(None, D("-1")), "Tier 1 unit amount must not be negative."),
        (Tier(None, D(1), flat_amount=D("-1")), "Tier 1 flat amount must not be negative."),
        (
            Tier(None, D("0.0000000000001")),
            "Tier 1 unit amount has too many decimal places. Use at most 12 decimal places.",
        ),
        (
            Tier(None, 0.5),
            "Tier 1 unit amount must be an exact decimal number such as 7.00, not a floating-point number.",
        ),
        (Tier(None, "0.5"), "Tier 1 unit amount must be an exact decimal number such as 7.00, not text."),
    ],
)
def test_tier_amounts(tier, message):
    assert_invalid(volume((tier,)), "invalid_amount", "tiers", message)


def test_package_size_required():
    spec = PriceSpec("package", "EUR", unit_amount=D(5))
    assert_invalid(
        spec,
        "package_size_required",
        "package_size",
        "A package price needs a package size: how many units one package holds.",
    )


@pytest.mark.parametrize("size", [0, -10, D("2.5"), 2.0, True])
def test_package_size_must_be_a_whole_number_of_at_least_one(size):
    spec = PriceSpec("package", "EUR", unit_amount=D(5), package_size=size)
    assert_invalid(
        spec,
        "invalid_package_size",
        "package_size",
        f"The package size must be a whole number of at least 1, not {size}.",
    )


def test_package_size_only_for_package_prices():
    assert_invalid(
        per_unit("1", package_size=10),
        "package_size_not_allowed",
        "package_size",
        "A package size only applies to package prices. Clear it, or choose package pricing.",
    )


def test_package_rounding_must_be_up_or_down():
    assert_invalid(
        package("5", 10, "nearest"),
        "invalid_package_rounding",
        "package_rounding",
        "“nearest” is not a package rounding. "
        "Choose “up” (charge every started package) or “down” (only full packages).",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (PriceSpec("per_unit", "EUR"), "A per unit price needs a unit amount: the price per unit."),
        (
            PriceSpec("package", "EUR", package_size=10),
            "A package price needs a unit amount: the price per package.",
        ),
    ],
)
def test_unit_amount_required(spec, message):
    assert_invalid(spec, "unit_amount_required", "unit_amount", message)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            PriceSpec("flat", "EUR", flat_amount=D(1), unit_amount=D(1)),
            "A flat price has no unit amount of its own: set it as the flat amount.",
        ),
        (
            graduated(unit_amount=D(1)),
            "A graduated price has no unit amount of its own: set it on each tier.",
        ),
    ],
)
def test_unit_amount_not_allowed(spec, message):
    assert_invalid(spec, "unit_amount_not_allowed", "unit_amount", message)


def test_flat_amount_required():
    assert_invalid(
        PriceSpec("flat", "EUR"),
        "flat_amount_required",
        "flat_amount",
        "A flat price needs a flat amount: what is charged each period.",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            per_unit("1", flat_amount=D(5)),
            "A per unit price has no flat amount of its own: set it as a separate flat price.",
        ),
        (
            volume(flat_amount=D(5)),
            "A volume price has no flat amount of its own: set it on a tier.",
        ),
    ],
)
def test_flat_amount_not_allowed(spec, message):
    assert_invalid(spec, "flat_amount_not_allowed", "flat_amount", message)


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (per_unit("-0.01"), "unit_amount", "Unit amount must not be negative."),
        (
            per_unit("0.0000000000001"),
            "unit_amount",
            "Unit amount has too many decimal places. Use at most 12 decimal places.",
        ),
        (
            PriceSpec("per_unit", "EUR", unit_amount=0.1),
            "unit_amount",
            "Unit amount must be an exact decimal number such as 7.00, not a floating-point number.",
        ),
        (
            PriceSpec("flat", "EUR", flat_amount=D("-5")),
            "flat_amount",
            "Flat amount must not be negative.",
        ),
        (
            per_unit("1", minimum_amount=D("-5")),
            "minimum_amount",
            "Minimum charge must not be negative.",
        ),
        (
            per_unit("1", minimum_amount=D("1E+16")),
            "minimum_amount",
            "Minimum charge is too large: use at most 15 digits before the decimal point.",
        ),
    ],
)
def test_amounts_must_be_exact_non_negative_with_at_most_12_decimals(spec, field, message):
    assert_invalid(spec, "invalid_amount", field, message)


def test_rate_windows_only_with_per_unit():
    spec = PriceSpec("volume", "EUR", tiers=STRIPE_TIERS, rate_windows=(PEAK,))
    assert_invalid(
        spec,
        "time_of_use_requires_per_unit",
        "rate_windows",
        "Time-of-use rates only combine with per unit pricing. "
        "Remove the rate windows, or change this volume price to per unit.",
    )


def test_rate_windows_must_not_overlap():
    assert_invalid(
        time_of_use(PEAK, NIGHT),
        "rate_windows_overlap",
        "rate_windows",
        "Rate windows “peak” (07:00–23:00) and “night” (22:00–06:00) overlap: every moment can have only one rate.",
    )


def test_rate_windows_overlapping_across_midnight():
    late = RateWindow("late", time(23, 30), time(1, 0), D("0.1"))
    assert_invalid(time_of_use(NIGHT, late), "rate_windows_overlap", "rate_windows")


def test_adjacent_rate_windows_do_not_overlap():
    night = RateWindow("night", time(23, 0), time(7, 0), D("0.05"))
    validate_price_spec(time_of_use(PEAK, night))
    assert rate_window_for([PEAK, night], time(23, 0)) == "night"
    assert rate_window_for([PEAK, night], time(7, 0)) == "peak"


def test_rate_window_start_must_differ_from_end():
    empty = RateWindow("peak", time(7, 0), time(7, 0), D("0.15"))
    assert_invalid(
        time_of_use(empty),
        "rate_window_empty",
        "rate_windows",
        "Rate window “peak” starts and ends at 07:00. A window must end at a different time than it starts.",
    )


@pytest.mark.parametrize(
    ("windows", "code", "message"),
    [
        (
            (RateWindow(" ", time(7), time(8), D(1)),),
            "rate_window_name_required",
            "Rate window 1 needs a name, such as “peak”.",
        ),
        (
            (PEAK, RateWindow("peak", time(1), time(2), D(1))),
            "duplicate_rate_window",
            "There is more than one rate called “peak”. Give every rate its own name.",
        ),
        (
            (RateWindow("off-peak", time(1), time(2), D(1)),),
            "duplicate_rate_window",
            "There is more than one rate called “off-peak”. Give every rate its own name.",
        ),
        (
            (RateWindow("peak", "07:00", time(8), D(1)),),
            "invalid_rate_window",
            "Rate window “peak” needs a start and an end time of day, such as 07:00.",
        ),
        (
            (RateWindow("peak", time(7), time(8), D("-0.15")),),
            "invalid_amount",
            "Rate window “peak” unit amount must not be negative.",
        ),
    ],
)
def test_rate_window_errors(windows, code, message):
    assert_invalid(time_of_use(*windows), code, "rate_windows", message)


def test_base_rate_needs_a_name():
    assert_invalid(
        time_of_use(base_rate_name=""),
        "rate_window_name_required",
        "base_rate_name",
        "The rate outside every window needs a name, such as “off-peak”.",
    )


# --- properties ----------------------------------------------------------------------------


@given(tiers=tier_lists(), quantity=quantities(), more=quantities())
def test_graduated_never_cheaper_for_more_units(tiers, quantity, more):
    spec = graduated(tiers)
    assert price_amount(spec, quantity + more).total >= price_amount(spec, quantity).total


@given(spec=price_specs(), quantity=quantities())
def test_breakdown_lines_sum_to_the_total(spec, quantity):
    breakdown = price_amount(spec, quantity)
    assert sum(amounts_of(breakdown), D(0)) == breakdown.total
    assert breakdown.total == round_money(breakdown.total, spec.currency)
    for line in breakdown.lines:
        expected = round_money(line.quantity * line.unit_amount + line.flat_amount, spec.currency)
        assert line.amount == expected
    if spec.minimum_amount is not None:
        assert breakdown.total >= round_money(spec.minimum_amount, spec.currency)


@given(unit_amount=amounts(), quantity=quantities(), currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_volume_with_one_unbounded_tier_equals_per_unit(unit_amount, quantity, currency):
    one_tier = volume((Tier(None, unit_amount),), currency=currency)
    plain = PriceSpec("per_unit", currency, unit_amount=unit_amount)
    assert price_amount(one_tier, quantity).total == price_amount(plain, quantity).total


@given(unit_amount=amounts(), size=st.integers(1, 1000), quantity=quantities())
def test_package_rounded_up_never_cheaper_than_rounded_down(unit_amount, size, quantity):
    up = PriceSpec("package", "EUR", unit_amount=unit_amount, package_size=size)
    down = PriceSpec("package", "EUR", unit_amount=unit_amount, package_size=size, package_rounding="down")
    assert price_amount(up, quantity).total >= price_amount(down, quantity).total


@given(tiers=tier_lists(), quantity=quantities())
def test_graduated_tier_lines_cover_exactly_the_quantity(tiers, quantity):
    breakdown = price_amount(graduated(tiers), quantity)
    assert sum((line.quantity for line in breakdown.lines), D(0)) == quantity
