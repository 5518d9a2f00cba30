"""Hypothesis strategies for prices: valid specs of every model, tier lists, quantities."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from catalog.domain.pricing import PackageRounding, PriceSpec, PricingModel, Tier

currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD"])


def decimals(*, max_integer: int = 10**6, max_places: int = 12) -> st.SearchStrategy[Decimal]:
    """Non-negative Decimals with up to ``max_places`` decimals, like real unit prices."""
    return st.integers(0, max_places).flatmap(
        lambda places: st.integers(0, max_integer * 10**places).map(lambda n: Decimal(n).scaleb(-places))
    )


def amounts() -> st.SearchStrategy[Decimal]:
    return decimals(max_integer=10_000)


def quantities() -> st.SearchStrategy[Decimal]:
    """Whole seats and fractional metered usage (12.5 GB-month), up to a million."""
    return st.one_of(st.integers(0, 1_000_000).map(Decimal), decimals(max_places=3))


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    """1 to 5 tiers with strictly ascending ``up_to`` and an unbounded last tier."""
    steps = draw(st.lists(decimals(max_integer=1_000, max_places=2), min_size=0, max_size=4))
    tiers = []
    up_to = Decimal(0)
    for step in steps:
        up_to += step + Decimal(1)
        tiers.append(Tier(up_to=up_to, unit_amount=draw(amounts()), flat_amount=draw(amounts())))
    tiers.append(Tier(up_to=None, unit_amount=draw(amounts()), flat_amount=draw(amounts())))
    return tuple(tiers)


@st.composite
def price_specs(draw: st.DrawFn) -> PriceSpec:
    """A valid price of any pricing model, sometimes with a minimum charge."""
    model = draw(st.sampled_from(list(PricingModel)))
    currency = draw(currencies)
    minimum = draw(st.none() | amounts())
    if model is PricingModel.FLAT:
        return PriceSpec(model, currency, flat_amount=draw(amounts()), minimum_amount=minimum)
    if model is PricingModel.PER_UNIT:
        return PriceSpec(model, currency, unit_amount=draw(amounts()), minimum_amount=minimum)
    if model is PricingModel.PACKAGE:
        return PriceSpec(
            model,
            currency,
            unit_amount=draw(amounts()),
            package_size=draw(st.integers(1, 1_000)),
            package_rounding=draw(st.sampled_from(list(PackageRounding))),
            minimum_amount=minimum,
        )
    return PriceSpec(model, currency, tiers=draw(tier_lists()), minimum_amount=minimum)
