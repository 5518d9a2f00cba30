"""Usage metering: ingest usage events in batches, keep the hourly rollups, set and check usage alerts.

Ingestion is built for throughput (tens of thousands of events a second) without giving up a rule:

* the batch is validated in plain Python (``_Checker.check``, a few microseconds an event), with one
  query for its customers, one for its metrics and one for the subscriptions that bill them;
* the accepted events are written with ONE statement that also learns which were duplicates
  (``INSERT … ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING``) and, on PostgreSQL,
  adds them to the hourly rollups in the same statement; on SQLite the rollups take a second one;
* everything happens in one transaction: accepted events are never lost, a rejected event never
  blocks the others, and the first event with a key stands however often a batch is replayed.

Rows are written in (customer, key) order and rollups in (customer, metric, hour) order, so that two
batches sharing keys or hours wait for each other instead of deadlocking.

Late usage (an event whose period was already invoiced) is flagged ``late`` when it is stored. Until
invoicing registers a resolver with ``register_invoiced_through`` nothing is invoiced, so nothing is
late; see ``subscriptions.selectors.usage.usage_events_late`` for how the next invoice finds it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple, NoReturn

from django.core.mail import send_mail
from django.db import connection, models, transaction

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from catalog.models import Aggregation, BillableMetric, Price, UsageType
from subscriptions.models import Customer, Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.models.usage import UsageAlert, UsageAlertCrossing, UsageEvent, UsageHourlyRollup

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_BATCH = 1000
#: Clocks drift: an event may be stamped up to this far ahead of the customer's clock.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
VALUE_DECIMAL_PLACES = 6
VALUE_INTEGER_DIGITS = 18
IDEMPOTENCY_KEY_MAX_LENGTH = 200
EVENT_FIELDS = frozenset(
    {"customer", "customer_external_id", "metric", "value", "timestamp", "idempotency_key", "properties"}
)
#: Subscriptions that no longer bill anything.
ENDED_STATUSES = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)
_BIGINT_MAX = 2**63 - 1
_PLAIN_DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")
#: What most values look like, and need no further check: at most 18 digits before the point and 6 after.
_SIMPLE_VALUE = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,6})?")
_ONE = Decimal(1)


class EventStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class EventResult(NamedTuple):
    """What happened to the event at ``position`` in the batch ("index" in the API).

    ``code`` and ``message`` say why it was rejected. A named tuple: a thousand of them are made per
    request, and a frozen dataclass is several times slower to build.
    """

    position: int
    idempotency_key: str | None
    status: EventStatus
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.position,
            "idempotency_key": self.idempotency_key,
            "status": self.status,  # a str: EventStatus.value is a slow descriptor, 1,000 times a request
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class IngestResult:
    results: list[EventResult]
    accepted: int
    duplicates: int
    rejected: int
    #: Customers with at least one accepted event in this batch.
    customer_ids: frozenset[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [result.as_dict() for result in self.results],
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


# --- late usage hook -----------------------------------------------------------------------

#: Maps subscription ids to the end of their last invoiced period (absent: nothing invoiced yet).
InvoicedThroughResolver = Callable[[Collection[int]], Mapping[int, dt.datetime]]
_invoiced_through: list[InvoicedThroughResolver] = []


def register_invoiced_through(resolver: InvoicedThroughResolver) -> None:
    """Invoicing plugs in here: events stamped before their subscription's invoiced-through time are late."""
    if resolver not in _invoiced_through:
        _invoiced_through.append(resolver)


def _invoiced_through_for(subscription_ids: Collection[int]) -> dict[int, dt.datetime]:
    through: dict[int, dt.datetime] = {}
    if not subscription_ids:
        return through
    for resolver in _invoiced_through:
        for subscription_id, moment in resolver(subscription_ids).items():
            if subscription_id not in through or moment > through[subscription_id]:
                through[subscription_id] = moment
    return through


# --- the batch -----------------------------------------------------------------------------


def usage_batch_events(body: object) -> list[object]:
    """The events of a request body: one event object, or ``{"events": [...]}`` with 1 to 1,000 events."""
    if isinstance(body, dict) and "events" in body:
        unknown = sorted(set(body) - {"events"})
        if unknown:
            raise DomainError(
                "invalid_batch",
                f"A batch holds only “events”; remove {', '.join(unknown)} or put it inside each event.",
                fields={name: "Unknown field." for name in unknown},
            )
        events = body["events"]
        if not isinstance(events, list):
            raise DomainError(
                "invalid_batch", "“events” must be a list of event objects.", fields={"events": "Must be a list."}
            )
        if not events:
            raise DomainError(
                "empty_batch", "The batch has no events: send at least one.", fields={"events": "Empty list."}
            )
        if len(events) > MAX_EVENTS_PER_BATCH:
            message = (
                f"A batch can hold at most {MAX_EVENTS_PER_BATCH:,} events and this one has {len(events):,}. "
                "Split it into smaller batches; nothing of this one was stored."
            )
            raise DomainError("too_many_events", message, fields={"events": message})
        return events
    if isinstance(body, dict):
        return [body]
    raise DomainError("invalid_batch", 'Send one event object, or {"events": [...]} with up to 1,000 events.')


