"""Reads of usage: a period's quantity per metric, the time-of-use split, a customer's usage so far.

Aggregation happens in the database. Sum, count and maximum of metrics without filters or a value
property read the hourly rollups for the whole UTC hours of the period and the events themselves for
the partial hours at its edges, so they are exact for any period boundary and cost a few hundred rows
whatever the number of events. Every other metric scans the period's events (one aggregate query).

Periods are half-open ``[start, end)``; usage belongs to the period that contains its timestamp.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DecimalField,
    Func,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.expressions import Combinable, F
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from billing_site.errors import DomainError
from catalog.domain import pricing
from catalog.models import Aggregation, BillableMetric, Price, UsageType
from catalog.services.prices import price_spec
from subscriptions.models import Customer, Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.models.usage import UsageEvent, UsageHourlyRollup

ROLLUP_AGGREGATIONS = frozenset({Aggregation.SUM, Aggregation.COUNT, Aggregation.MAX})
ENDED_STATUSES = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)
#: Sums and counts grow with time, so they are projected to the period's end; a maximum, a count of
#: distinct values or a last value is already what the period will most likely bill.
PROJECTED_AGGREGATIONS = frozenset({Aggregation.SUM, Aggregation.COUNT})
HOUR = dt.timedelta(hours=1)
_HOUR_US = 3600 * 1_000_000
_DAY_US = 24 * _HOUR_US
_ZERO = Decimal(0)
_SIX_PLACES = Decimal("0.000001")
_NUMBER = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$"
_VALUE_FIELD = DecimalField(max_digits=24, decimal_places=6)


# --- building blocks -------------------------------------------------------------------------


def rollup_covers(metric: BillableMetric) -> bool:
    """True when the hourly rollups hold what the metric counts: sum/count/max of the event value, unfiltered."""
    if metric.aggregation not in ROLLUP_AGGREGATIONS or metric.filters:
        return False
    return metric.aggregation == Aggregation.COUNT or not metric.property


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise DomainError("naive_datetime", f"The {name} must carry its time zone (for example 2026-01-01T00:00:00Z).")
    return moment.astimezone(dt.UTC)


def _period(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = _utc(start, "period start"), _utc(end, "period end")
    if end <= start:
        raise DomainError("invalid_period", "A period must end after it starts.", fields={"period_end": "Too early."})
    return start, end


def _floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: dt.datetime) -> dt.datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _whole_hours(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The whole UTC hours ``[first, last)`` inside ``[start, end)``, or None when there is none."""
    first, last = _ceil_hour(start), _floor_hour(end)
    return (first, last) if first < last else None


def _ranges_q(ranges: Iterable[tuple[dt.datetime, dt.datetime]], field: str = "timestamp") -> Q | None:
    """``field`` in any of the half-open ranges (adjacent ranges merged), or None when all are empty."""
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    query: Q | None = None
    for start, end in merged:
        part = Q(**{f"{field}__gte": start, f"{field}__lt": end})
        query = part if query is None else query | part
    return query


def _property_text(name: str) -> Combinable:
    """A property as text on every database (SQLite's JSON_EXTRACT would give 5 and "5" different types)."""
    return Cast(KeyTextTransform(name, "properties"), CharField())


def _value(metric: BillableMetric) -> Combinable:
    """The number an event contributes: its value, or the metric's property when it names one.

    A property that is not a number (stored before the metric read it) counts as missing, never as an error.
    """
    if not metric.property or metric.aggregation == Aggregation.COUNT:
        return F("value")
    text = KeyTextTransform(metric.property, "properties")
    return Case(
        When(Q(**{"_value_text__regex": _NUMBER}), then=Cast(text, _VALUE_FIELD)),
        default=None,
        output_field=_VALUE_FIELD,
    )


def _distinct_key(metric: BillableMetric) -> Combinable:
    return _property_text(metric.property) if metric.property else F("value")


def _events(
    *, customer: Customer, metric: BillableMetric, subscription: Subscription | None = None
) -> QuerySet[UsageEvent]:
    """The customer's events of the metric that its property filters let through."""
    events = UsageEvent.objects.filter(customer=customer, metric_code=metric.code)
    if subscription is not None:
        events = events.filter(subscription=subscription)
    if metric.property and metric.aggregation != Aggregation.COUNT:
        events = events.alias(_value_text=KeyTextTransform(metric.property, "properties"))
    for number, (name, allowed) in enumerate(sorted((metric.filters or {}).items())):
        alias = f"_filter_{number}"
        events = events.alias(**{alias: _property_text(name)}).filter(**{f"{alias}__in": [str(v) for v in allowed]})
    return events


