"""The benchmark machinery: registry, workload, load generator, report. Fast; no gunicorn, no database."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import BENCHMARKS, BenchResult, Figure, Session, benchmark
from bench.__main__ import main
from bench.http_load import Request, drive
from bench.quote import FIVE_TIERS, KNOWN_TOTALS, SPEC, _check_quote, quote_engine, workload
from bench.report import table, write_json
from catalog.domain.pricing import price_amount

D = Decimal


def test_the_quote_benchmarks_are_registered():
    assert {"quote_engine", "quote_api"} <= set(BENCHMARKS)


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered twice"):
        benchmark("quote_engine", title="again", seconds=1)(lambda session, seconds: None)


def test_the_price_has_five_tiers_and_the_known_totals_hold():
    assert len(FIVE_TIERS) == 5
    assert {q: price_amount(SPEC, q).total for q in KNOWN_TOTALS} == KNOWN_TOTALS


def test_the_workload_is_repeatable_and_reaches_every_tier():
    quantities = workload()
    assert quantities == workload()
    assert len(quantities) == 1000
    tiers_reached = {len(price_amount(SPEC, q).lines) for q in quantities}
    assert tiers_reached == {0, 1, 2, 3, 4, 5}
    assert any(q != q.to_integral_value() for q in quantities)


def test_quote_engine_reports_quotes_per_second():
    with Session() as session:
        result = quote_engine(session, 0.05)
    figures = {f.key: f.value for f in result.figures}
    assert figures["quotes_per_second"] > 0
    assert figures["microseconds_per_quote"] == pytest.approx(1e6 / figures["quotes_per_second"])
    assert result.details["quotes"] >= 100


def test_check_quote_accepts_only_200_with_the_expected_amount():
    request = Request("POST", "/q", b'{"quantity": "1001"}', {}, D("5.00"))
    ok = json.dumps({"amount": {"amount": "5.00", "currency": "EUR"}}).encode()
    assert _check_quote(request, 200, ok) is None
    assert "HTTP 500" in _check_quote(request, 500, b"oops")
    wrong = json.dumps({"amount": {"amount": "5.01", "currency": "EUR"}}).encode()
    assert "expected EUR 5.00" in _check_quote(request, 200, wrong)
    assert "Unexpected answer" in _check_quote(request, 200, b"{}")


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _echo_check(request, status, body):
    return None if status == 200 and body == request.body else f"bad echo {body!r}"


def test_drive_is_bounded_in_count_and_keeps_connections_alive(echo_server):
    requests = [Request("POST", "/", str(i).encode(), {}) for i in range(10)]
    load = drive(
        host="127.0.0.1", port=echo_server, requests=requests, check=_echo_check, threads=2, seconds=10, max_requests=50
    )
    assert (load.requests, load.connections, load.errors) == (50, 2, [])
    assert 0 < load.percentile_ms(50) <= load.percentile_ms(95)


def test_drive_stops_at_the_first_wrong_answer(echo_server):
    requests = [Request("POST", "/", b"x", {})]
    load = drive(
        host="127.0.0.1",
        port=echo_server,
        requests=requests,
        check=lambda *a: "wrong",
        threads=2,
        seconds=10,
        max_requests=1000,
    )
    assert load.errors[:1] == ["wrong"]
    assert load.requests <= 2


def test_table_and_json_keep_results_of_benchmarks_not_run_again(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"results": {"older": {"figures": {"x": 1}}}}))
    result = BenchResult("quote_engine", "Engine", [Figure("quotes_per_second", "quotes/s", 12345.6, ",.0f")])
    assert "quote_engine  quotes/s  12,346" in table([result])
    moment = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    write_json([result], path, now=moment)
    document = json.loads(path.read_text())
    assert document["results"]["older"] == {"figures": {"x": 1}}
    assert document["results"]["quote_engine"]["figures"] == {"quotes_per_second": 12345.6}
    assert document["timestamp"] == "2026-01-15T00:00:00+00:00"
    assert document["machine"]["cores"] >= 1


def test_main_runs_one_benchmark_by_name(tmp_path, capsys):
    output = tmp_path / "out" / "bench.json"
    assert main(["quote_engine", "--seconds", "0.05", "--output", str(output)]) == 0
    assert set(json.loads(output.read_text())["results"]) == {"quote_engine"}
    assert "quotes/s" in capsys.readouterr().out


def test_main_refuses_unknown_names():
    with pytest.raises(SystemExit) as exit_info:
        main(["no_such_bench"])
    assert exit_info.value.code == 2