class _Rejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class _Row:
    """An event that passed every check, ready to be written."""

    index: int
    customer_id: int
    subscription_id: int | None
    metric_code: str
    value: Decimal
    properties: dict
    timestamp: dt.datetime
    key: str
    received_at: dt.datetime
    late: bool = False


@dataclass(frozen=True, slots=True)
class _Customer:
    id: int
    now: dt.datetime
    #: Events stamped after this are in the future.
    latest: dt.datetime
    has_alerts: bool


@dataclass(frozen=True, slots=True)
class _Metric:
    code: str
    aggregation: str
    property: str
    active: bool


def _storable(text: str) -> bool:
    """Both databases take the text: no NUL character, valid Unicode (no lone surrogate from a JSON escape)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable_json(value: object) -> bool:
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, dict):
        return all(_storable(str(k)) and _storable_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable_json(v) for v in value)
    return True


def _number(raw: object, *, what: str, code: str) -> Decimal:
    """A usage value: a number or decimal string, finite, not negative, at most 6 decimals."""
    if type(raw) is str and _SIMPLE_VALUE.fullmatch(raw):
        return Decimal(raw)
    if isinstance(raw, bool):
        raise _Rejected(code, f"{what} must be a number such as 12.5, not true or false.")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, str) and _PLAIN_DECIMAL.fullmatch(raw):
        value = Decimal(raw.strip())
    elif isinstance(raw, float):  # only when a caller parsed JSON with floats; the API parses Decimals
        value = Decimal(repr(raw))
    else:
        raise _Rejected(code, f'{what} must be a number such as 12.5 (or the same as a string: "12.5").')
    if not value.is_finite():
        raise _Rejected(code, f"{what} must be a number such as 12.5.")
    if value < 0:
        raise _Rejected("negative_value", f"{what} must not be negative.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -VALUE_DECIMAL_PLACES:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -VALUE_DECIMAL_PLACES:
            raise _Rejected(
                "too_many_decimals", f"{what} has too many decimal places: use at most {VALUE_DECIMAL_PLACES}."
            )
    if value and value.adjusted() >= VALUE_INTEGER_DIGITS:
        raise _Rejected(
            "value_too_large", f"{what} is too large: at most {VALUE_INTEGER_DIGITS} digits before the point."
        )
    return value


def _from_iso(text: str) -> dt.datetime:
    """``datetime.fromisoformat`` that refuses a time without a zone (``astimezone`` would guess one)."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def _timestamp(raw: object) -> dt.datetime:
    if raw is None or raw == "":
        raise _Rejected("timestamp_required", "Say when it happened: “timestamp”, e.g. 2026-01-15T09:30:00Z.")
    if not isinstance(raw, str):
        raise _Rejected("invalid_timestamp", "“timestamp” must be an ISO 8601 text such as 2026-01-15T09:30:00Z.")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _Rejected(
            "invalid_timestamp", f"“{raw[:40]}” is not an ISO 8601 time such as 2026-01-15T09:30:00Z."
        ) from None
    if moment.tzinfo is None:
        raise _Rejected(
            "invalid_timestamp", f"“{raw[:40]}” has no time zone: add “Z” for UTC or an offset such as +01:00."
        )
    return moment.astimezone(dt.UTC)


def _json_number(value: object) -> object:
    """Decimals in properties are written as JSON numbers: exactly when a float holds them, else as text.

    Not money: event properties (a customer's own data). A decimal of at most 15 significant digits
    survives a double exactly (repr gives back the same digits), so the stored JSON text is the
    number that was sent; longer ones are kept as text rather than rounded.
    """
    if isinstance(value, Decimal):
        if value.is_finite() and len(value.as_tuple().digits) <= 15:
            return float(value)  # exact, see above
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_to_json = json.JSONEncoder(default=_json_number, separators=(",", ":"), ensure_ascii=False).encode


def _references(events: Sequence[object]) -> tuple[set[int], set[str], set[str]]:
    """First pass: the customer ids, CRM ids and metric codes the batch names (what the look-ups need)."""
    ids: set[int] = set()
    external_ids: set[str] = set()
    codes: set[str] = set()
    for raw in events:
        if type(raw) is not dict:
            continue
        customer = raw.get("customer")
        if type(customer) is int:
            ids.add(customer)
        elif type(customer) is str:
            external_ids.add(customer)
        external_id = raw.get("customer_external_id")
        if type(external_id) is str:
            external_ids.add(external_id)
        metric = raw.get("metric")
        if type(metric) is str:
            codes.add(metric)
    ids = {pk for pk in ids if 0 < pk <= _BIGINT_MAX}
    external_ids = {x for x in external_ids if x and len(x) <= 100 and _storable(x)}
    codes = {code for code in codes if code and len(code) <= 100 and _storable(code)}
    return ids, external_ids, codes