def _as_decimal(value: object) -> Decimal:
    if value is None:
        return _ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


# --- quantity of a period --------------------------------------------------------------------


def _raw_quantity(
    *, customer: Customer, metric: BillableMetric, start: dt.datetime, end: dt.datetime, subscription
) -> Decimal:
    events = _events(customer=customer, metric=metric, subscription=subscription)
    aggregation = metric.aggregation
    if aggregation == Aggregation.LAST_EVER:
        events = events.filter(timestamp__lt=end)
    else:
        events = events.filter(timestamp__gte=start, timestamp__lt=end)
    if aggregation in (Aggregation.LAST_IN_PERIOD, Aggregation.LAST_EVER):
        latest = events.annotate(v=_value(metric)).order_by("-timestamp", "-id").values_list("v", flat=True)[:1]
        return _as_decimal(next(iter(latest), None))
    if aggregation == Aggregation.COUNT:
        return Decimal(events.count())
    if aggregation == Aggregation.UNIQUE_COUNT:
        return Decimal(events.aggregate(n=Count(_distinct_key(metric), distinct=True))["n"])
    total = events.aggregate(v=Max(_value(metric)) if aggregation == Aggregation.MAX else Sum(_value(metric)))["v"]
    return _as_decimal(total)


def _rolled_totals(
    *, customer: Customer, codes: Sequence[str], start: dt.datetime, end: dt.datetime, subscription
) -> dict[str, tuple[Decimal, int, Decimal]]:
    """(sum, count, max) per metric code: rollups for the whole hours, events for the partial ones."""
    totals: dict[str, list] = {code: [_ZERO, 0, _ZERO] for code in codes}

    def add(code: str, value_sum: Any, count: Any, value_max: Any) -> None:
        total = totals[code]
        total[0] += _as_decimal(value_sum)
        total[1] += int(count or 0)
        total[2] = max(total[2], _as_decimal(value_max))

    hours = _whole_hours(start, end)
    if hours is None:
        edges = _ranges_q([(start, end)])
    else:
        first, last = hours
        rollups = UsageHourlyRollup.objects.filter(
            customer=customer, metric_code__in=codes, hour__gte=first, hour__lt=last
        )
        if subscription is not None:
            rollups = rollups.filter(subscription_key=subscription.pk)
        for row in (
            rollups.values("metric_code")
            .order_by()
            .annotate(s=Sum("value_sum"), n=Sum("event_count"), m=Max("value_max"))
            .values_list("metric_code", "s", "n", "m")
        ):
            add(*row)
        edges = _ranges_q([(start, first), (last, end)])
    if edges is not None:
        events = UsageEvent.objects.filter(edges, customer=customer, metric_code__in=codes)
        if subscription is not None:
            events = events.filter(subscription=subscription)
        for row in (
            events.values("metric_code")
            .order_by()
            .annotate(s=Sum("value"), n=Count("id"), m=Max("value"))
            .values_list("metric_code", "s", "n", "m")
        ):
            add(*row)
    return {code: (total[0], total[1], total[2]) for code, total in totals.items()}


def usage_quantities(
    *,
    customer: Customer,
    metrics: Iterable[BillableMetric],
    period_start: dt.datetime,
    period_end: dt.datetime,
    subscription: Subscription | None = None,
) -> dict[str, Decimal]:
    """The quantity of each metric in ``[period_start, period_end)``, by metric code.

    Metrics the rollups cover share two queries (rollups, edge hours); each other metric takes one.
    ``subscription`` limits the count to the events attributed to that subscription.
    """
    start, end = _period(period_start, period_end)
    metrics = list(metrics)
    rolled = [m for m in metrics if rollup_covers(m)]
    quantities: dict[str, Decimal] = {}
    if rolled:
        totals = _rolled_totals(
            customer=customer, codes=[m.code for m in rolled], start=start, end=end, subscription=subscription
        )
        for metric in rolled:
            value_sum, count, value_max = totals[metric.code]
            quantities[metric.code] = {
                Aggregation.SUM: value_sum,
                Aggregation.COUNT: Decimal(count),
                Aggregation.MAX: value_max,
            }[Aggregation(metric.aggregation)]
    for metric in metrics:
        if metric.code not in quantities:
            quantities[metric.code] = _raw_quantity(
                customer=customer, metric=metric, start=start, end=end, subscription=subscription
            )
    return quantities


