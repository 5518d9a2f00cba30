"""Which prices a subscription may hold, and what each bills for a whole period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing_site.errors import DomainError
from catalog.domain.pricing import price_amount
from catalog.models import Plan, PlanVersion, PlanVersionStatus, Price, UsageType
from catalog.services.prices import price_spec
from subscriptions.domain.periods import period_containing
from subscriptions.domain.proration import ProratedItem
from subscriptions.models import Subscription, SubscriptionItem

_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class PlannedItem:
    """A price × quantity a subscription holds (or would hold after a change)."""

    price: Price
    quantity: int
    is_addon: bool = False

    @property
    def metered(self) -> bool:
        return self.price.usage_type == UsageType.METERED


def price_label(price: Price) -> str:
    return price.nickname or price.product.name


def item_description(price: Price, quantity: int | Decimal) -> str:
    """ "5 × Seat", or just "Team base fee" for one unit or a flat fee."""
    label = price_label(price)
    if price.pricing_model == "flat" or quantity == 1:
        return label
    return f"{quantity} × {label}"


def period_amount(price: Price, quantity: int) -> Decimal:
    """What a licensed item bills for one whole period, by the pricing engine (rounded lines)."""
    return price_amount(price_spec(price), Decimal(quantity)).total


def prorated_items(items: Iterable[PlannedItem]) -> list[ProratedItem]:
    """Licensed items as the proration maths sees them; metered items never prorate."""
    return [
        ProratedItem(
            description=item_description(item.price, item.quantity),
            amount_billed=period_amount(item.price, item.quantity),
            price_id=item.price.pk,
            quantity=Decimal(item.quantity),
        )
        for item in items
        if not item.metered
    ]


def billed_period(subscription: Subscription) -> tuple[dt.datetime, dt.datetime]:
    """The whole period the current one was billed as: ``[anchor-grid start, current period end)``.

    A first period that is a stub up to the anchor (or one stretched by a pause) was billed as its
    share of a whole period, so proration measures the unused time against the whole period: the
    credit is then exactly the unused share of what was billed.
    """
    end = subscription.current_period_end
    start, grid_end = period_containing(
        subscription.billing_cycle_anchor, subscription.interval, subscription.interval_count, end - _MICROSECOND
    )
    if grid_end != end:  # not on the anchor's grid (should not happen): the stored period is the truth
        return subscription.current_period_start, end
    return start, end


def current_items(subscription: Subscription) -> list[PlannedItem]:
    items = SubscriptionItem.objects.filter(subscription=subscription).select_related(
        "price__product", "price__plan_version"
    )
    return [PlannedItem(price=i.price, quantity=i.quantity, is_addon=i.is_addon) for i in items]


def _items_error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def resolve_plan_version(plan: Plan | PlanVersion, *, field: str = "plan_version") -> PlanVersion:
    """A Plan means its current published version; a PlanVersion must be published (as stored now)."""
    if isinstance(plan, Plan):
        plan = Plan.objects.get(pk=plan.pk)
        if not plan.active:
            raise _items_error(
                "plan_inactive", field, f"The plan “{plan.name}” is inactive: it takes no new customers."
            )
        version = plan.current_version
        if version is None:
            raise _items_error(
                "plan_not_published",
                field,
                f"The plan “{plan.name}” has no published version yet. Publish a version before subscribing.",
            )
        return version
    if not isinstance(plan, PlanVersion):
        raise _items_error("invalid_plan", field, "Choose a plan or a plan version.")
    plan = PlanVersion.objects.select_related("plan").get(pk=plan.pk)
    if plan.status == PlanVersionStatus.DRAFT:
        raise _items_error(
            "plan_version_draft", field, f"{plan} is a draft: publish it before customers can subscribe to it."
        )
    if plan.status == PlanVersionStatus.ARCHIVED:
        raise _items_error(
            "plan_version_archived",
            field,
            f"{plan} is archived: it takes no new subscriptions. Use the plan's current version.",
        )
    if not plan.plan.active:
        raise _items_error(
            "plan_inactive", field, f"The plan “{plan.plan.name}” is inactive: it takes no new customers."
        )
    return plan


def plan_items(
    version: PlanVersion,
    quantity: int,
    *,
    currency: str,
    interval: str | None = None,
    interval_count: int | None = None,
) -> list[PlannedItem]:
    """The active prices of a plan version in ``currency`` and one billing cycle: licensed ones at
    ``quantity``, metered ones at 1.

    A version may be sold in several currencies and cycles (monthly and yearly); the customer's
    currency picks the prices, and ``interval`` picks the cycle when there is more than one.
    """
    active = list(version.prices.filter(active=True).select_related("product", "plan_version").order_by("id"))
    prices = [price for price in active if price.currency == currency]
    if not prices:
        offered = ", ".join(sorted({price.currency for price in active})) or "no currency"
        raise _items_error(
            "plan_not_in_currency", "plan", f"{version} has no prices in {currency}; it is sold in {offered}."
        )
    if interval is not None:
        prices = [
            p
            for p in prices
            if p.interval == interval and (interval_count is None or p.interval_count == interval_count)
        ]
        if not prices:
            raise _items_error("plan_interval_not_offered", "interval", f"{version} is not sold per {interval}.")
    cycles = sorted({(price.interval, price.interval_count) for price in prices})
    if len(cycles) > 1:
        names = " and ".join(f"every {count} {name}s" if count > 1 else f"per {name}" for name, count in cycles)
        raise _items_error(
            "plan_interval_required", "interval", f"{version} is sold {names}: choose the billing interval."
        )
    return [
        PlannedItem(price=price, quantity=1 if price.usage_type == UsageType.METERED else quantity) for price in prices
    ]


def check_quantity(quantity: object, *, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise _items_error(
            "invalid_quantity", field, f"The quantity must be a whole number of at least 1, not “{quantity}”."
        )
    if quantity > 2_147_483_647:
        raise _items_error("invalid_quantity", field, "The quantity is too large.")
    return quantity


def price_pairs(pairs: Iterable[Any], *, field: str) -> list[tuple[Price, int]]:
    """``[(price, quantity)]``, ``[price]`` or ``[{"price": …, "quantity": …}]`` → ``[(price, quantity)]``."""
    result: list[tuple[Price, int]] = []
    for index, pair in enumerate(pairs):
        price: Any
        if isinstance(pair, Price):
            price, quantity = pair, 1
        elif isinstance(pair, Mapping):
            price, quantity = pair.get("price"), pair.get("quantity", 1)
        elif isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            price, quantity = pair
        else:
            raise _items_error("invalid_items", f"{field}.{index}", "Give each item as a price and a quantity.")
        if not isinstance(price, Price):
            raise _items_error("invalid_items", f"{field}.{index}.price", "Choose a price.")
        result.append((price, check_quantity(quantity, field=f"{field}.{index}.quantity")))
    # As stored now: a price deactivated a moment ago must not slip through on a stale instance.
    fresh = Price.objects.select_related("product", "plan_version__plan").in_bulk([price.pk for price, _ in result])
    return [(fresh[price.pk], quantity) for price, quantity in result]


def explicit_items(pairs: Iterable[Any], *, is_addon: bool, check_available: bool) -> list[PlannedItem]:
    field = "addons" if is_addon else "items"
    items = []
    for index, (price, quantity) in enumerate(price_pairs(pairs, field=field)):
        where = f"{field}.{index}.price"
        if check_available:
            if not price.active:
                raise _items_error(
                    "price_inactive", where, f"The price “{price}” is inactive: it takes no new customers."
                )
            if price.plan_version is not None:
                status = price.plan_version.status
                if status == PlanVersionStatus.DRAFT:
                    raise _items_error(
                        "plan_version_draft", where, f"The price “{price}” belongs to a draft plan version."
                    )
                if status == PlanVersionStatus.ARCHIVED:
                    raise _items_error(
                        "plan_version_archived", where, f"The price “{price}” belongs to an archived plan version."
                    )
        if is_addon and price.plan_version_id is not None:
            raise _items_error(
                "not_an_addon",
                where,
                f"The price “{price}” belongs to a plan version; add-ons are prices sold on their own.",
            )
        if price.usage_type == UsageType.METERED and quantity != 1:
            raise _items_error(
                "metered_quantity",
                f"{field}.{index}.quantity",
                f"“{price_label(price)}” is billed by usage: its quantity is always 1.",
            )
        items.append(PlannedItem(price=price, quantity=quantity, is_addon=is_addon))
    return items


def check_items(items: Sequence[PlannedItem], *, currency: str) -> tuple[str, int]:
    """One currency (the customer's), one billing interval, each price once. Returns the interval."""
    if not items:
        raise DomainError(
            "no_items", "A subscription needs at least one price: choose a plan or add price items.", fields={}
        )
    seen: set[int] = set()
    for item in items:
        if item.price.pk in seen:
            raise DomainError(
                "duplicate_price",
                f"The price “{item.price}” appears twice. Give it once, with the total quantity.",
            )
        seen.add(item.price.pk)
        if item.price.currency != currency:
            raise DomainError(
                "currency_mismatch",
                f"The price “{item.price}” is in {item.price.currency}, but this customer is billed in {currency}. "
                f"Choose prices in {currency}.",
            )
    first = items[0].price
    for item in items[1:]:
        if (item.price.interval, item.price.interval_count) != (first.interval, first.interval_count):
            raise DomainError(
                "interval_mismatch",
                f"All prices of a subscription must bill on the same cycle: “{first}” bills {cycle(first)}, "
                f"“{item.price}” bills {cycle(item.price)}.",
            )
    return first.interval, first.interval_count


def cycle(price_or_subscription: Price | Subscription) -> str:
    """ "every month", "every 3 months"."""
    count, interval = price_or_subscription.interval_count, price_or_subscription.interval
    return f"every {interval}" if count == 1 else f"every {count} {interval}s"


def items_snapshot(items: Iterable[PlannedItem]) -> list[dict[str, Any]]:
    return [{"price": i.price.pk, "quantity": i.quantity, "is_addon": i.is_addon} for i in items]