# The three look-ups of a batch are plain SQL: the ORM spent more time building them than the database
# took to answer (a tenth of a batch's time, measured with ``make bench``).


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _placeholders(values: Collection[object]) -> str:
    return ", ".join(["%s"] * len(values))


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run one of the batch's statements and return its rows.

    On PostgreSQL the statement is bound on the server and prepared once per connection: Django's
    client-side binding would put a 200 KB batch into the SQL text and have it planned again for every
    batch (about 5 ms each time); prepared, the arrays are parameters and the plan is reused.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def _in(column: str, values: Collection[int] | Collection[str], kind: str) -> tuple[str, list[object]]:
    """``column IN (values)`` as SQL and parameters: one array parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        literal = _array(values) if kind == "bigint" else _text_array(values)  # type: ignore[arg-type]
        return f"{column} = ANY(%s::{kind}[])", [literal]
    return f"{column} IN ({_placeholders(values)})", list(values)


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """A datetime read with plain SQL: SQLite gives the stored UTC time without its zone."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _load_customers(
    ids: set[int], external_ids: set[str], now: dt.datetime
) -> tuple[dict[int, _Customer], dict[str, int]]:
    """The batch's customers by id and by CRM id: one query."""
    if not ids and not external_ids:
        return {}, {}
    where, params = [], []
    for column, values, kind in (("c.id", ids, "bigint"), ("c.external_id", external_ids, "varchar")):
        if values:
            condition, values_params = _in(column, values, kind)
            where.append(condition)
            params += values_params
    sql = (
        "SELECT c.id, c.external_id, c.test_clock_id, EXISTS ("  # noqa: S608 - our table names; values are parameters
        f"SELECT 1 FROM {_table(UsageAlert)} a WHERE a.customer_id = c.id AND a.active) "
        f"FROM {_table(Customer)} c WHERE {' OR '.join(where)}"
    )
    by_id: dict[int, _Customer] = {}
    by_external_id: dict[str, int] = {}
    for pk, external_id, test_clock_id, has_alerts in _fetch(sql, params):
        # Test customers live in their test clock's time; everyone else in the request's.
        customer_now = now if test_clock_id is None else clock.now(Customer(pk=pk, test_clock_id=test_clock_id))
        by_id[pk] = _Customer(pk, customer_now, customer_now + FUTURE_TOLERANCE, bool(has_alerts))
        if external_id:
            by_external_id[external_id] = pk
    return by_id, by_external_id


def _load_metrics(codes: set[str]) -> dict[str, _Metric]:
    if not codes:
        return {}
    condition, params = _in("code", codes, "varchar")
    sql = f"SELECT code, aggregation, property, active FROM {_table(BillableMetric)} WHERE {condition}"  # noqa: S608
    return {row[0]: _Metric(row[0], row[1], row[2], bool(row[3])) for row in _fetch(sql, params)}


#: (customer, metric) → (subscription, start, end) of the subscriptions billing it, newest first; start and
#: end are None when the subscription covers the whole batch (reading thousands of datetimes costs more
#: than the query).
_Billing = dict[tuple[int, str], list[tuple[int, dt.datetime | None, dt.datetime | None]]]


def _load_billing_subscriptions(
    customer_ids: Collection[int], codes: Collection[str], earliest: dt.datetime, latest: dt.datetime
) -> _Billing:
    """The subscriptions with a metered item for the batch's metrics: live ones, and ended ones with their end.

    ``earliest`` and ``latest`` are the batch's first and last timestamps: a subscription started by the
    first and not ended by the last bills every event of the batch, and its dates are not even read.
    """
    if not customer_ids or not codes:
        return {}
    ended = _placeholders(ENDED_STATUSES)
    is_ended = f"s.status IN ({ended})"
    customers_in, customer_params = _in("s.customer_id", customer_ids, "bigint")
    codes_in, code_params = _in("m.code", codes, "varchar")
    covers = f"(s.created_at <= %s AND NOT ({is_ended} AND s.ended_at <= %s))"
    sql = (
        f"SELECT s.customer_id, m.code, s.id, CASE WHEN {covers} THEN NULL ELSE s.created_at END, "  # noqa: S608
        f"CASE WHEN {covers} OR NOT {is_ended} THEN NULL ELSE s.ended_at END "
        f"FROM {_table(SubscriptionItem)} i "
        f"JOIN {_table(Subscription)} s ON s.id = i.subscription_id "
        f"JOIN {_table(Price)} p ON p.id = i.price_id "
        f"JOIN {_table(BillableMetric)} m ON m.id = p.metric_id "
        f"WHERE {customers_in} AND {codes_in} "
        f"AND p.usage_type = %s AND (NOT {is_ended} OR s.ended_at IS NOT NULL) "
        "ORDER BY s.created_at DESC, s.id DESC"
    )
    ops = connection.ops
    first, last = ops.adapt_datetimefield_value(earliest), ops.adapt_datetimefield_value(latest)
    statuses = [status.value for status in ENDED_STATUSES]
    params: list[Any] = [first, *statuses, last, first, *statuses, last, *statuses]
    params += [*customer_params, *code_params, UsageType.METERED.value, *statuses]
    billing: _Billing = defaultdict(list)
    for customer_id, code, subscription_id, started_at, ended_at in _fetch(sql, params):
        billing[(customer_id, code)].append((subscription_id, _aware(started_at), _aware(ended_at)))
    return billing