def usage_quantity(
    *,
    customer: Customer,
    metric: BillableMetric,
    period_start: dt.datetime,
    period_end: dt.datetime,
    subscription: Subscription | None = None,
) -> Decimal:
    """How much of ``metric`` the customer used in ``[period_start, period_end)``, as its aggregation says.

    sum, count, max: of the event value (or of ``properties[metric.property]``); unique_count: distinct
    values of the property (or of the value); last_in_period: the value of the period's latest event;
    last_ever: of the latest event before the period's end, whatever its period. Property filters
    (``{"region": ["eu-west"]}``) compare the property's text. No usage is 0.
    """
    return usage_quantities(
        customer=customer,
        metrics=[metric],
        period_start=period_start,
        period_end=period_end,
        subscription=subscription,
    )[metric.code]


def usage_totals_for_subscriptions(
    *, periods: Iterable[tuple[int, int, dt.datetime, dt.datetime]], codes: Sequence[str]
) -> dict[tuple[int, str], tuple[Decimal, int, Decimal]]:
    """(sum, count, max) per (subscription id, metric code) over each subscription's own period.

    For the billing run: ``periods`` is ``[(subscription_id, start, end)]`` for a batch of
    subscriptions. Subscriptions sharing a period are read together, two queries per distinct
    period (rollups for the whole hours, events for the partial ones at the edges), instead of two
    per subscription. Only for metrics the rollups cover (``rollup_covers``); no usage is absent.
    """
    totals: dict[tuple[int, str], list] = {}

    def add(key: tuple[int, str], value_sum: Any, count: Any, value_max: Any) -> None:
        total = totals.setdefault(key, [_ZERO, 0, _ZERO])
        total[0] += _as_decimal(value_sum)
        total[1] += int(count or 0)
        total[2] = max(total[2], _as_decimal(value_max))

    groups: dict[tuple[dt.datetime, dt.datetime], list[tuple[int, int]]] = defaultdict(list)
    for customer_id, subscription_id, start, end in periods:
        groups[_period(start, end)].append((customer_id, subscription_id))
    for (start, end), pairs in groups.items():
        customers, ids = sorted({c for c, _ in pairs}), sorted({s for _, s in pairs})
        hours = _whole_hours(start, end)
        if hours is None:
            edges = _ranges_q([(start, end)])
        else:
            first, last = hours
            for row in (
                UsageHourlyRollup.objects.filter(
                    customer_id__in=customers,
                    subscription_key__in=ids,
                    metric_code__in=codes,
                    hour__gte=first,
                    hour__lt=last,
                )
                .values("subscription_key", "metric_code")
                .order_by()
                .annotate(s=Sum("value_sum"), n=Sum("event_count"), m=Max("value_max"))
                .values_list("subscription_key", "metric_code", "s", "n", "m")
            ):
                add((row[0], row[1]), *row[2:])
            edges = _ranges_q([(start, first), (last, end)])
        if edges is not None:
            for row in (
                UsageEvent.objects.filter(
                    edges, customer_id__in=customers, subscription_id__in=ids, metric_code__in=codes
                )
                .values("subscription_id", "metric_code")
                .order_by()
                .annotate(s=Sum("value"), n=Count("id"), m=Max("value"))
                .values_list("subscription_id", "metric_code", "s", "n", "m")
            ):
                add((row[0], row[1]), *row[2:])
    return {key: (t[0], t[1], t[2]) for key, t in totals.items()}


def aggregate_total(metric: BillableMetric, total: tuple[Decimal, int, Decimal] | None) -> Decimal:
    """A rolled-up metric's quantity from (sum, count, max)."""
    if total is None:
        return _ZERO
    return {
        Aggregation.SUM: total[0],
        Aggregation.COUNT: Decimal(total[1]),
        Aggregation.MAX: total[2],
    }[Aggregation(metric.aggregation)]


