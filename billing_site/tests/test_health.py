import pytest

from billing_site import health

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_orm_queue(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "vendor": health.connection.vendor}
    queue = body["checks"]["queue"]
    assert queue["ok"] is True
    assert queue["broker"] == "ORM"
    assert queue["queued"] == 0
    assert queue["workers"] == 0
    assert queue["warning"] == "no job worker is running: jobs wait in the queue"


def test_healthz_is_503_when_the_database_check_fails(client, monkeypatch):
    monkeypatch.setattr(health, "_check_database", lambda: {"ok": False, "error": "database unreachable"})

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "database unreachable"}
    assert body["checks"]["queue"]["ok"] is True


def test_healthz_is_503_when_the_database_cannot_be_queried(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise health.connection.Database.OperationalError("could not connect to server")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "database unreachable"}


def test_healthz_is_503_when_the_broker_does_not_answer(client, monkeypatch):
    class SilentBroker:
        def ping(self):
            return False

    monkeypatch.setattr(health, "get_broker", SilentBroker)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["queue"] == {"ok": False, "error": "job broker did not answer"}


def test_healthz_runs_outside_the_request_transaction():
    """With ATOMIC_REQUESTS, opening the transaction would fail with the database before the check runs."""
    assert "default" in getattr(health.healthz, "_non_atomic_requests", set())


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