def _subscription_for(
    options: list[tuple[int, dt.datetime | None, dt.datetime | None]], timestamp: dt.datetime
) -> int | None:
    """The newest subscription that billed the metric at that moment: started by then and not ended yet."""
    for subscription_id, started_at, ended_at in options:
        if started_at is None:  # it covers the whole batch
            return subscription_id
        if started_at <= timestamp and (ended_at is None or timestamp < ended_at):
            return subscription_id
    return None


class _Checker:
    """Every rule an event must follow, in plain Python, with the batch's look-ups at hand.

    ``check`` returns the row to write or raises ``_Rejected`` with the first rule broken. The common
    case (well-formed event, known customer and metric) takes a few microseconds: it is run a
    thousand times per request.
    """

    def __init__(
        self,
        customers: Mapping[int, _Customer],
        external_ids: Mapping[str, int],
        metrics: Mapping[str, _Metric],
    ):
        self.customers = customers
        self.external_ids = external_ids
        self.metrics = metrics
        self.values: dict[object, Decimal] = {}

    def check(self, index: int, raw: object) -> _Row:
        # Each step takes its fast path inline and calls a helper only to say what is wrong (or for rare cases).
        if type(raw) is not dict:
            raise _Rejected("invalid_event", "Each event must be an object with customer, metric, timestamp, …")
        if not raw.keys() <= EVENT_FIELDS:
            names = ", ".join(sorted(str(name) for name in raw.keys() - EVENT_FIELDS))
            raise _Rejected(
                "unknown_field", f"Unknown field(s): {names}. Check the spelling against the API documentation."
            )
        key = raw.get("idempotency_key")
        if type(key) is not str or not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not _storable(key):
            self._bad_key(key)
        customer_ref = raw.get("customer")
        customer = (
            self.customers.get(customer_ref)
            if type(customer_ref) is int and "customer_external_id" not in raw
            else self._customer(raw)
        )
        if customer is None:
            raise _Rejected("unknown_customer", f"There is no customer with id {customer_ref}.")
        code = raw.get("metric")
        metric = self.metrics.get(code) if type(code) is str else None
        if metric is None or not metric.active:
            metric = self._metric(code)
        raw_timestamp = raw.get("timestamp")
        try:
            timestamp = _from_iso(raw_timestamp).astimezone(dt.UTC)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            timestamp = _timestamp(raw_timestamp)  # says what is wrong
        if timestamp > customer.latest:
            raise _Rejected(
                "timestamp_in_future",
                f"The timestamp {raw_timestamp} is more than 5 minutes ahead of the customer's clock "
                f"({customer.now.replace(microsecond=0).isoformat()}). Send usage once it happened.",
            )
        raw_value = raw.get("value")
        value = self.values.get(raw_value) if type(raw_value) is str else None
        if value is None:
            if raw_value is None:
                if metric.aggregation != Aggregation.COUNT and not metric.property:
                    raise _Rejected("value_required", f"The metric “{metric.code}” adds up values: send a “value”.")
                value = _ONE
            else:
                value = self._value(raw_value, what="“value”", code="invalid_value")
        properties = raw.get("properties")
        if properties is None:
            properties = {}
        elif type(properties) is not dict:
            raise _Rejected("invalid_properties", '“properties” must be an object, e.g. {"region": "eu-west"}.')
        if metric.property and metric.aggregation != Aggregation.COUNT:
            self._check_property(metric, properties.get(metric.property))
        return _Row(index, customer.id, None, metric.code, value, properties, timestamp, key, customer.now)

    @staticmethod
    def _bad_key(key: object) -> NoReturn:
        if key is None or key == "":
            raise _Rejected(
                "idempotency_key_required",
                "Every event needs an “idempotency_key”, unique per customer, so that a retry is never counted twice.",
            )
        raise _Rejected(
            "invalid_idempotency_key",
            f"“idempotency_key” must be a text of 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters (no NUL character).",
        )

    def _customer(self, raw: dict) -> _Customer:
        customer, external_id = raw.get("customer"), raw.get("customer_external_id")
        if external_id is None:
            if type(customer) is int:
                found = self.customers.get(customer)
                if found is None:
                    raise _Rejected("unknown_customer", f"There is no customer with id {customer}.")
                return found
            if type(customer) is str and customer:
                return self._by_external_id(customer)
            if customer is None or customer == "":
                raise _Rejected(
                    "customer_required", "Say whose usage this is: “customer” (our id, or your CRM id as text)."
                )
            raise _Rejected("invalid_customer", "“customer” must be our customer id (a number) or your CRM id (text).")
        if customer is not None:
            raise _Rejected("ambiguous_customer", "Send either “customer” or “customer_external_id”, not both.")
        if type(external_id) is not str or not external_id:
            raise _Rejected(
                "invalid_customer", "“customer_external_id” must be the customer's id in your CRM, as text."
            )
        return self._by_external_id(external_id)

    def _by_external_id(self, external_id: str) -> _Customer:
        pk = self.external_ids.get(external_id)
        if pk is None:
            raise _Rejected("unknown_customer", f"No customer has the CRM id “{external_id[:100]}”.")
        return self.customers[pk]

    def _metric(self, code: object) -> _Metric:
        if code is None or code == "":
            raise _Rejected("metric_required", "Say what was measured: “metric”, the code of a usage metric.")
        metric = self.metrics.get(code) if type(code) is str else None
        if metric is None:
            shown = code[:100] if isinstance(code, str) else code
            raise _Rejected("unknown_metric", f"There is no usage metric with the code “{shown}”.")
        if not metric.active:
            raise _Rejected("metric_inactive", f"The usage metric “{metric.code}” is inactive and takes no usage.")
        return metric

    def _value(self, raw: object, *, what: str, code: str) -> Decimal:
        """``_number``, remembered per batch: usage values repeat a lot (1, "0.5", …)."""
        if type(raw) not in (str, int, Decimal):
            return _number(raw, what=what, code=code)
        try:
            return self.values[raw]
        except KeyError:
            value = self.values[raw] = _number(raw, what=what, code=code)
            return value
        except TypeError:  # an unhashable Decimal (signalling NaN)
            return _number(raw, what=what, code=code)

    def _check_property(self, metric: _Metric, value: object) -> None:
        if value is None:
            raise _Rejected(
                "missing_property", f"The metric “{metric.code}” reads the property “{metric.property}”: send it."
            )
        if metric.aggregation == Aggregation.UNIQUE_COUNT:
            if isinstance(value, dict | list):
                raise _Rejected(
                    "invalid_property_value", f"The property “{metric.property}” must be a text or a number."
                )
        else:
            self._value(value, what=f"The property “{metric.property}”", code="invalid_property_value")