# --- time of use -----------------------------------------------------------------------------


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _EpochSeconds(Func):
    """Seconds since 1970 of a UTC datetime column, on PostgreSQL and SQLite."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)", **extra_context
        )


def _microseconds(moment: dt.time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


@functools.lru_cache(maxsize=65_536)
def _hour_window(hour: dt.datetime, spec: pricing.PriceSpec, zone: ZoneInfo) -> str | None:
    """The rate of a whole UTC hour when all of it falls in one rate (None: a boundary or a clock change cuts it).

    Cached: the same hours of the same prices are asked for every time a period's usage is read.
    """
    start, end = hour.astimezone(zone), (hour + HOUR).astimezone(zone)
    if start.utcoffset() != end.utcoffset():
        return None
    first = _microseconds(start.time())
    for window in spec.rate_windows:
        for boundary in (_microseconds(window.start), _microseconds(window.end)):
            if first < boundary < first + _HOUR_US or first < boundary + _DAY_US < first + _HOUR_US:
                return None
    return pricing.rate_window_for(spec, start.time()) or spec.base_rate_name


class _Bucket:
    __slots__ = ("count", "keys", "maximum", "total")

    def __init__(self) -> None:
        self.total, self.count, self.maximum = _ZERO, 0, _ZERO
        self.keys: set[object] = set()

    def add(self, value_sum: Any, count: Any, value_max: Any) -> None:
        self.total += _as_decimal(value_sum)
        self.count += int(count or 0)
        self.maximum = max(self.maximum, _as_decimal(value_max))

    def quantity(self, aggregation: str) -> Decimal:
        if aggregation == Aggregation.COUNT:
            return Decimal(self.count)
        if aggregation == Aggregation.MAX:
            return self.maximum
        if aggregation == Aggregation.UNIQUE_COUNT:
            return Decimal(len(self.keys))
        return self.total


def usage_quantities_by_window(
    *,
    customer: Customer,
    metric: BillableMetric,
    price: Price,
    period_start: dt.datetime,
    period_end: dt.datetime,
    subscription: Subscription | None = None,
) -> dict[str, Decimal]:
    """The period's quantity split by the price's time-of-use rates, read in the event's local time.

    ``{"peak": …, "off-peak": …}`` (every rate present, 0 when unused), ready for ``time_of_use_amount``.
    Rolled-up metrics read whole hours that fall in one rate from the rollups (with Europe/Amsterdam and
    windows on the hour: all of them) and only the rest event by event. Other metrics are classified
    event by event in Python: that reads every event of the period, about a second per million events.
    A last value goes whole to the rate of the moment it was measured.
    """
    start, end = _period(period_start, period_end)
    spec = price_spec(price)
    zone = ZoneInfo(price.time_zone)
    buckets = {name: _Bucket() for name in [w.name for w in spec.rate_windows] + [spec.base_rate_name]}

    def rate_at(moment: dt.datetime) -> str:
        return pricing.rate_window_for(spec, moment.astimezone(zone).time()) or spec.base_rate_name

    aggregation = metric.aggregation
    events = _events(customer=customer, metric=metric, subscription=subscription)
    if aggregation in (Aggregation.LAST_IN_PERIOD, Aggregation.LAST_EVER):
        scope = events.filter(timestamp__lt=end)
        if aggregation == Aggregation.LAST_IN_PERIOD:
            scope = scope.filter(timestamp__gte=start)
        latest = scope.annotate(v=_value(metric)).order_by("-timestamp", "-id").values_list("timestamp", "v")[:1]
        for timestamp, value in latest:
            buckets[rate_at(timestamp)].total = _as_decimal(value)
        return {name: bucket.total for name, bucket in buckets.items()}

    raw_ranges: list[tuple[dt.datetime, dt.datetime]] = [(start, end)]
    if rollup_covers(metric):
        hours = _whole_hours(start, end)
        if hours is not None:
            first, last = hours
            raw_ranges = [(start, first), (last, end)]
            rollups = UsageHourlyRollup.objects.filter(
                customer=customer, metric_code=metric.code, hour__gte=first, hour__lt=last
            )
            if subscription is not None:
                rollups = rollups.filter(subscription_key=subscription.pk)
            # The hour as a number: loading hundreds of timezone-aware datetimes costs more than the query.
            for epoch, value_sum, count, value_max in (
                rollups.values("hour")
                .order_by()
                .annotate(epoch=_EpochSeconds("hour"), s=Sum("value_sum"), n=Sum("event_count"), m=Max("value_max"))
                .values_list("epoch", "s", "n", "m")
            ):
                hour = _EPOCH + dt.timedelta(seconds=int(epoch))
                rate = _hour_window(hour, spec, zone)
                if rate is None:
                    raw_ranges.append((hour, hour + HOUR))
                else:
                    buckets[rate].add(value_sum, count, value_max)
    in_ranges = _ranges_q(raw_ranges)
    if in_ranges is not None:
        if aggregation == Aggregation.UNIQUE_COUNT:
            keys = events.filter(in_ranges).annotate(k=_distinct_key(metric)).values_list("timestamp", "k")
            for timestamp, key in keys.iterator(chunk_size=10_000):
                if key is not None:
                    buckets[rate_at(timestamp)].keys.add(key)
        else:
            rows = events.filter(in_ranges).annotate(v=_value(metric)).values_list("timestamp", "v")
            for timestamp, value in rows.iterator(chunk_size=10_000):
                if value is not None:
                    buckets[rate_at(timestamp)].add(value, 1, value)
    return {name: bucket.quantity(aggregation) for name, bucket in buckets.items()}


# --- a customer's usage so far ---------------------------------------------------------------


@dataclass(frozen=True)
class MetricUsage:
    """One metric in one period: the quantity, what it costs so far, and where it is heading."""

    metric: BillableMetric
    subscription_id: int | None
    price: Price | None
    period_start: dt.datetime
    period_end: dt.datetime
    quantity: Decimal
    amount: pricing.PriceBreakdown | None
    forecast_quantity: Decimal
    forecast_amount: pricing.PriceBreakdown | None
    #: Time-of-use prices: the quantity (and forecast) per rate.
    windows: dict[str, Decimal] | None = None
    forecast_windows: dict[str, Decimal] | None = None


@dataclass(frozen=True)
class CustomerUsage:
    customer: Customer
    as_of: dt.datetime
    metrics: list[MetricUsage]


def calendar_month(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The UTC calendar month containing ``now``: the period of usage outside any subscription."""
    start = _utc(now, "time").replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _project(quantity: Decimal, *, aggregation: str, elapsed: dt.timedelta, length: dt.timedelta) -> Decimal:
    """Linear projection of a sum or count to the period's end; anything else stays as it is."""
    if aggregation not in PROJECTED_AGGREGATIONS or elapsed <= dt.timedelta(0) or elapsed >= length:
        return quantity
    ratio = Decimal(length // dt.timedelta(microseconds=1)) / Decimal(elapsed // dt.timedelta(microseconds=1))
    return (quantity * ratio).quantize(_SIX_PLACES, rounding=ROUND_HALF_UP)


def _price(spec: pricing.PriceSpec, quantity: Decimal, windows: dict[str, Decimal] | None) -> pricing.PriceBreakdown:
    if windows is not None:
        return pricing.time_of_use_amount(spec, windows)
    return pricing.price_amount(spec, quantity)


@dataclass
class _Line:
    metric: BillableMetric
    subscription: Subscription | None
    price: Price | None
    start: dt.datetime
    end: dt.datetime


def _live_subscriptions(customer: Customer) -> list[Subscription]:
    metered = (
        SubscriptionItem.objects.filter(price__usage_type=UsageType.METERED)
        .select_related("price__metric")
        .prefetch_related("price__tiers", "price__rate_windows")
        .order_by("id")
    )
    return list(
        Subscription.objects.filter(customer=customer)
        .exclude(status__in=ENDED_STATUSES)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("items", queryset=metered, to_attr="metered_items"))
    )


