"""Invoice tax: breakdowns rounded once per category and rate, inclusive allocation, the EU rate rules. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.money import round_money
from invoicing.domain.tax import (
    EU_MEMBER_STATES,
    REVERSE_CHARGE_MENTION,
    TaxableLine,
    TaxBreakdown,
    TaxRateInfo,
    TaxResult,
    applicable_rate,
    compute_tax,
)

D = Decimal
EXEMPT_REASON = "Exempt: medical care (Art. 132 Directive 2006/112/EC)"


def rate(
    percentage="21", category="standard", *, inclusive=False, country="NL", name=None, reason="", id=None
) -> TaxRateInfo:
    return TaxRateInfo(
        id=id,
        name=name or f"VAT {percentage}%",
        country=country,
        percentage=D(percentage),
        category=category,
        inclusive=inclusive,
        exemption_reason=reason,
    )


VAT21 = rate("21")
VAT9 = rate("9")
VAT21_INCL = rate("21", inclusive=True)
EXEMPT = rate("0", "exempt", reason=EXEMPT_REASON, name="Exempt")
REVERSE = rate("0", "reverse_charge", reason=REVERSE_CHARGE_MENTION, name="Reverse charge")


def lines(*specs) -> list[TaxableLine]:
    """lines(("10.00", VAT21), ("5.00", VAT9)) -> keyed 0, 1, ..."""
    return [TaxableLine(key=i, net_or_gross_amount=D(amount), rate=r) for i, (amount, r) in enumerate(specs)]


# ---------------------------------------------------------------------------------------------
# compute_tax: exclusive prices


def test_two_lines_at_21_percent_exclusive():
    result = compute_tax(lines=lines(("10.00", VAT21), ("10.05", VAT21)), currency="EUR")

    assert result == TaxResult(
        lines_net={0: D("10.00"), 1: D("10.05")},
        breakdowns=(TaxBreakdown("standard", D("21"), D("20.05"), D("4.21"), ""),),
        total_net=D("20.05"),
        total_tax=D("4.21"),
        total_gross=D("24.26"),
    )


def test_tax_is_rounded_once_per_category_not_per_line():
    # Per line: 0.10 x 25% = 0.025 -> 0.03, three times 0.09. Per category: 0.30 x 25% = 0.075 -> 0.08.
    vat25 = rate("25", country="SE")
    result = compute_tax(lines=lines(("0.10", vat25), ("0.10", vat25), ("0.10", vat25)), currency="EUR")

    assert result.breakdowns == (TaxBreakdown("standard", D("25"), D("0.30"), D("0.08"), ""),)
    assert result.total_tax == D("0.08")
    assert result.total_gross == D("0.38")


def test_half_cent_rounds_up():
    # 0.50 x 21% = 0.105 -> 0.11 (half up, as round_money does), never banker's 0.10.
    result = compute_tax(lines=lines(("0.50", VAT21)), currency="EUR")

    assert result.total_tax == D("0.11")


def test_several_rates_on_one_invoice_give_one_breakdown_each_in_a_fixed_order():
    result = compute_tax(
        lines=lines(
            ("40.00", EXEMPT),
            ("10.00", VAT9),
            ("100.00", VAT21),
            ("5.55", VAT9),
            ("0.01", VAT21),
        ),
        currency="EUR",
    )

    assert result.breakdowns == (
        TaxBreakdown("standard", D("21"), D("100.01"), D("21.00"), ""),
        TaxBreakdown("standard", D("9"), D("15.55"), D("1.40"), ""),
        TaxBreakdown("exempt", D("0"), D("40.00"), D("0.00"), EXEMPT_REASON),
    )
    assert result.lines_net == {0: D("40.00"), 1: D("10.00"), 2: D("100.00"), 3: D("5.55"), 4: D("0.01")}
    assert (result.total_net, result.total_tax, result.total_gross) == (D("155.56"), D("22.40"), D("177.96"))


def test_rates_written_differently_share_a_breakdown():
    result = compute_tax(lines=lines(("1.00", rate("21")), ("1.00", rate("21.0000"))), currency="EUR")

    assert len(result.breakdowns) == 1
    assert result.breakdowns[0].taxable_amount == D("2.00")
    assert result.total_tax == D("0.42")


def test_reverse_charge_breakdown_has_no_tax_and_carries_the_legal_mention():
    result = compute_tax(lines=lines(("1000.00", REVERSE), ("250.00", REVERSE)), currency="EUR")

    assert result.breakdowns == (
        TaxBreakdown("reverse_charge", D("0"), D("1250.00"), D("0.00"), REVERSE_CHARGE_MENTION),
    )
    assert (result.total_net, result.total_tax, result.total_gross) == (D("1250.00"), D("0.00"), D("1250.00"))


def test_distinct_exemption_reasons_in_one_group_are_all_printed():
    other = rate("0", "exempt", reason="Exempt: education", name="Exempt education")
    result = compute_tax(lines=lines(("1.00", EXEMPT), ("2.00", other), ("3.00", EXEMPT)), currency="EUR")

    assert result.breakdowns == (
        TaxBreakdown("exempt", D("0"), D("6.00"), D("0.00"), f"{EXEMPT_REASON}; Exempt: education"),
    )


def test_jpy_has_no_minor_unit():
    vat10 = rate("10", country="JP")
    result = compute_tax(lines=lines(("1005", vat10), ("1000", vat10)), currency="JPY")

    # 2005 x 10% = 200.5 -> 201; per line it would be 101 + 100 = 201 too, but rounded once.
    assert result.breakdowns == (TaxBreakdown("standard", D("10"), D("2005"), D("201"), ""),)
    assert result.total_gross == D("2206")
    assert str(result.total_tax) == "201"


def test_kwd_has_three_decimals():
    vat5 = rate("5", country="KW")
    result = compute_tax(lines=lines(("1.005", vat5), ("0.005", vat5)), currency="KWD")

    # 1.010 x 5% = 0.0505 -> 0.051
    assert result.breakdowns == (TaxBreakdown("standard", D("5"), D("1.010"), D("0.051"), ""),)
    assert str(result.total_gross) == "1.061"


def test_credit_lines_may_be_negative():
    result = compute_tax(lines=lines(("100.00", VAT21), ("-30.00", VAT21)), currency="EUR")

    assert result.total_tax == D("14.70")
    assert result.total_gross == D("84.70")


def test_negative_half_cent_rounds_away_from_zero():
    result = compute_tax(lines=lines(("-0.50", VAT21)), currency="EUR")

    assert result.total_tax == D("-0.11")


def test_no_lines_no_tax():
    assert compute_tax(lines=[], currency="EUR") == TaxResult({}, (), D("0.00"), D("0.00"), D("0.00"))


# ---------------------------------------------------------------------------------------------
# compute_tax: inclusive prices


def test_inclusive_121_at_21_percent():
    result = compute_tax(lines=lines(("121.00", VAT21_INCL)), currency="EUR")

    assert result == TaxResult(
        lines_net={0: D("100.00")},
        breakdowns=(TaxBreakdown("standard", D("21"), D("100.00"), D("21.00"), ""),),
        total_net=D("100.00"),
        total_tax=D("21.00"),
        total_gross=D("121.00"),
    )


def test_inclusive_group_net_is_allocated_over_lines_by_largest_remainder():
    # Gross 30.00: tax 30 x 21/121 = 5.2066 -> 5.21, net 24.79. Exact shares 8.2633 each:
    # floors 8.26 x 3 = 24.78, the one cent left goes to the first line (equal remainders).
    result = compute_tax(
        lines=lines(("10.00", VAT21_INCL), ("10.00", VAT21_INCL), ("10.00", VAT21_INCL)), currency="EUR"
    )

    assert result.lines_net == {0: D("8.27"), 1: D("8.26"), 2: D("8.26")}
    assert result.breakdowns == (TaxBreakdown("standard", D("21"), D("24.79"), D("5.21"), ""),)
    assert result.total_gross == D("30.00")


def test_inclusive_remainder_goes_to_the_largest_fraction_not_the_first_line():
    # Gross 1.00 + 2.00 = 3.00: tax 0.5207 -> 0.52, net 2.48. Shares 0.8267 and 1.6533:
    # floors 1.65 + 0.82 = 2.47, the cent goes to the larger fraction (0.67 > 0.33): the second line.
    result = compute_tax(lines=lines(("2.00", VAT21_INCL), ("1.00", VAT21_INCL)), currency="EUR")

    assert result.lines_net == {0: D("1.65"), 1: D("0.83")}
    assert result.total_net == D("2.48")
    assert result.total_tax == D("0.52")


def test_inclusive_tax_is_rounded_on_the_gross_so_the_gross_never_moves():
    # Documented edge: tax 0.03 x 21/121 = 0.0052 -> 0.01, net 0.02; 0.02 x 21% alone would give 0.00.
    result = compute_tax(lines=lines(("0.03", VAT21_INCL)), currency="EUR")

    assert (result.total_net, result.total_tax, result.total_gross) == (D("0.02"), D("0.01"), D("0.03"))


def test_inclusive_lines_summing_to_zero_still_get_their_own_net():
    result = compute_tax(lines=lines(("12.10", VAT21_INCL), ("-12.10", VAT21_INCL)), currency="EUR")

    assert result.lines_net == {0: D("10.00"), 1: D("-10.00")}
    assert result.total_tax == D("0.00")


def test_inclusive_credit_line_shares_stay_close_to_their_own_net():
    # Gross 9.99 - 7.57 = 2.42 at 5%: tax 0.1152 -> 0.12, net 2.30. Exact nets 9.5143 and -7.2095:
    # floors 9.51 - 7.21 = 2.30, nothing left to give. A pro-rata split of 2.30 would give 9.49.
    vat5 = rate("5", inclusive=True)
    result = compute_tax(lines=lines(("-7.57", vat5), ("9.99", vat5)), currency="EUR")

    assert result.lines_net == {0: D("-7.21"), 1: D("9.51")}
    assert (result.total_net, result.total_tax) == (D("2.30"), D("0.12"))


def test_inclusive_with_exempt_lines_is_not_mixed():
    exempt_inclusive = rate("0", "exempt", inclusive=True, reason=EXEMPT_REASON)
    result = compute_tax(
        lines=lines(("121.00", VAT21_INCL), ("10.00", EXEMPT), ("5.00", exempt_inclusive)), currency="EUR"
    )

    assert result.breakdowns == (
        TaxBreakdown("standard", D("21"), D("100.00"), D("21.00"), ""),
        TaxBreakdown("exempt", D("0"), D("15.00"), D("0.00"), EXEMPT_REASON),
    )
    assert result.total_gross == D("136.00")


def test_mixed_inclusive_and_exclusive_is_refused():
    with pytest.raises(DomainError) as error:
        compute_tax(lines=lines(("121.00", VAT21_INCL), ("10.00", VAT9)), currency="EUR")

    assert error.value.code == "mixed_tax_inclusion"
    assert "VAT 21%" in error.value.message and "VAT 9%" in error.value.message


# ---------------------------------------------------------------------------------------------
# compute_tax: refusals


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("10.005", "invalid_amount"),
        (10.0, "invalid_amount"),
    ],
)
def test_unrounded_or_float_amounts_are_refused(amount, code):
    line = TaxableLine(key="a", net_or_gross_amount=D(amount) if isinstance(amount, str) else amount, rate=VAT21)

    with pytest.raises(DomainError) as error:
        compute_tax(lines=[line], currency="EUR")

    assert error.value.code == code


def test_unknown_currency_is_refused():
    with pytest.raises(DomainError) as error:
        compute_tax(lines=lines(("1.00", VAT21)), currency="EURO")

    assert error.value.code == "invalid_currency"


def test_duplicate_keys_are_refused():
    same = [TaxableLine("x", D("1.00"), VAT21), TaxableLine("x", D("2.00"), VAT21)]

    with pytest.raises(DomainError) as error:
        compute_tax(lines=same, currency="EUR")

    assert error.value.code == "duplicate_line_key"


@pytest.mark.parametrize(
    ("bad_rate", "code"),
    [
        (rate("101"), "invalid_tax_rate"),
        (rate("-1"), "invalid_tax_rate"),
        (rate("5", "exempt", reason="x"), "invalid_tax_rate"),
        (rate("0", "lower"), "invalid_tax_rate"),
        (TaxRateInfo(1, "Float", "NL", 21.0, "standard", False), "invalid_tax_rate"),  # type: ignore[arg-type]
        (rate("0", "exempt"), "missing_exemption_reason"),
        (rate("0", "reverse_charge", reason="  "), "missing_exemption_reason"),
    ],
)
def test_invalid_rates_are_refused(bad_rate, code):
    with pytest.raises(DomainError) as error:
        compute_tax(lines=lines(("1.00", bad_rate)), currency="EUR")

    assert error.value.code == code


# ---------------------------------------------------------------------------------------------
# compute_tax: properties

CURRENCIES = {"EUR": 2, "JPY": 0, "KWD": 3}
PERCENTAGES = [D(p) for p in ("0", "5", "6", "7.7", "9", "10", "19", "20", "21", "25", "27", "8.1250")]


@st.composite
def invoices(draw: st.DrawFn, inclusive: bool | None = None):
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    places = CURRENCIES[currency]
    inclusive = draw(st.booleans()) if inclusive is None else inclusive
    rates = [rate(str(p), inclusive=inclusive) for p in PERCENTAGES] + [EXEMPT, REVERSE]
    specs = draw(
        st.lists(
            st.tuples(st.integers(-(10**7), 10**9).map(lambda n: D(n).scaleb(-places)), st.sampled_from(rates)),
            max_size=12,
        )
    )
    return currency, [TaxableLine(key=i, net_or_gross_amount=a, rate=r) for i, (a, r) in enumerate(specs)]


@given(invoices())
def test_property_totals_add_up(invoice):
    currency, taxable = invoice
    result = compute_tax(lines=taxable, currency=currency)

    assert result.total_gross == result.total_net + result.total_tax
    assert sum(result.lines_net.values(), D(0)) == result.total_net
    assert sum((b.taxable_amount for b in result.breakdowns), D(0)) == result.total_net
    assert sum((b.tax_amount for b in result.breakdowns), D(0)) == result.total_tax
    assert list(result.lines_net) == [line.key for line in taxable]


@given(invoices(inclusive=False))
def test_property_exclusive_tax_is_br_co_17_and_within_half_a_unit(invoice):
    currency, taxable = invoice
    half_unit = D(1).scaleb(-CURRENCIES[currency]) / 2
    result = compute_tax(lines=taxable, currency=currency)

    assert result.lines_net == {line.key: line.net_or_gross_amount for line in taxable}
    for breakdown in result.breakdowns:
        exact = breakdown.taxable_amount * breakdown.rate_percentage / 100
        assert breakdown.tax_amount == round_money(exact, currency)
        assert abs(breakdown.tax_amount - exact) <= half_unit


@given(invoices(inclusive=True))
def test_property_inclusive_keeps_the_gross_and_tax_is_within_half_a_unit(invoice):
    currency, taxable = invoice
    unit = D(1).scaleb(-CURRENCIES[currency])
    result = compute_tax(lines=taxable, currency=currency)

    assert result.total_gross == sum((line.net_or_gross_amount for line in taxable), D(0))
    for breakdown in result.breakdowns:
        pct = breakdown.rate_percentage
        gross = sum(
            (
                line.net_or_gross_amount
                for line in taxable
                if (line.rate.category, line.rate.percentage) == (breakdown.category, pct)
            ),
            D(0),
        )
        assert breakdown.taxable_amount + breakdown.tax_amount == gross
        assert abs(breakdown.tax_amount - gross * pct / (100 + pct)) <= unit / 2
    for line in taxable:
        # Each line's net is within one minor unit of its own exact net, whatever the signs.
        pct = line.rate.percentage
        assert abs(result.lines_net[line.key] - line.net_or_gross_amount * 100 / (100 + pct)) < unit


# ---------------------------------------------------------------------------------------------
# applicable_rate

NL_21 = rate("21", country="NL", id=1, name="NL VAT 21%")
NL_21_OLD = rate("19", country="NL", id=2, name="NL VAT 19% (old)")
DE_19 = rate("19", country="DE", id=3, name="DE VAT 19%")
NL_ZERO = rate("0", "zero", country="NL", id=4, name="Export", reason="")
NL_EXEMPT = rate("0", "exempt", country="NL", id=5, name="Exempt", reason=EXEMPT_REASON)
NL_REVERSE = rate("0", "reverse_charge", country="NL", id=6, name="Reverse charge", reason=REVERSE_CHARGE_MENTION)
ALL_RATES = [NL_21, NL_21_OLD, DE_19, NL_ZERO, NL_EXEMPT, NL_REVERSE]


def pick(customer_country="NL", vat_id="", exemption="none", product="standard", rates=ALL_RATES, seller="NL"):
    return applicable_rate(
        seller_country=seller,
        customer_country=customer_country,
        customer_vat_id=vat_id,
        customer_exemption=exemption,
        product_tax_category=product,
        rates=rates,
    )


@pytest.mark.parametrize(
    ("customer_country", "vat_id", "exemption", "expected"),
    [
        ("NL", "", "none", NL_21),  # domestic consumer
        ("NL", "NL123456789B01", "none", NL_21),  # domestic business: still domestic VAT
        ("DE", "", "none", DE_19),  # B2C in another EU country: destination rate (OSS)
        ("DE", "DE123456789", "none", NL_REVERSE),  # B2B across an EU border
        ("US", "", "none", NL_ZERO),  # export
        ("US", "98-7654321", "none", NL_ZERO),  # export to a business outside the EU
        ("NL", "", "exempt", NL_EXEMPT),
        ("DE", "DE123456789", "exempt", NL_EXEMPT),  # exemption beats reverse charge
        ("US", "", "reverse", NL_REVERSE),  # explicitly reverse charged
        (" de ", "", "none", DE_19),  # forgiving about case and blanks
    ],
)
def test_rate_matrix_for_a_dutch_seller(customer_country, vat_id, exemption, expected):
    assert pick(customer_country, vat_id, exemption) == expected


def test_blank_vat_id_is_a_consumer():
    assert pick("DE", vat_id="   ") == DE_19


def test_greece_is_gr_and_el_is_accepted():
    gr_24 = rate("24", country="GR", id=9)
    assert "GR" in EU_MEMBER_STATES and "EL" not in EU_MEMBER_STATES and len(EU_MEMBER_STATES) == 27
    assert pick("EL", rates=[gr_24]) == gr_24
    assert pick("GR", vat_id="EL123456789", rates=[NL_REVERSE]) == NL_REVERSE


def test_highest_standard_percentage_wins_then_lowest_id():
    twin = rate("21", country="NL", id=0, name="NL VAT 21% (twin)")
    assert pick("NL", rates=[NL_21_OLD, NL_21]) == NL_21
    assert pick("NL", rates=[NL_21, twin]) == twin


def test_reverse_charge_without_a_reason_gets_the_legal_mention():
    bare = rate("0", "reverse_charge", country="NL", id=7, reason="")
    chosen = pick("BE", vat_id="BE0123456789", rates=[bare])

    assert chosen.exemption_reason == REVERSE_CHARGE_MENTION
    assert chosen.id == 7


def test_exempt_customer_prefers_the_customer_country_rate():
    de_exempt = rate("0", "exempt", country="DE", id=8, reason="Steuerfrei")
    assert pick("DE", exemption="exempt", rates=[NL_EXEMPT, de_exempt]) == de_exempt


def test_zero_and_exempt_products_take_the_rate_of_their_kind():
    de_zero = rate("0", "zero", country="DE", id=10, name="DE zero")
    assert pick("NL", product="zero", rates=ALL_RATES) == NL_ZERO
    assert pick("NL", product="exempt", rates=ALL_RATES) == NL_EXEMPT
    assert pick("DE", product="zero", rates=[*ALL_RATES, de_zero]) == de_zero
    # Reduced: the caller passed only reduced rates, which are standard (S) rates of that country.
    nl_9 = rate("9", country="NL", id=11)
    assert pick("NL", product="reduced", rates=[nl_9]) == nl_9


@pytest.mark.parametrize(
    ("kwargs", "in_message"),
    [
        ({"customer_country": "NL", "rates": [DE_19]}, "add one for NL"),
        ({"customer_country": "FR", "rates": [NL_21]}, "one-stop shop"),
        ({"customer_country": "US", "rates": [NL_21]}, "add a zero-rated tax rate (0%) for NL"),
        ({"customer_country": "DE", "vat_id": "DE1", "rates": [NL_21, DE_19]}, "add a reverse-charge tax rate"),
        ({"customer_country": "NL", "exemption": "exempt", "rates": [NL_21]}, "add an exempt tax rate"),
    ],
)
def test_missing_configured_rate_says_what_to_add(kwargs, in_message):
    with pytest.raises(DomainError) as error:
        pick(**kwargs)

    assert error.value.code == "no_tax_rate"
    assert in_message in error.value.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"customer_country": "Netherlands"}, "invalid_country"),
        ({"seller": ""}, "invalid_country"),
        ({"exemption": "partial"}, "invalid_tax_exemption"),
        ({"product": "luxury"}, "invalid_tax_category"),
    ],
)
def test_invalid_inputs_are_refused(kwargs, code):
    with pytest.raises(DomainError) as error:
        pick(**kwargs)

    assert error.value.code == code


@given(
    customer=st.sampled_from(sorted(EU_MEMBER_STATES | {"US", "CH", "GB", "NO", "JP"})),
    vat_id=st.sampled_from(["", "X123"]),
    exemption=st.sampled_from(["none", "exempt", "reverse"]),
)
def test_property_a_configured_rate_is_always_found(customer, vat_id, exemption):
    rates = [*ALL_RATES, *(rate("20", country=c, id=100) for c in EU_MEMBER_STATES)]
    chosen = pick(customer, vat_id=vat_id, exemption=exemption, rates=rates)

    assert chosen.category in {"standard", "zero", "exempt", "reverse_charge"}
    if chosen.category != "standard":
        assert chosen.percentage == 0 and chosen.country == "NL"
    if chosen.category == "reverse_charge":
        assert chosen.exemption_reason == REVERSE_CHARGE_MENTION