def _properties_payload(rows: list[_Row]) -> tuple[str, dict[int, _Rejected]]:
    """The rows' properties as one JSON list, and the rows (by position) whose properties cannot be stored."""
    payload = _to_json([r.properties for r in rows])
    if "\\u0000" not in payload and _storable(payload):
        return payload, {}
    refused = {
        number: _Rejected(
            "invalid_properties", "“properties” holds a NUL character or broken Unicode, which cannot be stored."
        )
        for number, row in enumerate(rows)
        if not _storable_json(row.properties)
    }
    if refused:  # else a false alarm: an escaped backslash followed by "u0000"
        payload = _to_json([r.properties for number, r in enumerate(rows) if number not in refused])
    return payload, refused


# --- writing ---------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "customer_id", "subscription_id", "metric_code", "value", "properties", "timestamp", "idempotency_key",
    "received_at", "late",
)  # fmt: skip
_PG_TYPES = ("bigint", "bigint", "varchar", "numeric", "jsonb", "timestamptz", "varchar", "timestamptz", "boolean")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers, booleans or NULLs."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


_dump_texts = json.JSONEncoder(separators=(",", ""), ensure_ascii=False).encode


def _text_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of texts: each quoted, with backslashes and quotes escaped.

    For texts JSON leaves alone (no quote, backslash or control character) a JSON list is that literal
    between other brackets, and one C call builds it; anything else takes the slow, exact path.
    """
    values = list(values)
    fast = _dump_texts(values)
    if "\\" not in fast:
        return "{" + fast[1:-1] + "}"
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _postgres_insert(rows: Sequence[_Row], properties: str) -> set[tuple[int, str]]:
    """One statement: insert, skip duplicates, add the inserted events to the rollups, return what was new.

    Each column travels as one array literal for ``unnest`` (the properties as one JSON list): building
    these few strings costs about a millisecond a batch, where letting the driver adapt 9,000 values
    one by one costs more than the insert itself.
    """
    events, rollups = _q(UsageEvent._meta.db_table), _q(UsageHourlyRollup._meta.db_table)
    columns = ", ".join(_q(c) for c in _EVENT_COLUMNS)
    arrays = ", ".join(
        f"%s::{kind}[]"
        if kind != "jsonb"
        else "ARRAY(SELECT p FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(p, n) ORDER BY n)"
        for kind in _PG_TYPES
    )
    sql = f"""
        WITH stored AS (
            INSERT INTO {events} ({columns})
            SELECT * FROM unnest({arrays})
            ON CONFLICT ("customer_id", "idempotency_key") DO NOTHING
            RETURNING "customer_id", "subscription_id", "metric_code", "value", "timestamp", "idempotency_key"
        ), rolled AS (
            INSERT INTO {rollups} AS r
                ("customer_id", "subscription_key", "metric_code", "hour", "value_sum", "event_count", "value_max")
            SELECT "customer_id", COALESCE("subscription_id", 0), "metric_code",
                   date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                   SUM("value"), COUNT(*), MAX("value")
            FROM stored
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 3, 4, 2
            ON CONFLICT ("customer_id", "metric_code", "hour", "subscription_key") DO UPDATE SET
                "value_sum" = r."value_sum" + EXCLUDED."value_sum",
                "event_count" = r."event_count" + EXCLUDED."event_count",
                "value_max" = GREATEST(r."value_max", EXCLUDED."value_max")
        )
        SELECT "customer_id", "idempotency_key" FROM stored
    """  # noqa: S608 - table and column names are ours, quoted; every value is a parameter
    received = {r.received_at: r.received_at.isoformat() for r in rows}
    params = [
        _array(r.customer_id for r in rows),
        _array(r.subscription_id for r in rows),
        _text_array(r.metric_code for r in rows),
        _array(r.value for r in rows),
        properties,
        _text_array(r.timestamp.isoformat() for r in rows),
        _text_array(r.key for r in rows),
        _text_array(received[r.received_at] for r in rows),
        _array("t" if r.late else "f" for r in rows),
    ]
    return {(customer_id, key) for customer_id, key in _fetch(sql, params)}


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _sqlite_insert(rows: Sequence[_Row]) -> set[tuple[int, str]]:
    """SQLite (3.35+): the same ``ON CONFLICT DO NOTHING RETURNING``; the rollups follow in a second statement."""
    ops = connection.ops
    events, rollups = _q(UsageEvent._meta.db_table), _q(UsageHourlyRollup._meta.db_table)
    columns = ", ".join(_q(c) for c in _EVENT_COLUMNS)
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for r in rows:
        params += [
            r.customer_id, r.subscription_id, r.metric_code, str(r.value), _to_json(r.properties),
            ops.adapt_datetimefield_value(r.timestamp), r.key, ops.adapt_datetimefield_value(r.received_at), r.late,
        ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} ({columns}) VALUES {placeholders} "  # noqa: S608 - our names; values are parameters
            'ON CONFLICT ("customer_id", "idempotency_key") DO NOTHING RETURNING "customer_id", "idempotency_key"',
            params,
        )
        inserted = {(customer_id, key) for customer_id, key in cursor.fetchall()}
        totals: dict[tuple[int, str, dt.datetime, int], list[Any]] = {}
        for r in rows:
            if (r.customer_id, r.key) not in inserted:
                continue
            group = (r.customer_id, r.metric_code, _hour(r.timestamp), r.subscription_id or 0)
            total = totals.setdefault(group, [Decimal(0), 0, r.value])
            total[0] += r.value
            total[1] += 1
            total[2] = max(total[2], r.value)
        if totals:
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(totals))
            params = []
            for (customer_id, code, hour, subscription_key), (value_sum, count, value_max) in sorted(totals.items()):
                params += [
                    customer_id, subscription_key, code, ops.adapt_datetimefield_value(hour), str(value_sum), count,
                    str(value_max),
                ]  # fmt: skip
            cursor.execute(
                f'INSERT INTO {rollups} ("customer_id", "subscription_key", "metric_code", "hour", "value_sum", '  # noqa: S608
                f'"event_count", "value_max") VALUES {values} '
                'ON CONFLICT ("customer_id", "metric_code", "hour", "subscription_key") DO UPDATE SET '
                '"value_sum" = "value_sum" + excluded."value_sum", '
                '"event_count" = "event_count" + excluded."event_count", '
                '"value_max" = max("value_max", excluded."value_max")',
                params,
            )
    return inserted


def _store(rows: list[_Row], properties: str) -> set[tuple[int, str]]:
    """Write the rows (sorted by customer and key); returns the (customer, key) pairs that were new."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        return _postgres_insert(rows, properties)
    return _sqlite_insert(rows)