def _lines(customer: Customer, now: dt.datetime, period: tuple[dt.datetime, dt.datetime] | None) -> list[_Line]:
    subscriptions = _live_subscriptions(customer)
    lines = [
        _Line(item.price.metric, subscription, item.price, *(period or (
            subscription.current_period_start, subscription.current_period_end)))
        for subscription in subscriptions
        for item in subscription.metered_items  # type: ignore[attr-defined]
    ]  # fmt: skip
    if period is not None:
        start, end = period
    elif subscriptions:
        start, end = subscriptions[0].current_period_start, subscriptions[0].current_period_end
    else:
        start, end = calendar_month(now)
    billed = {line.metric.code for line in lines}
    unbilled_codes = (
        UsageHourlyRollup.objects.filter(customer=customer, hour__gte=_floor_hour(_utc(start, "start")), hour__lt=end)
        .exclude(metric_code__in=billed)
        .order_by()
        .values_list("metric_code", flat=True)
        .distinct()
    )
    codes = set(unbilled_codes)
    if codes:
        for metric in BillableMetric.objects.filter(code__in=codes).order_by("code"):
            lines.append(_Line(metric, None, None, start, end))
    return lines


def customer_usage_summary(
    *, customer: Customer, now: dt.datetime, period: tuple[dt.datetime, dt.datetime] | None = None
) -> CustomerUsage:
    """Per metric: the quantity used in the period, its amount so far and a forecast to the period's end.

    Default period: the current period of each live subscription that bills the metric; usage of
    metrics no subscription bills is read over the first live subscription's period, or the UTC
    calendar month. Amounts come from the pricing engine with the subscription's metered price
    (time-of-use prices with the usage split per rate). The forecast projects sums and counts
    linearly from the elapsed part of the period (other aggregations stay as they are) and prices
    the projected quantity. Used by the API, the portal and the customer's admin page.
    """
    now = _utc(now, "time")
    if period is not None:
        period = _period(*period)
    lines = _lines(customer, now, period)

    quantities: dict[int, Decimal] = {}
    windows: dict[int, dict[str, Decimal]] = {}
    groups: dict[tuple[int | None, dt.datetime, dt.datetime], list[int]] = defaultdict(list)
    for number, line in enumerate(lines):
        if line.price is not None and line.price.rate_windows.all():
            windows[number] = usage_quantities_by_window(
                customer=customer,
                metric=line.metric,
                price=line.price,
                period_start=line.start,
                period_end=line.end,
                subscription=line.subscription,
            )
            quantities[number] = sum(windows[number].values(), _ZERO)
        else:
            groups[(line.subscription.pk if line.subscription else None, line.start, line.end)].append(number)
    for numbers in groups.values():
        first = lines[numbers[0]]
        found = usage_quantities(
            customer=customer,
            metrics={lines[n].metric.code: lines[n].metric for n in numbers}.values(),
            period_start=first.start,
            period_end=first.end,
            subscription=first.subscription,
        )
        for number in numbers:
            quantities[number] = found[lines[number].metric.code]

    usages = []
    for number, line in enumerate(lines):
        elapsed, length = now - line.start, line.end - line.start
        aggregation = line.metric.aggregation
        quantity, split = quantities[number], windows.get(number)
        forecast = _project(quantity, aggregation=aggregation, elapsed=elapsed, length=length)
        forecast_split = (
            {name: _project(q, aggregation=aggregation, elapsed=elapsed, length=length) for name, q in split.items()}
            if split is not None
            else None
        )
        amount = forecast_amount = None
        if line.price is not None:
            spec = price_spec(line.price)
            amount = _price(spec, quantity, split)
            forecast_amount = _price(spec, forecast, forecast_split)
        usages.append(
            MetricUsage(
                metric=line.metric,
                subscription_id=line.subscription.pk if line.subscription else None,
                price=line.price,
                period_start=line.start,
                period_end=line.end,
                quantity=quantity,
                amount=amount,
                forecast_quantity=sum(forecast_split.values(), _ZERO) if forecast_split is not None else forecast,
                forecast_amount=forecast_amount,
                windows=split,
                forecast_windows=forecast_split,
            )
        )
    return CustomerUsage(customer=customer, as_of=now, metrics=usages)


# --- late usage ------------------------------------------------------------------------------


def usage_events_late(*, subscription: Subscription, received_after: dt.datetime | None = None) -> QuerySet[UsageEvent]:
    """Late usage of a subscription not billed yet: for the next invoice's late-usage lines.

    The hook for invoicing: it registers ``register_invoiced_through`` (services/usage.py) so that
    ingestion flags an event ``late`` when its period was already invoiced, and passes the time its
    previous invoice was made as ``received_after``: what arrived since is what that invoice could not
    bill. (A partial index keeps this cheap whatever the table's size.)
    """
    events = UsageEvent.objects.filter(subscription=subscription, late=True)
    if received_after is not None:
        events = events.filter(received_at__gt=received_after)
    return events.order_by("received_at", "id")
