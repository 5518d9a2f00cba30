"""/healthz: is the database reachable, and is the job queue reachable and being worked?"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.status import Stat

logger = logging.getLogger(__name__)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        logger.warning("Health check: database unreachable: %s", exc)
        return {"ok": False, "error": "database unreachable"}


def _check_queue() -> dict:
    try:
        broker = get_broker()
        if not broker.ping():
            return {"ok": False, "error": "job broker did not answer"}
        clusters = Stat.get_all(broker=broker)
        result = {
            "ok": True,
            "broker": type(broker).__name__,
            "queued": broker.queue_size(),
            "workers": sum(len(cluster.workers or []) for cluster in clusters),
        }
        if not clusters:
            # The web app is still healthy without a worker; jobs wait in the queue until one runs.
            result["warning"] = "no job worker is running: jobs wait in the queue"
        return result
    except Exception as exc:  # noqa: BLE001
        logger.warning("Health check: job queue unreachable: %s", exc)
        return {"ok": False, "error": "job broker unreachable"}


@never_cache
@require_GET
@transaction.non_atomic_requests  # opening the request transaction would fail before the check could report it
def healthz(request):
    checks = {"database": _check_database(), "queue": _check_queue()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