@transaction.atomic
def usage_events_ingest(*, events: Sequence[object], now: dt.datetime) -> IngestResult:
    """Store a batch of usage events; each gets its own result (accepted, duplicate or rejected).

    ``now`` is when the batch arrived; test customers use their test clock's time instead. Not audited
    event by event: the stored events are their own append-only record (see docs/adr/0009).
    """
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise DomainError("too_many_events", f"A batch can hold at most {MAX_EVENTS_PER_BATCH:,} events.")
    ids, external_ids, codes = _references(events)
    customers, by_external_id = _load_customers(ids, external_ids, now)
    metrics = _load_metrics(codes)
    checker = _Checker(customers, by_external_id, metrics)

    results: list[EventResult | None] = [None] * len(events)

    def reject(index: int, rejected: _Rejected) -> None:
        raw = events[index]
        key = raw.get("idempotency_key") if isinstance(raw, dict) else None
        results[index] = EventResult(
            index, key if isinstance(key, str) else None, EventStatus.REJECTED, rejected.code, rejected.message
        )

    rows: list[_Row] = []
    seen: set[tuple[int, str]] = set()
    for index, raw in enumerate(events):
        try:
            row = checker.check(index, raw)
        except _Rejected as rejected:
            reject(index, rejected)
            continue
        identity = (row.customer_id, row.key)
        if identity in seen:  # the same key earlier in this batch: that one stands
            results[index] = EventResult(index, row.key, EventStatus.DUPLICATE)
            continue
        seen.add(identity)
        rows.append(row)

    if rows:
        earliest, latest = min(r.timestamp for r in rows), max(r.timestamp for r in rows)
        billing = _load_billing_subscriptions(
            {r.customer_id for r in rows}, {r.metric_code for r in rows}, earliest, latest
        )
        for row in rows:
            options = billing.get((row.customer_id, row.metric_code))
            if options:
                row.subscription_id = _subscription_for(options, row.timestamp)

    # Written in (customer, key) order, so that two batches sharing keys wait for each other, never deadlock.
    rows.sort(key=lambda r: (r.customer_id, r.key))
    properties, refused = _properties_payload(rows)
    if refused:
        for number, refusal in refused.items():
            reject(rows[number].index, refusal)
        rows = [row for number, row in enumerate(rows) if number not in refused]

    if _invoiced_through and rows:
        through = _invoiced_through_for({r.subscription_id for r in rows if r.subscription_id is not None})
        for row in rows:
            invoiced = through.get(row.subscription_id) if row.subscription_id is not None else None
            row.late = invoiced is not None and row.timestamp < invoiced

    inserted = _store(rows, properties)
    for row in rows:
        status = EventStatus.ACCEPTED if (row.customer_id, row.key) in inserted else EventStatus.DUPLICATE
        results[row.index] = EventResult(row.index, row.key, status)

    final = [result for result in results if result is not None]
    counts = dict.fromkeys(EventStatus, 0)
    for result in final:
        counts[result.status] += 1
    touched = frozenset(customer_id for customer_id, _key in inserted)
    alerting = sorted(customer_id for customer_id in touched if customers[customer_id].has_alerts)
    if alerting:
        transaction.on_commit(partial(_enqueue_alert_checks, alerting))
    return IngestResult(
        results=final,
        accepted=counts[EventStatus.ACCEPTED],
        duplicates=counts[EventStatus.DUPLICATE],
        rejected=counts[EventStatus.REJECTED],
        customer_ids=touched,
    )


