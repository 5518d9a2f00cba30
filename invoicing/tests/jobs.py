"""Run django-q2 jobs in the test's own thread: what ``async_task`` queues runs after the commit it waits for."""

from __future__ import annotations

from contextlib import contextmanager

from django.utils.module_loading import import_string


@contextmanager
def jobs_run_inline(monkeypatch, capture_on_commit):
    """Inside the block, every ``async_task`` (enqueued after commit) runs at once, as the worker would."""
    ran: list[str] = []

    def run(func, *args, **kwargs):
        ran.append(func)
        import_string(func)(*args)

    monkeypatch.setattr("django_q.tasks.async_task", run)
    with capture_on_commit(execute=True):
        yield ran
