"""What a subscription's invoice for a period holds: fees in advance, usage in arrears, pending lines.

``BillingContext`` caches what a run reads again and again (prices and their pricing specs, tax
rates, legal entities, usage totals of a batch) so that the batched billing run and the
one-subscription path (a test clock's advance, a lifecycle hook) build the very same lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Max

from billing_site.errors import DomainError
from billing_site.money import round_money
from catalog.domain import pricing
from catalog.models import BillableMetric, Coupon, Price, TaxRate, UsageType
from catalog.models.product import TaxCategory
from catalog.services.prices import price_spec
from invoicing.domain import tax
from invoicing.models import BillingEntity, CustomerEntity, Invoice, InvoiceLine, InvoiceStatus, LineKind
from invoicing.services.compose import DraftInvoice, DraftLine, coupon_terms, line_rate, rate_info
from subscriptions.domain.periods import period_containing
from subscriptions.models import Customer, PendingLine, Subscription, SubscriptionItem, UsageEvent
from subscriptions.selectors.usage import (
    aggregate_total,
    rollup_covers,
    usage_quantities,
    usage_quantities_by_window,
    usage_totals_for_subscriptions,
)

ZERO = Decimal(0)
_MICROSECOND = dt.timedelta(microseconds=1)


def no_entity_error() -> DomainError:
    return DomainError(
        "no_billing_entity",
        "No legal entity bills this customer: add a legal entity and make it the default, or assign one.",
    )


class BillingContext:
    """Read-mostly caches for one billing run, preview or hook call."""

    def __init__(self) -> None:
        self._prices: dict[int, Price] = {}
        self._specs: dict[int, pricing.PriceSpec] = {}
        self._rates: dict[str, list[tax.TaxRateInfo]] | None = None
        self._default_entity: BillingEntity | None | bool = False
        self._entities: dict[int, BillingEntity] = {}
        self._customer_entity: dict[int, BillingEntity | None] = {}
        self._coupons: dict[int, Coupon] = {}
        self._usage: dict[tuple[int, str, dt.datetime, dt.datetime], Decimal] = {}

    # --- catalog -------------------------------------------------------------------------

    def prices(self, ids: Iterable[int]) -> dict[int, Price]:
        missing = [pk for pk in set(ids) if pk not in self._prices]
        if missing:
            for price in (
                Price.objects.filter(pk__in=missing)
                .select_related("product", "plan_version", "metric")
                .prefetch_related("tiers", "rate_windows")
            ):
                self._prices[price.pk] = price
                self._specs[price.pk] = price_spec(price)
        return {pk: self._prices[pk] for pk in ids}

    def spec(self, price: Price) -> pricing.PriceSpec:
        if price.pk not in self._specs:
            self.prices([price.pk])
        return self._specs[price.pk]

    def rates(self, product_tax_category: str) -> list[tax.TaxRateInfo]:
        """The rates that may tax a product of this category: its own, and the 0% ones (zero, exempt,
        reverse charge) whatever category they were entered for. Read once per run."""
        if self._rates is None:
            by_category: dict[str, list[tax.TaxRateInfo]] = defaultdict(list)
            for rate in TaxRate.objects.filter(active=True):
                by_category[rate.product_tax_category].append(rate_info(rate))
            self._rates = {}
            for category in {*by_category, *TaxCategory.values}:
                shared = [r for other, rates in by_category.items() if other != category for r in rates]
                self._rates[category] = by_category.get(category, []) + [r for r in shared if not r.percentage]
        return self._rates.get(product_tax_category, [])

    def coupon(self, pk: int) -> Coupon:
        if pk not in self._coupons:
            coupon = Coupon.objects.prefetch_related("applies_to_plans", "applies_to_products").get(pk=pk)
            coupon.plan_ids = [p.pk for p in coupon.applies_to_plans.all()]  # type: ignore[attr-defined]
            coupon.product_ids = [p.pk for p in coupon.applies_to_products.all()]  # type: ignore[attr-defined]
            self._coupons[pk] = coupon
        return self._coupons[pk]

    # --- entities ------------------------------------------------------------------------

    def preload_entities(self, customer_ids: Iterable[int]) -> None:
        ids = [pk for pk in set(customer_ids) if pk not in self._customer_entity]
        if not ids:
            return
        links = dict(CustomerEntity.objects.filter(customer_id__in=ids).values_list("customer_id", "entity_id"))
        for entity_id in set(links.values()) - set(self._entities):
            self._entities[entity_id] = BillingEntity.objects.get(pk=entity_id)
        default = self.default_entity()
        for pk in ids:
            self._customer_entity[pk] = self._entities[links[pk]] if pk in links else default

    def default_entity(self) -> BillingEntity | None:
        if self._default_entity is False:
            self._default_entity = BillingEntity.objects.filter(is_default=True).first()
        return self._default_entity  # type: ignore[return-value]

    def entity_for(self, customer: Customer) -> BillingEntity:
        self.preload_entities([customer.pk])
        entity = self._customer_entity[customer.pk]
        if entity is None:
            raise no_entity_error()
        return entity

    # --- usage ---------------------------------------------------------------------------

    def preload_usage(self, requests: Sequence[tuple[Subscription, dt.datetime, dt.datetime]]) -> None:
        """Usage totals of rolled-up metrics for a batch: ``[(subscription, start, end)]``."""
        item_prices = self._metered_prices([sub.pk for sub, _, _ in requests])
        codes: set[str] = set()
        periods = []
        for subscription, start, end in requests:
            prices = item_prices.get(subscription.pk, [])
            wanted = [p for p in prices if rollup_covers(p.metric) and not p.rate_windows.all()]
            if wanted:
                codes.update(p.metric.code for p in wanted)
                periods.append((subscription.customer_id, subscription.pk, start, end))
        if not periods:
            return
        totals = usage_totals_for_subscriptions(periods=periods, codes=sorted(codes))
        for subscription, start, end in requests:
            for price in item_prices.get(subscription.pk, []):
                metric = price.metric
                if rollup_covers(metric) and not price.rate_windows.all():
                    quantity = aggregate_total(metric, totals.get((subscription.pk, metric.code)))
                    self._usage[(subscription.pk, metric.code, start, end)] = quantity

    def _metered_prices(self, subscription_ids: list[int]) -> dict[int, list[Price]]:
        rows = SubscriptionItem.objects.filter(
            subscription_id__in=subscription_ids, price__usage_type=UsageType.METERED
        ).values_list("subscription_id", "price_id")
        by_sub: dict[int, list[int]] = defaultdict(list)
        for sub_id, price_id in rows:
            by_sub[sub_id].append(price_id)
        prices = self.prices({pid for ids in by_sub.values() for pid in ids})
        return {sub_id: [prices[pid] for pid in ids] for sub_id, ids in by_sub.items()}

    def usage_breakdown(
        self, subscription: Subscription, price: Price, start: dt.datetime, end: dt.datetime
    ) -> pricing.PriceBreakdown:
        metric: BillableMetric = price.metric  # type: ignore[assignment]
        spec = self.spec(price)
        if spec.rate_windows:
            windows = usage_quantities_by_window(
                customer=subscription.customer,
                metric=metric,
                price=price,
                period_start=start,
                period_end=end,
                subscription=subscription,
            )
            return pricing.time_of_use_amount(spec, windows)
        key = (subscription.pk, metric.code, start, end)
        if key not in self._usage:
            self._usage[key] = usage_quantities(
                customer=subscription.customer,
                metrics=[metric],
                period_start=start,
                period_end=end,
                subscription=subscription,
            )[metric.code]
        return pricing.price_amount(spec, self._usage[key])


def tiers_json(breakdown: pricing.PriceBreakdown) -> list[dict[str, Any]]:
    if len(breakdown.lines) <= 1 and not any(line.tier for line in breakdown.lines):
        return []
    return [
        {
            "label": line.label,
            "quantity": f"{line.quantity.normalize():f}",
            "unit_amount": f"{line.unit_amount.normalize():f}",
            "flat_amount": f"{line.flat_amount.normalize():f}",
            "amount": str(line.amount),
        }
        for line in breakdown.lines
    ]


def _label(price: Price) -> str:
    return price.nickname or price.product.name


def _unit_amount(price: Price) -> Decimal | None:
    return price.unit_amount if price.pricing_model == "per_unit" else None


def _stub_factor(subscription: Subscription, start: dt.datetime, end: dt.datetime) -> Decimal:
    """A first period shorter than a whole one (up to the anchor) pays its share of a whole period."""
    try:
        grid_start, grid_end = period_containing(
            subscription.billing_cycle_anchor, subscription.interval, subscription.interval_count, end - _MICROSECOND
        )
    except DomainError:
        return Decimal(1)
    if grid_end != end or start <= grid_start:
        return Decimal(1)
    whole = (grid_end - grid_start) // _MICROSECOND
    return Decimal((end - start) // _MICROSECOND) / Decimal(whole)


def _line(
    context: BillingContext, draft: DraftInvoice, price: Price, *, kind: str, description: str, **values: Any
) -> DraftLine:
    category = price.product.tax_category
    line = DraftLine(
        kind=kind,
        description=description,
        price_id=price.pk,
        product_id=price.product_id,
        plan_id=price.plan_version.plan_id if price.plan_version_id else None,
        product_tax_category=category,
        **values,
    )
    _set_rate(context, draft, line)
    return line


def _set_rate(context: BillingContext, draft: DraftInvoice, line: DraftLine) -> None:
    try:
        line.rate = line_rate(
            customer=draft.customer,
            entity=draft.entity,
            product_tax_category=line.product_tax_category,
            rates=context.rates(line.product_tax_category),
        )
    except DomainError as error:
        line.rate = None
        line.source["tax_error"] = error.message


def fee_lines(
    context: BillingContext,
    draft: DraftInvoice,
    items: Sequence[SubscriptionItem],
    start: dt.datetime,
    end: dt.datetime,
    *,
    trial: bool = False,
) -> list[DraftLine]:
    """Licensed items billed in advance for ``[start, end)``: a stub first period pays its share."""
    subscription = draft.subscription
    assert subscription is not None
    factor = _stub_factor(subscription, start, end)
    lines = []
    for item in items:
        price = context.prices([item.price_id])[item.price_id]
        if price.usage_type == UsageType.METERED:
            continue
        breakdown = pricing.price_amount(context.spec(price), Decimal(item.quantity))
        amount = ZERO if trial else round_money(breakdown.total * factor, draft.currency)
        label = _label(price)
        description = label if price.pricing_model == "flat" or item.quantity == 1 else f"{item.quantity} × {label}"
        if trial:
            description = f"Free trial: {description}"
        elif factor != 1:
            description = f"{description} (first period, {factor * 100:.0f}% of a full period)"
        lines.append(
            _line(
                context,
                draft,
                price,
                kind=LineKind.FEE,
                description=description,
                quantity=Decimal(1) if price.pricing_model == "flat" else Decimal(item.quantity),
                unit_amount=ZERO if trial else _unit_amount(price),
                amount=amount,
                period_start=start,
                period_end=end,
                tiers=[] if trial or factor != 1 else tiers_json(breakdown),
                proration=factor != 1 and not trial,
            )
        )
    return lines


def usage_lines(
    context: BillingContext,
    draft: DraftInvoice,
    items: Sequence[SubscriptionItem],
    start: dt.datetime,
    end: dt.datetime,
) -> list[DraftLine]:
    """Metered items billed in arrears for ``[start, end)``, priced by the engine, tiers kept."""
    subscription = draft.subscription
    assert subscription is not None
    lines = []
    for item in items:
        price = context.prices([item.price_id])[item.price_id]
        if price.usage_type != UsageType.METERED:
            continue
        breakdown = context.usage_breakdown(subscription, price, start, end)
        metric = price.metric
        unit = f" {metric.unit_label}" if getattr(metric, "unit_label", "") else ""
        lines.append(
            _line(
                context,
                draft,
                price,
                kind=LineKind.USAGE,
                description=f"{_label(price)}: usage{unit}",
                quantity=breakdown.quantity,
                unit_amount=_unit_amount(price),
                amount=breakdown.total,
                period_start=start,
                period_end=end,
                tiers=tiers_json(breakdown),
                source={"metric": metric.code},
            )
        )
    return lines


def pending_lines(context: BillingContext, draft: DraftInvoice, pending: Sequence[PendingLine]) -> list[DraftLine]:
    lines = []
    for row in pending:
        price = context.prices([row.price_id])[row.price_id] if row.price_id else None
        values = {
            "quantity": row.quantity,
            "unit_amount": row.unit_amount,
            "amount": row.amount.amount,
            "period_start": row.period_start,
            "period_end": row.period_end,
            "proration": row.proration,
            "source": {"pending_line": row.pk},
        }
        if price is not None:
            lines.append(_line(context, draft, price, kind=LineKind.PRORATION, description=row.description, **values))
        else:
            line = DraftLine(kind=LineKind.PRORATION, description=row.description, **values)
            _set_rate(context, draft, line)
            lines.append(line)
    return lines


def late_usage_lines(
    context: BillingContext, draft: DraftInvoice, *, until: dt.datetime, since: dt.datetime | None
) -> list[DraftLine]:
    """Usage that arrived after its period was invoiced: recompute each period it fell in and bill the difference.

    Recompute-and-diff (never drop, never bill twice): the period's quantity is read again with the
    late events in it, priced, and what the earlier invoices already billed for that price and period
    (the usage line and any earlier late-usage lines) is subtracted.
    """
    subscription = draft.subscription
    assert subscription is not None
    events = UsageEvent.objects.filter(subscription=subscription, late=True, received_at__lte=until)
    if since is not None:
        events = events.filter(received_at__gt=since)
    stamps = list(events.values_list("metric_code", "timestamp"))
    if not stamps:
        return []
    billed = (
        InvoiceLine.objects.filter(
            invoice__subscription=subscription, kind__in=[LineKind.USAGE, LineKind.LATE_USAGE], price__isnull=False
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .values_list("price_id", "period_start", "period_end", "quantity", "amount")
    )
    windows: dict[tuple[int, dt.datetime, dt.datetime], list[Decimal]] = {}
    for price_id, start, end, quantity, amount in billed:
        total = windows.setdefault((price_id, start, end), [ZERO, ZERO])
        total[0] += quantity
        total[1] += amount
    prices = context.prices({key[0] for key in windows})
    hit: set[tuple[int, dt.datetime, dt.datetime]] = set()
    for code, moment in stamps:
        for key in windows:
            price = prices[key[0]]
            if price.metric is not None and price.metric.code == code and key[1] <= moment < key[2]:
                hit.add(key)
    lines = []
    for key in sorted(hit, key=lambda k: (k[1], k[0])):
        price = prices[key[0]]
        breakdown = context.usage_breakdown(subscription, price, key[1], key[2])
        quantity, amount = breakdown.quantity - windows[key][0], breakdown.total - windows[key][1]
        if not amount and not quantity:
            continue
        lines.append(
            _line(
                context,
                draft,
                price,
                kind=LineKind.LATE_USAGE,
                description=f"Late usage: {_label(price)} (arrived after its period was invoiced)",
                quantity=quantity,
                unit_amount=_unit_amount(price),
                amount=amount,
                period_start=key[1],
                period_end=key[2],
                source={"metric": price.metric.code},  # type: ignore[union-attr]
            )
        )
    return lines


def late_usage_since(subscription_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """Up to when each subscription's late usage was already billed."""
    return dict(
        Invoice.objects.filter(subscription_id__in=list(subscription_ids), late_usage_until__isnull=False)
        .exclude(status=InvoiceStatus.VOID)
        .values("subscription_id")
        .order_by()
        .annotate(until=Max("late_usage_until"))
        .values_list("subscription_id", "until")
    )


def invoiced_through(subscription_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """Registered with usage ingestion: events before this time are late (their period was invoiced)."""
    return dict(
        Invoice.objects.filter(subscription_id__in=list(subscription_ids), usage_through__isnull=False)
        .exclude(status=InvoiceStatus.VOID)
        .values("subscription_id")
        .order_by()
        .annotate(through=Max("usage_through"))
        .values_list("subscription_id", "through")
    )


def subscription_coupons(context: BillingContext, subscription: Subscription) -> list:
    if subscription.coupon_id is None:
        return []
    if subscription.coupon_periods_left is not None and subscription.coupon_periods_left <= 0:
        return []
    return [coupon_terms(context.coupon(subscription.coupon_id))]


def pending_for(subscription_ids: Iterable[int], *, kind: str, now: dt.datetime) -> dict[int, list[PendingLine]]:
    rows: dict[int, list[PendingLine]] = defaultdict(list)
    for row in PendingLine.objects.filter(
        subscription_id__in=list(subscription_ids), kind=kind, invoiced_at__isnull=True, created_at__lte=now
    ).order_by("subscription_id", "created_at", "id"):
        rows[row.subscription_id].append(row)
    return rows