def _enqueue_alert_checks(customer_ids: Iterable[int]) -> None:
    """One job per customer per batch; the job reads the whole period, so more would add nothing."""
    from django_q.tasks import async_task

    for customer_id in customer_ids:
        async_task("subscriptions.tasks.check_usage_alerts_task", customer_id, group="usage_alerts")


# --- usage alerts ----------------------------------------------------------------------------

ALERT_CREATE_FIELDS = {"customer", "subscription", "metric_code", "kind", "threshold", "notify_email", "active"}
ALERT_UPDATE_FIELDS = ALERT_CREATE_FIELDS - {"customer"}


def _billing_items(alert: UsageAlert) -> list[SubscriptionItem]:
    items = SubscriptionItem.objects.filter(
        subscription__customer_id=alert.customer_id,
        price__usage_type=UsageType.METERED,
        price__metric__code=alert.metric_code,
    ).exclude(subscription__status__in=ENDED_STATUSES)
    if alert.subscription_id is not None:
        items = items.filter(subscription_id=alert.subscription_id)
    return list(items)


def _validate_alert(alert: UsageAlert) -> None:
    if alert.customer_id is None:
        raise DomainError("customer_required", "Choose the customer to watch.", fields={"customer": "Required."})
    if not alert.metric_code:
        raise DomainError("metric_required", "Choose the usage metric to watch.", fields={"metric_code": "Required."})
    if not BillableMetric.objects.filter(code=alert.metric_code).exists():
        message = f"There is no usage metric with the code “{alert.metric_code}”."
        raise DomainError("unknown_metric", message, fields={"metric_code": message})
    if (
        alert.subscription_id is not None
        and not Subscription.objects.filter(pk=alert.subscription_id, customer_id=alert.customer_id).exists()
    ):
        message = "That subscription belongs to another customer."
        raise DomainError("subscription_not_of_customer", message, fields={"subscription": message})
    if alert.threshold is not None and alert.threshold <= 0:
        message = "A threshold must be above zero."
        raise DomainError("invalid_threshold", message, fields={"threshold": message})
    if alert.kind == UsageAlert.Kind.AMOUNT and not _billing_items(alert):
        message = (
            f"An amount can only be watched where a price bills “{alert.metric_code}”: this customer"
            f"{' (on that subscription)' if alert.subscription_id else ''} has no live subscription that does. "
            "Watch the quantity instead."
        )
        raise DomainError("metric_not_billed", message, fields={"kind": message})
    full_clean_or_raise(alert)


