"""The usage benchmarks' workload and checks (bench/usage.py): fast, no gunicorn, no throwaway database."""

from __future__ import annotations

import json
import time

import pytest

from bench import BENCHMARKS
from bench.http_load import Request
from bench.usage import BATCH, METRICS, REPEATS, Batches, Tally, _slope, gunicorn_workers
from catalog.tests.factories import make_metric
from subscriptions.tests.usage.helpers import make_customer


def test_the_usage_benchmarks_are_registered():
    assert {"usage_ingest", "usage_summary"} <= set(BENCHMARKS)


def test_each_batch_holds_1000_events_with_new_keys_and_repeats_ten_of_the_previous_batch():
    batches = Batches(customers=[1, 2, 3], secret="s", run="r", moment=time.time())

    first, second = (json.loads(batches[n].body)["events"] for n in (0, 1))

    assert len(first) == len(second) == BATCH
    assert len({e["idempotency_key"] for e in first}) == BATCH
    assert [e["idempotency_key"] for e in second[-REPEATS:]] == [e["idempotency_key"] for e in first[:REPEATS]]
    assert second[-REPEATS:] == first[:REPEATS]
    assert {e["metric"] for e in first} == {code for code, _name, _aggregation in METRICS}
    assert batches[1].headers["Authorization"] == "Bearer s"
    assert batches[7].body == batches[7].body  # rebuilt the same on every request


@pytest.mark.django_db
def test_a_benchmark_batch_is_accepted_whole_by_the_api(api_client):
    customers = [make_customer().pk for _ in range(5)]
    for code, name, aggregation in METRICS:
        make_metric(code=code, name=name, aggregation=aggregation)
    batches = Batches(customers=customers, secret="unused", run="t", moment=time.time())
    tally = Tally()

    for n in (0, 1):
        response = api_client.post("/api/v1/usage-events", batches[n].body, content_type="application/json")
        assert tally(batches[n], response.status_code, response.content) is None

    assert (tally.accepted, tally.duplicates) == (2 * BATCH - REPEATS, REPEATS)


def test_the_tally_refuses_errors_and_rejections():
    request = Request("POST", "/", b"", {})
    tally = Tally()

    assert "HTTP 500" in tally(request, 500, b"oops")
    assert "Unexpected answer" in tally(request, 200, b"{}")
    rejected = {"results": [{"status": "rejected", "code": "unknown_customer"}], "accepted": 999, "duplicates": 0,
                "rejected": 1}  # fmt: skip
    assert "unknown_customer" in tally(request, 200, json.dumps(rejected, separators=(",", ":")).encode())
    assert (tally.accepted, tally.duplicates) == (0, 0)


def test_slope_and_worker_lookup():
    assert _slope([(0, 10), (1, 12), (2, 14)]) == pytest.approx(2)
    assert _slope([(1, 5)]) == 0
    assert gunicorn_workers(1) == []