@transaction.atomic
def usage_alert_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> UsageAlert:
    """Staff (later customers too) ask to be told when usage in a period reaches a threshold."""
    return record_create(
        UsageAlert(created_at=now),
        fields=fields,
        allowed=ALERT_CREATE_FIELDS,
        actor=actor,
        now=now,
        action="usage_alert.created",
        validate=_validate_alert,
    )


@transaction.atomic
def usage_alert_update(*, alert: UsageAlert, actor: Actor, now: dt.datetime, **changes: Any) -> UsageAlert:
    """Change or switch off an alert. A crossing already recorded this period stands (once per period)."""
    return record_update(
        UsageAlert.objects.select_for_update().get(pk=alert.pk),
        changes=changes,
        allowed=ALERT_UPDATE_FIELDS,
        actor=actor,
        now=now,
        action="usage_alert.updated",
        validate=_validate_alert,
    )


def usage_alerts_check(*, customer: Customer, now: dt.datetime) -> list[UsageAlertCrossing]:
    """Record each active alert of the customer that usage reached this period (once per alert and period).

    The e-mails go out after the crossings are committed (``usage_alert_notifications_send``); a
    crossing whose e-mail failed is retried by the next check. A crossing is the event a later
    outbound-webhook issue publishes.
    """
    from subscriptions.selectors.usage import customer_usage_summary

    alerts = list(UsageAlert.objects.filter(customer=customer, active=True))
    created: list[UsageAlertCrossing] = []
    with transaction.atomic():
        if alerts:
            summary = customer_usage_summary(customer=customer, now=now)
            for alert in alerts:
                for usage in summary.metrics:
                    if usage.metric.code != alert.metric_code:
                        continue
                    if alert.subscription_id is not None and usage.subscription_id != alert.subscription_id:
                        continue
                    if alert.kind == UsageAlert.Kind.AMOUNT:
                        value = usage.amount.total if usage.amount is not None else None
                    else:
                        value = usage.quantity
                    if value is None or value < alert.threshold:
                        continue
                    crossing, made = UsageAlertCrossing.objects.get_or_create(
                        alert=alert,
                        period_start=usage.period_start,
                        defaults={"period_end": usage.period_end, "value": value, "crossed_at": now},
                    )
                    if made:
                        audit_record(
                            actor=Actor.system("usage_alerts"),
                            action="usage_alert.crossed",
                            obj=alert,
                            now=now,
                            after={"period_start": usage.period_start, "value": value, "threshold": alert.threshold},
                        )
                        created.append(crossing)
        transaction.on_commit(partial(usage_alert_notifications_send, customer=customer, now=now))
    return created


def _figure(value: Decimal) -> str:
    value = Decimal(0) if value.is_zero() else value.normalize()
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{value:,.{places}f}"


def _alert_mail(crossing: UsageAlertCrossing) -> tuple[str, str]:
    alert, customer = crossing.alert, crossing.alert.customer
    metric = BillableMetric.objects.filter(code=alert.metric_code).values_list("name", flat=True).first()
    metric_name = metric or alert.metric_code
    if alert.kind == UsageAlert.Kind.AMOUNT:
        threshold, reached = f"{_figure(alert.threshold)} (amount)", f"an amount of {_figure(crossing.value)}"
    else:
        threshold, reached = _figure(alert.threshold), _figure(crossing.value)
    period_end = f" – {crossing.period_end:%d %B %Y %H:%M}" if crossing.period_end else ""
    subject = f"Usage alert: {metric_name} reached {threshold} for {customer.name}"
    body = (
        f"Hello,\n\n"
        f"The usage of {metric_name} ({alert.metric_code}) by {customer.name} reached {reached} in the billing "
        f"period {crossing.period_start:%d %B %Y %H:%M}{period_end} (UTC).\n"
        f"The alert is set at {threshold}.\n\n"
        f"You get this message once per billing period. The alert can be changed or switched off in the "
        f"billing back-office.\n"
    )
    return subject, body


def usage_alert_notifications_send(*, customer: Customer, now: dt.datetime) -> int:
    """E-mail every crossing of the customer not notified yet; returns how many were sent.

    Each crossing is claimed (``notified_at`` set) before sending, so two workers never send it twice;
    a failed send releases the claim for the next check to retry.
    """
    sent = 0
    pending = UsageAlertCrossing.objects.filter(alert__customer=customer, notified_at__isnull=True).select_related(
        "alert__customer"
    )
    for crossing in pending:
        if not UsageAlertCrossing.objects.filter(pk=crossing.pk, notified_at__isnull=True).update(notified_at=now):
            continue
        subject, body = _alert_mail(crossing)
        recipient = crossing.alert.notify_email or crossing.alert.customer.email
        try:
            send_mail(subject, body, None, [recipient])
        except Exception:  # noqa: BLE001 - any failure of the mail server: release the claim and retry later
            logger.exception("Usage alert e-mail for crossing %s failed; retried at the next check.", crossing.pk)
            UsageAlertCrossing.objects.filter(pk=crossing.pk).update(notified_at=None)
            continue
        sent += 1
    return sent
